"""Structured logs for the poller: one line per event, key=value by default or JSON.

Callers log with `log_event(logger, "poll", mailbox="bounces", seen=12, ...)`; the formatter
chosen by `setup_logging` renders the event name and its fields. Values are never secrets:
passwords are not passed to the logger anywhere in the package.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LOGGER_NAME = "returnpath"
_FIELDS = "rp_fields"


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log `event` with its fields as one structured line."""
    logger.log(level, event, extra={_FIELDS: fields})


def _kv_value(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\n\t'):
        return json.dumps(text)
    return text


class KeyValueFormatter(logging.Formatter):
    """`ts=... level=info event=poll mailbox=bounces seen=12`; values with spaces are quoted."""

    def format(self, record: logging.LogRecord) -> str:
        parts = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **getattr(record, _FIELDS, {}),
        }
        if record.exc_info:
            parts["exc"] = self.formatException(record.exc_info)
        return " ".join(f"{k}={_kv_value(v)}" for k, v in parts.items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the same keys as the key=value form."""

    def format(self, record: logging.LogRecord) -> str:
        parts = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **getattr(record, _FIELDS, {}),
        }
        if record.exc_info:
            parts["exc"] = self.formatException(record.exc_info)
        return json.dumps(parts, default=str)


def setup_logging(
    log_format: str = "keyvalue", *, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Send the package's logs to `stream` (stderr) in `log_format` ("keyvalue" or "json").

    Replaces a handler installed by an earlier call, so calling it twice does not duplicate lines.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else KeyValueFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if getattr(h, "_returnpath", False)]:
        logger.removeHandler(old)
    handler._returnpath = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
