"""nonces keyed by (expires_at, consumer_key, nonce), WITHOUT ROWID on SQLite

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 21:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_OLD = "nonces_0011"


def _rename_old_key() -> None:
    """PostgreSQL names constraints per schema: move the old table's key out of the way of the
    new table's (SQLite names the primary key's index after its table by itself)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {_OLD} RENAME CONSTRAINT pk_nonces TO pk_{_OLD}")


def _columns(expiry_first: bool) -> list[sa.Column[Any]]:
    expires = sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False)
    key = [
        sa.Column("consumer_key", sa.String(200), nullable=False),
        sa.Column("nonce", sa.String(200), nullable=False),
    ]
    return [expires, *key] if expiry_first else [*key, expires]


def upgrade() -> None:
    # A spend appended to two random B-trees (the key's index by the random nonce, the rowid
    # table) and an index of expiry; keyed by the expiry first (the signed timestamp plus a
    # constant: a replay carries the same), spends go to the right edge of one B-tree and the
    # purge deletes at its left (docs/storage.md). A nonce is unique per timestamp and
    # credential (RFC 5849 §3.3), so the old key's rows fit the new one as they are.
    op.rename_table("nonces", _OLD)
    _rename_old_key()
    op.create_table(
        "nonces",
        *_columns(expiry_first=True),
        sa.PrimaryKeyConstraint("expires_at", "consumer_key", "nonce", name="pk_nonces"),
        sqlite_with_rowid=False,
    )
    op.execute(
        f"INSERT INTO nonces (expires_at, consumer_key, nonce)"  # noqa: S608
        f" SELECT expires_at, consumer_key, nonce FROM {_OLD}"
    )
    op.drop_table(_OLD)


def downgrade() -> None:
    op.rename_table("nonces", _OLD)
    _rename_old_key()
    op.create_table(
        "nonces",
        *_columns(expiry_first=False),
        sa.PrimaryKeyConstraint("consumer_key", "nonce", name="pk_nonces"),
    )
    op.create_index("ix_nonces_expires_at", "nonces", ["expires_at"])
    # The old key holds a nonce once whatever its expiry: the latest expiry wins.
    op.execute(
        f"INSERT INTO nonces (consumer_key, nonce, expires_at)"  # noqa: S608
        f" SELECT consumer_key, nonce, max(expires_at) FROM {_OLD}"
        " GROUP BY consumer_key, nonce"
    )
    op.drop_table(_OLD)
