"""The IMAP side of the bridge (imapclient only): select, list, fetch without \\Seen, move, idle."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError


class TemporaryLoginError(IMAPClientError):
    """The server refused the login for now (RFC 5530 [UNAVAILABLE]): a retry may succeed."""


# Errors worth a retry: the server or the network went away.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TemporaryLoginError,
    IMAPClientAbortError,
    TimeoutError,
    ConnectionError,
    socket.error,
)
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (LoginError,)
FETCH_BATCH = 100
# Ranges per UID MOVE: keeps each command line short (servers limit it, Dovecot to 64 kB).
MAX_RANGES = 500
LOGIN_ATTEMPTS = 3
LOGIN_RETRY_SECONDS = 0.5
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


def uid_sets(uids: Iterable[int], *, max_ranges: int = MAX_RANGES) -> list[list[str]]:
    """Return the UIDs as IMAP sequence sets ("1:500", "502"), at most max_ranges ranges per command."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    start = 0
    for index, uid in enumerate(ordered):
        if index + 1 == len(ordered) or ordered[index + 1] != uid + 1:
            first = ordered[start]
            ranges.append(str(uid) if first == uid else f"{first}:{uid}")
            start = index + 1
    return [ranges[i : i + max_ranges] for i in range(0, len(ranges), max_ranges)]


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
        try:
            self._login(self.client)
        except BaseException:
            # __exit__ does not run when __enter__ fails: close the socket here.
            with contextlib.suppress(IMAPClientError, OSError):
                self.client.shutdown()
            self.client = None
            raise
        return self

    def _login(self, client: IMAPClient) -> None:
        # A busy server answers [UNAVAILABLE] while its authentication process is overloaded;
        # a short wait usually gets through, and a wrong password stays a permanent LoginError.
        for attempt in range(1, LOGIN_ATTEMPTS + 1):
            try:
                client.login(self.account.username, self.account.password)
                return
            except LoginError as error:
                if "[UNAVAILABLE]" not in str(error):
                    raise
                if attempt == LOGIN_ATTEMPTS:
                    raise TemporaryLoginError(str(error)) from error
                time.sleep(LOGIN_RETRY_SECONDS * attempt)

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
        for uid_set in uid_sets(uids):
            if self.imap.has_capability("MOVE"):
                self.imap.move(uid_set, folder)
                continue
            self.imap.copy(uid_set, folder)
            self.imap.delete_messages(uid_set)
            if self.imap.has_capability("UIDPLUS"):
                self.imap.uid_expunge(uid_set)
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
