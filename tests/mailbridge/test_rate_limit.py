"""The per-sender rate limit holds when several workers answer one sender at the same moment."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.db import connection

from mailbridge import outgoing
from mailbridge.models import OutboxMail
from tests.mailbridge.test_outgoing import customer_mail, support_mailbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL; SQLite has one writer"
)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_answering_one_sender_at_once_stay_within_the_limit(
    support_mailbox,  # noqa: F811
    settings,
    monkeypatch,
):
    # Given two new tickets of one sender, nothing sent yet, and a limit of one automatic mail per hour
    settings.MAILBRIDGE_AUTO_PER_HOUR = 100
    first = customer_mail(support_mailbox, sender="kunde@firma.ch", subject="Mail geht nicht")
    second = customer_mail(support_mailbox, sender="kunde@firma.ch", subject="Immer noch nicht")
    OutboxMail.objects.all().delete()
    settings.MAILBRIDGE_AUTO_PER_HOUR = 1
    # ... and a counter that lets both workers count before either queues, if nothing serialises them
    counted = threading.Barrier(2, timeout=2)
    real_count = outgoing.rate_limit_reached

    def count_then_wait(**kwargs: object) -> bool:
        reached = real_count(**kwargs)
        # A broken barrier means the other worker is held before it counts: the lock works.
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait()
        return reached

    monkeypatch.setattr(outgoing, "rate_limit_reached", count_then_wait)
    errors: list[BaseException] = []

    def answer(ticket_and_message: tuple) -> None:
        ticket, message = ticket_and_message
        try:
            outgoing.ticket_auto_respond(ticket=ticket, message=message, actions=[], new_ticket=True)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    # When two workers answer at the same moment
    workers = [threading.Thread(target=answer, args=(pair,)) for pair in (first, second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    # Then only one automatic mail was queued
    assert not errors
    assert OutboxMail.objects.filter(recipient="kunde@firma.ch", automatic=True).count() == 1
