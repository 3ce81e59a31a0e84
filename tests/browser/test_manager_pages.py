"""A manager's pages in a real browser: customers, mailboxes, outbox, model versions and the dashboards."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from helpdesk import services
from mailbridge.models import Mailbox, OutboxKind, OutboxMail, OutboxStatus
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import CustomerFactory, open_ticket
from triage.models import ModelVersion

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.integration]


def manager_user() -> User:
    user = User.objects.create_user(username="martin", password=PASSWORD, is_staff=True, first_name="Martin")
    user.groups.add(Group.objects.get(name="managers"))
    return user


def desk_with_a_little_of_everything() -> None:
    customer = CustomerFactory.create(name="Monika Huber", language="de")
    ticket = open_ticket(customer=customer, subject="Mails kommen nicht an")
    services.ticket_set_services(ticket=ticket, services={"email": 0.9}, source="model")
    Mailbox.objects.create(
        name="support", host="imap.hosting.example", username="support", address="support@hosting.example",
        last_poll_ok=False, last_error="LOGIN failed",
    )  # fmt: skip
    OutboxMail.objects.create(
        ticket=ticket, kind=OutboxKind.AGENT_REPLY, automatic=False, recipient="monika@baeckerei.example",
        to=["monika@baeckerei.example"], subject="Ihre Anfrage", text="t", status=OutboxStatus.FAILED,
        message_id="<reply-1@hosting.example>", from_address="support@hosting.example",
        last_error="SMTP 550 mailbox unavailable",
    )  # fmt: skip
    ModelVersion.objects.create(
        version="2026-05-01-a", sklearn_version="1", training_sha256="a", active=True,
        metrics={"micro_f1": 0.84}, blob=b"",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("path", "element", "expected", "name"),
    [
        ("/admin/helpdesk/customer/", "#result_list", "Monika Huber", "10-manager-customers"),
        ("/admin/mailbridge/mailbox/", "#result_list", "LOGIN failed", "11-manager-mailboxes"),
        (
            "/admin/mailbridge/outboxmail/",
            "#result_list",
            "SMTP 550 mailbox unavailable",
            "12-manager-outbox",
        ),
        ("/admin/triage/modelversion/", "#result_list", "2026-05-01-a", "13-manager-model-versions"),
    ],
)
def test_manager_opens_the_desks_pages(page: Any, live_server: Any, path, element, expected, name):
    # Given a desk with a customer, a mailbox that fails, a failed mail and a model version
    desk_with_a_little_of_everything()
    log_in(page, live_server, manager_user())
    # When the manager opens the page
    response = page.goto(f"{live_server.url}{path}")
    # Then it lists what it is about, framed with the language choice and the way to the dashboards
    assert response.status == 200
    assert expected in page.inner_text(element)
    assert page.locator("#hd-language-form").count() == 1
    assert page.locator("#dashboards-link").count() == 1
    screenshot(page, name)


def test_manager_reaches_the_dashboards_from_the_admin_index(page: Any, live_server: Any):
    # Given a desk with tickets
    desk_with_a_little_of_everything()
    log_in(page, live_server, manager_user())
    # When the manager follows the link on the admin's index
    page.goto(f"{live_server.url}/admin/")
    screenshot(page, "14-manager-admin-index")
    page.click("#dashboards-module a.section")
    page.wait_for_url("**/admin/dashboard/")
    # Then the dashboards show their figures and charts, with the language choice above them
    assert "First response" in page.inner_text(".dashboard-tiles")
    page.wait_for_selector("#chart-volume")
    assert page.locator("#hd-language-form").count() == 1
    screenshot(page, "15-manager-dashboard")
