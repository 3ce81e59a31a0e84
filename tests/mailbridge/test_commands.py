"""`manage.py mailbridge add-mailbox|fetch|import|parse` and the encrypted mailbox password."""

from __future__ import annotations

import json
import mailbox as stdlib_mailbox
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpdesk.models import Ticket
from mailbridge.models import Mailbox
from tests.mailbridge.mails import make_mail

pytestmark = pytest.mark.django_db


def _add(url: str = "imap://support%40example.test:s3cr%3At@127.0.0.1:1143/INBOX", **kw: str) -> Mailbox:
    call_command("mailbridge", "add-mailbox", kw.get("name", "support"), "--url", url, stdout=StringIO())
    return Mailbox.objects.get(name=kw.get("name", "support"))


def test_add_mailbox_stores_the_password_encrypted():
    mailbox = _add()
    assert (mailbox.host, mailbox.port, mailbox.use_tls, mailbox.folder) == (
        "127.0.0.1",
        1143,
        False,
        "INBOX",
    )
    assert mailbox.username == "support@example.test"
    assert mailbox.address == "support@example.test"
    assert "s3cr:t" not in mailbox.password_encrypted
    assert mailbox.password == "s3cr:t"


def test_add_mailbox_imaps_default_port():
    mailbox = _add("imaps://u@mail.example.ch/Support", name="tls")
    assert (mailbox.port, mailbox.use_tls, mailbox.folder) == (993, True, "Support")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pop3://u:p@host/INBOX", "imap://"),
        ("imap://host/INBOX", "user and a host"),
        ("imap://u:p@host:99999/INBOX", "port"),
        ("imap://u:p@127.0.0.1/INBOX", "address: Enter a valid email address"),
    ],
)
def test_add_mailbox_rejects_bad_urls_clearly(url, message):
    with pytest.raises(CommandError, match=message):
        call_command("mailbridge", "add-mailbox", "x", "--url", url, stdout=StringIO())


def test_fetch_names_a_missing_mailbox():
    with pytest.raises(CommandError, match="no mailbox named 'nope'"):
        call_command("mailbridge", "fetch", "--mailbox", "nope")


def test_fetch_reports_an_unreachable_server_as_an_error():
    _add("imap://u%40example.test:p@127.0.0.1:1/INBOX")
    with pytest.raises(CommandError, match="support: "):
        call_command("mailbridge", "fetch", stdout=StringIO())
    assert Mailbox.objects.get().last_poll_ok is False


def test_import_mbox_maildir_and_eml_through_the_same_pipeline(tmp_path: Path):
    _add()
    box = stdlib_mailbox.mbox(tmp_path / "archive.mbox")
    box.add(make_mail(subject="from mbox 1"))
    box.add(make_mail(subject="from mbox 2"))
    box.flush()
    maildir = stdlib_mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(make_mail(subject="from maildir"))
    (tmp_path / "one.eml").write_bytes(make_mail(subject="from eml"))
    out = StringIO()
    for source in ("archive.mbox", "Maildir", "one.eml"):
        call_command(
            "mailbridge",
            "import",
            str(tmp_path / source),
            "--mailbox",
            "support",
            stdout=out,
            stderr=StringIO(),
        )
    assert set(Ticket.objects.values_list("subject", flat=True)) == {
        "from mbox 1", "from mbox 2", "from maildir", "from eml",
    }  # fmt: skip
    # Importing again finds everything known
    again = StringIO()
    call_command(
        "mailbridge",
        "import",
        str(tmp_path / "archive.mbox"),
        "--mailbox",
        "support",
        stdout=again,
        stderr=StringIO(),
    )
    assert "already imported 2" in again.getvalue()
    assert Ticket.objects.count() == 4


def test_import_rejects_what_is_not_a_mail_source(tmp_path: Path):
    _add()
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CommandError, match="neither an mbox"):
        call_command(
            "mailbridge", "import", str(tmp_path / "notes.txt"), "--mailbox", "support", stderr=StringIO()
        )
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "mailbridge", "import", str(tmp_path / "missing"), "--mailbox", "support", stderr=StringIO()
        )


def test_parse_prints_one_json_object_per_file_and_goes_on_after_an_error(tmp_path: Path):
    good = tmp_path / "good.eml"
    good.write_bytes(make_mail(subject="Grüezi", message_id="<g@x.ch>"))
    bad = tmp_path / "missing.eml"
    out = StringIO()
    call_command("mailbridge", "parse", str(bad), str(good), stdout=out)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert "error" in first
    assert second["subject"] == "Grüezi"
    assert second["message_id"] == "<g@x.ch>"
    assert second["from"] == {"name": "Monika Huber", "address": "monika@baeckerei.example"}
    assert set(second) >= {
        "to",
        "cc",
        "date",
        "in_reply_to",
        "references",
        "text",
        "reply_text",
        "attachments",
        "automated",
    }
