"""`manage.py helpdesk export|demo|figures`: export every ticket as JSON lines; load the demo data set;
compute the dashboards' daily summary ahead (after an upgrade or a bulk import on PostgreSQL)."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import timezone

from helpdesk import daily_figures, demo, reports, selectors


class Command(BaseCommand):
    help = "Ticket core utilities: export tickets as JSON lines, load demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser(
            "export", help="Write every ticket with its messages and triage as JSON lines."
        )
        export.add_argument("--output", "-o", default="-", help="File to write (default: standard output).")
        loader = sub.add_parser(
            "demo", help="Create the demo admin and agent logins and a small demo data set."
        )
        loader.add_argument("--username", default="admin")
        figures = sub.add_parser("figures", help="Compute the dashboards' daily summary of the last days.")
        figures.add_argument("--days", type=int, default=reports.MAX_DAYS, help="How many days back.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            self._export(options["output"])
        elif options["action"] == "figures":
            self._figures(options["days"])
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

    def _figures(self, days: int) -> None:
        if not daily_figures.day_figures_available():
            raise CommandError("The daily summary is kept on PostgreSQL only; other databases need none.")
        if not 1 <= days <= reports.MAX_DAYS:
            raise CommandError(f"--days must lie between 1 and {reports.MAX_DAYS}.")
        end = timezone.localdate()
        computed = daily_figures.day_figures_refresh(start=end - timedelta(days=days - 1), end=end)
        self.stdout.write(f"Computed {computed} of the last {days} days.")

    def _demo(self, username: str) -> None:
        password, agent_password = secrets.token_urlsafe(9), secrets.token_urlsafe(9)
        demo.demo_admin_create(username=username, password=password)
        agents = demo.demo_agents_create(password=agent_password)
        created = demo.demo_data_load()
        self.stdout.write(f"Demo data: {created} new tickets.")
        self.stdout.write(
            self.style.SUCCESS(f"Admin login: {username} / {password}  (http://127.0.0.1:8000/admin/)")
        )
        self.stdout.write(
            self.style.SUCCESS(f"Agent logins (one per queue): {', '.join(agents)} / {agent_password}")
        )
