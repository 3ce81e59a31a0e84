"""The dashboards' daily summary on PostgreSQL: per local day and queue, the figures of that day's tickets.

A year of a busy desk is a million tickets; counting them again for every look at the dashboards takes
seconds. The summary holds each day's counts and the exact durations (for percentiles), so a period's
figures are sums over at most 366 days. Database triggers (migration 0005) note every change that can
alter a day; before reading a period, `day_figures_refresh` computes again the days noted since, and the
days never computed, from the tickets themselves, so the figures are always those the tickets give.

Durations are stored by size class (a logarithmic scale): the classes' counts show which class holds a
percentile, and only that class's seconds are read and ordered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from helpdesk import reports
from helpdesk.models import (
    DayDurations,
    DayErrorFigures,
    DayQueueFigures,
    DayServiceFigures,
    DurationMeasure,
    ReportDay,
    ServiceTag,
)

# One lock for everyone who computes days: two at once would both replace the same day's rows.
_REFRESH_LOCK = 0x48454C5044455348  # "HELPDESH"
# Sixteen classes per factor e (each about 6 % wide): class c holds the durations from e^((c-1)/16) s up.
CLASSES_PER_E = 16
# Days this far apart are computed separately (see _OF_TICKETS).
GROUP_GAP_DAYS = 7
_CLASS = f"CASE WHEN s < 1 THEN 0 ELSE 1 + floor(ln(s) * {CLASSES_PER_E})::integer END"

# The tickets created on the days being computed, merged duplicates left out, each on its local day (as
# reports count them).
_TICKETS = """
t AS MATERIALIZED (
    SELECT id, queue_id, created_at, first_response_at, resolved_at, callback_requested, error_message,
           (created_at AT TIME ZONE %(tz)s)::date AS day
    FROM helpdesk_ticket
    WHERE created_at >= %(since)s AND created_at < %(until)s AND merged_into_id IS NULL
      AND (created_at AT TIME ZONE %(tz)s)::date = ANY(%(days)s)
),
ids AS (SELECT min(id) AS low, max(id) AS high FROM t)"""

# Redundant for the result, the range of the tickets' ids lets the database read just their rows elsewhere
# through the ticket_id index, instead of the whole table: the days' tickets have neighbouring ids.
_OF_TICKETS = "{0}.ticket_id BETWEEN (SELECT low FROM ids) AND (SELECT high FROM ids)"

_FORGET = [
    f"DELETE FROM {table} WHERE day = ANY(%(days)s)"  # noqa: S608 - our own table names
    for table in (
        "helpdesk_dayqueuefigures",
        "helpdesk_dayservicefigures",
        "helpdesk_dayerrorfigures",
        "helpdesk_daydurations",
    )
]

# Detail requests: automatic mail that asked for something, answered by the customer's next own mail.
_QUEUE_FIGURES = f"""
WITH {_TICKETS},
asked AS (
    SELECT o.ticket_id, o.created_at,
           (SELECT m.created_at FROM helpdesk_message m
            WHERE m.ticket_id = o.ticket_id AND m.direction = 'in' AND m.kind = 'customer'
              AND m.created_at > o.created_at
            ORDER BY m.created_at LIMIT 1) AS answered_at
    FROM mailbridge_outboxmail o JOIN t ON t.id = o.ticket_id
    WHERE {_OF_TICKETS.format("o")} AND o.automatic AND NOT (o.requested = '[]'::jsonb)
),
per_ticket AS (
    SELECT ticket_id, count(*) AS requests, bool_or(answered_at IS NOT NULL) AS answered
    FROM asked GROUP BY ticket_id
),
answers AS (
    INSERT INTO helpdesk_daydurations (day, queue_id, measure, size_class, count, seconds)
    SELECT day, queue_id, 'answer', {_CLASS}, count(*), jsonb_agg(s)
    FROM (
        SELECT t.day, t.queue_id, EXTRACT(EPOCH FROM (a.answered_at - a.created_at))::double precision AS s
        FROM asked a JOIN t ON t.id = a.ticket_id WHERE a.answered_at IS NOT NULL
    ) d
    GROUP BY 1, 2, 3, 4
)
INSERT INTO helpdesk_dayqueuefigures (day, queue_id, tickets, callbacks, requests, asked_tickets,
                                      answered_tickets)
