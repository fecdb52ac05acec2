"""The OpenAPI document: valid OpenAPI 3.0, complete, and true of what the live service answers.

Responses are validated with openapi-core against a strict copy of the document (objects allow
no property the document does not name), so an undocumented field fails as surely as a missing
one.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV30SpecValidator
from starlette.routing import Mount, Route

from conftest import BASE_PATH, Client, LiveServer, Placed, errors_of, private_key
from tfs.api import docs
from tfs.api.app import create_app
from tfs.config import Settings
from tfs.db.store import Store

Doc = dict[str, Any]
STATUS = BASE_PATH + "/vendors/{vendor_id}/orders/status"


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def document(server: LiveServer) -> Doc:
    response = requests.get(server.origin + "/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc: Doc = response.json()
    return doc


def _closed(node: Any) -> Any:
    """Every object schema that names its properties allows no others."""
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if isinstance(node.get("properties"), dict) and node.get("type") == "object":
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


@pytest.fixture(scope="session")
def spec(document: Doc) -> OpenAPI:
    return OpenAPI.from_dict(_closed(copy.deepcopy(document)))


def documented(
    spec: OpenAPI, response: requests.Response, status: int, *, request_too: bool = False
) -> Any:
    """Assert the status, then that the answer is what the document says for route + status."""
    assert response.status_code == status, response.text
    request = RequestsOpenAPIRequest(response.request)
    if request_too:
        spec.validate_request(request)
    spec.validate_response(request, RequestsOpenAPIResponse(response))
    is_json = response.headers.get("content-type", "").startswith("application/json")
    return response.json() if is_json else response.text


def operations(doc: Doc) -> Iterator[tuple[str, str, Doc]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def resolve(doc: Doc, node: Doc) -> Doc:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


# --- the document itself ----------------------------------------------------------------------


def test_document_is_valid_openapi_3_0(document: Doc) -> None:
    assert document["openapi"] == "3.0.3"
    validate(document, cls=OpenAPIV30SpecValidator)


def test_served_document_is_the_one_built_for_the_settings(
    document: Doc, settings: Settings
) -> None:
    assert document == json.loads(json.dumps(docs.openapi(settings)))


def test_paths_carry_the_configured_base_path() -> None:
    for base in ("", "/tfs", "/loyalty/rewards"):
        doc = docs.openapi(Settings(base_path=base))
        validate(doc, cls=OpenAPIV30SpecValidator)
        assert f"{base}/catalogs/{{catalog_id}}/items" in doc["paths"]
        assert f"{base}/vendors/{{vendor_id}}/orders/status" in doc["paths"]
        assert f"{base}/orders/{{mcOrderId}}" in doc["paths"]
        assert "/health" in doc["paths"]
        assert doc["servers"] == [{"url": "/", "description": doc["servers"][0]["description"]}]


def test_mastercards_names_are_kept(document: Doc) -> None:
    schemas = document["components"]["schemas"]
    props = {name: set(s.get("properties", ())) for name, s in schemas.items()}
    assert props["OrderStatus"] == {"orderId", "mcOrderId", "orderItems", "status"}
    assert props["OrderItemStatus"] == {
        "id", "mcId", "status", "trackingNumber", "trackingUrl", "errors", "histories"
    }  # fmt: skip
    assert props["OrderItemError"] == {"fieldName", "code", "message", "receivedAt"}
    assert props["History"] == {"orderItemNumber", "eventType", "eventDate", "note", "receivedAt"}
    assert props["ErrorsWrapper"] == {"Errors"} and props["Errors"] == {"Error"}
    assert props["ErrorItem"] == {"Source", "ReasonCode", "Description", "Recoverable", "Details"}
    assert schemas["OrderStatusArray"]["items"] == {"$ref": "#/components/schemas/OrderStatus"}
    assert props["OrderStatusResult"] == props["OrderStatus"] | {
        "errorCode", "description", "revision"
    }  # fmt: skip
    assert props["OrderDetail"] >= {"vendorId", "programId", "revision", "createdAt", "updatedAt"}
    for ours in ("OrderStatusPage", "OrderPlacement", "OrderPlacementItem"):
        assert ours in schemas
    post = document["paths"][STATUS]["post"]
    assert post["operationId"] == "updateOrderStatus"
    vendor_id = resolve(document, post["parameters"][0])
    assert (vendor_id["name"], vendor_id["in"]) == ("vendor_id", "path")
    body = resolve(document, post["requestBody"])["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/OrderStatusArray"}


def test_mastercards_own_examples_are_kept_verbatim(document: Doc) -> None:
    examples = document["components"]["examples"]
    assert examples["OrderStatusExample"]["value"] == [
        {
            "orderId": "656afd7-2396-54345-34545",
            "mcOrderId": "afd72396-b9c0-11ed-afa1-0242ac120002",
            "status": "FAILED",
            "errorCode": 1001,
            "description": "[Combination of ExternalOrderId: (656afd7-2396-54345-34545) and "
            "OrderId: (afd72396-b9c0-11ed-afa1-0242ac120002) invalid.]",
        }
    ]
    source = "rewards-order-management"
    assert examples["BadOrderRequestExample"]["value"]["Errors"]["Error"] == [
        {
            "Source": source,
            "ReasonCode": "MISSING_REQUIRED_FIELD_VENDORS_UPDATE_ORDER_REQUEST_LIST[0].MC_ORDER_ID",
            "Description": "McOrderId is blank or null.",
            "Recoverable": False,
        }
    ]
    assert examples["UnauthorizedOrderExample"]["value"]["Errors"]["Error"] == [
        {
            "Source": source,
            "ReasonCode": "INVALID_CLIENT_ID",
            "Description": "ClientId doesn't have access to the requested service.",
            "Recoverable": False,
        }
    ]


def test_security_is_declared_and_public_routes_have_none(document: Doc) -> None:
    (name,) = document["components"]["securitySchemes"]
    scheme = document["components"]["securitySchemes"][name]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "OAuth 1.0a" in scheme["description"] and "oauth_body_hash" in scheme["description"]
    assert document["security"] == [{name: []}]
    public = {path for path, _, op in operations(document) if op.get("security") == []}
    assert public == {"/health", "/ready", "/metrics", "/openapi.json", "/docs"}


def _filled(path: str) -> str:
    values = {"vendor_id": "carltonone", "mcOrderId": "abc", "catalog_id": "8032"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "49631"), path)


def test_every_example_matches_its_schema(document: Doc, spec: OpenAPI) -> None:
    headers = {"X-Correlation-ID": "c", "Retry-After": "1", "Authorization": "OAuth x"}
    headers |= {"ETag": '"none"', "Cache-Control": "private, max-age=60"}
    checked = 0
    for path, method, op in operations(document):
        request = MockRequest("http://localhost", method, _filled(path), headers=headers)
        for status, response in op["responses"].items():
            for media, content in resolve(document, response).get("content", {}).items():
                for example in content.get("examples", {}).values():
                    data = json.dumps(resolve(document, example)["value"]).encode()
                    reply = MockResponse(data, int(status), headers=headers, content_type=media)
                    spec.validate_response(request, reply)
                    checked += 1
        for content in op.get("requestBody", {}).get("content", {}).values():
            for example in content["examples"].values():
                data = json.dumps(resolve(document, example)["value"]).encode()
                spec.validate_request(
                    MockRequest(
                        "http://localhost", method, _filled(path), headers=headers, data=data
                    )
                )
                checked += 1
    assert checked >= 30


def test_every_served_route_is_documented_and_no_other(
    document: Doc, settings: Settings, store: Store
) -> None:
    served: set[tuple[str, str]] = set()

    # The operations console is HTML pages for a signed-in browser, not part of the API's
    # contract: the README describes it (## The operations console).
    console = settings.base_path + "/console"

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount) and prefix + route.path == console:
                continue
            if isinstance(route, Mount):
                walk(route.routes, prefix + route.path)
            elif isinstance(route, Route):
                methods = (route.methods or {"GET"}) - {"HEAD"}
                served.update((m.lower(), shape(prefix + route.path)) for m in methods)

    walk(create_app(settings, store).routes, "")
    described = {(method, shape(path)) for path, method, _ in operations(document)}
    assert served == described


def test_docs_page_is_self_contained_and_names_every_operation(
    server: LiveServer, spec: OpenAPI, document: Doc
) -> None:
    response = requests.get(server.origin + "/docs", timeout=10)
    page = documented(spec, response, 200)
    assert response.headers["content-type"].startswith("text/html")
    for _, _, op in operations(document):
        assert op["operationId"] in page
    for name in document["components"]["schemas"]:
        assert f"id='schema-{name}'" in page
    assert "<script" not in page and not re.search(r"(src|href)=['\"]?(https?:)?//", page)


# --- the live service answers as documented ---------------------------------------------------


def test_service_routes(server: LiveServer, spec: OpenAPI) -> None:
    for path in ("/health", "/ready", "/openapi.json"):
        documented(spec, requests.get(server.origin + path, timeout=10), 200, request_too=True)


def test_applied_batch_with_a_failed_order(
    vendor: Client, place: Callable[..., Placed], spec: OpenAPI
) -> None:
    placed = place(vendor.vendor_id, order_id="ext-1")
    item = {
        "mcId": placed.item_ids[0],
        "id": "line-1",
        "status": "in transit",
        "trackingNumber": "T1",
        "trackingUrl": "https://track.example/T1",
        "errors": [{"fieldName": "address1", "code": "GRS_1001", "message": "required"}],
        "histories": [{"eventType": "note", "eventDate": "2023-10-03T21:05:10Z", "note": "n"}],
    }
    body = [
        {"orderId": "ext-1", "mcOrderId": placed.mc_order_id, "orderItems": [item]},
        {"orderId": "x", "mcOrderId": "no-such-order", "status": "Shipped"},
    ]
    applied, failed = documented(spec, vendor.post_status(body), 200, request_too=True)
    (line, _) = applied["orderItems"]
    assert line["errors"][0]["receivedAt"]
    # The order the document's example shows: the service's own events, then the vendor's.
    assert [h["eventType"] for h in line["histories"]] == ["statusChange", "trackingUpdate", "note"]
    assert failed["status"] == "FAILED" and failed["errorCode"] == 1001


def test_idempotent_replay_and_reused_key(
    vendor: Client, place: Callable[..., Placed], spec: OpenAPI
) -> None:
    placed = place(vendor.vendor_id)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = [{"mcOrderId": placed.mc_order_id, "status": "Processing"}]
    documented(spec, vendor.post_status(body, headers=key), 200, request_too=True)
    replay = vendor.post_status(body, headers=key)
    documented(spec, replay, 200, request_too=True)
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = [{"mcOrderId": placed.mc_order_id, "status": "Shipped"}]
    documented(spec, vendor.post_status(other, headers=key), 422)


def test_status_update_refusals(vendor: Client, spec: OpenAPI) -> None:
    codes = {
        400: vendor.post_status([{"status": "Shipped"}]),
        413: vendor.post_status([{"mcOrderId": f"o{i}"} for i in range(501)]),
        415: vendor.post_status([], headers={"Content-Type": "text/plain"}),
    }
    for status, response in codes.items():
        documented(spec, response, status)
    documented(spec, vendor.post_status(None, raw=b"{}"), 400)
    documented(spec, vendor.post_status(None, raw=b"[" + b" " * (2 * 1024 * 1024) + b"]"), 413)


def test_gateway_refusals(vendor: Client, spec: OpenAPI) -> None:
    unsigned = vendor.post_status([{"mcOrderId": "a"}], sign=False)
    documented(spec, unsigned, 400)
    assert errors_of(unsigned)[0]["Source"] == "Gateway"
    stranger = Client(vendor.base_url, "no-such-key", private_key(0), vendor.vendor_id)
    refused = stranger.post_status([{"mcOrderId": "a"}])
    documented(spec, refused, 401)
    assert errors_of(refused)[0]["ReasonCode"] == "AUTHENTICATION_FAILED"
    documented(spec, stranger.get_status(), 401)


def test_invalid_client_id(make_vendor: Callable[..., Client], spec: OpenAPI) -> None:
    mine, theirs = make_vendor(), make_vendor()
    intruder = Client(mine.base_url, mine.consumer_key, mine.key, theirs.vendor_id)
    for response in (
        intruder.post_status([{"mcOrderId": "a"}]),
        intruder.get_status(),
        mine.request("POST", "/orders", body={"mcOrderId": "a"}),
        mine.request("GET", "/orders/a"),
    ):
        documented(spec, response, 401)
        assert errors_of(response)[0]["ReasonCode"] == "INVALID_CLIENT_ID"


def test_status_pages(vendor: Client, place: Callable[..., Placed], spec: OpenAPI) -> None:
    place(vendor.vendor_id)
    place(vendor.vendor_id)
    first = documented(spec, vendor.get_status(limit=1), 200, request_too=True)
    assert first["nextCursor"] is not None
    last = documented(
        spec, vendor.get_status(limit=1, cursor=first["nextCursor"]), 200, request_too=True
    )
    assert last["nextCursor"] is None
    documented(spec, vendor.get_status(limit=0), 400)


def test_platform_orders(platform: Client, vendor: Client, spec: OpenAPI) -> None:
    body = {
        "mcOrderId": str(uuid.uuid4()),
        "vendorId": vendor.vendor_id,
        "orderId": "ext-1",
        "programId": "49631",
        "items": [{"mcId": "i1", "rewardItemId": "74568", "description": "Gift", "quantity": 2}],
    }
    documented(spec, platform.request("POST", "/orders", body=body), 201, request_too=True)
    documented(spec, platform.request("POST", "/orders", body=body), 200, request_too=True)
    clash = body | {"items": [{"mcId": "other"}]}
    documented(spec, platform.request("POST", "/orders", body=clash), 409)
    unknown = body | {"mcOrderId": str(uuid.uuid4()), "vendorId": "no-such-vendor"}
    documented(spec, platform.request("POST", "/orders", body=unknown), 400)
    documented(spec, platform.request("POST", "/orders", body={"items": []}), 400)
    update = [{"mcOrderId": body["mcOrderId"], "orderItems": [{"mcId": "i1", "status": "Shipped"}]}]
    vendor.post_status(update)
    order = documented(spec, platform.request("GET", f"/orders/{body['mcOrderId']}"), 200)
    assert order["revision"] == 2 and order["orderItems"][0]["histories"]
    documented(spec, platform.request("GET", "/orders/no-such-order"), 404)


def test_platform_order_batches(
    platform: Client, vendor: Client, spec: OpenAPI, document: Doc
) -> None:
    post = document["paths"][BASE_PATH + "/orders"]["post"]
    body = resolve(document, post["requestBody"])["content"]["application/json"]["schema"]
    request = resolve(document, body)
    assert [r["$ref"].rsplit("/", 1)[1] for r in request["oneOf"]] == [
        "OrderPlacement",
        "OrderPlacementArray",
    ]
    answer = resolve(document, post["responses"]["200"])["content"]["application/json"]
    assert {r["$ref"].rsplit("/", 1)[1] for r in resolve(document, answer["schema"])["oneOf"]} == {
        "OrderDetail",
        "OrderPlacementResultArray",
    }
    result = document["components"]["schemas"]["OrderPlacementResult"]["properties"]["result"]
    assert result["enum"] == ["placed", "alreadyPlaced", "FAILED"]

    def order(vendor_id: str) -> dict[str, Any]:
        return {"mcOrderId": str(uuid.uuid4()), "vendorId": vendor_id, "items": [{"mcId": "i1"}]}

    batch = [order(vendor.vendor_id), order(vendor.vendor_id)]
    documented(spec, platform.request("POST", "/orders", body=batch), 200, request_too=True)
    mixed = [batch[0], batch[0] | {"orderId": "x"}, order("no-such-vendor"), {"items": []}]
    results = documented(spec, platform.request("POST", "/orders", body=mixed), 200)
    assert [r["result"] for r in results] == ["alreadyPlaced", "FAILED", "FAILED", "FAILED"]
    too_many = [order(vendor.vendor_id) for _ in range(501)]
    documented(spec, platform.request("POST", "/orders", body=too_many), 413)


def test_event_feed(
    platform: Client, vendor: Client, place: Callable[..., Placed], spec: OpenAPI
) -> None:
    placed = place(vendor.vendor_id)
    vendor.post_status([{"mcOrderId": placed.mc_order_id, "orderId": "e-1", "status": "Shipped"}])
    page = documented(
        spec,
        platform.request("GET", "/events", params={"mcOrderId": placed.mc_order_id}),
        200,
        request_too=True,
    )
    assert [e["type"] for e in page["events"]] == ["order.placed", "order.status_changed"]
    documented(spec, platform.request("GET", "/events", params={"after": "x"}), 400)


# --- the catalog ------------------------------------------------------------------------------

CATALOG_PROGRAM = 49632  # not test_catalog's program: the servers' database is shared


def _catalog_document() -> Doc:
    doc: Doc = copy.deepcopy(docs._catalog_document_example())
    doc["programId"] = CATALOG_PROGRAM
    return doc


def test_catalog_import_and_export(platform: Client, vendor: Client, spec: OpenAPI) -> None:
    path = f"/programs/{CATALOG_PROGRAM}/catalog"
    doc = _catalog_document()
    result = documented(spec, platform.request("PUT", path, body=doc), 200, request_too=True)
    assert result["programId"] == CATALOG_PROGRAM and result["catalogs"] == 2
    assert documented(spec, platform.request("GET", path), 200, request_too=True) == doc
    item = doc["rewardItems"][0] | {"shortDescription": {"en_US": ""}}
    refused = platform.request("PUT", path, body=doc | {"rewardItems": [item]})
    documented(spec, refused, 400)
    assert [f["Details"] for f in errors_of(refused)] == ["rewardItems[0].shortDescription.en_US"]
    documented(spec, platform.request("PUT", path, raw=b"{"), 400)
    text = {"Content-Type": "text/plain"}
    documented(spec, platform.request("PUT", path, body=doc, headers=text), 415)
    documented(spec, platform.request("GET", "/programs/1/catalog"), 404)
    documented(spec, platform.request("GET", "/programs/x/catalog"), 400)
    documented(spec, vendor.request("GET", path), 401)
    documented(spec, vendor.request("PUT", path, body=doc), 401)


def test_catalog_reads(
    platform: Client, vendor: Client, make_customer: Callable[..., Client], spec: OpenAPI
) -> None:
    doc = _catalog_document()
    assert platform.request("PUT", f"/programs/{CATALOG_PROGRAM}/catalog", body=doc).ok
    customer = make_customer(CATALOG_PROGRAM)
    program = {"program_id": CATALOG_PROGRAM}
    leaf = doc["catalogs"][1]["id"]
    items = f"/catalogs/{leaf}/items"

    def read(path: str, status: int, client: Client = customer, **params: Any) -> Any:
        response = client.request("GET", path, params=program | params)
        return documented(spec, response, status, request_too=status < 400), response

    levels, answer = read("/catalogs", 200, language="fr_CA")
    assert [c["parentCatalogId"] for c in levels["catalogs"]] == [None, doc["catalogs"][0]["id"]]
    assert answer.headers["Cache-Control"] == "private, max-age=60"
    etag = answer.headers["ETag"]
    again = customer.request("GET", "/catalogs", params=program | {"language": "fr_CA"},
                             headers={"If-None-Match": etag})  # fmt: skip
    assert documented(spec, again, 304, request_too=True) == "" and again.headers["ETag"] == etag
    found, _ = read(items, 200, keyword="restaurant", min_points=0, max_points=100)
    assert [i["id"] for i in found["rewardItems"]] == [doc["rewardItems"][0]["id"]]
    assert read(items, 200, client=platform)[0]["rewardItems"]
    empty, _ = read("/catalogs", 200, client=platform, program_id=1)
    assert empty == {"catalogs": []}
    refusals = [
        ("/catalogs", {"program_id": None}, "MISSING_REQUIRED_FIELD"),
        ("/catalogs", {"program_id": "x"}, "INVALID_FIELD_VALUE"),
        ("/catalogs", {"language": "de_DE"}, "INVALID_FIELD_VALUE"),
        (items, {"min_points": 5, "max_points": 1}, "INVALID_FIELD_VALUE"),
        ("/catalogs/9/items", {}, "INVALID_INPUT"),
        ("/catalogs/x/items", {}, "INVALID_FIELD_VALUE"),
    ]
    for path, params, code in refusals:
        _, refused = read(path, 400, **params)
        assert errors_of(refused)[0]["ReasonCode"] == code, refused.text
        assert errors_of(refused)[0]["Source"] == "mrs-catalog-api"
    for client, program_id in ((vendor, CATALOG_PROGRAM), (customer, 1)):
        _, refused = read("/catalogs", 401, client=client, program_id=program_id)
        assert errors_of(refused)[0]["ReasonCode"] == "INVALID_CLIENT_ID"
