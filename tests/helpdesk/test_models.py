"""Database constraints of the ticket core."""

import pytest
from django.db import IntegrityError, transaction

from helpdesk.models import CustomerEmail, CustomerPhone, Message, MessageKind, TicketService, TicketStatus
from tests.factories import CustomerEmailFactory, CustomerFactory, open_ticket

pytestmark = pytest.mark.django_db


def test_email_address_is_unique_case_insensitively():
    CustomerEmailFactory(address="Info@Example.ch")
    with pytest.raises(IntegrityError):
        CustomerEmailFactory(address="info@example.CH")


def test_a_customer_has_at_most_one_primary_address():
    customer = CustomerFactory()
    with pytest.raises(IntegrityError):
        CustomerEmail.objects.create(customer=customer, address="second@example.ch", is_primary=True)


def test_phone_numbers_must_be_e164():
    customer = CustomerFactory()
    with pytest.raises(IntegrityError):
        CustomerPhone.objects.create(customer=customer, number="079 123 45 67")


def test_message_id_is_unique_where_present():
    ticket = open_ticket(message_id="<a@example.ch>")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            ticket=ticket, direction="in", kind=MessageKind.CUSTOMER, message_id="<a@example.ch>"
        )
    # Messages without a Message-ID (internal notes, some broken mail) are fine side by side.
    Message.objects.create(ticket=ticket, direction="in", kind=MessageKind.INTERNAL_NOTE)
    Message.objects.create(ticket=ticket, direction="in", kind=MessageKind.INTERNAL_NOTE)


def test_ticket_service_confidence_must_be_a_probability():
    ticket = open_ticket()
    with pytest.raises(IntegrityError):
        TicketService.objects.create(ticket=ticket, service_id=1, confidence=1.5)


def test_new_ticket_defaults():
    ticket = open_ticket()
    assert ticket.status == TicketStatus.NEW
    assert ticket.priority == "normal"
    assert str(ticket).startswith(f"[#{ticket.reference}]")
