from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _grant_admins_everything(sender: AppConfig, **kwargs: Any) -> None:
    """Keep the admins group holding every permission, including those of apps added later."""
    from django.contrib.auth.models import Group, Permission

    admins = Group.objects.filter(name="admins").first()
    if admins is not None:
        admins.permissions.set(Permission.objects.all())


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = _("Helpdesk")

    def ready(self) -> None:
        post_migrate.connect(_grant_admins_everything, dispatch_uid="helpdesk_admins_everything")
