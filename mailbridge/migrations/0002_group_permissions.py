"""Let agents see fetched mail and reprocess quarantined mail; managers also see the mailboxes."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

GRANTS = {
    "agents": ["view_inboundmail", "change_inboundmail"],
    "managers": ["view_inboundmail", "change_inboundmail", "view_mailbox"],
}


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    app_config = apps.get_app_config("mailbridge")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="mailbridge", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("mailbridge", "0001_initial"), ("helpdesk", "0002_seed_services_queues_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
