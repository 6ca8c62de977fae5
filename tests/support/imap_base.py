"""What every test IMAP server shares: a test PKI, process control by PID, and mailbox helpers.

`DovecotServer` (support.dovecot) and `PymapServer` (support.pymap_server) subclass
`ImapTestServer`; tests only use the interface defined here, so they run unchanged on either.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import ssl
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

#: The login every test server accepts; each server gets a password of its own (below).
TEST_USER = "bounces"

#: Folders `reset()` leaves in place (emptied); every other folder is deleted.
KEPT_FOLDERS = ("INBOX",)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(dest: Path, stem: str, common_name: str) -> tuple[Path, Path]:
    cert, key = dest / f"{stem}.pem", dest / f"{stem}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "3", "-subj", f"/CN={common_name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=dest,
    )
    return cert, key


@dataclass(frozen=True)
class TestPKI:
    """A test CA, a server certificate it signed (localhost, 127.0.0.1), and an unrelated CA."""

    __test__ = False  # not a test class, despite the name

    cafile: Path
    cert: Path
    key: Path
    wrong_cafile: Path

    @classmethod
    def create(cls, dest: Path) -> TestPKI:
        """Write the CA, the server key and certificate, and a second unrelated CA under dest."""
        dest.mkdir(parents=True, exist_ok=True)
        ca_cert, ca_key = _make_ca(dest, "ca", "returnpath test CA")
        wrong_cert, _ = _make_ca(dest, "wrong-ca", "returnpath unrelated CA")
        key, csr, cert = dest / "server.key", dest / "server.csr", dest / "server.pem"
        ext = dest / "server.ext"
        ext.write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid\n"
        )
        _openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost",
            cwd=dest,
        )
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "3", "-extfile", str(ext),
            cwd=dest,
        )
        # Server processes that drop privileges must still read the key and certificate.
        for path in (key, cert):
            path.chmod(0o644)
        return cls(cafile=ca_cert, cert=cert, key=key, wrong_cafile=wrong_cert)


def make_traversable(path: Path) -> None:
    """Add o+x to path and its root-owned parents, so an unprivileged uid can reach it.

    pytest's temporary directories are 0700; Dovecot's mail processes run as uid 5000.
    """
    p = path.resolve()
    while p != p.parent:
        st = p.stat()
        if st.st_uid == 0 and not st.st_mode & 0o001:
            os.chmod(p, st.st_mode | 0o011)
        p = p.parent


def ssl_context(cafile: str | os.PathLike[str] | None) -> ssl.SSLContext:
    """A verifying client context that trusts only cafile (or the system store when None)."""
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


class ImapTestServer(ABC):
    """A real IMAP server on 127.0.0.1 owned by the tests, controlled by its process id.

    Attributes used by tests: host, port (plain, STARTTLS offered), tls_port (implicit TLS, or
    None when the server has none), user, password, cafile, wrong_cafile, pid, kind.
    """

    kind: str = ""
    #: Whether restart() keeps the mail (false for an in-memory server).
    restart_keeps_mail: bool = True
    #: Whether set_uidvalidity() is available.
    can_set_uidvalidity: bool = False

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tls_port: int | None = None
        self.user = TEST_USER
        # A password per server: a stray client of another test run that reaches a reused
        # port cannot log in and touch this server's mailbox.
        self.password = f"bounce-{secrets.token_hex(8)}"
        self.pki = TestPKI.create(self.root / "pki")
        self.cafile = str(self.pki.cafile)
        self.wrong_cafile = str(self.pki.wrong_cafile)
        self.password_file = self.root / "imap-password"
        self.password_file.write_text(self.password + "\n")
        self.log_file = self.root / f"{self.kind or 'imap'}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- process control ------------------------------------------------------------------

    @abstractmethod
    def _command(self) -> list[str]:
        """The argv that runs the server in the foreground."""

    @abstractmethod
    def _prepare(self) -> None:
        """Write config files before a start (called every time; must be idempotent)."""

    def _env(self) -> dict[str, str] | None:
        return None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0) -> None:
        """Start the server and wait until every port sends its `* OK` greeting."""
        if self.running:
            return
        self._prepare()
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            # Own session, so kill_hard() can SIGKILL the whole process group and nothing else.
            self._proc = subprocess.Popen(
                self._command(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True, env=self._env(), cwd=self.root,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        self._wait_greeting(self.port, deadline, use_tls=False)
        if self.tls_port:
            self._wait_greeting(self.tls_port, deadline, use_tls=True)

    def _wait_greeting(self, port: int, deadline: float, *, use_tls: bool) -> None:
        # A bare connect proves nothing: the listening socket can exist while the login
        # process dies at once. Only the greeting shows the server will answer.
        while True:
            if self._proc is None or self._proc.poll() is not None:
                rc = self._proc.returncode if self._proc else None
                raise RuntimeError(f"{self.kind} exited (rc={rc}) during start:\n{self.log_tail()}")
            try:
                with socket.create_connection((self.host, port), timeout=2) as raw:
                    if use_tls:
                        with ssl_context(self.cafile).wrap_socket(
                            raw, server_hostname="localhost"
                        ) as s:
                            greeting = s.recv(200)
                    else:
                        greeting = raw.recv(200)
                if greeting.startswith(b"* OK"):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill_hard()
                raise TimeoutError(f"{self.kind}: no '* OK' greeting on port {port}\n"
                                   f"{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's PID; SIGKILL its process group when it does not exit in time."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_hard()
                return
        self._reap_group(proc.pid)
        self._proc = None

    def kill_hard(self) -> None:
        """SIGKILL the server's whole process group at once (a crash)."""
        proc = self._proc
        if proc is None:
            return
        self._reap_group(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        self._proc = None

    @staticmethod
    def _reap_group(pgid: int) -> None:
        # The group id is the server's own PID (start_new_session): only its processes die.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    def restart(self, timeout: float = 20.0) -> None:
        """Stop and start again on the same ports (and, where supported, the same mail)."""
        self.stop()
        self.start(timeout)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    # -- clients --------------------------------------------------------------------------

    def connect(
        self, tls: str = "none", *, cafile: str | None = None, login: bool = True,
        timeout: float = 15.0,
    ) -> IMAPClient:
        """A client: tls is "none" (plain port), "starttls" or "implicit"; cafile defaults to
        the test CA."""
        ctx = ssl_context(cafile or self.cafile)
        if tls == "implicit":
            if not self.tls_port:
                raise RuntimeError(f"{self.kind} has no implicit-TLS port")
            client = IMAPClient(self.host, port=self.tls_port, ssl=True, ssl_context=ctx,
                                timeout=timeout)
        else:
            client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
            if tls == "starttls":
                client.starttls(ctx)
        if login:
            client.login(self.user, self.password)
        return client

    @contextlib.contextmanager
    def client(self) -> Any:
        c = self.connect()
        try:
            yield c
        finally:
            with contextlib.suppress(Exception):
                c.logout()

    def append(self, folder: str, raw: bytes, flags: tuple[str, ...] = ()) -> int | None:
        """APPEND raw to folder (created when missing); the new UID when the server says it."""
        with self.client() as c:
            if folder != "INBOX" and not c.folder_exists(folder):
                c.create_folder(folder)
            resp = c.append(folder, raw, flags=flags)
        return _appenduid(resp)

    def append_many(self, folder: str, messages: list[bytes]) -> None:
        """APPEND many messages over one connection (MULTIAPPEND when offered)."""
        with self.client() as c:
            if folder != "INBOX" and not c.folder_exists(folder):
                c.create_folder(folder)
            if b"MULTIAPPEND" in c.capabilities():
                for k in range(0, len(messages), 100):
                    c.multiappend(folder, messages[k : k + 100])
            else:
                for raw in messages:
                    c.append(folder, raw)

    def uids(self, folder: str = "INBOX") -> list[int]:
        """The UIDs in folder ([] when the folder does not exist)."""
        with self.client() as c:
            if not c.folder_exists(folder):
                return []
            c.select_folder(folder, readonly=True)
            return sorted(c.search("ALL"))

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as c:
            return int(c.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def reset(self) -> None:
        """Empty INBOX and delete every other folder (processed, unparsed, test folders)."""
        with self.client() as c:
            for _flags, _delim, name in c.list_folders():
                folder = name if isinstance(name, str) else name.decode()
                if folder in KEPT_FOLDERS:
                    c.select_folder(folder)
                    uids = c.search("ALL")
                    if uids:
                        c.delete_messages(uids)
                        c.expunge()
                    c.close_folder()
            folders = [
                n if isinstance(n, str) else n.decode() for _f, _d, n in c.list_folders()
            ]
            # Children first, so a parent is never deleted before its subfolders.
            for folder in sorted(folders, key=len, reverse=True):
                if folder not in KEPT_FOLDERS:
                    c.delete_folder(folder)

    def set_uidvalidity(self, folder: str, value: int) -> None:
        """Give folder a new UIDVALIDITY, keeping its messages (not every server can)."""
        raise NotImplementedError(f"{self.kind} cannot change UIDVALIDITY")

    def mailbox_settings(self, tls: str = "none", **overrides: Any) -> dict[str, Any]:
        """The keys of a [[mailbox]] config table (or MailboxConfig kwargs) for this server."""
        port = self.tls_port if tls == "implicit" else self.port
        values: dict[str, Any] = {
            "name": "test",
            "host": self.host,
            "port": port,
            "username": self.user,
            "password_file": str(self.password_file),
            "tls": tls,
            "ca_file": self.cafile if tls != "none" else None,
            "timeout_seconds": 15.0,
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v is not None}

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} pid={self.pid} port={self.port} "
                f"tls_port={self.tls_port} root={self.root}>")


def _appenduid(resp: bytes | None) -> int | None:
    # b'[APPENDUID 1795862948 1001] Append completed'
    if not resp or not resp.startswith(b"[APPENDUID "):
        return None
    try:
        return int(resp.split(b"]", 1)[0].split()[2])
    except (IndexError, ValueError):
        return None
