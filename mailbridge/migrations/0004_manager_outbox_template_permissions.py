"""Let managers work the outbox (see it, resend failed mail) and write the automatic mail texts.

Agents get no outbox access: what an agent sent is shown on the ticket page already, and resending is an
operator's job. Mailboxes stay configuration of the admins group; managers have seen them since 0002.
"""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# change_outboxmail is what the outbox's resend action asks for; the rows themselves stay read-only.
# A template is customised by adding one for a key and language (the built-in texts are files), so
# managers also need add; deleting one (back to the built-in text) stays with the admins.
GRANTS = {
    "managers": ["view_outboxmail", "change_outboxmail", "view_mailtemplate", "add_mailtemplate",
                 "change_mailtemplate"],
}  # fmt: skip


def _permissions(apps: Apps, codenames: list[str]) -> list[object]:
    Permission = apps.get_model("auth", "Permission")
    return list(Permission.objects.filter(content_type__app_label="mailbridge", codename__in=codenames))


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations ran; create them now so groups can get them.
    app_config = apps.get_app_config("mailbridge")
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
    dependencies = [("mailbridge", "0003_outbox"), ("helpdesk", "0002_seed_services_queues_groups")]

    operations = [migrations.RunPython(grant, revoke)]
