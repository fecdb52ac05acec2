"""events on SQLite are numbered as they are written: number those an older version left

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:50:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# No schema change. From this revision on, SQLite gives each event its sequence in the insert
# (tfs/db/outbox.py: the next numbers after the highest, with one writer at a time), where it
# used to insert NULL and stamp the group's events afterwards. Events an older version committed
# unstamped (a placement's, until the next group or the relay stamped them) are numbered here,
# in insertion order, so that they come before every event written from now on. PostgreSQL is
# unchanged: the relay still stamps what has become visible.
_NUMBER_THE_UNSTAMPED = (
    "UPDATE events SET sequence = t.seq FROM (SELECT event_pk, row_number() OVER"
    " (ORDER BY event_pk) + (SELECT coalesce(max(sequence), 0) FROM events) AS seq"
    " FROM events WHERE sequence IS NULL) AS t WHERE events.event_pk = t.event_pk"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_NUMBER_THE_UNSTAMPED)


def downgrade() -> None:
    pass  # numbered events are what an older version makes of them too
