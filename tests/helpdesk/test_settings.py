"""Settings come from the environment and fail at start with a message naming the bad variable."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from helpdesk import env
from tests.conftest import ROOT


def _start(**variables: str) -> subprocess.CompletedProcess[str]:
    unset = {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    environment = {k: v for k, v in os.environ.items() if k not in unset}
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
        ("CACHE_URL", "memcached://127.0.0.1:11211"),
        ("CACHE_URL", "redis://127.0.0.1:6379/one"),
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


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/1",
        "rediss://:secret@cache.example:6380/2",
        "redis://cache.example",
        "unix:///run/redis/redis.sock?db=3",
        "redis://primary.example:6379/1,redis://replica.example:6379/1",
    ],
)
def test_cache_url_selects_django_s_redis_cache(monkeypatch, url):
    monkeypatch.setenv("CACHE_URL", url)
    assert env.env_cache("CACHE_URL") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
    }


def test_without_cache_url_each_process_counts_in_its_own_memory(monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)
    assert env.env_cache("CACHE_URL")["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    monkeypatch.setenv("CACHE_URL", "  ")
    assert env.env_cache("CACHE_URL")["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize(
    "url",
    [
        "memcached://127.0.0.1:11211",
        "127.0.0.1:6379",
        "redis://",
        "redis://127.0.0.1:6379/one",
        "redis://127.0.0.1:port/1",
        "redis://127.0.0.1:6379/1,http://replica.example",
        "unix://",
    ],
)
def test_bad_cache_url_names_the_variable(monkeypatch, url):
    monkeypatch.setenv("CACHE_URL", url)
    with pytest.raises(ImproperlyConfigured, match=r"^CACHE_URL must be a Redis URL"):
        env.env_cache("CACHE_URL")


def test_bad_cache_url_message_hides_the_password(monkeypatch):
    monkeypatch.setenv("CACHE_URL", "redis://:s3cret@cache.example:6379/x")
    with pytest.raises(ImproperlyConfigured) as raised:
        env.env_cache("CACHE_URL")
    assert "s3cret" not in str(raised.value)


@pytest.mark.integration
def test_the_desk_counts_in_redis_when_cache_url_is_set():
    # Given CACHE_URL naming the test Redis, When a process stores a counter through Django's cache,
    # Then another process reads it (the redis package is installed and Django's RedisCache uses it)
    from tests.conftest import redis_url

    key = f"test-settings-{os.getpid()}"
    store = f"from django.core.cache import cache; cache.set({key!r}, 41, 60); print(cache.incr({key!r}))"
    read = f"from django.core.cache import cache; print(cache.get({key!r})); cache.delete({key!r})"
    outputs = []
    for code in (store, read):
        environment = {**os.environ, "DEBUG": "1", "CACHE_URL": redis_url()}
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=ROOT, env=environment, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.strip())
    assert outputs == ["42", "42"]
