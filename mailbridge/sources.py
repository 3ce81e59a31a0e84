"""Read mails from files for `mailbridge import`: an mbox file, a Maildir, .eml files or a folder of them."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def mail_files_count(path: Path) -> int:
    """Return how many mails path holds (for the progress bar)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if _is_maildir(path):
        return len(mailbox.Maildir(path, factory=None, create=False))
    if path.is_dir():
        return sum(1 for _ in sorted(path.rglob("*.eml")))
    if path.suffix.lower() == ".eml":
        return 1
    return len(mailbox.mbox(path, factory=None, create=False))


def mail_files_read(path: Path) -> Iterator[bytes]:
    """Yield each mail's raw bytes; raise FileNotFoundError / ValueError for what is not a mail source."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if _is_maildir(path):
        maildir = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(maildir.keys()):
            yield maildir.get_bytes(key)
    elif path.is_dir():
        for file in sorted(path.rglob("*.eml")):
            yield file.read_bytes()
    elif path.suffix.lower() == ".eml":
        yield path.read_bytes()
    else:
        with path.open("rb") as handle:
            if not handle.read(5).startswith(b"From "):
                raise ValueError(f"{path} is neither an mbox file (no 'From ' line), a Maildir nor .eml")
        box = mailbox.mbox(path, factory=None, create=False)
        for key in box.keys():  # noqa: SIM118 - mailbox.mbox is not a dict
            yield box.get_bytes(key)
