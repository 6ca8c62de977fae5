"""PostgreSQL fixtures (a throw-away server started by the tests), and the `store` fixtures
that run every storage test on SQLite and on that PostgreSQL.

The server: initdb and pg_ctl refuse to run as root, so they run as the `postgres` OS user via
runuser; the data directory is made with tempfile.mkdtemp (pytest's tmp dirs are root-only),
the server listens on 127.0.0.1 on a free port, and it is stopped by its PID. Without the
binaries or that user, PostgreSQL tests skip with the reason. Set RETURNPATH_TEST_PG_URL
(postgresql+psycopg://user@host:port/postgres, a superuser) to use a server you started.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from returnpath.config import Settings
from returnpath.storage import Store, open_store

PG_URL_ENV = "RETURNPATH_TEST_PG_URL"
RUN_AS = "postgres"
TABLES = ("events", "contact_history", "deferrals", "messages", "contacts", "checkpoints")


def pg_bindir() -> str | None:
    """The newest /usr/lib/postgresql/N/bin holding initdb, else initdb on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(os.path.realpath(initdb)) if initdb else None


def pg_unavailable_reason() -> str | None:
    """Why a throw-away server cannot be started here, or None when it can."""
    if pg_bindir() is None:
        return "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install -y postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} OS user for initdb/pg_ctl"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing (initdb/pg_ctl refuse root)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    # The postmaster is re-parented to PID 1 and can linger as a zombie: check its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


class PgServer:
    """A private PostgreSQL server in a temporary directory, on 127.0.0.1 and a free port."""

    def __init__(self, port: int | None = None) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise FileNotFoundError("initdb not found")
        self.bindir = bindir
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="returnpath-pg-")
        self.datadir = os.path.join(self.dir, "data")
        self.pid: int | None = None
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.dir, user.pw_uid, user.pw_gid)

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", RUN_AS, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> PgServer:
        try:
            self._run(
                f"{self.bindir}/initdb", "-D", self.datadir, "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            )  # fmt: skip
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            self._run(
                f"{self.bindir}/pg_ctl", "-D", self.datadir, "-l", f"{self.dir}/server.log",
                "-w", "-t", "60", "-o", options, "start",
            )  # fmt: skip
            self.pid = int(Path(self.datadir, "postmaster.pid").read_text().split()[0])
        except BaseException:
            self.stop()
            raise
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)  # "fast" shutdown
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _alive(self.pid):
                time.sleep(0.02)
            self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)


def database_url(server_url: str, dbname: str) -> str:
    return server_url.rsplit("/", 1)[0] + "/" + dbname


def create_database(server_url: str, dbname: str) -> str:
    """Create an empty database on the server; returns its URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    finally:
        admin.dispose()
    return database_url(server_url, dbname)


def drop_database(server_url: str, dbname: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of the maintenance database of a PostgreSQL server for this test session."""
    external = os.environ.get(PG_URL_ENV)
    if external:
        yield external
        return
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PgServer().start()
    try:
        yield server.url()
    finally:
        server.stop()


@pytest.fixture
def fresh_pg_database(pg_server_url: str) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    name = f"returnpath_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_server_url, name)
    try:
        yield url
    finally:
        drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def pg_store_url(pg_server_url: str) -> str:
    """A PostgreSQL database upgraded once per session; tests truncate it before use."""
    url = create_database(pg_server_url, "returnpath_storage_tests")
    open_store(url).close()
    return url


def truncate_all(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


StoreFactory = Callable[..., Store]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend a storage test runs on."""
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An upgraded, empty SQLite file; tests get copies instead of migrating every time."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    open_store(f"sqlite:///{path}").close()  # close() checkpoints the WAL into the file
    return path


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, upgraded database on the current backend."""
    if backend == "sqlite":
        target = tmp_path / "returnpath.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = str(request.getfixturevalue("pg_store_url"))
    truncate_all(url)
    return url


@pytest.fixture
def make_store(store_url: str) -> Iterator[StoreFactory]:
    """Open Stores on the current backend's test database, with given Settings fields."""
    opened: list[Store] = []

    def factory(**settings: object) -> Store:
        store = open_store(store_url, settings=Settings(database_url=store_url, **settings))
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    """A Store with default settings on the current backend (SQLite, then PostgreSQL)."""
    return make_store()
