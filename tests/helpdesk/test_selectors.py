"""Read operations of the ticket core: the desk's free-text search."""

from __future__ import annotations

import pytest
from django.db import connection

from helpdesk import selectors
from helpdesk.models import CustomerEmail, Ticket
from tests.factories import CustomerFactory, open_ticket

pytestmark = pytest.mark.django_db
TRIGRAM_INDEXES = {
    "ticket_reference_trgm",
    "ticket_subject_trgm",
    "customer_name_trgm",
    "customeremail_address_trgm",
    "message_text_trgm",
}


def found(term: str) -> set[str]:
    return set(
        selectors.ticket_search(tickets=Ticket.objects.all(), term=term).values_list("subject", flat=True)
    )


def test_search_finds_each_word_in_any_field_and_every_word():
    # Given tickets whose words are spread over subject, customer, address and message text
    customer = CustomerFactory(name="Monika Huber")
    CustomerEmail.objects.create(customer=customer, address="buchhaltung@baeckerei.example")
    open_ticket(customer=customer, subject="Drucker", text="Fehler 4711 beim Senden")
    open_ticket(subject="Webseite", text="Fehler 500")
    # When searching, Then a ticket must hold every word, each in any field
    assert found("huber 4711") == {"Drucker"}
    assert found("Fehler") == {"Drucker", "Webseite"}
    assert found("buchhaltung@baeckerei fehler") == {"Drucker"}
    assert found('"Fehler 500"') == {"Webseite"}
    assert found("Fehler 500 Huber") == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only")
def test_search_can_be_served_by_the_trigram_indexes():
    # Given a search query (the few test rows would be read whole, so forbid that to see what may serve it)
    query = selectors.ticket_search(tickets=Ticket.objects.all(), term="550 relay")
    sql, params = query.query.sql_with_params()
    # When PostgreSQL plans it reading no table or index from end to end
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Then every searched column is read through its trigram index
    assert {name for name in TRIGRAM_INDEXES if name in plan} == TRIGRAM_INDEXES
