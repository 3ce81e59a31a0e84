"""Background work of the ticket core."""

from __future__ import annotations

import socket

from celery import shared_task

from helpdesk.models import Ticket


@shared_task(name="helpdesk.health_check")
def health_check() -> dict[str, object]:
    """Report which worker ran the task and that it reached the database (used to check a deployment)."""
    return {"worker": socket.gethostname(), "tickets": Ticket.objects.count()}
