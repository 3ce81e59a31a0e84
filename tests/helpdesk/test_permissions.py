"""Per-queue permissions are enforced in querysets, views and actions, not only by hiding links."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from helpdesk import services
from helpdesk.models import Customer, Queue, Ticket
from mailbridge.models import InboundMail, InboundStatus, Mailbox, OutboxMail
from tests.factories import CustomerFactory, UserFactory, open_ticket
from triage.models import Correction

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/helpdesk/ticket/"


def staff(username: str, group: str, *queues: str) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    for slug in queues:
        Queue.objects.get(slug=slug).members.add(user)
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent() -> Client:
    return logged_in(staff("anna", "agents", "support"))


@pytest.fixture
def foreign() -> Ticket:
    """A ticket of the accounts office, a queue the agent does not work."""
    ticket = open_ticket(
        subject="Rechnung", attachments=[services.AttachmentData("rechnung.pdf", "application/pdf", b"%PDF")],
        html="<p>Rechnung</p>",
    )  # fmt: skip
    return services.ticket_move(ticket=ticket, queue=Queue.objects.get(slug="billing"))


@pytest.mark.parametrize(
    "url",
    [
        "{change}",
        "{change}?canned=solved",
        "/admin/helpdesk/ticket/message/{message}/html/",
        "/admin/helpdesk/ticket/attachment/{attachment}/",
    ],
)
def test_agent_gets_403_reading_another_queues_ticket(agent, foreign, url):
    message = foreign.messages.get()
    target = url.format(
        change=f"{CHANGELIST}{foreign.pk}/change/",
        message=message.pk,
        attachment=message.attachments.get().pk,
    )
    assert agent.get(target).status_code == 403


@pytest.mark.parametrize(
    ("part", "data"),
    [
        ("reply", {"text": "Hallo"}),
        ("note", {"text": "Notiz"}),
        ("update", {"status": "closed", "priority": "low", "queue": "1"}),
        ("triage", {"services": ["email"]}),
        ("merge", {"target": "2000-000001"}),
    ],
)
def test_agent_gets_403_changing_another_queues_ticket(agent, foreign, part, data):
    before = (foreign.status, foreign.priority, foreign.messages.count())
    response = agent.post(f"{CHANGELIST}{foreign.pk}/{part}/", data)
    assert response.status_code == 403
    foreign.refresh_from_db()
    assert (foreign.status, foreign.priority, foreign.messages.count()) == before
    assert not OutboxMail.objects.exists()
    assert not Correction.objects.exists()
    assert not foreign.service_links.exists()


def test_bulk_actions_never_reach_another_queues_ticket(agent, foreign):
    # The action's queryset comes from the agent's own ticket list, whatever ids were posted.
    for action, extra in [("assign_to_me", {}), ("set_status", {"status": "closed"}), ("merge", {})]:
        agent.post(CHANGELIST, {"action": action, "_selected_action": [foreign.pk], **extra})
    foreign.refresh_from_db()
    assert (foreign.assignee, foreign.status, foreign.merged_into) == (None, "new", None)


def test_merge_target_in_another_queue_is_refused(agent, foreign):
    mine = open_ticket()
    response = agent.post(f"{CHANGELIST}{mine.pk}/merge/", {"target": foreign.reference})
    assert response.status_code == 200
    assert "No ticket with this reference in your queues" in response.text
    mine.refresh_from_db()
    assert mine.merged_into is None


def test_agent_search_does_not_leak_other_queues(agent, foreign):
    response = agent.get(CHANGELIST, {"q": foreign.reference})
    assert f"{CHANGELIST}{foreign.pk}/change/" not in response.text
    assert response.context["cl"].result_count == 0


@pytest.mark.parametrize(
    "url",
    [
        "/admin/helpdesk/queue/add/",
        "/admin/helpdesk/queue/1/delete/",
        "/admin/mailbridge/mailbox/",
        "/admin/mailbridge/outboxmail/",
        "/admin/mailbridge/mailtemplate/",
        "/admin/triage/modelversion/",
        "/admin/triage/correction/",
        "/admin/auth/user/",
        "/admin/auth/group/",
    ],
)
def test_agent_gets_403_on_manager_and_configuration_pages(agent, url):
    assert agent.get(url).status_code == 403


def test_agent_cannot_change_a_queue(agent):
    support = Queue.objects.get(slug="support")
    response = agent.post(f"/admin/helpdesk/queue/{support.pk}/change/", {"slug": "x", "name": "Hacked"})
    assert response.status_code == 403
    support.refresh_from_db()
    assert support.name == "Support"


def test_fetched_mail_of_another_queue_is_hidden(agent, foreign):
    # Given one fetched mail ingested into another queue's ticket, and one in quarantine
    mailbox = Mailbox.objects.create(
        name="support", host="h", username="u", address="support@hosting.example"
    )
    ingested = InboundMail.objects.create(
        mailbox=mailbox, sha256="a", size=1, raw=b"x", status=InboundStatus.INGESTED,
        subject="Rechnung-Mail", ticket_message=foreign.messages.get(),
    )  # fmt: skip
    InboundMail.objects.create(
        mailbox=mailbox, sha256="b", size=1, raw=b"y", status=InboundStatus.QUARANTINED, subject="Kaputt-Mail"
    )
    # When the agent lists fetched mail, Then only the quarantined one shows, and the other is not reachable
    text = agent.get("/admin/mailbridge/inboundmail/").text
    assert "Kaputt-Mail" in text
    assert "Rechnung-Mail" not in text
    assert agent.get(f"/admin/mailbridge/inboundmail/{ingested.pk}/change/").status_code == 302


def test_agent_cannot_delete_or_add_tickets(agent):
    ticket = open_ticket()
    assert agent.get(f"{CHANGELIST}{ticket.pk}/delete/").status_code == 403
    assert agent.get(f"{CHANGELIST}add/").status_code == 403


def test_agent_cannot_merge_customers(agent):
    first, second = CustomerFactory(), CustomerFactory()
    agent.post(
        "/admin/helpdesk/customer/",
        {"action": "merge_customers", "_selected_action": [first.pk, second.pk], "target": first.pk},
    )
    assert Customer.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_agent_without_a_queue_sees_no_ticket():
    client = logged_in(staff("neu", "agents"))
    ticket = open_ticket()
    assert ticket.reference not in client.get(CHANGELIST).text
    assert client.get(f"{CHANGELIST}{ticket.pk}/change/").status_code == 403


def test_manager_sees_every_queue(foreign):
    client = logged_in(staff("martin", "managers"))
    assert foreign.reference in client.get(CHANGELIST).text
    assert client.get(f"{CHANGELIST}{foreign.pk}/change/").status_code == 200


def test_queue_filter_offers_only_the_agents_queues(agent):
    text = agent.get(CHANGELIST).text
    assert "?queue=support" in text
    assert "?queue=billing" not in text


def test_staff_without_ticket_permission_gets_403():
    client = logged_in(UserFactory(username="praktikant"))
    ticket = open_ticket()
    assert client.get(f"{CHANGELIST}{ticket.pk}/change/").status_code == 403


def test_anonymous_is_sent_to_the_login(foreign):
    response = Client().get(f"{CHANGELIST}{foreign.pk}/change/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
