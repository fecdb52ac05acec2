"""Settings: one frozen object, read from TFS_* environment variables once at the entry point."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from tfs.errors import ConfigurationError


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


DEFAULT_BASE_PATH = "/loyalty/rewards"


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
    from tfs.ratelimit import parse_rate

    parse_rate(raw)  # refuse a malformed rate here, at start-up
    return raw


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
    )
