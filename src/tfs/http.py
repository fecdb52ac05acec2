"""What every request handler needs: the settings and the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from tfs.access.authenticate import CredentialCache
from tfs.access.ratelimit import RateLimiter
from tfs.config import Settings
from tfs.db.store import Store


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    store: Store
    limiter: RateLimiter | None = None
    credentials: CredentialCache = field(default_factory=CredentialCache)
