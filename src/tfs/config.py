"""Settings: one frozen object, read from TFS_* environment variables once at the entry point."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from tfs.errors import ConfigurationError


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


DEFAULT_BASE_PATH = "/loyalty/rewards"


@dataclass(frozen=True)
class RelaySettings:
    """The event relay (tfs.notify): webhooks, and NATS JetStream when `nats_url` is set."""

    enabled: bool = True  # TFS_RELAY=on|off: run it inside `tfs serve`
    nats_url: str | None = None  # TFS_NATS_URL
    nats_stream: str = "TFS_EVENTS"  # TFS_NATS_STREAM
    nats_subject_prefix: str = "tfs.events"  # TFS_NATS_SUBJECT_PREFIX
    retry_hours: float = 24.0  # TFS_WEBHOOK_RETRY_HOURS: then a delivery is dead-lettered
    backoff_s: float = 5.0  # TFS_WEBHOOK_BACKOFF_S: first retry delay, doubled each time
    timeout_s: float = 10.0  # TFS_WEBHOOK_TIMEOUT_S: per attempt (connect at most 5 s of it)
    concurrency: int = 4  # TFS_WEBHOOK_CONCURRENCY: deliveries in flight per subscription
    lease_s: float = 60.0  # TFS_RELAY_LEASE_S: a dead relay's claims come back after this
    poll_s: float = 0.5  # TFS_RELAY_POLL_S: how often an idle relay looks for work


@dataclass(frozen=True)
class ConnectionSettings:
    """What one HTTP connection may hold and for how long (tfs.api.server; README "Limits")."""

    max_head_bytes: int = 32 * 1024  # TFS_HTTP_MAX_HEAD_BYTES: request line and headers; 431
    max_url_bytes: int = 16 * 1024  # TFS_HTTP_MAX_URL_BYTES: the request target; 414
    head_timeout_s: float = 10.0  # TFS_HTTP_HEAD_TIMEOUT_S: a head must arrive within this
    body_timeout_s: float = 10.0  # TFS_HTTP_BODY_TIMEOUT_S: longest pause inside a body
    keepalive_s: float = 5.0  # TFS_HTTP_KEEPALIVE_S: an idle kept-alive connection closes
    # TFS_HTTP_MAX_CONNECTIONS: open connections per process; beyond them a new one is answered
    # 503 and closed. 0 means 1,000, or fewer when the descriptor limit needs it.
    max_connections: int = 0


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/tfs.db"
    base_path: str = DEFAULT_BASE_PATH
    public_url: str | None = None
    timestamp_tolerance_s: int = 300
    max_orders_per_request: int = 500
    max_body_bytes: int = 2 * 1024 * 1024
    env: Environment = Environment.DEVELOPMENT
    idempotency_ttl_s: int = 24 * 3600
    log_level: str = "INFO"
    rate_limit: str | None = "100/second"
    redis_url: str | None = None
    workers: int = 1
    # TFS_DB_TIMEOUT_S: the longest wait on the database (a pooled connection, a new one, a
    # connection held); past it the request answers 503 (tfs/db/deadline.py).
    db_timeout_s: float = 5.0
    metrics: bool = True  # TFS_METRICS=on|off: GET /metrics (tfs.metrics)
    relay: RelaySettings = field(default_factory=RelaySettings)
    connections: ConnectionSettings = field(default_factory=ConnectionSettings)

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _base_path(raw: str) -> str:
    path = "/" + raw.strip("/") if raw.strip("/") else ""
    return path


def _public_url(raw: str | None) -> str | None:
    if not raw:
        return None
    url = raw.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"TFS_PUBLIC_URL must be http(s)://host[:port], got {raw!r}")
    return url


def default_database_url(cwd: Path | None = None) -> str:
    base = cwd or Path.cwd()
    return f"sqlite:///{base / 'var' / 'tfs.db'}"


def _rate(raw: str | None) -> str | None:
    from tfs.access.ratelimit import parse_rate

    parse_rate(raw)  # refuse a malformed rate here, at start-up
    return raw


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name) or str(default)
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if not 0 < value < float("inf"):
        raise ConfigurationError(f"{name} must be a positive number, got {raw!r}")
    return value


def _switch(env: Mapping[str, str], name: str, default: str = "on") -> bool:
    value = (env.get(name) or default).lower()
    if value not in ("on", "off"):
        raise ConfigurationError(f"{name} must be 'on' or 'off', got {value!r}")
    return value == "on"


def connection_settings(env: Mapping[str, str] | None = None) -> ConnectionSettings:
    """The connection limits alone: the HTTP server reads them before any app exists."""
    env = os.environ if env is None else env
    max_connections = env.get("TFS_HTTP_MAX_CONNECTIONS") or "0"
    if not max_connections.isdigit():
        raise ConfigurationError(
            f"TFS_HTTP_MAX_CONNECTIONS must be a whole number, got {max_connections!r}"
        )
    return ConnectionSettings(
        max_head_bytes=_int(env, "TFS_HTTP_MAX_HEAD_BYTES", 32 * 1024, minimum=1024),
        max_url_bytes=_int(env, "TFS_HTTP_MAX_URL_BYTES", 16 * 1024, minimum=256),
        head_timeout_s=_float(env, "TFS_HTTP_HEAD_TIMEOUT_S", 10.0),
        body_timeout_s=_float(env, "TFS_HTTP_BODY_TIMEOUT_S", 10.0),
        keepalive_s=_float(env, "TFS_HTTP_KEEPALIVE_S", 5.0),
        max_connections=int(max_connections),
    )


def _relay(env: Mapping[str, str]) -> RelaySettings:
    enabled = env.get("TFS_RELAY", "on").lower()
    if enabled not in ("on", "off"):
        raise ConfigurationError(f"TFS_RELAY must be 'on' or 'off', got {enabled!r}")
    nats_url = env.get("TFS_NATS_URL") or None
    if nats_url and not nats_url.startswith(("nats://", "tls://")):
        raise ConfigurationError(f"TFS_NATS_URL must be nats://host:port, got {nats_url!r}")
    relay = RelaySettings(
        enabled=enabled == "on",
        nats_url=nats_url,
        nats_stream=env.get("TFS_NATS_STREAM") or "TFS_EVENTS",
        nats_subject_prefix=(env.get("TFS_NATS_SUBJECT_PREFIX") or "tfs.events").strip("."),
        retry_hours=_float(env, "TFS_WEBHOOK_RETRY_HOURS", 24.0),
        backoff_s=_float(env, "TFS_WEBHOOK_BACKOFF_S", 5.0),
        timeout_s=_float(env, "TFS_WEBHOOK_TIMEOUT_S", 10.0),
        concurrency=_int(env, "TFS_WEBHOOK_CONCURRENCY", 4),
        lease_s=_float(env, "TFS_RELAY_LEASE_S", 60.0),
        poll_s=_float(env, "TFS_RELAY_POLL_S", 0.5),
    )
    # A claim must outlive the attempt it covers, or a second relay could send it again.
    if relay.lease_s <= 2 * relay.timeout_s:
        raise ConfigurationError("TFS_RELAY_LEASE_S must be more than twice TFS_WEBHOOK_TIMEOUT_S")
    return relay


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (or the given mapping). Call once, at an entry point."""
    env = os.environ if env is None else env
    try:
        environment = Environment(env.get("TFS_ENV", "development").lower())
    except ValueError as exc:
        raise ConfigurationError("TFS_ENV must be 'development' or 'production'") from exc
    return Settings(
        database_url=env.get("TFS_DATABASE_URL") or default_database_url(),
        base_path=_base_path(env.get("TFS_BASE_PATH", DEFAULT_BASE_PATH)),
        public_url=_public_url(env.get("TFS_PUBLIC_URL")),
        timestamp_tolerance_s=_int(env, "TFS_TIMESTAMP_TOLERANCE_S", 300),
        max_orders_per_request=_int(env, "TFS_MAX_ORDERS_PER_REQUEST", 500),
        max_body_bytes=_int(env, "TFS_MAX_BODY_BYTES", 2 * 1024 * 1024, minimum=1024),
        env=environment,
        idempotency_ttl_s=_int(env, "TFS_IDEMPOTENCY_TTL_S", 24 * 3600),
        log_level=env.get("TFS_LOG_LEVEL", "INFO").upper(),
        rate_limit=_rate(env.get("TFS_RATE_LIMIT", "100/second")),
        redis_url=env.get("TFS_REDIS_URL") or None,
        workers=_int(env, "TFS_WORKERS", 1),
        db_timeout_s=_float(env, "TFS_DB_TIMEOUT_S", 5.0),
        metrics=_switch(env, "TFS_METRICS"),
        connections=connection_settings(env),
        relay=_relay(env),
    )