SELECT t.day, t.queue_id, count(*), count(*) FILTER (WHERE t.callback_requested),
       coalesce(sum(p.requests), 0), count(p.ticket_id), count(*) FILTER (WHERE p.answered)
FROM t LEFT JOIN per_ticket p ON p.ticket_id = t.id
GROUP BY t.day, t.queue_id
"""  # noqa: S608 - composed of our own SQL only

# A ticket counts once per service tag (or as untagged) on the day it came and the day it was resolved;
# of the day's new tickets, those a triage run tagged with the service and those whose tag agents removed
# or added (per ticket, however many runs or corrections it had).
_SERVICE_FIGURES = f"""
WITH {_TICKETS},
r AS (
    SELECT id, queue_id, (resolved_at AT TIME ZONE %(tz)s)::date AS day
    FROM helpdesk_ticket
    WHERE resolved_at >= %(since)s AND resolved_at < %(until)s AND merged_into_id IS NULL
      AND (resolved_at AT TIME ZONE %(tz)s)::date = ANY(%(days)s)
),
parts (day, queue_id, service_id, new, resolved, tagged, removed, added) AS (
    SELECT t.day, t.queue_id, l.service_id, count(*), 0, 0, 0, 0
    FROM t LEFT JOIN helpdesk_ticketservice l ON l.ticket_id = t.id AND {_OF_TICKETS.format("l")}
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT r.day, r.queue_id, l.service_id, 0, count(*), 0, 0, 0
    FROM r LEFT JOIN helpdesk_ticketservice l ON l.ticket_id = r.id
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT t.day, t.queue_id, s.id, 0, 0, count(DISTINCT run.ticket_id), 0, 0
    FROM t JOIN triage_triagerun run ON run.ticket_id = t.id AND {_OF_TICKETS.format("run")}
           -- The keys in the run's list of services (what reports' "@> ['key']" finds).
           CROSS JOIN LATERAL jsonb_array_elements(
               CASE WHEN jsonb_typeof(run.result -> 'services') = 'array' THEN run.result -> 'services'
                    ELSE '[]'::jsonb END) AS e (value)
           JOIN helpdesk_servicetag s ON jsonb_typeof(e.value) = 'string' AND s.slug = e.value #>> '{{}}'
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT t.day, t.queue_id, s.id, 0, 0, 0,
           count(DISTINCT c.ticket_id) FILTER (
               WHERE (c.predicted -> 'services') @> jsonb_build_array(s.slug)
                 AND NOT ((c.corrected -> 'services') @> jsonb_build_array(s.slug))),
           count(DISTINCT c.ticket_id) FILTER (
               WHERE (c.corrected -> 'services') @> jsonb_build_array(s.slug)
                 AND NOT ((c.predicted -> 'services') @> jsonb_build_array(s.slug)))
    FROM t JOIN triage_correction c
           ON c.ticket_id = t.id AND {_OF_TICKETS.format("c")} AND c.field = 'services'
           CROSS JOIN helpdesk_servicetag s
    GROUP BY 1, 2, 3
)
INSERT INTO helpdesk_dayservicefigures (day, queue_id, service_id, new, resolved, tagged, removed, added)
SELECT day, queue_id, service_id, sum(new), sum(resolved), sum(tagged), sum(removed), sum(added)
FROM parts
GROUP BY 1, 2, 3
HAVING sum(new) + sum(resolved) + sum(tagged) + sum(removed) + sum(added) > 0
"""  # noqa: S608 - composed of our own SQL only

_ERROR_FIGURES = f"""
WITH {_TICKETS}
INSERT INTO helpdesk_dayerrorfigures (day, queue_id, error_message, tickets)
SELECT day, queue_id, SUBSTRING(TRIM(error_message), 1, 300), count(*)
FROM t WHERE NOT (error_message = '')
GROUP BY 1, 2, 3
"""  # noqa: S608 - composed of our own SQL only

_TICKET_DURATIONS = f"""
WITH {_TICKETS},
d AS (
    SELECT day, queue_id, 'first_response' AS measure,
           EXTRACT(EPOCH FROM (first_response_at - created_at))::double precision AS s
    FROM t WHERE first_response_at IS NOT NULL
    UNION ALL
    SELECT day, queue_id, 'resolution', EXTRACT(EPOCH FROM (resolved_at - created_at))::double precision
    FROM t WHERE resolved_at IS NOT NULL
)
INSERT INTO helpdesk_daydurations (day, queue_id, measure, size_class, count, seconds)
SELECT day, queue_id, measure, {_CLASS}, count(*), jsonb_agg(s)
FROM d
GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - composed of our own SQL only

