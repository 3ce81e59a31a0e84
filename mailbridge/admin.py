"""Admin for mailboxes (poll status), fetched mail (quarantine, reprocess), the outbox and mail templates."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import Engine, TemplateSyntaxError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk import selectors as helpdesk_selectors
from mailbridge import outgoing, services
from mailbridge.models import (
    InboundMail,
    InboundStatus,
    Mailbox,
    MailTemplate,
    OutboxKind,
    OutboxMail,
    OutboxStatus,
)


class MailboxForm(forms.ModelForm):
    # Write-only: the stored password is never sent to the browser.
    new_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current password."),
    )

    class Meta:
        model = Mailbox
        fields = [
            "name", "kind", "address", "host", "port", "use_tls", "username", "folder", "processed_folder",
            "failed_folder", "enabled", "poll_interval", "max_message_bytes",
        ]  # fmt: skip

    def save(self, commit: bool = True) -> Mailbox:
        mailbox = super().save(commit=False)
        if self.cleaned_data.get("new_password"):
            mailbox.set_password(self.cleaned_data["new_password"])
        if commit:
            mailbox.save()
        return mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["name", "kind", "address", "enabled", "poll_status", "last_poll_at", "last_error"]
    list_filter = ["kind", "enabled", "last_poll_ok"]
    readonly_fields = ["poll_status", "last_poll_at", "last_poll_ok", "last_error", "uidvalidity"]

    @admin.display(description=_("poll status"))
    def poll_status(self, mailbox: Mailbox) -> str:
        if not mailbox.enabled:
            return gettext("disabled")
        if mailbox.last_poll_at is None:
            return format_html('<span style="color:#b26a00">{}</span>', gettext("never polled"))
        ago = timesince(mailbox.last_poll_at, depth=1)
        # Three missed intervals: the poller (Celery beat or worker) is not running.
        overdue = timezone.now() - mailbox.last_poll_at > timedelta(seconds=3 * mailbox.poll_interval)
        if not mailbox.last_poll_ok:
            return format_html(
                '<span style="color:#c62828">{}</span>', gettext("failed %(ago)s ago") % {"ago": ago}
            )
        if overdue:
            return format_html(
                '<span style="color:#b26a00">{}</span>',
                gettext("overdue: last poll %(ago)s ago") % {"ago": ago},
            )
        return format_html('<span style="color:#1b5e20">{}</span>', gettext("OK %(ago)s ago") % {"ago": ago})


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = ["received_at", "mailbox", "status", "from_address", "subject", "size", "reason"]
    list_filter = ["status", "mailbox", "moved"]
    search_fields = ["subject", "from_address", "message_id", "reason"]
    exclude = ["raw"]
    readonly_fields = [
        "mailbox", "uidvalidity", "uid", "message_id", "sha256", "size", "source", "status", "reason",
        "attempts", "moved", "from_address", "subject", "ticket_message", "received_at", "processed_at",
    ]  # fmt: skip
    actions = ["reprocess", "download_raw"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Reprocess the selected quarantined mail"), permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundMail]) -> None:
        results = [
            services.inbound_reprocess(inbound=m) for m in queryset.filter(status=InboundStatus.QUARANTINED)
        ]
        ok = sum(1 for r in results if r.status != InboundStatus.QUARANTINED)
        self.message_user(request, _("%(ok)d of %(n)d mails ingested.") % {"ok": ok, "n": len(results)})
        if ok < len(results):
            self.message_user(
                request, _("The others are still quarantined; see the reason."), messages.WARNING
            )

    @admin.action(description=_("Download the raw mail (.eml)"))
    def download_raw(self, request: HttpRequest, queryset: QuerySet[InboundMail]) -> HttpResponse | None:
        inbound = queryset.first()
        if inbound is None or queryset.count() != 1:
            self.message_user(request, _("Select exactly one mail."), messages.WARNING)
            return None
        response = HttpResponse(bytes(inbound.raw), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="mail-{inbound.pk}.eml"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMail]:
        mails = super().get_queryset(request).select_related("mailbox").defer("raw")
        if helpdesk_selectors.user_sees_all_queues(request.user):
            return mails
        # Agents: mail not yet in any ticket (quarantine), and mail of their own queues' tickets only.
        tickets = helpdesk_selectors.ticket_list_for_user(user=request.user)
        return mails.filter(Q(ticket_message__isnull=True) | Q(ticket_message__ticket__in=tickets))


class DeliveryProblemFilter(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("failed", _("Failed")), ("stuck", _("Queued for more than 10 minutes"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxMail]) -> QuerySet[OutboxMail]:
        if self.value() == "failed":
            return queryset.filter(status=OutboxStatus.FAILED)
        if self.value() == "stuck":
            limit = timezone.now() - timedelta(minutes=10)
            return queryset.filter(
                Q(status=OutboxStatus.QUEUED) | Q(status=OutboxStatus.SENDING), created_at__lt=limit
            )
        return queryset


@admin.register(OutboxMail)
class OutboxMailAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "automatic",
        "recipient",
        "subject",
        "status",
        "attempts",
        "ticket_link",
        "last_error",
    ]
    list_filter = [DeliveryProblemFilter, "status", "kind", "automatic"]
    search_fields = ["recipient", "subject", "message_id", "ticket__reference"]
    readonly_fields = [
        "ticket_link", "kind", "automatic", "from_address", "reply_to", "recipient", "to", "cc", "subject",
        "text", "message_id", "in_reply_to", "references", "language", "requested", "status", "attempts",
        "last_error", "created_at", "sent_at",
    ]  # fmt: skip
    exclude = ["ticket", "ticket_message", "inbound", "html"]
    actions = ["resend"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxMail]:
        mails = super().get_queryset(request).select_related("ticket").defer("text", "html")
        if helpdesk_selectors.user_sees_all_queues(request.user):
            return mails
        # Whoever does not see every queue sees the mail of their queues' tickets only (and none that
        # belongs to no ticket), should the group ever be given the outbox.
        return mails.filter(ticket__in=helpdesk_selectors.ticket_list_for_user(user=request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The record of what we sent is kept as sent; resending is an action, not an edit.
        return False

    @admin.display(description=_("ticket"), ordering="ticket__reference")
    def ticket_link(self, mail: OutboxMail) -> str:
        if mail.ticket is None:
            return "—"
        url = reverse("admin:helpdesk_ticket_change", args=[mail.ticket.pk])
        return format_html('<a href="{}">{}</a>', url, mail.ticket.reference)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("mailbridge.change_outboxmail")

    @admin.action(description=_("Send the selected failed mail again"), permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[OutboxMail]) -> None:
        failed = list(queryset.filter(status=OutboxStatus.FAILED))
        for mail in failed:
            outgoing.outbox_resend(outbox=mail)
        self.message_user(
            request, gettext("%(n)d mails queued again.") % {"n": len(failed)}, messages.SUCCESS
        )
        if len(failed) < queryset.count():
            self.message_user(request, gettext("Only failed mail can be sent again."), messages.WARNING)


def _default_parts(key: str, language: str) -> tuple[str, str]:
    """Split a built-in template into its subject line and body."""
    head, _sep, body = outgoing.template_default(key=key, language=language).partition("\n\n")
    return head.removeprefix("Subject:").strip(), body


class MailTemplateForm(forms.ModelForm):
    class Meta:
        model = MailTemplate
        fields = ["key", "language", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 24, "cols": 100})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Refuse a template that would fail when the next automatic mail is rendered.
        engine = Engine(autoescape=False)
        for name in ("subject", "body"):
            try:
                engine.from_string(data.get(name) or "")
            except TemplateSyntaxError as exc:
                self.add_error(name, str(exc))
        return data


@admin.register(MailTemplate)
class MailTemplateAdmin(admin.ModelAdmin):
    form = MailTemplateForm
    list_display = ["key", "language", "subject", "updated_at"]
    list_filter = ["key", "language"]
    readonly_fields = ["default_text"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """Start a new template from the built-in text when key and language are in the URL."""
        initial = dict(super().get_changeform_initial_data(request))
        key, language = request.GET.get("key", ""), request.GET.get("language", "")
        if key in OutboxKind.values and language in outgoing.LANGUAGES:
            with contextlib.suppress(FileNotFoundError):
                initial["subject"], initial["body"] = _default_parts(key, language)
        return initial

    @admin.display(description=_("built-in default"))
    def default_text(self, template: MailTemplate | None) -> str:
        if template is None or not template.key:
            return gettext("Choose a template below the list to start from its default text.")
        try:
            text = outgoing.template_default(key=template.key, language=template.language)
        except FileNotFoundError:
            return "—"
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Links to start from a default text are only for those who may add a template.
        defaults = self._defaults() if self.has_add_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "defaults": defaults})

    def _defaults(self) -> list[dict[str, str]]:
        existing = set(MailTemplate.objects.values_list("key", "language"))
        add = reverse("admin:mailbridge_mailtemplate_add")
        return [
            {
                "key": key,
                "label": str(label),
                "language": language,
                "url": f"{add}?key={key}&language={language}",
            }
            for key, label in OutboxKind.choices
            for language in outgoing.LANGUAGES
            if (key, language) not in existing and _has_default(key, language)
        ]


def _has_default(key: str, language: str) -> bool:
    try:
        outgoing.template_default(key=key, language=language)
    except FileNotFoundError:
        return False
    return True
