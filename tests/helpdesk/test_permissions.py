"""Per-queue permissions are enforced in querysets, views and actions, not only by hiding links."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from helpdesk import services
from helpdesk.models import Customer, Queue, Ticket
from mailbridge.models import (
    InboundMail,
    InboundStatus,
    Mailbox,
    MailTemplate,
    OutboxKind,
    OutboxMail,
    OutboxStatus,
)
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


def test_agent_neither_lists_nor_opens_nor_edits_another_queues_customer(agent, foreign):
    # Given a customer whose only ticket is in a queue the agent does not work
    stranger = foreign.customer
    change = f"/admin/helpdesk/customer/{stranger.pk}/change/"
    # When the agent lists the customers and opens or edits that one
    listing = agent.get("/admin/helpdesk/customer/").text
    opened = agent.get(change)
    edited = agent.post(change, {"name": "Geändert", "language": "de"})
    # Then the customer is neither listed nor shown, and stays unchanged
    assert change not in listing
    assert (opened.status_code, edited.status_code) == (404, 404)
    stranger.refresh_from_db()
    assert stranger.name != "Geändert"
    # ... while a manager sees them
    manager = logged_in(staff("martin", "managers"))
    assert change in manager.get("/admin/helpdesk/customer/").text
    assert manager.get(change).status_code == 200


def test_agent_counts_only_the_tickets_of_their_queues(agent):
    # Given a customer with one ticket in the agent's queue and two in another
    customer = CustomerFactory()
    open_ticket(customer=customer)
    for _ in range(2):
        services.ticket_move(ticket=open_ticket(customer=customer), queue=Queue.objects.get(slug="billing"))
    # When the agent and a manager list the customers
    agents = agent.get("/admin/helpdesk/customer/").text
    managers = logged_in(staff("martin", "managers")).get("/admin/helpdesk/customer/").text
    # Then the ticket column counts what each may open
    assert '<td class="field-ticket_count">1</td>' in agents
    assert '<td class="field-ticket_count">3</td>' in managers


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


# --- mail bridge pages: managers run the outbox and the mail texts, admins the mailboxes ----------


def outbox_mail(ticket: Ticket | None, n: int, status: str = OutboxStatus.FAILED) -> OutboxMail:
    return OutboxMail.objects.create(
        ticket=ticket, kind=OutboxKind.AGENT_REPLY, automatic=False, recipient="x@example.ch",
        to=["x@example.ch"], subject=f"Ausgang {n}", text="t", message_id=f"<out{n}@x>", status=status,
        last_error="SMTP 550", from_address="support@hosting.example",
    )  # fmt: skip


def resend(client: Client, *mails: OutboxMail) -> int:
    data = {"action": "resend", "_selected_action": [m.pk for m in mails]}
    return client.post("/admin/mailbridge/outboxmail/", data).status_code


@pytest.fixture
def manager() -> Client:
    return logged_in(staff("martin", "managers"))


def test_manager_lists_the_failed_outbox_mail_and_resends_it(manager, foreign):
    # Given a failed mail of another queue's ticket, and one that went out
    failed, sent = outbox_mail(foreign, 1), outbox_mail(foreign, 2, status=OutboxStatus.SENT)
    # When a manager lists the failed mail and resends both
    listing = manager.get("/admin/mailbridge/outboxmail/?delivery=failed")
    resend(manager, failed, sent)
    # Then the failed one shows and is queued again; the sent one is left alone
    assert listing.status_code == 200
    assert "Ausgang 1" in listing.text
    assert "Ausgang 2" not in listing.text
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, sent.status) == (OutboxStatus.QUEUED, OutboxStatus.SENT)


def test_manager_cannot_edit_what_was_sent(manager, foreign):
    mail = outbox_mail(foreign, 1)
    url = f"/admin/mailbridge/outboxmail/{mail.pk}/change/"
    assert manager.get(url).status_code == 200
    manager.post(url, {"subject": "anders"})
    mail.refresh_from_db()
    assert mail.subject == "Ausgang 1"
    assert manager.get(f"/admin/mailbridge/outboxmail/{mail.pk}/delete/").status_code == 403


def test_agent_cannot_resend(agent):
    mine = outbox_mail(open_ticket(), 1)
    assert resend(agent, mine) == 403
    mine.refresh_from_db()
    assert mine.status == OutboxStatus.FAILED


def test_outbox_shows_only_the_own_queues_mail_to_whoever_does_not_see_all_queues(foreign):
    # Given an agent whom an admin gave the outbox, a failed mail of each queue and one of no ticket
    user = staff("otto", "agents", "support")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_outboxmail", "change_outboxmail"])
    )
    mine, theirs, loose = outbox_mail(open_ticket(), 1), outbox_mail(foreign, 2), outbox_mail(None, 3)
    client = logged_in(user)
    # When the agent lists the outbox and resends all three
    text = client.get("/admin/mailbridge/outboxmail/").text
    resend(client, mine, theirs, loose)
    # Then only the mail of the own queue's ticket shows and is sent again
    assert ("Ausgang 1" in text, "Ausgang 2" in text, "Ausgang 3" in text) == (True, False, False)
    statuses = OutboxMail.objects.order_by("pk").values_list("status", flat=True)
    assert list(statuses) == [OutboxStatus.QUEUED, OutboxStatus.FAILED, OutboxStatus.FAILED]
    assert client.get(f"/admin/mailbridge/outboxmail/{theirs.pk}/change/").status_code == 302


def test_manager_sees_mailboxes_but_cannot_configure_them(manager):
    mailbox = Mailbox.objects.create(
        name="support", host="imap.example", username="u", address="support@hosting.example",
        last_poll_ok=False, last_error="LOGIN failed",
    )  # fmt: skip
    assert "LOGIN failed" in manager.get("/admin/mailbridge/mailbox/").text
    assert manager.get("/admin/mailbridge/mailbox/add/").status_code == 403
    manager.post(f"/admin/mailbridge/mailbox/{mailbox.pk}/change/", {"name": "x", "host": "evil.example"})
    mailbox.refresh_from_db()
    assert mailbox.host == "imap.example"
    assert manager.get(f"/admin/mailbridge/mailbox/{mailbox.pk}/delete/").status_code == 403


def test_agent_gets_403_on_a_mailbox(agent):
    mailbox = Mailbox.objects.create(name="support", host="h", username="u", address="s@hosting.example")
    assert agent.get(f"/admin/mailbridge/mailbox/{mailbox.pk}/change/").status_code == 403


def test_manager_writes_a_mail_template_but_does_not_delete_it(manager):
    # Given the list offers the built-in texts to start from
    assert "?key=ack&amp;language=de" in manager.get("/admin/mailbridge/mailtemplate/").text
    # When a manager adds a German acknowledgement and then changes it
    data = {"key": "ack", "language": "de", "subject": "Danke", "body": "Wir melden uns."}
    assert manager.post("/admin/mailbridge/mailtemplate/add/", data).status_code == 302
    template = MailTemplate.objects.get()
    url = f"/admin/mailbridge/mailtemplate/{template.pk}/change/"
    assert manager.post(url, {**data, "subject": "Vielen Dank"}).status_code == 302
    # Then the text is theirs; going back to the built-in text stays with the admins
    template.refresh_from_db()
    assert template.subject == "Vielen Dank"
    assert manager.get(f"/admin/mailbridge/mailtemplate/{template.pk}/delete/").status_code == 403


def test_agent_cannot_write_mail_templates(agent):
    data = {"key": "ack", "language": "de", "subject": "x", "body": "y"}
    assert agent.post("/admin/mailbridge/mailtemplate/add/", data).status_code == 403
    assert not MailTemplate.objects.exists()


def test_agent_reprocesses_quarantine_but_never_another_queues_mail(agent, foreign):
    # Given quarantined mail in no ticket, and (after a failed retry) one tied to another queue's ticket
    mailbox = Mailbox.objects.create(name="support", host="h", username="u", address="s@hosting.example")
    loose = InboundMail.objects.create(
        mailbox=mailbox, sha256="a", size=1, raw=b"x", status=InboundStatus.QUARANTINED, reason="parse",
    )  # fmt: skip
    theirs = InboundMail.objects.create(
        mailbox=mailbox, sha256="b", size=1, raw=b"y", status=InboundStatus.QUARANTINED, reason="parse",
        ticket_message=foreign.messages.get(),
    )  # fmt: skip
    # When the agent reprocesses both
    data = {"action": "reprocess", "_selected_action": [loose.pk, theirs.pk]}
    agent.post("/admin/mailbridge/inboundmail/", data)
    # Then the one in no ticket went through the pipeline again; the other queue's was not touched
    loose.refresh_from_db()
    theirs.refresh_from_db()
    assert (loose.status, loose.reason) != (InboundStatus.QUARANTINED, "parse")
    assert (theirs.status, theirs.reason) == (InboundStatus.QUARANTINED, "parse")


def test_grants_of_the_outbox_migration_are_reversible():
    # Given the managers group as migrated
    migration = importlib.import_module("mailbridge.migrations.0004_manager_outbox_template_permissions")
    managers = Group.objects.get(name="managers")

    def held() -> set[str]:
        return set(
            managers.permissions.filter(content_type__app_label="mailbridge").values_list(
                "codename", flat=True
            )
        )

    granted = set(migration.GRANTS["managers"])
    assert granted <= held()
    # When the migration is reversed, Then exactly its grants go; applied again, they come back
    migration.revoke(django_apps, None)
    assert held() == {"view_inboundmail", "change_inboundmail", "view_mailbox"}
    migration.grant(django_apps, None)
    assert held() == granted | {"view_inboundmail", "change_inboundmail", "view_mailbox"}
