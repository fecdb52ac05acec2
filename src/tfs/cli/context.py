"""What every `tfs` command shares: the settings and the store, and the one table of exit codes.

Exit codes: 0 done, 1 refused by the service's rules, 2 bad usage or input, 3 not configured.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from tfs.config import Settings, load_settings
from tfs.db.engine import is_sqlite, is_up_to_date, make_engine, upgrade
from tfs.db.store import Store
from tfs.errors import ConfigurationError

EXIT_REFUSED, EXIT_USAGE, EXIT_CONFIG = 1, 2, 3


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
        """The database, migrated first when it is the embedded SQLite default."""
        if self._store is None:
            url = self.settings.database_url
            if is_sqlite(url):
                upgrade(url)
            self._store = Store(make_engine(url))
            if not is_up_to_date(self._store.engine):
                fail(
                    "the database is not at the latest migration: run `tfs db upgrade`", EXIT_CONFIG
                )
        return self._store


pass_ctx = click.make_pass_decorator(Context, ensure=True)
