"""Dashboard figures: each one checked against a small week of tickets whose numbers are known."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from helpdesk import reports, services
from helpdesk.models import Message, Queue, TagSource, Ticket, TicketStatus
from mailbridge.models import OutboxKind, OutboxMail
from tests.factories import CustomerFactory, message_data
from triage.models import Correction, TriageRun

pytestmark = pytest.mark.django_db

ZURICH = ZoneInfo("Europe/Zurich")
HOUR = 3600.0
WEEK = reports.ReportScope(start=date(2026, 3, 2), end=date(2026, 3, 8))
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=ZURICH)


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=ZURICH)


def ticket(
    created: datetime,
    *,
    queue: str = "support",
    status: str = TicketStatus.NEW,
    first_response_hours: float | None = None,
    resolved: datetime | None = None,
    tags: tuple[str, ...] = (),
    **fields: object,
) -> Ticket:
    made = services.ticket_open(
        customer=CustomerFactory.create(), queue=Queue.objects.get(slug=queue), message=message_data()
    )
    if tags:
        services.ticket_set_services(ticket=made, services=list(tags), source=TagSource.MODEL)
    first = created + timedelta(hours=first_response_hours) if first_response_hours is not None else None
    Ticket.objects.filter(pk=made.pk).update(
        created_at=created, first_response_at=first, resolved_at=resolved, status=status, **fields
    )
    Message.objects.filter(ticket=made).update(created_at=created)
    made.refresh_from_db()
    return made


def triaged(target: Ticket, predicted: list[str], corrected: list[str] | None = None) -> None:
    message = target.messages.get()
    TriageRun.objects.create(
        ticket=target, message=message, model_version="v1", result={"services": predicted}
    )
    if corrected is not None:
        Correction.objects.create(
            ticket=target,
            field="services",
            predicted={"services": predicted},
            corrected={"services": corrected},
            body=message.text,
            labels={"services": corrected},
        )


def detail_request(target: Ticket, sent: datetime, requested: list[str]) -> OutboxMail:
    return OutboxMail.objects.create(
        ticket=target,
        kind=OutboxKind.ACKNOWLEDGEMENT,
        from_address="support@hosting.example",
        recipient="c@example.ch",
        to=["c@example.ch"],
        subject="Ihre Anfrage",
        text="Bitte senden Sie die Fehlermeldung.",
        message_id=f"<{target.pk}.{sent.timestamp()}@hosting.example>",
        requested=requested,
        created_at=sent,
    )


def customer_answer(target: Ticket, when: datetime) -> None:
    message = services.message_add(ticket=target, message=message_data(subject="Re: Ihre Anfrage"))
    Message.objects.filter(pk=message.pk).update(created_at=when)


Figure = Callable[..., Any]


@pytest.fixture(params=["tickets", "summary"])
def figure(request: pytest.FixtureRequest) -> Figure:
    """Read one dashboard section straight from the tickets, or from the daily summary (PostgreSQL)."""
    if request.param == "summary" and connection.vendor != "postgresql":
        pytest.skip("the daily summary is kept on PostgreSQL only")

    def read(section: str, scope: reports.ReportScope = WEEK) -> Any:
        if request.param == "tickets":
            return reports.ticket_figure_builders(scope=scope, now=NOW)[section]()
        figures: dict[str, Any] = dict(reports.dashboard_figures(scope=scope, now=NOW, sections=[section]))
        return figures[section]

    return read


@dataclass
class Week:
    t1: Ticket
    t2: Ticket
    t3: Ticket
    t4: Ticket
    t5: Ticket


@pytest.fixture
def week() -> Week:
    """Five tickets of the week 2 to 8 March 2026, one merged duplicate and one old open ticket."""
    error_9999 = "Error 9999 - no account with this name"
    t1 = ticket(
        at(2, 9), tags=("email",), first_response_hours=1, resolved=at(3, 9), status=TicketStatus.RESOLVED,
        error_message="550 mailbox full",
    )  # fmt: skip
    t2 = ticket(
        at(2, 10),
        tags=("email", "website"),
        first_response_hours=2,
        resolved=at(4, 10),
        status=TicketStatus.CLOSED,
    )
    t3 = ticket(at(3, 8), first_response_hours=3, status=TicketStatus.OPEN)
    t4 = ticket(
        at(3, 9), queue="emergency", first_response_hours=4, callback_requested=True, error_message=error_9999
    )
    t5 = ticket(at(4, 8), status=TicketStatus.WAITING, error_message=error_9999)
    duplicate = ticket(at(2, 11), tags=("email",), first_response_hours=10)
    Ticket.objects.filter(pk=duplicate.pk).update(
        merged_into=t1, status=TicketStatus.CLOSED, resolved_at=at(2, 12)
    )
    ticket(at(20, 8, month=1))  # still open, from January
    return Week(t1, t2, t3, t4, t5)


def test_volume_counts_new_and_resolved_per_day_and_service(week: Week, figure: Figure):
    rows = {(r["day"], r["service"]): (r["new"], r["resolved"]) for r in figure("volume")}
    assert rows == {
        (date(2026, 3, 2), "email"): (2, 0),
        (date(2026, 3, 2), "website"): (1, 0),
        (date(2026, 3, 3), "email"): (0, 1),
        (date(2026, 3, 3), reports.UNTAGGED): (2, 0),
        (date(2026, 3, 4), "email"): (0, 1),
        (date(2026, 3, 4), "website"): (0, 1),
        (date(2026, 3, 4), reports.UNTAGGED): (1, 0),
    }


def test_days_follow_local_time_not_utc(week: Week, figure: Figure):
    # Given a ticket at 00:30 in Zurich on 5 March, which is still 4 March in UTC
    ticket(datetime(2026, 3, 5, 0, 30, tzinfo=ZURICH))
    rows = figure("volume")
    assert [r["new"] for r in rows if r["day"] == date(2026, 3, 5)] == [1]


def test_queue_scope_limits_every_period_figure(week: Week, figure: Figure):
    support = Queue.objects.get(slug="support")
    scope = reports.ReportScope(start=WEEK.start, end=WEEK.end, queue_id=support.pk)
    new = sum(r["new"] for r in figure("volume", scope))
    assert new == 5  # t4 is in the emergency queue
    assert figure("response_times", scope)["first_response"]["count"] == 3


def test_backlog_counts_open_tickets_by_status_queue_and_age(week: Week):
    rows = {(r["queue"], r["status"], r["age"]): r["tickets"] for r in reports.report_backlog(now=NOW)}
    assert rows == {
        ("support", "open", "7-30d"): 1,  # t3
        ("emergency", "new", "7-30d"): 1,  # t4
        ("support", "waiting", "3-7d"): 1,  # t5
        ("support", "new", "30d+"): 1,  # January's
    }


def test_response_and_resolution_times_have_median_and_p90(week: Week, figure: Figure):
    times = figure("response_times")
    # First responses after 1, 2, 3 and 4 hours; the merged duplicate's 10 hours do not count.
    assert times["first_response"]["count"] == 4
    assert times["first_response"]["median"] == pytest.approx(2.5 * HOUR)
    assert times["first_response"]["p90"] == pytest.approx(3.7 * HOUR)
    # Resolved after 24 and 48 hours.
    assert times["resolution"]["count"] == 2
    assert times["resolution"]["median"] == pytest.approx(36 * HOUR)
    assert times["resolution"]["p90"] == pytest.approx(45.6 * HOUR)


def test_empty_periods_have_no_times(figure: Figure):
    times = figure("response_times")
    assert times["first_response"] == {"count": 0, "median": None, "p90": None}


def test_detail_requests_count_answers_and_their_speed(week: Week, figure: Figure):
    # Given two detail requests (t3 answered an hour later, t5 never) and a plain acknowledgement
    detail_request(week.t3, at(3, 8) + timedelta(minutes=5), ["request_error_message"])
    customer_answer(week.t3, at(3, 9) + timedelta(minutes=5))
    detail_request(week.t5, at(4, 8) + timedelta(minutes=1), ["request_problem_description"])
    detail_request(week.t1, at(2, 9) + timedelta(minutes=1), [])
    # Then
    asked = figure("detail_requests")
    assert (asked["requests"], asked["tickets"], asked["answered_tickets"]) == (2, 2, 1)
    assert asked["answer_time"]["count"] == 1
    assert asked["answer_time"]["median"] == pytest.approx(HOUR)


def test_corrections_give_the_classifiers_real_precision_per_service(week: Week, figure: Figure):
    triaged(week.t1, ["email"])
    triaged(week.t2, ["email", "website"], corrected=["website"])
    triaged(week.t3, ["email"], corrected=["ftp"])
    rows = {r["service"]: r for r in figure("corrections")}
    assert (rows["email"]["tagged"], rows["email"]["removed"], rows["email"]["added"]) == (3, 2, 0)
    assert rows["email"]["precision"] == pytest.approx(1 / 3)
    assert rows["website"]["precision"] == 1
    assert (rows["ftp"]["tagged"], rows["ftp"]["added"], rows["ftp"]["corrected_share"]) == (0, 1, None)
    assert set(rows) == {"backup", "billing", "controlpanel", "database", "domain", "email", "ftp", "website"}


def test_emergency_volume_per_day(week: Week, figure: Figure):
    rows = figure("emergency")
    assert rows == [{"day": date(2026, 3, 3), "tickets": 1, "callbacks": 1}]


def test_top_errors_are_ranked_by_tickets(week: Week, figure: Figure):
    rows = figure("top_errors")
    assert rows == [
        {"error_message": "Error 9999 - no account with this name", "tickets": 2},
        {"error_message": "550 mailbox full", "tickets": 1},
    ]


def test_figures_cost_a_fixed_number_of_queries(week: Week):
    # Given the week's figures and how many queries they took
    with CaptureQueriesContext(connection) as before:
        reports.dashboard_figures(scope=WEEK, now=NOW)
    # When the week gets twice as many tickets
    for day in range(2, 8):
        ticket(at(day, 14), tags=("ftp",), first_response_hours=1)
    with CaptureQueriesContext(connection) as after:
        figures = reports.dashboard_figures(scope=WEEK, now=NOW)
    # Then the figures grow, the queries do not: nothing loops over tickets in Python
    assert sum(r["new"] for r in figures["volume"] if r["service"] == "ftp") == 6
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_portable_percentiles_match_postgresqls(week: Week):
    if connection.vendor != "postgresql":
        pytest.skip("compares with PostgreSQL's percentile_cont")
    tickets = Ticket.objects.filter(merged_into__isnull=True)
    seconds = reports.Seconds(F("first_response_at"), F("created_at"))
    native = reports._duration_stats(tickets, {"x": seconds})[0]["x"]
    portable = reports._duration_stats_by_offset(tickets, seconds)
    assert portable == pytest.approx(native)


def test_the_portable_percentile_interpolates_between_ranks(week: Week):
    seconds = reports.Seconds(F("first_response_at"), F("created_at"))
    stats = reports._duration_stats_by_offset(Ticket.objects.filter(merged_into__isnull=True), seconds)
    assert stats == {"count": 4, "median": pytest.approx(2.5 * HOUR), "p90": pytest.approx(3.7 * HOUR)}


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        (date(2026, 1, 1), date(2026, 1, 31), True),
        (date(2026, 1, 31), date(2026, 1, 1), False),
        (date(2025, 1, 1), date(2026, 1, 2), False),
        (date(1, 1, 1), date(1, 1, 2), False),
    ],
)
def test_periods_are_checked(start: date, end: date, ok: bool):
    assert (reports.scope_problem(start=start, end=end) == "") is ok


def test_dashboards_are_for_managers_admins_and_superusers():
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    agent, manager, boss = UserFactory.create(), UserFactory.create(), UserFactory.create(is_superuser=True)
    agent.groups.add(Group.objects.get(name="agents"))
    manager.groups.add(Group.objects.get(name="managers"))
    assert [reports.user_reads_dashboards(user=u) for u in (agent, manager, boss)] == [False, True, True]
