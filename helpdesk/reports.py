"""Figures for the managers' dashboards, each computed by the database in one or two aggregate queries.

Counted straight from the tickets here; on PostgreSQL `dashboard_figures` reads the same figures from
the daily summary instead (helpdesk.daily_figures), which these functions are the reference for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypedDict, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import NotSupportedError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Aggregate,
    Case,
    Count,
    Expression,
    F,
    FilteredRelation,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Substr, Trim, TruncDate
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Direction, Message, MessageKind, ServiceTag, Ticket, TicketStatus
from mailbridge.models import OutboxMail
from triage.models import Correction, TriageRun

OPEN_STATES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING)
EMERGENCY_QUEUE = "emergency"
UNTAGGED = "untagged"
# Backlog age buckets: (key, lower bound of the age).
AGE_BUCKETS = (
    ("30d+", timedelta(days=30)),
    ("7-30d", timedelta(days=7)),
    ("3-7d", timedelta(days=3)),
    ("1-3d", timedelta(days=1)),
    ("0-1d", timedelta(0)),
)
PERCENTILES = {"median": 0.5, "p90": 0.9}
DEFAULT_DAYS = 30
MAX_DAYS = 366
# Dates outside this range are typing errors, and would overflow the conversion to aware datetimes.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
DASHBOARD_GROUPS = ("managers", "admins")


def user_reads_dashboards(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Return whether the user may read the dashboards (managers, admins, superusers)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return user.groups.filter(name__in=DASHBOARD_GROUPS).exists()  # type: ignore[attr-defined]


def scope_problem(*, start: date, end: date) -> str:
    """Return what is wrong with a period (empty when it is fine)."""
    if not (FIRST_DAY <= start <= LAST_DAY and FIRST_DAY <= end <= LAST_DAY):
        return _("Dates must lie between %(first)s and %(last)s.") % {"first": FIRST_DAY, "last": LAST_DAY}
    if end < start:
        return _("The period ends before it starts.")
    if (end - start).days >= MAX_DAYS:
        return _("A period has at most %(days)s days.") % {"days": MAX_DAYS}
    return ""


def scope_default_period(*, today: date | None = None) -> tuple[date, date]:
    """Return the default period: the last 30 days, today included."""
    end = today or timezone.localdate()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


# --- database functions ----------------------------------------------------------------------------


class Seconds(Func):
    """The seconds from `start` to `end` (two datetime expressions), as a float; NULL if either is."""

    arity = 2
    output_field = FloatField()

    def __init__(self, end: Expression | F, start: Expression | F) -> None:
        super().__init__(end, start)

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        raise NotSupportedError(f"Seconds is not implemented for {connection.vendor}")

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> Any:
        template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"
        return super().as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> Any:
        template = "((julianday(%(expressions)s)) * 86400.0)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile of an ordered set (NULLs are ignored, like every aggregate)."""

    function = "percentile_cont"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Expression | F, *, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"a percentile is a fraction between 0 and 1, got {fraction}")
        # A float literal, not a parameter: it is ours, and PostgreSQL wants a constant here.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


# --- shapes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportScope:
    """A period of whole local days (both included) and optionally one queue."""

    start: date
    end: date
    queue_id: int | None = None

    @property
    def since(self) -> datetime:
        return local_midnight(self.start)

    @property
    def until(self) -> datetime:
        return local_midnight(self.end + timedelta(days=1))

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


class VolumeRow(TypedDict):
    day: date
    service: str
    new: int
    resolved: int


class BacklogRow(TypedDict):
    status: str
    queue: str
    age: str
    tickets: int


class DurationStats(TypedDict):
    count: int
    median: float | None
    p90: float | None


class ResponseTimes(TypedDict):
    first_response: DurationStats
    resolution: DurationStats


class DetailRequests(TypedDict):
    requests: int
    tickets: int
    answered_tickets: int
    answer_time: DurationStats


class CorrectionRow(TypedDict):
    service: str
    tagged: int
    removed: int
    added: int
    corrected_share: float | None
    precision: float | None


class EmergencyRow(TypedDict):
    day: date
    tickets: int
    callbacks: int


class ErrorRow(TypedDict):
    error_message: str
    tickets: int


class DashboardFigures(TypedDict, total=False):
    scope: ReportScope
    volume: list[VolumeRow]
    backlog: list[BacklogRow]
    response_times: ResponseTimes
    detail_requests: DetailRequests
    corrections: list[CorrectionRow]
    emergency: list[EmergencyRow]
    top_errors: list[ErrorRow]


