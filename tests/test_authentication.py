"""The gateway's verdicts through HTTP: every way a request is refused, and the ways it passes."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from oauth1.oauth import OAuth, SignatureMethod
from oauth1.oauth_ext import OAuth1RSA

from conftest import Client, LiveServer, Placed, errors_of, private_key
from tfs.access import usecases as access
from tfs.access.signing import RSA_PSS, sign_request
from tfs.config import Environment
from tfs.db.store import Store

PAYLOAD = [{"mcOrderId": "no-such-order", "status": "Shipped"}]
BODY = json.dumps(PAYLOAD).encode()
_PAIR = re.compile(r'([A-Za-z0-9_]+)="([^"]*)"')


# --- helpers ------------------------------------------------------------------------------------


def status_url(client: Client, base: str | None = None) -> str:
    return f"{base or client.base_url}/vendors/{client.vendor_id}/orders/status"


def post(url: str, authorization: str | None, body: bytes = BODY) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return requests.post(url, data=body, headers=headers, timeout=30)


def signed(
    client: Client,
    body: bytes = BODY,
    *,
    key: rsa.RSAPrivateKey | None = None,
    url: str | None = None,
    **kw: Any,
) -> str:
    """A header as `OAuth.get_authorization_header` makes it, with nonce/timestamp choosable."""
    return sign_request(
        key or client.key, client.consumer_key, "POST", url or status_url(client), body, **kw
    )


def fields(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    return dict(_PAIR.findall(header))


def header_of(params: dict[str, str]) -> str:
    return "OAuth " + ",".join(f'{k}="{v}"' for k, v in params.items())


def gateway_error(response: requests.Response, status: int, reason: str) -> str:
    """Assert a single gateway error of this status and ReasonCode; return its Description."""
    assert response.status_code == status, response.text
    (error,) = errors_of(response)
    assert error["Source"] == "Gateway", error
    assert error["ReasonCode"] == reason, error
    assert error["Recoverable"] is False, error
    return str(error["Description"])


def authentication_failed(response: requests.Response) -> str:
    return gateway_error(response, 401, "AUTHENTICATION_FAILED")


def invalid_client_id(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert errors_of(response) == [
        {
            "Source": "rewards-order-management",
            "ReasonCode": "INVALID_CLIENT_ID",
            "Description": "ClientId doesn't have access to the requested service.",
            "Recoverable": False,
        }
    ]


# --- 400 INVALID_AUTH_HEADER --------------------------------------------------------------------


def test_request_without_authorization_header_is_invalid_auth_header(vendor: Client) -> None:
    response = vendor.post_status(PAYLOAD, sign=False)
    gateway_error(response, 400, "INVALID_AUTH_HEADER")


def test_authorization_that_is_not_oauth_is_invalid_auth_header(vendor: Client) -> None:
    for value in ("Bearer abc.def.ghi", "Basic dXNlcjpwYXNz", "OAuthoauth_nonce=x"):
        response = post(status_url(vendor), value)
        gateway_error(response, 400, "INVALID_AUTH_HEADER")


@pytest.mark.parametrize(
    "missing",
    [
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_timestamp",
        "oauth_signature_method",
        "oauth_version",
        "oauth_body_hash",
        "oauth_signature",
    ],
)
def test_header_missing_an_oauth_parameter_is_invalid_auth_header(
    vendor: Client, missing: str
) -> None:
    params = fields(signed(vendor))
    del params[missing]
    description = gateway_error(
        post(status_url(vendor), header_of(params)), 400, "INVALID_AUTH_HEADER"
    )
    assert missing in description


@pytest.mark.parametrize("method", ["HMAC-SHA1", "RSA-SHA1", "PLAINTEXT", "rsa-sha256"])
def test_unsupported_signature_method_is_invalid_auth_header(vendor: Client, method: str) -> None:
    params = fields(signed(vendor))
    params["oauth_signature_method"] = method
    description = gateway_error(
        post(status_url(vendor), header_of(params)), 400, "INVALID_AUTH_HEADER"
    )
    assert "oauth_signature_method" in description


def test_oauth_version_other_than_1_0_is_invalid_auth_header(vendor: Client) -> None:
    params = fields(signed(vendor))
    params["oauth_version"] = "2.0"
    description = gateway_error(
        post(status_url(vendor), header_of(params)), 400, "INVALID_AUTH_HEADER"
    )
    assert "oauth_version" in description


@pytest.mark.parametrize(
    "garbage",
    [
        "OAuth",
        "OAuth !!!###",
        "OAuth oauth_consumer_key=unquoted",
        'OAuth oauth_consumer_key="unterminated',
        'OAuth a="b" c="d"',
        "OAuth " + "x" * 9000,
        "\u00e9\u00e8 nonsense",
    ],
)
def test_garbage_authorization_is_invalid_auth_header(vendor: Client, garbage: str) -> None:
    response = requests.post(
        status_url(vendor),
        data=BODY,
        headers={"Authorization": garbage.encode("latin-1"), "Content-Type": "application/json"},
        timeout=30,
    )
    gateway_error(response, 400, "INVALID_AUTH_HEADER")


def test_duplicate_parameter_and_bad_signature_encoding_are_invalid_auth_header(
    vendor: Client,
) -> None:
    header = signed(vendor)
    duplicated = header + ',oauth_nonce="again"'
    gateway_error(post(status_url(vendor), duplicated), 400, "INVALID_AUTH_HEADER")
    params = fields(header)
    params["oauth_signature"] = "not*base64"
    gateway_error(post(status_url(vendor), header_of(params)), 400, "INVALID_AUTH_HEADER")
    params = fields(signed(vendor))
    params["oauth_timestamp"] = "12.5"
    gateway_error(post(status_url(vendor), header_of(params)), 400, "INVALID_AUTH_HEADER")


def test_overlong_nonce_is_invalid_auth_header_even_when_signed(vendor: Client) -> None:
    assert post(status_url(vendor), signed(vendor, nonce="n" * 200)).status_code == 200
    response = post(status_url(vendor), signed(vendor, nonce="n" * 201))
    assert "oauth_nonce" in gateway_error(response, 400, "INVALID_AUTH_HEADER")


def test_control_characters_in_oauth_parameters_are_invalid_auth_header(vendor: Client) -> None:
    for name in ("oauth_consumer_key", "oauth_nonce", "realm"):
        params = fields(signed(vendor))
        params[name] = params.get(name, "") + "%00"
        response = post(status_url(vendor), header_of(params))
        assert name in gateway_error(response, 400, "INVALID_AUTH_HEADER")


# --- 401 AUTHENTICATION_FAILED, one Description per cause -------------------------------------


def test_unknown_consumer_key_is_refused(vendor: Client) -> None:
    stranger = Client(vendor.base_url, "nobody!0123", vendor.key, vendor.vendor_id)
    assert authentication_failed(stranger.post_status(PAYLOAD)) == "Unknown consumer key."


def test_revoked_consumer_key_is_refused(vendor: Client, store: Store) -> None:
    assert vendor.post_status(PAYLOAD).status_code == 200
    assert access.revoke_credential(store, vendor.consumer_key)
    response = vendor.post_status(PAYLOAD)
    assert authentication_failed(response) == "The consumer key has been revoked."


def _sent_twice(client: Client, path: str) -> tuple[requests.Response, requests.Response]:
    """One signed GET sent twice, as a replay would."""
    signed_request = client.prepared("GET", path, params={"limit": 5})
    return (
        client.session.send(signed_request, timeout=30),
        client.session.send(signed_request, timeout=30),
    )


def test_a_replayed_read_is_refused_on_every_read_route(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    """Reads spend their nonces apart from writes (access/read_nonces.py), on every route."""
    placed = place(vendor.vendor_id, items=1)
    reads = [
        (vendor, f"/vendors/{vendor.vendor_id}/orders/status"),
        (vendor, f"/vendors/{vendor.vendor_id}/orders/{placed.mc_order_id}/history"),
        (platform, f"/orders/{placed.mc_order_id}"),
        (platform, f"/orders/{placed.mc_order_id}/history"),
        (platform, "/events"),
    ]
    for client, path in reads:
        first, replay = _sent_twice(client, path)
        assert first.status_code == 200, (path, first.text)
        assert authentication_failed(replay) == "OAuth nonce has already been used.", path


def test_a_revoked_key_is_refused_on_its_next_read(vendor: Client, store: Store) -> None:
    assert vendor.get_status().status_code == 200
    assert access.revoke_credential(store, vendor.consumer_key)
    assert authentication_failed(vendor.get_status()) == "The consumer key has been revoked."


def test_signature_by_another_key_does_not_match(vendor: Client) -> None:
    impostor = Client(vendor.base_url, vendor.consumer_key, private_key(2), vendor.vendor_id)
    response = impostor.post_status(PAYLOAD)
    assert authentication_failed(response) == "OAuth signatures did not match."


def test_tampered_signature_does_not_match(vendor: Client) -> None:
    params = fields(signed(vendor))
    raw = bytearray(base64.b64decode(unquote(params["oauth_signature"])))
    raw[10] ^= 0x01
    params["oauth_signature"] = quote(base64.b64encode(bytes(raw)).decode(), safe="")
    response = post(status_url(vendor), header_of(params))
    assert authentication_failed(response) == "OAuth signatures did not match."


def test_every_signed_parameter_is_covered_by_the_signature(vendor: Client) -> None:
    params = fields(signed(vendor))
    params["oauth_timestamp"] = str(int(params["oauth_timestamp"]) - 1)
    assert authentication_failed(post(status_url(vendor), header_of(params))) == (
        "OAuth signatures did not match."
    )
    params = fields(signed(vendor))
    params["oauth_nonce"] += "x"
    assert authentication_failed(post(status_url(vendor), header_of(params))) == (
        "OAuth signatures did not match."
    )


def test_signature_for_another_path_does_not_match(
    vendor: Client, make_vendor: Callable[..., Client]
) -> None:
    other = make_vendor()
    header = signed(vendor, url=status_url(vendor).replace(vendor.vendor_id, other.vendor_id))
    response = post(status_url(vendor), header)
    assert authentication_failed(response) == "OAuth signatures did not match."


def test_body_other_than_the_signed_one_fails_the_body_hash(vendor: Client) -> None:
    header = OAuth.get_authorization_header(
        status_url(vendor), "POST", json.dumps(PAYLOAD), vendor.consumer_key, vendor.key
    )
    tampered = json.dumps([{"mcOrderId": "no-such-order", "status": "Delivered"}]).encode()
    response = post(status_url(vendor), header, tampered)
    assert authentication_failed(response) == "OAuth body hash does not match the request body."


def test_stale_timestamp_is_refused(vendor: Client) -> None:
    header = signed(vendor, timestamp=int(time.time()) - 3600)
    response = post(status_url(vendor), header)
    assert authentication_failed(response) == "OAuth timestamp is too old."


def test_future_timestamp_is_refused(vendor: Client) -> None:
    header = signed(vendor, timestamp=int(time.time()) + 3600)
    response = post(status_url(vendor), header)
    assert authentication_failed(response) == "OAuth timestamp is too far in the future."


def test_library_signed_request_with_a_skewed_clock_is_refused(
    vendor: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import oauth1.coreutils

    skewed = int(time.time()) - 3600
    monkeypatch.setattr(oauth1.coreutils, "get_timestamp", lambda: skewed)
    response = vendor.post_status(PAYLOAD)
    assert authentication_failed(response) == "OAuth timestamp is too old."


def test_same_signed_request_twice_is_refused_the_second_time(vendor: Client) -> None:
    header = signed(vendor)
    assert post(status_url(vendor), header).status_code == 200
    response = post(status_url(vendor), header)
    assert authentication_failed(response) == "OAuth nonce has already been used."


def test_requests_failing_verification_do_not_burn_the_nonce(vendor: Client) -> None:
    # The same nonce and timestamp as the request that then succeeds: had a failure spent them,
    # it would be refused. (Signed at one fixed second: a nonce is unique per timestamp.)
    nonce, now = uuid.uuid4().hex, int(time.time())
    url = status_url(vendor)
    failures = [
        post(url, signed(vendor, key=private_key(2), nonce=nonce, timestamp=now)),
        post(url, signed(vendor, nonce=nonce, timestamp=now), b"[]"),
        post(url, signed(vendor, nonce=nonce, timestamp=now - 3600)),
        post(url, signed(vendor, nonce=nonce, timestamp=now + 3600)),
    ]
    descriptions = [authentication_failed(r) for r in failures]
    assert "OAuth nonce has already been used." not in descriptions
    header = signed(vendor, nonce=nonce, timestamp=now)
    assert post(url, header).status_code == 200
    assert authentication_failed(post(url, header)) == "OAuth nonce has already been used."


def test_a_nonce_is_unique_per_timestamp_as_rfc_5849_says(vendor: Client) -> None:
    """RFC 5849 §3.3: a nonce is unique across requests with the same timestamp and key. A
    replay carries the timestamp it was signed with, so it is refused; the same nonce signed at
    another second is another request (and no replay can make one: the signature covers it)."""
    nonce, now = uuid.uuid4().hex, int(time.time())
    url = status_url(vendor)
    first = signed(vendor, nonce=nonce, timestamp=now)
    assert post(url, first).status_code == 200
    assert authentication_failed(post(url, first)) == "OAuth nonce has already been used."
    later = signed(vendor, nonce=nonce, timestamp=now - 1)
    assert post(url, later).status_code == 200
    assert authentication_failed(post(url, later)) == "OAuth nonce has already been used."


def test_nonce_is_remembered_per_consumer_key(make_vendor: Callable[..., Client]) -> None:
    a, b = make_vendor(), make_vendor()
    nonce = uuid.uuid4().hex
    assert post(status_url(a), signed(a, nonce=nonce)).status_code == 200
    assert post(status_url(b), signed(b, nonce=nonce)).status_code == 200


# --- What passes --------------------------------------------------------------------------------


def test_low_level_library_header_over_the_exact_bytes_passes(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    payload = [{"mcOrderId": placed.mc_order_id, "status": "Shipped"}]
    url = status_url(vendor)
    header = OAuth.get_authorization_header(url, "POST", payload, vendor.consumer_key, vendor.key)
    response = post(url, header, json.dumps(payload).encode())
    assert response.status_code == 200, response.text
    assert response.json()[0]["status"] == "Shipped"


def test_request_without_content_type_as_in_mastercards_readme_passes(vendor: Client) -> None:
    url = status_url(vendor)
    response = requests.post(
        url, data=json.dumps(PAYLOAD), auth=OAuth1RSA(vendor.consumer_key, vendor.key), timeout=30
    )
    assert response.status_code == 200, response.text


def test_query_parameters_signed_by_the_library_pass_and_filter(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    a, b, c = (place(vendor.vendor_id) for _ in range(3))
    vendor.post_status(
        [
            {"mcOrderId": a.mc_order_id, "status": "Shipped"},
            {"mcOrderId": c.mc_order_id, "status": "Shipped"},
        ]
    )
    response = vendor.get_status(
        mcOrderId=[a.mc_order_id, b.mc_order_id],
        status="Shipped",
        updatedSince="2020-01-01T00:00:00Z",
    )
    assert response.status_code == 200, response.text
    assert [o["mcOrderId"] for o in response.json()["orders"]] == [a.mc_order_id]


@pytest.mark.parametrize(
    "query",
    [
        "mcOrderId=a&mcOrderId=b&status=Shipped&updatedSince=2020-01-01T00:00:00Z",
        "mcOrderId=a&mcOrderId=b&status=Shipped&updatedSince=2020-01-01T00%3A00%3A00%2B00%3A00",
        "mcOrderId=x%3Ay%2Bz%20w&mcOrderId=a+b&status=in%20transit",
        "mcOrderId=x:y+z&status=Shipped&updatedSince=2020-01-01T00:00:00Z&limit=5",
        "mcOrderId=%2a%7e%21&mcOrderId=%C3%A9t%C3%A9&status=Shipped",
        "status=Shipped&mcOrderId=",
    ],
)
def test_odd_query_strings_signed_by_the_library_pass(vendor: Client, query: str) -> None:
    response = vendor.request("GET", f"/vendors/{vendor.vendor_id}/orders/status?{query}")
    assert response.status_code == 200, (query, response.text)
    assert response.json() == {"orders": [], "nextCursor": None}


def test_query_string_altered_after_signing_does_not_match(vendor: Client) -> None:
    signed_url = status_url(vendor) + "?mcOrderId=a"
    header = OAuth.get_authorization_header(
        signed_url, "GET", None, vendor.consumer_key, vendor.key
    )
    response = requests.get(
        status_url(vendor) + "?mcOrderId=b", headers={"Authorization": header}, timeout=30
    )
    assert authentication_failed(response) == "OAuth signatures did not match."


def test_csharp_style_header_with_every_value_percent_encoded_passes(vendor: Client) -> None:
    url = status_url(vendor)
    params = fields(
        OAuth.get_authorization_header(url, "POST", BODY, vendor.consumer_key, vendor.key)
    )
    assert "!" in params["oauth_consumer_key"]
    encoded = {k: quote(unquote(v), safe="") for k, v in params.items()}
    assert encoded["oauth_consumer_key"] != params["oauth_consumer_key"]  # '!' became '%21'
    assert "%3D" in encoded["oauth_body_hash"]
    response = post(url, header_of(encoded))
    assert response.status_code == 200, response.text


def test_header_with_spaces_and_other_parameter_order_passes(vendor: Client) -> None:
    params = fields(signed(vendor))
    reordered = "OAuth " + ", ".join(f'{k}="{v}"' for k, v in sorted(params.items()))
    response = post(status_url(vendor), reordered)
    assert response.status_code == 200, response.text


def test_rsa_pss_signature_method_passes(vendor: Client) -> None:
    assert SignatureMethod.RSA_PSS_SHA256.value == "RSA-PSS"
    auth = OAuth1RSA(vendor.consumer_key, vendor.key, SignatureMethod.RSA_PSS_SHA256)
    response = requests.post(
        status_url(vendor),
        data=BODY,
        headers={"Content-Type": "application/json"},
        auth=auth,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    header = signed(vendor, signature_method=RSA_PSS)
    assert fields(header)["oauth_signature_method"] == "RSA-PSS"
    assert post(status_url(vendor), header).status_code == 200


def test_rsa_pss_signature_presented_as_rsa_sha256_does_not_match(vendor: Client) -> None:
    params = fields(signed(vendor, signature_method=RSA_PSS))
    params["oauth_signature_method"] = "RSA-SHA256"
    response = post(status_url(vendor), header_of(params))
    assert authentication_failed(response) == "OAuth signatures did not match."


# --- Authorisation: a valid credential, the wrong vendor or route ------------------------------


def test_vendor_acting_for_another_vendor_is_invalid_client_id_and_learns_nothing(
    make_vendor: Callable[..., Client], place: Callable[..., Placed]
) -> None:
    victim, intruder = make_vendor(), make_vendor()
    placed = place(victim.vendor_id, order_id="victim-ext")
    as_victim = Client(intruder.base_url, intruder.consumer_key, intruder.key, victim.vendor_id)
    for response in (
        as_victim.post_status([{"mcOrderId": placed.mc_order_id, "status": "Shipped"}]),
        as_victim.get_status(),
        as_victim.get_status(mcOrderId=placed.mc_order_id),
    ):
        invalid_client_id(response)
        assert placed.mc_order_id not in response.text
        assert "victim-ext" not in response.text
    (order,) = victim.get_status(mcOrderId=placed.mc_order_id).json()["orders"]
    assert order["status"] == "Pending"


def test_vendor_credential_on_platform_routes_is_invalid_client_id(
    vendor: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    placement = {
        "mcOrderId": str(uuid.uuid4()),
        "vendorId": vendor.vendor_id,
        "items": [{"mcId": "i-1", "description": "Gift card"}],
    }
    invalid_client_id(vendor.request("POST", "/orders", body=placement))
    response = vendor.request("GET", f"/orders/{placed.mc_order_id}")
    invalid_client_id(response)
    assert placed.mc_order_id not in response.text


def test_platform_credential_may_not_post_vendor_status(
    vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    placed = place(vendor.vendor_id)
    as_platform = Client(platform.base_url, platform.consumer_key, platform.key, vendor.vendor_id)
    invalid_client_id(
        as_platform.post_status([{"mcOrderId": placed.mc_order_id, "status": "Shipped"}])
    )
    (order,) = as_platform.get_status(mcOrderId=placed.mc_order_id).json()["orders"]
    assert order["status"] == "Pending"  # reading is allowed; the update was not applied


# --- Settings: public URL, production -----------------------------------------------------------


def test_public_url_is_the_one_clients_sign(
    start_server: Callable[..., LiveServer], make_vendor: Callable[..., Client]
) -> None:
    live = start_server(public_url="https://api.example.com")
    client = make_vendor(url=live.url)
    path = f"/loyalty/rewards/vendors/{client.vendor_id}/orders/status"
    real_url = live.origin + path
    for public in ("https://api.example.com", "https://API.example.com:443"):
        header = OAuth.get_authorization_header(
            public + path, "POST", json.dumps(PAYLOAD), client.consumer_key, client.key
        )
        response = post(real_url, header)
        assert response.status_code == 200, (public, response.text)
    loopback = OAuth.get_authorization_header(
        real_url, "POST", json.dumps(PAYLOAD), client.consumer_key, client.key
    )
    response = post(real_url, loopback)
    assert authentication_failed(response) == "OAuth signatures did not match."


def test_without_public_url_the_host_header_is_signed(vendor: Client, server: LiveServer) -> None:
    url = status_url(vendor)
    header = OAuth.get_authorization_header(
        url.replace("127.0.0.1", "localhost"), "POST", BODY, vendor.consumer_key, vendor.key
    )
    response = requests.post(
        url,
        data=BODY,
        headers={
            "Authorization": header,
            "Host": server.origin.replace("http://127.0.0.1", "localhost"),
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_production_refuses_demo_credentials(
    start_server: Callable[..., LiveServer], make_vendor: Callable[..., Client]
) -> None:
    live = start_server(env=Environment.PRODUCTION)
    demo = make_vendor(url=live.url, is_demo=True)
    response = demo.post_status(PAYLOAD)
    assert authentication_failed(response) == "Demo credentials are refused in production."
    real = make_vendor(url=live.url)
    assert real.post_status(PAYLOAD).status_code == 200


def test_development_accepts_demo_credentials(make_vendor: Callable[..., Client]) -> None:
    demo = make_vendor(is_demo=True)
    assert demo.post_status(PAYLOAD).status_code == 200


# --- Attacks on the Authorization header: parameters stay where they were signed -------------

STATUS = "/vendors/{vendor}/orders/status"
REASONS = {400: "INVALID_AUTH_HEADER", 401: "AUTHENTICATION_FAILED"}


def _append(text: str) -> Callable[[str], str]:
    return lambda header: f"{header},{text}"


def _set(name: str, value: str) -> Callable[[str], str]:
    return lambda header: re.sub(rf'{name}="[^"]*"', f'{name}="{value}"', header)


def _same(header: str) -> str:
    return header


# (id, URL signed, URL sent, how the signed header is edited, status, part of the Description).
# The first two are the campaign's, answered 200 before the header's names were checked.
# Missing parameters, other signature methods and versions: the INVALID_AUTH_HEADER tests above.
EMPTY_HASH = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
# fmt: off
ATTACKS: list[tuple[str, str, str, Callable[[str], str], int, str]] = [
    ("signed-limit-moved-to-the-header",
     "/events?after=0&limit=1", "/events?after=0", _append('limit="1"'), 401, "not limit"),
    ("signed-status-filter-moved-to-the-header",
     STATUS + "?status=Cancelled", STATUS, _append('status="Cancelled"'), 401, "not status"),
    ("limit-in-the-header-and-the-query",
     "/events?limit=1", "/events?limit=1", _append('limit="1"'), 401, "not limit"),
    ("signed-unknown-parameter-moved-to-the-header",
     STATUS + "?foo=1", STATUS, _append('foo="1"'), 401, "not foo"),
    ("oauth-token-of-three-legged-oauth",
     STATUS, STATUS, _append('oauth_token="t"'), 401, "not oauth_token"),
    ("protocol-name-in-another-case",
     STATUS, STATUS, _append('OAUTH_NONCE="x"'), 401, "not OAUTH_NONCE"),
    ("oauth-nonce-also-in-the-query",
     STATUS + "?oauth_nonce=abc", STATUS + "?oauth_nonce=abc", _same, 401, "both"),
    ("oauth-nonce-percent-encoded-in-the-query",
     STATUS + "?oauth%5Fnonce=abc", STATUS + "?oauth%5Fnonce=abc", _same, 401, "both"),
    ("oauth-signature-also-in-the-query",
     STATUS + "?oauth_signature=abc", STATUS + "?oauth_signature=abc", _same, 401, "both"),
    # status sorts after oauth_version, so a decoded '&' there would sign like `?status=...`.
    ("signed-filter-hidden-in-oauth-version",
     STATUS + "?status=Cancelled", STATUS,
     _set("oauth_version", "1.0%26status%3DCancelled"), 401, "'&'"),
    ("oauth-nonce-twice",
     STATUS, STATUS, _append('oauth_nonce="other"'), 400, "Duplicate OAuth parameter: oauth_nonce"),
    ("oauth-body-hash-twice-same-value",
     STATUS, STATUS, _append(f'oauth_body_hash="{EMPTY_HASH}"'),
     400, "Duplicate OAuth parameter: oauth_body_hash"),
    ("realm-twice",
     STATUS, STATUS, _append('realm="a",realm="b"'), 400, "Duplicate OAuth parameter: realm"),
    ("realm-accepted", STATUS, STATUS, _append('realm="tfs"'), 200, ""),
    ("ampersand-in-realm-which-is-not-signed", STATUS, STATUS, _append('realm="a%26b"'), 200, ""),
]
# fmt: on


@pytest.mark.parametrize(
    ("signed_path", "sent_path", "edit", "status", "description"),
    [pytest.param(*case, id=name) for name, *case in ATTACKS],
)
def test_authorization_header_attack(
    platform: Client,
    vendor: Client,
    signed_path: str,
    sent_path: str,
    edit: Callable[[str], str],
    status: int,
    description: str,
) -> None:
    base = platform.base_url
    signed_url = base + signed_path.format(vendor=vendor.vendor_id)
    header = edit(
        OAuth.get_authorization_header(signed_url, "GET", None, platform.consumer_key, platform.key)
    )
    sent_url = base + sent_path.format(vendor=vendor.vendor_id)
    response = requests.get(sent_url, headers={"Authorization": header}, timeout=30)
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert description in gateway_error(response, status, REASONS[status])
