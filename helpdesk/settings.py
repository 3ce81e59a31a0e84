"""Settings for the helpdesk, read from the environment (see README: Configuration)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from helpdesk.env import env_bool, env_broker, env_cache, env_database, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HELPDESK_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode-0123456789abcdef"  # noqa: S105 (DEBUG only)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Index expressions with operator classes (the trigram search indexes); harmless on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "helpdesk.apps.HelpdeskConfig",
    "mailbridge.apps.MailbridgeConfig",
    "triage.apps.TriageConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Searched before the apps' own folders, so the helpdesk's admin/base_site.html and admin/index.html
        # replace the admin's (the admin comes first in INSTALLED_APPS).
        "DIRS": [BASE_DIR / "helpdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'helpdesk.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite: wait for the writer instead of failing at once when the worker and the web share the file.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared by every process (API throttling counts, locks): Redis in production; unset, each process
# counts on its own.
CACHES = {"default": env_cache("CACHE_URL")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("de", _("German")), ("en", _("English")), ("fr", _("French")), ("it", _("Italian"))]
LOCALE_PATHS = [BASE_DIR / "helpdesk" / "locale"]
TIME_ZONE = env_str("TIME_ZONE") or "Europe/Zurich"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "media/"

# Mail out (the outbox sends through Django's mail API).
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "support@hosting.example"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: without a broker every task runs in-process, right after the transaction commits.
CELERY_BROKER_URL = env_broker("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (CELERY_BROKER_URL or None)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "Hosting support triage desk API", "VERSION": "1.0.0"}

# Product settings.
HELPDESK_REFERENCE_PREFIX = "#"
HELPDESK_REOPEN_WITHIN_DAYS = env_int("HELPDESK_REOPEN_WITHIN_DAYS", 30, minimum=0)
HELPDESK_DEFAULT_LANGUAGE = "de"
HELPDESK_STATUS_URL = env_str("HELPDESK_STATUS_URL")
# Automatic mail per sender (loop protection; agents' replies are never limited).
MAILBRIDGE_AUTO_PER_HOUR = env_int("MAILBRIDGE_AUTO_PER_HOUR", 3, minimum=0)
MAILBRIDGE_AUTO_PER_DAY = env_int("MAILBRIDGE_AUTO_PER_DAY", 10, minimum=0)
# No second automatic detail request on a ticket within this many hours.
MAILBRIDGE_NO_NAG_HOURS = env_int("MAILBRIDGE_NO_NAG_HOURS", 24, minimum=0)
# Retrain the triage classifier once this many agent corrections arrived since the last training.
TRIAGE_RETRAIN_MIN_CORRECTIONS = env_int("TRIAGE_RETRAIN_MIN_CORRECTIONS", 50, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
}

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

CELERY_BEAT_SCHEDULE = {
    # Each mailbox has its own interval; this only checks which are due.
    "mailbridge-poll-due": {"task": "mailbridge.poll_due", "schedule": 10.0},
    "mailbridge-send-stuck": {"task": "mailbridge.send_stuck", "schedule": 60.0},
    # Keeps the dashboards' daily summary current; a look computes only what changed since.
    "helpdesk-dashboard-days": {"task": "helpdesk.dashboard_days_refresh", "schedule": 60.0},
    # Does nothing until TRIAGE_RETRAIN_MIN_CORRECTIONS new corrections exist.
    "triage-retrain-if-due": {"task": "triage.retrain_if_due", "schedule": 3600.0},
}

# REST API: filters, cursor pagination, throttling, errors as 4xx, and Swagger UI served from the
# installed sidecar package (no CDN).
INSTALLED_APPS += ["django_filters", "drf_spectacular_sidecar"]


def _api_rate(name: str, default: str) -> str:
    rate = env_str(name) or default
    if not re.fullmatch(r"[1-9][0-9]*/[smhd][a-z]*", rate):
        raise ImproperlyConfigured(f"{name} must be a rate like 120/minute, got {rate!r}")
    return rate


_api_settings: dict[str, Any] = {
    "DEFAULT_SCHEMA_CLASS": "helpdesk.api.schema.DeskAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "helpdesk.api.pagination.NewestFirstPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "helpdesk.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _api_rate("API_THROTTLE_ANON", "30/minute"),
        "user": _api_rate("API_THROTTLE_USER", "1200/minute"),
        "ticket_submit": _api_rate("API_THROTTLE_SUBMIT", "120/minute"),
    },
}
REST_FRAMEWORK.update(_api_settings)
_schema_settings: dict[str, Any] = {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "helpdesk.models.TicketStatus",
        "OutboxStatusEnum": "mailbridge.models.OutboxStatus",
    },
}
SPECTACULAR_SETTINGS.update(_schema_settings)
