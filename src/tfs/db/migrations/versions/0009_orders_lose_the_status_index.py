"""orders lose the (vendor_id, status) index: the status filter walks the updated_at index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:30:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every status move deleted an entry of this index and inserted one elsewhere: two random
    # pages per changed order, about 19 of a 10-order update's 130 WAL frames
    # (docs/performance.md). The vendor's `status` filter now walks the vendor's
    # (updated_at, mc_order_id) index, a bounded number of orders per page (docs/storage.md).
    op.drop_index("ix_orders_vendor_id_status", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_vendor_id_status", "orders", ["vendor_id", "status"])
