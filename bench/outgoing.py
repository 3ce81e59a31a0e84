"""From a mail's arrival in IMAP to our answer at the SMTP sink, over a burst of 500 mails; outbox throughput.

The burst runs the embedded default (no broker, tasks in-process): the IDLE listener ingests, triage runs,
the acknowledgement goes out through the outbox to a real SMTP server on loopback. With BENCH_BROKER_URL
(a broker database of its own, e.g. redis://127.0.0.1:6379/14) it runs a second time with a Celery worker
behind that broker, as deployed. A few mails go first so that every process has its triage model loaded.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.util import bench_database
from helpdesk.models import Ticket
from mailbridge import outgoing, services
from mailbridge.listener import mailbox_listen
from mailbridge.models import OutboxMail, OutboxStatus
from tests.mailbridge.mails import make_mail
from tests.mailserver import Dovecot, start_dovecot
from tests.smtpsink import SmtpSink, free_port
from triage.core import warm_up
from triage.services import active_model

BODIES = [
    "E-Mail geht nicht",
    "Hello, our website shows 500 Internal Server Error since this morning.",
    "Bonjour, je n'arrive plus à me connecter au FTP: 530 Login incorrect.",
    "Bitte rufen Sie mich zurück, es ist dringend. 079 123 45 67",
    "Buongiorno, il sito non funziona più.",
]
ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 6


def run(count: int = 500) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-dovecot-"))
    directory.chmod(0o755)
    server = start_dovecot(directory)
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    try:
        with bench_database():
            active_model()
            warm_up()
            _latency(server, sink, count, "in-process tasks")
            broker = os.environ.get("BENCH_BROKER_URL")
            if broker:
                server.clear()
                with _worker(broker, sink.port):
                    _latency(server, sink, count, "one Celery worker (2 processes)", sender="w")
            _throughput(sink)
            _backlog(sink)
    finally:
        sink.stop()
        server.stop()


def _latency(server: Dovecot, sink: SmtpSink, count: int, mode: str, sender: str = "k") -> None:
    mailbox = services.mailbox_create(name=f"bench-{sender}", kind="support", url=server.url())
    stop = threading.Event()
    listener = threading.Thread(
        target=mailbox_listen, kwargs={"mailbox": mailbox, "stop": stop, "idle_seconds": 5}
    )
    listener.start()
    # A few mails first, so that every process has its triage model loaded, as in service.
    warm, _ = _burst(server, sink, f"warm-{sender}", WARM_UP, timeout=120)
    if len([r for r in sink.received if r.message["In-Reply-To"] in warm]) < WARM_UP:
        raise RuntimeError(f"{mode}: the warm-up mails were not all answered")
    start = time.monotonic()
    before = len(sink.received)
    sent_at, appended = _burst(server, sink, sender, count)
    stop.set()
    listener.join(timeout=60)
    answers = [r for r in sink.received[before:] if r.message["In-Reply-To"] in sent_at]
    latencies = sorted((r.at - sent_at[r.message["In-Reply-To"]]) * 1000 for r in answers)
    if not latencies:
        print(f"{mode}: no answers arrived ({Ticket.objects.count()} tickets)")
        return
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    last = max(r.at for r in answers) - start
    print(
        f"{mode}: arrival in IMAP to answer at SMTP ({len(latencies)}/{count} answered, burst appended "
        f"in {appended:.1f} s, last answer after {last:.1f} s = {len(latencies) / last:.0f} mails/s): "
        f"median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms"
    )


def _burst(
    server: Dovecot, sink: SmtpSink, sender: str, count: int, timeout: float = 900
) -> tuple[dict[str, float], float]:
    """Append the mails to the inbox as fast as IMAP takes them; wait for the answers."""
    before = len(sink.received)
    sent_at: dict[str, float] = {}
    start = time.monotonic()
    with server.client() as client:
        for i in range(count):
            message_id = f"<burst-{sender}{i}@bench.example>"
            raw = make_mail(
                sender=f"{sender}{i}@bench.example", body=BODIES[i % len(BODIES)], message_id=message_id
            )
            sent_at[message_id] = time.monotonic()
            client.append("INBOX", raw)
    appended = time.monotonic() - start
    deadline = time.monotonic() + timeout
    while len(sink.received) - before < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return sent_at, appended


@contextmanager
def _worker(broker: str, smtp_port: int) -> Iterator[None]:
    """Run a Celery worker on the bench database and send this process's tasks to it."""
    from kombu import pools

    from helpdesk.celery import app

    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        CELERY_BROKER_URL=broker,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        LOG_LEVEL="WARNING",
    )
    command = [
        *(sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--concurrency=2"),
        *("--loglevel=WARNING", "--without-gossip", "--without-mingle", "--hostname=bench@%h"),
    ]

    def fresh_connections() -> None:
        # Connection pools built for the broker-less setting must not be reused.
        pools.reset()
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]

    app.conf.update(broker_url=broker, task_always_eager=False)
    fresh_connections()
    # Tasks left in the broker by an interrupted run point into a dropped database.
    app.control.purge()
    worker = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=1.0):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError("the Celery worker did not start")
        yield
    finally:
        app.conf.update(broker_url=None, task_always_eager=True)
        fresh_connections()
        worker.terminate()
        worker.wait(timeout=30)


def _throughput(sink: SmtpSink, count: int = 500) -> None:
    """Queue and send agent replies (no rate limit), each by its task over its own SMTP session."""
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
    elapsed = time.perf_counter() - start
    sent = OutboxMail.objects.filter(pk__in=ids, status=OutboxStatus.SENT).count()
    arrived = len(sink.received) - before
    print(
        f"outbox throughput, a task per mail: {sent} mails queued and sent in {elapsed:.2f} s "
        f"= {sent / elapsed:.0f} mails/s ({arrived} at the sink)"
    )


def _backlog(sink: SmtpSink, count: int = 500) -> None:
    """Queue mails while the SMTP server is down, then time the backlog going out over one session."""
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there: every mail fails once and waits
    ids = [
        outgoing.outbox_queue(
            ticket=None,
            kind="ack",
            to=[f"b{i}@bench.example"],
            subject=f"Later {i}",
            text="x",
            automatic=False,
        ).pk
        for i in range(count)
    ]
    settings.EMAIL_PORT = port
    # Their retries are due now.
    OutboxMail.objects.filter(pk__in=ids, status=OutboxStatus.QUEUED).update(claimed_until=timezone.now())
    before = len(sink.received)
    start = time.perf_counter()
    sent = outgoing.outbox_send_due(limit=count)
    elapsed = time.perf_counter() - start
    arrived = len(sink.received) - before
    print(
        f"outbox throughput, backlog after an outage over one SMTP session: {sent} mails in {elapsed:.2f} s "
        f"= {sent / elapsed:.0f} mails/s ({arrived} at the sink)"
    )
