"""Alembic, configured in code: the migrations ship inside the package, no alembic.ini needed.

Alembic is imported only when it has work to do: a database already at the head revision
(every poll after the first) is recognised with one plain SELECT, the head being read from
the migration scripts' own `revision` / `down_revision` lines (scripted_head()).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# Any fixed number: two processes upgrading one PostgreSQL database take turns on it.
_PG_UPGRADE_LOCK = 0x72657470  # "retp"

_REVISION_LINE = re.compile(
    r"^(?P<key>revision|down_revision)\s*(?::[^=\n]*)?=\s*(?P<value>None|\"[^\"\n]*\"|'[^'\n]*')\s*$",
    re.M,
)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations, bound to `connection` if given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only if the package lost its migrations
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def scripted_head(versions: Path | None = None) -> str | None:
    """The head revision read from the scripts' text, without Alembic; None when unsure.

    Each script must state `revision` and `down_revision` as plain literals; one that does
    not, or anything but exactly one head (a branch), gives None and Alembic decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((versions or MIGRATIONS_DIR / "versions").glob("*.py")):
        found: dict[str, str | None] = {}
        for match in _REVISION_LINE.finditer(script.read_text(encoding="utf-8")):
            value = match["value"]
            found.setdefault(match["key"], None if value == "None" else value[1:-1])
        if "revision" not in found or "down_revision" not in found or not found["revision"]:
            return None
        revisions.add(found["revision"])  # type: ignore[arg-type]
        if found["down_revision"] is not None:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def stamped_revisions(engine: Engine) -> list[str] | None:
    """The rows of alembic_version by plain SQL; None when they cannot be read (no table)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return [str(v) for v in rows]
    except DBAPIError:
        return None


def known_head(engine: Engine) -> str | None:
    """The head revision when the database is known, without Alembic, to be at it; else None."""
    head = scripted_head()
    return head if head is not None and stamped_revisions(engine) == [head] else None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the schema; returns (revision before, revision after)."""
    head = known_head(engine) if revision == "head" else None
    if head is not None:
        return head, head
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until this transaction ends; serialises concurrent upgrades.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_UPGRADE_LOCK})
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(alembic_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
    return before, after
