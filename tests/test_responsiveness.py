"""The service stays responsive while large batches are written: other requests are answered
while they run (no blocking work of theirs on the event loop)."""

from __future__ import annotations

import threading
import time
import uuid

import requests

from conftest import Client, LiveServer, now
from tfs.db.store import Store
from tfs.orders import usecases
from tfs.orders.placement import parse_placements

SENDERS, BATCH = 3, 500


def test_health_is_answered_while_large_batches_are_written(
    store: Store, server: LiveServer, vendor: Client
) -> None:
    batches = []
    for _ in range(SENDERS):
        ids = [str(uuid.uuid4()) for _ in range(BATCH)]
        placements = [
            {"mcOrderId": i, "vendorId": vendor.vendor_id, "items": [{"mcId": "a"}]} for i in ids
        ]
        usecases.place_orders(store, parse_placements(placements), now())
        batches.append(ids)
    in_flight = threading.Semaphore(0)
    running = [0]
    lock = threading.Lock()
    failures: list[str] = []

    def send(ids: list[str]) -> None:
        client = Client(vendor.base_url, vendor.consumer_key, vendor.key, vendor.vendor_id)
        for status in ("Processing", "Shipped", "Delivered"):
            with lock:
                running[0] += 1
            in_flight.release()
            response = client.post_status([{"mcOrderId": i, "status": status} for i in ids])
            with lock:
                running[0] -= 1
            if response.status_code != 200 or '"FAILED"' in response.text:
                failures.append(response.text[:200])

    threads = [threading.Thread(target=send, args=(ids,)) for ids in batches]
    for t in threads:
        t.start()
    in_flight.acquire(timeout=30)
    answered_while_writing = 0
    with requests.Session() as session:
        while any(t.is_alive() for t in threads):
            response = session.get(f"{server.origin}/health", timeout=30)
            assert response.status_code == 200
            with lock:
                answered_while_writing += running[0] > 0
            time.sleep(0.005)
    for t in threads:
        t.join()
    assert failures == []
    assert answered_while_writing >= 5
    listed = vendor.get_status(mcOrderId=batches[0][:3]).json()["orders"]
    assert {o["status"] for o in listed} == {"Delivered"}