# --- helpers ---------------------------------------------------------------------------------------


def local_midnight(day: date) -> datetime:
    """Return the moment the local day starts."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _tickets_created(scope: ReportScope) -> QuerySet[Ticket]:
    # Merged tickets are duplicates of another ticket: they would count the same problem twice.
    tickets = Ticket.objects.filter(
        created_at__gte=scope.since, created_at__lt=scope.until, merged_into__isnull=True
    )
    return tickets.filter(queue_id=scope.queue_id) if scope.queue_id else tickets


def _duration_stats(
    queryset: QuerySet[Any], seconds: Mapping[str, Expression], extra: Mapping[str, Aggregate] | None = None
) -> tuple[dict[str, DurationStats], dict[str, Any]]:
    """Return count, median and p90 of each seconds expression (over its non-NULL rows), and the extras."""
    aggregates: dict[str, Any] = dict(extra or {})
    postgresql = connections[queryset.db].vendor == "postgresql"
    for name, expression in seconds.items() if postgresql else ():
        aggregates[f"{name}__count"] = Count(expression)
        for key, fraction in PERCENTILES.items():
            aggregates[f"{name}__{key}"] = PercentileCont(expression, fraction=fraction)
    row = queryset.order_by().aggregate(**aggregates) if aggregates else {}
    if not postgresql:
        return {name: _duration_stats_by_offset(queryset, e) for name, e in seconds.items()}, row
    stats = {
        name: DurationStats(
            count=row[f"{name}__count"], median=row[f"{name}__median"], p90=row[f"{name}__p90"]
        )
        for name in seconds
    }
    return stats, row


def _duration_stats_by_offset(queryset: QuerySet[Any], expression: Expression) -> DurationStats:
    """The portable way (SQLite): count, then read the one or two rows around each percentile by offset."""
    values = queryset.annotate(_seconds=expression).filter(_seconds__isnull=False)
    count = values.order_by().count()
    ordered = values.order_by("_seconds").values_list("_seconds", flat=True)
    found: dict[str, float | None] = {}
    for key, fraction in PERCENTILES.items():
        if count == 0:
            found[key] = None
            continue
        # Linear interpolation between the closest ranks, as percentile_cont does.
        position = fraction * (count - 1)
        low = math.floor(position)
        pair = list(ordered[low : low + 2])
        upper = pair[1] if len(pair) > 1 else pair[0]
        found[key] = pair[0] + (upper - pair[0]) * (position - low)
    return DurationStats(count=count, median=found["median"], p90=found["p90"])


def _mentions(path: str, slug: str, *, vendor: str) -> Q:
    """Match a JSON list at `path` holding this service key."""
    if vendor == "postgresql":
        return Q(**{f"{path}__contains": [slug]})  # jsonb containment, exact
    # Elsewhere the list's JSON text: quoted, so 'email' never matches 'emails'.
    return Q(**{f"{path}__icontains": f'"{slug}"'})


def _id_bounds(tickets: QuerySet[Ticket]) -> tuple[int, int] | None:
    """Return the smallest and largest id of the tickets (None when there are none).

    Joins to a ticket's rows elsewhere (tags, runs, mail) also get this range on their ticket_id:
    redundant for the result, it lets the database read just those rows through their ticket_id
    index instead of scanning the whole table, since a period's tickets have neighbouring ids.
    """
    # "+ 0": plain MIN(id) tempts PostgreSQL to walk the primary key from the oldest ticket onwards.
    row = tickets.order_by().aggregate(low=Min(F("pk") + 0), high=Max(F("pk") + 0))
    return None if row["low"] is None else (row["low"], row["high"])


def _within(bounds: tuple[int, int], relation: str = "ticket") -> Q:
    # Foreign keys have no range lookup; two comparisons say the same.
    return Q(**{f"{relation}__gte": bounds[0], f"{relation}__lte": bounds[1]})


def _service_slugs() -> dict[int, str]:
    return dict(ServiceTag.objects.values_list("pk", "slug"))


# --- figures ---------------------------------------------------------------------------------------


def _by_day_and_service(
    tickets: QuerySet[Ticket], field: str, slugs: dict[int, str]
) -> dict[tuple[date, str], int]:
    bounds = _id_bounds(tickets)
    if bounds is None:
        return {}
    links = FilteredRelation("service_links", condition=_within(bounds, "service_links__ticket"))
    rows = (
        tickets.annotate(links=links)
        .order_by()
        .values(day=TruncDate(field), tag_id=F("links__service_id"))
        .annotate(tickets=Count("pk"))
    )
    return {(row["day"], slugs.get(row["tag_id"], UNTAGGED)): row["tickets"] for row in rows}


def report_volume_by_day(*, scope: ReportScope) -> list[VolumeRow]:
    """Return new and resolved tickets per day and service (a ticket counts once for each service)."""
    slugs = _service_slugs()
    created = _by_day_and_service(_tickets_created(scope), "created_at", slugs)
    resolved_tickets = Ticket.objects.filter(
        resolved_at__gte=scope.since, resolved_at__lt=scope.until, merged_into__isnull=True
    )
    if scope.queue_id:
        resolved_tickets = resolved_tickets.filter(queue_id=scope.queue_id)
    resolved = _by_day_and_service(resolved_tickets, "resolved_at", slugs)
    keys = sorted(set(created) | set(resolved))
    return [
        VolumeRow(
            day=day,
            service=service,
            new=created.get((day, service), 0),
            resolved=resolved.get((day, service), 0),
        )
        for day, service in keys
    ]


def report_backlog(*, queue_id: int | None = None, now: datetime | None = None) -> list[BacklogRow]:
    """Return the tickets not yet resolved, counted by status, queue and age."""
    now = now or timezone.now()
    age = Case(
        *(When(created_at__lte=now - bound, then=Value(key)) for key, bound in AGE_BUCKETS[:-1]),
        default=Value(AGE_BUCKETS[-1][0]),
    )
    tickets = Ticket.objects.filter(status__in=OPEN_STATES)
    if queue_id:
        tickets = tickets.filter(queue_id=queue_id)
    rows = (
        tickets.order_by()
        .values("status", queue_key=F("queue__slug"), age=age)
        # COUNT(*), not COUNT(id): the backlog index holds every column this query reads.
        .annotate(tickets=Count("*"))
    )
    youngest_first = [key for key, _bound in reversed(AGE_BUCKETS)]
    found = [
        BacklogRow(status=r["status"], queue=r["queue_key"], age=r["age"], tickets=r["tickets"]) for r in rows
    ]
    return sorted(found, key=lambda r: (r["queue"], r["status"], youngest_first.index(r["age"])))


def report_response_times(*, scope: ReportScope) -> ResponseTimes:
    """Return first-response and resolution times (seconds) of the period's tickets: count, median, p90."""
    stats, _extra = _duration_stats(
        _tickets_created(scope),
        {
            "first_response": Seconds(F("first_response_at"), F("created_at")),
            "resolution": Seconds(F("resolved_at"), F("created_at")),
        },
    )
    return ResponseTimes(first_response=stats["first_response"], resolution=stats["resolution"])


