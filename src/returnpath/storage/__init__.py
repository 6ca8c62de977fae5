"""Storage: the tables of DESIGN.md §4, the one transaction that records a message, queries,
reports and the Alembic migrations (shipped in storage/migrations).

    store = open_store("sqlite:///returnpath.db", settings=settings)
    outcome = store.record(raw, parse_result)
"""

from __future__ import annotations

from returnpath.storage.errors import (
    ContactNotFound,
    DatabaseUnavailable,
    InvalidAddress,
    NotUnsubscribed,
    SchemaOutdated,
    StorageError,
)
from returnpath.storage.recorder import RecordOutcome, normalise_address
from returnpath.storage.store import Store, open_store

__all__ = [
    "ContactNotFound",
    "DatabaseUnavailable",
    "InvalidAddress",
    "NotUnsubscribed",
    "RecordOutcome",
    "SchemaOutdated",
    "StorageError",
    "Store",
    "normalise_address",
    "open_store",
]
