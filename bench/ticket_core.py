"""How fast the ticket core opens tickets and adds messages (one transaction each)."""

from __future__ import annotations

import time

from django.db import connection

from bench.util import bench_database, summary, timed
from helpdesk import selectors, services


def run(count: int = 500) -> None:
    with bench_database():
        queue = selectors.queue_get(slug="support")
        n = iter(range(10**9))

        def open_one() -> None:
            i = next(n)
            customer = services.customer_get_or_create(address=f"c{i}@bench.example", name=f"C {i}")
            services.ticket_open(
                customer=customer,
                queue=queue,
                message=services.MessageData(
                    from_address=f"c{i}@bench.example", subject="E-Mail geht nicht", text="E-Mail geht nicht"
                ),
            )

        start = time.perf_counter()
        times = timed(open_one, count)
        elapsed = time.perf_counter() - start
        print(f"ticket_open ({connection.vendor}): {count / elapsed:.0f} tickets/s; {summary(times)}")
