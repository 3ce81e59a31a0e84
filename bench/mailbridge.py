"""End-to-end ingestion of 2,000 real-world mails from a real Dovecot into tickets on PostgreSQL.

Measured: one poll cycle, from its first IMAP command to its last UID MOVE, with every mail stored
raw (committed), parsed, filed into a ticket or quarantined with its reason (committed), and moved.
Besides the polling process, HELPERS Celery workers (solo pool, Redis broker) ingest in parallel,
woken by the poll's mailbridge.ingest_pending hand-offs, as in production. Start-up is not measured:
the worker is ready and this process has imported the task modules, as a running worker has.

Triage is handed off as in production too: each new customer message queues its Celery task on
commit to Redis, so the enqueue cost is in the figures; no worker runs triage here (it has its own
bench), so its work is not.

The mails: the shared corpora (imap_tools, bounce reports, the reply-trimmer bodies sent as customer
mails), shuffled and repeated to 2,000, each with a fresh Message-ID. The three mails that stop
django-helpdesk are among them; the bench checks that they and every mail after them were finished.
Also printed: the raw IMAP fetch rate of the same mails (the ceiling), peak memory, queries and
transactions per mail, and where the CPU went, from which the "limited by" line is derived.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import random
import re
import resource
import tempfile
import time
import tracemalloc
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import redis
from django.db import connection, connections
from django.test import override_settings

from bench.util import bench_database, peak_rss_mb
from helpdesk.celery import app
from helpdesk.models import Ticket
from mailbridge import ingest, services
from mailbridge.imap import ImapSession
from mailbridge.models import InboundMail, InboundStatus, Mailbox
from tests.mailserver import USERS, start_dovecot

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"
POISON = (
    "imap_tools/messages/attachment_8bit.eml",
    "imap_tools/messages/error_emails/missing_content_disposition.eml",
    "imap_tools/messages/plain_emails/raw_email10.eml",
)
HELPERS = 1  # with the polling process: two processes for the machine's two cores
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\n]*\n(?:[ \t][^\n]*\n)*", re.IGNORECASE | re.MULTILINE)
_TICKS = os.sysconf("SC_CLK_TCK")


# --- the mails ---------------------------------------------------------------------------------------


def corpus() -> list[tuple[str, bytes]]:
    """Return (name, raw) of every real mail in the shared corpora."""
    files = sorted(SHARED.glob("imap_tools/messages/**/*.eml")) + sorted(SHARED.glob("bounces/maildir/*.eml"))
    mails = [(str(f.relative_to(SHARED)), f.read_bytes()) for f in files]
    # The reply-trimmer corpus holds real reply bodies without headers: send each as a customer's mail.
    for n, body in enumerate(sorted(SHARED.glob("reply-trimmer/emails/*"))):
        mails.append((str(body.relative_to(SHARED)), _as_customer_mail(body.read_bytes(), n)))
    return mails


def _as_customer_mail(body: bytes, n: int) -> bytes:
    header = (
        f"From: Kundin {n} <kundin{n}@customer.example>\r\nTo: support@hosting.example\r\n"
        f"Subject: Re: E-Mail geht nicht ({n})\r\nDate: Tue, 03 Nov 2026 10:14:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return header.encode() + body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def workload(mails: list[tuple[str, bytes]], count: int, tag: str) -> list[tuple[str, bytes]]:
    """Return count mails: the corpus repeated and shuffled, each with a fresh Message-ID."""
    picked = [mails[i % len(mails)] for i in range(count)]
    random.Random(count).shuffle(picked)
    return [
        (name, _fresh_message_id(raw, f"<bench-{tag}-{n}@bench.example>"))
        for n, (name, raw) in enumerate(picked)
    ]


def _fresh_message_id(raw: bytes, message_id: str) -> bytes:
    # Only the mail's own header: bounces quote the Message-ID of the mail they return in their body.
    end = _HEADER_END.search(raw)
    head, rest = (raw[: end.start()] + b"\n", raw[end.start() :]) if end else (raw + b"\n", b"")
    return f"Message-ID: {message_id}\r\n".encode() + _MESSAGE_ID.sub(b"", head).rstrip(b"\r\n") + rest


# --- measuring ---------------------------------------------------------------------------------------


class QueryCounter:
    """An execute wrapper that counts the statements sent to the database (savepoints included)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


