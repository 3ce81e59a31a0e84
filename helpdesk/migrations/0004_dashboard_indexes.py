"""Indexes for the managers' dashboards: tickets by creation day, by resolution day, and the open backlog."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0003_queue_members")]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["created_at"], name="ticket_created"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("resolved_at__isnull", False)),
                fields=["resolved_at"],
                name="ticket_resolved",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "open", "waiting"])),
                fields=["status", "queue", "created_at"],
                name="ticket_backlog",
            ),
        ),
    ]