_COMPUTE = [*_FORGET, _QUEUE_FIGURES, _SERVICE_FIGURES, _ERROR_FIGURES, _TICKET_DURATIONS]
# When only first response or resolution times changed on a day.
_COMPUTE_TIMES = [
    "DELETE FROM helpdesk_daydurations "
    "WHERE day = ANY(%(days)s) AND measure IN ('first_response', 'resolution')",
    _TICKET_DURATIONS,
]

# Take the period's change notes. A note stands for the hour from its moment on, which may end in the
# next local day; notes of transactions not yet committed are not seen, and stay for the next look.
_TAKE_CHANGES = """
WITH taken AS (DELETE FROM helpdesk_reportchange {where} RETURNING at, times_only)
SELECT (v.x AT TIME ZONE %(tz)s)::date, bool_and(taken.times_only)
FROM taken, LATERAL (VALUES (taken.at), (taken.at + interval '59 minutes 59.999999 seconds')) AS v (x)
GROUP BY 1
"""
_IN_PERIOD = "WHERE at >= %(since)s - interval '1 hour' AND at < %(until)s"

# The values at given ranks (0-based, within one size class) of a period's durations.
_AT_RANKS = """
SELECT w.measure, w.size_class, w.rank, (
    SELECT array_agg(x.s ORDER BY x.s) FROM (
        SELECT (e.value)::double precision AS s
        FROM helpdesk_daydurations d, jsonb_array_elements(d.seconds) AS e (value)
        WHERE d.measure = w.measure AND d.size_class = w.size_class
          AND d.day >= %(start)s AND d.day <= %(end)s
          AND (%(queue)s::bigint IS NULL OR d.queue_id = %(queue)s)
        ORDER BY 1
        OFFSET w.rank LIMIT 2
    ) x
)
FROM unnest(%(measures)s::text[], %(classes)s::integer[], %(ranks)s::bigint[])
     AS w (measure, size_class, rank)
"""


def day_figures_available() -> bool:
    """Return whether the dashboards can read the daily summary (PostgreSQL, where the triggers keep it)."""
    return connection.vendor == "postgresql"


def _execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _bounds(days: Iterable[date]) -> dict[str, Any]:
    ordered = sorted(days)
    return {
        "days": ordered,
        "since": reports.local_midnight(ordered[0]),
        "until": reports.local_midnight(ordered[-1] + timedelta(days=1)),
    }


def _lock_for_computing() -> None:
    _execute("SELECT pg_advisory_xact_lock(%(key)s)", {"key": _REFRESH_LOCK})
    # Days of a busy desk are tens of thousands of rows: sort and hash them in memory, and skip the JIT
    # compilation that costs more than it saves at this size. Both end with the transaction.
    _execute("SET LOCAL work_mem = '64MB'", {})
    _execute("SET LOCAL jit = off", {})


