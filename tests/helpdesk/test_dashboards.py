"""The managers' dashboards in the admin: access, the page with its charts, the CSV exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from helpdesk import services
from helpdesk.dashboards import duration_text
from helpdesk.models import Queue, TagSource, Ticket
from tests.factories import CustomerFactory, UserFactory, message_data

pytestmark = pytest.mark.django_db


def logged_in(*groups: str) -> Client:
    user: User = UserFactory.create()
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    client = Client()
    client.force_login(user)
    return client


def ticket_in(queue: str, **fields: object) -> Ticket:
    made = services.ticket_open(
        customer=CustomerFactory.create(), queue=Queue.objects.get(slug=queue), message=message_data()
    )
    if fields:
        Ticket.objects.filter(pk=made.pk).update(**fields)
    return made


def rows_of(response: object) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))  # type: ignore[attr-defined]


def test_managers_see_the_dashboard_in_the_admin():
    # Given a tagged ticket of today
    services.ticket_set_services(ticket=ticket_in("support"), services=["email"], source=TagSource.MODEL)
    # When a manager opens the dashboard
    response = logged_in("managers").get("/admin/dashboard/")
    # Then it is an admin page with the charts drawn from our own static files
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="site-name"' in page
    assert "/static/helpdesk/vendor/chartjs/chart.umd.min.js" in page
    assert "/static/helpdesk/dashboard.js" in page
    assert 'id="chart-volume"' in page
    assert 'id="dashboard-charts" type="application/json"' in page
    assert "cdn" not in page.lower()
    # And the chart data carries today's ticket
    charts = response.context["charts"]
    volume = next(c for c in charts if c["id"] == "chart-volume")
    assert sum(sum(d["data"]) for d in volume["datasets"] if d["label"] == "email") == 1


def test_agents_are_refused_and_strangers_sent_to_log_in():
    assert logged_in("agents").get("/admin/dashboard/").status_code == 403
    anonymous = Client().get("/admin/dashboard/")
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]


def test_the_queue_chooser_limits_the_figures():
    ticket_in("support")
    ticket_in("emergency")
    client = logged_in("managers")
    every = client.get("/admin/dashboard/")
    emergency = client.get("/admin/dashboard/", {"queue": "emergency"})
    assert sum(row[2] for row in every.context["tables"][0].rows) == 2
    assert sum(row[2] for row in emergency.context["tables"][0].rows) == 1


def test_a_bad_period_is_explained_not_crashed_on():
    response = logged_in("managers").get("/admin/dashboard/", {"start": "2026-05-01", "end": "2026-04-01"})
    assert response.status_code == 400
    assert "ends before it starts" in response.content.decode()


def test_every_table_downloads_as_csv():
    ticket_in("support")
    ticket_in("emergency")
    client = logged_in("managers")
    for section in ("volume", "backlog", "response_times", "detail_requests", "corrections", "emergency"):
        response = client.get(f"/admin/dashboard/{section}.csv")
        assert response.status_code == 200, section
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith(f'attachment; filename="{section}-')
        assert len(rows_of(response)) >= 2, section


def test_csv_holds_the_numbers_of_the_period_and_queue():
    ticket_in("emergency", callback_requested=True)
    today = timezone.localdate().isoformat()
    response = logged_in("managers").get("/admin/dashboard/emergency.csv", {"start": today, "end": today})
    assert rows_of(response) == [["Day", "Tickets", "Callback requested"], [today, "1", "1"]]


def test_error_texts_cannot_become_spreadsheet_formulas():
    # A customer's "error message" is text we show, never a formula a spreadsheet would run.
    ticket_in("support", error_message='=HYPERLINK("http://evil.example","click")')
    rows = rows_of(logged_in("managers").get("/admin/dashboard/top_errors.csv"))
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","click")'


def test_unknown_csv_sections_are_404():
    assert logged_in("managers").get("/admin/dashboard/secrets.csv").status_code == 404


def test_the_chart_library_is_vendored_with_its_licence():
    library = finders.find("helpdesk/vendor/chartjs/chart.umd.min.js")
    licence = finders.find("helpdesk/vendor/chartjs/LICENSE.md")
    assert library
    assert licence
    with open(library, encoding="utf-8") as handle:
        assert "Chart.js v4" in handle.read(200)
    with open(licence, encoding="utf-8") as handle:
        assert "MIT License" in handle.read()


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "–"), (90, "2 min"), (5400, "1.5 h"), (3 * 86400, "3.0 d")]
)
def test_durations_read_as_people_say_them(seconds: float | None, text: str):
    assert duration_text(seconds) == text
