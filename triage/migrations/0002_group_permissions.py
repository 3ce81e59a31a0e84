"""Let managers see and activate model versions and read corrections and triage runs in the admin.

Activating a version is what change_modelversion allows (the rows themselves stay read-only). Agents get
nothing here: the ticket page shows a ticket's triage through triage's services, not through the admin.
"""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

GRANTS = {
    "managers": ["view_modelversion", "change_modelversion", "view_correction", "view_triagerun"],
}


def _permissions(apps: Apps, codenames: list[str]) -> list[object]:
    Permission = apps.get_model("auth", "Permission")
    return list(Permission.objects.filter(content_type__app_label="triage", codename__in=codenames))


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations ran; create them now so groups can get them.
    app_config = apps.get_app_config("triage")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, codenames))


def revoke(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*_permissions(apps, codenames))


class Migration(migrations.Migration):
    dependencies = [("triage", "0001_initial"), ("helpdesk", "0002_seed_services_queues_groups")]

    operations = [migrations.RunPython(grant, revoke)]
