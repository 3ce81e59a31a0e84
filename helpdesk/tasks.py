"""Background work of the ticket core."""

from __future__ import annotations

import socket

from celery import shared_task

from helpdesk.models import Ticket


@shared_task(name="helpdesk.health_check")
def health_check() -> dict[str, object]:
    """Report which worker ran the task and that it reached the database (used to check a deployment)."""
    return {"worker": socket.gethostname(), "tickets": Ticket.objects.count()}


@shared_task(name="helpdesk.dashboard_days_refresh")
def dashboard_days_refresh() -> int:
    """Compute again the dashboard days changed since the last run, so that a look pays for little (beat)."""
    from helpdesk import daily_figures

    if not daily_figures.day_figures_available():
        return 0
    return daily_figures.day_figures_refresh_changed()
