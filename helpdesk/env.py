"""Read settings from the environment, failing loudly with the variable's name."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """Return the variable as a stripped string."""
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    """Return the variable as a boolean; anything but a known spelling is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return the variable as an integer, optionally bounded below."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Return a comma-separated variable as a list of non-empty items."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


_DB_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}


def env_database(name: str, default: str) -> dict[str, Any]:
    """Parse a database URL (SQLite or PostgreSQL) into Django's DATABASES entry."""
    url = env_str(name) or default
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _DB_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a sqlite:/// or postgres:// URL, got {url!r}",
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, got {url!r}")
    return config


_BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps", "memory"}


def env_broker(name: str) -> str:
    """Return the Celery broker URL, or '' when tasks should run in-process."""
    url = env_str(name)
    if url and url.split("://", 1)[0].lower() not in _BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a redis://, rediss:// or amqp:// URL, got {url!r}",
        )
    return url


def env_cache(name: str) -> dict[str, Any]:
    """Return Django's default cache: Redis for a redis:// URL, this process's memory when unset.

    Comma-separated URLs name a primary (the first) and its replicas, as Django's RedisCache reads them.
    """
    url = env_str(name)
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if not all(_is_redis_url(part.strip()) for part in url.split(",")):
        # The URL may carry the Redis password: keep it out of the message (and so out of logs).
        shown = re.sub(r"//[^/@]*@", "//***@", url)
        raise ImproperlyConfigured(
            f"{name} must be a Redis URL like redis://HOST:PORT/DB (or rediss://, unix://PATH), got {shown!r}"
        )
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


def _is_redis_url(url: str) -> bool:
    # The Redis client reads a bad database number as 0 and a bad port only on first use: check here.
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    if parts.scheme == "unix":
        return bool(parts.path)
    database_ok = re.fullmatch(r"/?([0-9]+)?", parts.path) is not None
    return parts.scheme in ("redis", "rediss") and bool(parts.hostname) and port_ok and database_ok
