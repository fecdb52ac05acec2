"""the catalog: programs, hierarchy levels, reward items, their views and keyword index;
customer credentials bound to programs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credential_programs",
        sa.Column("consumer_key", sa.String(200), nullable=False),
        sa.Column("program_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_key"],
            ["credentials.consumer_key"],
            name="fk_credential_programs_consumer_key_credentials",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consumer_key", "program_id", name="pk_credential_programs"),
    )
    op.create_table(
        "catalog_programs",
        sa.Column("program_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("catalog_count", sa.Integer(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("program_id", name="pk_catalog_programs"),
    )
    op.create_table(
        "catalog_levels",
        sa.Column("program_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("catalog_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("views", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("program_id", "catalog_id", name="pk_catalog_levels"),
    )
    op.create_table(
        "reward_items",
        sa.Column("item_pk", Id, autoincrement=True, nullable=False),
        sa.Column("program_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("point_value", sa.Float(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("item_pk", name="pk_reward_items"),
        sa.UniqueConstraint("program_id", "item_id", name="uq_reward_items_program_id_item_id"),
    )
    op.create_index(
        "ix_reward_items_program_id_position", "reward_items", ["program_id", "position"]
    )
    for table, key in (("reward_item_views", "language"), ("reward_item_products", "product_code")):
        op.create_table(
            table,
            sa.Column("item_pk", Id, autoincrement=False, nullable=False),
            sa.Column(key, sa.String(16 if key == "language" else 64), nullable=False),
            *([sa.Column("view", sa.Text(), nullable=False)] if key == "language" else []),
            sa.ForeignKeyConstraint(
                ["item_pk"],
                ["reward_items.item_pk"],
                name=f"fk_{table}_item_pk_reward_items",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("item_pk", key, name=f"pk_{table}"),
        )
    op.create_table(
        "reward_item_catalogs",
        sa.Column("program_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("catalog_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("item_pk", Id, autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_pk"],
            ["reward_items.item_pk"],
            name="fk_reward_item_catalogs_item_pk_reward_items",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "program_id", "catalog_id", "item_pk", name="pk_reward_item_catalogs"
        ),
    )
    op.create_index(
        "ix_reward_item_catalogs_item_pk_catalog_id",
        "reward_item_catalogs",
        ["item_pk", "catalog_id"],
    )
    # The keyword index, the database's own full-text search (tfs/catalog/search.py): words are
    # folded and split by the service, so both backends see the same space-separated words.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE reward_item_search USING fts5("
            "words, tokenize = 'unicode61 remove_diacritics 2', detail = 'none')"
        )
    else:
        op.execute(
            "CREATE TABLE reward_item_search ("
            " item_pk BIGINT PRIMARY KEY REFERENCES reward_items (item_pk) ON DELETE CASCADE,"
            " words TSVECTOR NOT NULL)"
        )
        op.execute(
            "CREATE INDEX ix_reward_item_search_words ON reward_item_search USING GIN (words)"
        )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS reward_item_search")
    for table in (
        "reward_item_catalogs",
        "reward_item_products",
        "reward_item_views",
        "reward_items",
        "catalog_levels",
        "catalog_programs",
        "credential_programs",
    ):
        op.drop_table(table)
