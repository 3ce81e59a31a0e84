"""`manage.py mailbridge add-mailbox|fetch|listen|import|parse` (see DESIGN.md for the contracts)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from imapclient.exceptions import LoginError
from tqdm import tqdm

from mailbridge import listener, services, sources
from mailbridge.imap import TRANSIENT_ERRORS
from mailbridge.models import Mailbox, MailboxKind
from mailbridge.parsing import parse_file_to_contract


class Command(BaseCommand):
    help = "Mail bridge: configure mailboxes, fetch, listen (IDLE), import files, parse files to JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add-mailbox", help="Create or update a mailbox.")
        add.add_argument("name")
        add.add_argument("--kind", choices=[k.value for k in MailboxKind], default=MailboxKind.SUPPORT)
        add.add_argument("--url", required=True, help="imap://USER:PASS@HOST:PORT/FOLDER (imaps:// for TLS)")
        add.add_argument("--address", default="", help="The address customers write to (default: the user).")
        fetch = sub.add_parser("fetch", help="Run one poll cycle, synchronously.")
        fetch.add_argument("--mailbox", help="Only this mailbox (default: every enabled one).")
        listen = sub.add_parser(
            "listen", help="Wait for new mail with IMAP IDLE and ingest it as it arrives."
        )
        listen.add_argument("--mailbox", help="Only this mailbox (default: every enabled one).")
        imp = sub.add_parser("import", help="Ingest an mbox file, a Maildir or .eml files.")
        imp.add_argument("path", type=Path)
        imp.add_argument("--mailbox", required=True)
        parse = sub.add_parser("parse", help="Print the parse result of each file as one JSON object.")
        parse.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        getattr(self, f"_{action}")(options)

    def _mailboxes(self, name: str | None) -> list[Mailbox]:
        if name:
            mailbox = Mailbox.objects.filter(name=name).first()
            if mailbox is None:
                raise CommandError(f"no mailbox named {name!r}; create it with `mailbridge add-mailbox`")
            return [mailbox]
        mailboxes = list(Mailbox.objects.filter(enabled=True))
        if not mailboxes:
            raise CommandError("no enabled mailbox; create one with `mailbridge add-mailbox`")
        return mailboxes

    def _add_mailbox(self, options: dict[str, Any]) -> None:
        try:
            mailbox = services.mailbox_create(
                name=options["name"], kind=options["kind"], url=options["url"], address=options["address"]
            )
        except ValueError as exc:
            raise CommandError(f"mailbox {options['name']!r} not saved: {exc}") from None
        self.stdout.write(
            f"mailbox {mailbox.name}: {mailbox.username}@{mailbox.host}:{mailbox.port}/{mailbox.folder}"
        )

    def _fetch(self, options: dict[str, Any]) -> None:
        failed = []
        for mailbox in self._mailboxes(options["mailbox"]):
            try:
                report = services.mailbox_poll(mailbox=mailbox)
            except (LoginError, *TRANSIENT_ERRORS) as exc:
                failed.append(f"{mailbox.name}: {type(exc).__name__}: {exc}")
                continue
            if not report.claimed:
                self.stdout.write(f"{mailbox.name}: another poller is running, skipped")
                continue
            counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing new"
            self.stdout.write(f"{mailbox.name}: fetched {report.fetched}, {counts}, moved {report.moved}")
        if failed:
            raise CommandError("; ".join(failed))

    def _listen(self, options: dict[str, Any]) -> None:
        stop = threading.Event()
        threads = [
            threading.Thread(target=listener.mailbox_listen, kwargs={"mailbox": m, "stop": stop}, daemon=True)
            for m in self._mailboxes(options["mailbox"])
        ]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(timeout=1)
        except KeyboardInterrupt:
            stop.set()

    def _import(self, options: dict[str, Any]) -> None:
        mailbox = self._mailboxes(options["mailbox"])[0]
        path: Path = options["path"]
        try:
            total = sources.mail_files_count(path)
            raws = sources.mail_files_read(path)
            counts: dict[str, int] = {}
            for row in tqdm(services.mail_import(mailbox=mailbox, raws=raws), total=total, unit="mail"):
                key = row.status if row is not None else "already imported"
                counts[key] = counts.get(key, 0) + 1
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no mail found")

    def _parse(self, options: dict[str, Any]) -> None:
        for path in options["files"]:
            self.stdout.write(json.dumps(parse_file_to_contract(path), ensure_ascii=False))
