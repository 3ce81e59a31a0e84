"""The REST API: who sees what, filters, pagination, every write path and what bad input gets back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from helpdesk import services
from helpdesk.models import (
    Customer,
    Message,
    MessageKind,
    Queue,
    TagSource,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from mailbridge import services as mailbridge_services
from mailbridge.models import Mailbox, OutboxKind, OutboxMail
from tests.factories import CustomerFactory, UserFactory, message_data
from tests.mailbridge.mails import make_mail
from triage.models import Correction, TriageRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    # Throttle counters live in the cache, which outlives a test's transaction.
    cache.clear()


def member(*groups: str, queues: tuple[str, ...] = (), **fields: object) -> User:
    user = UserFactory.create(**fields)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    for slug in queues:
        Queue.objects.get(slug=slug).members.add(user)
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token = Token.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def ticket_in(queue: str, **message: object) -> Ticket:
    return services.ticket_open(
        customer=CustomerFactory.create(),
        queue=Queue.objects.get(slug=queue),
        message=message_data(**message),
    )


@pytest.fixture
def agent() -> User:
    return member("agents", queues=("support",), username="sam")


@pytest.fixture
def manager() -> User:
    return member("managers", username="mia")


@pytest.fixture
def form_user() -> User:
    # The account a web contact form posts with: it may open tickets and nothing else.
    user = UserFactory.create(username="contact-form", is_staff=False)
    user.user_permissions.add(
        Permission.objects.get(codename="add_ticket", content_type__app_label="helpdesk")
    )
    return user


def references(response: object) -> set[str]:
    return {row["reference"] for row in response.json()["results"]}  # type: ignore[attr-defined]


# --- authentication and per-queue permissions ------------------------------------------------------


def test_anonymous_requests_are_refused_with_401():
    response = APIClient().get("/api/tickets/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_agents_see_only_their_queues_tickets(agent: User):
    # Given a ticket in the agent's queue and one in another queue
    mine = ticket_in("support")
    other = ticket_in("emergency")
    client = client_for(agent)
    # When the agent lists and fetches tickets
    listed = client.get("/api/tickets/")
    # Then only their queue's ticket is there; the other one does not exist for them
    assert references(listed) == {mine.reference}
    assert client.get(f"/api/tickets/{mine.reference}/").status_code == 200
    assert client.get(f"/api/tickets/{other.reference}/").status_code == 404


def test_managers_see_every_queue(manager: User):
    tickets = {ticket_in("support").reference, ticket_in("emergency").reference}
    assert references(client_for(manager).get("/api/tickets/")) == tickets


def test_session_authentication_works_for_the_browser(agent: User):
    mine = ticket_in("support")
    client = APIClient()
    client.force_login(agent)
    assert references(client.get("/api/tickets/")) == {mine.reference}


def test_a_user_without_the_admin_permissions_gets_403():
    ticket_in("support")
    outsider = UserFactory.create(username="outsider")
    assert client_for(outsider).get("/api/tickets/").status_code == 403


def test_agents_cannot_change_tickets_of_other_queues(agent: User):
    other = ticket_in("emergency")
    response = client_for(agent).post(
        f"/api/tickets/{other.reference}/status/", {"status": "open"}, format="json"
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == TicketStatus.NEW


def test_retrieve_carries_messages_customer_and_latest_triage(agent: User):
    # Given a triaged ticket
    ticket = ticket_in("support", subject="Mail geht nicht")
    message = ticket.messages.get()
    TriageRun.objects.create(
        ticket=ticket, message=message, model_version="v-test", result={"services": ["email"]}, actions=[]
    )
    # When the agent fetches it
    body = client_for(agent).get(f"/api/tickets/{ticket.reference}/").json()
    # Then the conversation, the customer and triage's decision come with it
    assert [m["subject"] for m in body["messages"]] == ["Mail geht nicht"]
    assert body["customer_detail"]["emails"][0]["is_primary"] is True
    assert body["latest_triage"]["model_version"] == "v-test"
    assert body["latest_triage"]["result"] == {"services": ["email"]}


# --- filters, search and pagination ----------------------------------------------------------------


def test_filters_by_status_priority_queue_service_and_missing_information(manager: User):
    # Given tickets that differ in one respect each
    waiting = ticket_in("support")
    services.ticket_set_status(ticket=waiting, status=TicketStatus.WAITING)
    urgent = ticket_in("emergency")
    tagged = ticket_in("support")
    services.ticket_set_services(ticket=tagged, services=["ftp"], source=TagSource.MODEL)
    missing = ticket_in("support")
    Ticket.objects.filter(pk=missing.pk).update(missing_error_message=True)
    client = client_for(manager)
    # Then each filter finds exactly its ticket
    assert references(client.get("/api/tickets/", {"status": "waiting"})) == {waiting.reference}
    assert references(client.get("/api/tickets/", {"priority": "urgent"})) == {urgent.reference}
    assert references(client.get("/api/tickets/", {"queue": "emergency"})) == {urgent.reference}
    assert references(client.get("/api/tickets/", {"service": "ftp"})) == {tagged.reference}
    assert references(client.get("/api/tickets/", {"missing": "error_message"})) == {missing.reference}
    both = client.get("/api/tickets/?status=waiting&status=new&queue=emergency")
    assert references(both) == {urgent.reference}


def test_filters_by_customer_and_updated_since(manager: User):
    old = ticket_in("support")
    Ticket.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=3))
    recent = ticket_in("support")
    client = client_for(manager)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert references(client.get("/api/tickets/", {"updated_since": since})) == {recent.reference}
    assert references(client.get("/api/tickets/", {"customer": old.customer_id})) == {old.reference}


def test_search_finds_reference_subject_and_customer_address(manager: User):
    ticket = ticket_in("support", subject="FTP Upload bricht ab")
    ticket_in("support", subject="Rechnung")
    address = ticket.customer.emails.get().address
    client = client_for(manager)
    for term in (ticket.reference, "upload", address):
        assert references(client.get("/api/tickets/", {"search": term})) == {ticket.reference}


def test_cursor_pagination_walks_every_ticket_once(manager: User):
    made = {ticket_in("support").reference for _ in range(5)}
    client = client_for(manager)
    seen: list[str] = []
    url: str | None = "/api/tickets/?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [row["reference"] for row in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(made)


def test_forged_cursors_are_refused(manager: User):
    client = client_for(manager)
    for cursor in ("not-base64!", "cD1ub3QtYS1kYXRl"):  # the second decodes to p=not-a-date
        response = client.get("/api/tickets/", {"cursor": cursor})
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"priority": "1"}, "priority"),
        ({"queue": "nowhere"}, "queue"),
        ({"service": "teleportation"}, "service"),
        ({"missing": "everything"}, "missing"),
        ({"customer": "abc"}, "customer"),
        ({"customer": "1.5"}, "customer"),
        ({"customer": str(2**70)}, "customer"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "8944-07-07T23:42:55-17:58"}, None),
        ({"updated_since": "9999-12-31T23:59:59-10:00"}, "updated_since"),
    ],
)
def test_bad_filter_values_get_400_naming_the_parameter(
    manager: User, query: dict[str, str], field: str | None
):
    response = client_for(manager).get("/api/tickets/", query)
    if field is None:
        # Odd but valid (an offset PostgreSQL would refuse): read as the same instant in UTC.
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert field in response.json()


def test_nul_characters_are_refused_before_they_reach_the_database(manager: User):
    # PostgreSQL refuses NUL in text: each of these was a 500 before.
    client = client_for(manager)
    assert client.get("/api/tickets/", {"search": "a\x00b"}).json() == {
        "search": ["Null characters are not allowed."]
    }
    assert client.get("/api/customers/", {"search": "\x00"}).status_code == 400
    assert client.get("/api/tickets/", {"queue": "sup\x00port"}).status_code == 400
    assert client.get("/api/dashboard/", {"queue": "\x00"}).status_code == 400
    assert client.get("/api/tickets/%00/").status_code == 404
    assert client.get("/api/tickets/%00/").json() == {"detail": "Not found."}


# --- writes: each calls its service ----------------------------------------------------------------


def test_contact_form_opens_a_ticket_like_a_mail(form_user: User):
    # When a web form submits a request
    response = client_for(form_user).post(
        "/api/tickets/",
        {
            "name": "Rita Frei",
            "address": "rita@frei.example",
            "subject": "Website\r\n down",
            "text": "500 Error",
        },
        format="json",
    )
    # Then a ticket exists for a new customer, with the text as its first customer message
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get(reference=response.json()["reference"])
    assert ticket.queue.slug == "support"
    assert ticket.subject == "Website down"
    assert ticket.customer.emails.get().address == "rita@frei.example"
    assert ticket.messages.get().kind == MessageKind.CUSTOMER


def test_contact_form_may_choose_the_queue_and_language(form_user: User):
    body = {"address": "a@b.example", "subject": "Notfall", "text": "Alles weg", "queue": "emergency"}
    response = client_for(form_user).post("/api/tickets/", {**body, "language": "fr"}, format="json")
    assert response.status_code == 201
    assert response.json()["queue"] == "emergency"
    assert Customer.objects.get(emails__address="a@b.example").language == "fr"


def test_agents_may_not_open_tickets_through_the_api(agent: User):
    body = {"address": "a@b.example", "subject": "x", "text": "y"}
    assert client_for(agent).post("/api/tickets/", body, format="json").status_code == 403


def test_reply_queues_a_mail_to_the_customer(agent: User):
    ticket = ticket_in("support", from_address="kunde@example.ch")
    response = client_for(agent).post(
        f"/api/tickets/{ticket.reference}/reply/",
        {"text": "Bitte Passwort neu setzen.", "cc": []},
        format="json",
    )
    assert response.status_code == 202, response.json()
    outbox = OutboxMail.objects.get(pk=response.json()["id"])
    assert outbox.to == ["kunde@example.ch"]
    assert outbox.automatic is False
    reply = ticket.messages.get(kind=MessageKind.AGENT_REPLY)
    assert reply.author == agent
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None


def test_status_priority_and_assignee_changes_are_recorded(agent: User):
    ticket = ticket_in("support")
    client = client_for(agent)
    base = f"/api/tickets/{ticket.reference}"
    assert client.post(f"{base}/status/", {"status": "open"}, format="json").json()["status"] == "open"
    assert client.post(f"{base}/priority/", {"priority": "high"}, format="json").json()["priority"] == "high"
    assigned = client.post(f"{base}/assignee/", {"assignee": agent.pk}, format="json").json()
    assert assigned["assignee_username"] == "sam"
    unassigned = client.post(f"{base}/assignee/", {"assignee": None}, format="json").json()
    assert unassigned["assignee"] is None
    changes = set(TicketEvent.objects.filter(ticket=ticket, actor=agent).values_list("field", "new_value"))
    assert {("status", "open"), ("priority", "high"), ("assignee", "sam"), ("assignee", "")} <= changes


def test_assignee_must_work_the_tickets_queue(agent: User):
    ticket = ticket_in("support")
    stranger = member("agents", queues=("billing",), username="bea")
    response = client_for(agent).post(
        f"/api/tickets/{ticket.reference}/assignee/", {"assignee": stranger.pk}, format="json"
    )
    assert response.status_code == 400
    assert "assignee" in response.json()


def test_setting_services_records_a_correction_of_triage(agent: User):
    # Given a ticket the classifier tagged "email"
    ticket = ticket_in("support")
    TriageRun.objects.create(
        ticket=ticket, message=ticket.messages.get(), model_version="v1", result={"services": ["email"]}
    )
    services.ticket_set_services(ticket=ticket, services={"email": 0.9}, source=TagSource.MODEL)
    # When the agent says it is about the website
    response = client_for(agent).post(
        f"/api/tickets/{ticket.reference}/services/", {"services": ["website"]}, format="json"
    )
    # Then the tags change and the classifier gets a training example
    assert response.status_code == 200
    assert response.json()["services"] == [{"service": "website", "source": "agent", "confidence": None}]
    correction = Correction.objects.get(ticket=ticket)
    assert correction.predicted == {"services": ["email"]}
    assert correction.corrected == {"services": ["website"]}


# --- bad payloads: clear 400s, never a 500 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("status", {"status": 5}, "status"),
        ("status", {"status": "sleeping"}, "status"),
        ("status", {}, "status"),
        ("priority", {"priority": None}, "priority"),
        ("priority", {"priority": ["high"]}, "priority"),
        ("assignee", {"assignee": "sam"}, "assignee"),
        ("assignee", {"assignee": 2**70}, "assignee"),
        ("services", {"services": ["teleportation"]}, "services"),
        ("services", {"services": "email"}, "services"),
        ("services", {"services": [{"slug": "email"}]}, "services"),
        ("reply", {"text": "x" * 100_001}, "text"),
        ("reply", {"text": ""}, "text"),
        ("reply", {"text": "hi", "cc": ["not an address"]}, "cc"),
        ("reply", {"text": "nul \x00 byte"}, "text"),
        ("reply", [1, 2, 3], "non_field_errors"),
    ],
)
def test_bad_state_changes_get_400_with_field_messages(agent: User, path: str, payload: object, field: str):
    ticket = ticket_in("support")
    response = client_for(agent).post(f"/api/tickets/{ticket.reference}/{path}/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"address": "rita@frei.example", "subject": "s" * 501, "text": "t"}, "subject"),
        ({"address": "no-at-sign", "subject": "s", "text": "t"}, "address"),
        ({"address": "rita@frei.example", "subject": "s", "text": "t", "queue": "nowhere"}, "queue"),
        ({"address": "rita@frei.example", "subject": "s", "text": "t", "queue": "sup\x00port"}, "queue"),
        ({"address": "rita@frei.example", "subject": "s", "text": "t", "language": "xx"}, "language"),
        ({"address": "rita@frei.example", "subject": 12, "text": {"a": 1}}, "text"),
        ({"subject": "s", "text": "t"}, "address"),
    ],
)
def test_bad_submissions_get_400_with_field_messages(form_user: User, payload: dict[str, object], field: str):
    response = client_for(form_user).post("/api/tickets/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("field", ["queue", "language", "address"])
def test_lone_surrogates_in_json_are_refused(form_user: User, field: str):
    # Valid JSON, but text no database can store (and error messages that quote it must still encode).
    body = {"address": "a@b.example", "subject": "s", "text": "t", field: "x\\ud800"}
    raw = "{" + ", ".join(f'"{k}": "{v}"' for k, v in body.items()) + "}"
    response = client_for(form_user).post("/api/tickets/", raw, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()


def test_bodies_that_are_not_json_are_refused(agent: User):
    ticket = ticket_in("support")
    client = client_for(agent)
    url = f"/api/tickets/{ticket.reference}/status/"
    assert (
        client.post(url, "status=open", content_type="application/x-www-form-urlencoded").status_code == 415
    )
    broken = client.post(url, '{"status": "open"', content_type="application/json")
    assert broken.status_code == 400
    assert "detail" in broken.json()


def test_reply_without_any_customer_address_is_a_400(agent: User):
    ticket = ticket_in("support", from_address="")
    ticket.customer.emails.all().delete()
    response = client_for(agent).post(
        f"/api/tickets/{ticket.reference}/reply/", {"text": "Hallo"}, format="json"
    )
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


# --- customers, messages, attachments, mailboxes -----------------------------------------------------


def test_agents_see_customers_of_their_queues_only(agent: User):
    mine = ticket_in("support").customer
    ticket_in("emergency")
    listed = client_for(agent).get("/api/customers/").json()["results"]
    assert [c["id"] for c in listed] == [mine.pk]


def test_messages_are_listed_for_visible_tickets_and_filtered_by_ticket(agent: User):
    first = ticket_in("support", subject="one")
    ticket_in("support", subject="two")
    ticket_in("emergency", subject="hidden")
    client = client_for(agent)
    subjects = {m["subject"] for m in client.get("/api/messages/").json()["results"]}
    assert subjects == {"one", "two"}
    only = client.get("/api/messages/", {"ticket": first.reference}).json()["results"]
    assert [m["subject"] for m in only] == ["one"]


def test_attachment_download_is_a_download_never_a_page(agent: User):
    # Given an HTML attachment on a ticket of the agent's queue
    attachment_data = services.AttachmentData("page.html", "text/html", b"<script>alert(1)</script>")
    ticket = ticket_in("support", attachments=[attachment_data])
    attachment = Message.objects.get(ticket=ticket).attachments.get()
    # When the agent downloads it
    response = client_for(agent).get(f"/api/attachments/{attachment.pk}/download/")
    # Then the browser is told to save it, not to render or sniff it
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="page.html"' in response["Content-Disposition"]
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.getvalue() == b"<script>alert(1)</script>"


def test_attachments_of_other_queues_cannot_be_downloaded(agent: User):
    data = services.AttachmentData("log.txt", "text/plain", b"secret")
    ticket = ticket_in("emergency", attachments=[data])
    attachment = Message.objects.get(ticket=ticket).attachments.get()
    client = client_for(agent)
    assert client.get(f"/api/attachments/{attachment.pk}/download/").status_code == 404
    assert client.get("/api/attachments/").json()["results"] == []


def test_mailbox_status_is_for_managers(agent: User, manager: User):
    Mailbox.objects.create(
        name="support",
        host="imap.example",
        username="u",
        address="support@hosting.example",
        last_error="timeout",
    )
    assert client_for(agent).get("/api/mailboxes/").status_code == 403
    rows = client_for(manager).get("/api/mailboxes/").json()
    assert rows[0]["name"] == "support"
    assert rows[0]["last_error"] == "timeout"
    assert rows[0]["quarantined"] == 0
    assert "password" not in str(rows)
    assert "username" not in rows[0]


def test_dashboard_figures_are_for_managers(agent: User, manager: User):
    ticket_in("support")
    assert client_for(agent).get("/api/dashboard/").status_code == 403
    body = client_for(manager).get("/api/dashboard/", {"queue": "support"}).json()
    assert body["period"]["queue"] == "support"
    assert sum(row["new"] for row in body["volume"]) == 1
    assert {"backlog", "response_times", "detail_requests", "corrections", "emergency", "top_errors"} <= set(
        body
    )


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-02-30"},
        {"start": "2026-05-01", "end": "2026-04-01"},
        {"start": "1900-01-01"},
        {"queue": "x"},
    ],
)
def test_bad_dashboard_periods_get_400(manager: User, query: dict[str, str]):
    assert client_for(manager).get("/api/dashboard/", query).status_code == 400


def test_submissions_are_throttled(form_user: User, monkeypatch: pytest.MonkeyPatch):
    # Given a low submission rate
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"ticket_submit": "2/minute"})
    client = client_for(form_user)
    body = {"address": "a@b.example", "subject": "s", "text": "t"}
    # When a form posts three times within the minute
    codes = [client.post("/api/tickets/", body, format="json").status_code for _ in range(3)]
    # Then the third is refused until the window passes
    assert codes == [201, 201, 429]


def test_schema_and_docs_are_served_without_any_cdn(manager: User):
    client = APIClient()
    client.force_login(manager)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/tickets/{reference}/reply/" in schema.json()["paths"]
    docs = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn" not in docs.lower()


def _triaged(ticket: Ticket) -> dict[str, Any]:
    """What triage and the automatic answer left on a ticket, as compared between the channels."""
    ticket.refresh_from_db()
    [run] = TriageRun.objects.filter(ticket=ticket)
    [ack] = OutboxMail.objects.filter(ticket=ticket, automatic=True)
    return {
        "triaged_first_message": run.message_id == ticket.messages.get(kind=MessageKind.CUSTOMER).pk,
        "services": sorted(ticket.service_links.values_list("service__slug", flat=True)),
        "language": ticket.language,
        "status": ticket.status,
        "missing_error_message": ticket.missing_error_message,
        "ack_kind": ack.kind,
        "ack_language": ack.language,
        "ack_requested": sorted(ack.requested),
        "auto_replies_on_ticket": ticket.messages.filter(kind=MessageKind.AUTO_REPLY).count(),
    }


@pytest.mark.parametrize(
    ("language", "sent", "subject", "text", "acknowledged"),
    [
        (
            "fr",
            True,
            "Site web en panne",
            "Bonjour,\n\nmon site web ne fonctionne plus depuis ce matin, la page reste blanche.\n\nClaire",
            "Nous avons bien reçu votre message",
        ),
        (
            "de",
            False,  # the form does not know the language: triage detects it, as for a mail
            "E-Mail geht nicht",
            "Grüezi\n\nE-Mail geht nicht.\n\nMonika Huber",
            "Wir haben Ihre Nachricht erhalten",
        ),
    ],
)
def test_contact_form_ticket_is_triaged_and_acknowledged_exactly_like_a_mail(
    form_user: User,
    django_capture_on_commit_callbacks,
    language: str,
    sent: bool,
    subject: str,
    text: str,
    acknowledged: str,
):
    # Given the same request once as a mail into the support mailbox (tasks run in-process after commit)
    mailbox = mailbridge_services.mailbox_create(
        name="support", kind="support", url="imap://support%40hosting.example:x@127.0.0.1:1/INBOX"
    )
    with django_capture_on_commit_callbacks(execute=True):
        [inbound] = mailbridge_services.mail_import(
            mailbox=mailbox,
            raws=[make_mail(sender=f"Mail <mail-{language}@kunde.example>", subject=subject, body=text)],
        )
    assert inbound is not None
    assert inbound.ticket_message is not None
    by_mail = inbound.ticket_message.ticket
    # When a web contact form posts it (with the customer's language when the form knows it)
    body = {"name": "Form", "address": f"form-{language}@kunde.example", "subject": subject, "text": text}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(form_user).post(
            "/api/tickets/", {**body, "language": language} if sent else body, format="json"
        )
    assert response.status_code == 201, response.json()
    by_form = Ticket.objects.get(reference=response.json()["reference"])
    # Then triage ran on its message, tagged services and asked what is missing, as for the mail
    form_result = _triaged(by_form)
    assert form_result["triaged_first_message"] is True
    assert form_result["services"], "triage tagged no service"
    assert (form_result["language"], form_result["ack_kind"], form_result["ack_language"]) == (
        language,
        OutboxKind.ACKNOWLEDGEMENT,
        language,
    )
    assert form_result["auto_replies_on_ticket"] == 1
    assert form_result == _triaged(by_mail)
    # And the acknowledgement is the customer's language's template, tagged with the reference
    ack = OutboxMail.objects.get(ticket=by_form, automatic=True)
    assert ack.recipient == f"form-{language}@kunde.example"
    assert acknowledged in ack.subject
    assert by_form.subject_tag in ack.subject
