"""Stored classifier versions, agents' corrections (training examples) and the record of each triage run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ModelVersion(models.Model):
    """One trained service classifier; exactly one is active, rollback = activate another."""

    version = models.CharField(_("version"), max_length=40, unique=True)
    sklearn_version = models.CharField(_("scikit-learn version"), max_length=20)
    training_sha256 = models.CharField(_("training set SHA-256"), max_length=64)
    training_size = models.PositiveIntegerField(_("training examples"), default=0)
    corrections = models.PositiveIntegerField(_("agent corrections included"), default=0)
    metrics = models.JSONField(_("metrics on the held-back data"), default=dict)
    blob = models.BinaryField(_("serialised model"))
    active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="modelversion_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version}{' (active)' if self.active else ''}"


class Correction(models.Model):
    """An agent's correction of triage on a ticket, kept as a labelled training example."""

    ticket = models.ForeignKey("helpdesk.Ticket", on_delete=models.CASCADE, related_name="triage_corrections")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    field = models.CharField(_("corrected"), max_length=40)
    predicted = models.JSONField(_("triage said"), default=dict)
    corrected = models.JSONField(_("agent said"), default=dict)
    subject = models.TextField(_("subject"), blank=True)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=2, blank=True)
    labels = models.JSONField(_("labels after the correction"))
    model_version = models.CharField(_("model version"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("triage correction")
        verbose_name_plural = _("triage corrections")
        ordering = ["-created_at"]
        indexes = [
            # "How many corrections since the last training?" and the per-service correction share.
            models.Index(fields=["created_at"], name="correction_created"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.field}"


class TriageRun(models.Model):
    """What triage decided for one message: kept for the ticket's triage panel, the dashboards and audits."""

    ticket = models.ForeignKey("helpdesk.Ticket", on_delete=models.CASCADE, related_name="triage_runs")
    message = models.ForeignKey("helpdesk.Message", on_delete=models.CASCADE, related_name="triage_runs")
    model_version = models.CharField(_("model version"), max_length=40)
    result = models.JSONField(_("result"))
    actions = models.JSONField(_("actions"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("triage run")
        verbose_name_plural = _("triage runs")
        ordering = ["-created_at"]
        constraints = [
            # A redelivered task must not triage the same message twice.
            models.UniqueConstraint(fields=["message"], name="triagerun_one_per_message"),
        ]
        indexes = [
            # The ticket page's triage panel: the latest run of a ticket.
            models.Index(fields=["ticket", "created_at"], name="triagerun_ticket_created"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.message_id} {self.model_version}"
