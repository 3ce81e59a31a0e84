"""A real Dovecot IMAP server for tests, started from a config in a temp dir (see shared notes)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

CONFIG = """
protocols = imap lmtp
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_fsync = never
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Processed {{
    auto = subscribe
  }}
  mailbox Failed {{
    auto = subscribe
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service anvil {{
  chroot =
}}
service ipc {{
  chroot =
}}
"""

USERS = ("support@example.test", "emergency@example.test")
PASSWORD = "secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dovecot:
    directory: Path
    imap_port: int
    lmtp_port: int
    process: subprocess.Popen[bytes]

    def url(self, user: str = USERS[0], folder: str = "INBOX") -> str:
        return f"imap://{user.replace('@', '%40')}:{PASSWORD}@127.0.0.1:{self.imap_port}/{folder}"

    def client(self, user: str = USERS[0]) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client

    def append(self, raw: bytes, user: str = USERS[0], folder: str = "INBOX") -> None:
        with self.client(user) as client:
            client.append(folder, raw)

    def append_many(self, raws: list[bytes], user: str = USERS[0], folder: str = "INBOX") -> None:
        with self.client(user) as client:
            for raw in raws:
                client.append(folder, raw)

    def count(self, folder: str, user: str = USERS[0]) -> int:
        with self.client(user) as client:
            return int(client.select_folder(folder, readonly=True)[b"EXISTS"])

    def doveadm(self, *args: str) -> None:
        subprocess.run(
            ["doveadm", "-c", str(self.directory / "dovecot.conf"), *args], check=True, capture_output=True
        )

    def kick(self, user: str = USERS[0]) -> None:
        """Drop every IMAP connection of the user, as a server restart or network cut would."""
        self.doveadm("kick", user)

    def set_uidvalidity(self, value: int, user: str = USERS[0], folder: str = "INBOX") -> None:
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    def clear(self) -> None:
        """Empty every user's folders (between tests)."""
        for user in USERS:
            with self.client(user) as client:
                for folder in ("INBOX", "Processed", "Failed"):
                    client.select_folder(folder)
                    uids = client.search("ALL")
                    if uids:
                        client.delete_messages(uids)
                        client.expunge()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_dovecot(directory: Path) -> Dovecot:
    """Write a config into directory and start Dovecot in the foreground; fail clearly when it is missing."""
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        pytest.fail("Dovecot is not installed: run `bash tests/services.sh` (apt-get install dovecot-imapd)")
    if os.getuid() == 0:
        user, group, login_user = "dovecot", "dovecot", "dovenull"
    else:
        user = login_user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    for sub in ("run", "state", "mail"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (directory / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}::::::\n" for u in USERS))
    imap_port, lmtp_port = _free_port(), _free_port()
    (directory / "dovecot.conf").write_text(
        CONFIG.format(
            dir=directory, user=user, group=group, login_user=login_user, uid=uid, gid=gid,
            imap_port=imap_port, lmtp_port=lmtp_port,
        )
    )  # fmt: skip
    os.chown(directory / "mail", uid, gid)
    directory.chmod(0o755)
    process = subprocess.Popen([binary, "-F", "-c", str(directory / "dovecot.conf")], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"Dovecot exited at start: {error}")
        try:
            with socket.create_connection(("127.0.0.1", imap_port), timeout=0.2):
                return Dovecot(directory, imap_port, lmtp_port, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"Dovecot did not listen on 127.0.0.1:{imap_port} within 10 s")
