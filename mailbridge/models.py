"""Mailboxes we read, and every mail we fetched, stored raw before anything else happens to it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailbridge.secrets import decrypt, encrypt


class MailboxKind(models.TextChoices):
    SUPPORT = "support", _("Support")
    EMERGENCY = "emergency", _("Emergency")


class Mailbox(models.Model):
    name = models.SlugField(_("name"), max_length=50, unique=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=MailboxKind.choices, default=MailboxKind.SUPPORT
    )
    host = models.CharField(_("IMAP host"), max_length=255)
    port = models.PositiveIntegerField(_("IMAP port"), default=993)
    use_tls = models.BooleanField(_("TLS (imaps)"), default=True)
    username = models.CharField(_("user"), max_length=255)
    # Encrypted with a key derived from SECRET_KEY (see mailbridge.secrets); never shown in the admin.
    password_encrypted = models.TextField(editable=False, blank=True)
    folder = models.CharField(_("folder to read"), max_length=255, default="INBOX")
    processed_folder = models.CharField(_("processed folder"), max_length=255, default="Processed")
    failed_folder = models.CharField(_("failed folder"), max_length=255, default="Failed")
    address = models.EmailField(_("address customers write to"))
    enabled = models.BooleanField(_("enabled"), default=True)
    poll_interval = models.PositiveIntegerField(_("poll interval (seconds)"), default=60)
    max_message_bytes = models.PositiveBigIntegerField(_("size limit (bytes)"), default=25 * 1024 * 1024)

    # Poll status, shown to admins.
    last_poll_at = models.DateTimeField(_("last poll"), null=True, blank=True)
    last_poll_ok = models.BooleanField(_("last poll succeeded"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    uidvalidity = models.PositiveBigIntegerField(_("UIDVALIDITY"), null=True, blank=True)

    # A lease, claimed with a conditional UPDATE: one poller per mailbox across all workers and machines.
    lock_owner = models.CharField(max_length=64, blank=True, editable=False)
    lock_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(port__gte=1, port__lte=65535), name="mailbox_port_range"),
            models.CheckConstraint(condition=Q(poll_interval__gte=5), name="mailbox_poll_interval_min"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def password(self) -> str:
        """Return the decrypted IMAP password."""
        return decrypt(self.password_encrypted) if self.password_encrypted else ""

    def set_password(self, raw: str) -> None:
        self.password_encrypted = encrypt(raw)


class InboundStatus(models.TextChoices):
    STORED = "stored", _("Stored, not yet ingested")
    INGESTED = "ingested", _("Ingested")
    DUPLICATE = "duplicate", _("Duplicate of a stored message")
    AUTOMATED = "automated", _("Automated mail, recorded only")
    QUARANTINED = "quarantined", _("Quarantined")
    OVERSIZED = "oversized", _("Too large, not downloaded")


class InboundMail(models.Model):
    """One fetched mail: its raw bytes and where it came from, committed before parsing."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="inbound")
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    uid = models.PositiveBigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    raw = models.BinaryField(help_text=_("The mail as received (headers only when oversized)."))
    source = models.CharField(max_length=10, default="imap")  # imap | import
    status = models.CharField(max_length=12, choices=InboundStatus.choices, default=InboundStatus.STORED)
    reason = models.TextField(_("reason"), blank=True)
    attempts = models.PositiveIntegerField(default=0)
    moved = models.BooleanField(_("moved out of the inbox"), default=False)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    # Named so its column does not clash with the Message-ID header field above.
    ticket_message = models.ForeignKey(
        "helpdesk.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound"
    )
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("fetched mail")
        verbose_name_plural = _("fetched mail")
        ordering = ["-received_at"]
        constraints = [
            # A rerun, a reconnect or a second poller cannot store the same IMAP message twice.
            models.UniqueConstraint(
                fields=["mailbox", "uidvalidity", "uid"],
                condition=Q(uid__isnull=False),
                name="inbound_uid_unique",
            ),
            # After a UIDVALIDITY change the same mail comes back with new UIDs: recognise it by content.
            models.UniqueConstraint(
                fields=["mailbox", "message_id"],
                condition=~Q(message_id=""),
                name="inbound_message_id_unique",
            ),
            models.UniqueConstraint(
                fields=["mailbox", "sha256"], condition=Q(message_id=""), name="inbound_sha256_unique"
            ),
        ]
        indexes = [
            # The quarantine list and the "still to ingest / still to move" sweeps of a poll.
            models.Index(fields=["mailbox", "status", "moved"], name="inbound_mailbox_status_moved"),
            # Ingestion: which stored mail, not yet ingested, a chunk's replies cite (see mailbridge.ingest).
            models.Index(
                fields=["message_id"], condition=Q(status="stored"), name="inbound_stored_message_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.uid} {self.subject[:60]}"


class OutboxKind(models.TextChoices):
    ACKNOWLEDGEMENT = "ack", _("Acknowledgement (with detail request when something is missing)")
    DETAIL_REQUEST = "request", _("Detail request")
    AGENT_REPLY = "agent_reply", _("Agent reply")
    SIZE_NOTICE = "size_notice", _("Mail too large")


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboxMail(models.Model):
    """One mail we send; the row is the truth about whether and when it went out."""

    ticket = models.ForeignKey(
        "helpdesk.Ticket", on_delete=models.CASCADE, null=True, blank=True, related_name="outbox"
    )
    # The copy stored in the ticket's conversation (replies to it thread back through its Message-ID).
    ticket_message = models.ForeignKey(
        "helpdesk.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="outbox"
    )
    # For a size notice: the refused mail it answers (one notice per mail).
    inbound = models.OneToOneField(
        InboundMail, on_delete=models.SET_NULL, null=True, blank=True, related_name="notice"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=OutboxKind.choices)
    automatic = models.BooleanField(_("automatic"), default=True)
    from_address = models.CharField(_("from"), max_length=254)
    reply_to = models.CharField(_("reply to"), max_length=254, blank=True)
    recipient = models.CharField(_("recipient"), max_length=254, help_text=_("Lower-cased; for rate limits."))
    to = models.JSONField(_("to"), default=list)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=998)
    text = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=998, unique=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=998, blank=True)
    references = models.TextField(_("References"), blank=True)
    language = models.CharField(_("language"), max_length=2, blank=True)
    requested = models.JSONField(_("details requested"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing mail")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at"]
        indexes = [
            # The per-sender rate limit: automatic mails to one address in the last hour/day.
            models.Index(fields=["recipient", "automatic", "created_at"], name="outbox_rate_limit"),
            # The agents' list of failed mail and the sweep of stuck sends.
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
            # "When did we last ask this ticket's customer for details?" (no nagging).
            models.Index(fields=["ticket", "kind", "created_at"], name="outbox_ticket_kind_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}: {self.subject[:60]}"


class MailTemplate(models.Model):
    """An admin's version of an automatic mail text; without one the built-in default is used."""

    key = models.CharField(_("template"), max_length=30, choices=OutboxKind.choices)
    language = models.CharField(
        _("language"), max_length=2, choices=[("de", "de"), ("en", "en"), ("fr", "fr"), ("it", "it")]
    )
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(
        _("body"), help_text=_("Django template syntax; see the built-in default for variables.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="mailtemplate_key_language")]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"
