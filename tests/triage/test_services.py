"""triage.services: storing what agents correct on a ticket."""

from __future__ import annotations

import pytest

from helpdesk.models import Ticket
from tests.factories import UserFactory, open_ticket
from triage import services

pytestmark = pytest.mark.django_db


def test_an_agents_callback_number_is_no_longer_missing():
    # Given a ticket whose customer asked for a callback without giving a number
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(callback_requested=True, missing_callback_number=True)
    ticket.refresh_from_db()
    agent = UserFactory(username="anna")
    # When the agent enters the number
    services.ticket_correct_flag(ticket=ticket, field="callback_number", value="+41446681800", agent=agent)
    # Then the number is stored and no longer reported missing, in the ticket's history too
    ticket.refresh_from_db()
    assert (ticket.callback_number, ticket.missing_callback_number) == ("+41446681800", False)
    assert ticket.events.get(field="missing_callback_number").actor == agent
