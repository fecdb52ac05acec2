"""Connection abuse against `tfs serve` as a real process (tfs.api.server): oversized heads and
targets, heads and bodies that stop arriving, idle and kept-alive connections, a flood of open
connections, and callers that leave mid-body. Each is answered in the Mastercard envelope (or
closed silently when nothing was sent), logged for what it is, and the service goes on serving.

The limits are set small here (1 s timeouts, a cap of 20 connections) so the tests are quick;
every wait below has a generous margin and nothing asserts a duration."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from processes import ServerProcess
from tfs.db.engine import upgrade

HEAD = 4096
URL = 1024
CAP = 20
TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("connections")
    url = f"sqlite:///{folder / 'tfs.db'}"
    upgrade(url)
    env = {
        "TFS_DATABASE_URL": url,
        "TFS_RELAY": "off",
        "TFS_HTTP_MAX_HEAD_BYTES": str(HEAD),
        "TFS_HTTP_MAX_URL_BYTES": str(URL),
        "TFS_HTTP_HEAD_TIMEOUT_S": str(TIMEOUT_S),
        "TFS_HTTP_BODY_TIMEOUT_S": str(TIMEOUT_S),
        "TFS_HTTP_KEEPALIVE_S": str(TIMEOUT_S),
        "TFS_HTTP_MAX_CONNECTIONS": str(CAP),
    }
    with ServerProcess(env, log=folder / "serve.log") as server:
        yield server


def log_lines(server: ServerProcess) -> list[dict[str, Any]]:
    assert server.log is not None
    lines = []
    for raw in server.log.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def wait_for_log(server: ServerProcess, match: dict[str, Any], count: int = 1) -> list[Any]:
    """The log records holding every key of `match`, once there are `count` of them (10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in log_lines(server) if all(r.get(k) == v for k, v in match.items())]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def connect(server: ServerProcess) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return s


