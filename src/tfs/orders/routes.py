"""The routes: read the request, authenticate, call one use case, render its answer."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tfs import clock, limits
from tfs.access.authenticate import Caller, authenticate, require_platform, require_vendor
from tfs.errors import (
    ORDER_MANAGEMENT,
    ErrorItem,
    InvalidRequestBody,
    RequestTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from tfs.fields import printable
from tfs.http import AppContext
from tfs.orders import render, usecases
from tfs.orders.placement import parse_placement, parse_placements
from tfs.orders.repository import OrderFilter
from tfs.orders.statuses import parse_status
from tfs.orders.updates import OrderUpdate, parse_event_date, parse_updates

JSON = "application/json"


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


def _require_json(request: Request) -> None:
    # No Content-Type at all is taken as JSON: Mastercard's own README example posts
    # `data=json.dumps(...)`, for which requests sends none.
    media = request.headers.get("content-type", JSON).split(";", 1)[0].strip().lower()
    if media != JSON and not media.endswith("+json"):
        raise UnsupportedMediaType()


def _decode(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidRequestBody("Request body is not valid JSON.") from exc
    except RecursionError as exc:
        raise InvalidRequestBody("Request body is nested too deeply.") from exc


def _authenticated(request: Request, body: bytes, app: AppContext) -> Caller:
    """The verified caller, counted against its credential's rate limit."""
    caller = authenticate(request, body, app.settings, app.store, app.credentials)
    if app.limiter is not None:
        app.limiter.hit(caller.credential.consumer_key)
    return caller


# --- POST {base}/vendors/{vendor_id}/orders/status -------------------------------------------


# Bodies larger than this are checked and worked out in a worker thread rather than on the
# event loop: a 500-order batch costs the loop tens of milliseconds, which every other request
# (`/health` too) would wait for. Smaller ones stay on the loop (fewer threads taking turns with
# the GIL: about +20 % requests/s measured for 10-order batches).
ON_LOOP_MAX_BODY = 64 * 1024


async def post_order_status(request: Request) -> Response:
    app = ctx(request)
    body = await read_body(request, app.settings.max_body_bytes)
    if app.store.writers_take_turns and "idempotency-key" not in request.headers:
        # SQLite: the request is checked and its batch worked out (CPU and local reads, no
        # network), and only the write waits, for the committer thread's next group. With an
        # Idempotency-Key the key is claimed in a write transaction of its own, which must not
        # block the loop.
        if len(body) <= ON_LOOP_MAX_BODY:
            future = _submit_status_update(request, body, app)
        else:
            future = await run_in_threadpool(_submit_status_update, request, body, app)
        return json_response((await asyncio.wrap_future(future)).body)
    return await run_in_threadpool(_post_order_status, request, body)


def _submit_status_update(
    request: Request, body: bytes, app: AppContext
) -> Future[usecases.StatusAnswer]:
    vendor_id, caller, updates, now = _checked_status_update(request, body, app)
    return usecases.submit_status_updates(
        app.store, vendor_id, updates, now, render.outcomes, caller.nonce
    )


def _checked_status_update(
    request: Request, body: bytes, app: AppContext
) -> tuple[str, Caller, list[OrderUpdate], datetime]:
    """Authenticated, authorised and parsed, or raised: the vendor, the caller, the updates."""
    vendor_id = request.path_params["vendor_id"]
    caller = _authenticated(request, body, app)
    require_vendor(caller, vendor_id)
    _require_json(request)
    data = _decode(body)
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise InvalidRequestBody()
    if len(data) > app.settings.max_orders_per_request:
        raise RequestTooLarge(f"At most {app.settings.max_orders_per_request} orders per request.")
    updates, faults = parse_updates(data)
    if faults:
        raise ValidationFailed(faults)
    return vendor_id, caller, updates, clock.now()


def _post_order_status(request: Request, body: bytes) -> Response:
    app = ctx(request)
    vendor_id, caller, updates, now = _checked_status_update(request, body, app)
    nonce: usecases.Nonce | None = caller.nonce
    idem = None
    key = request.headers.get("idempotency-key")
    if key is not None:
        idem = _idempotency(request, caller.credential.consumer_key, key, body, now, app)
        stored = usecases.replayed_response(app.store, idem, now, nonce=nonce)
        if stored is not None:
            return json_response(
                stored.body, stored.status, headers={"Idempotent-Replayed": "true"}
            )
        nonce = None  # spent when the key was claimed
    try:
        answer = usecases.apply_status_updates(
            app.store, vendor_id, updates, now, render.outcomes, nonce=nonce, idempotency=idem
        )
    except Exception:
        if idem is not None:
            usecases.release_idempotency_key(app.store, idem)
        raise
    return json_response(answer.body)


