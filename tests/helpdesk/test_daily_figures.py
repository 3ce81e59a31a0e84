"""The daily summary gives exactly the figures the tickets give, after any kind of change (PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from helpdesk import daily_figures, reports, services, tasks
from helpdesk.models import (
    DayDurations,
    DayQueueFigures,
    MessageKind,
    Queue,
    ReportChange,
    ReportDay,
    ServiceTag,
    TagSource,
    Ticket,
    TicketStatus,
)
from mailbridge.models import OutboxKind, OutboxMail
from tests.factories import CustomerFactory, message_data
from triage.models import Correction, TriageRun

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the summary is kept on PostgreSQL"),
]

PERIOD_DAYS = 20


def scopes() -> list[reports.ReportScope]:
    end = timezone.localdate()
    start = end - timedelta(days=PERIOD_DAYS - 1)
    queues = [None, *Queue.objects.order_by("pk").values_list("pk", flat=True)]
    return [reports.ReportScope(start=start, end=end, queue_id=queue) for queue in queues]


def assert_summary_matches_tickets() -> None:
    for scope in scopes():
        summary: dict[str, Any] = dict(reports.dashboard_figures(scope=scope))
        tickets = {name: build() for name, build in reports.ticket_figure_builders(scope=scope).items()}
        for name, expected in tickets.items():
            assert summary[name] == expected, (name, scope)


def new_ticket(queue: str = "support", days_ago: int = 0, tags: tuple[str, ...] = ("email",)) -> Ticket:
    made = services.ticket_open(
        customer=CustomerFactory.create(), queue=Queue.objects.get(slug=queue), message=message_data()
    )
    if days_ago:
        created = timezone.now() - timedelta(days=days_ago)
        Ticket.objects.filter(pk=made.pk).update(created_at=created)
        made.messages.update(created_at=created)
        made.refresh_from_db()
    services.ticket_set_services(ticket=made, services=list(tags), source=TagSource.MODEL)
    return made


def detail_request(ticket: Ticket, requested: list[str]) -> OutboxMail:
    return OutboxMail.objects.create(
        ticket=ticket, kind=OutboxKind.ACKNOWLEDGEMENT, from_address="support@hosting.example",
        recipient="c@example.ch", to=["c@example.ch"], subject="Ihre Anfrage", text="Fehlermeldung?",
        message_id=f"<{ticket.pk}.{OutboxMail.objects.count()}@hosting.example>", requested=requested,
        created_at=ticket.created_at + timedelta(minutes=1),
    )  # fmt: skip


def triage_fields(ticket: Ticket, **changes: object) -> services.TriageFields:
    names = services.TriageFields.__dataclass_fields__
    return services.TriageFields(**{name: changes.get(name, getattr(ticket, name)) for name in names})  # type: ignore[arg-type]


@pytest.fixture
def desk() -> dict[str, Ticket]:
    """Tickets of the last days in all three queues, with a first look at the dashboards already taken."""
    found = {
        "today": new_ticket(tags=("email", "website")),
        "old": new_ticket(days_ago=5, tags=("ftp",)),
        "urgent": new_ticket("emergency", days_ago=2, tags=()),
        "bill": new_ticket("billing", days_ago=9, tags=("billing",)),
        "before": new_ticket(days_ago=PERIOD_DAYS + 3),
        "done": new_ticket(days_ago=6, tags=("website",)),
    }
    services.ticket_set_status(ticket=found["done"], status=TicketStatus.RESOLVED)
    assert_summary_matches_tickets()
    return found


Step = Callable[[dict[str, Ticket]], object]

STEPS: dict[str, Step] = {
    "new ticket": lambda d: new_ticket(days_ago=3, tags=("domain",)),
    "tags corrected by an agent": lambda d: services.ticket_set_services(
        ticket=d["old"], services=["ftp", "website"]
    ),
    "tags of a resolved ticket corrected": lambda d: services.ticket_set_services(
        ticket=d["done"], services=["website", "database"]
    ),
    "tags all removed": lambda d: services.ticket_set_services(ticket=d["today"], services=[]),
    "first response": lambda d: services.message_add(
        ticket=d["old"], message=message_data(kind=MessageKind.AGENT_REPLY, direction="out")
    ),
    "resolved": lambda d: services.ticket_set_status(ticket=d["old"], status=TicketStatus.RESOLVED),
    "reopened by the customer's mail": lambda d: (
        services.ticket_set_status(ticket=d["urgent"], status=TicketStatus.CLOSED),
        services.message_add(ticket=d["urgent"], message=message_data()),
    ),
    "moved to another queue": lambda d: services.ticket_move(
        ticket=d["old"], queue=Queue.objects.get(slug="emergency")
    ),
    "merged": lambda d: services.ticket_merge(source=d["bill"], target=d["today"]),
    "error message and callback found": lambda d: services.ticket_record_triage(
        ticket=d["urgent"],
        fields=triage_fields(d["urgent"], error_message="Error 9999 - no account", callback_requested=True),
    ),
    "triage run": lambda d: TriageRun.objects.create(
        ticket=d["old"],
        message=d["old"].messages.earliest("created_at"),
        model_version="v1",
        result={"services": ["ftp"]},
    ),
    "agent's correction": lambda d: Correction.objects.create(
        ticket=d["old"],
        field="services",
        predicted={"services": ["ftp"]},
        corrected={"services": ["website"]},
        body="",
        labels={},
    ),
    "detail request and answer": lambda d: (
        detail_request(d["urgent"], ["request_error_message"]),
        services.message_add(ticket=d["urgent"], message=message_data(subject="Re: Anfrage")),
    ),
    "detail request withdrawn": lambda d: OutboxMail.objects.filter(ticket=d["today"]).update(requested=[]),
    "backdated out of the period": lambda d: Ticket.objects.filter(pk=d["old"].pk).update(
        created_at=timezone.now() - timedelta(days=PERIOD_DAYS + 1)
    ),
    "backdated into the period": lambda d: Ticket.objects.filter(pk=d["before"].pk).update(
        created_at=timezone.now() - timedelta(days=4)
    ),
    "deleted": lambda d: d["today"].delete(),
    "service renamed": lambda d: ServiceTag.objects.filter(slug="ftp").update(slug="sftp"),
    "service added": lambda d: ServiceTag.objects.create(slug="voip", name="VoIP"),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_summary_follows_every_kind_of_change(desk: dict[str, Ticket], step: str):
    # Given the dashboards were looked at, and a detail request was sent for today's ticket
    detail_request(desk["today"], ["request_callback_number"])
    assert_summary_matches_tickets()
    # When the step changes tickets, Then the next look gives what the tickets give
    STEPS[step](desk)
    assert_summary_matches_tickets()


def test_all_changes_one_after_the_other(desk: dict[str, Ticket]):
    for step in STEPS.values():
        step(desk)
        assert_summary_matches_tickets()


def test_percentiles_are_those_of_percentile_cont_to_the_last_digit():
    # Given 400 tickets of one day, first answered from a clock skew before to weeks after, to the microsecond
    rng = random.Random(7)
    day = timezone.localdate() - timedelta(days=1)
    created = reports.local_midnight(day) + timedelta(hours=10)
    tickets = [new_ticket(tags=()) for _ in range(400)]
    for made in tickets:
        seconds = rng.choice([-5.0, 0.25, 1.0]) if rng.random() < 0.05 else 10 ** rng.uniform(0, 6.5)
        delay = timedelta(seconds=seconds, microseconds=rng.randrange(1_000_000))
        Ticket.objects.filter(pk=made.pk).update(created_at=created, first_response_at=created + delay)
    scope = reports.ReportScope(start=day, end=day)
    # When both ways compute the percentiles
    summary = reports.dashboard_figures(scope=scope, sections=["response_times"])["response_times"]
    tickets_say = reports.report_response_times(scope=scope)
    # Then they agree exactly, and the durations really spread over many size classes
    assert summary == tickets_say
    assert DayDurations.objects.filter(day=day, measure="first_response").count() > 20


def test_only_changed_days_are_computed_again(desk: dict[str, Ticket]):
    end = timezone.localdate()
    start = end - timedelta(days=PERIOD_DAYS - 1)
    assert daily_figures.day_figures_refresh(start=start, end=end) == 0
    Ticket.objects.filter(pk=desk["old"].pk).update(first_response_at=timezone.now())
    assert daily_figures.day_figures_refresh(start=start, end=end) in (1, 2)  # an hour may span midnight
    assert daily_figures.day_figures_refresh(start=start, end=end) == 0


def test_a_new_response_or_resolution_time_computes_only_the_durations_again(desk: dict[str, Ticket]):
    # Given the summary rows of the day a ticket came
    day = timezone.localdate(desk["old"].created_at)
    counts = set(DayQueueFigures.objects.filter(day=day).values_list("pk", flat=True))
    # When it is answered and resolved
    services.message_add(
        ticket=desk["old"], message=message_data(kind=MessageKind.AGENT_REPLY, direction="out")
    )
    services.ticket_set_status(ticket=desk["old"], status=TicketStatus.RESOLVED)
    # Then that day's counts are kept as they were, and the figures are right
    assert_summary_matches_tickets()
    assert set(DayQueueFigures.objects.filter(day=day).values_list("pk", flat=True)) == counts


def test_days_far_apart_are_computed_apart(desk: dict[str, Ticket]):
    # Given changes to tickets of today and of nine days ago (more than a week apart)
    services.ticket_set_services(ticket=desk["today"], services=["domain"])
    services.ticket_set_services(ticket=desk["bill"], services=["billing", "backup"])
    assert len(daily_figures._day_groups(daily_figures_changed_days())) == 2
    # Then both are computed again, each from its own tickets
    assert_summary_matches_tickets()


def daily_figures_changed_days() -> set[date]:
    """Return the days of the period whose tickets changed since the last look."""
    first = timezone.localdate() - timedelta(days=PERIOD_DAYS - 1)
    moments = ReportChange.objects.values_list("at", flat=True)
    return {day for day in (timezone.localdate(at) for at in moments) if day >= first}


def test_a_change_outside_the_period_waits_for_its_period(desk: dict[str, Ticket]):
    # Given a look at the last three days, and a change to a ticket of nine days ago
    today = timezone.localdate()
    services.ticket_set_services(ticket=desk["bill"], services=["billing", "domain"])
    recent = reports.ReportScope(start=today - timedelta(days=2), end=today)
    reports.dashboard_figures(scope=recent)
    # Then the change is still noted, and counted when its day is looked at
    assert daily_figures.day_figures_refresh(start=today - timedelta(days=PERIOD_DAYS), end=today) >= 1
    assert_summary_matches_tickets()


def test_the_days_follow_the_time_zone_they_are_read_in(desk: dict[str, Ticket]):
    with timezone.override("Asia/Kathmandu"):
        assert_summary_matches_tickets()
        assert set(ReportDay.objects.values_list("time_zone", flat=True)) == {"Asia/Kathmandu"}
    assert_summary_matches_tickets()


def test_days_never_looked_at_are_left_for_their_first_look(desk: dict[str, Ticket]):
    # Given a change to a ticket of a day the dashboards never showed
    services.ticket_set_services(ticket=desk["before"], services=["domain"])
    # When the changed days are computed, Then that day is not (it is computed in full when first shown)
    assert daily_figures.day_figures_refresh_changed() == 0
    assert not ReportDay.objects.filter(day=timezone.localdate(desk["before"].created_at)).exists()


def test_the_refresh_of_changed_days_keeps_later_looks_quick(desk: dict[str, Ticket]):
    end = timezone.localdate()
    start = end - timedelta(days=PERIOD_DAYS - 1)
    services.ticket_set_status(ticket=desk["urgent"], status=TicketStatus.RESOLVED)
    assert 2 <= daily_figures.day_figures_refresh_changed() <= 4  # created, resolved (each may span midnight)
    assert daily_figures.day_figures_refresh(start=start, end=end) == 0
    assert_summary_matches_tickets()


def test_the_command_computes_the_last_days_ahead():
    out = StringIO()
    call_command("helpdesk", "figures", "--days", "3", stdout=out)
    assert out.getvalue().strip() == "Computed 3 of the last 3 days."
    assert ReportDay.objects.count() == 3


def test_the_beat_task_computes_the_changed_days(desk: dict[str, Ticket]):
    services.ticket_move(ticket=desk["old"], queue=Queue.objects.get(slug="billing"))
    assert tasks.dashboard_days_refresh() in (1, 2)
    assert tasks.dashboard_days_refresh() == 0


def test_a_day_never_shown_is_computed_whole_when_first_shown(desk: dict[str, Ticket]):
    # Given a ticket of the evening before the period, a day never shown, whose creation note is gone
    first = timezone.localdate() - timedelta(days=PERIOD_DAYS - 1)
    made = new_ticket(tags=("ftp",))
    evening = reports.local_midnight(first) - timedelta(minutes=30)
    Ticket.objects.filter(pk=made.pk).update(created_at=evening)
    daily_figures.day_figures_refresh_changed()
    # When it gets its first response (noted as a change of times only) and the period is shown
    Ticket.objects.filter(pk=made.pk).update(first_response_at=evening + timedelta(minutes=5))
    assert_summary_matches_tickets()
    # Then a look that includes that evening counts the ticket in full
    wider = reports.ReportScope(start=first - timedelta(days=1), end=first)
    summary: dict[str, Any] = dict(reports.dashboard_figures(scope=wider))
    tickets = {name: build() for name, build in reports.ticket_figure_builders(scope=wider).items()}
    assert summary == {"scope": wider, **tickets}
