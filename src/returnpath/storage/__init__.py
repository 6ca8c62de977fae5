"""Storage: the tables of DESIGN.md §4, the one transaction that records a message, queries,
reports and the Alembic migrations (shipped in storage/migrations).

    store = open_store("sqlite:///returnpath.db", settings=settings)
    outcome = store.record(raw, parse_result)
    outcomes = store.record_many([(raw, parse_result), ...])  # one transaction for a batch
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
from returnpath.storage.messages import MessageNotFound, list_messages, message_view
from returnpath.storage.recorder import RecordFailure, RecordOutcome, normalise_address
from returnpath.storage.store import Store, open_store

__all__ = [
    "ContactNotFound",
    "DatabaseUnavailable",
    "InvalidAddress",
    "MessageNotFound",
    "NotUnsubscribed",
    "RecordFailure",
    "RecordOutcome",
    "SchemaOutdated",
    "StorageError",
    "Store",
    "list_messages",
    "message_view",
    "normalise_address",
    "open_store",
]
