"""Create the eight services of the label schema, the three queues and the three staff groups."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

SERVICES = [
    ("email", "E-mail"),
    ("website", "Website"),
    ("ftp", "FTP"),
    ("database", "Database"),
    ("domain", "Domain / DNS"),
    ("backup", "Backup"),
    ("controlpanel", "Control panel"),
    ("billing", "Billing"),
]
QUEUES = [
    ("support", "Support", "normal"),
    ("emergency", "Emergency", "urgent"),
    ("billing", "Accounts office", "normal"),
]

# Agents work tickets; managers also configure queues and read everything; admins hold every permission.
AGENT_PERMS = [
    "view_ticket", "change_ticket", "view_message", "add_message", "view_attachment", "add_attachment",
    "view_customer", "change_customer", "add_customer", "view_customeremail", "add_customeremail",
    "change_customeremail", "view_customerphone", "add_customerphone", "change_customerphone",
    "view_ticketservice", "add_ticketservice", "change_ticketservice", "delete_ticketservice",
    "view_ticketevent", "view_queue", "view_servicetag",
]  # fmt: skip
MANAGER_EXTRA = [
    "add_queue",
    "change_queue",
    "delete_customer",
    "delete_customeremail",
    "delete_customerphone",
]


def seed(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations ran; create them now so groups can get them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    ServiceTag = apps.get_model("helpdesk", "ServiceTag")
    Queue = apps.get_model("helpdesk", "Queue")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for slug, name in SERVICES:
        ServiceTag.objects.update_or_create(slug=slug, defaults={"name": name})
    for slug, name, priority in QUEUES:
        Queue.objects.update_or_create(slug=slug, defaults={"name": name, "default_priority": priority})

    helpdesk_perms = Permission.objects.filter(content_type__app_label="helpdesk")
    agents, _ = Group.objects.get_or_create(name="agents")
    agents.permissions.set(helpdesk_perms.filter(codename__in=AGENT_PERMS))
    managers, _ = Group.objects.get_or_create(name="managers")
    managers.permissions.set(
        helpdesk_perms.filter(codename__in=AGENT_PERMS + MANAGER_EXTRA)
        | helpdesk_perms.filter(codename__startswith="view_")
    )
    admins, _ = Group.objects.get_or_create(name="admins")
    admins.permissions.set(Permission.objects.all())


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
