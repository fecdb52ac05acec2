"""Fixtures on real parts: a migrated database (an SQLite file; PostgreSQL too when
TFS_TEST_POSTGRES_URL is set), a live uvicorn server on loopback, and clients that sign their
requests with Mastercard's own library (`oauth1`)."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauth1.oauth_ext import OAuth1RSA
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tfs.access import usecases as access
from tfs.access.credentials import fingerprint, new_consumer_key
from tfs.access.repository import Credential
from tfs.api.app import create_app
from tfs.api.server import PROTOCOL
from tfs.config import RelaySettings, Settings
from tfs.db.engine import make_engine, upgrade
from tfs.db.store import Store
from tfs.orders import usecases
from tfs.orders.placement import parse_placement

POSTGRES_ENV = "TFS_TEST_POSTGRES_URL"
BASE_PATH = "/loyalty/rewards"
# Test servers run no relay: the tests of tfs.notify start the relays they observe.
NO_RELAY = RelaySettings(enabled=False)


def pytest_configure(config: pytest.Config) -> None:
    """In CI (`.ci/run` sets TFS_TEST_REQUIRE_SERVICES) the real services are required."""
    if os.environ.get("TFS_TEST_REQUIRE_SERVICES") and not os.environ.get(POSTGRES_ENV):
        raise pytest.UsageError(f"TFS_TEST_REQUIRE_SERVICES is set but {POSTGRES_ENV} is not")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI nothing may be skipped for want of a service: any skip fails the run."""
    if not os.environ.get("TFS_TEST_REQUIRE_SERVICES"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"{len(skipped)} tests were skipped, but CI requires every service")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that touches the database runs on SQLite and, when given, on PostgreSQL."""
    if "backend" in metafunc.fixturenames:
        skip_pg = pytest.mark.skip(reason=f"{POSTGRES_ENV} is not set: no PostgreSQL to test")
        metafunc.parametrize(
            "backend",
            [
                "sqlite",
                pytest.param(
                    "postgresql",
                    marks=[pytest.mark.postgres]
                    + ([] if os.environ.get(POSTGRES_ENV) else [skip_pg]),
                ),
            ],
            scope="session",
        )


def _postgres_database() -> Iterator[str]:
    """A fresh database on the given server, dropped afterwards."""
    base = make_url(os.environ[POSTGRES_ENV])
    name = f"tfs_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "tfs.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    for url in _postgres_database():
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def store(database_url: str) -> Iterator[Store]:
    s = Store(make_engine(database_url))
    yield s
    s.engine.dispose()


class LiveServer:
    """The real app under uvicorn, on a free loopback port, in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            http=PROTOCOL,  # as `tfs serve` runs it: the connection limits apply
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.origin = f"http://127.0.0.1:{port}"
        self.url = self.origin + self.settings.base_path
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # No rate limit unless a test asks for one: tests send bursts on purpose.
    return Settings(database_url=database_url, base_path=BASE_PATH, rate_limit=None, relay=NO_RELAY)


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def start_server(database_url: str) -> Iterator[Callable[..., LiveServer]]:
    """Start another server on the same database with other settings."""
    started: list[LiveServer] = []

    def start(**changes: Any) -> LiveServer:
        base = Settings(
            database_url=database_url, base_path=BASE_PATH, rate_limit=None, relay=NO_RELAY
        )
        live = LiveServer(base.with_(**changes))
        started.append(live.__enter__())
        return live

    yield start
    for live in started:
        live.__exit__()


_KEYS: list[rsa.RSAPrivateKey] = []


