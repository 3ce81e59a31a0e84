"""How fast the managers' dashboards answer at 100,000 and 1,000,000 tickets (PostgreSQL).

The rows are made by the database itself (INSERT ... SELECT generate_series): a year of tickets with
services, messages, triage runs, automatic mails with detail requests, customers' answers and agents'
corrections, in proportions like those of a hosting provider's desk after a few outages.

The dashboards read the daily summary (helpdesk.daily_figures). It is computed once after loading, then
each look computes again only the days changed since the last one: the bench times the looks with the
summary current, the first look after a burst of desk work (new tickets, resolutions, corrected tags),
each section on its own, and for comparison the same figures counted straight from the tickets.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from bench.util import bench_database, timed
from helpdesk import daily_figures, reports
from helpdesk.models import Queue, ServiceTag

SIZES = (100_000, 1_000_000)
BATCH = 100_000
YEAR_SECONDS = 365 * 86400
SLUGS = ["email", "website", "ftp", "database", "domain", "backup", "controlpanel", "billing"]


def _execute(sql: str, params: Mapping[str, Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _scalar(sql: str, params: Mapping[str, Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0] or 0)


_CUSTOMERS = """
INSERT INTO helpdesk_customer (name, language, account_ref, notes, created_at)
SELECT 'Kunde ' || i, 'de', '', '', now() - interval '2 years'
FROM generate_series(%(lo)s, %(hi)s - 1, 10) AS i
"""

# r is a fixed pseudo-random percentile per ticket. Tickets arrive evenly over the last year, in the
# order of their numbers, as on a real desk (so a period's tickets lie close together on disk). Response
# and resolution times vary to the second, as real ones do (percentiles cannot lean on repeated values).
_TICKETS = """
WITH g AS (
    SELECT i, (i * 37) %% 100 AS r,
           now() - make_interval(secs => %(year)s * (1 - i::float8 / %(total)s)) AS created
    FROM generate_series(%(lo)s, %(hi)s - 1) AS i
), s AS (
    SELECT g.*, CASE
        WHEN created > now() - interval '3 days' THEN (ARRAY['new', 'open', 'waiting'])[1 + r %% 3]
        WHEN r < 2 THEN 'open' WHEN r < 4 THEN 'waiting' WHEN r < 5 THEN 'new'
        WHEN r %% 2 = 0 THEN 'resolved' ELSE 'closed' END AS status
    FROM g
)
INSERT INTO helpdesk_ticket (
    reference, subject, status, priority, language, missing_error_message, missing_problem_description,
    missing_callback_number, callback_requested, callback_number, error_message, needs_review, created_at,
    updated_at, first_response_at, resolved_at, last_customer_message_at, customer_id, queue_id
)
SELECT 'B-' || i, 'E-Mail geht nicht', status, 'normal', 'de', r %% 4 = 0, false, false, r %% 10 = 0, '',
       CASE r %% 5 WHEN 0 THEN 'Error 9999 - no account with this name'
                   WHEN 1 THEN '550 5.1.1 mailbox unavailable'
                   WHEN 2 THEN 'Error ' || (i %% 50) || ' - connection refused' ELSE '' END,
       false, created, created,
       CASE WHEN r < 90
            THEN created + make_interval(mins => 10 * (r + 1), secs => (i::bigint * 7919) %% 600) END,
       CASE WHEN status IN ('resolved', 'closed')
            THEN created + make_interval(hours => r + 1, secs => (i::bigint * 104729) %% 3600) END,
       created, %(customer0)s + (i %% %(customers)s),
       CASE WHEN r >= 95 THEN %(emergency)s WHEN r >= 90 THEN %(billing)s ELSE %(support)s END
FROM s
"""

_SERVICES = """
INSERT INTO helpdesk_ticketservice (ticket_id, service_id, source, confidence)
SELECT t.id, tag.id, 'model', 0.8
FROM helpdesk_ticket t
JOIN helpdesk_servicetag tag ON tag.slug = (%(slugs)s::text[])[1 + t.id %% 8]
    OR (t.id %% 3 = 0 AND tag.slug = (%(slugs)s::text[])[1 + (t.id * 3 + 1) %% 8])
WHERE t.id > %(after)s
"""

_MESSAGES = """
INSERT INTO helpdesk_message (
    direction, kind, from_name, from_address, "to", cc, subject, message_id, in_reply_to, "references",
    text, reply_text, html, created_at, ticket_id
)
SELECT 'in', 'customer', '', 'c@bench.example', '[]', '[]', t.subject, '', '', '', 'E-Mail geht nicht',
       'E-Mail geht nicht', '', t.created_at, t.id
FROM helpdesk_ticket t WHERE t.id > %(after)s
"""

_RUNS = """
INSERT INTO triage_triagerun (ticket_id, message_id, model_version, result, actions, created_at)
SELECT m.ticket_id, m.id, 'bench',
       jsonb_build_object('services', jsonb_build_array((%(slugs)s::text[])[1 + m.ticket_id %% 8])),
       '[]', m.created_at