def _day_groups(days: set[date]) -> list[list[date]]:
    """Split the days where a week or more lies between two, so each group's tickets have close ids."""
    groups: list[list[date]] = []
    for day in sorted(days):
        if groups and (day - groups[-1][-1]).days <= GROUP_GAP_DAYS:
            groups[-1].append(day)
        else:
            groups.append([day])
    return groups


def _compute(days: set[date], tz: str, statements: Sequence[str] = _COMPUTE) -> None:
    for group in _day_groups(days):
        params = {"tz": tz, **_bounds(group)}
        for statement in statements:
            _execute(statement, params)
    now = timezone.now()
    ReportDay.objects.bulk_create(
        [ReportDay(day=day, time_zone=tz, computed_at=now) for day in sorted(days)],
        update_conflicts=True,
        unique_fields=["day"],
        update_fields=["time_zone", "computed_at"],
    )


def _take_changes(tz: str, start: date | None = None, end: date | None = None) -> dict[date, bool]:
    """Take the change notes of the period (or all): each changed day, and whether only times changed."""
    if start is None or end is None:
        return dict(_execute(_TAKE_CHANGES.format(where=""), {"tz": tz}))
    params = {
        "tz": tz,
        "since": reports.local_midnight(start),
        "until": reports.local_midnight(end + timedelta(days=1)),
    }
    return dict(_execute(_TAKE_CHANGES.format(where=_IN_PERIOD), params))


def _current(days: Iterable[date], tz: str) -> set[date]:
    """Return which of the days were computed (in this time zone)."""
    return set(ReportDay.objects.filter(day__in=list(days), time_zone=tz).values_list("day", flat=True))


def _compute_changed(changed: dict[date, bool], missing: set[date], current: set[date], tz: str) -> int:
    """Compute the missing days, and the changed ones computed before (those with only new times just
    for their durations); a day never computed is computed in full when first shown."""
    full = missing | {day for day, times_only in changed.items() if not times_only and day in current}
    times = {day for day, times_only in changed.items() if times_only and day in current} - full
    if full:
        _compute(full, tz)
    if times:
        _compute(times, tz, _COMPUTE_TIMES)
    return len(full) + len(times)


def day_figures_refresh(*, start: date, end: date) -> int:
    """Compute again the days from start to end that changed or were never computed; return how many."""
    tz = timezone.get_current_timezone_name()
    with transaction.atomic():
        _lock_for_computing()
        # Changes noted just before the period may reach into its first day, and are taken too.
        changed = _take_changes(tz, start, end)
        period = {start + timedelta(days=n) for n in range((end - start).days + 1)}
        current = _current(period | set(changed), tz)
        return _compute_changed(changed, period - current, current, tz)


def day_figures_refresh_changed() -> int:
    """Compute again every day that changed since the last refresh (keeps later looks quick)."""
    tz = timezone.get_current_timezone_name()
    with transaction.atomic():
        _lock_for_computing()
        changed = _take_changes(tz)
        return _compute_changed(changed, set(), _current(changed, tz), tz)


# --- reading ---------------------------------------------------------------------------------------


def _in_scope(rows: QuerySet[Any], scope: reports.ReportScope) -> QuerySet[Any]:
    rows = rows.filter(day__gte=scope.start, day__lte=scope.end)
    return rows.filter(queue_id=scope.queue_id) if scope.queue_id else rows


