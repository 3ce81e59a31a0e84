"""The IMAP session's login: a temporary refusal is retried, a wrong password is not."""

from __future__ import annotations

import pytest
from imapclient.exceptions import LoginError

from mailbridge import imap
from mailbridge.imap import ImapAccount, ImapSession, TemporaryLoginError

ACCOUNT = ImapAccount(host="127.0.0.1", port=1, use_tls=False, username="u", password="p")


class FakeClient:
    """Stands in for IMAPClient: fails the first logins with the given errors."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.logins = 0
        self.shut_down = False

    def __call__(self, *args: object, **kwargs: object) -> FakeClient:
        return self

    def login(self, username: str, password: str) -> None:
        self.logins += 1
        if self.errors:
            raise self.errors.pop(0)

    def shutdown(self) -> None:
        self.shut_down = True

    def logout(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_wait(monkeypatch):
    monkeypatch.setattr(imap, "LOGIN_RETRY_SECONDS", 0)


def test_temporary_login_failure_is_retried(monkeypatch):
    # Given a server that is busy for one login
    client = FakeClient([LoginError("b'[UNAVAILABLE] Temporary authentication failure.'")])
    monkeypatch.setattr(imap, "IMAPClient", client)
    # When a session opens
    with ImapSession(ACCOUNT):
        pass
    # Then the second login got through
    assert client.logins == 2


def test_lasting_temporary_failure_is_transient(monkeypatch):
    # Given a server that stays busy
    busy = [LoginError("[UNAVAILABLE] Temporary authentication failure.") for _ in range(5)]
    client = FakeClient(busy)
    monkeypatch.setattr(imap, "IMAPClient", client)
    # When a session opens, then it gives up with an error the tasks retry later, and closes the socket
    with pytest.raises(TemporaryLoginError):
        ImapSession(ACCOUNT).__enter__()
    assert client.logins == imap.LOGIN_ATTEMPTS
    assert client.shut_down
    assert TemporaryLoginError in imap.TRANSIENT_ERRORS
    assert not isinstance(TemporaryLoginError("x"), imap.PERMANENT_ERRORS)


def test_wrong_password_is_not_retried(monkeypatch):
    client = FakeClient([LoginError("[AUTHENTICATIONFAILED] Authentication failed.")])
    monkeypatch.setattr(imap, "IMAPClient", client)
    with pytest.raises(LoginError):
        ImapSession(ACCOUNT).__enter__()
    assert client.logins == 1
    assert client.shut_down
