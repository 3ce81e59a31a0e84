"""Celery tasks of triage: triage one message (queued by the mail bridge after commit)."""

from __future__ import annotations

from celery import shared_task

from triage import services


@shared_task(name="triage.message", acks_late=True)
def triage_message(message_id: int, new_ticket: bool) -> str:
    """Triage the message and start the automatic answer; idempotent under redelivery."""
    run = services.message_triage(message_id=message_id, new_ticket=new_ticket)
    return run.model_version if run is not None else "already triaged"
