"""A full disk under SQLite: writes answer 503 (Recoverable) with a clear Description, /ready
says 503 while writes fail, nothing acknowledged is lost, and the service recovers by itself
once there is room again. The disk is a small tmpfs the test mounts (root only): skipped with
a reason elsewhere, required in CI."""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conftest import BASE_PATH, NO_RELAY, Client, LiveServer, add_credential, errors_of, now
from conftest import private_key as key_of
from tfs.access import usecases as access
from tfs.config import Settings
from tfs.db.engine import make_engine, upgrade
from tfs.db.store import DISK_FULL, Store
from tfs.orders import usecases
from tfs.orders.placement import parse_placement
from tfs.orders.repository import Orders

DISK_BYTES = 4 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write until the disk is full."""
    with path.open("wb") as f:
        chunk = b"\0" * 65536
        try:
            while True:
                f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_full_disk_answers_503_loses_nothing_and_recovers(small_disk: Path) -> None:
    url = f"sqlite:///{small_disk / 'tfs.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    vendor_id = f"disk-{uuid.uuid4().hex[:8]}"
    access.add_vendor(store, vendor_id, None, now())
    key = key_of(0)
    consumer_key = add_credential(store, "vendor", vendor_id, key)
    orders = []
    for n in range(40):
        placement, _ = parse_placement(
            {
                "mcOrderId": f"{vendor_id}-{n}",
                "vendorId": vendor_id,
                "items": [{"mcId": f"{vendor_id}-{n}-1"}],
            }
        )
        assert placement is not None
        usecases.place_order(store, placement, now())
        orders.append(placement.mc_order_id)
    settings = Settings(database_url=url, base_path=BASE_PATH, rate_limit=None, relay=NO_RELAY)
    with LiveServer(settings) as server:
        client = Client(server.url, consumer_key, key, vendor_id)
        filler = small_disk / "filler"
        _fill(filler)
        acknowledged: list[tuple[str, str]] = []
        refused = None
        for n, mc_order_id in enumerate(orders):
            # Notes large enough that the write-ahead log must grow.
            entries = [
                {
                    "eventType": "note",
                    "eventDate": "2026-01-01T00:00:00Z",
                    "note": (f"{n}.{k} " * 1000)[:3900],
                }
                for k in range(40)
            ]
            body = [
                {
                    "mcOrderId": mc_order_id,
                    "orderItems": [
                        {"mcId": f"{mc_order_id}-1", "status": "Processing", "histories": entries}
                    ],
                }
            ]
            response = client.post_status(body)
            assert response.status_code in (200, 503), response.text
            if response.status_code == 200:
                acknowledged.append((mc_order_id, "Processing"))
                continue
            refused = response
            break
        assert refused is not None, "the disk never filled"
        (error,) = errors_of(refused)
        assert error["ReasonCode"] == "SERVICE_UNAVAILABLE" and error["Recoverable"] is True
        assert error["Description"] == DISK_FULL
        assert "Retry-After" in refused.headers
        assert requests.get(server.origin + "/ready", timeout=10).status_code == 503
        assert requests.get(server.origin + "/health", timeout=10).status_code == 200
        filler.unlink()  # room again: the service recovers by itself
        assert requests.get(server.origin + "/ready", timeout=10).status_code == 200
        again = client.post_status([{"mcOrderId": orders[-1], "status": "Processing"}])
        assert again.status_code == 200
        acknowledged.append((orders[-1], "Processing"))
    with store.transaction() as tx:
        for mc_order_id, status in acknowledged:
            state = Orders(tx).state(mc_order_id)
            assert state is not None and state.status.value == status
    store.engine.dispose()
