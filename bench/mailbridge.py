"""End-to-end ingestion of 2,000 real-world mails from a real Dovecot into tickets (PostgreSQL).

Prints mails per second end to end, peak memory, and the raw IMAP fetch rate of the same mails (the ceiling).
The mails come from the shared corpora (imap_tools, bounces, reply-trimmer), each given a fresh Message-ID.
"""

from __future__ import annotations

import re
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.util import bench_database, peak_rss_mb
from mailbridge import services
from mailbridge.imap import ImapSession
from mailbridge.models import InboundMail
from tests.mailserver import start_dovecot

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\n]*\n", re.IGNORECASE | re.MULTILINE)


def corpus_mails() -> list[bytes]:
    files = sorted(SHARED.glob("imap_tools/messages/**/*.eml")) + sorted(SHARED.glob("bounces/maildir/**/*"))
    files += sorted(SHARED.glob("reply-trimmer/emails/*"))
    return [f.read_bytes() for f in files if f.is_file()]


def unique(raw: bytes, n: int) -> bytes:
    """Give the mail a fresh Message-ID so 2,000 copies are 2,000 different mails."""
    stripped = _MESSAGE_ID.sub(b"", raw)
    return f"Message-ID: <bench-{n}@bench.example>\r\n".encode() + stripped


def run(count: int = 2000) -> None:
    base = corpus_mails()
    if not base:
        print(f"skipped: no corpora at {SHARED}")
        return
    mails = [unique(base[i % len(base)], i) for i in range(count)]
    directory = Path(tempfile.mkdtemp(prefix="bench-dovecot-"))
    directory.chmod(0o755)
    server = start_dovecot(directory)
    try:
        server.append_many(mails)
        with bench_database():
            mailbox = services.mailbox_create(name="bench", kind="support", url=server.url())
            _fetch_ceiling(mailbox, count)
            tracemalloc.start()
            start = time.perf_counter()
            report = services.mailbox_poll(mailbox=mailbox)
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rate = report.fetched / elapsed
            print(
                f"end to end: {report.fetched} mails in {elapsed:.2f} s = {rate:.0f} mails/s; {report.counts}"
            )
            print(f"memory: python heap peak {peak / 2**20:.0f} MB, process peak RSS {peak_rss_mb():.0f} MB")
            assert InboundMail.objects.count() == count, "every mail must be stored"
    finally:
        server.stop()


def _fetch_ceiling(mailbox: object, count: int) -> None:
    with ImapSession(services.mailbox_account(mailbox)) as session:  # type: ignore[arg-type]
        session.select("INBOX")
        start = time.perf_counter()
        fetched = sum(1 for _ in session.fetch(session.uids(), max_bytes=25 * 2**20))
        elapsed = time.perf_counter() - start
    print(f"raw IMAP fetch (ceiling): {fetched} mails in {elapsed:.2f} s = {fetched / elapsed:.0f} mails/s")
