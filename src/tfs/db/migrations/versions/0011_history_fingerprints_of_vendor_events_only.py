"""item_history's unique (item_pk, fingerprint) holds vendor events only

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_VENDOR_EVENT = sa.text("kind = 'vendor'")


def upgrade() -> None:
    # Only vendor events are looked up by fingerprint; the status and tracking records the
    # service makes are unique by the request's time. Every one of them still cost an entry in
    # a random page of this index (docs/storage.md). SQLite cannot drop a table's constraint:
    # batch mode copies the table without it (its other index is made again).
    with op.batch_alter_table("item_history", recreate="auto") as batch:
        batch.drop_constraint("uq_item_history_item_pk_fingerprint", type_="unique")
    op.create_index(
        "ix_item_history_item_pk_fingerprint",
        "item_history",
        ["item_pk", "fingerprint"],
        unique=True,
        sqlite_where=_VENDOR_EVENT,
        postgresql_where=_VENDOR_EVENT,
    )


def downgrade() -> None:
    # Every fingerprint unique again, as 0010 had them: the service's records are, since each
    # carries the time of its request.
    op.drop_index("ix_item_history_item_pk_fingerprint", table_name="item_history")
    with op.batch_alter_table("item_history", recreate="auto") as batch:
        batch.create_unique_constraint(
            "uq_item_history_item_pk_fingerprint", ["item_pk", "fingerprint"]
        )
