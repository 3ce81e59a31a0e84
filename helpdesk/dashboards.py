"""The managers' dashboards inside the admin: figures as charts and tables, every table also as CSV."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from helpdesk import reports
from helpdesk.models import Queue, TicketStatus

# Cells a spreadsheet would run as a formula: a customer's error text must stay text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# The browser's date picker, which sends and expects ISO dates whatever the language.
DATE_INPUT = {"type": "date"}


class DashboardForm(forms.Form):
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(DATE_INPUT, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(DATE_INPUT, format="%Y-%m-%d")
    )
    queue = forms.ModelChoiceField(
        label=_("Queue"),
        queryset=Queue.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("All queues"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        default_start, default_end = reports.scope_default_period()
        end = data.get("end") or default_end
        start = data.get("start") or end - (default_end - default_start)
        problem = reports.scope_problem(start=start, end=end)
        if problem:
            raise forms.ValidationError(problem)
        data.update(start=start, end=end)
        return data

    def scope(self) -> reports.ReportScope:
        queue = self.cleaned_data.get("queue")
        return reports.ReportScope(
            start=self.cleaned_data["start"],
            end=self.cleaned_data["end"],
            queue_id=queue.pk if queue else None,
        )


@dataclass
class Table:
    """One figure as rows: raw values for CSV, formatted text for the page."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    display: list[list[str]] = field(default_factory=list)
    # When the page shows a summary of the rows rather than the rows themselves.
    display_headers: list[str] | None = None

    @property
    def shown_headers(self) -> list[str]:
        return self.display_headers if self.display_headers is not None else self.headers

    def add(self, raw: list[Any], shown: list[str] | None = None) -> None:
        self.rows.append(raw)
        self.display.append(shown if shown is not None else [_cell(v) for v in raw])


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, float):
        return number_format(value, 2)
    return str(value)