def _idempotency(
    request: Request, consumer_key: str, key: str, body: bytes, now: datetime, app: AppContext
) -> usecases.Idempotency:
    if not 1 <= len(key) <= limits.MAX_IDEMPOTENCY_KEY_LENGTH or not printable(key):
        raise ValidationFailed(
            [
                ErrorItem(
                    ORDER_MANAGEMENT,
                    "INVALID_FIELD_VALUE_IDEMPOTENCY_KEY",
                    f"Idempotency-Key must be 1 to {limits.MAX_IDEMPOTENCY_KEY_LENGTH} printable"
                    " characters.",
                )
            ]
        )
    digest = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n")
    digest.update(body)
    return usecases.Idempotency(
        consumer_key,
        key,
        digest.hexdigest(),
        now + timedelta(seconds=app.settings.idempotency_ttl_s),
    )


# --- GET {base}/vendors/{vendor_id}/orders/status --------------------------------------------


async def get_order_status(request: Request) -> Response:
    return await run_in_threadpool(_get_order_status, request)


def _invalid(param: str, why: str) -> ValidationFailed:
    code = f"INVALID_FIELD_VALUE_{param.upper()}"
    return ValidationFailed([ErrorItem(ORDER_MANAGEMENT, code, f"{param} {why}")])


def _identifiers(param: str, values: Iterable[str]) -> None:
    if not all(printable(v) for v in values):
        raise _invalid(param, "must not contain control characters.")


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(limits.DEFAULT_PAGE_SIZE))
    # isascii: str.isdigit() is also true of '²', which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= limits.MAX_PAGE_SIZE:
        raise _invalid("limit", f"must be an integer from 1 to {limits.MAX_PAGE_SIZE}.")
    return int(raw)


