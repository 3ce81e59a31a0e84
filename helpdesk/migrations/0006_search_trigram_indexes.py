"""Trigram indexes for the agents' free-text search (ticket reference and subject, customer name and address,
message text), so that `icontains` no longer reads every message.

PostgreSQL only: pg_trgm is a trusted extension (PostgreSQL 13+), which the database owner may create. On
SQLite the extension operation and the indexes do nothing.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState

import helpdesk.indexes


class CreateTrigramExtension(TrigramExtension):
    """pg_trgm; Django's operation skips other databases going forwards but not going backwards."""

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0005_dashboard_daily_summary")]

    operations = [
        CreateTrigramExtension(),
        migrations.AddIndex(
            model_name="ticket",
            index=helpdesk.indexes.UpperTrigramIndex(field="reference", name="ticket_reference_trgm"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=helpdesk.indexes.UpperTrigramIndex(field="subject", name="ticket_subject_trgm"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=helpdesk.indexes.UpperTrigramIndex(field="name", name="customer_name_trgm"),
        ),
        migrations.AddIndex(
            model_name="customeremail",
            index=helpdesk.indexes.UpperTrigramIndex(field="address", name="customeremail_address_trgm"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=helpdesk.indexes.UpperTrigramIndex(field="text", name="message_text_trgm"),
        ),
    ]
