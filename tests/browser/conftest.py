"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against the live test server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import DEFAULT_DB_ALIAS, connections

from helpdesk.models import Queue

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "browser-test-password-42"
# No sandbox as root; nothing in the background that would talk to the network.
FLAGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for the browser tests; skipped (with the reason) only where it may be absent."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(
                f"REQUIRE_BROWSER is set but {CHROMIUM} is missing: install Debian's chromium package"
            )
        pytest.skip(f"{CHROMIUM} is absent (Debian package chromium); set REQUIRE_BROWSER=1 to fail instead")
    from playwright.sync_api import sync_playwright

    serialized = getattr(connections[DEFAULT_DB_ALIAS], "_test_serialized_contents", None)
    # Playwright's sync API keeps an event loop running in this thread while it is started; the tests'
    # ORM calls between browser steps are still plain synchronous calls. Only while these tests run.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        # Django keeps connections per context, and Playwright's start gives the tests a new one:
        # hand it the database snapshot that restores the seed data after each transactional test.
        if serialized is not None:
            connections[DEFAULT_DB_ALIAS]._test_serialized_contents = serialized  # type: ignore[attr-defined]
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser page (own cookies) that records every request it makes."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale="en-GB", accept_downloads=True
    )
    tab = context.new_page()
    tab.requests = []
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def agent_user(username: str = "anna", *queues: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True, first_name="Anna")
    user.groups.add(Group.objects.get(name="agents"))
    for slug in queues or ("support",):
        Queue.objects.get(slug=slug).members.add(user)
    return user


def log_in(page: Any, live_server: Any, user: User) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/helpdesk/ticket/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/helpdesk/ticket/")


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def compiled_locale(tmp_path: Path, settings: Any) -> Path:
    """Compile the project's catalogues into a temporary directory (no .mo files are kept in the tree)."""
    if shutil.which("msgfmt") is None:
        pytest.skip("gettext's msgfmt is not installed")
    source = Path(__file__).resolve().parents[2] / "helpdesk" / "locale"
    for po in source.glob("*/LC_MESSAGES/django.po"):
        target = tmp_path / po.relative_to(source).with_suffix(".mo")
        target.parent.mkdir(parents=True)
        subprocess.run(["msgfmt", "--check", "-o", str(target), str(po)], check=True)
    settings.LOCALE_PATHS = [str(tmp_path)]
    return tmp_path
