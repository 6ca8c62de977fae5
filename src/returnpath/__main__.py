"""`returnpath` and `python -m returnpath`: the command line, imported only when it runs.

The console script imports this module rather than returnpath.cli. A parse worker is started
with "spawn", which re-imports the script that started its parent: through this module that
costs nothing, where importing the whole command line (Typer, SQLAlchemy, storage) would
delay every worker by most of a second before it could parse.
"""

from __future__ import annotations


def main() -> None:
    from returnpath.cli import main as run

    run()


if __name__ == "__main__":
    main()
