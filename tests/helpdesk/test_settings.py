"""Settings come from the environment and fail at start with a message naming the bad variable."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from helpdesk import env
from tests.conftest import ROOT


def _start(**variables: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    environment.update({"DEBUG": "1", **variables})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/x"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "postgres://user@localhost:5432/"),
        ("CELERY_BROKER_URL", "http://broker"),
        ("EMAIL_PORT", "twenty-five"),
        ("EMAIL_USE_TLS", "maybe"),
        ("DEBUG", "perhaps"),
    ],
)
def test_bad_value_fails_at_start_naming_the_variable(variable, value):
    result = _start(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_secret_key_required_without_debug():
    result = _start(DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_check_deploy():
    environment = dict(os.environ)
    environment.update(
        DEBUG="0",
        SECRET_KEY="k" * 20 + "-Zq8#vX!pL2@mN5$rT7&wY9*uB4^eH6%",
        ALLOWED_HOSTS="desk.hosting.example",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_env_helpers(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", "7")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env.env_bool("X_BOOL") is True
    assert env.env_int("X_INT", 1) == 7
    assert env.env_list("X_LIST") == ["a", "b", "c"]
    with pytest.raises(ImproperlyConfigured, match="X_INT must be at least 10"):
        env.env_int("X_INT", 1, minimum=10)
    assert env.env_database("UNSET_DB_URL", "sqlite:///tmp/x.sqlite3")["ENGINE"].endswith("sqlite3")
    monkeypatch.setenv("PG_URL", "postgres://u@db.example:5433/desk")
    config = env.env_database("PG_URL", "sqlite:///x")
    assert (config["NAME"], config["PORT"]) == ("desk", 5433)