def day_figures_volume(*, scope: reports.ReportScope) -> list[reports.VolumeRow]:
    """Return new and resolved tickets per day and service, from the summary."""
    slugs = dict(ServiceTag.objects.values_list("pk", "slug"))
    rows = (
        _in_scope(DayServiceFigures.objects.all(), scope)
        .values("day", "service_id")
        .annotate(new_sum=Sum("new"), resolved_sum=Sum("resolved"))
        .filter(Q(new_sum__gt=0) | Q(resolved_sum__gt=0))
        .order_by()
    )
    found = [
        reports.VolumeRow(
            day=row["day"],
            service=slugs.get(row["service_id"], reports.UNTAGGED),
            new=row["new_sum"],
            resolved=row["resolved_sum"],
        )
        for row in rows
    ]
    return sorted(found, key=lambda r: (r["day"], r["service"]))


def day_figures_corrections(*, scope: reports.ReportScope) -> list[reports.CorrectionRow]:
    """Return per service the tickets the classifier tagged and agents corrected, from the summary."""
    sums = {
        row["service_id"]: row
        for row in _in_scope(DayServiceFigures.objects.filter(service__isnull=False), scope)
        .values("service_id")
        .annotate(tagged_sum=Sum("tagged"), removed_sum=Sum("removed"), added_sum=Sum("added"))
        .order_by()
    }
    rows = []
    for pk, slug in sorted(ServiceTag.objects.values_list("pk", "slug"), key=lambda item: item[1]):
        row = sums.get(pk, {})
        rows.append(
            reports.correction_row(
                slug, row.get("tagged_sum") or 0, row.get("removed_sum") or 0, row.get("added_sum") or 0
            )
        )
    return rows


def day_figures_emergency(*, scope: reports.ReportScope) -> list[reports.EmergencyRow]:
    """Return the emergency queue's new tickets per day, from the summary (whatever queue the scope names)."""
    rows = (
        DayQueueFigures.objects.filter(
            day__gte=scope.start, day__lte=scope.end, queue__slug=reports.EMERGENCY_QUEUE, tickets__gt=0
        )
        .values("day")
        .annotate(tickets_sum=Sum("tickets"), callbacks_sum=Sum("callbacks"))
        .order_by("day")
    )
    return [
        reports.EmergencyRow(day=r["day"], tickets=r["tickets_sum"], callbacks=r["callbacks_sum"])
        for r in rows
    ]


def day_figures_top_errors(*, scope: reports.ReportScope, limit: int = 10) -> list[reports.ErrorRow]:
    """Return the error messages found most often in the period's tickets, from the summary."""
    rows = (
        _in_scope(DayErrorFigures.objects.all(), scope)
        .values("error_message")
        .annotate(tickets_sum=Sum("tickets"))
        .order_by("-tickets_sum", "error_message")[:limit]
    )
    return [reports.ErrorRow(error_message=r["error_message"], tickets=r["tickets_sum"]) for r in rows]


# A place in a measure's ordered durations: (measure, size class, rank within the class, from 0).
Place = tuple[str, int, int]


def day_figures_durations(*, scope: reports.ReportScope) -> dict[str, reports.DurationStats]:
    """Return count, median and p90 (seconds) of each duration measure, exactly as percentile_cont would."""
    classes: dict[str, list[tuple[int, int]]] = {measure: [] for measure in DurationMeasure.values}
    for row in (
        _in_scope(DayDurations.objects.all(), scope)
        .values("measure", "size_class")
        .annotate(n=Sum("count"))
        .order_by("measure", "size_class")
    ):
        classes[row["measure"]].append((row["size_class"], row["n"]))
    places = {
        (measure, fraction): _places(measure, counts, fraction)
        for measure, counts in classes.items()
        if counts
        for fraction in reports.PERCENTILES.values()
    }
    values = _values_at(scope, {place for pair in places.values() for place in pair})
    stats = {}
    for measure, counts in classes.items():
        total = sum(n for _class, n in counts)
        found: dict[str, float | None] = {key: None for key in reports.PERCENTILES}
        if total:
            for key, fraction in reports.PERCENTILES.items():
                low, high = (values[place] for place in places[(measure, fraction)])
                found[key] = _interpolate(fraction, total, low, high)
        stats[measure] = reports.DurationStats(count=total, median=found["median"], p90=found["p90"])
    return stats


