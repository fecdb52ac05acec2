"""What every route shares: the app's context, reading a body, JSON answers, the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from tfs import limits
from tfs.access.authenticate import Caller, CredentialCache, authenticate
from tfs.access.ratelimit import RateLimiter
from tfs.access.read_nonces import ReadNonces
from tfs.config import Settings
from tfs.db.store import Store
from tfs.errors import (
    ORDER_MANAGEMENT,
    ErrorItem,
    InvalidRequestBody,
    RequestTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from tfs.fields import printable

JSON = "application/json"


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    store: Store
    read_nonces: ReadNonces
    limiter: RateLimiter | None = None
    credentials: CredentialCache = field(default_factory=CredentialCache)

    @property
    def checks_may_wait(self) -> bool:
        """True when authenticating a request may wait on something (a credential read over
        the network, a rate-limit counter in Redis or a database): then it is done in a worker
        thread, not on the event loop."""
        limiter_waits = self.limiter is not None and not self.limiter.in_memory
        return limiter_waits or not self.store.reads_are_local


def ctx(request: Request) -> AppContext:
    context: AppContext = request.app.state.ctx
    return context


def json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status, headers=headers, media_type=JSON)


async def read_body(request: Request, limit: int) -> bytes:
    """The body as received, refused as soon as it passes the limit (never read in full)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"Request body is larger than {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"Request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def require_json(request: Request) -> None:
    # No Content-Type at all is taken as JSON: Mastercard's own README example posts
    # `data=json.dumps(...)`, for which requests sends none.
    media = request.headers.get("content-type", JSON).split(";", 1)[0].strip().lower()
    if media != JSON and not media.endswith("+json"):
        raise UnsupportedMediaType()


def decode(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidRequestBody("Request body is not valid JSON.") from exc
    except UnicodeDecodeError as exc:  # msgspec's error for bytes that are not UTF-8
        raise InvalidRequestBody("Request body is not valid UTF-8.") from exc
    except RecursionError as exc:
        raise InvalidRequestBody("Request body is nested too deeply.") from exc


def authenticated(request: Request, body: bytes, app: AppContext) -> Caller:
    """The verified caller, counted against its credential's rate limit."""
    caller = authenticate(request, body, app.settings, app.store, app.credentials)
    if app.limiter is not None:
        app.limiter.hit(caller.credential.consumer_key)
    return caller


def invalid(param: str, why: str) -> ValidationFailed:
    code = f"INVALID_FIELD_VALUE_{param.upper()}"
    return ValidationFailed([ErrorItem(ORDER_MANAGEMENT, code, f"{param} {why}")])


def identifiers(param: str, values: list[str]) -> None:
    if not all(printable(v) for v in values):
        raise invalid(param, "must not contain control characters.")


def page_limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(limits.DEFAULT_PAGE_SIZE))
    # isascii: str.isdigit() is also true of '²', which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= limits.MAX_PAGE_SIZE:
        raise invalid("limit", f"must be an integer from 1 to {limits.MAX_PAGE_SIZE}.")
    return int(raw)
