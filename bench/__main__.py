"""Run every benchmark: `python -m bench [NAME...]`."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import django

BENCHES = [
    "bench.ticket_core",
    "bench.mailbridge",
    "bench.outgoing",
    "bench.triage",
    "bench.admin",
    "bench.dashboards",
]


def main(names: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    django.setup()
    # Per-mail log lines of the SMTP sink and of each task would bury the figures.
    for name in ("mail.log", "celery.app.trace", "mailbridge", "triage", "helpdesk"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in names or BENCHES:
        module = importlib.import_module(name if name.startswith("bench.") else f"bench.{name}")
        print(f"== {module.__name__}")
        module.run()


if __name__ == "__main__":
    main(sys.argv[1:])
