"""Admin for triage: model versions with their metrics and activation; corrections and runs, read-only."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from triage.models import Correction, ModelVersion, TriageRun

# The figures shown in the list, when the evaluation recorded them (training records the first two).
HEADLINE_METRICS = [
    "services_micro_f1", "actions_exact", "micro_f1", "macro_f1", "exact_match", "f1", "accuracy",
]  # fmt: skip


def _number(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record nobody edits: it is what happened."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["version", "active", "created_at", "training_size", "corrections", "headline"]
    list_filter = ["active"]
    exclude = ["blob"]
    readonly_fields = [
        "version", "active", "created_at", "sklearn_version", "training_sha256", "training_size",
        "corrections", "metrics_table", "notes",
    ]  # fmt: skip
    actions = ["activate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        # The serialised model is megabytes: never load it for a page.
        return super().get_queryset(request).defer("blob")

    @admin.display(description=_("metrics"))
    def headline(self, version: ModelVersion) -> str:
        metrics = version.metrics if isinstance(version.metrics, dict) else {}
        shown = [(name, _number(metrics[name])) for name in HEADLINE_METRICS if name in metrics]
        return format_html_join(", ", "{} {}", shown) if shown else "—"

    @admin.display(description=_("metrics on the held-back data"))
    def metrics_table(self, version: ModelVersion) -> str:
        metrics = version.metrics if isinstance(version.metrics, dict) else {}
        rows = (
            (
                name,
                json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else _number(value),
            )
            for name, value in sorted(metrics.items())
        )
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("triage.change_modelversion")

    @admin.action(description=_("Activate the selected version"), permissions=["activate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one version."), messages.WARNING)
            return
        # Imported on use: triage.services loads the classifier stack, which the admin otherwise never needs.
        from triage import services
        from triage.classifier import IncompatibleModelError

        try:
            version = services.model_activate(version=queryset.get())
        except IncompatibleModelError as error:
            self.message_user(request, gettext("Not activated: %(error)s") % {"error": error}, messages.ERROR)
            return
        self.message_user(
            request,
            gettext("%(version)s is active; workers use it within a minute.") % {"version": version.version},
            messages.SUCCESS,
        )


def _ticket_link(ticket_id: int, label: str) -> str:
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:helpdesk_ticket_change", args=[ticket_id]), label
    )


@admin.register(Correction)
class CorrectionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "ticket_ref", "field", "predicted", "corrected", "agent", "model_version"]
    list_filter = ["field", "model_version"]
    search_fields = ["ticket__reference", "subject"]
    list_select_related = ["ticket", "agent"]

    @admin.display(description=_("ticket"), ordering="ticket__reference")
    def ticket_ref(self, correction: Correction) -> str:
        return _ticket_link(correction.ticket_id, correction.ticket.reference)


@admin.register(TriageRun)
class TriageRunAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "ticket_ref", "model_version", "actions"]
    list_filter = ["model_version"]
    search_fields = ["ticket__reference"]
    list_select_related = ["ticket"]
    show_full_result_count = False

    @admin.display(description=_("ticket"), ordering="ticket__reference")
    def ticket_ref(self, run: TriageRun) -> str:
        return _ticket_link(run.ticket_id, run.ticket.reference)
