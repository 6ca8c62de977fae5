"""A log handler that keeps the event name (the message) of every record it sees."""

from __future__ import annotations

import logging


class EventNames(logging.Handler):
    """Collects `record.getMessage()` of each record, DEBUG and above, in order."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(record.getMessage())
