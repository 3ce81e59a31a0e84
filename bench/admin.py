"""The agent workspace at 100,000 tickets: ticket list and ticket page response times (median, p95).

Fills a throw-away database with bulk_create (customers, addresses, tickets, messages, service tags,
history), then requests the admin pages through Django's test client as a manager (all queues) and as an
agent (one queue), counting queries per page.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment, teardown_test_environment
from django.utils import timezone

from bench.util import bench_database, summary, timed
from helpdesk.models import (
    Customer,
    CustomerEmail,
    Message,
    Queue,
    ServiceTag,
    Ticket,
    TicketEvent,
    TicketService,
    TicketStatus,
)

BATCH = 5000
STATUSES = [
    TicketStatus.NEW,
    TicketStatus.OPEN,
    TicketStatus.WAITING,
    TicketStatus.RESOLVED,
    TicketStatus.CLOSED,
]
WEIGHTS = [5, 10, 10, 35, 40]
THREAD = [
    ("in", "customer", "Seit heute geht keine Mail mehr raus."),
    ("out", "auto_reply", "Wir haben Ihre Nachricht erhalten."),
    ("out", "agent_reply", "Bitte senden Sie uns die genaue Fehlermeldung."),
]


def _fill(tickets: int, rng: random.Random) -> User:
    queues = list(Queue.objects.all())
    tags = list(ServiceTag.objects.all())
    agent = User.objects.create_user("bench-agent", is_staff=True)
    agent.groups.add(Group.objects.get(name="agents"))
    queues[0].members.add(agent)
    customers = Customer.objects.bulk_create(
        (
            Customer(name=f"Kunde {i}", language=rng.choice(["de", "en", "fr", "it"]))
            for i in range(tickets // 4)
        ),
        batch_size=BATCH,
    )
    CustomerEmail.objects.bulk_create(
        (CustomerEmail(customer=c, address=f"kunde{c.pk}@bench.example", is_primary=True) for c in customers),
        batch_size=BATCH,
    )
    now = timezone.now()
    rows = Ticket.objects.bulk_create(
        (
            Ticket(
                reference=f"2025-{i + 1:06d}",
                subject=f"E-Mail geht nicht ({i})",
                customer=rng.choice(customers),
                queue=rng.choice(queues),
                status=rng.choices(STATUSES, WEIGHTS)[0],
                assignee=agent if i % 7 == 0 else None,
                missing_error_message=i % 3 == 0,
                needs_review=i % 11 == 0,
                created_at=now - timedelta(minutes=i * 5),
            )
            for i in range(tickets)
        ),
        batch_size=BATCH,
    )
    _fill_children(rows, tags, rng)
    return agent


def _fill_children(tickets: list[Ticket], tags: list[ServiceTag], rng: random.Random) -> None:
    Message.objects.bulk_create(
        (
            Message(
                ticket=t, direction=direction, kind=kind, from_address="kunde@bench.example",
                subject=t.subject, text=body, reply_text=body, created_at=t.created_at + timedelta(minutes=n),
            )
            for t in tickets
            for n, (direction, kind, text) in enumerate(THREAD[: rng.randint(1, 3)])
            for body in [_quote_error_code(text, kind, rng)]
        ),
        batch_size=BATCH,
    )  # fmt: skip
    TicketService.objects.bulk_create(
        (
            TicketService(ticket=t, service=tag, source="model", confidence=round(rng.random(), 2))
            for t in tickets
            for tag in rng.sample(tags, rng.randint(0, 2))
        ),
        batch_size=BATCH,
    )
    TicketEvent.objects.bulk_create(
        (TicketEvent(ticket=t, field="status", old_value="", new_value="new") for t in tickets),
        batch_size=BATCH,
    )


def _quote_error_code(text: str, kind: str, rng: random.Random) -> str:
    # Customers quote error codes: searching for one must find a handful of 100,000 tickets.
    return f"{text} Fehlercode {rng.randint(10_000, 99_999)}." if kind == "customer" else text


def _measure(label: str, client: Client, urls: Callable[[], str], repeat: int) -> None:
    client.get(urls())  # warm the caches (templates, permissions) before timing
    queries = 0

    def count(execute: Callable[..., object], *args: object) -> object:
        nonlocal queries
        queries += 1
        return execute(*args)

    with connection.execute_wrapper(count):
        client.get(urls())
    statuses: set[int] = set()

    def one() -> None:
        statuses.add(client.get(urls()).status_code)

    times = timed(one, repeat)
    print(f"{label}: {summary(times)}, {queries} queries, HTTP {sorted(statuses)}")


def run(tickets: int = 100_000, repeat: int = 40) -> None:
    rng = random.Random(6)
    with bench_database():
        setup_test_environment(debug=False)
        try:
            start = time.perf_counter()
            agent = _fill(tickets, rng)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            print(f"filled {Ticket.objects.count()} tickets, {Message.objects.count()} messages "
                  f"on {connection.vendor} in {time.perf_counter() - start:.0f} s")  # fmt: skip
            _run_pages(agent, rng, repeat)
        finally:
            teardown_test_environment()


def _run_pages(agent: User, rng: random.Random, repeat: int) -> None:
    manager = User.objects.create_superuser("bench-manager", "m@bench.example", None)
    as_manager, as_agent = Client(), Client()
    as_manager.force_login(manager)
    as_agent.force_login(agent)
    ids = list(Ticket.objects.values_list("pk", flat=True))
    agent_ids = list(Ticket.objects.filter(queue__members=agent).values_list("pk", flat=True))
    addresses = list(CustomerEmail.objects.values_list("address", flat=True)[:5000])
    base = "/admin/helpdesk/ticket/"
    pages = [
        ("ticket list, manager, 50 rows", as_manager, lambda: base),
        ("ticket list, manager, page 200", as_manager, lambda: f"{base}?p=200"),
        ("ticket list, agent, not resolved + email", as_agent, lambda: f"{base}?work=open&service=email"),
        ("ticket list, agent, assigned to me", as_agent, lambda: f"{base}?work=mine"),
        ("ticket list, search reference", as_manager, lambda: f"{base}?q=2025-{rng.randint(1, 99999):06d}"),
        ("ticket list, search by address", as_manager, lambda: f"{base}?q={rng.choice(addresses)}"),
        ("ticket list, search message text", as_manager, lambda: f"{base}?q={rng.randint(10_000, 99_999)}"),
        ("ticket list, search common word", as_manager, lambda: f"{base}?q=Fehlermeldung"),
        ("ticket page, manager", as_manager, lambda: f"{base}{rng.choice(ids)}/change/"),
        ("ticket page, agent", as_agent, lambda: f"{base}{rng.choice(agent_ids)}/change/"),
    ]  # fmt: skip
    for label, client, url in pages:
        _measure(label, client, url, repeat)