@dataclass
class Usage:
    """What one ingesting process used: CPU of its own and of its database backend, queries, parsing."""

    cpu: float = 0.0
    database_cpu: float = 0.0
    queries: int = 0
    parse_seconds: float = 0.0
    parsed: int = 0
    rss_mb: float = 0.0  # peak, over the process's life
    start_rss_mb: float = 0.0  # when the measurement started: Django, Celery, triage's libraries
    tasks: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.cpu + other.cpu,
            self.database_cpu + other.database_cpu,
            self.queries + other.queries,
            self.parse_seconds + other.parse_seconds,
            self.parsed + other.parsed,
            max(self.rss_mb, other.rss_mb),
            max(self.start_rss_mb, other.start_rss_mb),
            self.tasks + other.tasks,
        )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int, *, children: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / _TICKS


def _tree_cpu(root: int) -> float:
    """CPU of a process and all its descendants, including those that exited and were reaped."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    return sum(_proc_cpu(pid, children=True) for pid in tree)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _redis_cpu() -> float:
    """CPU of the Redis server (the broker), which is no child of ours."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "redis-server":
                total += _proc_cpu(int(comm.parent.name))
        except (OSError, ValueError):
            continue
    return total


def _machine_busy() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / _TICKS


class Meter:
    """Counts this process's queries, CPU, its database backend's CPU and its parse time, from start()."""

    def __init__(self) -> None:
        self.usage = Usage()
        self._counter = QueryCounter()
        self._backend = 0
        self._cpu = self._database_cpu = 0.0

    def start(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self._backend = int(cursor.fetchone()[0])
        self.usage, self._counter.count = Usage(start_rss_mb=_rss_mb()), 0
        self._cpu, self._database_cpu = _own_cpu(), _proc_cpu(self._backend)

    def stop(self) -> Usage:
        self.usage.cpu = _own_cpu() - self._cpu
        self.usage.database_cpu = _proc_cpu(self._backend) - self._database_cpu
        self.usage.queries = self._counter.count
        self.usage.rss_mb = peak_rss_mb()
        return self.usage

    @contextmanager
    def installed(self) -> Iterator[Meter]:
        original = ingest.parse_mail

        def timed_parse(raw: bytes) -> Any:
            start = time.thread_time()  # CPU time: other processes on the machine must not count
            try:
                return original(raw)
            finally:
                self.usage.parse_seconds += time.thread_time() - start
                self.usage.parsed += 1

        ingest.parse_mail = timed_parse
        try:
            with connection.execute_wrapper(self._counter):
                yield self
        finally:
            ingest.parse_mail = original


def _transactions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


# --- Celery: triage queued, ingest hand-offs served by real workers -------------------------------------


@dataclass
class Broker:
    triage_queue: str
    ingest_queue: str
    client: redis.Redis

    def length(self, queue: str) -> int:
        return int(self.client.llen(queue))


@contextmanager
def celery_on_redis() -> Iterator[Broker]:
    """Send tasks to Redis instead of running them in-process: triage to a queue nobody reads."""
    tag = uuid.uuid4().hex[:8]
    broker = Broker(f"bench-triage-{tag}", f"bench-ingest-{tag}", redis.Redis.from_url(BROKER))
    try:
        broker.client.ping()
    except redis.RedisError as exc:
        raise RuntimeError(
            f"this bench sends tasks through Redis at {BROKER} (BENCH_REDIS_URL): {exc}"
        ) from exc
    changed = {
        "broker_url": BROKER,
        "task_always_eager": False,
        "task_default_queue": broker.triage_queue,
        "task_routes": {"mailbridge.ingest_pending": {"queue": broker.ingest_queue}},
        "worker_enable_remote_control": False,  # no pidbox keys left behind in Redis
    }
    saved = {key: app.conf[key] for key in changed}
    # Nothing went through a broker before (tasks ran in-process): no connection pool holds the old URL.
    app.conf.update(changed)
    try:
        yield broker
    finally:
        app.conf.update(saved)
        for queue in (broker.triage_queue, broker.ingest_queue):
            broker.client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def _worker(queue: str, ready: Event, results: Connection) -> None:
    """Run a Celery worker on the ingest queue in this (forked) process; report its usage when stopped."""
    from celery.exceptions import SecurityWarning
    from celery.signals import task_postrun, worker_ready

    warnings.filterwarnings("ignore", category=SecurityWarning)  # root on a bench machine
    meter = Meter()

    def on_ready(**_: Any) -> None:
        meter.start()  # from here on: the worker's start-up is not the ingestion's cost
        ready.set()

    worker_ready.connect(on_ready, weak=False)
    # Keep one connection (Celery closes it after each task otherwise), so that its backend's CPU can
    # be read; a connection per task would cost 20 reconnects here, nothing that matters.
    connection.settings_dict["CONN_MAX_AGE"] = None
    with meter.installed():
        task_postrun.connect(lambda **_: setattr(meter.usage, "tasks", meter.usage.tasks + 1), weak=False)
        with contextlib.suppress(SystemExit):  # how the worker ends after the warm shutdown
            app.worker_main(
                ["--quiet", "worker", "--pool=solo", "-Q", queue, "--loglevel=WARNING", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", f"--hostname=bench-{queue}-{os.getpid()}@%h"]
            )  # fmt: skip
        usage = meter.stop()
    results.send(usage)
    connection.close()


@contextmanager
def ingest_workers(broker: Broker, count: int) -> Iterator[list[Usage]]:
    """Start count Celery workers on the ingest queue; fill the list with their usage when they stop."""
    context = multiprocessing.get_context("fork")
    connections.close_all()  # each worker opens its own connection
    started = []
    for _ in range(count):
        ready, (receiver, sender) = context.Event(), context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(broker.ingest_queue, ready, sender), daemon=True)
        process.start()
        if not ready.wait(30):
            raise RuntimeError("the Celery worker did not start within 30 s")
        started.append((process, receiver))
    usages: list[Usage] = []
    try:
        yield usages
    finally:
        for process, _ in started:
            if process.pid is not None:
                os.kill(process.pid, 15)  # warm shutdown: the running task finishes first
        for process, receiver in started:
            if receiver.poll(30):
                usages.append(receiver.recv())
            process.join(10)


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class Run:
    count: int
    seconds: float
    report: services.PollReport
    main: Usage
    workers: list[Usage]
    transactions: int
    dovecot_cpu: float
    redis_cpu: float
    machine_busy: float
    outcome: dict[str, Any] = field(default_factory=dict)


def run(count: int = 2000) -> None:
    mails = corpus()
    if not mails:
        print(f"skipped: no corpora at {SHARED}")
        return
    names = {name for name, _ in mails}
    missing = [name for name in POISON if name not in names]
    assert not missing, f"the poison mails are missing from the corpus: {missing}"
    # A Celery worker imports its task modules when it starts; so does this process, before the clock runs.
    for module in ("mailbridge.tasks", "triage.tasks"):
        importlib.import_module(module)
    first = workload(mails, count, "a")
    traced = workload(mails, count, "b")
    directory = Path(tempfile.mkdtemp(prefix="bench-dovecot-"))
    directory.chmod(0o755)
    server = start_dovecot(directory)
    logging.getLogger("mailbridge").setLevel(logging.ERROR)  # quarantine reasons are stored; no tracebacks
    try:
        server.append_many([raw for _, raw in first], user=USERS[0])
        server.append_many([raw for _, raw in traced], user=USERS[1])
        print(f"{count} mails from {len(mails)} corpus mails, {len(POISON)} poison mails among them")
        with bench_database(), override_settings(DEBUG=False), celery_on_redis() as broker:
            mailbox = services.mailbox_create(name="bench", kind="support", url=server.url(USERS[0]))
            _fetch_ceiling(mailbox, count)
            transactions = _transactions()
            with ingest_workers(broker, HELPERS) as worker_usage:
                timed = _poll(mailbox, server.process.pid)
            time.sleep(1.2)  # PostgreSQL publishes a backend's counters at most once a second
            timed.transactions = _transactions() - transactions
            timed.workers = worker_usage
            timed.outcome = _check(mailbox, first, broker, server)
            _print(timed, broker)
            # Heap figures need tracemalloc, which slows Python down: a second pass, on other mails.
            second = services.mailbox_create(name="bench-traced", kind="support", url=server.url(USERS[1]))
            with ingest_workers(broker, HELPERS):
                tracemalloc.start()
                heap = _poll(second, server.process.pid)
                heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            _print_memory(timed, heap, heap_peak)
    finally:
        server.stop()


def _poll(mailbox: Mailbox, dovecot_pid: int) -> Run:
    dovecot, redis_cpu, busy = _tree_cpu(dovecot_pid), _redis_cpu(), _machine_busy()
    with Meter().installed() as meter:
        meter.start()
        start = time.perf_counter()
        report = services.mailbox_poll(mailbox=mailbox)
        elapsed = time.perf_counter() - start
        usage = meter.stop()
    dovecot, redis_cpu = _tree_cpu(dovecot_pid) - dovecot, _redis_cpu() - redis_cpu
    return Run(report.fetched, elapsed, report, usage, [], 0, dovecot, redis_cpu, _machine_busy() - busy)


def _check(mailbox: Mailbox, mails: list[tuple[str, bytes]], broker: Broker, server: Any) -> dict[str, Any]:
    """Check every mail was stored and finished with a reason where it failed; return what to print."""
    rows = InboundMail.objects.filter(mailbox=mailbox)
    statuses = dict(rows.values_list("message_id", "status"))
    assert len(statuses) == len(mails), f"{len(statuses)} of {len(mails)} mails stored"
    assert InboundStatus.STORED not in statuses.values(), "some mail was stored but never ingested"
    failed = rows.filter(status__in=[InboundStatus.QUARANTINED, InboundStatus.OVERSIZED])
    assert not failed.filter(reason="").exists(), "a quarantined mail has no reason"
    assert server.count("INBOX") == 0, "mail left in the inbox"
    ids = [f"<bench-a-{n}@bench.example>" for n in range(len(mails))]
    poison = {
        name: [statuses[ids[n]] for n, (other, _) in enumerate(mails) if other == name] for name in POISON
    }
    first_poison = min(n for n, (name, _) in enumerate(mails) if name in POISON)
    after = Counter(statuses[mid] for mid in ids[first_poison + 1 :])
    return {
        "statuses": Counter(statuses.values()),
        "reasons": Counter(reason[:90] for reason in failed.values_list("reason", flat=True)),
        "tickets": Ticket.objects.count(),
        "poison": poison,
        "after_poison": (len(ids) - first_poison - 1, after),
        "triage_tasks": broker.length(broker.triage_queue),
        "hand_offs_left": broker.length(broker.ingest_queue),
    }  # fmt: skip


def _fetch_ceiling(mailbox: Mailbox, count: int) -> None:
    with ImapSession(services.mailbox_account(mailbox)) as session:
        session.select(mailbox.folder)
        start = time.perf_counter()
        fetched = sum(1 for _ in session.fetch(session.uids(), max_bytes=mailbox.max_message_bytes))
        elapsed = time.perf_counter() - start
    print(f"raw IMAP fetch (ceiling): {fetched} mails in {elapsed:.2f} s = {fetched / elapsed:.0f} mails/s")


def _print(run: Run, broker: Broker) -> None:
    n, out = run.count, run.outcome
    workers = sum(run.workers, Usage())
    total = run.main + workers
    statuses = out["statuses"]
    print(
        f"end to end: {n} mails in {run.seconds:.2f} s = {n / run.seconds:.0f} mails/s "
        f"(polling process + {len(run.workers)} Celery worker{'s' * (len(run.workers) != 1)}, "
        f"{os.cpu_count()} cores)"
    )
    print(
        f"outcomes: {statuses[InboundStatus.INGESTED]} ingested into tickets ({out['tickets']} new tickets), "
        f"{statuses[InboundStatus.AUTOMATED]} automated (recorded, no ticket), "
        f"{statuses[InboundStatus.DUPLICATE]} duplicates, {statuses[InboundStatus.QUARANTINED]} quarantined, "
        f"{statuses[InboundStatus.OVERSIZED]} oversized; all {n} stored, none left unfinished"
    )
    for reason, times in out["reasons"].most_common(3):
        print(f"  quarantined {times}x: {reason}")
    for name, results in out["poison"].items():
        print(f"  poison {name}: {len(results)} copies -> {', '.join(sorted(set(results)))}")
    later, after = out["after_poison"]
    print(f"  the {later} mails after the first poison mail: {dict(after)}")
    print(
        f"handed on: {out['triage_tasks']} triage tasks queued on Redis (not run here); "
        f"{workers.tasks} ingest hand-offs run by the workers, {out['hand_offs_left']} left over as no-ops; "
        f"the workers ingested {workers.parsed} of the mails"
    )
    print(
        f"database: {total.queries / n:.1f} queries per mail (savepoints included), "
        f"{run.transactions / n:.2f} transactions per mail"
    )
    _print_limit(run, total)


def _print_limit(run: Run, total: Usage) -> None:
    n, cores = run.count, os.cpu_count() or 1
    rest = (total.cpu - total.parse_seconds) / n * 1000
    per_mail = {
        "parsing": total.parse_seconds / n * 1000,
        "the rest of the Python (IMAP client, ORM, Celery hand-offs)": rest,
        "PostgreSQL": total.database_cpu / n * 1000,
        "Dovecot": run.dovecot_cpu / n * 1000,
        "Redis": run.redis_cpu / n * 1000,
    }
    ours = sum(per_mail.values())
    capacity = run.seconds * cores
    others = max(run.machine_busy - ours * n / 1000, 0.0)
    print(
        f"CPU per mail: {ours:.2f} ms = "
        + " + ".join(f"{name.split(' (')[0]} {ms:.2f}" for name, ms in per_mail.items())
        + f"; at that cost {cores} cores allow at most {cores / ours * 1000:.0f} mails/s"
    )
    print(
        f"the {cores} cores were {run.machine_busy / capacity:.0%} busy during the run: ingestion "
        f"{ours * n / 1000 / capacity:.0%}, other processes on the machine {others / capacity:.0%}"
    )
    biggest, ms = max(per_mail.items(), key=lambda item: item[1])
    idle = 1 - run.machine_busy / capacity
    if idle > 0.2:
        cause = f"waiting (locks, I/O, hand-offs): the cores stood idle {idle:.0%} of the run"
    elif others / capacity > 0.1:
        cause = f"CPU, shared: other processes took {others / capacity:.0%} of the {cores} cores"
    else:
        cause = f"CPU: the ingestion itself kept the {cores} cores busy (idle {idle:.0%})"
    print(f"limited by: {cause}; the biggest cost per mail is {biggest} ({ms:.2f} ms of {ours:.2f})")


def _print_memory(timed: Run, traced: Run, heap_peak_mb: float) -> None:
    workers = sum(timed.workers, Usage())
    print(
        f"memory: python heap peak {heap_peak_mb:.1f} MB in the polling process (a second pass under "
        f"tracemalloc, {traced.count / traced.seconds:.0f} mails/s); peak RSS: polling process "
        f"{timed.main.rss_mb:.0f} MB ({timed.main.start_rss_mb:.0f} MB before the poll), worker "
        f"{workers.rss_mb:.0f} MB ({workers.start_rss_mb:.0f} MB when it started): Django, Celery and the "
        "triage libraries every worker loads"
    )
