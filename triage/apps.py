from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _on_message_received(
    sender: object, *, message_id: int, new_ticket: bool, automated: bool, **kwargs: Any
) -> None:
    """Queue triage for a customer's mail (automated mail is recorded only, never triaged or answered)."""
    if automated:
        return
    from triage.tasks import triage_message

    triage_message.delay(message_id, new_ticket)


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = _("Triage")

    def ready(self) -> None:
        from helpdesk.signals import customer_message_received

        customer_message_received.connect(_on_message_received, dispatch_uid="triage_on_message_received")
