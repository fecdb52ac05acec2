"""Migrations: an empty database migrates to exactly the table definitions."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tfs.db.engine import head_revision, is_up_to_date, make_engine, upgrade
from tfs.db.store import Store
from tfs.db.tables import described, metadata


def test_migrated_database_matches_the_table_definitions(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": described}), metadata
        )
    assert diff == []


def test_database_is_at_the_latest_revision(store: Store) -> None:
    assert head_revision() is not None
    assert is_up_to_date(store.engine)


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    upgrade(database_url)
    assert is_up_to_date(make_engine(database_url))


def test_an_empty_sqlite_file_is_not_up_to_date_until_upgraded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    assert not is_up_to_date(engine)
    upgrade(url)
    assert is_up_to_date(engine)
