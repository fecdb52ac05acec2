"""A vendor's client: posts a body signed with Mastercard's own library (`oauth1`)."""

from __future__ import annotations

import requests
from oauth1.authenticationutils import load_signing_key
from oauth1.oauth_ext import OAuth1RSA


def post_signed(
    url: str,
    body: bytes,
    consumer_key: str,
    p12_path: str,
    password: str,
    idempotency_key: str | None = None,
    timeout: float = 30.0,
) -> tuple[int, str]:
    key = load_signing_key(p12_path, password)
    headers = {"Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    response = requests.post(
        url, data=body, headers=headers, auth=OAuth1RSA(consumer_key, key), timeout=timeout
    )
    return response.status_code, response.text
