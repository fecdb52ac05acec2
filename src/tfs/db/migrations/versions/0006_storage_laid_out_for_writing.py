"""events lose the partial index of unstamped rows: the unique index on sequence finds them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Event ids are left as they are: they are public (webhook-id, the NATS dedup header). New
# ones are UUIDv7 (tfs/db/outbox.py); both kinds fit the String(36) column and its index.


def upgrade() -> None:
    # Neither SQLite nor PostgreSQL chose it: both look up `sequence IS NULL` in
    # uq_events_sequence (docs/storage.md). It cost a B-tree insert per event and a delete per
    # stamp.
    op.drop_index("ix_events_unstamped", table_name="events")


def downgrade() -> None:
    op.create_index(
        "ix_events_unstamped",
        "events",
        ["event_pk"],
        postgresql_where=sa.text("sequence IS NULL"),
        sqlite_where=sa.text("sequence IS NULL"),
    )
