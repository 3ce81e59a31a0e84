"""Admin for mailboxes (status of the last poll) and fetched mail (quarantine with reprocess)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from mailbridge import services
from mailbridge.models import InboundMail, InboundStatus, Mailbox


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
    list_display = ["name", "kind", "address", "enabled", "last_poll_at", "last_poll_ok", "last_error"]
    list_filter = ["kind", "enabled", "last_poll_ok"]
    readonly_fields = ["last_poll_at", "last_poll_ok", "last_error", "uidvalidity"]


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
        return super().get_queryset(request).select_related("mailbox").defer("raw")
