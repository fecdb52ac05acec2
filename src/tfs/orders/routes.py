"""The routes of orders: read the request, authenticate, call one use case, render its answer."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timedelta

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tfs import clock, limits
from tfs.access.authenticate import Caller, require_platform, require_vendor
from tfs.errors import (
    ORDER_MANAGEMENT,
    ErrorItem,
    InvalidRequestBody,
    RequestTooLarge,
    ValidationFailed,
)
from tfs.fields import printable
from tfs.http import (
    AppContext,
    authenticated,
    ctx,
    decode,
    identifiers,
    invalid,
    json_response,
    page_limit,
    read_body,
    require_json,
)
from tfs.idempotency.usecases import Idempotency
from tfs.orders import render, usecases
from tfs.orders.placement import parse_placement, parse_placements
from tfs.orders.repository import OrderFilter
from tfs.orders.statuses import parse_status
from tfs.orders.updates import OrderUpdate, parse_event_date, parse_updates

# --- POST {base}/vendors/{vendor_id}/orders/status -------------------------------------------


# Bodies larger than this are checked and worked out in a worker thread rather than on the
# event loop: a 500-order batch costs the loop tens of milliseconds, which every other request
# (`/health` too) would wait for. Smaller ones stay on the loop (fewer threads taking turns with
# the GIL: about +20 % requests/s measured for 10-order batches).
ON_LOOP_MAX_BODY = 64 * 1024


async def post_order_status(request: Request) -> Response:
    app = ctx(request)
    body = await read_body(request, app.settings.max_body_bytes)
    # Checking is CPU and local reads: on the event loop for a body of ordinary size when
    # nothing can make it wait; else in a worker thread. The work itself waits for the store.
    if len(body) <= ON_LOOP_MAX_BODY and not app.checks_may_wait:
        checked = _checked_status_update(request, body, app)
    else:
        checked = await run_in_threadpool(_checked_status_update, request, body, app)
    vendor_id, caller, updates, idem, now = checked
    answer = await usecases.update_status(
        app.store, vendor_id, updates, now, render.outcomes, nonce=caller.nonce, idempotency=idem
    )
    return json_response(
        answer.body, headers={"Idempotent-Replayed": "true"} if answer.replayed else None
    )


def _checked_status_update(
    request: Request, body: bytes, app: AppContext
) -> tuple[str, Caller, list[OrderUpdate], Idempotency | None, datetime]:
    """Authenticated, authorised and parsed, or raised: the vendor, the caller, the updates,
    the Idempotency-Key if one was sent, and the time the request is taken to be received."""
    vendor_id = request.path_params["vendor_id"]
    caller = authenticated(request, body, app)
    require_vendor(caller, vendor_id)
    require_json(request)
    data = decode(body)
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise InvalidRequestBody()
    if len(data) > app.settings.max_orders_per_request:
        raise RequestTooLarge(f"At most {app.settings.max_orders_per_request} orders per request.")
    updates, faults = parse_updates(data)
    if faults:
        raise ValidationFailed(faults)
    now = clock.now()
    key = request.headers.get("idempotency-key")
    idem = None
    if key is not None:
        idem = _idempotency(request, caller.credential.consumer_key, key, body, now, app)
    return vendor_id, caller, updates, idem, now


def _idempotency(
    request: Request, consumer_key: str, key: str, body: bytes, now: datetime, app: AppContext
) -> Idempotency:
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
    return Idempotency(
        consumer_key,
        key,
        digest.hexdigest(),
        now + timedelta(seconds=app.settings.idempotency_ttl_s),
    )


# --- GET {base}/vendors/{vendor_id}/orders/status --------------------------------------------


async def get_order_status(request: Request) -> Response:
    return await run_in_threadpool(_get_order_status, request)


def encode_cursor(updated_at: datetime, mc_order_id: str) -> str:
    raw = msgspec.json.encode([updated_at.isoformat(), mc_order_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, mc_order_id = msgspec.json.decode(raw, type=tuple[str, str])
        when = parse_event_date(at)
        if when is None or not printable(mc_order_id):
            raise ValueError(mc_order_id)
        return when, mc_order_id
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise invalid("cursor", "is not a cursor this service gave out.") from exc


def _filter(request: Request, vendor_id: str) -> OrderFilter:
    q = request.query_params
    mc_ids, order_ids = tuple(q.getlist("mcOrderId")), tuple(q.getlist("orderId"))
    identifiers("vendorId", [vendor_id])
    for name, values in (("mcOrderId", mc_ids), ("orderId", order_ids)):
        if len(values) > limits.MAX_FILTER_VALUES:
            raise invalid(name, f"may be given at most {limits.MAX_FILTER_VALUES} times.")
        identifiers(name, list(values))
    status = None
    if "status" in q:
        status = parse_status(q["status"])
        if status is None:
            raise invalid("status", "is not a known status.")
    since = None
    if "updatedSince" in q:
        since = parse_event_date(q["updatedSince"])
        if since is None:
            raise invalid("updatedSince", "must be an ISO-8601 date-time.")
    after = decode_cursor(q["cursor"]) if "cursor" in q else None
    return OrderFilter(vendor_id, mc_ids, order_ids, status, since, after)


def _get_order_status(request: Request) -> Response:
    app = ctx(request)
    vendor_id = request.path_params["vendor_id"]
    caller = authenticated(request, b"", app)
    require_vendor(caller, vendor_id, platform_may_read=True)
    flt, limit = _filter(request, vendor_id), page_limit(request)
    app.read_nonces.spend(caller.nonce)
    found = usecases.find_orders(app.store, flt, limit + 1)
    records = found.records
    # The page ends early where the next order would take it past MAX_ANSWER_BYTES (always at
    # least one order, which fits on its own); the cursor goes on from the last one shown. A
    # status filter's walk that stopped first (limits.STATUS_SCAN_ORDERS) goes on from there.
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
    if not more and found.resume_after is not None:
        next_cursor = encode_cursor(*found.resume_after)
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
    caller = authenticated(request, body, app)
    require_platform(caller)
    require_json(request)
    data = decode(body)
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
    caller = authenticated(request, b"", app)
    require_platform(caller)
    identifiers("mcOrderId", [request.path_params["mc_order_id"]])
    app.read_nonces.spend(caller.nonce)
    record = usecases.read_order(app.store, request.path_params["mc_order_id"])
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
        raise invalid("after", "must be a cursor this service gave out.")
    return int(item), int(entry)


def _get_order_history(request: Request) -> Response:
    """A page of an order's full history: for the platform, or for the order's own vendor."""
    app = ctx(request)
    caller = authenticated(request, b"", app)
    vendor_id = request.path_params.get("vendor_id")
    if vendor_id is None:
        require_platform(caller)
    else:
        require_vendor(caller, vendor_id, platform_may_read=True)
    mc_order_id = request.path_params["mc_order_id"]
    identifiers("mcOrderId", [mc_order_id])
    after, limit = _history_cursor(request), page_limit(request)
    app.read_nonces.spend(caller.nonce)
    page = usecases.read_history(app.store, mc_order_id, after, limit + 1, vendor_id=vendor_id)
    # As the orders' pages: ended early rather than past MAX_ANSWER_BYTES.
    shown: list[bytes] = []
    size, cursor = 64, None
    for item, entry_cursor, row in page.entries[:limit]:
        body = render.encode(render.history_entry(row, item))
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
