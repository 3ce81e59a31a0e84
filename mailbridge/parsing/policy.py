"""The stdlib's modern email policy, with each header parsed once per mail instead of on every read.

`email.policy.default` parses a header again each time it is read: a MIME walk asks every part for
its Content-Type several times (the feed parser, the body walk, bounce and auto-reply detection), and
every parse also builds a new header class. That was half of the parser's time on real mail.
"""

from __future__ import annotations

import email.policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage

# One class per header kind, built once: the stdlib builds a new one with type() on every read.
_CLASSES: dict[type, type[BaseHeader]] = {}


class _OncePerMailRegistry(HeaderRegistry):
    """A header factory that remembers the headers it parsed for the one mail it serves."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        kind = self.registry.get(name.lower(), self.default_class)
        cls = _CLASSES.get(kind)
        if cls is None:
            cls = _CLASSES[kind] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: str) -> BaseHeader:
        # Header objects are immutable strings with their parse attached, so sharing them is safe.
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            header = self._parsed[key] = self[name](name, value)
        return header


def mail_policy() -> email.policy.EmailPolicy[EmailMessage]:
    """Return the default policy with a fresh header cache, for parsing one mail."""
    return email.policy.default.clone(header_factory=_OncePerMailRegistry())
