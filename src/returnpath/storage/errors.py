"""The storage exceptions: one base class, each subclass saying when it is raised."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by returnpath.storage."""


class DatabaseUnavailable(StorageError):
    """Raised by open_store when the URL is malformed, its driver is missing, or the
    database cannot be reached or opened. The message is one line, safe to show an operator
    (any password in the URL is masked)."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"cannot open database {url}: {problem}")


class SchemaOutdated(StorageError):
    """Raised by open_store(upgrade=False) when the database schema is not at the version
    this returnpath expects."""

    def __init__(self, current: str | None, expected: str) -> None:
        self.current = current
        self.expected = expected
        super().__init__(
            f"database schema is at {current or 'nothing (empty database)'}, expected {expected}: "
            "run `returnpath db upgrade`"
        )


class ContactNotFound(StorageError):
    """Raised when an operation names an address that has no contact row."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(f"no contact {address!r} in the database")


class NotUnsubscribed(StorageError):
    """Raised by reenable() when the contact is not unsubscribed, so there is nothing to undo."""

    def __init__(self, address: str, status: str) -> None:
        self.address = address
        self.status = status
        super().__init__(f"contact {address!r} is {status}, not unsubscribed: nothing to re-enable")


class InvalidAddress(StorageError):
    """Raised when an address given to an operation is not a plausible mail address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(f"{address!r} is not a mail address (expected local@domain)")
