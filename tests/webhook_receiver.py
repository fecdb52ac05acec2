"""A real webhook receiver on loopback, as the platform would run one: it checks each delivery's
signature with the Standard Webhooks library and answers as the test tells it (succeed, fail with
500, hang past the relay's timeout, or refuse connections by closing its port)."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Arrival:
    event: dict[str, Any]
    headers: dict[str, str]
    verified: bool
    answered: int | None  # None: the receiver hung instead of answering

    @property
    def id(self) -> str:
        return str(self.event["id"])


class Receiver:
    def __init__(self) -> None:
        self.secret: str | None = None
        self.mode = "ok"  # "ok" | "fail" | "hang"
        self.fail_when: Callable[[dict[str, Any]], bool] = lambda _event: False
        self.hang_after: int | None = None  # hang once this many events were accepted
        self.arrivals: list[Arrival] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        """Listen (again, on the same port after `refuse()`)."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def refuse(self) -> None:
        """Close the port: connections are refused until `start()`."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def close(self) -> None:
        self.release.set()
        self.refuse()

    def _answer(self, event: dict[str, Any], verified: bool, conn: socket.socket) -> int | None:
        if not verified:
            return 401
        if self.mode == "hang" or (
            self.hang_after is not None and len(self.accepted()) >= self.hang_after
        ):
            _hang(conn, self.release)
            return None
        if self.mode == "fail" or self.fail_when(event):
            return 500
        return 204

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    assert receiver.secret is not None
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except (WebhookVerificationError, AssertionError, ValueError):
                    verified = False
                event = json.loads(body)
                with receiver.lock:
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    status = receiver._answer(event, verified, self.connection)
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1
                with receiver.lock:
                    receiver.arrivals.append(Arrival(event, headers, verified, status))
                if status is not None:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    # --- what the platform would conclude ------------------------------------------------

    def all(self) -> list[Arrival]:
        with self.lock:
            return list(self.arrivals)

    def accepted(self) -> list[Arrival]:
        """Arrivals answered 2xx, in arrival order."""
        return [a for a in self.all() if a.answered is not None and 200 <= a.answered < 300]

    def unique(self) -> dict[str, Arrival]:
        """Accepted events after deduplication by event id (the first arrival of each)."""
        seen: dict[str, Arrival] = {}
        for a in self.accepted():
            seen.setdefault(a.id, a)
        return seen


def _hang(conn: socket.socket, release: threading.Event) -> None:
    """Answer nothing until released or until the client gives up and closes the connection."""
    deadline = time.monotonic() + 30
    while not release.is_set() and time.monotonic() < deadline:
        readable, _, _ = select.select([conn], [], [], 0.02)
        if readable and conn.recv(1, socket.MSG_PEEK) == b"":
            return


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll until `condition()` is truthy; fail naming `what` after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