def encode_cursor(updated_at: datetime, mc_order_id: str) -> str:
    raw = msgspec.json.encode([updated_at.isoformat(), mc_order_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, mc_order_id = msgspec.json.decode(raw, type=tuple[str, str])
        if not printable(mc_order_id):
            raise ValueError(mc_order_id)
        return datetime.fromisoformat(at), mc_order_id
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise _invalid("cursor", "is not a cursor this service gave out.") from exc


def _filter(request: Request, vendor_id: str) -> OrderFilter:
    q = request.query_params
    mc_ids, order_ids = tuple(q.getlist("mcOrderId")), tuple(q.getlist("orderId"))
    _identifiers("vendorId", [vendor_id])
    for name, values in (("mcOrderId", mc_ids), ("orderId", order_ids)):
        if len(values) > limits.MAX_FILTER_VALUES:
            raise _invalid(name, f"may be given at most {limits.MAX_FILTER_VALUES} times.")
        _identifiers(name, values)
    status = None
    if "status" in q:
        status = parse_status(q["status"])
        if status is None:
            raise _invalid("status", "is not a known status.")
    since = None
    if "updatedSince" in q:
        since = parse_event_date(q["updatedSince"])
        if since is None:
            raise _invalid("updatedSince", "must be an ISO-8601 date-time.")
    after = decode_cursor(q["cursor"]) if "cursor" in q else None
    return OrderFilter(vendor_id, mc_ids, order_ids, status, since, after)


def _get_order_status(request: Request) -> Response:
    app = ctx(request)
    vendor_id = request.path_params["vendor_id"]
    caller = _authenticated(request, b"", app)
    require_vendor(caller, vendor_id, platform_may_read=True)
    flt, limit = _filter(request, vendor_id), _limit(request)
    records = usecases.find_orders(app.store, flt, limit + 1, nonce=caller.nonce)
    # The page ends early where the next order would take it past MAX_ANSWER_BYTES (always at
    # least one order, which fits on its own); the cursor goes on from the last one shown.
    shown: list[bytes] = []
    size = 64
    for record in records[:limit]:
        body = render.fitted(record, detail=False)
        if shown and size + len(body) + 1 > limits.MAX_ANSWER_BYTES:
            break
        shown.append(body)
        size += len(body) + 1
    more = len(records) > len(shown)
    last = records[len(shown) - 1].state if shown else None
    next_cursor = (
        encode_cursor(last.updated_at, last.mc_order_id)
        if more and last and last.updated_at
        else None
    )
    return json_response(
        b'{"orders":[' + b",".join(shown) + b'],"nextCursor":' + render.encode(next_cursor) + b"}"
    )


# --- Platform: POST {base}/orders, GET {base}/orders/{mcOrderId} ------------------------------


async def post_order(request: Request) -> Response:
    body = await read_body(request, ctx(request).settings.max_body_bytes)
    return await run_in_threadpool(_post_order, request, body)


def _post_order(request: Request, body: bytes) -> Response:
    """An object places one order (201 new, 200 repeat, an error otherwise); an array places a
    batch in one transaction and answers 200 with one result per element."""
    app = ctx(request)
    caller = _authenticated(request, body, app)
    require_platform(caller)
    _require_json(request)
    data = _decode(body)
    if isinstance(data, list):
        if len(data) > app.settings.max_orders_per_request:
            raise RequestTooLarge(
                f"At most {app.settings.max_orders_per_request} orders per request."
            )
        outcomes = usecases.place_orders(
            app.store, parse_placements(data), clock.now(), nonce=caller.nonce
        )
        return json_response(render.placements(outcomes))
    placement, faults = parse_placement(data)
    if placement is None:
        raise ValidationFailed(faults)
    record, created = usecases.place_order(app.store, placement, clock.now(), nonce=caller.nonce)
    return json_response(render.encode(render.order_detail(record)), 201 if created else 200)


async def get_order(request: Request) -> Response:
    return await run_in_threadpool(_get_order, request)


def _get_order(request: Request) -> Response:
    app = ctx(request)
    caller = _authenticated(request, b"", app)
    require_platform(caller)
    _identifiers("mcOrderId", [request.path_params["mc_order_id"]])
    record = usecases.read_order(app.store, request.path_params["mc_order_id"], nonce=caller.nonce)
    return json_response(render.fitted(record, detail=True))


# --- GET {base}/orders/{mcOrderId}/history, {base}/vendors/{vendor_id}/orders/{mcOrderId}/history


async def get_order_history(request: Request) -> Response:
    return await run_in_threadpool(_get_order_history, request)


def _history_cursor(request: Request) -> tuple[int, int] | None:
    raw = request.query_params.get("after")
    if raw is None:
        return None
    item, _, entry = raw.partition(".")
    if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in (item, entry)):
        raise _invalid("after", "must be a cursor this service gave out.")
    return int(item), int(entry)


def _get_order_history(request: Request) -> Response:
    """A page of an order's full history: for the platform, or for the order's own vendor."""
    app = ctx(request)
    caller = _authenticated(request, b"", app)
    vendor_id = request.path_params.get("vendor_id")
    if vendor_id is None:
        require_platform(caller)
    else:
        require_vendor(caller, vendor_id, platform_may_read=True)
    mc_order_id = request.path_params["mc_order_id"]
    _identifiers("mcOrderId", [mc_order_id])
    after, limit = _history_cursor(request), _limit(request)
    page = usecases.read_history(
        app.store, mc_order_id, after, limit + 1, vendor_id=vendor_id, nonce=caller.nonce
    )
    # As the orders' pages: ended early rather than past MAX_ANSWER_BYTES.
    shown: list[bytes] = []
    size, cursor = 64, None
    for item, entry_cursor, row in page.entries[:limit]:
        entry = render.history_entry(row, item, row.received_at)
        body = render.encode({"mcId": item.mc_id, **entry})
        if shown and size + len(body) + 1 > limits.MAX_ANSWER_BYTES:
            break
        shown.append(body)
        size += len(body) + 1
        cursor = entry_cursor
    next_cursor = cursor if len(page.entries) > len(shown) else None
    return json_response(
        b'{"mcOrderId":'
        + render.encode(mc_order_id)
        + b',"histories":['
        + b",".join(shown)
        + b'],"nextCursor":'
        + render.encode(next_cursor)
        + b"}"
    )


# --- Platform: GET {base}/events --------------------------------------------------------------


async def get_events(request: Request) -> Response:
    return await run_in_threadpool(_get_events, request)


def _get_events(request: Request) -> Response:
    app = ctx(request)
    caller = _authenticated(request, b"", app)
    require_platform(caller)
    q = request.query_params
    raw_after = q.get("after", "0")
    if not (raw_after.isascii() and raw_after.isdigit()) or len(raw_after) > 18:
        raise _invalid("after", "must be a cursor this service gave out (a whole number).")
    _identifiers("vendorId", q.getlist("vendorId"))
    _identifiers("mcOrderId", q.getlist("mcOrderId"))
    after = int(raw_after)
    events = usecases.read_events(
        app.store,
        after,
        _limit(request),
        vendor_id=q.get("vendorId"),
        mc_order_id=q.get("mcOrderId"),
        nonce=caller.nonce,
    )
    cursor = str(events[-1].sequence) if events else str(after)
    body = b'{"events":[' + b",".join(e.to_json() for e in events) + b'],"nextCursor":'
    return json_response(body + render.encode(cursor) + b"}")
