"""The command line (DESIGN.md §6). Each command group lives in a module of this package.

Exit codes: 0 the command ran; 1 the request could not be met (unknown contact, ...);
2 bad usage, unreadable input, bad configuration or an unreachable database.
"""

from __future__ import annotations

import os
import sys

# Importing the command modules registers their commands on `app` and its groups.
from returnpath.cli import activity as _activity  # noqa: F401
from returnpath.cli import backfill as _backfill  # noqa: F401
from returnpath.cli import classify as _classify  # noqa: F401
from returnpath.cli import contacts as _contacts  # noqa: F401
from returnpath.cli import db as _db  # noqa: F401
from returnpath.cli import messages as _messages  # noqa: F401
from returnpath.cli import poll as _poll  # noqa: F401
from returnpath.cli import service as _service  # noqa: F401
from returnpath.cli import verp as _verp  # noqa: F401
from returnpath.cli.app import app


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        # The reader went away (`returnpath feed | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


__all__ = ["app", "main"]