def report_detail_requests(*, scope: ReportScope) -> DetailRequests:
    """Return how many of the period's tickets were asked for details, how many answered, and how fast."""
    scoped = _tickets_created(scope)
    bounds = _id_bounds(scoped)
    if bounds is None:
        return DetailRequests(
            requests=0,
            tickets=0,
            answered_tickets=0,
            answer_time=DurationStats(count=0, median=None, p90=None),
        )
    answer = (
        Message.objects.filter(
            ticket_id=OuterRef("ticket_id"),
            direction=Direction.IN,
            kind=MessageKind.CUSTOMER,
            created_at__gt=OuterRef("created_at"),
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    requests = (
        OutboxMail.objects.filter(_within(bounds), automatic=True, ticket__in=scoped.values("pk"))
        .exclude(requested=[])
        .annotate(answered_at=Subquery(answer))
    )
    stats, counts = _duration_stats(
        requests,
        {"answer": Seconds(F("answered_at"), F("created_at"))},
        extra={
            "requests": Count("pk"),
            "tickets": Count("ticket_id", distinct=True),
            "answered_tickets": Count("ticket_id", distinct=True, filter=Q(answered_at__isnull=False)),
        },
    )
    return DetailRequests(
        requests=counts["requests"],
        tickets=counts["tickets"],
        answered_tickets=counts["answered_tickets"],
        answer_time=stats["answer"],
    )


def report_corrections(*, scope: ReportScope) -> list[CorrectionRow]:
    """Return per service how many tickets the classifier tagged and agents corrected (its real precision)."""
    slugs = sorted(_service_slugs().values())
    scoped = _tickets_created(scope)
    bounds = _id_bounds(scoped)
    if bounds is None:
        return [correction_row(slug, 0, 0, 0) for slug in slugs]
    vendor = connections[scoped.db].vendor
    in_scope = _within(bounds) & Q(ticket__in=scoped.values("pk"))
    # A ticket has a run per customer message: count tickets, not runs.
    runs = TriageRun.objects.filter(in_scope).order_by()
    tagged = runs.aggregate(
        **{
            f"tagged{i}": Count(
                "ticket_id", distinct=True, filter=_mentions("result__services", slug, vendor=vendor)
            )
            for i, slug in enumerate(slugs)
        }
    )
    changes: dict[str, Any] = {}
    for i, slug in enumerate(slugs):
        predicted = _mentions("predicted__services", slug, vendor=vendor)
        corrected = _mentions("corrected__services", slug, vendor=vendor)
        changes[f"removed{i}"] = Count("ticket_id", distinct=True, filter=predicted & ~corrected)
        changes[f"added{i}"] = Count("ticket_id", distinct=True, filter=corrected & ~predicted)
    changed = Correction.objects.filter(in_scope, field="services").order_by().aggregate(**changes)
    return [
        correction_row(slug, tagged[f"tagged{i}"], changed[f"removed{i}"], changed[f"added{i}"])
        for i, slug in enumerate(slugs)
    ]


def correction_row(service: str, tagged: int, removed: int, added: int) -> CorrectionRow:
    """Return a service's correction figures with the corrected share and precision they give."""
    share = removed / tagged if tagged else None
    return CorrectionRow(
        service=service,
        tagged=tagged,
        removed=removed,
        added=added,
        corrected_share=share,
        precision=None if share is None else 1 - share,
    )


def report_emergency_by_day(*, scope: ReportScope) -> list[EmergencyRow]:
    """Return the emergency queue's new tickets per day (whatever queue the scope names)."""
    tickets = Ticket.objects.filter(
        created_at__gte=scope.since,
        created_at__lt=scope.until,
        merged_into__isnull=True,
        queue__slug=EMERGENCY_QUEUE,
    )
    rows = (
        tickets.order_by()
        .values(day=TruncDate("created_at"))
        .annotate(tickets=Count("pk"), callbacks=Count("pk", filter=Q(callback_requested=True)))
        .order_by("day")
    )
    return [EmergencyRow(day=r["day"], tickets=r["tickets"], callbacks=r["callbacks"]) for r in rows]


def report_top_errors(*, scope: ReportScope, limit: int = 10) -> list[ErrorRow]:
    """Return the error messages triage found most often in the period's tickets."""
    rows = (
        _tickets_created(scope)
        .exclude(error_message="")
        .order_by()
        .values(message=Substr(Trim("error_message"), 1, 300))
        .annotate(tickets=Count("pk"))
        .order_by("-tickets", "message")[:limit]
    )
    return [ErrorRow(error_message=r["message"], tickets=r["tickets"]) for r in rows]


SECTIONS = (
    "volume",
    "backlog",
    "response_times",
    "detail_requests",
    "corrections",
    "emergency",
    "top_errors",
)


def dashboard_figures(
    *, scope: ReportScope, now: datetime | None = None, sections: Collection[str] = SECTIONS
) -> DashboardFigures:
    """Return the dashboard figures (all, or the named sections) for the period and queue."""
    # Imported here: the summary module builds on this one's shapes and figures.
    from helpdesk import daily_figures

    builders: dict[str, Callable[[], object]]
    if daily_figures.day_figures_available():
        builders = daily_figures.day_figures_builders(scope=scope, now=now)
    else:
        builders = ticket_figure_builders(scope=scope, now=now)
    figures = {name: build() for name, build in builders.items() if name in sections}
    return cast(DashboardFigures, {"scope": scope, **figures})


def ticket_figure_builders(
    *, scope: ReportScope, now: datetime | None = None
) -> dict[str, Callable[[], object]]:
    """Return how to build each dashboard section straight from the tickets (on any database)."""
    return {
        "volume": lambda: report_volume_by_day(scope=scope),
        "backlog": lambda: report_backlog(queue_id=scope.queue_id, now=now),
        "response_times": lambda: report_response_times(scope=scope),
        "detail_requests": lambda: report_detail_requests(scope=scope),
        "corrections": lambda: report_corrections(scope=scope),
        "emergency": lambda: report_emergency_by_day(scope=scope),
        "top_errors": lambda: report_top_errors(scope=scope),
    }