def private_key(index: int = 0) -> rsa.RSAPrivateKey:
    """A few RSA keys per test run (making one costs ~50 ms)."""
    while len(_KEYS) <= index:
        _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEYS[index]


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Client:
    """Signs every request with Mastercard's `OAuth1RSA`, as a vendor's client would."""

    base_url: str
    consumer_key: str
    key: rsa.RSAPrivateKey
    vendor_id: str | None = None

    def __post_init__(self) -> None:
        self.session = requests.Session()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
    ) -> requests.Response:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        auth = OAuth1RSA(self.consumer_key, self.key) if sign else None
        return self.session.request(
            method,
            self.base_url + path,
            data=data,
            params=params,
            headers=all_headers,
            auth=auth,
            timeout=30,
        )

    def prepared(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.PreparedRequest:
        """One request signed once, to be sent more than once (as a replay would)."""
        request = requests.Request(
            method, self.base_url + path, params=params, json=json_body, headers=headers
        )
        signed: requests.PreparedRequest = OAuth1RSA(self.consumer_key, self.key)(
            self.session.prepare_request(request)
        )
        return signed

    def post_status(self, orders: Any, **kw: Any) -> requests.Response:
        return self.request("POST", f"/vendors/{self.vendor_id}/orders/status", body=orders, **kw)

    def get_status(self, **params: Any) -> requests.Response:
        return self.request("GET", f"/vendors/{self.vendor_id}/orders/status", params=params)

    def history(self, mc_order_id: str, limit: int = 1000) -> dict[str, list[dict[str, Any]]]:
        """Every history entry of the order, read page by page, by item `mcId` in the order
        received (the platform's route; a vendor client reads its own under /vendors/...)."""
        path = (
            f"/orders/{mc_order_id}/history"
            if self.vendor_id is None
            else f"/vendors/{self.vendor_id}/orders/{mc_order_id}/history"
        )
        entries: dict[str, list[dict[str, Any]]] = {}
        params: dict[str, Any] = {"limit": limit}
        while True:
            response = self.request("GET", path, params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            for entry in page["histories"]:
                entries.setdefault(entry.pop("mcId"), []).append(entry)
            if page["nextCursor"] is None:
                return entries
            params["after"] = page["nextCursor"]


def add_credential(
    store: Store, role: str, vendor_id: str | None, key: rsa.RSAPrivateKey, **extra: Any
) -> str:
    consumer_key = new_consumer_key()
    pem = public_pem(key)
    access.add_credential(
        store,
        Credential(
            consumer_key,
            role,
            vendor_id,
            pem,
            fingerprint(pem),
            extra.get("revoked", False),
            extra.get("is_demo", False),
            now(),
            frozenset(extra.get("programs", ())),
        ),
    )
    return consumer_key


@pytest.fixture
def make_vendor(store: Store, server: LiveServer) -> Callable[..., Client]:
    """A new vendor with its own credential, and a client signing as it."""

    def make(key_index: int = 0, url: str | None = None, **extra: Any) -> Client:
        vendor_id = f"vendor-{uuid.uuid4().hex[:12]}"
        access.add_vendor(store, vendor_id, None, now())
        key = private_key(key_index)
        consumer_key = add_credential(store, "vendor", vendor_id, key, **extra)
        return Client(url or server.url, consumer_key, key, vendor_id)

    return make


@pytest.fixture
def vendor(make_vendor: Callable[..., Client]) -> Client:
    return make_vendor()


@pytest.fixture
def platform(store: Store, server: LiveServer) -> Client:
    key = private_key(1)
    return Client(server.url, add_credential(store, "platform", None, key), key)


@pytest.fixture
def make_customer(store: Store, server: LiveServer) -> Callable[..., Client]:
    """A program customer's credential bound to these programs, and a client signing as it."""

    def make(*programs: int, url: str | None = None) -> Client:
        key = private_key(2)
        consumer_key = add_credential(store, "customer", None, key, programs=programs)
        return Client(url or server.url, consumer_key, key)

    return make


@dataclass
class Placed:
    mc_order_id: str
    order_id: str | None
    item_ids: list[str]  # the items' mcId


@pytest.fixture
def place(store: Store) -> Callable[..., Placed]:
    """Place an order for a vendor directly through the use case."""

    def do(vendor_id: str, items: int = 2, order_id: str | None = None) -> Placed:
        mc_order_id = str(uuid.uuid4())
        item_ids = [f"{mc_order_id[:8]}-{n}" for n in range(items)]
        placement, faults = parse_placement(
            {
                "mcOrderId": mc_order_id,
                "vendorId": vendor_id,
                "orderId": order_id,
                "items": [{"mcId": i, "description": "Gift card"} for i in item_ids],
            }
        )
        assert placement is not None, faults
        usecases.place_order(store, placement, now())
        return Placed(mc_order_id, order_id, item_ids)

    return do


def errors_of(response: requests.Response) -> list[dict[str, Any]]:
    """The `Errors.Error[]` of a Mastercard error envelope (asserting its shape)."""
    body = response.json()
    assert set(body) == {"Errors"}, body
    items = body["Errors"]["Error"]
    assert items, body
    for item in items:
        assert {"Source", "ReasonCode", "Description", "Recoverable"} <= set(item), item
    return list(items)


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
