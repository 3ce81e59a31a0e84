"""`manage.py helpdesk export` and `helpdesk demo`."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from helpdesk.models import Ticket
from tests.factories import open_ticket

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


def test_demo_creates_login_and_tickets_once():
    out = StringIO()
    call_command("helpdesk", "demo", stdout=out)
    assert "Admin login: admin / " in out.getvalue()
    password = out.getvalue().split("Admin login: admin / ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    count = Ticket.objects.count()
    assert count >= 8
    assert set(Ticket.objects.values_list("language", flat=True)) >= {"de", "en", "fr"}
    call_command("helpdesk", "demo", stdout=StringIO())
    assert Ticket.objects.count() == count
