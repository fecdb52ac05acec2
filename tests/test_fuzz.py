"""A signed mutation fuzzer over the POST bodies: valid requests, broken one way at a time.

Each mutated body is signed over its exact bytes (Mastercard's `OAuth1RSA`), so it passes the
gateway and reaches the parser and the use cases. Whatever the mutation, the answer must be
what the document says for that status (no 5xx, the error envelope on every 4xx, bounded), and
an order is never half applied: a refused request changes nothing, and an applied one moves
each order's revision by at most one. Mutations are drawn from a fixed seed, so a run is
repeatable; TFS_FUZZ_REQUESTS raises the count for a longer campaign by hand.
"""

from __future__ import annotations

import copy
import json
import os
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from oauth1.oauth_ext import OAuth1RSA
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from conftest import BASE_PATH, NO_RELAY, Client, Placed, errors_of
from test_openapi import _closed
from tfs import limits
from tfs.api import docs
from tfs.config import Settings

REQUESTS = int(os.environ.get("TFS_FUZZ_REQUESTS", "300"))  # per route and backend
MAX_ANSWER_BYTES = 1024 * 1024  # no answer of the service exceeds 1 MB (README)
SPEC = OpenAPI.from_dict(
    _closed(docs.openapi(Settings(base_path=BASE_PATH, rate_limit=None, relay=NO_RELAY)))
)

