"""Celery tasks of triage: triage one message (queued by the mail bridge after commit); retrain (beat)."""

from __future__ import annotations

from celery import shared_task

from triage import services


@shared_task(name="triage.message", acks_late=True)
def triage_message(message_id: int, new_ticket: bool) -> str:
    """Triage the message and start the automatic answer; idempotent under redelivery."""
    run = services.message_triage(message_id=message_id, new_ticket=new_ticket)
    return run.model_version if run is not None else "already triaged"


@shared_task(name="triage.retrain_if_due")
def retrain_if_due() -> str:
    """Retrain the classifier when enough corrections arrived; a no-op otherwise or while one trains."""
    outcome = services.model_retrain_if_due()
    if outcome is None:
        return "not due"
    return f"{outcome.version.version} {'activated' if outcome.activated else 'stored, not activated'}"