FROM helpdesk_message m WHERE m.id > %(after)s
"""

_OUTBOX = """
INSERT INTO mailbridge_outboxmail (
    kind, automatic, from_address, reply_to, recipient, "to", cc, subject, text, html, message_id,
    in_reply_to, "references", language, requested, status, attempts, last_error, created_at, sent_at,
    ticket_id
)
SELECT 'ack', true, 'support@hosting.example', 'support@hosting.example', 'c@bench.example',
       '["c@bench.example"]', '[]', 'Ihre Anfrage', 'Danke', '', '<bench-' || t.id || '@hosting.example>',
       '', '', 'de', CASE WHEN t.missing_error_message THEN '["request_error_message"]' ELSE '[]' END::jsonb,
       'sent', 1, '', t.created_at + interval '1 minute', t.created_at + interval '1 minute', t.id
FROM helpdesk_ticket t WHERE t.id > %(after)s
"""

# Three in five asked customers answer, minutes to hours later.
_ANSWERS = """
INSERT INTO helpdesk_message (
    direction, kind, from_name, from_address, "to", cc, subject, message_id, in_reply_to, "references",
    text, reply_text, html, created_at, ticket_id
)
SELECT 'in', 'customer', '', 'c@bench.example', '[]', '[]', 'Re: Ihre Anfrage', '', '', '',
       'Error 9999', 'Error 9999', '',
       t.created_at + make_interval(mins => (5 + t.id %% 600)::int, secs => (t.id * 7919) %% 60), t.id
FROM helpdesk_ticket t WHERE t.id > %(after)s AND t.missing_error_message AND t.id %% 5 < 3
"""

_CORRECTIONS = """
INSERT INTO triage_correction (
    ticket_id, field, predicted, corrected, subject, body, language, labels, model_version, created_at
)
SELECT t.id, 'services',
       jsonb_build_object('services', jsonb_build_array((%(slugs)s::text[])[1 + t.id %% 8])),
       jsonb_build_object('services', jsonb_build_array((%(slugs)s::text[])[1 + (t.id + 1) %% 8])),
       t.subject, 'E-Mail geht nicht', 'de', '{}', 'bench', t.created_at + interval '1 hour'
FROM helpdesk_ticket t WHERE t.id > %(after)s AND t.id %% 20 = 0
"""


_EMPTY = """
TRUNCATE helpdesk_ticket, helpdesk_customer, helpdesk_message, helpdesk_ticketservice,
         mailbridge_outboxmail, triage_triagerun, triage_correction CASCADE
"""


def _grow(lo: int, hi: int, total: int) -> None:
    """Add tickets number lo to hi-1 (of total) with everything the dashboards read."""
    queues = dict(Queue.objects.values_list("slug", "pk"))
    after_customer = _scalar("SELECT max(id) FROM helpdesk_customer")
    _execute(_CUSTOMERS, {"lo": lo, "hi": hi})
    after = {"after": after_customer}
    customer0 = _scalar("SELECT min(id) FROM helpdesk_customer WHERE id > %(after)s", after)
    customers = _scalar("SELECT count(*) FROM helpdesk_customer WHERE id > %(after)s", after)
    after_ticket = _scalar("SELECT max(id) FROM helpdesk_ticket")
    after_message = _scalar("SELECT max(id) FROM helpdesk_message")
    numbers = {
        "lo": lo,
        "hi": hi,
        "total": total,
        "year": YEAR_SECONDS,
        "customer0": customer0,
        "customers": customers,
    }
    _execute(_TICKETS, {**numbers, **queues})
    new_tickets = {"after": after_ticket, "slugs": SLUGS}
    _execute(_SERVICES, new_tickets)
    _execute(_MESSAGES, new_tickets)
    _execute(_RUNS, {"after": after_message, "slugs": SLUGS})
    _execute(_OUTBOX, new_tickets)
    _execute(_ANSWERS, new_tickets)
    _execute(_CORRECTIONS, new_tickets)


# A burst of desk work between two looks: tickets of the last two weeks resolved, new tickets today,
# agents adding a tag to tickets of the last week.
_RESOLVE = """
UPDATE helpdesk_ticket SET status = 'resolved', resolved_at = now(), updated_at = now()
WHERE id IN (SELECT id FROM helpdesk_ticket
             WHERE status IN ('new', 'open', 'waiting') AND created_at > now() - interval '14 days'
             ORDER BY random() LIMIT %(resolved)s)
"""

_NEW_TODAY = """
INSERT INTO helpdesk_ticket (
    reference, subject, status, priority, language, missing_error_message, missing_problem_description,
    missing_callback_number, callback_requested, callback_number, error_message, needs_review, created_at,
    updated_at, first_response_at, resolved_at, last_customer_message_at, customer_id, queue_id
)
SELECT 'N' || %(round)s || '-' || i, 'Website down', 'new', 'normal', 'de', false, false, false, false, '',
       '', false, now() - make_interval(secs => i), now(), NULL, NULL, now(),
       (SELECT min(id) FROM helpdesk_customer), %(queue)s
