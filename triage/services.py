"""The only part of triage that touches the database: run the pure core on a ticket and store the result."""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from helpdesk import selectors as helpdesk_selectors
from helpdesk import services as helpdesk_services
from helpdesk.models import Direction, Message, MessageKind, TagSource, Ticket
from triage import selectors, training
from triage.classifier import IncompatibleModelError, ServiceModel
from triage.core import TriageInput, TriageResult, analyse, default_model
from triage.dataset import load_training_data
from triage.models import Correction, ModelVersion, TriageRun

logger = logging.getLogger(__name__)
RELOAD_CHECK_SECONDS = 30.0
# One PostgreSQL advisory lock key for training, whichever worker or command trains.
TRAINING_LOCK_KEY = 0x7472_6169_6E00


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
        return _version_model(pk)


def _version_model(pk: int) -> ServiceModel:
    version, blob = ModelVersion.objects.values_list("version", "blob").get(pk=pk)
    try:
        return ServiceModel.from_bytes(bytes(blob))
    except IncompatibleModelError as error:
        raise IncompatibleModelError(f"model version {version} cannot be loaded: {error}") from error


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
        # One transaction with the answer: a run stored without its answer would make a redelivered
        # task believe the work done, and the customer would never hear from us.
        with transaction.atomic():
            run = _store(ticket, message, result)
            _hand_to_outgoing(ticket, message, result, new_ticket=new_ticket)
    except IntegrityError:
        return None  # another worker stored this message's run a moment ago
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
    links = list(ticket.service_links.select_related("service"))
    if not any(link.source == TagSource.AGENT for link in links):
        # The whole thread counts: services seen in earlier messages stay on the ticket.
        kept = {link.service.slug: link.confidence for link in links}
        # ticket_record_triage below saves the ticket's updated_at in the same transaction.
        helpdesk_services.ticket_set_services(
            ticket=ticket, services={**kept, **result.services}, source=TagSource.MODEL, touch=False
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

    # The ticket in hand holds what _store wrote: reading it again would cost a query, and reloading
    # would drop its cached customer and queue (two more queries in the answer).
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
    if field == "callback_number" and value:
        values["missing_callback_number"] = False
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
    # A version no worker can load (another scikit-learn, damaged bytes) would stop all triage.
    _version_model(version.pk)
    ModelVersion.objects.filter(active=True).exclude(pk=version.pk).update(active=False)
    ModelVersion.objects.filter(pk=version.pk).update(active=True)
    version.active = True
    transaction.on_commit(active_model_reset)
    return version


class TrainingError(Exception):
    """Training cannot run or its result cannot be judged; the message says why."""


class NothingToLearnError(TrainingError):
    """No correction teaches the classifier anything beyond the seed data."""


class TrainingBusyError(TrainingError):
    """Another process is training right now."""


@dataclass(frozen=True)
class HeldBackComparison:
    """A candidate's scores on the held-back mails next to those of the model it must not do worse than."""

    scores: dict[str, float]
    compared_with: str
    compared_scores: dict[str, float]
    held_back: int
    seed_examples: int
    correction_examples: int

    @property
    def not_worse(self) -> bool:
        return training.not_worse(self.scores, self.compared_scores)

    def notes(self, *, activated: bool, asked_to_activate: bool) -> str:
        """Return why the candidate was activated or not, with the figures that decided it."""
        figures = ", ".join(
            f"{name} {self.scores[name]:.3f} vs {self.compared_scores[name]:.3f}"
            for name in training.HEADLINE_METRICS
        )
        verdict = "does not do worse than" if self.not_worse else "does worse than"
        if activated:
            decision = "Activated: it" if self.not_worse else "Activated by force although it"
        elif not asked_to_activate:
            decision = "Stored without activation as asked; it"
        else:
            decision = "Not activated: it"
        return (
            f"{decision} {verdict} the {self.compared_with} on {self.held_back} held-back mails "
            f"({figures}; tolerance {training.TOLERANCE}). Trained on {self.seed_examples} seed mails "
            f"and {self.correction_examples} corrected tickets."
        )


@dataclass(frozen=True)
class TrainingOutcome:
    """The stored candidate and whether it became the active model."""

    version: ModelVersion
    activated: bool
    comparison: HeldBackComparison


@contextmanager
def _training_lock() -> Iterator[bool]:
    """Yield whether this process may train now: one training at a time per installation."""
    if connection.vendor == "postgresql":
        with _advisory_lock(TRAINING_LOCK_KEY) as acquired:
            yield acquired
    else:
        # SQLite means one machine: a lock on a file in the var directory serves all its processes.
        with _file_lock(Path(settings.VAR_DIR) / "triage-training.lock") as acquired:
            yield acquired


@contextmanager
def _advisory_lock(key: int) -> Iterator[bool]:
    with connection.cursor() as cursor:
        # A session lock: released when the worker dies, and not tied to any transaction.
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        row = cursor.fetchone()
    acquired = bool(row and row[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def model_train(*, activate: bool = True, force: bool = False) -> TrainingOutcome:
    """Retrain on the seed data and agents' corrections; activate the result unless it does worse.

    force trains without corrections, activates a candidate that does worse, and replaces an active
    version that cannot be loaded.
    """
    with _training_lock() as acquired:
        if not acquired:
            raise TrainingBusyError("another training is running; try again when it has finished")
        return _train(activate=activate, force=force)


def model_retrain_if_due() -> TrainingOutcome | None:
    """Retrain when enough corrections arrived since the last training; None when nothing was done."""
    with _training_lock() as acquired:
        # Counted under the lock: a worker that waited must see the version the other one just stored.
        if not acquired or selectors.correction_count_untrained() < settings.TRIAGE_RETRAIN_MIN_CORRECTIONS:
            return None
        try:
            return _train(activate=True, force=False)
        except NothingToLearnError as error:
            logger.info("retraining skipped: %s", error)
            return None


def _train(*, activate: bool, force: bool) -> TrainingOutcome:
    # The version's created_at is this moment: corrections made while it trains count for the next one.
    snapshot = timezone.now()
    data = training.training_set(load_training_data(), selectors.correction_list_for_training(until=snapshot))
    if not data.corrections and not force:
        raise NothingToLearnError(
            "no agent correction of services or problem flags to learn from: the new model would only "
            "repeat the seed data"
        )
    reference, reference_name = _reference_model(data, force=force)
    candidate = ServiceModel.train(data.train)
    scores = training.held_back_metrics(candidate, data.held_back)
    comparison = HeldBackComparison(
        scores=scores,
        compared_with=reference_name,
        compared_scores=training.held_back_metrics(reference, data.held_back),
        held_back=len(data.held_back),
        seed_examples=len(data.seed_train),
        correction_examples=len(data.corrections),
    )
    activated = activate and (force or comparison.not_worse)
    # The scores travel inside the serialised model too, so a model file says how good it was.
    candidate = ServiceModel(candidate.pipeline, dataclasses.replace(candidate.metadata, metrics=scores))
    version = _version_store(
        candidate,
        comparison,
        created_at=snapshot,
        activated=activated,
        notes=comparison.notes(activated=activated, asked_to_activate=activate),
    )
    return TrainingOutcome(version=version, activated=activated, comparison=comparison)


def _reference_model(data: training.TrainingSet, *, force: bool) -> tuple[ServiceModel, str]:
    """Return the model a candidate must not do worse than, and what it is.

    The seed model that runs before any training saw every seed mail, held-back ones included, so it
    would score unfairly well on them; so may a version trained under another held-back rule. Both are
    replaced by a baseline trained on the candidate's seed part without corrections: the candidate then
    has to show that the corrections do not hurt.
    """
    active = ModelVersion.objects.filter(active=True).only("pk", "version", "metrics").first()
    baseline = "baseline trained on the seed data alone"
    if active is None:
        return training.baseline_model(data.seed_train), baseline
    metrics = active.metrics if isinstance(active.metrics, dict) else {}
    if metrics.get("held_back_rule") != training.HELD_BACK_RULE:
        reason = f"{baseline} (the active {active.version} may have seen held-back mails)"
        return training.baseline_model(data.seed_train), reason
    try:
        return _version_model(active.pk), f"active {active.version}"
    except IncompatibleModelError as error:
        if not force:
            raise TrainingError(f"{error}; activate another version, or retrain with --force") from error
        reason = f"{baseline} (the active {active.version} cannot be loaded)"
        return training.baseline_model(data.seed_train), reason


def _version_store(
    candidate: ServiceModel,
    comparison: HeldBackComparison,
    *,
    created_at: dt.datetime,
    activated: bool,
    notes: str,
) -> ModelVersion:
    if ModelVersion.objects.filter(version=candidate.version).exists():
        raise TrainingError(f"version {candidate.version} is already stored (the same data a moment ago)")
    metrics = {
        **comparison.scores,
        "held_back": comparison.held_back,
        "held_back_rule": training.HELD_BACK_RULE,
        "compared_with": {"model": comparison.compared_with, **comparison.compared_scores},
    }
    with transaction.atomic():
        version = ModelVersion.objects.create(
            version=candidate.version,
            sklearn_version=candidate.metadata.sklearn_version,
            training_sha256=candidate.metadata.training_sha256,
            training_size=candidate.metadata.training_size,
            corrections=comparison.correction_examples,
            metrics=metrics,
            blob=candidate.to_bytes(),
            created_at=created_at,
            notes=notes,
        )
        if activated:
            model_activate(version=version)
    return version
