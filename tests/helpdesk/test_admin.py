"""The agent workspace in the admin: list, filters, search, bulk actions, the ticket page and its forms."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpdesk import services
from helpdesk.admin.tickets import TicketAdmin
from helpdesk.admin.views import FRAME_CSP
from helpdesk.models import (
    Customer,
    CustomerEmail,
    Message,
    MessageKind,
    Queue,
    ServiceTag,
    Ticket,
    TicketService,
    TicketStatus,
)
from mailbridge.models import Mailbox, MailTemplate, OutboxKind, OutboxMail, OutboxStatus
from tests.factories import CustomerFactory, message_data, open_ticket
from triage.core import default_model
from triage.models import Correction, ModelVersion, TriageRun

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/helpdesk/ticket/"
HOSTILE = (
    '<p onclick="steal()">Hello<script>window.top.pwned = 1</script>'
    '<img src="http://127.0.0.1:9/pixel.gif"><a href="javascript:alert(1)">click</a>'
    "<style>body{display:none}</style></p>"
)


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


def ticket_in(queue, **message):
    ticket = open_ticket(**message)
    if queue != "support":
        services.ticket_move(ticket=ticket, queue=Queue.objects.get(slug=queue))
    return ticket


def page_url(ticket: Ticket, part: str = "change") -> str:
    return f"{CHANGELIST}{ticket.pk}/{part}/"


@pytest.fixture
def agent() -> User:
    return staff("anna", "agents", "support")


@pytest.fixture
def manager() -> User:
    return staff("martin", "managers")


@pytest.fixture
def admin_user() -> User:
    return staff("ada", "admins")


def bulk_tickets(count: int) -> None:
    """Create many tickets with a customer, an address and two service tags each, fast."""
    queue = Queue.objects.get(slug="support")
    customers = Customer.objects.bulk_create(Customer(name=f"Kunde {i}") for i in range(count))
    CustomerEmail.objects.bulk_create(
        CustomerEmail(customer=c, address=f"kunde{c.pk}@example.ch", is_primary=True) for c in customers
    )
    tickets = Ticket.objects.bulk_create(
        Ticket(reference=f"1999-{i:06d}", subject=f"Problem {i}", customer=c, queue=queue)
        for i, c in enumerate(customers)
    )
    email, web = ServiceTag.objects.get(slug="email"), ServiceTag.objects.get(slug="website")
    TicketService.objects.bulk_create(
        TicketService(ticket=t, service=s, source="model", confidence=0.8)
        for t in tickets
        for s in (email, web)
    )


# --- the list -------------------------------------------------------------------------------------


def test_changelist_shows_only_the_agents_queues(agent):
    # Given a ticket in the agent's queue and one in another queue
    mine = ticket_in("support", subject="Mails kommen nicht an")
    other = ticket_in("billing", subject="Rechnung doppelt bezahlt")
    # When the agent opens the ticket list
    response = logged_in(agent).get(CHANGELIST)
    # Then only their queue's ticket is listed
    assert response.status_code == 200
    assert mine.reference in response.text
    assert other.reference not in response.text


@pytest.mark.parametrize("page_size", [100, 500])
def test_changelist_runs_a_fixed_number_of_queries(
    manager, monkeypatch, page_size, django_assert_max_num_queries
):
    # Given 500 tickets with customers and service tags
    bulk_tickets(500)
    monkeypatch.setattr(TicketAdmin, "list_per_page", page_size)
    client = logged_in(manager)
    # When the list shows 100 or 500 of them, Then the query count stays the same small number
    with django_assert_max_num_queries(14):
        response = client.get(CHANGELIST)
    assert response.text.count('class="action-checkbox"') == page_size


def test_changelist_query_count_does_not_grow_with_page_size(agent, monkeypatch):
    bulk_tickets(300)
    client = logged_in(agent)
    counts = []
    for size in (20, 300):
        monkeypatch.setattr(TicketAdmin, "list_per_page", size)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CHANGELIST).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_list_columns_show_tags_badges_and_customer(agent):
    ticket = ticket_in("support")
    services.ticket_set_services(ticket=ticket, services=["email"])
    Ticket.objects.filter(pk=ticket.pk).update(missing_error_message=True, needs_review=True)
    text = logged_in(agent).get(CHANGELIST).text
    assert '<span class="hd-tag">email</span>' in text
    assert '<span class="hd-missing">error message</span>' in text
    assert ticket.customer.emails.get().address in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("work=mine", {"mine"}),
        ("work=unassigned", {"emergency", "waiting", "tagged"}),
        ("work=emergency", {"emergency"}),
        ("work=waiting", {"waiting"}),
        ("status=waiting", {"waiting"}),
        ("missing=error", {"tagged"}),
        ("service=domain", {"tagged"}),
        ("assignee=none", {"emergency", "waiting", "tagged"}),
        ("queue=emergency", {"emergency"}),
        ("age=7d", {"mine", "emergency", "waiting", "tagged"}),
    ],
)
def test_filters(manager, query, expected):
    # Given four tickets that differ in one way each
    tickets = {
        "mine": ticket_in("support", subject="mine"),
        "emergency": ticket_in("emergency", subject="emergency"),
        "waiting": ticket_in("support", subject="waiting"),
        "tagged": ticket_in("support", subject="tagged"),
    }
    services.ticket_assign(ticket=tickets["mine"], assignee=manager)
    services.ticket_set_status(ticket=tickets["waiting"], status=TicketStatus.WAITING)
    services.ticket_set_services(ticket=tickets["tagged"], services=["domain"])
    Ticket.objects.filter(pk=tickets["tagged"].pk).update(missing_error_message=True)
    # When the manager filters, Then exactly the matching tickets are listed
    response = logged_in(manager).get(f"{CHANGELIST}?{query}")
    listed = {name for name, t in tickets.items() if t.reference in response.text}
    assert listed == expected


@pytest.mark.parametrize(
    "term",
    [
        "REF",
        "#REF",
        "[#REF]",
        "Druckerpatrone",
        "kunde-suche@example.ch",
        "Huber",
        "Spezialfehler",
        '"Spezialfehler 4711"',
        "Huber 4711",
    ],
)
def test_search(manager, term):
    customer = CustomerFactory(name="Monika Huber")
    CustomerEmail.objects.create(customer=customer, address="kunde-suche@example.ch")
    wanted = open_ticket(customer=customer, subject="Druckerpatrone", text="Spezialfehler 4711 im Log")
    other = open_ticket(subject="Anderes", text="Nichts")
    response = logged_in(manager).get(CHANGELIST, {"q": term.replace("REF", wanted.reference)})
    assert wanted.reference in response.text
    assert other.reference not in response.text


def customer_at(address: str) -> Customer:
    customer = CustomerFactory.create(email=None)
    CustomerEmail.objects.create(customer=customer, address=address, is_primary=True)
    return customer


@pytest.mark.parametrize("term", ["@firma.ch", "monika@firma", "MONIKA@", "firma.ch"])
def test_search_by_part_of_an_address(manager, term):
    # Given a customer at firma.ch and one elsewhere
    wanted = open_ticket(customer=customer_at("monika@firma.ch"))
    other = open_ticket(customer=customer_at("hans@andere.example"))
    # When the manager searches for part of an address
    response = logged_in(manager).get(CHANGELIST, {"q": term})
    # Then the tickets of that address are found like any other text
    assert wanted.reference in response.text
    assert other.reference not in response.text


def test_search_by_a_whole_address_matches_it_exactly(manager):
    # Given two addresses where one contains the other
    anna = open_ticket(customer=customer_at("anna@firma.ch"))
    johanna = open_ticket(customer=customer_at("johanna@firma.ch"))
    # When the manager searches for the whole address (in other case)
    response = logged_in(manager).get(CHANGELIST, {"q": "Anna@Firma.ch"})
    # Then only that customer's ticket is listed
    assert anna.reference in response.text
    assert johanna.reference not in response.text


# --- bulk actions ---------------------------------------------------------------------------------


def act(client: Client, action: str, tickets: list[Ticket], **params: str):
    data = {"action": action, "_selected_action": [str(t.pk) for t in tickets], **params}
    return client.post(CHANGELIST, data, follow=True)


def test_bulk_assign_to_me_and_to_an_agent_of_the_queue(agent):
    first, second = ticket_in("support"), ticket_in("support")
    colleague = staff("bruno", "agents", "support")
    outsider = staff("carla", "agents", "billing")
    client = logged_in(agent)
    act(client, "assign_to_me", [first])
    act(client, "assign_to", [second], assignee=str(colleague.pk))
    response = act(client, "assign_to", [first], assignee=str(outsider.pk))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.assignee == agent
    assert second.assignee == colleague
    assert "1 tickets skipped" in response.text
    assert first.events.filter(field="assignee", new_value="anna", actor=agent).exists()


def test_bulk_unassign_status_priority_and_queue(agent):
    tickets = [ticket_in("support"), ticket_in("support")]
    for t in tickets:
        services.ticket_assign(ticket=t, assignee=agent)
    client = logged_in(agent)
    act(client, "unassign", tickets)
    act(client, "set_status", tickets, status="waiting")
    act(client, "set_priority", tickets, priority="high")
    act(client, "move_to_queue", tickets, queue=str(Queue.objects.get(slug="emergency").pk))
    for t in tickets:
        t.refresh_from_db()
        assert (t.assignee, t.status, t.priority, t.queue.slug) == (None, "waiting", "high", "emergency")
        assert t.events.filter(field="queue", actor=agent).exists()


def test_bulk_action_without_its_parameter_changes_nothing(agent):
    ticket = ticket_in("support")
    response = act(logged_in(agent), "set_status", [ticket])
    ticket.refresh_from_db()
    assert ticket.status == "new"
    assert "Choose a status first" in response.text


def test_bulk_merge_into_the_oldest_selected(agent):
    customer = CustomerFactory()
    oldest = open_ticket(customer=customer, message_id="<a@x>")
    newer = open_ticket(customer=customer, message_id="<b@x>")
    act(logged_in(agent), "merge", [newer, oldest])
    newer.refresh_from_db()
    assert newer.merged_into == oldest
    assert newer.status == "closed"
    assert oldest.messages.count() == 2


def test_bulk_merge_into_a_named_target(agent):
    target, source = ticket_in("support"), ticket_in("support")
    act(logged_in(agent), "merge", [source], target=target.reference)
    source.refresh_from_db()
    assert source.merged_into == target


def test_bulk_mark_reviewed_clears_the_mark_and_records_it(agent):
    # Given two tickets triage was unsure about
    first, second = ticket_in("support"), ticket_in("support")
    Ticket.objects.filter(pk__in=[first.pk, second.pk]).update(needs_review=True)
    # When the agent marks one of them reviewed
    response = act(logged_in(agent), "mark_reviewed", [first])
    # Then only that one lost the mark, and the history says who cleared it
    assert "1 tickets changed." in response.text
    assert list(Ticket.objects.filter(needs_review=True)) == [second]
    event = first.events.get(field="needs_review")
    assert (event.actor, event.old_value, event.new_value) == (agent, "True", "")


# --- the ticket page --------------------------------------------------------------------------------


def test_ticket_page_shows_the_whole_conversation_in_order(agent):
    # Given a customer mail with HTML, our automatic answer, an agent reply, a note and a bounce
    ticket = ticket_in("support", html=HOSTILE, text="Hello (text part)")
    out = {"direction": "out", "from_address": "support@hosting.example"}
    services.message_add(ticket=ticket, message=message_data(kind=MessageKind.AUTO_REPLY, text="AUTO", **out))
    services.message_add(
        ticket=ticket, message=message_data(kind=MessageKind.AGENT_REPLY, text="REPLY", **out)
    )
    services.ticket_add_note(ticket=ticket, author=agent, text="NOTE")
    services.message_add(
        ticket=ticket,
        message=message_data(kind=MessageKind.AUTOMATED, text="BOUNCE", from_address="mailer-daemon@x"),
    )
    # When the agent opens it
    text = logged_in(agent).get(page_url(ticket)).text
    # Then every message is there, in order, and the HTML part only inside a sandboxed frame
    kinds = ("customer", "auto_reply", "agent_reply", "note", "automated")
    positions = [text.index(f'class="hd-msg hd-kind-{kind}"') for kind in kinds]
    assert positions == sorted(positions)
    assert text.index("REPLY") < text.index("NOTE") < text.index("BOUNCE")
    frame_url = reverse("admin:helpdesk_message_html", args=[ticket.messages.first().pk])
    assert re.search(rf'<iframe[^>]*sandbox=""[^>]*\s+src="{re.escape(frame_url)}"', text)
    assert "pwned" not in text
    assert "javascript:" not in text


def test_frame_serves_sanitised_html_under_a_strict_csp(agent):
    # Given stored HTML that holds everything hostile (as if written before the sanitiser existed)
    ticket = ticket_in("support", html="<p>x</p>")
    message = ticket.messages.get()
    Message.objects.filter(pk=message.pk).update(html=HOSTILE)
    # When the frame is requested
    response = logged_in(agent).get(reverse("admin:helpdesk_message_html", args=[message.pk]))
    # Then it is sanitised again and served sandboxed, frameable only by the admin itself
    assert response["Content-Security-Policy"] == FRAME_CSP
    assert FRAME_CSP == "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = response.content.decode()
    for hostile in ("<script", "onclick", "javascript:", "<img", "display:none", "127.0.0.1"):
        assert hostile not in body
    assert "Hello" in body


def test_other_admin_pages_may_not_be_framed(agent):
    ticket = ticket_in("support")
    assert logged_in(agent).get(page_url(ticket))["X-Frame-Options"] == "DENY"


def test_attachment_downloads_never_render(agent):
    # Given an HTML attachment
    ticket = ticket_in(
        "support",
        attachments=[
            services.AttachmentData("invoice.html", "text/html", b"<script>window.pwned=1</script>")
        ],
    )
    attachment = ticket.messages.get().attachments.get()
    # When the agent downloads it
    response = logged_in(agent).get(reverse("admin:helpdesk_attachment_download", args=[attachment.pk]))
    # Then it comes as a file to save, typed so no browser renders it
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="invoice.html"'
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<script>window.pwned=1</script>"


def test_attachment_whose_file_is_gone_is_a_clear_404(agent):
    # Given an attachment whose stored file was lost
    ticket = ticket_in("support", attachments=[services.AttachmentData("log.txt", "text/plain", b"550")])
    attachment = ticket.messages.get().attachments.get()
    attachment.file.storage.delete(attachment.file.name)
    # When the agent downloads it
    response = logged_in(agent).get(reverse("admin:helpdesk_attachment_download", args=[attachment.pk]))
    # Then the answer says what is wrong instead of failing
    assert response.status_code == 404
    assert response.content.decode() == "The file of this attachment is missing from storage."


def test_triage_panel_shows_confidence_error_callback_requests_and_model(agent):
    # Given a triaged ticket whose customer was asked for the error message
    ticket = ticket_in("support", subject="Mail geht nicht")
    services.ticket_set_services(ticket=ticket, services={"email": 0.87}, source="model")
    Ticket.objects.filter(pk=ticket.pk).update(
        error_message="550 5.1.1 User unknown", callback_requested=True, callback_number="+41791234567"
    )
    TriageRun.objects.create(
        ticket=ticket,
        message=ticket.messages.get(),
        model_version="v-test-7",
        result={"services": ["email"], "confidence": {"email": 0.87, "website": 0.2}},
        actions=["request_error_message"],
    )
    OutboxMail.objects.create(
        ticket=ticket, kind=OutboxKind.ACKNOWLEDGEMENT, recipient="x@example.ch", to=["x@example.ch"],
        subject="s", text="t", message_id="<ack@x>", requested=["request_error_message"],
        status=OutboxStatus.SENT, from_address="support@hosting.example",
    )  # fmt: skip
    # When the agent opens the ticket
    text = logged_in(agent).get(page_url(ticket)).text
    # Then the panel tells what triage found and what was asked
    assert "v-test-7" in text
    assert "87&nbsp;%" in text
    assert "550 5.1.1 User unknown" in text
    assert 'href="tel:+41791234567"' in text
    assert "the exact error message" in text


def test_reply_goes_through_the_outbox_with_attachment_and_status(agent):
    ticket = ticket_in("support")
    upload = SimpleUploadedFile("anleitung.pdf", b"%PDF-1.4 demo", content_type="application/pdf")
    response = logged_in(agent).post(
        page_url(ticket, "reply"),
        {
            "text": "Bitte senden Sie uns die Fehlermeldung.",
            "then_status": "waiting",
            "attachments": [upload],
        },
    )
    assert response.status_code == 302
    outbox = OutboxMail.objects.get(ticket=ticket)
    assert (outbox.kind, outbox.automatic, outbox.status) == ("agent_reply", False, "queued")
    reply = outbox.ticket_message
    assert (reply.kind, reply.author) == ("agent_reply", agent)
    assert reply.attachments.get().filename == "anleitung.pdf"
    ticket.refresh_from_db()
    assert ticket.status == "waiting"


def test_reply_needs_text(agent):
    ticket = ticket_in("support")
    response = logged_in(agent).post(page_url(ticket, "reply"), {"text": ""})
    assert response.status_code == 200
    assert "This field is required" in response.text
    assert not OutboxMail.objects.exists()


def test_canned_reply_in_the_customers_language(agent):
    ticket = ticket_in("support", customer=CustomerFactory(language="fr", name="Claire"))
    text = logged_in(agent).get(page_url(ticket), {"canned": "ask_error_message"}).text
    assert "Bonjour Claire" in text
    german = logged_in(agent).get(page_url(ticket), {"canned": "ask_error_message", "language": "de"}).text
    assert "genaue Fehlermeldung" in german


def test_internal_note(agent):
    ticket = ticket_in("support")
    logged_in(agent).post(page_url(ticket, "note"), {"text": "Kunde ist Reseller."})
    note = ticket.messages.get(kind=MessageKind.INTERNAL_NOTE)
    assert (note.text, note.author) == ("Kunde ist Reseller.", agent)
    assert not OutboxMail.objects.exists()


def test_update_status_priority_assignee_queue(agent):
    ticket = ticket_in("support")
    colleague = staff("bruno", "agents", "support")
    data = {"status": "open", "priority": "urgent", "assignee": colleague.pk, "queue": ticket.queue_id}
    assert logged_in(agent).post(page_url(ticket, "update"), data).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("open", "urgent", colleague)
    assert {e.field for e in ticket.events.filter(actor=agent)} == {"status", "priority", "assignee"}


def test_update_refuses_an_assignee_outside_the_queue(agent):
    ticket = ticket_in("support")
    outsider = staff("carla", "agents", "billing")
    data = {"status": "new", "priority": "normal", "assignee": outsider.pk, "queue": ticket.queue_id}
    response = logged_in(agent).post(page_url(ticket, "update"), data)
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_moving_away_leads_back_to_the_list(agent):
    ticket = ticket_in("support")
    billing = Queue.objects.get(slug="billing")
    data = {"status": "new", "priority": "normal", "assignee": "", "queue": billing.pk}
    response = logged_in(agent).post(page_url(ticket, "update"), data)
    assert response["Location"] == CHANGELIST


def test_correcting_services_and_flags_is_kept_as_training_feedback(agent):
    # Given a ticket triage tagged "website" and found no error message
    ticket = ticket_in("support", subject="Mail", text="E-Mail geht nicht")
    services.ticket_set_services(ticket=ticket, services={"website": 0.6}, source="model")
    TriageRun.objects.create(
        ticket=ticket, message=ticket.messages.get(), model_version="v1",
        result={"services": ["website"], "has_error_message": False}, actions=[],
    )  # fmt: skip
    Ticket.objects.filter(pk=ticket.pk).update(missing_error_message=True)
    # When the agent corrects the tag to email, the flag and adds a callback number
    data = {
        "services": ["email"],
        "missing_error_message": "",
        "callback_requested": "on",
        "callback_number": "079 123 45 67",
    }
    assert logged_in(agent).post(page_url(ticket, "triage"), data).status_code == 302
    # Then the ticket shows the agent's labels, and each change is a training example
    ticket.refresh_from_db()
    assert [link.service.slug for link in ticket.service_links.all()] == ["email"]
    assert ticket.service_links.get().source == "agent"
    assert (ticket.missing_error_message, ticket.callback_number) == (False, "+41791234567")
    fields = set(Correction.objects.filter(ticket=ticket, agent=agent).values_list("field", flat=True))
    assert fields == {"services", "has_error_message", "callback_requested", "callback_number"}


def test_correction_refuses_a_bad_number(agent):
    ticket = ticket_in("support")
    response = logged_in(agent).post(page_url(ticket, "triage"), {"callback_number": "call me"})
    assert response.status_code == 200
    assert "Not a phone number" in response.text


def test_agent_marks_a_ticket_reviewed_on_its_page(agent):
    # Given a ticket triage was unsure about
    ticket = ticket_in("support")
    Ticket.objects.filter(pk=ticket.pk).update(needs_review=True)
    client = logged_in(agent)
    assert 'name="reviewed"' in client.get(page_url(ticket)).text
    # When the agent ticks "reviewed" in the triage form
    assert client.post(page_url(ticket, "triage"), {"reviewed": "on"}).status_code == 302
    # Then the mark is gone, the history says who cleared it, and the page no longer offers it
    ticket.refresh_from_db()
    assert ticket.needs_review is False
    assert ticket.events.get(field="needs_review").actor == agent
    assert 'name="reviewed"' not in client.get(page_url(ticket)).text


def test_entering_the_callback_number_clears_its_missing_badge(agent):
    # Given a customer who asked for a callback without a number
    ticket = ticket_in("support")
    Ticket.objects.filter(pk=ticket.pk).update(callback_requested=True, missing_callback_number=True)
    client = logged_in(agent)
    badge = '<span class="hd-missing">callback number missing</span>'
    assert badge in client.get(page_url(ticket)).text
    # When the agent enters the number the customer gave on the phone
    data = {"callback_requested": "on", "callback_number": "044 668 18 00"}
    assert client.post(page_url(ticket, "triage"), data).status_code == 302
    # Then the number is no longer missing
    ticket.refresh_from_db()
    assert (ticket.callback_number, ticket.missing_callback_number) == ("+41446681800", False)
    assert badge not in client.get(page_url(ticket)).text


def test_ticket_page_query_count_does_not_grow_with_its_tags(agent):
    # Given a ticket with one service tag and one with five
    one, five = ticket_in("support"), ticket_in("support")
    services.ticket_set_services(ticket=one, services=["email"])
    services.ticket_set_services(ticket=five, services=["email", "website", "ftp", "database", "domain"])
    client = logged_in(agent)
    client.get(page_url(one))
    # When the agent opens each
    counts, texts = [], []
    for ticket in (one, five):
        with CaptureQueriesContext(connection) as queries:
            texts.append(client.get(page_url(ticket)).text)
        counts.append(len(queries))
    # Then both pages take the same number of queries, and the header shows every tag
    assert counts[0] == counts[1]
    assert all(f'<span class="hd-tag">{slug}</span>' in texts[1] for slug in ("database", "ftp", "website"))


def test_merge_from_the_ticket_page(agent):
    source, target = ticket_in("support"), ticket_in("support")
    response = logged_in(agent).post(page_url(source, "merge"), {"target": f"#{target.reference}"})
    assert response["Location"] == page_url(target)
    source.refresh_from_db()
    assert source.merged_into == target


def test_merge_into_itself_is_refused(agent):
    ticket = ticket_in("support")
    response = logged_in(agent).post(page_url(ticket, "merge"), {"target": ticket.reference})
    assert response.status_code == 200
    assert "cannot merge a ticket into itself" in response.text


# --- customers --------------------------------------------------------------------------------------


def test_customer_page_lists_only_visible_tickets(agent):
    customer = CustomerFactory()
    mine = open_ticket(customer=customer)
    other = open_ticket(customer=customer)
    services.ticket_move(ticket=other, queue=Queue.objects.get(slug="billing"))
    text = logged_in(agent).get(f"/admin/helpdesk/customer/{customer.pk}/change/").text
    assert mine.reference in text
    assert other.reference not in text


def test_manager_merges_two_customers(manager):
    keep, drop = CustomerFactory(name="Keep"), CustomerFactory(name="Drop")
    ticket = open_ticket(customer=drop)
    client = logged_in(manager)
    data = {"action": "merge_customers", "_selected_action": [keep.pk, drop.pk]}
    confirm = client.post("/admin/helpdesk/customer/", data)
    assert confirm.status_code == 200
    assert "Choose the record that remains" in confirm.text
    client.post("/admin/helpdesk/customer/", {**data, "target": keep.pk})
    assert not Customer.objects.filter(pk=drop.pk).exists()
    ticket.refresh_from_db()
    assert ticket.customer == keep
    assert keep.emails.count() == 2


# --- mail bridge and triage pages -------------------------------------------------------------------


def failed_mail(ticket: Ticket | None = None, n: int = 1, status: str = OutboxStatus.FAILED) -> OutboxMail:
    return OutboxMail.objects.create(
        ticket=ticket, kind=OutboxKind.AGENT_REPLY, automatic=False, recipient="x@example.ch",
        to=["x@example.ch"], subject=f"mail {n}", text="t", message_id=f"<m{n}@x>", status=status,
        last_error="SMTP 550", from_address="support@hosting.example",
    )  # fmt: skip


def test_outbox_failed_filter_and_resend(admin_user):
    failed, sent = failed_mail(n=1), failed_mail(n=2, status=OutboxStatus.SENT)
    client = logged_in(admin_user)
    listing = client.get("/admin/mailbridge/outboxmail/?delivery=failed").text
    assert "mail 1" in listing
    assert "mail 2" not in listing
    client.post(
        "/admin/mailbridge/outboxmail/", {"action": "resend", "_selected_action": [failed.pk, sent.pk]}
    )
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, sent.status) == ("queued", "sent")


def test_mail_template_starts_from_the_default_text(admin_user):
    client = logged_in(admin_user)
    listing = client.get("/admin/mailbridge/mailtemplate/").text
    assert "?key=ack&amp;language=de" in listing
    form = client.get("/admin/mailbridge/mailtemplate/add/", {"key": "ack", "language": "de"}).text
    assert "Wir haben Ihre Nachricht erhalten" in form
    bad = {"key": "ack", "language": "de", "subject": "x", "body": "{% if %}"}
    response = client.post("/admin/mailbridge/mailtemplate/add/", bad)
    assert response.status_code == 200
    assert not MailTemplate.objects.exists()


def test_mailbox_poll_status(admin_user):
    Mailbox.objects.create(
        name="support", host="imap.example", username="u", address="support@hosting.example",
        last_poll_at=timezone.now(), last_poll_ok=False, last_error="LOGIN failed",
    )  # fmt: skip
    text = logged_in(admin_user).get("/admin/mailbridge/mailbox/").text
    assert "failed" in text
    assert "LOGIN failed" in text


def test_model_version_activation_and_read_only_corrections(admin_user):
    old = ModelVersion.objects.create(version="v1", sklearn_version="1", training_sha256="a", active=True,
                                      metrics={"micro_f1": 0.81}, blob=b"")  # fmt: skip
    # Activation loads the version first, so it needs a real model.
    blob = default_model().to_bytes()
    new = ModelVersion.objects.create(version="v2", sklearn_version="1", training_sha256="b",
                                      metrics={"micro_f1": 0.86}, blob=blob)  # fmt: skip
    client = logged_in(admin_user)
    assert "micro_f1 0.860" in client.get("/admin/triage/modelversion/").text
    client.post("/admin/triage/modelversion/", {"action": "activate", "_selected_action": [new.pk]})
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.active, new.active) == (False, True)
    assert client.get("/admin/triage/correction/add/").status_code == 403


# --- language -------------------------------------------------------------------------------------


def test_admin_index_links_the_dashboards_for_managers_only(manager, agent):
    # When a manager and an agent open the admin's index
    managers = logged_in(manager).get(reverse("admin:index")).text
    agents = logged_in(agent).get(reverse("admin:index")).text
    # Then only the manager is shown the way to the dashboards (in the index and the user links)
    link = f'href="{reverse("dashboard")}"'
    assert 'id="dashboards-module"' in managers
    assert 'id="dashboards-link"' in managers
    assert link not in agents
    # ... and both can choose the language there
    assert 'id="hd-language-form"' in managers
    assert 'id="hd-language-form"' in agents
    # ... under the product's name, not the framework's
    assert "<title>Tickets, mail and triage | Support desk</title>" in agents
    assert "Django administration" not in agents


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/helpdesk/customer/",
        "/admin/helpdesk/ticket/",
        "/admin/helpdesk/ticket/{ticket}/change/",
        "/admin/mailbridge/outboxmail/",
        "/admin/triage/modelversion/",
        "/admin/dashboard/",
    ],
)
def test_every_admin_page_offers_the_language_choice_once(manager, url):
    ticket = ticket_in("support")
    response = logged_in(manager).get(url.format(ticket=ticket.pk))
    assert response.status_code == 200
    assert response.text.count('id="hd-language-form"') == 1


@pytest.fixture
def compiled_locale(tmp_path: Path, settings) -> Path:
    """Compile the project's catalogues into a temporary directory (no .mo files are kept in the tree)."""
    if shutil.which("msgfmt") is None:
        pytest.skip("gettext's msgfmt is not installed")
    source = Path(__file__).resolve().parents[2] / "helpdesk" / "locale"
    for po in source.glob("*/LC_MESSAGES/django.po"):
        target = tmp_path / po.relative_to(source).with_suffix(".mo")
        target.parent.mkdir(parents=True)
        subprocess.run(["msgfmt", "--check", "-o", str(target), str(po)], check=True)
    settings.LOCALE_PATHS = [str(tmp_path)]
    return tmp_path


@pytest.mark.parametrize(
    ("language", "expected"), [("de", "Arbeitsliste"), ("fr", "Liste de travail"), ("it", "Lista di lavoro")]
)
def test_the_agent_chooses_the_interface_language(agent, compiled_locale, language, expected):
    ticket_in("support")
    client = logged_in(agent)
    response = client.post(
        reverse("admin:helpdesk_set_language"), {"language": language, "next": CHANGELIST}, follow=True
    )
    assert expected in response.text
    assert expected in client.get(CHANGELIST).text


def test_refusals_of_the_services_reach_the_agent_in_their_language(agent, compiled_locale):
    # Given an agent working in German
    ticket = ticket_in("support")
    client = logged_in(agent)
    client.post(reverse("admin:helpdesk_set_language"), {"language": "de", "next": CHANGELIST})
    # When a merge the ticket core refuses is tried
    response = client.post(page_url(ticket, "merge"), {"target": ticket.reference})
    # Then the reason is given in German
    assert "Ein Ticket kann nicht mit sich selbst zusammengeführt werden" in response.text
