"""The IMAP side of the bridge (imapclient only): select, list, fetch without \\Seen, move, idle."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

# Errors worth a retry: the server or the network went away.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    IMAPClientAbortError,
    TimeoutError,
    ConnectionError,
    socket.error,
)
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (LoginError,)
FETCH_BATCH = 100
IDLE_REISSUE_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE before the server's 29-minute limit.


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    use_tls: bool
    username: str
    password: str
    timeout: float = 30.0


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    size: int
    raw: bytes  # the whole mail, or only its header when oversized
    oversized: bool


class ImapSession:
    """One logged-in connection; use as a context manager."""

    def __init__(self, account: ImapAccount) -> None:
        self.account = account
        self.client: IMAPClient | None = None

    def __enter__(self) -> ImapSession:
        context = ssl.create_default_context() if self.account.use_tls else None
        self.client = IMAPClient(
            self.account.host,
            port=self.account.port,
            ssl=self.account.use_tls,
            ssl_context=context,
            timeout=self.account.timeout,
        )
        self.client.login(self.account.username, self.account.password)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.client is None:
            return
        # The connection may already be gone: then there is nothing left to close politely.
        with contextlib.suppress(IMAPClientError, OSError):
            self.client.logout()
        self.client = None

    @property
    def imap(self) -> IMAPClient:
        if self.client is None:
            raise RuntimeError("IMAP session is not open")
        return self.client

    def select(self, folder: str) -> int:
        """Select folder for reading and writing; return its UIDVALIDITY."""
        info = self.imap.select_folder(folder)
        return int(info[b"UIDVALIDITY"])

    def uids(self) -> list[int]:
        """Return every UID in the selected folder, ascending."""
        return sorted(int(uid) for uid in self.imap.search("ALL"))

    def fetch(self, uids: Sequence[int], *, max_bytes: int) -> Iterator[FetchedMail]:
        """Yield the mails in batches without setting \\Seen; mails over max_bytes yield only the header."""
        for start in range(0, len(uids), FETCH_BATCH):
            batch = list(uids[start : start + FETCH_BATCH])
            sizes = {
                uid: int(data[b"RFC822.SIZE"])
                for uid, data in self.imap.fetch(batch, ["RFC822.SIZE"]).items()
            }
            small = [uid for uid in batch if uid in sizes and sizes[uid] <= max_bytes]
            large = [uid for uid in batch if uid in sizes and sizes[uid] > max_bytes]
            bodies = self.imap.fetch(small, ["BODY.PEEK[]"]) if small else {}
            headers = self.imap.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}
            for uid in batch:
                if uid in bodies:
                    yield FetchedMail(uid, sizes[uid], bytes(bodies[uid][b"BODY[]"]), oversized=False)
                elif uid in headers:
                    yield FetchedMail(uid, sizes[uid], bytes(headers[uid][b"BODY[HEADER]"]), oversized=True)

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move the messages to folder (created when missing); COPY + delete where MOVE is not offered."""
        if not uids:
            return
        if not self.imap.folder_exists(folder):
            self.imap.create_folder(folder)
        if self.imap.has_capability("MOVE"):
            self.imap.move(list(uids), folder)
            return
        self.imap.copy(list(uids), folder)
        self.imap.delete_messages(list(uids))
        if self.imap.has_capability("UIDPLUS"):
            self.imap.uid_expunge(list(uids))
        else:
            self.imap.expunge()

    def wait_for_mail(self, timeout: float) -> bool:
        """Block in IDLE up to timeout seconds; return whether the server announced new mail."""
        self.imap.idle()
        try:
            responses = self.imap.idle_check(timeout=timeout)
        finally:
            self.imap.idle_done()
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
