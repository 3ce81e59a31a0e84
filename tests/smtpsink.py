"""An in-process SMTP sink (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    envelope_to: list[str]
    message: EmailMessage
    at: float = 0.0  # time.monotonic() when the server accepted it
    session: object = None  # the client's (host, port): mails of one SMTP session share it


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    greylisted: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Addresses starting with "reject" are refused permanently, as a real server refuses unknown users.
        if address.lower().startswith("reject"):
            return "550 5.1.1 User unknown"
        # Addresses starting with "greylist" are refused for now the first time, as greylisting does.
        if address.lower().startswith("greylist") and address not in self.greylisted:
            self.greylisted.add(address)
            return "450 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        parsed = message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(list(envelope.rcpt_tos), parsed, time.monotonic(), session.peer))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = SinkHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.handler.received]

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
