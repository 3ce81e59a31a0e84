"""`manage.py helpdesk export` and `helpdesk demo`."""

import json
import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Model

from helpdesk import demo
from helpdesk.models import (
    Attachment,
    CustomerEmail,
    Message,
    MessageKind,
    Queue,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from mailbridge.models import InboundMail, OutboxKind, OutboxMail, OutboxStatus
from tests.conftest import ROOT
from tests.factories import open_ticket
from triage.models import Correction, TriageRun

pytestmark = pytest.mark.django_db


def test_export_writes_one_json_line_per_ticket():
    open_ticket(subject="Mails kommen nicht an", message_id="<x@y.ch>")
    open_ticket(subject="FTP")
    out = StringIO()
    call_command("helpdesk", "export", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["subject"] for r in rows] == ["Mails kommen nicht an", "FTP"]
    assert rows[0]["messages"][0]["message_id"] == "<x@y.ch>"
    assert set(rows[0]["triage"]) >= {"language", "services", "callback_number", "needs_review"}


def _demo(capture) -> str:
    out = StringIO()
    # Run what the commit starts (the outbox's send tasks), as `make run` does without a broker.
    with capture(execute=True):
        call_command("helpdesk", "demo", stdout=out)
    return out.getvalue()


def _demo_counts() -> dict[str, int]:
    models: list[type[Model]] = [
        Ticket, Message, Attachment, OutboxMail, InboundMail, TriageRun, Correction, User, TicketEvent
    ]  # fmt: skip
    return {model.__name__: model._default_manager.count() for model in models}


def test_demo_creates_logins_and_tickets_once(django_capture_on_commit_callbacks, mailoutbox):
    # When the demo is loaded
    out = _demo(django_capture_on_commit_callbacks)
    # Then the admin login it prints works
    assert "Admin login: admin / " in out
    password = out.split("Admin login: admin / ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    # And there are tickets in every state and language
    counts = _demo_counts()
    assert counts["Ticket"] >= 8
    assert set(Ticket.objects.values_list("language", flat=True)) >= {"de", "en", "fr", "it"}
    assert set(Ticket.objects.values_list("status", flat=True)) == set(TicketStatus.values)
    # And nothing was sent: every demo mail is recorded as delivered or refused
    assert mailoutbox == []
    assert set(OutboxMail.objects.values_list("status", flat=True)) == {
        OutboxStatus.SENT,
        OutboxStatus.FAILED,
    }
    # When it is loaded again, Then nothing new is created
    _demo(django_capture_on_commit_callbacks)
    assert _demo_counts() == counts


def test_demo_has_one_agent_per_queue_with_the_printed_login(django_capture_on_commit_callbacks):
    out = _demo(django_capture_on_commit_callbacks)
    line = next(line for line in out.splitlines() if line.startswith("Agent logins"))
    names, password = line.split(": ", 1)[1].split(" / ")
    agents = User.objects.filter(username__in=names.split(", "), groups__name="agents")
    assert {queue.slug for agent in agents for queue in agent.helpdesk_queues.all()} == set(
        Queue.objects.values_list("slug", flat=True)
    )
    assert all(agent.check_password(password) and agent.is_staff for agent in agents)
    # Their work is theirs: replies, notes and the triage correction
    replies = Message.objects.filter(kind=MessageKind.AGENT_REPLY)
    assert replies.exists()
    assert set(replies.values_list("author", flat=True)) <= set(agents.values_list("pk", flat=True))
    assert Correction.objects.filter(agent__in=agents, field="services").exists()


@pytest.mark.parametrize(
    ("language", "acknowledged"),
    [
        ("de", "Wir haben Ihre Nachricht erhalten"),
        ("en", "We received your message"),
        ("fr", "Nous avons bien reçu votre message"),
        ("it", "Abbiamo ricevuto il suo messaggio"),
    ],
)
def test_demo_acknowledgements_are_the_real_templates_in_the_customers_language(
    django_capture_on_commit_callbacks, language, acknowledged
):
    _demo(django_capture_on_commit_callbacks)
    acks = OutboxMail.objects.filter(kind=OutboxKind.ACKNOWLEDGEMENT, ticket__customer__language=language)
    assert acks.exists()
    for ack in acks:
        assert ack.language == language
        assert ack.subject.startswith(f"{ack.ticket.subject_tag} {acknowledged}")
        assert ack.ticket_message.kind == MessageKind.AUTO_REPLY


def test_demo_shows_a_bounce_an_attachment_a_merge_and_an_automatic_request(
    django_capture_on_commit_callbacks,
):
    _demo(django_capture_on_commit_callbacks)
    # A bounce of our acknowledgement, filed on its ticket; the address is marked undeliverable
    bounce = Message.objects.get(kind=MessageKind.AUTOMATED)
    assert OutboxMail.objects.filter(ticket=bounce.ticket, kind=OutboxKind.ACKNOWLEDGEMENT).exists()
    assert CustomerEmail.objects.get(customer=bounce.ticket.customer).undeliverable is True
    # An attachment on a customer's mail
    assert Attachment.objects.filter(message__kind=MessageKind.CUSTOMER).exists()
    # A pair of one customer's tickets, merged
    merged = Ticket.objects.get(merged_into__isnull=False)
    assert (merged.status, merged.customer) == (TicketStatus.CLOSED, merged.merged_into.customer)
    # A ticket waiting on its customer after an automatic detail request on the customer's answer
    request = OutboxMail.objects.get(kind=OutboxKind.DETAIL_REQUEST)
    assert request.requested == ["request_error_message"]
    assert request.ticket.status == TicketStatus.WAITING
    assert request.ticket.missing_error_message is True


def test_demo_runs_on_sqlite_as_make_run_does(tmp_path):
    # Given a fresh SQLite database, as `make run` uses (one process for all steps: starting is slow)
    environment = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "HELPDESK_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    environment.pop("CELERY_BROKER_URL", None)
    steps = "; ".join(
        f"call_command({', '.join(map(repr, step))})"
        for step in (("migrate", "--noinput", "-v0"), ("helpdesk", "demo"), ("helpdesk", "demo"))
    )
    code = f"from django.core.management import call_command; {steps}"
    # When it is migrated and the demo loaded twice
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    # Then the first load creates every demo ticket and the second nothing
    assert result.returncode == 0, result.stderr
    created = re.findall(r"Demo data: (\d+) new tickets", result.stdout)
    assert created == [str(len(demo.DEMO_MAILS)), "0"]
