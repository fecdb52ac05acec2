"""Authentication and authorisation as Mastercard's gateway does it, for one request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.requests import Request

from tfs.access import signing
from tfs.access.repository import Credential, Credentials
from tfs.access.usecases import Nonce
from tfs.config import Settings
from tfs.db.store import Store
from tfs.errors import (
    BodyHashMismatch,
    InvalidClientId,
    RevokedConsumerKey,
    SignatureMismatch,
    StaleTimestamp,
    UnknownConsumerKey,
)

PLATFORM = "platform"
VENDOR = "vendor"
CUSTOMER = "customer"  # a program customer: reads the catalogs of its programs (tfs/catalog)
ROLES = (VENDOR, PLATFORM, CUSTOMER)


@dataclass(frozen=True)
class Caller:
    """Who signed the request, and the nonce to spend with the work it asks for."""

    credential: Credential
    nonce: Nonce

    def may_act_for_vendor(self, vendor_id: str) -> bool:
        c = self.credential
        return c.role == VENDOR and c.vendor_id == vendor_id

    @property
    def is_platform(self) -> bool:
        return self.credential.role == PLATFORM


@lru_cache(maxsize=1024)
def _public_key(pem: str) -> RSAPublicKey:
    key = load_pem_public_key(pem.encode())
    assert isinstance(key, RSAPublicKey)
    return key


def signed_uri(request: Request, settings: Settings) -> str:
    """The URL the client signed: the configured public origin (behind a proxy) plus raw path."""
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode()
    path = raw_path.decode("latin-1").split("?", 1)[0]
    if settings.public_url:
        scheme, _, host = settings.public_url.partition("://")
    else:
        scheme = scope.get("scheme", "http")
        host = request.headers.get("host") or "{}:{}".format(*scope.get("server", ("", "")))
    return signing.base_uri(scheme, host, path)


class CredentialCache:
    """Credentials by consumer key, read from the database once per process.

    A credential never changes but to be revoked, and revocation is checked where the
    request's nonce is spent, in the transaction of its work (Nonces.record), so a revoked key
    is refused at once on every process though its entry here is stale. Unknown keys are not
    cached: a credential added on another process is found on its first request.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._by_key: dict[str, Credential] = {}

    def get(self, store: Store, consumer_key: str) -> Credential | None:
        credential = self._by_key.get(consumer_key)
        if credential is None:
            with store.reading() as uow:  # one driver-level read: no transaction needed
                credential = Credentials(uow).get(consumer_key)
            if credential is not None and not credential.revoked:
                if len(self._by_key) >= self.MAX_ENTRIES:
                    self._by_key.clear()
                self._by_key[consumer_key] = credential
        return credential


def _credential(
    store: Store, consumer_key: str, settings: Settings, cache: CredentialCache
) -> Credential:
    credential = cache.get(store, consumer_key)
    if credential is None:
        raise UnknownConsumerKey()
    if credential.revoked:
        raise RevokedConsumerKey()
    if credential.is_demo and settings.is_production:
        raise UnknownConsumerKey("Demo credentials are refused in production.")
    return credential


def authenticate(
    request: Request, body: bytes, settings: Settings, store: Store, cache: CredentialCache
) -> Caller:
    """Verify the OAuth 1.0a signature over the exact bytes received; raise on any fault.

    The nonce is not spent here but in the transaction of the work itself, so that it is
    recorded only for verified requests and with no extra commit.
    """
    params = signing.parse_authorization(request.headers.get("authorization"))
    now = time.time()
    if abs(now - params.timestamp) > settings.timestamp_tolerance_s:
        future = params.timestamp > now
        raise StaleTimestamp(
            "OAuth timestamp is too far in the future." if future else "OAuth timestamp is too old."
        )
    query = request.scope.get("query_string", b"").decode("latin-1")
    signing.check_query_apart(params, query)
    credential = _credential(store, params.consumer_key, settings, cache)
    if not signing.body_hash_matches(params, body):
        raise BodyHashMismatch()
    uri = signed_uri(request, settings)
    if not signing.verify(
        _public_key(credential.public_key_pem), request.method, uri, query, params
    ):
        raise SignatureMismatch()
    # Kept long enough that the timestamp is stale before the nonce is forgotten.
    expires = datetime.fromtimestamp(params.timestamp, UTC) + timedelta(
        seconds=2 * settings.timestamp_tolerance_s
    )
    return Caller(credential, Nonce(params.consumer_key, params.nonce, expires, params.timestamp))


def require_vendor(caller: Caller, vendor_id: str, *, platform_may_read: bool = False) -> None:
    if caller.may_act_for_vendor(vendor_id) or (platform_may_read and caller.is_platform):
        return
    raise InvalidClientId()


def require_platform(caller: Caller) -> None:
    if not caller.is_platform:
        raise InvalidClientId()