FROM generate_series(1, %(new)s) AS i
"""

_RETAG = """
INSERT INTO helpdesk_ticketservice (ticket_id, service_id, source, confidence)
SELECT id, %(service)s, 'agent', NULL FROM helpdesk_ticket
WHERE created_at > now() - interval '7 days' ORDER BY random() LIMIT %(retagged)s
ON CONFLICT DO NOTHING
"""


def _burst(number: int) -> None:
    numbers = {
        "round": number,
        "resolved": 300,
        "new": 100,
        "retagged": 30,
        "queue": Queue.objects.get(slug="support").pk,
        "service": ServiceTag.objects.get(slug="backup").pk,
    }
    for statement in (_RESOLVE, _NEW_TODAY, _RETAG):
        _execute(statement, numbers)


def _line(label: str, times: list[float], note: str = "") -> None:
    ordered = sorted(times)
    p95 = ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]
    median = statistics.median(ordered)
    print(f"  {label:<52} median {median:7.0f} ms  p95 {p95:7.0f} ms  (n={len(ordered)}){note}")


def _measure(client: Client, label: str, url: str, repeat: int = 20) -> None:
    response = client.get(url)  # warm the caches once, as a manager's second look would
    assert response.status_code == 200, (url, response.status_code)
    _line(label, timed(lambda: client.get(url), repeat))


_CHANGED_DAYS = """
SELECT count(DISTINCT (at AT TIME ZONE %(tz)s)::date) FROM helpdesk_reportchange
"""


def _after_bursts(client: Client, url: str, rounds: int = 5) -> None:
    """Time the first look after each burst: it computes the changed days again before reading."""
    times, days = [], []
    for number in range(rounds):
        _burst(number)
        days.append(_scalar(_CHANGED_DAYS, {"tz": timezone.get_current_timezone_name()}))
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    note = f"  (300 resolved, 100 new, 30 retagged: {statistics.median(days):.0f} days changed)"
    _line("first look after a burst of work, last 365 days", times, note)


def _sections(scope: reports.ReportScope, repeat: int = 5) -> None:
    """Time each section alone from the current summary, to show what dominates."""
    parts = []
    for name in reports.SECTIONS:
        times = timed(partial(reports.dashboard_figures, scope=scope, sections=[name]), repeat)
        parts.append(f"{name} {statistics.median(times):.0f}")
    print(f"  sections from the summary, last 365 days (median ms): {', '.join(parts)}")


def _from_tickets(scope: reports.ReportScope, label: str, repeat: int) -> None:
    """Time the same figures counted straight from the tickets (what the summary saves)."""
    builders = reports.ticket_figure_builders(scope=scope)
    per_section = {name: 0.0 for name in builders}
    totals = []
    for _ in range(repeat):
        total = 0.0
        for name, build in builders.items():
            start = time.perf_counter()
            build()
            spent = (time.perf_counter() - start) * 1000
            per_section[name] += spent / repeat
            total += spent
        totals.append(total)
    slowest = ", ".join(
        f"{name} {ms:.0f}" for name, ms in sorted(per_section.items(), key=lambda i: -i[1])[:3]
    )
    _line(f"figures straight from the tickets, {label}", totals, f"  slowest: {slowest}")


def run() -> None:
    with bench_database():
        if connection.vendor != "postgresql":
            print(
                f"skipped: the dashboard benchmark needs PostgreSQL (DATABASE_URL), not {connection.vendor}"
            )
            return
        manager = User.objects.create_superuser("bench-manager", "m@bench.example", "x")
        client = Client(HTTP_HOST="localhost")
        client.force_login(manager)
        for size in SIZES:
            start = time.perf_counter()
            _execute(_EMPTY)
            for lo in range(0, size, BATCH):
                _grow(lo, min(lo + BATCH, size), size)
            _execute("VACUUM ANALYZE")
            print(
                f"{size:,} tickets ({connection.vendor}), rows made in {time.perf_counter() - start:.0f} s:"
            )
            today = timezone.localdate()
            year = reports.ReportScope(start=today - timedelta(days=364), end=today)
            month = reports.ReportScope(start=today - timedelta(days=29), end=today)
            start = time.perf_counter()
            days = daily_figures.day_figures_refresh(start=year.start, end=year.end)
            print(f"  daily summary of {days} days computed in {time.perf_counter() - start:.1f} s (once)")
            _execute("VACUUM ANALYZE")  # as autovacuum soon would, after so many new rows
            _measure(client, "dashboard page, last 30 days, all queues", "/admin/dashboard/")
            _measure(client, "dashboard page, last 30 days, support", "/admin/dashboard/?queue=support")
            _measure(client, "API figures, last 30 days", "/api/dashboard/")
            _measure(client, "CSV of the daily volume, last 30 days", "/admin/dashboard/volume.csv")
            year_url = f"/admin/dashboard/?start={year.start}"
            _measure(client, "dashboard page, last 365 days", year_url)
            _measure(client, "dashboard page, last 365 days, support", f"{year_url}&queue=support")
            _sections(year)
            _after_bursts(client, year_url)
            _from_tickets(month, "last 30 days", repeat=3)
            _from_tickets(year, "last 365 days", repeat=1)
