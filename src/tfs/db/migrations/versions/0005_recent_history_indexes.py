"""indexes for an item's latest history entries and errors, and its history pages

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 21:40:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_item_history_item_pk_history_pk"), "item_history", ["item_pk", "history_pk"]
    )
    op.create_index(op.f("ix_item_errors_item_pk_error_pk"), "item_errors", ["item_pk", "error_pk"])


def downgrade() -> None:
    op.drop_index(op.f("ix_item_errors_item_pk_error_pk"), table_name="item_errors")
    op.drop_index(op.f("ix_item_history_item_pk_history_pk"), table_name="item_history")
