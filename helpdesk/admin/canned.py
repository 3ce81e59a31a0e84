"""Reply templates (canned replies): managers and admins write them, agents view and use them."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template import Context, TemplateDoesNotExist, TemplateSyntaxError
from django.utils.translation import gettext_lazy as _

from helpdesk.models import CannedReply
from helpdesk.selectors import CANNED_ENGINE


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["key", "language", "title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 16, "cols": 100})}

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        # Refuse a text that would not render on the ticket page (a syntax error, an include).
        try:
            CANNED_ENGINE.from_string(body).render(Context({}))
        except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
            raise forms.ValidationError(
                _("This text is not a valid template: %(error)s"), params={"error": exc}
            ) from None
        return body


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    form = CannedReplyForm
    list_display = ["title", "key", "language", "updated_at"]
    list_filter = ["language", "key"]
    search_fields = ["key", "title", "body"]
