"""Schema management: migrations from empty, models agree with migrations, opening errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from returnpath.storage import DatabaseUnavailable, SchemaOutdated, migrate, open_store
from returnpath.storage.store import create_store_engine
from returnpath.storage.tables import metadata


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no tables at all) on the current backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("fresh_pg_database"))


def test_migration_from_empty_database(empty_url: str) -> None:
    """Scenario: open_store on an empty database creates every table at the head revision."""
    store = open_store(empty_url)
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision()
        tables = set(inspect(store.engine).get_table_names())
    finally:
        store.close()
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(empty_url: str) -> None:
    """Scenario: the `alembic check` equivalent finds no difference after upgrading."""
    open_store(empty_url).close()
    engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_downgrade_to_empty_and_back(empty_url: str) -> None:
    """Scenario: every migration can be undone and redone."""
    store = open_store(empty_url)
    try:
        from alembic import command

        with store.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "base")
        assert not set(metadata.tables) & set(inspect(store.engine).get_table_names())
        assert migrate.upgrade(store.engine) == (None, migrate.head_revision())
    finally:
        store.close()


def test_upgrade_is_a_no_op_when_current(empty_url: str) -> None:
    """Scenario: opening an up-to-date database again leaves it at the same revision."""
    open_store(empty_url).close()
    store = open_store(empty_url)
    try:
        head = migrate.head_revision()
        assert migrate.upgrade(store.engine) == (head, head)
    finally:
        store.close()


def test_open_without_upgrade_refuses_an_old_schema(empty_url: str) -> None:
    """Scenario: a service opened with upgrade=False on an empty database says what to run."""
    with pytest.raises(SchemaOutdated, match="returnpath db upgrade"):
        open_store(empty_url, upgrade=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u@localhost/x", "unsupported database 'mysql'"),
        ("sqlite:////nonexistent-dir/sub/x.db", "unable to open database file"),
    ],
)
def test_bad_urls_give_one_clear_line(url: str, expected: str) -> None:
    """Scenario: an operator mistypes the database URL."""
    with pytest.raises(DatabaseUnavailable) as info:
        open_store(url)
    text = str(info.value)
    assert expected in text
    assert "\n" not in text and "Traceback" not in text
    assert not Path("/nonexistent-dir").exists()


def test_unreachable_postgresql_hides_the_password() -> None:
    """Scenario: nothing listens on the port; the message names the host, not the password."""
    from support.pg_fixtures import free_port

    url = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/returnpath"
    with pytest.raises(DatabaseUnavailable) as info:
        open_store(url)
    text = str(info.value)
    assert "127.0.0.1" in text and "s3cret" not in text and "\n" not in text


def test_scripted_head_is_alembics_head() -> None:
    """Scenario: the head read from the scripts' text is the one Alembic computes."""
    assert migrate.scripted_head() == migrate.head_revision()


def test_scripted_head_follows_a_new_revision(tmp_path: Path) -> None:
    """Scenario: a script added on top of the packaged ones becomes the scripted head."""
    versions = tmp_path / "versions"
    versions.mkdir()
    for script in (migrate.MIGRATIONS_DIR / "versions").glob("*.py"):
        (versions / script.name).write_bytes(script.read_bytes())
    head = migrate.head_revision()
    (versions / "9999_next.py").write_text(
        f'revision: str = "9999"\ndown_revision: str | None = "{head}"\n', encoding="utf-8"
    )
    assert migrate.scripted_head(versions) == "9999"
    # Two heads (a branch): the text alone cannot decide, Alembic must.
    (versions / "9998_branch.py").write_text(
        f'revision = "9998"\ndown_revision = "{head}"\n', encoding="utf-8"
    )
    assert migrate.scripted_head(versions) is None


def test_known_head_only_for_a_database_at_head(empty_url: str) -> None:
    """Scenario: an empty database is not taken as current; an upgraded one is."""
    engine = create_store_engine(empty_url)
    try:
        assert migrate.known_head(engine) is None
        assert migrate.upgrade(engine) == (None, migrate.head_revision())
        assert migrate.known_head(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_opening_a_current_database_does_not_import_alembic(tmp_path: Path) -> None:
    """Scenario: a poll on an up-to-date database skips Alembic and its import entirely."""
    url = f"sqlite:///{tmp_path / 'current.db'}"
    open_store(url).close()
    probe = (
        "import sys\n"
        "from returnpath.storage import open_store\n"
        f"open_store({url!r}).close()\n"
        f"open_store({url!r}, upgrade=False).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
