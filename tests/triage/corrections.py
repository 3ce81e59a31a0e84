"""Agents' corrections as tests need them: one ticket per corrected mail."""

from __future__ import annotations

from helpdesk.models import Ticket
from tests.factories import open_ticket
from triage.models import Correction

LABELS = {
    "language": "de", "services": [], "problem_report": True, "has_error_message": False,
    "has_problem_description": True, "callback_requested": False, "callback_number": None, "actions": [],
}  # fmt: skip


def corrected(
    subject: str,
    body: str,
    services: list[str],
    *,
    problem_report: bool = True,
    ticket: Ticket | None = None,
    predicted: list[str] | None = None,
) -> Correction:
    """Store an agent's correction of a mail's services, as the ticket page does."""
    ticket = ticket or open_ticket(subject=subject, text=body, reply_text=body)
    return Correction.objects.create(
        ticket=ticket,
        field="services",
        predicted={"services": predicted or []},
        corrected={"services": services},
        subject=subject,
        body=body,
        language="de",
        labels={**LABELS, "services": services, "problem_report": problem_report},
        model_version="seed",
    )