def _places(measure: str, counts: Sequence[tuple[int, int]], fraction: float) -> tuple[Place, Place]:
    """Return where the two ranks lie that percentile_cont interpolates between (one twice if exact)."""
    position = fraction * (sum(n for _class, n in counts) - 1)
    found = []
    for rank in (math.floor(position), math.ceil(position)):
        before = 0
        for size_class, n in counts:
            if rank < before + n:
                found.append((measure, size_class, rank - before))
                break
            before += n
    return found[0], found[1]


def _values_at(scope: reports.ReportScope, places: set[Place]) -> dict[Place, float]:
    """Read the durations at the places in one query; each read also yields the next rank's value."""
    # A place right after another one in the same class comes with it.
    asked = sorted(p for p in places if p[2] == 0 or (p[0], p[1], p[2] - 1) not in places)
    if not asked:
        return {}
    rows = _execute(
        _AT_RANKS,
        {
            "start": scope.start,
            "end": scope.end,
            "queue": scope.queue_id,
            "measures": [p[0] for p in asked],
            "classes": [p[1] for p in asked],
            "ranks": [p[2] for p in asked],
        },
    )
    values: dict[Place, float] = {}
    for measure, size_class, rank, pair in rows:
        for offset, value in enumerate(pair):
            values[(measure, size_class, rank + offset)] = value
    return values


def _interpolate(fraction: float, total: int, low: float, high: float) -> float:
    """Interpolate between the two ranks' values as percentile_cont does (float8 arithmetic)."""
    position = fraction * (total - 1)
    first = math.floor(position)
    if first == math.ceil(position):
        return low
    return low + (high - low) * (position - first)


class _Summary:
    """The summary's figures of one scope, brought up to date once, before the first figure is read."""

    def __init__(self, scope: reports.ReportScope) -> None:
        self.scope = scope
        self._ready = False
        self._durations: dict[str, reports.DurationStats] | None = None

    def ready(self) -> _Summary:
        if not self._ready:
            day_figures_refresh(start=self.scope.start, end=self.scope.end)
            self._ready = True
        return self

    def durations(self) -> dict[str, reports.DurationStats]:
        if self._durations is None:
            self._durations = day_figures_durations(scope=self.ready().scope)
        return self._durations

    def response_times(self) -> reports.ResponseTimes:
        durations = self.durations()
        return reports.ResponseTimes(
            first_response=durations[DurationMeasure.FIRST_RESPONSE],
            resolution=durations[DurationMeasure.RESOLUTION],
        )

    def detail_requests(self) -> reports.DetailRequests:
        sums = _in_scope(DayQueueFigures.objects.all(), self.ready().scope).aggregate(
            requests=Sum("requests"), tickets=Sum("asked_tickets"), answered=Sum("answered_tickets")
        )
        return reports.DetailRequests(
            requests=sums["requests"] or 0,
            tickets=sums["tickets"] or 0,
            answered_tickets=sums["answered"] or 0,
            answer_time=self.durations()[DurationMeasure.ANSWER],
        )


def day_figures_builders(
    *, scope: reports.ReportScope, now: datetime | None = None
) -> dict[str, Callable[[], object]]:
    """Return how to build each dashboard section from the summary (the backlog from the tickets)."""
    summary = _Summary(scope)
    return {
        "volume": lambda: day_figures_volume(scope=summary.ready().scope),
        "backlog": lambda: reports.report_backlog(queue_id=scope.queue_id, now=now),
        "response_times": summary.response_times,
        "detail_requests": summary.detail_requests,
        "corrections": lambda: day_figures_corrections(scope=summary.ready().scope),
        "emergency": lambda: day_figures_emergency(scope=summary.ready().scope),
        "top_errors": lambda: day_figures_top_errors(scope=summary.ready().scope),
    }
