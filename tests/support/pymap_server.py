"""pymap (pure Python, pip) as the test IMAP server where Dovecot is not installed.

It runs pymap's in-memory `dict` backend with one user, through support/pymap_child.py,
which adds what the tests expect from Dovecot on loopback (LOGIN before STARTTLS, and an
implicit-TLS port). What pymap lacks: mail does not survive restart() (in-memory), and
UIDVALIDITY cannot be set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from support.imap_base import ImapTestServer, free_port
from support.pymap_child import TLS_PORT_ENV


class PymapServer(ImapTestServer):
    """pymap's dict backend in a child process (support/pymap_child.py)."""

    kind = "pymap"
    restart_keeps_mail = False
    can_set_uidvalidity = False

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.tls_port = free_port()

    def _prepare(self) -> None:
        """Nothing to write: the dict backend keeps users and mail in memory."""

    def _command(self) -> list[str]:
        return [
            sys.executable, str(Path(__file__).resolve().with_name("pymap_child.py")),
            "--no-service", "admin", "--no-service", "managesieve", "--no-service", "swim",
            "--host", self.host, "--port", str(self.port),
            "--cert", str(self.pki.cert), "--key", str(self.pki.key),
            "dict", "--demo-user", self.user, "--demo-password", self.password,
        ]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[TLS_PORT_ENV] = str(self.tls_port)
        env.pop("CERT_FILE", None)  # pymap prefers these to --cert/--key
        env.pop("KEY_FILE", None)
        return env
