"""What every request handler needs: the settings and the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from tfs.api.auth import CredentialCache
from tfs.config import Settings
from tfs.ratelimit import RateLimiter
from tfs.storage.unit_of_work import Store


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    store: Store
    limiter: RateLimiter | None = None
    credentials: CredentialCache = field(default_factory=CredentialCache)