def duration_text(seconds: float | None) -> str:
    """Return a duration as people read it: '45 min', '3.5 h', '2.1 d'."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return _g("%(n)s min") % {"n": int(seconds / 60 + 0.5)}
    if seconds < 2 * 86400:
        return _g("%(n)s h") % {"n": number_format(seconds / 3600, 1)}
    return _g("%(n)s d") % {"n": number_format(seconds / 86400, 1)}


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{number_format(share * 100, 1)} %"


# --- figures as tables -----------------------------------------------------------------------------


def _volume_table(figures: reports.DashboardFigures) -> Table:
    table = Table(
        "volume",
        _g("New and resolved tickets per day and service"),
        [_g("Day"), _g("Service"), _g("New"), _g("Resolved")],
    )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in figures["volume"]:
        table.rows.append([row["day"], row["service"], row["new"], row["resolved"]])
        totals[row["service"]][0] += row["new"]
        totals[row["service"]][1] += row["resolved"]
    # Day by day is the chart's (and the CSV's) job; the page lists the period's totals per service.
    table.title = _g("New and resolved tickets per service")
    table.display_headers = [_g("Service"), _g("New"), _g("Resolved")]
    table.display = [[service, str(new), str(done)] for service, (new, done) in sorted(totals.items())]
    return table


def _backlog_table(figures: reports.DashboardFigures) -> Table:
    table = Table(
        "backlog",
        _g("Open backlog by status, queue and age"),
        [_g("Queue"), _g("Status"), _g("Age"), _g("Tickets")],
    )
    labels = dict(TicketStatus.choices)
    for row in figures["backlog"]:
        raw = [row["queue"], row["status"], row["age"], row["tickets"]]
        table.add(
            raw,
            [row["queue"], str(labels.get(row["status"], row["status"])), row["age"], str(row["tickets"])],
        )
    return table


def _durations_table(figures: reports.DashboardFigures) -> Table:
    times = figures["response_times"]
    asked = figures["detail_requests"]
    table = Table(
        "response_times",
        _g("Response times"),
        [_g("Measure"), _g("Tickets"), _g("Median (s)"), _g("90th percentile (s)")],
        display_headers=[_g("Measure"), _g("Tickets"), _g("Median"), _g("90th percentile")],
    )
    for label, stats in (
        (_g("First response by an agent"), times["first_response"]),
        (_g("Resolution"), times["resolution"]),
        (_g("Customer's answer to a detail request"), asked["answer_time"]),
    ):
        raw = [label, stats["count"], stats["median"], stats["p90"]]
        table.add(
            raw, [label, str(stats["count"]), duration_text(stats["median"]), duration_text(stats["p90"])]
        )
    return table


def _requests_table(figures: reports.DashboardFigures) -> Table:
    asked = figures["detail_requests"]
    table = Table("detail_requests", _g("Automatic detail requests"), [_g("Measure"), _g("Value")])
    share = asked["answered_tickets"] / asked["tickets"] if asked["tickets"] else None
    table.add([_g("Requests sent"), asked["requests"]])
    table.add([_g("Tickets asked"), asked["tickets"]])
    table.add([_g("Tickets whose customer answered"), asked["answered_tickets"]])
    table.add([_g("Share answered"), share], [_g("Share answered"), _percent(share)])
    table.add(
        [_g("Median time to answer (s)"), asked["answer_time"]["median"]],
        [_g("Median time to answer"), duration_text(asked["answer_time"]["median"])],
    )
    return table


def _corrections_table(figures: reports.DashboardFigures) -> Table:
    table = Table(
        "corrections",
        _g("Classifier tags corrected by agents, per service"),
        [
            _g("Service"),
            _g("Tagged by the classifier"),
            _g("Tag removed"),
            _g("Tag added"),
            _g("Corrected share"),
            _g("Precision"),
        ],
    )
    for row in figures["corrections"]:
        raw = [
            row["service"],
            row["tagged"],
            row["removed"],
            row["added"],
            row["corrected_share"],
            row["precision"],
        ]
        shown = [*(str(v) for v in raw[:4]), _percent(row["corrected_share"]), _percent(row["precision"])]
        table.add(raw, shown)
    return table


def _emergency_table(figures: reports.DashboardFigures) -> Table:
    table = Table(
        "emergency", _g("Emergency volume per day"), [_g("Day"), _g("Tickets"), _g("Callback requested")]
    )
    for row in figures["emergency"]:
        table.add([row["day"], row["tickets"], row["callbacks"]])
    return table


def _errors_table(figures: reports.DashboardFigures) -> Table:
    table = Table("top_errors", _g("Most frequent error messages"), [_g("Error message"), _g("Tickets")])
    for row in figures["top_errors"]:
        table.add([row["error_message"], row["tickets"]])
    return table


# Each table: how to build it, and which figures it needs.
TABLES: dict[str, tuple[Callable[[reports.DashboardFigures], Table], tuple[str, ...]]] = {
    "volume": (_volume_table, ("volume",)),
    "backlog": (_backlog_table, ("backlog",)),
    "response_times": (_durations_table, ("response_times", "detail_requests")),
    "detail_requests": (_requests_table, ("detail_requests",)),
    "corrections": (_corrections_table, ("corrections",)),
    "emergency": (_emergency_table, ("emergency",)),
    "top_errors": (_errors_table, ("top_errors",)),
}


# --- figures as charts (Chart.js configurations, drawn by static/helpdesk/dashboard.js) -------------


def _daily_chart(figures: reports.DashboardFigures) -> dict[str, Any]:
    days = figures["scope"].days
    index = {day: i for i, day in enumerate(days)}
    new: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    resolved = [0] * len(days)
    for row in figures["volume"]:
        new[row["service"]][index[row["day"]]] += row["new"]
        resolved[index[row["day"]]] += row["resolved"]
    datasets: list[dict[str, Any]] = [
        {"label": service, "data": counts, "stack": "new"} for service, counts in sorted(new.items())
    ]
    datasets.append({"label": _g("Resolved (all services)"), "data": resolved, "type": "line"})
    return {
        "id": "chart-volume",
        "type": "bar",
        "stacked": True,
        "labels": [d.isoformat() for d in days],
        "datasets": datasets,
    }


def _backlog_chart(figures: reports.DashboardFigures) -> dict[str, Any]:
    ages = [key for key, _bound in reversed(reports.AGE_BUCKETS)]
    counts: dict[str, list[int]] = {state: [0] * len(ages) for state in reports.OPEN_STATES}
    for row in figures["backlog"]:
        counts[row["status"]][ages.index(row["age"])] += row["tickets"]
    labels = dict(TicketStatus.choices)
    datasets = [{"label": str(labels[state]), "data": data} for state, data in counts.items()]
    return {"id": "chart-backlog", "type": "bar", "stacked": True, "labels": ages, "datasets": datasets}


def _emergency_chart(figures: reports.DashboardFigures) -> dict[str, Any]:
    days = figures["scope"].days
    by_day = {row["day"]: row for row in figures["emergency"]}
    tickets = [by_day[d]["tickets"] if d in by_day else 0 for d in days]
    callbacks = [by_day[d]["callbacks"] if d in by_day else 0 for d in days]
    datasets = [
        {"label": _g("Emergency tickets"), "data": tickets},
        {"label": _g("Callback requested"), "data": callbacks},
    ]
    return {
        "id": "chart-emergency",
        "type": "bar",
        "stacked": False,
        "labels": [d.isoformat() for d in days],
        "datasets": datasets,
    }


def _precision_chart(figures: reports.DashboardFigures) -> dict[str, Any]:
    rows = [row for row in figures["corrections"] if row["tagged"]]
    data = [round(row["precision"] * 100, 1) if row["precision"] is not None else None for row in rows]
    return {
        "id": "chart-precision",
        "type": "bar",
        "stacked": False,
        "percent": True,
        "labels": [row["service"] for row in rows],
        "datasets": [{"label": _g("Precision (%)"), "data": data}],
    }


def charts(figures: reports.DashboardFigures) -> list[dict[str, Any]]:
    """Return the Chart.js data of the figures people would rather look at than read."""
    return [
        _daily_chart(figures),
        _backlog_chart(figures),
        _emergency_chart(figures),
        _precision_chart(figures),
    ]


# --- views -----------------------------------------------------------------------------------------


def _managers_only(request: HttpRequest) -> None:
    if not reports.user_reads_dashboards(user=request.user):
        raise PermissionDenied


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show the dashboards for the chosen period and queue."""
    _managers_only(request)
    form = DashboardForm(request.GET or _default_period())
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": _g("Support dashboard"),
        "form": form,
    }
    if not form.is_valid():
        return render(request, "helpdesk/dashboard/index.html", context, status=400)
    figures = reports.dashboard_figures(scope=form.scope())
    context.update(
        scope=figures["scope"],
        tables=[build(figures) for build, _needs in TABLES.values()],
        csv_query=_scope_query(form),
        charts=charts(figures),
        response=figures["response_times"],
        asked=figures["detail_requests"],
        first_median=duration_text(figures["response_times"]["first_response"]["median"]),
        first_p90=duration_text(figures["response_times"]["first_response"]["p90"]),
        resolution_median=duration_text(figures["response_times"]["resolution"]["median"]),
        resolution_p90=duration_text(figures["response_times"]["resolution"]["p90"]),
    )
    return render(request, "helpdesk/dashboard/index.html", context)


@staff_member_required
def dashboard_csv(request: HttpRequest, section: str) -> HttpResponse:
    """Return one figure of the dashboards as CSV."""
    _managers_only(request)
    if section not in TABLES:
        raise Http404
    form = DashboardForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            "; ".join(str(m) for ms in form.errors.values() for m in ms),
            status=400,
            content_type="text/plain",
        )
    scope = form.scope()
    build, needs = TABLES[section]
    table = build(reports.dashboard_figures(scope=scope, sections=needs))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{section}-{scope.start}-{scope.end}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_value(value) for value in row])
    return response


def _default_period() -> dict[str, str]:
    start, end = reports.scope_default_period()
    return {"start": start.isoformat(), "end": end.isoformat()}


def _scope_query(form: DashboardForm) -> str:
    query = QueryDict(mutable=True)
    query["start"] = form.cleaned_data["start"].isoformat()
    query["end"] = form.cleaned_data["end"].isoformat()
    if form.cleaned_data.get("queue"):
        query["queue"] = form.cleaned_data["queue"].slug
    return query.urlencode()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
