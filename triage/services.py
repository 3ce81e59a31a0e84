"""The only part of triage that touches the database: run the pure core on a ticket and store the result."""

from __future__ import annotations

import logging
import threading
import time

from django.db import IntegrityError, transaction

from helpdesk import selectors as helpdesk_selectors
from helpdesk import services as helpdesk_services
from helpdesk.models import Direction, Message, MessageKind, TagSource, Ticket
from triage.classifier import ServiceModel
from triage.core import TriageInput, TriageResult, analyse, default_model
from triage.models import Correction, ModelVersion, TriageRun

logger = logging.getLogger(__name__)
RELOAD_CHECK_SECONDS = 30.0


class _ActiveModelCache:
    """The active model, loaded once per process and reloaded when another version is activated."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version_pk: int | None = None
        self.model: ServiceModel | None = None
        self.checked_at = 0.0

    def get(self) -> ServiceModel:
        with self.lock:
            if self.model is not None and time.monotonic() - self.checked_at < RELOAD_CHECK_SECONDS:
                return self.model
            self.checked_at = time.monotonic()
            active_pk = ModelVersion.objects.filter(active=True).values_list("pk", flat=True).first()
            if self.model is None or active_pk != self.version_pk:
                self.model = self._load(active_pk)
                self.version_pk = active_pk
            return self.model

    def clear(self) -> None:
        with self.lock:
            self.model, self.version_pk, self.checked_at = None, None, 0.0

    @staticmethod
    def _load(pk: int | None) -> ServiceModel:
        if pk is None:
            # No trained version stored yet: the model trained from the seed data works from day one.
            return default_model()
        blob = ModelVersion.objects.values_list("blob", flat=True).get(pk=pk)
        return ServiceModel.from_bytes(bytes(blob))


_active = _ActiveModelCache()


def active_model() -> ServiceModel:
    """Return the active classifier (cached per process; another activated version is used within 30 s)."""
    return _active.get()


def active_model_reset() -> None:
    """Forget the cached model (after activating another version in this process)."""
    _active.clear()


def _triage_input(ticket: Ticket, message: Message) -> TriageInput:
    earlier = (
        ticket.messages.filter(
            direction=Direction.IN, kind=MessageKind.CUSTOMER, created_at__lt=message.created_at
        )
        .exclude(pk=message.pk)
        .order_by("created_at")
    )
    return TriageInput(
        subject=message.subject,
        body=message.reply_text or message.text,
        mailbox="emergency" if ticket.queue.slug == "emergency" else "support",
        sender=message.from_address,
        customer_language=ticket.customer.language,
        thread=tuple(m.reply_text or m.text for m in earlier),
        body_is_visible=bool(message.reply_text),
    )


def message_triage(*, message_id: int, new_ticket: bool) -> TriageRun | None:
    """Triage a customer's message, store the findings on its ticket and start the automatic answer."""
    message = Message.objects.select_related("ticket__customer", "ticket__queue").get(pk=message_id)
    if TriageRun.objects.filter(message=message).exists():
        return None  # a redelivered task: the work is done
    ticket = message.ticket
    result = analyse(_triage_input(ticket, message), model=active_model())
    try:
        with transaction.atomic():
            run = _store(ticket, message, result)
    except IntegrityError:
        return None  # another worker stored this message's run a moment ago
    _hand_to_outgoing(ticket, message, result, new_ticket=new_ticket)
    return run


def _store(ticket: Ticket, message: Message, result: TriageResult) -> TriageRun:
    run = TriageRun.objects.create(
        ticket=ticket,
        message=message,
        model_version=result.model_version,
        result={
            **result.labels(),
            "confidence": result.service_probabilities,
            "error_message": result.error_message,
        },
        actions=list(result.actions),
    )
    agent_tagged = ticket.service_links.filter(source=TagSource.AGENT).exists()
    if not agent_tagged:
        # The whole thread counts: services seen in earlier messages stay on the ticket.
        kept = {link.service.slug: link.confidence for link in ticket.service_links.select_related("service")}
        helpdesk_services.ticket_set_services(
            ticket=ticket, services={**kept, **result.services}, source=TagSource.MODEL
        )
    helpdesk_services.ticket_record_triage(
        ticket=ticket,
        fields=helpdesk_services.TriageFields(
            language=result.language,
            missing_error_message="request_error_message" in result.actions,
            missing_problem_description="request_problem_description" in result.actions,
            missing_callback_number="request_callback_number" in result.actions,
            callback_requested=result.callback_requested or ticket.callback_requested,
            callback_number=result.callback_number or ticket.callback_number,
            error_message=result.error_message or ticket.error_message,
            needs_review=result.needs_review,
        ),
    )
    return run


