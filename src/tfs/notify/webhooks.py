"""Webhooks as Standard Webhooks says: secrets, the signed headers, and one POST to a receiver."""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from tfs.errors import InvalidWebhookUrl
from tfs.notify.deliveries import Attempt

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
USER_AGENT = "tfs-relay"


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format: `whsec_` and base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_url(url: str) -> str:
    """The URL if a delivery could reach it: http(s), with a host that resolves.

    Loopback and private addresses are allowed on purpose: receivers often sit beside the
    service, and only operators (through the CLI) can add a subscription.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhookUrl(f"{url!r} is not an http:// or https:// URL.")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl(f"{url!r} has an invalid port.") from exc
    if not host:
        raise InvalidWebhookUrl(f"{url!r} has no host.")
    try:
        socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError) as exc:
        raise InvalidWebhookUrl(f"{url!r} points nowhere: host {host!r} does not resolve.") from exc
    return url


def signed_headers(secret: str, event_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """`webhook-signature` is `v1,` + base64 HMAC-SHA256 of "id.timestamp.body"."""
    timestamp = now.astimezone(UTC)
    signature = Webhook(secret).sign(event_id, timestamp, body.decode())
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


def timeouts(total_s: float) -> httpx.Timeout:
    return httpx.Timeout(total_s, connect=min(total_s, 5.0))


async def post(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    event_id: str,
    body: bytes,
    now: datetime,
    timeout_s: float,
) -> Attempt:
    """POST one event; never raises for what the receiver or the network does.

    The answer's body is never read: only its status counts, and a receiver cannot make the
    relay download anything. The overall deadline also bounds a receiver that trickles bytes.
    """
    headers = signed_headers(secret, event_id, body, now)
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except (TimeoutError, httpx.TimeoutException):
        error = f"timed out after {timeout_s:g} s"
    except httpx.ConnectError as exc:
        error = f"could not connect: {exc}" if str(exc) else "could not connect"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if status is not None and 200 <= status < 300:
        error = None  # answered 2xx: delivered, whatever happened while closing
    latency_ms = round((time.perf_counter() - started) * 1000)
    return Attempt(now, status, latency_ms, error)
