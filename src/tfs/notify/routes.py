"""The change feed's route: GET {base}/events, for the platform."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tfs.access.authenticate import require_platform
from tfs.http import authenticated, ctx, identifiers, invalid, json_response, page_limit
from tfs.notify import usecases
from tfs.orders import render

# --- Platform: GET {base}/events --------------------------------------------------------------


async def get_events(request: Request) -> Response:
    return await run_in_threadpool(_get_events, request)


def _get_events(request: Request) -> Response:
    app = ctx(request)
    caller = authenticated(request, b"", app)
    require_platform(caller)
    q = request.query_params
    raw_after = q.get("after", "0")
    if not (raw_after.isascii() and raw_after.isdigit()) or len(raw_after) > 18:
        raise invalid("after", "must be a cursor this service gave out (a whole number).")
    identifiers("vendorId", q.getlist("vendorId"))
    identifiers("mcOrderId", q.getlist("mcOrderId"))
    after = int(raw_after)
    app.read_nonces.spend(caller.nonce)
    events = usecases.read_events(
        app.store,
        after,
        page_limit(request),
        vendor_id=q.get("vendorId"),
        mc_order_id=q.get("mcOrderId"),
    )
    cursor = str(events[-1].sequence) if events else str(after)
    body = b'{"events":[' + b",".join(e.to_json() for e in events) + b'],"nextCursor":'
    return json_response(body + render.encode(cursor) + b"}")