def _hand_to_outgoing(ticket: Ticket, message: Message, result: TriageResult, *, new_ticket: bool) -> None:
    from mailbridge import outgoing

    ticket.refresh_from_db()
    outgoing.ticket_auto_respond(
        ticket=ticket, message=message, actions=result.actions, new_ticket=new_ticket
    )


def correction_record(
    *, ticket: Ticket, agent: helpdesk_services.Actor, field: str, predicted: object, corrected: object
) -> Correction | None:
    """Keep an agent's change of a ticket's tags or flags as a training example for the next model."""
    run = TriageRun.objects.filter(ticket=ticket).order_by("created_at").first()
    if run is None:
        return None  # the ticket was never triaged: nothing was predicted, so nothing was corrected
    message = run.message
    labels = dict(run.result)
    labels.pop("confidence", None)
    labels.pop("error_message", None)
    labels[field] = corrected
    return Correction.objects.create(
        ticket=ticket,
        agent=agent,
        field=field,
        predicted={field: predicted},
        corrected={field: corrected},
        subject=message.subject,
        body=message.reply_text or message.text,
        language=ticket.language,
        labels=labels,
        model_version=run.model_version,
    )


def ticket_latest_run(*, ticket: Ticket) -> TriageRun | None:
    """Return the ticket's most recent triage run (for the triage panel)."""
    return TriageRun.objects.filter(ticket=ticket).order_by("-created_at").first()


def ticket_correct_services(*, ticket: Ticket, services: list[str], agent: helpdesk_services.Actor) -> Ticket:
    """Set the ticket's services as an agent, recording the correction when it differs from triage."""
    before = sorted(helpdesk_selectors.ticket_service_slugs(ticket=ticket))
    helpdesk_services.ticket_set_services(
        ticket=ticket, services=services, source=TagSource.AGENT, actor=agent
    )
    if before != sorted(services):
        correction_record(
            ticket=ticket, agent=agent, field="services", predicted=before, corrected=sorted(services)
        )
    return ticket


FLAG_FIELDS = {
    # ticket field -> label of the schema it corrects
    "missing_error_message": "has_error_message",
    "missing_problem_description": "has_problem_description",
    "callback_requested": "callback_requested",
    "callback_number": "callback_number",
}


def ticket_correct_flag(
    *, ticket: Ticket, field: str, value: bool | str, agent: helpdesk_services.Actor
) -> Ticket:
    """Set one triage flag of the ticket as an agent, keeping the correction as a training example."""
    if field not in FLAG_FIELDS:
        raise ValueError(f"{field} is not a triage flag; one of {', '.join(FLAG_FIELDS)}")
    old = getattr(ticket, field)
    if old == value:
        return ticket
    values = {name: getattr(ticket, name) for name in helpdesk_services.TriageFields.__dataclass_fields__}
    values[field] = value
    helpdesk_services.ticket_record_triage(
        ticket=ticket, fields=helpdesk_services.TriageFields(**values), actor=agent
    )
    label = FLAG_FIELDS[field]
    # "missing X" on the ticket is the negation of the schema's "has X".
    negate = field.startswith("missing_")
    correction_record(
        ticket=ticket,
        agent=agent,
        field=label,
        predicted=(not old) if negate else old,
        corrected=(not value) if negate else value,
    )
    return ticket


@transaction.atomic
def model_activate(*, version: ModelVersion) -> ModelVersion:
    """Make this model version the one every worker uses (rollback = activate an older one)."""
    ModelVersion.objects.filter(active=True).exclude(pk=version.pk).update(active=False)
    ModelVersion.objects.filter(pk=version.pk).update(active=True)
    version.active = True
    transaction.on_commit(active_model_reset)
    return version
