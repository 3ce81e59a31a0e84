"""The ticket core: customers, queues, tickets, messages, attachments and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.indexes import UpperTrigramIndex


class Language(models.TextChoices):
    DE = "de", _("German")
    EN = "en", _("English")
    FR = "fr", _("French")
    IT = "it", _("Italian")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(_("preferred language"), max_length=2, choices=Language.choices, blank=True)
    account_ref = models.CharField(
        _("hosting account / domains"),
        max_length=500,
        blank=True,
        help_text=_("Hosting account number and the customer's domains."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "pk"]
        indexes = [
            # The customer and ticket searches by name (icontains; PostgreSQL only).
            UpperTrigramIndex(field="name", name="customer_name_trgm"),
        ]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class CustomerEmail(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(_("address"), max_length=254)
    is_primary = models.BooleanField(_("primary"), default=False)
    undeliverable = models.BooleanField(
        _("undeliverable"), default=False, help_text=_("Set when mail to this address bounced permanently.")
    )

    class Meta:
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")
        constraints = [
            # Addresses are case-insensitive in practice; one address belongs to one customer.
            models.UniqueConstraint(Lower("address"), name="customeremail_address_unique_ci"),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_primary=True), name="customeremail_one_primary"
            ),
        ]
        indexes = [
            # The customer and ticket searches by part of an address, e.g. "@firma.ch" (PostgreSQL only).
            UpperTrigramIndex(field="address", name="customeremail_address_trgm"),
        ]

    def __str__(self) -> str:
        return self.address


class CustomerPhone(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("number (E.164)"), max_length=20)
    label = models.CharField(_("label"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        constraints = [
            models.UniqueConstraint(fields=["customer", "number"], name="customerphone_unique_per_customer"),
            models.CheckConstraint(
                condition=Q(number__regex=r"^\+[1-9][0-9]{6,14}$"), name="customerphone_e164"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Queue(models.Model):
    slug = models.SlugField(_("key"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    default_priority = models.CharField(
        _("default priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="helpdesk_queues",
        blank=True,
        verbose_name=_("agents"),
        help_text=_("Agents who see and work this queue's tickets."),
    )

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceTag(models.Model):
    """One affected service of the label schema (email, website, ...), kept as data."""

    slug = models.SlugField(_("key"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class TicketReferenceCounter(models.Model):
    """The last reference number handed out per year; a row lock makes numbers unique and never reused."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket reference counter")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Ticket(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tickets")
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    services: models.ManyToManyField[ServiceTag, TicketService] = models.ManyToManyField(
        ServiceTag, through="TicketService", related_name="tickets", blank=True
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_tickets"
    )
    linked_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        help_text=_("The earlier ticket this one follows up on."),
    )

    # Triage results (written by triage.services; agents may correct them).
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, blank=True)
    missing_error_message = models.BooleanField(_("error message missing"), default=False)
    missing_problem_description = models.BooleanField(_("problem description missing"), default=False)
    missing_callback_number = models.BooleanField(_("callback number missing"), default=False)
    callback_requested = models.BooleanField(_("callback requested"), default=False)
    callback_number = models.CharField(_("callback number"), max_length=20, blank=True)
    error_message = models.TextField(_("detected error message"), blank=True)
    needs_review = models.BooleanField(_("needs review"), default=False)

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(_("last customer message"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        indexes = [
            # The agents' work lists: open tickets of a queue, oldest first.
            models.Index(fields=["queue", "status", "created_at"], name="ticket_queue_status_created"),
            # "Assigned to me" and the manager's per-agent backlog.
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            # The API's "updated since" filter and cursor pagination.
            models.Index(fields=["updated_at"], name="ticket_updated"),
            # Dashboards: the period's new tickets (volume, response times, detail requests, errors).
            models.Index(fields=["created_at"], name="ticket_created"),
            # Dashboards: tickets resolved per day.
            models.Index(
                fields=["resolved_at"], condition=Q(resolved_at__isnull=False), name="ticket_resolved"
            ),
            # Dashboards: the open backlog by status, queue and age (a small index: few tickets are open).
            models.Index(
                fields=["status", "queue", "created_at"],
                condition=Q(status__in=["new", "open", "waiting"]),
                name="ticket_backlog",
            ),
            # The ticket search by part of the reference or subject (icontains; PostgreSQL only).
            UpperTrigramIndex(field="reference", name="ticket_reference_trgm"),
            UpperTrigramIndex(field="subject", name="ticket_subject_trgm"),
        ]

    def __str__(self) -> str:
        return f"[{settings.HELPDESK_REFERENCE_PREFIX}{self.reference}] {self.subject}"

    @property
    def subject_tag(self) -> str:
        """Return the tag put into mail subjects, e.g. '[#2026-000123]'."""
        return f"[{settings.HELPDESK_REFERENCE_PREFIX}{self.reference}]"


class TagSource(models.TextChoices):
    RULE = "rule", _("Rule")
    MODEL = "model", _("Model")
    AGENT = "agent", _("Agent")


class TicketService(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="service_links")
    service = models.ForeignKey(ServiceTag, on_delete=models.PROTECT, related_name="ticket_links")
    source = models.CharField(_("source"), max_length=10, choices=TagSource.choices, default=TagSource.AGENT)
    confidence = models.FloatField(_("confidence"), null=True, blank=True)

    class Meta:
        verbose_name = _("service tag")
        verbose_name_plural = _("service tags")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "service"], name="ticketservice_unique"),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=1),
                name="ticketservice_confidence_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.service_id} ({self.source})"


