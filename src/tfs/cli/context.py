"""What every `tfs` command shares: the settings and the store, and the one table of exit codes.

Exit codes, the same for every command:

    0  done
    1  done, but some of what was asked failed (an order FAILED in a status update or a
       placement batch; `tfs send-status --allow-failed` makes that 0)
    2  bad usage or input (nothing was sent or changed)
    3  refused: by the service (an HTTP 4xx), by its rules (an unknown vendor, a key already
       registered), or not configured (settings, migrations)
    4  the service could not be reached, or answered 5xx (try again later)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from tfs.config import Settings, load_settings
from tfs.errors import ConfigurationError

if TYPE_CHECKING:
    from tfs.db.store import Store

EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_UNAVAILABLE = 1, 2, 3, 4
EXIT_CONFIG = EXIT_REFUSED


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class Context:
    def __init__(self) -> None:
        try:
            self.settings: Settings = load_settings()
        except ConfigurationError as exc:
            fail(str(exc), EXIT_CONFIG)
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The database, migrated first when it is an SQLite file. Only the commands that make
        a database (`serve`, `db upgrade`, `demo`) may make a new file: any other says where it
        looked and stops, rather than work on a new empty database."""
        if self._store is None:
            # Imported here: commands that need no database start without SQLAlchemy.
            from tfs.db.engine import is_sqlite, is_up_to_date, make_engine, sqlite_file, upgrade
            from tfs.db.store import Store

            url = self.settings.database_url
            if is_sqlite(url):
                path = sqlite_file(url)
                if path is not None and not Path(path).exists() and not _may_create():
                    fail(
                        f"no database at {path}: run this from the folder that holds var/tfs.db,"
                        " set TFS_DATABASE_URL, or make one with `tfs db upgrade` (or `make run`)",
                        EXIT_CONFIG,
                    )
                upgrade(url)
            # An operator's command may rightly hold a connection long (a big import).
            self._store = Store(make_engine(url, timeout_s=CLI_DB_TIMEOUT_S))
            if not is_up_to_date(self._store.engine):
                fail(
                    "the database is not at the latest migration: run `tfs db upgrade`", EXIT_CONFIG
                )
        return self._store


CLI_DB_TIMEOUT_S = 600.0
CREATING_COMMANDS = ("serve", "db upgrade", "demo")


def _may_create() -> bool:
    current = click.get_current_context(silent=True)
    path = current.command_path.split(" ", 1)[1] if current and " " in current.command_path else ""
    return path in CREATING_COMMANDS


pass_ctx = click.make_pass_decorator(Context, ensure=True)
