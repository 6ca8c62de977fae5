"""A private Dovecot instance for tests: 127.0.0.1, free ports, plain + STARTTLS + IMAPS.

The master runs as root in the foreground with internal processes as root, logins as
`dovenull` (Dovecot refuses root there) and mail as uid 5000, which owns the maildir; every
parent directory gets o+x so that uid can reach it (RECIPES.md §1.2).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from support.imap_base import ImapTestServer, free_port, make_traversable

MAIL_UID = 5000
MAIL_GID = 5000


def dovecot_binary() -> str | None:
    """The dovecot executable, or None when it is not installed."""
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    return found if found and os.access(found, os.X_OK) else None


def login_user() -> str:
    """An existing unprivileged user for imap-login (dovenull from the package, else nobody)."""
    for name in ("dovenull", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("neither dovenull nor nobody exists: Dovecot needs one for imap-login")


class DovecotServer(ImapTestServer):
    """Dovecot with its own config, run directory and maildir under root."""

    kind = "dovecot"
    restart_keeps_mail = True
    can_set_uidvalidity = True

    def __init__(self, root: Path, binary: str | None = None) -> None:
        super().__init__(root)
        self.binary = binary or dovecot_binary() or "/usr/sbin/dovecot"
        self.tls_port = free_port()
        self.conf = self.root / "dovecot.conf"

    def _prepare(self) -> None:
        r = self.root
        for d in ("run", "state", "mail"):
            (r / d).mkdir(parents=True, exist_ok=True)
        os.chown(r / "mail", MAIL_UID, MAIL_GID)
        make_traversable(r / "mail")
        (r / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.conf.write_text(f"""\
instance_name = returnpath-test-{self.port}
base_dir = {r}/run
state_dir = {r}/state
log_path = {self.log_file}
info_log_path = {self.log_file}
protocols = imap
listen = {self.host}
ssl = yes
ssl_cert = <{self.pki.cert}
ssl_key = <{self.pki.key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user()}
default_internal_user = root
default_internal_group = root
first_valid_uid = 1
mail_location = maildir:{r}/mail/%u
# Speed over durability: these mailboxes live for one test session.
mail_fsync = never
# With the mailbox list index, a CREATE racing another session's index refresh (an IDLE
# watcher selecting INBOX) was seen to answer [ALREADYEXISTS] for a folder it had just
# made, about once in 15 service starts. Tests want a deterministic server; clients meeting
# a production Dovecot must still treat ALREADYEXISTS on CREATE as "the folder is there".
mailbox_list_index = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/passwd
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_GID} home={r}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
protocol imap {{
  # Several service instances, IDLE watchers and the test's own clients share one user and IP.
  mail_max_userip_connections = 200
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port}
  }}
}}
""")

    def _command(self) -> list[str]:
        return [self.binary, "-F", "-c", str(self.conf)]

    def set_uidvalidity(self, folder: str, value: int) -> None:
        """Change folder's UIDVALIDITY in place with doveadm (the server must be running)."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run(
            [doveadm, "-c", str(self.conf), "mailbox", "update", "-u", self.user,
             "--uid-validity", str(value), folder],
            check=True, capture_output=True, timeout=30,
        )
