"""The HTTP edge: correlation ids, the envelope for routing errors, probes, junk, and the log."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from conftest import Client, LiveServer, Placed, errors_of
from tfs.access.signing import sign_request
from tfs.logs import JsonFormatter

CORRELATION = "X-Correlation-ID"


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- Correlation id ------------------------------------------------------------------------------


def test_given_correlation_id_is_echoed_on_success(vendor: Client) -> None:
    cid = f"cid-{uuid.uuid4()}"
    response = vendor.post_status([], headers={CORRELATION: cid})
    assert response.status_code == 200
    assert response.headers[CORRELATION] == cid


def test_given_correlation_id_is_echoed_on_errors(vendor: Client, server: LiveServer) -> None:
    cid = f"cid-{uuid.uuid4()}"
    responses = [
        vendor.post_status([], headers={CORRELATION: cid}, sign=False),  # 400 gateway
        vendor.post_status([{"status": "x"}], headers={CORRELATION: cid}),  # 400 validation
        requests.get(server.url + "/nowhere", headers={CORRELATION: cid}, timeout=30),  # 404
        requests.delete(server.origin + "/health", headers={CORRELATION: cid}, timeout=30),  # 405
    ]
    assert [r.status_code for r in responses] == [400, 400, 404, 405]
    for response in responses:
        assert response.headers[CORRELATION] == cid


def test_correlation_id_is_generated_when_not_given(vendor: Client, server: LiveServer) -> None:
    responses = [
        vendor.post_status([]),
        vendor.post_status([], sign=False),
        requests.get(server.url + "/nowhere", timeout=30),
        requests.get(server.origin + "/health", timeout=30),
    ]
    ids = [r.headers[CORRELATION] for r in responses]
    assert all(is_uuid(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_unusable_correlation_id_is_replaced_by_a_generated_one(server: LiveServer) -> None:
    for bad in ("x" * 129, "tab\there"):
        response = requests.get(server.origin + "/health", headers={CORRELATION: bad}, timeout=30)
        assert response.status_code == 200
        assert is_uuid(response.headers[CORRELATION]), bad


# --- Routing errors in the envelope, probes ----------------------------------------------------


def test_unknown_route_is_404_in_the_mastercard_envelope(server: LiveServer) -> None:
    for url in (
        server.origin + "/nowhere",
        server.url + "/nowhere",
        server.url + "/vendors/v1/orders",
        server.origin + "/vendors/v1/orders/status",  # the API lives under the base path only
    ):
        response = requests.get(url, timeout=30)
        assert response.status_code == 404, url
        assert response.headers["Content-Type"].startswith("application/json")
        assert errors_of(response) == [
            {
                "Source": "rewards-order-management",
                "ReasonCode": "NOT_FOUND",
                "Description": "Not Found",
                "Recoverable": False,
            }
        ]


def test_wrong_method_is_405_in_the_mastercard_envelope(server: LiveServer) -> None:
    for method, url in (
        ("DELETE", server.url + "/vendors/v1/orders/status"),
        ("PUT", server.url + "/vendors/v1/orders/status"),
        ("PATCH", server.url + "/orders/abc"),
        ("DELETE", server.url + "/orders"),
        ("POST", server.origin + "/health"),
    ):
        response = requests.request(method, url, timeout=30)
        assert response.status_code == 405, (method, url)
        assert response.headers["Content-Type"].startswith("application/json")
        (error,) = errors_of(response)
        assert error["ReasonCode"] == "METHOD_NOT_ALLOWED"
        assert error["Source"] == "rewards-order-management"


def test_405_names_the_allowed_methods(server: LiveServer) -> None:
    response = requests.delete(server.url + "/vendors/v1/orders/status", timeout=30)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    response = requests.post(server.url + "/orders/abc", timeout=30)
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET"}


def test_health_is_200_without_credentials(server: LiveServer) -> None:
    response = requests.get(server.origin + "/health", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_the_database_answers(server: LiveServer) -> None:
    response = requests.get(server.origin + "/ready", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": True}


# --- Junk never produces a 500 or a traceback --------------------------------------------------


def problem(response: requests.Response, what: object) -> str | None:
    """Why this answer to junk is unacceptable, or None: a 5xx, a trace, or no JSON envelope."""
    if response.status_code >= 500:
        return f"{what!r}: {response.status_code} {response.text[:200]}"
    if "Traceback" in response.text or 'File "' in response.text:
        return f"{what!r}: traceback in body"
    if response.content:
        if not response.headers.get("Content-Type", "").startswith("application/json"):
            return f"{what!r}: not JSON"
        json.loads(response.content)
    return None


def assert_all_clean(answers: list[tuple[object, requests.Response]]) -> None:
    problems = [p for what, response in answers if (p := problem(response, what))]
    assert not problems, "\n".join(problems)


JUNK_BODIES: list[bytes] = [
    b"",
    b"\x00\xff\xfe",
    b"null",
    b"[null]",
    b"[[[]]]",
    b"[" * 5000 + b"]" * 5000,
    b'[{"mcOrderId": 1e999}]',
    b'[{"mcOrderId": 123456789012345678901234567890}]',
    b'[{"mcOrderId": "\\ud800"}]',
    b'[{"mcOrderId": "a\\u0000b", "status": "Shipped"}]',
    b'[{"mcOrderId": "a", "status": "\\u0000"}]',
    b'[{"mcOrderId": "a", "orderItems": "nope"}]',
    b'[{"mcOrderId": "a", "orderItems": [null, 1, "x", {"mcId": {}}]}]',
    b'[{"mcOrderId": "a", "orderItems": [{"mcId": "i", "histories": {"a": 1}}]}]',
    b'[{"mcOrderId": "a", "orderItems": [{"mcId": "i", "errors": [null]}]}]',
    b'[{"mcOrderId": "a", "orderItems": [{"mcId": "i", "quantity": -1e308}]}]',
    b'[{"mcOrderId": "' + "\u00e9".encode() * 40 + b'"}]',
    b'[{"mcOrderId": "a", "__proto__": {"x": 1}, "status": ["Shipped"]}]',
    '[{"mcOrderId": "\U0001f600", "status": "Shipped"}]'.encode(),
    b"\xef\xbb\xbf[]",
]


def junk_updates(placed: Placed) -> list[dict[str, Any]]:
    """Odd but well-formed updates of a real order: these reach the database."""
    nul, far = "a\u0000b", "9999-12-31T23:59:59-23:59"
    line = placed.item_ids[0]

    def item(**fields: Any) -> list[dict[str, Any]]:
        return [{"mcOrderId": placed.mc_order_id, "orderItems": [{"mcId": line, **fields}]}]

    return [
        item(histories=[{"eventType": "note", "note": nul}]),
        item(histories=[{"eventType": nul, "note": "x"}]),
        item(histories=[{"eventType": "note", "eventDate": far}]),
        item(histories=[{"eventType": "note", "eventDate": "0001-01-01T00:00:00+23:59"}]),
        item(errors=[{"fieldName": nul, "code": nul, "message": nul}]),
        item(trackingNumber="T\u0000"),
        item(trackingUrl="https://x.example/\u0000"),
        item(status="Shipped\u0000"),
        item(id="\ud800"),
        item(histories=[{"eventType": "note", "note": "\U0001f600" * 1000}]),
        [{"mcOrderId": placed.mc_order_id, "status": "Shipped", "orderId": nul}],
    ]


def test_junk_bodies_never_cause_a_500_or_a_traceback(
    make_vendor: Callable[..., Client], place: Callable[..., Placed]
) -> None:
    vendor = make_vendor()
    placed = place(vendor.vendor_id)
    answers: list[tuple[object, requests.Response]] = []
    for body in JUNK_BODIES:
        answers.append((body[:60], vendor.post_status(None, raw=body)))
        plain = {"Content-Type": "text/plain; x"}
        answers.append((body[:60], vendor.post_status(None, raw=body, headers=plain)))
    for update in junk_updates(placed):
        answers.append((update, vendor.post_status(update)))
    assert_all_clean(answers)
    assert {r.status_code for _, r in answers} <= {200, 400, 415}


def junk_authorizations(vendor: Client) -> list[str]:
    good = sign_request(vendor.key, vendor.consumer_key, "POST", "http://x/", b"[]")
    fields = good[len("OAuth ") :]
    return [
        "OAuth " + fields.replace(vendor.consumer_key, "%00"),
        "OAuth " + fields.replace(vendor.consumer_key, "a" * 4000),
        "OAuth " + fields.replace(vendor.consumer_key, "%FF%FE"),
        "OAuth " + fields.replace(vendor.consumer_key, "%E2%80%AE\u00e9"),
        "OAuth " + fields.replace('oauth_timestamp="', 'oauth_timestamp="9999999999999'),
        "OAuth " + fields.replace('oauth_timestamp="', 'oauth_timestamp="-'),
        "OAuth " + fields.replace('oauth_signature="', 'oauth_signature="%'),
        "OAuth " + fields.replace('oauth_signature="', 'oauth_signature="===='),
        "OAuth " + fields + ',realm="%00"',
        "OAuth " + fields + ',oauth_token="' + "x" * 3000 + '"',
        "OAuth " + fields.replace(",", " , "),
        "OAuth " + fields.replace('"', "'"),
        "OAuth ,,,,",
        'OAuth ="x"',
        "oauth " + fields,
        "OAuth\t" + fields,
        "OAuth " + "\u00ff" * 100,
        "OAuth " + fields.replace('oauth_version="1.0"', 'oauth_version="%31.0"'),
    ]


def test_junk_authorization_headers_never_cause_a_500_or_a_traceback(
    vendor: Client, server: LiveServer
) -> None:
    url = f"{vendor.base_url}/vendors/{vendor.vendor_id}/orders/status"
    answers: list[tuple[object, requests.Response]] = []
    for value in junk_authorizations(vendor):
        raw = value.encode("utf-8")
        for method, body in (("POST", b"[]"), ("GET", None)):
            response = requests.request(
                method,
                url,
                data=body,
                headers={"Authorization": raw, "Content-Type": "application/json"},
                timeout=30,
            )
            answers.append(((method, value[:80]), response))
    for value in junk_authorizations(vendor)[:4]:
        response = requests.get(
            server.url + "/orders/x", headers={"Authorization": value.encode()}, timeout=30
        )
        answers.append((value[:80], response))
    assert_all_clean(answers)
    assert {r.status_code for _, r in answers} <= {400, 401}


def cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_junk_query_strings_never_cause_a_500_or_a_traceback(
    vendor: Client, platform: Client
) -> None:
    path = f"/vendors/{vendor.vendor_id}/orders/status"
    answers: list[tuple[object, requests.Response]] = []
    queries = (
        "mcOrderId=%00",
        "orderId=%00%00&mcOrderId=%FF",
        "mcOrderId=" + "x" * 3000,
        "status=%00",
        "status=" + "S" * 500,
        "updatedSince=%00",
        "updatedSince=9999-12-31T23:59:59-23:59",
        "updatedSince=0001-01-01T00:00:00+23:59",
        "updatedSince=2020-01-01",
        "cursor=%00",
        "cursor=!!!",
        "cursor=WyIyMDIwIiwgMV0",  # ["2020", 1]
        "cursor=WyIyMDIwLTAxLTAxIiwiYSJd",  # ["2020-01-01","a"] (naive date)
        "cursor=W10",  # []
        "cursor=bnVsbA",  # null
        "cursor=" + "A" * 5000,
        "limit=-1",
        "limit=0",
        "limit=99999999999999999999999999",
        "limit=%C2%B2",  # '²': a digit to str.isdigit, not to int()
        "limit=%D9%A3",  # '٣': Arabic-Indic three
        "limit=1e3",
        "limit=",
        "mcOrderId",
        "&&&=&=",
        "a=%",
        "%=%",
        "mcOrderId=a;b",
        "cursor=" + cursor(["2020-01-01T00:00:00+00:00", "\u0000"]),
        "cursor=" + cursor(["9999-12-31T23:59:59-23:59", "a"]),
        "cursor=" + cursor(["2020-01-01T00:00:00+00:00", "a", "b"]),
    )
    for query in queries:
        for client in (vendor, platform):
            answers.append((query, client.request("GET", f"{path}?{query}")))
    for query in ("vendorId=%00", "mcOrderId=%00", "after=%C2%B2", "after=-1", "limit=%C2%B2"):
        answers.append((query, platform.request("GET", f"/events?{query}")))
    assert_all_clean(answers)
    assert {r.status_code for _, r in answers} <= {200, 400}


def test_junk_paths_and_headers_never_cause_a_500_or_a_traceback(
    vendor: Client, platform: Client
) -> None:
    answers: list[tuple[object, requests.Response]] = []
    for path in (
        "/vendors/%00/orders/status",
        "/vendors/%FF%FE/orders/status",
        "/vendors/" + "v" * 5000 + "/orders/status",
        "/vendors/a%2Fb/orders/status",
        "/vendors//orders/status",
        "/orders/%00",
        "/orders/" + "o" * 5000,
        "/orders/%C0%AF",
        "/orders/..%2F..%2Fetc%2Fpasswd",
    ):
        for method in ("GET", "POST"):
            for client in (vendor, platform):
                answers.append((path[:80], client.request(method, path, body=[])))
    headers: list[dict[str, Any]] = [
        {"Content-Type": "application/json; charset=ebcdic"},
        {"Content-Type": "\u00ff/\u00fe"},
        {"Content-Type": ";;;"},
        {"Idempotency-Key": "\u00ff\u00fe"},
        {"Idempotency-Key": ""},
        {"Idempotency-Key": "%00"},
        {"Idempotency-Key": "x" * 5000},
        {CORRELATION: "\u00ff" * 200},
        {"Host": "\u00ff"},
        {"Host": "EXAMPLE.com:80"},
        {"Content-Encoding": "gzip"},
    ]
    for extra in headers:
        encoded = {k: v.encode("latin-1") for k, v in extra.items()}
        answers.append((extra, vendor.post_status([], headers=encoded)))
    assert_all_clean(answers)


# --- The log: identifiers only ------------------------------------------------------------------


def http_records(caplog: pytest.LogCaptureFixture, marker: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "tfs.http" and marker in str(getattr(r, "fields", {}).get("path", ""))
    ]


def wait_for_records(caplog: pytest.LogCaptureFixture, marker: str, count: int) -> None:
    """The server logs a request after its answer is sent: wait until all of them are in."""
    deadline = time.monotonic() + 10
    while len(http_records(caplog, marker)) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(http_records(caplog, marker)) >= count


def test_log_records_carry_no_credentials_signatures_or_bodies(
    vendor: Client, place: Callable[..., Placed], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tfs.http")
    placed = place(vendor.vendor_id, items=1)
    secret_note = f"BODY-SECRET-{uuid.uuid4().hex}"
    body = [
        {
            "mcOrderId": placed.mc_order_id,
            "orderItems": [
                {
                    "mcId": placed.item_ids[0],
                    "status": "Shipped",
                    "trackingNumber": f"TRACK-{secret_note}",
                    "histories": [{"eventType": "note", "note": secret_note}],
                }
            ],
        }
    ]
    raw = json.dumps(body).encode()
    url = f"{vendor.base_url}/vendors/{vendor.vendor_id}/orders/status"
    headers_sent: list[str] = []

    def send(payload: bytes, header: str, **extra: str) -> requests.Response:
        headers_sent.append(header)
        return requests.post(
            url,
            data=payload,
            headers={"Authorization": header, "Content-Type": "application/json", **extra},
            timeout=30,
        )

    good = sign_request(vendor.key, vendor.consumer_key, "POST", url, raw)
    assert send(raw, good, **{"Idempotency-Key": f"idem-{secret_note}"}).status_code == 200
    assert send(raw, good).status_code == 401  # reused nonce
    tampered = sign_request(vendor.key, vendor.consumer_key, "POST", url, b"other")
    assert send(raw, tampered).status_code == 401  # body hash
    invalid = json.dumps([{"status": secret_note}]).encode()
    bad_body = sign_request(vendor.key, vendor.consumer_key, "POST", url, invalid)
    assert send(invalid, bad_body).status_code == 400
    junk = b"[" + secret_note.encode() + b"]"
    junk_header = sign_request(vendor.key, vendor.consumer_key, "POST", url, junk)
    assert send(junk, junk_header).status_code == 400
    wait_for_records(caplog, vendor.vendor_id, 5)

    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records] + [caplog.text]
    secrets = [secret_note]
    for header in headers_sent:
        secrets.append(header)
        for name, value in (p.split("=", 1) for p in header[len("OAuth ") :].split(",")):
            if name in ("oauth_signature", "oauth_body_hash", "oauth_nonce"):
                value = value.strip('"')
                secrets += [value, requests.utils.unquote(value)]
    for line in lines:
        for secret in secrets:
            assert secret not in line, (secret, line)
    statuses = sorted(r.fields["status"] for r in http_records(caplog, vendor.vendor_id))  # type: ignore[attr-defined]
    assert statuses == [200, 400, 400, 401, 401]


# msgspec checks UTF-8 only inside strings, and raises UnicodeDecodeError (not DecodeError)
# there: the campaign's first two bodies were 500s. Lone surrogate escapes it refuses as JSON.
NOT_UTF8_OR_LONE_SURROGATE = {
    "invalid-start-byte": b'[{"mcOrderId": "\xff\xfe"}]',
    "truncated-sequence": b'{"mcOrderId": "\xc3"}',
    "overlong-encoding": b'[{"mcOrderId": "\xc0\x80"}]',
    "encoded-surrogate": b'[{"mcOrderId": "\xed\xa0\x80"}]',
    "beyond-u10ffff": b'[{"mcOrderId": "\xf4\x90\x80\x80"}]',
    "in-a-key": b'[{"mcOrderId\xff": "a"}]',
    "deep-in-an-item": b'{"mcOrderId": "a", "items": [{"mcId": "i", "description": "\xe2\x82"}]}',
    "outside-a-string": b"[\xff]",
    "lone-high-surrogate-escape": b'[{"mcOrderId": "\\ud800"}]',
    "lone-low-surrogate-escape": b'[{"mcOrderId": "\\udc00"}]',
    "high-surrogate-then-no-low": b'[{"mcOrderId": "\\ud800\\u0041"}]',
    "reversed-surrogate-pair": b'[{"mcOrderId": "\\ude00\\ud83d"}]',
    "lone-surrogate-in-a-key": b'[{"\\ud800": "a"}]',
}


@pytest.mark.parametrize(
    "raw", list(NOT_UTF8_OR_LONE_SURROGATE.values()), ids=list(NOT_UTF8_OR_LONE_SURROGATE)
)
def test_a_body_that_is_not_utf8_is_invalid_request_body_on_both_posts(
    vendor: Client, platform: Client, raw: bytes
) -> None:
    for client, path in (
        (vendor, f"/vendors/{vendor.vendor_id}/orders/status"),
        (platform, "/orders"),
    ):
        response = client.request("POST", path, raw=raw)
        assert response.status_code == 400, (path, response.text)
        (error,) = errors_of(response)
        assert error["ReasonCode"] == "INVALID_REQUEST_BODY", (path, error)
        assert error["Description"].startswith("Request body is not valid"), (path, error)


def test_text_beyond_the_bmp_is_stored_and_answered_as_sent(
    vendor: Client, platform: Client
) -> None:
    # The same character escaped as a surrogate pair and as raw UTF-8: one text, through the
    # JSON decoder, the database's text columns and the encoder, on both POST routes.
    mc_order_id = f"gift-\U0001f381-{uuid.uuid4()}"
    escaped = json.dumps(mc_order_id)  # ensure_ascii: "\ud83c\udf81"
    assert "\\ud83c\\udf81" in escaped
    placement = (
        f'{{"mcOrderId": {escaped}, "vendorId": "{vendor.vendor_id}",'
        f' "items": [{{"mcId": "i1", "description": "\U0001f381 \\ud83d\\ude00"}}]}}'
    )
    created = platform.request("POST", "/orders", raw=placement.encode())
    assert created.status_code == 201, created.text
    assert created.json()["mcOrderId"] == mc_order_id
    assert created.json()["orderItems"][0]["description"] == "\U0001f381 \U0001f600"
    update = json.dumps([{"mcOrderId": mc_order_id, "status": "Shipped"}], ensure_ascii=False)
    response = vendor.request(
        "POST", f"/vendors/{vendor.vendor_id}/orders/status", raw=update.encode()
    )
    assert response.status_code == 200, response.text
    assert response.json()[0]["mcOrderId"] == mc_order_id
    (order,) = vendor.get_status(mcOrderId=mc_order_id).json()["orders"]
    assert (order["mcOrderId"], order["status"]) == (mc_order_id, "Shipped")