class Direction(models.TextChoices):
    IN = "in", _("Incoming")
    OUT = "out", _("Outgoing")


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer mail")
    AGENT_REPLY = "agent_reply", _("Agent reply")
    AUTO_REPLY = "auto_reply", _("Automatic reply")
    INTERNAL_NOTE = "note", _("Internal note")
    AUTOMATED = "automated", _("Automated mail (auto-reply, bounce)")


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    from_name = models.CharField(_("from (name)"), max_length=200, blank=True)
    from_address = models.CharField(_("from (address)"), max_length=254, blank=True)
    to = models.JSONField(_("to"), default=list, blank=True)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=998, blank=True)
    references = models.TextField(_("References"), blank=True)
    text = models.TextField(_("text"), blank=True)
    reply_text = models.TextField(_("visible reply text"), blank=True)
    html = models.TextField(_("sanitised HTML"), blank=True)
    sent_at = models.DateTimeField(_("date header"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]
        constraints = [
            # One stored message per Message-ID: threading looks messages up by it.
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="message_message_id_unique"
            ),
        ]
        indexes = [
            # The conversation of a ticket, in order.
            models.Index(fields=["ticket", "created_at"], name="message_ticket_created"),
            # The ticket search by message text (icontains; PostgreSQL only).
            UpperTrigramIndex(field="text", name="message_text_trgm"),
        ]

    def __str__(self) -> str:
        return self.subject or f"message {self.pk}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="attachments/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    inline = models.BooleanField(_("inline"), default=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """One change to a ticket: who changed which field from what to what, and when."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    field = models.CharField(_("field"), max_length=50)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket change")
        verbose_name_plural = _("ticket history")
        ordering = ["created_at", "pk"]
        indexes = [
            # The history panel of one ticket, in order.
            models.Index(fields=["ticket", "created_at"], name="ticketevent_ticket_created"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} -> {self.new_value}"


class CannedReply(models.Model):
    """A text an agent starts a reply from, one per key and language; managers and admins edit them."""

    key = models.SlugField(_("key"), max_length=50, help_text=_("The same key joins a reply's languages."))
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    title = models.CharField(_("title"), max_length=200, help_text=_("Shown in the ticket's reply form."))
    body = models.TextField(
        _("text"),
        help_text=_(
            "Django template syntax. Placeholders: {{ name }} (the customer), {{ reference }}, "
            "{{ subject }}, {{ callback_number }}, {{ agent }} (who replies)."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["key", "language"]
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="cannedreply_key_language")]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


# --- the dashboards' daily summary (PostgreSQL; see helpdesk/daily_figures.py) ---------------------


class ReportChange(models.Model):
    """A moment whose day's summary must be computed again: written by database triggers, never by code.

    The moment is cut to the hour (the triggers do not know the desk's time zone), so it stands for the
    hour that starts there.
    """

    at = models.DateTimeField()
    # Only a first response or resolution time changed: the day's durations are all to compute again.
    times_only = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            # The changes within the period a manager looks at.
            models.Index(fields=["at"], name="reportchange_at"),
        ]

    def __str__(self) -> str:
        return f"changed {self.at:%Y-%m-%d %H:00}"


class ReportDay(models.Model):
    """A local day whose summary rows are complete and current, for the time zone they were made in."""

    day = models.DateField(primary_key=True)
    time_zone = models.CharField(max_length=64)
    computed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.day} ({self.time_zone})"


class DayQueueFigures(models.Model):
    """The tickets a queue got on a day (merged duplicates left out) and what was asked of them."""

    day = models.DateField()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    tickets = models.PositiveIntegerField(default=0)
    callbacks = models.PositiveIntegerField(default=0)
    # Automatic mails that asked for details, the tickets they went to, and those whose customer answered.
    requests = models.PositiveIntegerField(default=0)
    asked_tickets = models.PositiveIntegerField(default=0)
    answered_tickets = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "queue"], name="dayqueuefigures_unique")]

    def __str__(self) -> str:
        return f"{self.day} queue {self.queue_id}: {self.tickets} tickets"


class DayServiceFigures(models.Model):
    """Per queue, day and service: tickets new that day and resolved that day (by their tags), and of the
    day's new tickets those the classifier tagged and those whose tag agents removed or added."""

    day = models.DateField()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    # None: tickets without any service tag (volume only).
    service = models.ForeignKey(ServiceTag, on_delete=models.CASCADE, null=True, related_name="+")
    new = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    tagged = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            # A period's rows, for all queues or one.
            models.Index(fields=["day", "queue"], name="dayservicefigures_day_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.day} queue {self.queue_id} service {self.service_id}: {self.new} new"


class DayErrorFigures(models.Model):
    """How many of a queue's new tickets of a day had this detected error message (cut to 300 characters)."""

    day = models.DateField()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    error_message = models.TextField()
    tickets = models.PositiveIntegerField()

    class Meta:
        indexes = [
            # A period's rows, for all queues or one.
            models.Index(fields=["day", "queue"], name="dayerrorfigures_day_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.day} queue {self.queue_id}: {self.tickets} x {self.error_message[:40]}"


class DurationMeasure(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("first response")
    RESOLUTION = "resolution", _("resolution")
    ANSWER = "answer", _("customer's answer to a detail request")


class DayDurations(models.Model):
    """The exact durations (seconds) of one measure for a queue's new tickets of a day, in one size class.

    Size classes let a percentile be found from the counts alone, then read from a single class.
    """

    day = models.DateField()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    measure = models.CharField(max_length=16, choices=DurationMeasure.choices)
    size_class = models.IntegerField()
    count = models.PositiveIntegerField()
    seconds = models.JSONField(default=list)

    class Meta:
        indexes = [
            # The classes' counts over a period, read from the index alone.
            models.Index(
                fields=["measure", "day", "queue", "size_class", "count"], name="daydurations_counts"
            ),
            # The seconds of the one class that holds a percentile.
            models.Index(fields=["measure", "size_class", "day"], name="daydurations_class"),
        ]

    def __str__(self) -> str:
        return f"{self.day} queue {self.queue_id} {self.measure} class {self.size_class}: {self.count}"
