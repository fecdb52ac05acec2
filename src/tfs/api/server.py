"""The HTTP/1.1 connection: uvicorn's httptools protocol held to the service's limits on request
heads, stalled bodies, idle time and open connections (settings: tfs.config.ConnectionSettings).

uvicorn bounds none of these itself: a head is buffered whole however large, a connection that
sends nothing (or one byte a minute) is kept for ever, and it accepts until the process runs out
of descriptors. This subclass adds the bounds where the bytes arrive, before any route runs, and
answers each refusal in the Mastercard error envelope with `Connection: close`.

`tfs serve` (and the benchmark's echo, so that its ceiling pays the same) names this class as
uvicorn's `http` protocol by import path, so every worker process builds it from the
environment.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from functools import cache
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from tfs.config import ConnectionSettings, connection_settings
from tfs.errors import HeadTooLarge, RequestTimeout, TfsError, TooManyConnections, UriTooLong
from tfs.orders import render

PROTOCOL = "tfs.api.server:BoundedHttpProtocol"
log = logging.getLogger("tfs.http")

# Descriptors kept free beside the connection cap: database connections, the relay's webhook
# and NATS connections, log and database files.
RESERVED_DESCRIPTORS = 128
DEFAULT_MAX_CONNECTIONS = 1000


@cache
def _limits() -> tuple[ConnectionSettings, int]:
    """The limits, read once per process, and the connection cap they come to."""
    settings = connection_settings()
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - RESERVED_DESCRIPTORS if soft != resource.RLIM_INFINITY else 1 << 30
    cap = settings.max_connections or DEFAULT_MAX_CONNECTIONS
    return settings, max(1, min(cap, room))


class _Refusal(Exception):
    """Raised inside a parser callback to stop parsing and answer `error`."""

    def __init__(self, error: TfsError) -> None:
        self.error = error


class _CapState:
    """Whether this process is refusing connections, so each change is logged once."""

    refusing = False


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's protocol, plus: a head of at most `max_head_bytes` (431; a request target over
    `max_url_bytes` is 414), a head that must arrive within `head_timeout_s` and a body that
    may not pause longer than `body_timeout_s` (408, or a silent close when nothing came), idle
    keep-alive closed after `keepalive_s`, and at most `max_connections` open (503)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits, self.max_connections = _limits()
        self.max_head = limits.max_head_bytes
        self.max_url = limits.max_url_bytes
        self.head_timeout = limits.head_timeout_s
        self.body_timeout = limits.body_timeout_s
        # uvicorn arms this after each answer (it types it int; call_later takes any number)
        self.timeout_keep_alive = limits.keepalive_s  # type: ignore[assignment]
        self.head_left: int | None = self.max_head  # None: the head is in, a body may follow
        self.head_started = False  # a byte of the current head has arrived
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None
        self.refused = False

    # --- the connection -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            if not _CapState.refusing:
                _CapState.refusing = True
                # New connections are answered 503 until some close.
                log.warning(
                    "connection limit reached",
                    extra={
                        "fields": {"open": len(self.connections) - 1, "limit": self.max_connections}
                    },
                )
            self.refuse(TooManyConnections())
            return
        self.head_timer = self.loop.call_later(self.head_timeout, self.head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_timers()
        super().connection_lost(exc)
        # Back under nine tenths of the cap: say so once (no flapping at the edge).
        if _CapState.refusing and len(self.connections) < self.max_connections * 0.9:
            _CapState.refusing = False
            log.info(
                "connections are below the limit again",
                extra={"fields": {"open": len(self.connections)}},
            )

    def data_received(self, data: bytes) -> None:
        """uvicorn's, feeding the parser no more of a head than it may hold."""
        if self.refused:
            return
        self._unset_keepalive_if_required()
        try:
            while data:
                if self.head_left is None:  # a body, or the bytes after a finished head
                    self.parser.feed_data(data)
                    break
                if not self.head_started:
                    self.head_started = True
                    if self.head_timer is None:  # a kept-alive connection's next request
                        self.head_timer = self.loop.call_later(
                            self.head_timeout, self.head_timed_out
                        )
                if len(data) <= self.head_left:  # the usual case: no copy
                    piece, data = data, b""
                else:
                    piece, data = data[: self.head_left], data[self.head_left :]
                self.head_left -= len(piece)
                self.parser.feed_data(piece)
                if self.head_left is not None and self.head_left <= 0:
                    # (a target too long for the head is refused as one in on_url, sooner)
                    raise _Refusal(HeadTooLarge())
        except _Refusal as refusal:
            self.refuse(refusal.error)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _Refusal):
                self.refuse(exc.__context__.error)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)

    # --- parser callbacks ---------------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url:
            raise _Refusal(UriTooLong())

    def on_headers_complete(self) -> None:
        self.head_left = None
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body:
            self.body_timer = self.loop.call_later(self.body_timeout, self.body_timed_out)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = self.loop.call_later(self.body_timeout, self.body_timed_out)

    def on_message_complete(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None
        super().on_message_complete()
        self.head_left, self.head_started = self.max_head, False

    # --- timers and refusals ------------------------------------------------------------

    def head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if not self.head_started:  # nothing at all was sent: close without a word
            self.transport.close()
            return
        self.refuse(RequestTimeout("The request head did not arrive in time."))

    def body_timed_out(self) -> None:
        self.body_timer = None
        if self.transport.is_closing() or self.cycle is None or not self.cycle.more_body:
            return
        if self.flow.read_paused:  # the application is not reading: not the client's pause
            self.body_timer = self.loop.call_later(self.body_timeout, self.body_timed_out)
            return
        self.refuse(RequestTimeout("The request body stopped arriving."))

    def cancel_timers(self) -> None:
        for timer in (self.head_timer, self.body_timer):
            if timer is not None:
                timer.cancel()
        self.head_timer = self.body_timer = None

    def refuse(self, error: TfsError) -> None:
        """Answer `error` (unless an answer has begun) and close the connection. A request the
        application is reading sees the client as gone, and anything it sends is dropped."""
        self.refused = True
        self.cancel_timers()
        cycle = self.cycle
        started = cycle is not None and cycle.response_started
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        if not started and not self.transport.is_closing():
            self.transport.write(_answer(error))
        self.transport.close()
        if not isinstance(error, TooManyConnections):
            log.info(
                "connection refused",
                extra={"fields": {"status": error.status, "reason": error.description}},
            )


def _answer(error: TfsError) -> bytes:
    body = render.error(error)
    head = [STATUS_LINE[error.status]]
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "connection": "close",
        **{k.lower(): v for k, v in error.headers.items()},
    }
    head += [f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items()]
    return b"".join([*head, b"\r\n", body])
