"""Schemathesis against /api/schema/, in-process through the WSGI app: no server error, no schema breach."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpdesk import services
from helpdesk.models import Queue
from mailbridge.models import Mailbox
from tests.factories import CustomerFactory, UserFactory, message_data

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The schema loaded from the app itself; requests run inside the test's transaction."""
    from helpdesk.wsgi import application

    # As Django's test client does: a request must not close the connection holding the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # Hundreds of generated requests a minute are the point here, not a client to slow down.
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"anon": None, "user": None, "ticket_submit": None}
    )
    cache.clear()
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token(db: None) -> str:
    """A superuser's token (every operation reachable) and a few rows for it to find."""
    admin = UserFactory.create(username="root", is_superuser=True)
    queue = Queue.objects.get(slug="support")
    attachment = services.AttachmentData("log.txt", "text/plain", b"550 mailbox full")
    for n in range(3):
        services.ticket_open(
            customer=CustomerFactory.create(),
            queue=queue,
            message=message_data(subject=f"Mail {n}", attachments=[attachment]),
        )
    Mailbox.objects.create(
        name="support", host="imap.example", username="u", address="support@hosting.example"
    )
    return Token.objects.create(user=admin).key


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_answers_as_its_schema_says(case: schemathesis.Case, token: str) -> None:
    # Each request in its own savepoint, as each has its own transaction in production: one refused
    # statement must not poison the requests after it.
    with transaction.atomic():
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
