"""Reads of triage's tables: what the next training learns from and whether it is due."""

from __future__ import annotations

import datetime as dt

from triage.models import Correction, ModelVersion
from triage.training import AgentCorrection


def correction_count_untrained() -> int:
    """Return how many corrections were made after the newest model version's training data was read."""
    newest = ModelVersion.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    corrections = Correction.objects.all()
    if newest is not None:
        corrections = corrections.filter(created_at__gt=newest)
    return corrections.count()


def correction_list_for_training(*, until: dt.datetime) -> list[AgentCorrection]:
    """Return every correction made up to the moment, oldest first, as plain data."""
    rows = (
        Correction.objects.filter(created_at__lte=until)
        .order_by("created_at", "pk")
        .values_list("ticket_id", "field", "corrected", "labels", "subject", "body", "ticket__queue__slug")
    )
    return [
        AgentCorrection(
            ticket_id=ticket_id,
            field=field,
            corrected=corrected if isinstance(corrected, dict) else {},
            labels=labels if isinstance(labels, dict) else {},
            subject=subject,
            body=body,
            mailbox="emergency" if queue == "emergency" else "support",
        )
        for ticket_id, field, corrected, labels, subject, body, queue in rows
    ]
