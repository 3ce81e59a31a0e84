"""Services of the ticket core: open, add, reopen, change with history, merge tickets and customers."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk import selectors, services
from helpdesk.models import (
    Attachment,
    CustomerEmail,
    CustomerPhone,
    Direction,
    MessageKind,
    Queue,
    Ticket,
    TicketStatus,
)
from tests.factories import CustomerFactory, UserFactory, message_data, open_ticket

pytestmark = pytest.mark.django_db


def test_references_are_sequential_per_year_and_never_reused():
    # Given two tickets, one of them deleted
    first = open_ticket()
    second = open_ticket()
    year = timezone.localdate().year
    assert first.reference == f"{year}-000001"
    assert second.reference == f"{year}-000002"
    second.delete()
    # When another ticket is opened
    third = open_ticket()
    # Then its number was never used before
    assert third.reference == f"{year}-000003"


def test_open_uses_queue_default_priority_and_customer_language():
    customer = CustomerFactory(language="fr")
    ticket = services.ticket_open(
        customer=customer, queue=Queue.objects.get(slug="emergency"), message=message_data()
    )
    assert ticket.priority == "urgent"
    assert ticket.language == "fr"
    assert ticket.last_customer_message_at is not None
    assert ticket.messages.count() == 1
    assert ticket.events.filter(field="status", new_value="new").exists()


def test_customer_found_by_any_address():
    customer = CustomerFactory()
    CustomerEmail.objects.create(customer=customer, address="Second@Example.ch")
    assert services.customer_get_or_create(address="second@example.CH") == customer
    fresh = services.customer_get_or_create(address="new@example.ch", name="Neu")
    assert fresh != customer
    assert fresh.emails.get().is_primary


def test_customers_of_many_addresses_found_or_created_in_one_go():
    # Given a known customer under a mixed-case address
    known = CustomerFactory()
    CustomerEmail.objects.create(customer=known, address="Second@Example.ch")
    # When the senders of a batch of mails are resolved, one of them twice in another case
    found = services.customers_get_or_create(
        senders=[("second@example.CH", "Anyone"), ("neu@example.ch", "Neu"), ("NEU@example.ch", "Other")]
    )
    # Then the known customer is found, the new one created once with its primary address
    assert set(found) == {"second@example.ch", "neu@example.ch"}
    assert found["second@example.ch"] == known
    fresh = found["neu@example.ch"]
    assert (fresh.name, fresh.emails.get().address, fresh.emails.get().is_primary) == (
        "Neu",
        "neu@example.ch",
        True,
    )
    assert services.customer_get_or_create(address="neu@example.ch") == fresh


def test_several_tickets_open_together_like_one_at_a_time():
    # Given one ticket opened the usual way
    first = open_ticket()
    customers = CustomerFactory.create_batch(2, language="fr")
    # When two more are opened together
    opened = services.tickets_open(
        openings=[
            services.TicketOpening(
                customer=c,
                queue=Queue.objects.get(slug="emergency"),
                message=message_data(message_id=f"<batch-{n}@example.ch>"),
            )
            for n, c in enumerate(customers)
        ]
    )
    # Then they carry the next references, with their first message, history and customer's data
    year = timezone.localdate().year
    assert first.reference == f"{year}-000001"
    assert [ticket.reference for ticket, _ in opened] == [f"{year}-000002", f"{year}-000003"]
    for (ticket, message), customer in zip(opened, customers, strict=True):
        ticket.refresh_from_db()
        assert (ticket.customer, ticket.priority, ticket.language) == (customer, "urgent", "fr")
        assert ticket.last_customer_message_at is not None
        assert list(ticket.messages.all()) == [message]
        assert ticket.events.filter(field="status", new_value="new").exists()


def test_bounced_addresses_marked_undeliverable_together():
    customer = CustomerFactory()
    CustomerEmail.objects.create(customer=customer, address="Gone@Example.ch")
    marked = services.customers_mark_undeliverable(addresses=["gone@example.CH", "unknown@example.ch"])
    assert marked == 1
    assert CustomerEmail.objects.get(address="Gone@Example.ch").undeliverable is True
    assert CustomerEmail.objects.filter(undeliverable=True).count() == 1


def test_message_add_stores_attachments_and_sanitises_html():
    ticket = open_ticket()
    message = services.message_add(
        ticket=ticket,
        message=message_data(
            message_id="<b@example.ch>",
            html='<p onclick="x()">Hi <script>alert(1)</script><img src="http://evil.example/t.gif"></p>',
            attachments=[services.AttachmentData("log.txt", "text/plain", b"550 5.1.1 user unknown")],
        ),
    )
    assert message.html == "<p>Hi </p>"
    attachment = Attachment.objects.get(message=message)
    assert attachment.size == 22
    assert attachment.sha256 == hashlib.sha256(b"550 5.1.1 user unknown").hexdigest()
    assert attachment.file.read() == b"550 5.1.1 user unknown"


def test_customer_reply_reopens_a_resolved_ticket():
    ticket = open_ticket()
    services.ticket_set_status(ticket=ticket, status=TicketStatus.RESOLVED)
    assert ticket.resolved_at is not None
    services.message_add(ticket=ticket, message=message_data(text="Geht immer noch nicht"))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.resolved_at is None
    assert list(ticket.events.values_list("field", "old_value", "new_value"))[-1] == (
        "status",
        "resolved",
        "open",
    )


def test_agent_reply_sets_first_response_once():
    ticket = open_ticket()
    agent = UserFactory()
    reply = message_data(direction=Direction.OUT, kind=MessageKind.AGENT_REPLY, text="Wir schauen nach.")
    services.message_add(ticket=ticket, message=reply, author=agent)
    first = Ticket.objects.get(pk=ticket.pk).first_response_at
    assert first is not None
    services.message_add(ticket=ticket, message=reply, author=agent)
    assert Ticket.objects.get(pk=ticket.pk).first_response_at == first


def test_reopen_window():
    ticket = open_ticket()
    services.ticket_set_status(ticket=ticket, status=TicketStatus.CLOSED)
    assert not services.ticket_reopen_window_passed(ticket=ticket)
    later = timezone.now() + timedelta(days=31)
    assert services.ticket_reopen_window_passed(ticket=ticket, now=later)


def test_changes_are_recorded_with_actor():
    ticket = open_ticket()
    agent = UserFactory(username="anna")
    services.ticket_set_priority(ticket=ticket, priority="high", actor=agent)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    services.ticket_move(ticket=ticket, queue=Queue.objects.get(slug="billing"), actor=agent)
    services.ticket_set_services(ticket=ticket, services=["email", "domain"], actor=agent)
    services.ticket_set_services(ticket=ticket, services=["email", "domain"], actor=agent)  # no change
    history = [(e.field, e.old_value, e.new_value, e.actor) for e in selectors.ticket_history(ticket=ticket)]
    assert history[1:] == [
        ("priority", "normal", "high", agent),
        ("assignee", "", "anna", agent),
        ("queue", "Support", "Accounts office", agent),
        ("services", "", "domain,email", agent),
    ]


def test_mark_reviewed_clears_the_mark_once_and_records_who():
    # Given a ticket triage was unsure about
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(needs_review=True)
    ticket.refresh_from_db()
    agent = UserFactory(username="anna")
    # When an agent marks it reviewed, twice
    services.ticket_mark_reviewed(ticket=ticket, actor=agent)
    services.ticket_mark_reviewed(ticket=ticket, actor=agent)
    # Then the mark is gone and the history holds one entry for it
    assert Ticket.objects.get(pk=ticket.pk).needs_review is False
    history = [(e.field, e.old_value, e.new_value, e.actor) for e in selectors.ticket_history(ticket=ticket)]
    assert history[-1] == ("needs_review", "True", "", agent)
    assert [e[0] for e in history].count("needs_review") == 1


def test_set_services_with_confidence_and_unknown_service():
    ticket = open_ticket()
    services.ticket_set_services(ticket=ticket, services={"email": 0.93}, source="model")
    link = ticket.service_links.get()
    assert (link.service.slug, link.source, link.confidence) == ("email", "model", 0.93)
    with pytest.raises(ValueError, match="unknown services: telephony"):
        services.ticket_set_services(ticket=ticket, services=["telephony"])


def test_merge_tickets_moves_messages_and_tags():
    customer = CustomerFactory()
    source = open_ticket(customer=customer, message_id="<1@x.ch>")
    target = open_ticket(customer=customer, message_id="<2@x.ch>")
    services.ticket_set_services(ticket=source, services=["ftp"])
    services.ticket_merge(source=source, target=target)
    source.refresh_from_db()
    assert source.status == TicketStatus.CLOSED
    assert source.merged_into == target
    assert set(target.messages.values_list("message_id", flat=True)) == {"<1@x.ch>", "<2@x.ch>"}
    assert list(target.service_links.values_list("service__slug", flat=True)) == ["ftp"]
    # A reference to the merged ticket leads to the survivor.
    assert selectors.ticket_find_by_reference(reference=source.reference) == target
    with pytest.raises(ValueError, match="into itself"):
        services.ticket_merge(source=target, target=target)


def test_merge_customers_keeps_all_tickets():
    keep = CustomerFactory(language="")
    gone = CustomerFactory(language="it", notes="VIP")
    CustomerPhone.objects.create(customer=gone, number="+41791234567")
    open_ticket(customer=keep)
    open_ticket(customer=gone)
    open_ticket(customer=gone)
    services.customer_merge(source=gone, target=keep)
    keep.refresh_from_db()
    assert keep.tickets.count() == 3
    assert keep.emails.count() == 2
    assert keep.emails.filter(is_primary=True).count() == 1
    assert list(keep.phones.values_list("number", flat=True)) == ["+41791234567"]
    assert keep.language == "it"
    assert "VIP" in keep.notes


def test_reference_in_subject_behind_any_prefix():
    assert selectors.reference_in_subject("AW: WG: RE:RE: [#2026-000123] Mails") == "2026-000123"
    assert selectors.reference_in_subject("Re: [ # 2026-000007 ]") == "2026-000007"
    assert selectors.reference_in_subject("Invoice 2026-000123") is None


def test_record_triage_stores_flags_history_and_callback_number():
    ticket = open_ticket()
    fields = services.TriageFields(
        language="de",
        missing_error_message=True,
        missing_problem_description=False,
        missing_callback_number=False,
        callback_requested=True,
        callback_number="+41791234567",
        error_message="",
        needs_review=False,
    )
    services.ticket_record_triage(ticket=ticket, fields=fields)
    ticket.refresh_from_db()
    assert ticket.missing_error_message
    assert ticket.callback_number == "+41791234567"
    assert list(ticket.customer.phones.values_list("number", flat=True)) == ["+41791234567"]
    changed = set(ticket.events.values_list("field", flat=True))
    assert {"missing_error_message", "callback_requested", "callback_number"} <= changed
    assert "language" not in changed  # the customer's language was already de


def test_submit_opens_a_ticket_and_announces_it(django_capture_on_commit_callbacks):
    from helpdesk.signals import customer_message_received

    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    customer_message_received.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            ticket = services.ticket_submit(
                name="Web Form",
                address="form@example.ch",
                subject="Kontaktformular",
                text="Meine Website ist down",
                queue=Queue.objects.get(slug="support"),
            )
        for callback in callbacks:
            callback()
    finally:
        customer_message_received.disconnect(receiver)
    assert ticket.customer.emails.get().address == "form@example.ch"
    assert [s["ticket_id"] for s in seen] == [ticket.pk]
    assert seen[0]["new_ticket"] is True


def test_internal_note_needs_text_and_is_not_a_customer_message():
    ticket = open_ticket()
    note = services.ticket_add_note(ticket=ticket, author=None, text="Kunde hat angerufen")
    assert note.kind == MessageKind.INTERNAL_NOTE
    with pytest.raises(ValueError, match="needs text"):
        services.ticket_add_note(ticket=ticket, author=None, text="  ")
