"""Shared fixtures: paths to the shared corpora, media in a temp dir, a real Celery worker on Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: object, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")  # type: ignore[attr-defined]


def shared_path(*parts: str) -> Path:
    """Return a path under ../shared, skipping the test (with the reason) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared corpora are not laid out beside the project")
    return path


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def celery_worker_process(transactional_db: None, django_db_serialized_rollback: None) -> Iterator[str]:
    """Start a real Celery worker on Redis, sharing the test database; yield the broker URL."""
    from django.db import connection

    db = connection.settings_dict
    url = redis_url()
    env = dict(os.environ)
    env.update(
        CELERY_BROKER_URL=url,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if connection.vendor == "postgresql"
        else f"sqlite:///{db['NAME']}",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool=solo", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--hostname=test-worker@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        if worker.poll() is not None:
            output = worker.stdout.read().decode() if worker.stdout else ""
            pytest.fail(f"Celery worker did not start:\n{output}")
        yield url
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[object]:
    """One Dovecot for the whole test session (started in ~0.3 s)."""
    from tests.mailserver import start_dovecot

    # Not under pytest's basetemp: every pytest run on the machine resets that tree to mode 0700,
    # and Dovecot, running as its own user, then fails logins with "Temporary authentication failure".
    directory = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    directory.chmod(0o755)
    server = start_dovecot(directory)
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def dovecot(dovecot_server: object) -> object:
    """The Dovecot server with empty folders."""
    from tests.mailserver import Dovecot

    assert isinstance(dovecot_server, Dovecot)
    dovecot_server.clear()
    return dovecot_server


@pytest.fixture
def smtp_sink(settings: object) -> Iterator[object]:
    """A real SMTP server on loopback that keeps what it receives; Django's mail goes there."""
    from tests.smtpsink import SmtpSink

    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.EMAIL_PORT = sink.port  # type: ignore[attr-defined]
    settings.EMAIL_TIMEOUT = 5  # type: ignore[attr-defined]
    yield sink
    sink.stop()