def read_all(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (at most 10 s)."""
    chunks = []
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def read_one(s: socket.socket) -> bytes:
    """One whole answer on a connection kept open (its head, then Content-Length bytes)."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += s.recv(65536)
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(answer(head + b"\r\n\r\n")[1]["content-length"])
    while len(body) < length:
        body += s.recv(65536)
    return head + b"\r\n\r\n" + body


def answer(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return status, headers, json.loads(body) if body else None


def only_error(envelope: Any) -> dict[str, Any]:
    (error,) = envelope["Errors"]["Error"]
    assert set(error) <= {"Source", "ReasonCode", "Description", "Recoverable", "Details"}
    return dict(error)


def get(path: str, extra: bytes = b"") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n".encode() + extra + b"\r\n"


def health_is_served(server: ServerProcess) -> bool:
    with connect(server) as s:
        s.sendall(get("/health", b"Connection: close\r\n"))
        status, _, body = answer(read_all(s))
    return status == 200 and body == {"status": "ok"}


def padded_head(size: int) -> bytes:
    """A GET /health whose head is exactly `size` bytes."""
    bare = get("/health", b"X-Pad: \r\nConnection: close\r\n")
    pad = size - len(bare)
    return get("/health", b"X-Pad: " + b"p" * pad + b"\r\nConnection: close\r\n")


def test_a_head_at_the_limit_is_served_and_one_byte_more_is_431(served: ServerProcess) -> None:
    with connect(served) as s:
        s.sendall(padded_head(HEAD))
        assert answer(read_all(s))[0] == 200
    with connect(served) as s:
        s.sendall(padded_head(HEAD + 1))
        status, headers, body = answer(read_all(s))
    assert status == 431
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/json"
    assert only_error(body) == {
        "Source": "Gateway",
        "ReasonCode": "REQUEST_HEADER_FIELDS_TOO_LARGE",
        "Description": "The request line and headers are too large.",
        "Recoverable": False,
    }
    assert health_is_served(served)


def test_a_huge_head_is_refused_before_it_is_read(served: ServerProcess) -> None:
    """50 MB of header: the server answers 431 and closes after the first few KB, so the sender
    is cut off long before it has sent it all."""
    sent = 0
    with connect(served) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: ")
        chunk = b"b" * 65536
        try:
            while sent < 50 * 1024 * 1024:
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < 50 * 1024 * 1024
    assert wait_for_log(served, {"message": "connection refused", "status": 431})
    assert health_is_served(served)


def test_a_target_at_the_limit_is_routed_and_a_longer_one_is_414(served: ServerProcess) -> None:
    base = "/loyalty/rewards/nowhere?q="
    at_limit = base + "a" * (URL - len(base))
    with connect(served) as s:
        s.sendall(get(at_limit, b"Connection: close\r\n"))
        status, _, body = answer(read_all(s))
    assert status == 404 and only_error(body)["ReasonCode"] == "NOT_FOUND"
    with connect(served) as s:
        s.sendall(get(at_limit + "a", b"Connection: close\r\n"))
        status, headers, body = answer(read_all(s))
    assert status == 414
    assert headers["connection"] == "close"
    assert only_error(body) == {
        "Source": "Gateway",
        "ReasonCode": "URI_TOO_LONG",
        "Description": "The request target is too long.",
        "Recoverable": False,
    }


def test_a_head_that_stops_arriving_is_answered_408_and_closed(served: ServerProcess) -> None:
    with connect(served) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")  # and never the blank line
        status, headers, body = answer(read_all(s))
    assert status == 408
    assert headers["connection"] == "close"
    error = only_error(body)
    assert (error["ReasonCode"], error["Recoverable"]) == ("REQUEST_TIMEOUT", True)
    assert error["Description"] == "The request head did not arrive in time."


def test_a_connection_that_sends_nothing_is_closed_without_a_word(served: ServerProcess) -> None:
    with connect(served) as s:
        assert read_all(s) == b""


def test_a_kept_alive_connection_is_closed_once_idle(served: ServerProcess) -> None:
    with connect(served) as s:
        s.sendall(get("/health"))
        assert answer(read_one(s))[0] == 200
        assert read_all(s) == b""  # the server closed it (keep-alive timeout), nothing more


def test_pipelined_and_byte_by_byte_requests_are_served(served: ServerProcess) -> None:
    with connect(served) as s:
        s.sendall(get("/health") + get("/health", b"Connection: close\r\n"))
        raw = read_all(s)
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    with connect(served) as s:
        for byte in padded_head(300):
            s.sendall(bytes([byte]))
        assert answer(read_all(s))[0] == 200


def post_head(length: int) -> bytes:
    return (
        b"POST /loyalty/rewards/vendors/V1/orders/status HTTP/1.1\r\nHost: t\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % length
    )


def test_a_body_that_stalls_is_answered_408_and_logged_as_the_client_gone(
    served: ServerProcess,
) -> None:
    before = len(wait_for_log(served, {"message": "request", "status": 499}, count=0))
    with connect(served) as s:
        s.sendall(post_head(100) + b'[{"mcOrderId": ')
        status, _, body = answer(read_all(s))
    assert status == 408
    assert only_error(body)["Description"] == "The request body stopped arriving."
    assert len(wait_for_log(served, {"message": "request", "status": 499}, before + 1)) > before
    assert not [r for r in log_lines(served) if r.get("level") == "error"]


def test_a_body_that_keeps_coming_slowly_is_not_cut(served: ServerProcess) -> None:
    body = b"[]"
    with connect(served) as s:
        s.sendall(post_head(len(body) + 40))
        for _ in range(5):  # pauses of a tenth of the body timeout
            s.sendall(b" " * 8)
            time.sleep(TIMEOUT_S / 10)
        s.sendall(body)
        status, _, answered = answer(read_all(s))
    # Unsigned, so refused, but only once the whole body was in: authentication's answer.
    assert status in (400, 401)
    assert only_error(answered)["Source"] == "Gateway"


def test_callers_that_leave_mid_body_are_logged_as_gone_not_as_errors(
    served: ServerProcess,
) -> None:
    before = len(wait_for_log(served, {"message": "request", "status": 499}, count=0))
    for _ in range(10):
        s = connect(served)
        s.sendall(post_head(1000) + b"[")
        s.close()
    assert len(wait_for_log(served, {"message": "request", "status": 499}, before + 10)) >= (
        before + 10
    )
    records = log_lines(served)
    assert not [r for r in records if r.get("message") == "unexpected error"]
    assert not [r for r in records if r.get("status") == 500]


def test_connections_past_the_cap_are_answered_503_and_the_service_recovers(
    served: ServerProcess,
) -> None:
    held = [connect(served) for _ in range(CAP)]
    try:
        for s in held:  # each is taken and kept alive: one request answered on each
            s.sendall(get("/health"))
            assert answer(read_one(s))[0] == 200
        with connect(served) as s:
            status, headers, body = answer(read_all(s))
        assert status == 503
        assert headers["retry-after"] == "1"
        error = only_error(body)
        assert (error["ReasonCode"], error["Recoverable"]) == ("SERVICE_UNAVAILABLE", True)
        with connect(served) as s:  # refused again, but logged only once per state change
            assert answer(read_all(s))[0] == 503
        warnings = wait_for_log(served, {"message": "connection limit reached"})
        assert len(warnings) == 1 and warnings[0]["level"] == "warning"
    finally:
        for s in held:
            s.close()
    assert wait_for_log(served, {"message": "connections are below the limit again"})
    assert health_is_served(served)


def test_many_slow_heads_at_once_are_all_closed_and_health_is_served_meanwhile(
    served: ServerProcess,
) -> None:
    slow = [connect(served) for _ in range(CAP // 2)]
    try:
        for s in slow:
            s.sendall(b"GET /health HTTP/1.1\r\nHost")
        assert health_is_served(served)
        for s in slow:
            assert answer(read_all(s))[0] == 408
    finally:
        for s in slow:
            s.close()
