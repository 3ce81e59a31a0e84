"""`manage.py helpdesk export|demo`: export every ticket as JSON lines; load the demo data set."""

from __future__ import annotations

import json
import secrets
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandParser, OutputWrapper

from helpdesk import demo, selectors


class Command(BaseCommand):
    help = "Ticket core utilities: export tickets as JSON lines, load demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser(
            "export", help="Write every ticket with its messages and triage as JSON lines."
        )
        export.add_argument("--output", "-o", default="-", help="File to write (default: standard output).")
        loader = sub.add_parser("demo", help="Create the demo admin login and a small demo data set.")
        loader.add_argument("--username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            self._export(options["output"])
        else:
            self._demo(options["username"])

    def _export(self, output: str) -> None:
        if output == "-":
            self._write_rows(self.stdout)
            return
        with open(output, "w", encoding="utf-8") as stream:
            self._write_rows(stream)

    def _write_rows(self, stream: TextIO | OutputWrapper) -> None:
        for row in selectors.ticket_export_rows():
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")

    def _demo(self, username: str) -> None:
        password = secrets.token_urlsafe(9)
        demo.demo_admin_create(username=username, password=password)
        created = demo.demo_data_load()
        self.stdout.write(f"Demo data: {created} new tickets.")
        self.stdout.write(
            self.style.SUCCESS(f"Admin login: {username} / {password}  (http://127.0.0.1:8000/admin/)")
        )
