"""From a mail's arrival in IMAP to our answer at the SMTP sink, over a burst of 500 mails; outbox throughput.

Runs the embedded default (tasks in-process): the IDLE listener ingests, triage runs, the acknowledgement
goes out through the outbox to a real SMTP server on loopback.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings

from bench.util import bench_database
from helpdesk.models import Ticket
from mailbridge import outgoing, services
from mailbridge.listener import mailbox_listen
from mailbridge.models import OutboxMail, OutboxStatus
from tests.mailbridge.mails import make_mail
from tests.mailserver import start_dovecot
from tests.smtpsink import SmtpSink

BODIES = [
    "E-Mail geht nicht",
    "Hello, our website shows 500 Internal Server Error since this morning.",
    "Bonjour, je n'arrive plus à me connecter au FTP: 530 Login incorrect.",
    "Bitte rufen Sie mich zurück, es ist dringend. 079 123 45 67",
    "Buongiorno, il sito non funziona più.",
]


def run(count: int = 500) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-dovecot-"))
    directory.chmod(0o755)
    server = start_dovecot(directory)
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    try:
        with bench_database():
            _latency(server, sink, count)
            _throughput(sink)
    finally:
        sink.stop()
        server.stop()


def _latency(server: object, sink: SmtpSink, count: int) -> None:
    mailbox = services.mailbox_create(name="bench", kind="support", url=server.url())  # type: ignore[attr-defined]
    stop = threading.Event()
    listener = threading.Thread(
        target=mailbox_listen, kwargs={"mailbox": mailbox, "stop": stop, "idle_seconds": 5}
    )
    listener.start()
    time.sleep(1)
    sent_at: dict[str, float] = {}
    with server.client() as client:  # type: ignore[attr-defined]
        for i in range(count):
            message_id = f"<burst-{i}@bench.example>"
            raw = make_mail(
                sender=f"kunde{i}@bench.example", body=BODIES[i % len(BODIES)], message_id=message_id
            )
            sent_at[message_id] = time.monotonic()
            client.append("INBOX", raw)
    deadline = time.monotonic() + 600
    while len(sink.received) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    listener.join(timeout=60)
    latencies = sorted(
        (r.at - sent_at[r.message["In-Reply-To"]]) * 1000
        for r in sink.received
        if r.message["In-Reply-To"] in sent_at
    )
    if not latencies:
        print(f"arrival to answer: no answers arrived ({Ticket.objects.count()} tickets)")
        return
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"arrival in IMAP to answer at SMTP ({len(latencies)}/{count} answered): "
        f"median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms"
    )


def _throughput(sink: SmtpSink, count: int = 500) -> None:
    """Queue and send agent replies (no rate limit) one by one, each over its own SMTP session."""
    before = len(sink.received)
    start = time.perf_counter()
    ids = [
        outgoing.outbox_queue(
            ticket=None,
            kind="ack",
            to=[f"t{i}@bench.example"],
            subject=f"Test {i}",
            text="x",
            automatic=False,
        ).pk
        for i in range(count)
    ]
    for outbox_id in ids:  # sends what the in-process tasks did not send yet
        outgoing.outbox_send(outbox_id=outbox_id)
    elapsed = time.perf_counter() - start
    sent = OutboxMail.objects.filter(pk__in=ids, status=OutboxStatus.SENT).count()
    arrived = len(sink.received) - before
    rate = sent / elapsed
    print(f"outbox throughput: {sent} mails in {elapsed:.2f} s = {rate:.0f} mails/s ({arrived} at the sink)")
