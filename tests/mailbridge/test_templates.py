"""Automatic mail is plain text: what a customer or an admin wrote reaches the mail unescaped."""

from __future__ import annotations

import pytest

from mailbridge import outgoing
from mailbridge.models import MailTemplate

pytestmark = pytest.mark.django_db


def test_default_templates_do_not_html_escape_plain_text():
    # Given a subject with characters HTML would escape
    subject = 'R&D <Server> O\'Brien "quoted"'
    # When the acknowledgement is rendered from the built-in default
    rendered = outgoing.template_render(
        key="ack", language="en", context={"tag": "[T-1]", "subject": subject}
    )
    # Then no entity reaches the customer's text mail
    text = rendered.subject + rendered.text
    for entity in ("&amp;", "&#x27;", "&lt;", "&quot;"):
        assert entity not in text


def test_admin_templates_do_not_html_escape_plain_text():
    MailTemplate.objects.create(
        key="ack", language="de", subject="Re: {{ subject }}", body="Betreff: {{ subject }}\n"
    )
    rendered = outgoing.template_render(key="ack", language="de", context={"subject": "R&D O'Brien"})
    assert rendered.subject == "Re: R&D O'Brien"
    assert rendered.text == "Betreff: R&D O'Brien\n"
