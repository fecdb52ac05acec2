"""`kill -9` during writes: every acknowledged update survives, nothing is half applied, and the
service comes back on the same database.

`tfs serve` runs as a real process; client threads send signed batches as fast as they can and
the server is killed with SIGKILL once enough of them have been acknowledged, while others are
still in flight. Then the database is read directly.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import BASE_PATH, Client, _postgres_database, add_credential, now, private_key
from tfs.access import usecases as access
from tfs.db.engine import make_engine, upgrade
from tfs.db.store import Store
from tfs.orders import usecases
from tfs.orders.placement import parse_placement
from tfs.orders.repository import OrderRecord, Orders

pytestmark = pytest.mark.slow

VENDOR = "durable-vendor"
ORDERS = 60
ORDERS_PER_BATCH = 3
ITEMS_PER_ORDER = 2
THREADS = 4
STEPS = ["Pending", "Processing", "Shipped", "Delivered"]  # step k sets STEPS[k]
KILL_AFTER = 30  # acknowledged requests, of ORDERS / ORDERS_PER_BATCH * 3 = 60 in all


def tfs_executable() -> str:
    script = Path(sys.executable).parent / "tfs"
    found = str(script) if script.exists() else shutil.which("tfs")
    assert found, "the `tfs` console script is not installed"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`tfs serve` in its own process, on a free loopback port."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.origin = ""

    def start(self) -> ServerProcess:
        env = {
            **os.environ,
            "TFS_DATABASE_URL": self.database_url,
            "TFS_BASE_PATH": BASE_PATH,
            "TFS_LOG_LEVEL": "WARNING",
        }
        for name in ("TFS_ENV", "TFS_PUBLIC_URL"):
            env.pop(name, None)
        for _attempt in range(3):  # the free port may be taken before the server binds it
            port = free_port()
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    [tfs_executable(), "serve", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.origin = f"http://127.0.0.1:{port}"
            if self._wait_until_healthy():
                return self
        raise RuntimeError(f"tfs serve did not start:\n{self.log.read_text()}")

    def _wait_until_healthy(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if requests.get(self.origin + "/health", timeout=1).status_code == 200:
                    return True
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        return False

    @property
    def url(self) -> str:
        return self.origin + BASE_PATH

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=10)


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own (this test kills the server using it)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'durable.db'}"
        upgrade(url)
        yield url
        return
    for url in _postgres_database():
        upgrade(url)
        yield url


@pytest.fixture
def servers(fresh_database_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


@dataclass
class Batch:
    mc_order_ids: list[str]
    attempted: int = 0  # the last step sent (answered or not)
    acknowledged: int = 0  # the last step answered 200
    responses: dict[int, Any] = field(default_factory=dict)


def item_mc_id(mc_order_id: str, n: int) -> str:
    return f"{mc_order_id[:8]}-{n}"


def tracking(mc_order_id: str, n: int, step: int) -> str:
    return f"{mc_order_id[:8]}{n}T{step}"


def note(mc_order_id: str, n: int, step: int) -> str:
    return f"{mc_order_id} item {n} step {step}: {STEPS[step]}"


def step_body(batch: Batch, step: int) -> list[dict[str, Any]]:
    """Every item of every order of the batch moves to STEPS[step], with tracking and a note."""
    return [
        {
            "mcOrderId": mc,
            "orderId": f"ext-{mc[:8]}",
            "orderItems": [
                {
                    "mcId": item_mc_id(mc, n),
                    "status": STEPS[step],
                    "trackingNumber": tracking(mc, n, step),
                    "histories": [
                        {
                            "eventType": "note",
                            "eventDate": f"2024-01-0{step}T12:00:00Z",
                            "note": note(mc, n, step),
                        }
                    ],
                }
                for n in range(ITEMS_PER_ORDER)
            ],
        }
        for mc in batch.mc_order_ids
    ]


def onboard(store: Store) -> tuple[str, list[Batch]]:
    access.add_vendor(store, VENDOR, None, now())
    consumer_key = add_credential(store, "vendor", VENDOR, private_key(0))
    batches: list[Batch] = []
    for _ in range(ORDERS // ORDERS_PER_BATCH):
        ids = [str(uuid.uuid4()) for _ in range(ORDERS_PER_BATCH)]
        for mc in ids:
            placement, faults = parse_placement(
                {
                    "mcOrderId": mc,
                    "vendorId": VENDOR,
                    "items": [{"mcId": item_mc_id(mc, n)} for n in range(ITEMS_PER_ORDER)],
                }
            )
            assert placement is not None, faults
            usecases.place_order(store, placement, now())
        batches.append(Batch(ids))
    return consumer_key, batches


class Load:
    """Client threads sending every batch through its steps; SIGKILL after KILL_AFTER acks."""

    def __init__(self, server: ServerProcess, consumer_key: str, batches: list[Batch]) -> None:
        self.server = server
        self.consumer_key = consumer_key
        self.batches = batches
        self.lock = threading.Lock()
        self.acknowledged = 0
        self.in_flight = 0
        self.in_flight_at_kill: int | None = None
        self.connection_errors = 0
        self.unexpected: list[tuple[int, str]] = []

    def run(self) -> None:
        threads = [threading.Thread(target=self._work, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)

    def _work(self, index: int) -> None:
        client = Client(self.server.url, self.consumer_key, private_key(0), VENDOR)
        for batch in self.batches[index::THREADS]:
            for step in (1, 2, 3):
                batch.attempted = step
                with self.lock:
                    self.in_flight += 1
                try:
                    response = client.post_status(step_body(batch, step))
                except requests.RequestException:  # no answer: the server is gone
                    with self.lock:
                        self.in_flight -= 1
                        self.connection_errors += 1
                    return
                with self.lock:
                    self.in_flight -= 1
                    if response.status_code != 200:
                        self.unexpected.append((response.status_code, response.text))
                        return
                    batch.acknowledged = step
                    batch.responses[step] = response.json()
                    self.acknowledged += 1
                    if self.acknowledged == KILL_AFTER:
                        self.in_flight_at_kill = self.in_flight
                        self.server.kill()


def check_order(record: OrderRecord, step: int) -> None:
    """The order is exactly as the request of `step` left it, with the history of steps 1..step."""
    state = record.state
    mc = state.mc_order_id
    assert state.status == STEPS[step], mc
    assert state.revision == 1 + step, mc
    assert state.order_id == (f"ext-{mc[:8]}" if step else None), mc
    assert [i.mc_id for i in state.items] == [item_mc_id(mc, n) for n in range(ITEMS_PER_ORDER)]
    for n, item in enumerate(state.items):
        assert item.status == STEPS[step], (mc, n)
        assert item.tracking_number == (tracking(mc, n, step) if step else None), (mc, n)
        histories = record.histories.get(item.pk, [])
        by_type: dict[str | None, list[str | None]] = {}
        for h in histories:
            by_type.setdefault(h.event_type, []).append(h.note)
        assert by_type.get("note", []) == [note(mc, n, s) for s in range(1, step + 1)], (mc, n)
        assert by_type.get("statusChange", []) == [
            f"{STEPS[s - 1]} -> {STEPS[s]}" for s in range(1, step + 1)
        ], (mc, n)
        assert by_type.get("trackingUpdate", []) == [
            f"Tracking number {tracking(mc, n, s)}" for s in range(1, step + 1)
        ], (mc, n)
        assert set(by_type) <= {"note", "statusChange", "trackingUpdate"}
        assert not record.errors.get(item.pk)


def check_acknowledged_response(batch: Batch, step: int) -> None:
    answered = batch.responses[step]
    assert [o["mcOrderId"] for o in answered] == batch.mc_order_ids
    for order in answered:
        assert order["status"] == STEPS[step] and "errorCode" not in order
        for n, item in enumerate(order["orderItems"]):
            assert item["status"] == STEPS[step]
            assert item["trackingNumber"] == tracking(order["mcOrderId"], n, step)
            assert note(order["mcOrderId"], n, step) in [h.get("note") for h in item["histories"]]


def test_kill_9_loses_no_acknowledged_update_and_applies_no_batch_in_part(
    fresh_database_url: str, servers: list[ServerProcess], tmp_path: Path
) -> None:
    store = Store(make_engine(fresh_database_url))
    try:
        consumer_key, batches = onboard(store)
        server = ServerProcess(fresh_database_url, tmp_path / "server.log").start()
        servers.append(server)

        load = Load(server, consumer_key, batches)
        load.run()
        assert server.process is not None
        assert server.process.wait(timeout=10) == -signal.SIGKILL
        assert not load.unexpected, load.unexpected
        assert load.acknowledged >= KILL_AFTER
        assert load.in_flight_at_kill is not None
        assert load.connection_errors >= 1  # requests were still coming when it died
        print(
            f"\n[{fresh_database_url.split(':')[0]}] acknowledged {load.acknowledged} requests "
            f"before SIGKILL; {load.in_flight_at_kill} in flight at the kill; "
            f"{load.connection_errors} connection errors after it"
        )

        records: dict[str, OrderRecord] = {}
        with store.transaction(readonly=True) as uow:
            for mc in (mc for b in batches for mc in b.mc_order_ids):
                record = Orders(uow).get(mc, 1000)
                assert record is not None, mc
                records[mc] = record
        applied_beyond_ack = 0
        for batch in batches:
            steps = {STEPS.index(records[mc].state.status) for mc in batch.mc_order_ids}
            # One request, one transaction: the orders of a batch are all at the same step.
            assert len(steps) == 1, (batch.mc_order_ids, steps)
            (step,) = steps
            # Every acknowledged step is there; at most the one unanswered request beyond it.
            assert batch.acknowledged <= step <= batch.attempted, (batch, step)
            assert step <= batch.acknowledged + 1
            applied_beyond_ack += step - batch.acknowledged
            for mc in batch.mc_order_ids:
                check_order(records[mc], step)
            for acked in range(1, batch.acknowledged + 1):
                check_acknowledged_response(batch, acked)
        print(f"committed but unanswered when killed: {applied_beyond_ack}")
    finally:
        store.engine.dispose()

    # The service comes back on the same database and carries on.
    restarted = ServerProcess(fresh_database_url, tmp_path / "server.log").start()
    servers.append(restarted)
    client = Client(restarted.url, consumer_key, private_key(0), VENDOR)
    mc = batches[0].mc_order_ids[0]
    response = client.get_status(mcOrderId=mc)
    assert response.status_code == 200, response.text
    (before,) = response.json()["orders"]
    assert before["status"] == records[mc].state.status
    update = [
        {
            "mcOrderId": mc,
            "orderItems": [
                {
                    "mcId": item_mc_id(mc, 0),
                    "trackingNumber": "AFTER-RESTART",
                    "histories": [{"eventType": "note", "note": "after the restart"}],
                }
            ],
        }
    ]
    response = client.post_status(update)
    assert response.status_code == 200, response.text
    (after,) = client.get_status(mcOrderId=mc).json()["orders"]
    line = after["orderItems"][0]
    assert line["trackingNumber"] == "AFTER-RESTART"
    assert "after the restart" in [h.get("note") for h in line["histories"]]