# Values a mutation puts in place of a good one: wrong types, edges of size and of text.
ODD_VALUES: list[Any] = [
    None, True, 0, -1, 2**63, -(2**64), 1.5, 1e308, "", " ", "\x00", "\x7f", "\u202e", "\ud800",
    "é" * 3, "x" * (limits.MAX_ID_LENGTH + 1), "x" * 70_000, [], [None], {}, {"a": 1},
    "2023-02-30T00:00Z", "9999-12-31T23:59:59-23:59", "Shipped", "Returned", "javascript:x",
]  # fmt: skip


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value: keys of objects and indexes of arrays, depth first."""
    yield at
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*at, i))


def mutate(rng: random.Random, body: Any) -> bytes:
    """One mutation of a valid body, as the bytes to send."""
    kind = rng.choice(["replace", "drop", "add", "duplicate", "bytes", "nest", "wrap"])
    doc = copy.deepcopy(body)
    places = [p for p in _paths(doc) if p]
    if kind == "replace" and places:
        path = rng.choice(places)
        _at(doc, path[:-1])[path[-1]] = rng.choice(ODD_VALUES)
    elif kind == "drop" and places:
        path = rng.choice(places)
        del _at(doc, path[:-1])[path[-1]]
    elif kind == "add":
        objects = [p for p in _paths(doc) if isinstance(_at(doc, p), dict)]
        target = _at(doc, rng.choice(objects)) if objects else doc
        if isinstance(target, dict):
            target[rng.choice(["extra", "status", "__proto__", "mcOrderId", "é"])] = rng.choice(
                ODD_VALUES
            )
    elif kind == "duplicate" and isinstance(doc, list) and doc:
        doc = doc + [copy.deepcopy(rng.choice(doc)) for _ in range(rng.randint(1, 3))]
    elif kind == "wrap":
        doc = rng.choice([{"orders": doc}, json.dumps(doc), None, 0])
    raw = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    if kind == "nest":  # deep nesting, written out (json.dumps would recurse)
        depth = rng.choice([10, 200, 5000])
        raw = b"[" * depth + raw + b"]" * depth
    if kind == "bytes":  # broken at the byte level: invalid UTF-8, cut short, garbage
        at = rng.randrange(len(raw) + 1)
        piece = rng.choice([b"\xff\xfe", b"\xc3", b"\x00", b"\xed\xa0\x80", b"}", b'"', b"\\u12"])
        raw = rng.choice([raw[:at] + piece + raw[at:], raw[:at]])
    return raw


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def send(client: Client, path: str, raw: bytes) -> requests.Response:
    return client.session.post(
        client.base_url + path,
        data=raw,
        headers={"Content-Type": "application/json"},
        auth=OAuth1RSA(client.consumer_key, client.key),
        timeout=30,
    )


def documented(response: requests.Response) -> None:
    """Not a 5xx, bounded, and the answer the document gives for this route and status (the
    document is closed: no field it does not name)."""
    assert response.status_code < 500, response.text[:500]
    assert len(response.content) <= MAX_ANSWER_BYTES
    if response.status_code >= 400:
        errors_of(response)
    openapi_request = RequestsOpenAPIRequest(response.request)
    SPEC.validate_response(openapi_request, RequestsOpenAPIResponse(response))


def revisions(platform: Client, orders: list[Placed]) -> dict[str, int]:
    out = {}
    for order in orders:
        response = platform.request("GET", f"/orders/{order.mc_order_id}")
        assert response.status_code == 200, response.text
        out[order.mc_order_id] = response.json()["revision"]
    return out


@pytest.fixture
def seeds(vendor: Client, place: Callable[..., Placed]) -> list[Placed]:
    return [
        place(vendor.vendor_id, items=2, order_id=f"ext-{uuid.uuid4().hex[:8]}") for _ in range(3)
    ]


def status_body(rng: random.Random, orders: list[Placed]) -> list[dict[str, Any]]:
    """A valid update of the seed orders: statuses that may follow each other, tracking, notes."""
    status = rng.choice(["Processing", "Backordered", "Pending"])
    return [
        {
            "orderId": o.order_id,
            "mcOrderId": o.mc_order_id,
            "status": status,
            "orderItems": [
                {
                    "mcId": mc_id,
                    "status": status,
                    "trackingNumber": f"T{rng.randrange(1000)}",
                    "trackingUrl": "https://tracking.example/1",
                    "errors": [{"fieldName": "address1", "code": "GRS_1001", "message": "m"}],
                    "histories": [
                        {"eventType": "note", "eventDate": "2023-10-03T21:05:10Z", "note": "n"}
                    ],
                }
                for mc_id in o.item_ids
            ],
        }
        for o in orders
    ]


def test_mutated_status_updates_are_answered_as_documented_and_never_half_applied(
    vendor: Client, platform: Client, seeds: list[Placed]
) -> None:
    rng = random.Random(20261207)
    path = f"/vendors/{vendor.vendor_id}/orders/status"
    before = revisions(platform, seeds)
    statuses: dict[int, int] = {}
    for _ in range(REQUESTS):
        response = send(vendor, path, mutate(rng, status_body(rng, seeds)))
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        documented(response)
        after = revisions(platform, seeds)
        if response.status_code != 200:
            assert after == before, response.text[:500]  # refused: nothing changed
        else:
            answered: dict[str, Any] = {}  # the first result of each order: a repeat of it
            for r in response.json():  # later in the batch fails alone (DUPLICATE_ORDER)
                answered.setdefault(r["mcOrderId"], r)
            for mc_order_id, revision in after.items():
                assert revision - before[mc_order_id] in (0, 1)
                if revision != before[mc_order_id]:  # changed: said so, at that revision
                    assert answered[mc_order_id]["status"] != "FAILED"
                    assert answered[mc_order_id]["revision"] == revision
        before = after
    print(f"\nfuzz, status updates: {REQUESTS} signed requests, by status {statuses}")
    assert statuses.get(200, 0) and statuses.get(400, 0), statuses  # both sides were reached


def placement_body(rng: random.Random, vendor_id: str) -> list[dict[str, Any]]:
    return [
        {
            "mcOrderId": str(uuid.UUID(int=rng.getrandbits(128))),
            "vendorId": vendor_id,
            "orderId": f"ext-{rng.randrange(10**6)}",
            "programId": rng.choice(["49631", 49631]),
            "items": [
                {"mcId": f"i{n}", "rewardItemId": "74568", "description": "Gift", "quantity": 2}
                for n in range(rng.randint(1, 3))
            ],
        }
        for _ in range(rng.randint(1, 3))
    ]


def test_mutated_placements_are_answered_as_documented_and_never_half_placed(
    vendor: Client, platform: Client
) -> None:
    """An element is placed whole or not at all: a FAILED element leaves no order behind, and a
    placed one reads back with every item it was answered with."""
    rng = random.Random(20261208)
    statuses: dict[int, int] = {}
    for _ in range(REQUESTS):
        response = send(platform, "/orders", mutate(rng, placement_body(rng, vendor.vendor_id)))
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        documented(response)
        if response.status_code not in (200, 201):
            continue
        answer = response.json()
        for result in answer if isinstance(answer, list) else [answer]:
            mc_order_id = result.get("mcOrderId")
            if not isinstance(mc_order_id, str) or not mc_order_id.strip():
                continue
            read = platform.request("GET", f"/orders/{requests.utils.quote(mc_order_id, safe='')}")
            if result.get("result") == "FAILED":  # nothing placed: none, or an earlier order
                earlier = result.get("errorCode") == "ORDER_ALREADY_EXISTS"
                assert read.status_code == (200 if earlier else 404) or (
                    read.status_code == 400 and not earlier  # an id no order can have
                ), read.text
                continue
            assert read.status_code == 200, read.text
            items = {i["mcId"] for i in read.json()["orderItems"]}
            answered = {i["mcId"] for i in result.get("orderItems", [])}
            assert answered <= items
    print(f"\nfuzz, placements: {REQUESTS} signed requests, by status {statuses}")
    assert statuses.get(400, 0) and (statuses.get(200, 0) or statuses.get(201, 0)), statuses
