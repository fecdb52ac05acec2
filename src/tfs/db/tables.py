"""The table definitions; migrations must produce exactly these (a test compares them)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")
UtcDateTime = DateTime(timezone=True)

vendors = Table(
    "vendors",
    metadata,
    Column("vendor_id", String(64), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("consumer_key", String(200), primary_key=True),
    Column("role", String(16), nullable=False),  # "vendor" | "platform" | "customer"
    Column("vendor_id", String(64), ForeignKey("vendors.vendor_id"), nullable=True),
    Column("public_key_pem", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    # Made by `tfs demo`: refused when TFS_ENV=production.
    Column("is_demo", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("mc_order_id", String(64), primary_key=True),
    Column("vendor_id", String(64), ForeignKey("vendors.vendor_id"), nullable=False),
    Column("order_id", String(64), nullable=True),
    Column("program_id", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("placement_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "vendor_id", "updated_at", "mc_order_id"),
    Index(None, "vendor_id", "order_id"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("item_pk", Id, primary_key=True, autoincrement=True),
    Column("mc_order_id", String(64), ForeignKey("orders.mc_order_id"), nullable=False),
    Column("mc_id", String(64), nullable=False),
    Column("item_id", String(64), nullable=True),
    Column("reward_item_id", String(64), nullable=True),
    Column("description", String(500), nullable=True),
    Column("quantity", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("tracking_number", String(128), nullable=True),
    Column("tracking_url", String(2048), nullable=True),
    Column("position", Integer, nullable=False),
    UniqueConstraint("mc_order_id", "mc_id"),
)

# The rows of item_history that the vendor sent (kind "vendor"), as SQL.
VENDOR_EVENT = "kind = 'vendor'"

# Everything that happened to an item: events the vendor sent, status moves and tracking changes
# the service recorded. Nothing is ever updated or deleted here.
item_history = Table(
    "item_history",
    metadata,
    Column("history_pk", Id, primary_key=True, autoincrement=True),
    Column("item_pk", Id, ForeignKey("order_items.item_pk"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("order_item_number", String(64), nullable=True),
    Column("event_type", String(64), nullable=True),
    Column("event_date", UtcDateTime, nullable=True),
    Column("note", Text, nullable=True),
    Column("fingerprint", String(32), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # The probe that makes a repeated vendor event a no-op. Only vendor events are ever looked
    # up by fingerprint (the records the service makes are unique by the request's time), so
    # only they have an entry: two of a status update's three or four rows per item do not.
    Index(
        None,
        "item_pk",
        "fingerprint",
        unique=True,
        sqlite_where=text(VENDOR_EVENT),
        postgresql_where=text(VENDOR_EVENT),
    ),
    # An item's latest entries and its history pages.
    Index(None, "item_pk", "history_pk"),
)

item_errors = Table(
    "item_errors",
    metadata,
    Column("error_pk", Id, primary_key=True, autoincrement=True),
    Column("item_pk", Id, ForeignKey("order_items.item_pk"), nullable=False),
    Column("field_name", String(128), nullable=True),
    Column("code", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("fingerprint", String(32), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("item_pk", "fingerprint"),
    Index(None, "item_pk", "error_pk"),
)

# Replay protection: a (consumer key, nonce) pair is accepted once while it can still be fresh.
# Keyed by its expiry (the signed timestamp plus a constant, so a replay carries the same one;
# RFC 5849 §3.3 makes a nonce unique per timestamp and credential) first: spends append at the
# right edge of one B-tree, the purge deletes at the left (migration 0012, docs/storage.md).
nonces = Table(
    "nonces",
    metadata,
    Column("expires_at", UtcDateTime, primary_key=True),
    Column("consumer_key", String(200), primary_key=True),
    Column("nonce", String(200), primary_key=True),
    sqlite_with_rowid=False,
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("consumer_key", String(200), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # "running" | "done"
    Column("response_status", Integer, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# The outbox: one row per committed change, written in the transaction of the change itself.
# `sequence` is the commit order the change feed promises: on SQLite each event is numbered as it
# is written, in the one writer's transaction; on PostgreSQL the relay stamps them in one
# serialised step, in the order they became visible (tfs/db/outbox.py).
events = Table(
    "events",
    metadata,
    Column("event_pk", Id, primary_key=True, autoincrement=True),
    # UUIDv7 since revision 0006 (earlier rows keep their uuid4): public, so unique.
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("vendor_id", String(64), nullable=False),
    Column("mc_order_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=True),
    Column("revision", Integer, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("sequence", BigInteger, nullable=True, unique=True),
    # Stamping finds the unstamped rows (`sequence IS NULL`) in the unique index on sequence;
    # docs/storage.md says which query needs each index.
    UniqueConstraint("mc_order_id", "revision"),
    Index(None, "vendor_id", "sequence"),
)

# Per-credential request counters, shared by every API process (see tfs/ratelimit.py).
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# Webhook subscriptions of the platform. The secret signs every delivery (Standard Webhooks); a
# subscription hears the events stamped after `start_after`, the sequence when it was added.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("subscription_id", Id, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False),
    Column("vendor_id", String(64), ForeignKey("vendors.vendor_id"), nullable=True),
    Column("secret", String(128), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("start_after", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# One row per subscription and event. `mc_order_id` and `revision` are copied from the event so
# that "no later revision before an earlier one is settled" is one indexed lookup. A claimed row
# carries a lease (`lease_until`, `lease_token`); a relay that dies lets it lapse.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", Id, primary_key=True, autoincrement=True),
    Column(
        "subscription_id",
        Id,
        ForeignKey("webhook_subscriptions.subscription_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_pk", Id, ForeignKey("events.event_pk"), nullable=False),
    Column("mc_order_id", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # "pending" | "delivered" | "dead"
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("first_attempt_at", UtcDateTime, nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("lease_token", String(36), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("subscription_id", "event_pk"),
    Index(None, "subscription_id", "mc_order_id", "revision"),
    Index(None, "subscription_id", "state", "next_attempt_at"),
    Index(None, "state", "next_attempt_at"),
)

# Every attempt to deliver, kept: when, what the receiver answered, how long it took, what broke.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("attempt_id", Id, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        Id,
        ForeignKey("webhook_deliveries.delivery_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(500), nullable=True),
)

# Durable progress of the relay through the stamped events: "fanout" (events turned into webhook
# deliveries) and "nats" (events acknowledged by JetStream). The NATS cursor is leased, so that of
# several relays one publishes at a time, in sequence order.
relay_cursors = Table(
    "relay_cursors",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("leased_by", String(36), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
)

# The programs a customer credential may read the catalogs of (tfs/catalog).
credential_programs = Table(
    "credential_programs",
    metadata,
    Column(
        "consumer_key",
        String(200),
        ForeignKey("credentials.consumer_key", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("program_id", BigInteger, primary_key=True),
)

# --- The catalog (tfs/catalog): one program's catalog is replaced whole, in one transaction ---

# `version` goes up by one with each import that changes something; `digest` is the SHA-256 of
# the normalised document, so importing what is there (an export) changes nothing.
catalog_programs = Table(
    "catalog_programs",
    metadata,
    Column("program_id", BigInteger, primary_key=True, autoincrement=False),
    Column("languages", Text, nullable=False),  # JSON array; the first is the default
    Column("version", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("catalog_count", Integer, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
)

# One hierarchy level; `document` is its entry of the import document (for export), `views` its
# answer object in each configured language (JSON object by language).
catalog_levels = Table(
    "catalog_levels",
    metadata,
    Column("program_id", BigInteger, primary_key=True, autoincrement=False),
    Column("catalog_id", BigInteger, primary_key=True, autoincrement=False),
    Column("parent_id", BigInteger, nullable=True),
    Column("position", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("views", Text, nullable=False),
)

reward_items = Table(
    "reward_items",
    metadata,
    Column("item_pk", Id, primary_key=True, autoincrement=True),
    Column("program_id", BigInteger, nullable=False),
    Column("item_id", BigInteger, nullable=False),
    Column("position", Integer, nullable=False),
    Column("point_value", Float, nullable=False),
    # False: available to every bank product; else only to those in reward_item_products.
    Column("restricted", Boolean, nullable=False),
    Column("document", Text, nullable=False),
    UniqueConstraint("program_id", "item_id"),
    Index(None, "program_id", "position"),
)

# An item's answer object, rendered once at import for each configured language.
reward_item_views = Table(
    "reward_item_views",
    metadata,
    Column(
        "item_pk",
        Id,
        ForeignKey("reward_items.item_pk", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("language", String(16), primary_key=True),
    Column("view", Text, nullable=False),
)

# The leaf catalogs an item is listed on.
reward_item_catalogs = Table(
    "reward_item_catalogs",
    metadata,
    Column("program_id", BigInteger, primary_key=True, autoincrement=False),
    Column("catalog_id", BigInteger, primary_key=True, autoincrement=False),
    Column(
        "item_pk",
        Id,
        ForeignKey("reward_items.item_pk", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    # A keyword search checks each matching item's leaves.
    Index(None, "item_pk", "catalog_id"),
)

reward_item_products = Table(
    "reward_item_products",
    metadata,
    Column(
        "item_pk",
        Id,
        ForeignKey("reward_items.item_pk", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("product_code", String(64), primary_key=True),
)

# --- The operations console (tfs/console) ---------------------------------------------------

# People who sign in to the console. `password_hash` is scrypt's (tfs/console/passwords.py);
# `must_change` is set by a one-time password (`tfs operators add` / `reset`); five failed
# sign-ins in a row set `locked_until`.
operators = Table(
    "operators",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("must_change", Boolean, nullable=False),
    Column("failed_count", Integer, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# A signed-in browser: only the SHA-256 of its cookie's token is kept, so that a copy of the
# database signs no one in. `csrf_token` is what every form of the session must send back.
operator_sessions = Table(
    "operator_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "operator",
        String(64),
        ForeignKey("operators.name", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# The keyword index is the database's own full-text search, which the table definitions cannot
# describe: an FTS5 table on SQLite, a tsvector with a GIN index on PostgreSQL, both named
# reward_item_search and made by migration 0007. Schema comparisons leave it out.
SEARCH_TABLE = "reward_item_search"


def described(name: str | None, type_: str, parent_names: object = None) -> bool:
    """False for what the migrations make but these definitions cannot describe (Alembic's
    `include_name` hook)."""
    return not (type_ == "table" and (name or "").startswith(SEARCH_TABLE))
