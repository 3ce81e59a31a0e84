"""Forms of the agent workspace; each one feeds exactly one service call."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Priority, Queue, ServiceTag, Ticket, TicketStatus

MAX_REPLY_ATTACHMENTS_BYTES = 20 * 1024 * 1024


def staff_users() -> Any:
    return get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f]


class TicketActionForm(helpers.ActionForm):
    """The bulk-action bar of the ticket list: the action plus its one parameter."""

    status = forms.ChoiceField(
        label=_("status"), required=False, choices=[("", "---"), *TicketStatus.choices]
    )
    priority = forms.ChoiceField(
        label=_("priority"), required=False, choices=[("", "---"), *Priority.choices]
    )
    queue = forms.ModelChoiceField(label=_("queue"), queryset=Queue.objects.all(), required=False)
    assignee = UserChoiceField(label=_("agent"), queryset=staff_users(), required=False)
    target = forms.CharField(
        label=_("merge into (reference)"),
        required=False,
        max_length=20,
        help_text=_("Empty: into the oldest selected ticket."),
    )


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("reply"), widget=forms.Textarea(attrs={"rows": 10, "cols": 80}))
    cc = forms.CharField(label=_("Cc"), required=False, help_text=_("Addresses separated by commas."))
    attachments = MultipleFileField(label=_("attachments"), required=False)
    then_status = forms.ChoiceField(
        label=_("then set the status to"),
        required=False,
        choices=[
            ("", _("(unchanged)")),
            (TicketStatus.WAITING, TicketStatus.WAITING.label),
            (TicketStatus.RESOLVED, TicketStatus.RESOLVED.label),
        ],
    )

    def clean_cc(self) -> list[str]:
        addresses = [a.strip() for a in self.cleaned_data["cc"].replace(";", ",").split(",") if a.strip()]
        for address in addresses:
            validate_email(address)
        return addresses

    def clean_attachments(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["attachments"]
        if sum(f.size or 0 for f in files) > MAX_REPLY_ATTACHMENTS_BYTES:
            raise ValidationError(_("The attachments together may not exceed 20 MB."))
        return files


class NoteForm(forms.Form):
    text = forms.CharField(label=_("internal note"), widget=forms.Textarea(attrs={"rows": 4, "cols": 80}))


class TicketUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("status"), choices=TicketStatus.choices)
    priority = forms.ChoiceField(label=_("priority"), choices=Priority.choices)
    queue = forms.ModelChoiceField(label=_("queue"), queryset=Queue.objects.all(), empty_label=None)
    assignee = UserChoiceField(label=_("assignee"), queryset=staff_users(), required=False)

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "status": ticket.status,
                "priority": ticket.priority,
                "queue": ticket.queue_id,
                "assignee": ticket.assignee_id,
            },
        )
        super().__init__(*args, **kwargs)
        # Only people who can see the ticket can work it: the queue's agents and those who see all.
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            staff_users()
            .filter(
                Q(helpdesk_queues=ticket.queue_id)
                | Q(is_superuser=True)
                | Q(groups__name__in=["managers", "admins"])
                | Q(pk=ticket.assignee_id or 0)
            )
            .distinct()
        )


class CorrectionForm(forms.Form):
    """Triage's findings as the agent corrects them; every change becomes a training example."""

    services = forms.ModelMultipleChoiceField(
        label=_("services"),
        queryset=ServiceTag.objects.all(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    missing_error_message = forms.BooleanField(label=_("error message missing"), required=False)
    missing_problem_description = forms.BooleanField(label=_("problem description missing"), required=False)
    callback_requested = forms.BooleanField(label=_("callback requested"), required=False)
    callback_number = forms.CharField(label=_("callback number"), required=False, max_length=30)
    reviewed = forms.BooleanField(
        label=_("reviewed"),
        required=False,
        help_text=_("Clears “needs review”: you checked what triage found."),
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not ticket.needs_review:
            del self.fields["reviewed"]

    def clean_callback_number(self) -> str:
        raw = self.cleaned_data["callback_number"].strip()
        if not raw:
            return ""
        try:
            number = phonenumbers.parse(raw, "CH")
        except phonenumbers.NumberParseException:
            raise ValidationError(_("Not a phone number.")) from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(_("Not a valid phone number."))
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class MergeForm(forms.Form):
    target = forms.CharField(
        label=_("merge this ticket into"),
        max_length=25,
        help_text=_("Reference of the ticket that remains, e.g. 2026-000123."),
    )

    def clean_target(self) -> str:
        return str(self.cleaned_data["target"]).strip().lstrip("#[").rstrip("]").strip()


class CustomerMergeForm(forms.Form):
    target = forms.IntegerField(widget=forms.HiddenInput)
