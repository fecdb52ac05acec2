"""What guards every console request: its security headers, its cookies, its forms' CSRF
tokens and origin, and the sign-in session behind each page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tfs.console import passwords

SESSION_COOKIE = "tfs_console"
# The sign-in form has no session yet: its token is a cookie of its own, sent back in the form
# (a double-submit token), so that another site cannot sign a browser in under its own name.
SIGN_IN_COOKIE = "tfs_console_sign_in"
CSRF_FIELD = "csrf"
MAX_FORM_BYTES = 16 * 1024

# No script or style but the console's own files (no inline script: the CSP forbids it), no
# framing, no forms sent elsewhere; no page kept in any cache, no address sent to other sites.
HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}
_ENCODED_HEADERS = [(k.encode(), v.encode()) for k, v in HEADERS.items()]


class SecurityHeaders:
    """Adds HEADERS to every answer of the console, its errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                given = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _ENCODED_HEADERS if k not in given]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class CookieRules:
    """Where the console's cookies go: only to its own path, never to the API's."""

    path: str
    secure: bool

    def set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.path,
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )

    def clear(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path=self.path, secure=self.secure, httponly=True, samesite="strict"
        )


def is_https(request: Request, public_url: str | None) -> bool:
    """The cookies are Secure when the browser reached the console over https (directly, or
    through the proxy that TFS_PUBLIC_URL names)."""
    return request.url.scheme == "https" or (public_url or "").startswith("https://")


async def read_form(request: Request) -> dict[str, str] | None:
    """An urlencoded form (the console's only kind), each field's first value; None when it is
    not one or is too large."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in fields.items()}


def same_origin(request: Request, public_url: str | None) -> bool:
    """False when the browser says the form comes from another site: by Sec-Fetch-Site, and
    by Origin, compared with the console's own origin (or TFS_PUBLIC_URL's). Browsers send at
    least one of them with every POST; a client that sends neither is not a browser someone
    else's page can drive, and still needs the CSRF token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    allowed = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    if public_url:
        parts = urlsplit(public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin in allowed


def token_matches(form: dict[str, str] | None, expected: str | None) -> bool:
    if form is None or not expected:
        return False
    given = form.get(CSRF_FIELD, "")
    return bool(given) and passwords.same(given, expected)


def sign_in_token(request: Request) -> str:
    """The sign-in form's token: the browser's cookie when it has a well-formed one, else new."""
    given = request.cookies.get(SIGN_IN_COOKIE, "")
    if 32 <= len(given) <= 64 and given.replace("-", "").replace("_", "").isalnum():
        return given
    return secrets.token_urlsafe(32)
