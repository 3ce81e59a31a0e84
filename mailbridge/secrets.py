"""Encrypt mailbox passwords at rest with a key derived from SECRET_KEY (Fernet: AES + HMAC)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"mailbridge-password:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(raw: str) -> str:
    """Return the password encrypted for storage."""
    return _fernet().encrypt(raw.encode()).decode()


def decrypt(token: str) -> str:
    """Return the stored password in clear; a changed SECRET_KEY is reported, not hidden."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A mailbox password cannot be decrypted: SECRET_KEY changed since it was stored. "
            "Set it again with `manage.py mailbridge add-mailbox`."
        ) from None
