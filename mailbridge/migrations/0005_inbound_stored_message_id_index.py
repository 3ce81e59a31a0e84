"""Index the Message-IDs of stored, not yet ingested mail: parallel ingestion looks them up per chunk."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mailbridge", "0004_manager_outbox_template_permissions"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="inboundmail",
            index=models.Index(
                condition=models.Q(("status", "stored")),
                fields=["message_id"],
                name="inbound_stored_message_id",
            ),
        ),
    ]
