"""Concurrent requests on the same orders through HTTP: no lost update, no duplicate history,
no illegal or repeated status step, whatever the interleaving."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from typing import Any

import requests

from conftest import Client, Placed
from tfs.orders.statuses import Status, can_move

NOTES_PER_THREAD = 20


def clone(client: Client) -> Client:
    """Another client with the same credential and its own connection (sessions aren't shared)."""
    return Client(client.base_url, client.consumer_key, client.key, client.vendor_id)


def run_together(*work: Callable[[], None]) -> None:
    """Start every callable at the same moment on its own thread; re-raise the first failure."""
    barrier = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(fn: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=10)
            fn()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    if failures:
        raise failures[0]


def applied(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    (order,) = response.json()
    assert "errorCode" not in order, order
    return dict(order)


def notes(item: dict[str, Any], event_type: str = "note") -> list[str]:
    return [h["note"] for h in item["histories"] if h["eventType"] == event_type]


def test_concurrent_updates_of_one_order_lose_nothing_and_count_every_revision(
    vendor: Client, place: Callable[..., Placed], platform: Client
) -> None:
    placed = place(vendor.vendor_id, items=2)
    mc = placed.mc_order_id
    revision = platform.request("GET", f"/orders/{mc}").json()["revision"]

    def writer(prefix: str, item: int, with_tracking: bool) -> Callable[[], None]:
        client = clone(vendor)

        def work() -> None:
            last_revision = revision
            for n in range(1, NOTES_PER_THREAD + 1):
                line: dict[str, Any] = {
                    "mcId": placed.item_ids[item],
                    "histories": [{"eventType": "note", "note": f"{prefix}{n}"}],
                }
                if with_tracking:
                    line["trackingNumber"] = f"T{prefix}{n}"
                order = applied(client.post_status([{"mcOrderId": mc, "orderItems": [line]}]))
                # Each answer is the order as stored after this request, with exactly what
                # this request added, whatever the others did meanwhile.
                assert notes(order["orderItems"][item]) == [f"{prefix}{n}"]
                assert order["revision"] > last_revision
                last_revision = order["revision"]

        return work

    run_together(writer("A", 0, False), writer("B", 0, True), writer("C", 1, False))

    stored = platform.request("GET", f"/orders/{mc}").json()
    history = platform.history(mc, limit=7)  # several pages
    first, second = ({"histories": history[mc_id]} for mc_id in placed.item_ids)
    expected_first = {f"{p}{n}" for p in "AB" for n in range(1, NOTES_PER_THREAD + 1)}
    assert len(notes(first)) == len(expected_first) == 2 * NOTES_PER_THREAD
    assert set(notes(first)) == expected_first  # no lost update, no duplicate
    assert notes(second) == [f"C{n}" for n in range(1, NOTES_PER_THREAD + 1)]
    assert stored["orderItems"][0]["trackingNumber"] == f"TB{NOTES_PER_THREAD}"
    assert notes(first, "trackingUpdate") == [
        f"Tracking number TB{n}" for n in range(1, NOTES_PER_THREAD + 1)
    ]
    assert stored["revision"] == revision + 3 * NOTES_PER_THREAD


def status_steps(item: dict[str, Any]) -> list[tuple[Status, Status]]:
    steps = []
    for note in notes(item, "statusChange"):
        before, after = note.split(" -> ")
        steps.append((Status(before), Status(after)))
    return steps


def test_racing_processing_and_shipped_never_store_a_step_twice_or_an_illegal_move(
    vendor: Client, place: Callable[..., Placed], platform: Client
) -> None:
    orders = [place(vendor.vendor_id, items=2).mc_order_id for _ in range(8)]
    answers: list[tuple[str, dict[str, Any]]] = []
    lock = threading.Lock()

    def sender(seed: int, target: str) -> Callable[[], None]:
        client = clone(vendor)
        sequence = [*orders, *orders]
        random.Random(seed).shuffle(sequence)

        def work() -> None:
            for mc in sequence:
                response = client.post_status([{"mcOrderId": mc, "status": target}])
                assert response.status_code == 200, response.text
                (order,) = response.json()
                with lock:
                    answers.append((target, order))

        return work

    run_together(
        sender(1, "Processing"), sender(2, "Shipped"), sender(3, "Processing"), sender(4, "Shipped")
    )

    assert len(answers) == 4 * 2 * len(orders)
    for target, order in answers:
        if "errorCode" in order:
            # Only Processing can come too late, after Shipped; it is refused, not stored.
            assert target == "Processing" and order["errorCode"] == 1004, order
        else:
            assert order["status"] == target, order
    for mc in orders:
        stored = platform.request("GET", f"/orders/{mc}").json()
        assert stored["status"] == "Shipped"  # every order was sent Shipped; nothing undoes it
        chains = [status_steps(item) for item in stored["orderItems"]]
        assert chains[0] == chains[1]  # the items moved together, request by request
        chain = chains[0]
        assert chain in (
            [(Status.PENDING, Status.SHIPPED)],
            [(Status.PENDING, Status.PROCESSING), (Status.PROCESSING, Status.SHIPPED)],
        ), chain
        for before, after in chain:
            assert before != after and can_move(before, after)
        assert [item["status"] for item in stored["orderItems"]] == ["Shipped", "Shipped"]
        assert stored["revision"] == 1 + len(chain)


def test_concurrent_identical_placements_create_one_order_and_fail_none(
    vendor: Client, platform: Client
) -> None:
    mc = str(uuid.uuid4())
    body = {
        "mcOrderId": mc,
        "vendorId": vendor.vendor_id,
        "items": [{"mcId": f"{mc[:8]}-0", "description": "Gift card"}],
    }
    statuses: list[int] = []

    def placer() -> Callable[[], None]:
        client = clone(platform)

        def work() -> None:
            statuses.append(client.request("POST", "/orders", body=body).status_code)

        return work

    run_together(*(placer() for _ in range(6)))
    assert sorted(statuses) == [200] * 5 + [201]
    stored = platform.request("GET", f"/orders/{mc}").json()
    assert stored["revision"] == 1 and len(stored["orderItems"]) == 1


def post_at_once(
    vendor: Client, body: Any, headers: dict[str, str], senders: int
) -> list[requests.Response]:
    responses: list[requests.Response] = []

    def sender() -> Callable[[], None]:
        client = clone(vendor)
        return lambda: responses.append(client.post_status(body, headers=headers))

    run_together(*(sender() for _ in range(senders)))
    return responses


def test_same_idempotency_key_sent_at_once_applies_once_and_never_fails(
    vendor: Client, place: Callable[..., Placed], platform: Client
) -> None:
    for _ in range(5):
        placed = place(vendor.vendor_id, items=1)
        mc = placed.mc_order_id
        body = [
            {
                "mcOrderId": mc,
                "orderItems": [
                    {
                        "mcId": placed.item_ids[0],
                        "histories": [{"eventType": "note", "note": "once"}],
                    }
                ],
            }
        ]
        responses = post_at_once(vendor, body, {"Idempotency-Key": str(uuid.uuid4())}, 4)
        answered = [r for r in responses if r.status_code == 200]
        assert answered, [r.text for r in responses]
        for r in responses:
            if r.status_code == 409:
                assert r.json()["Errors"]["Error"][0]["ReasonCode"] == (
                    "IDEMPOTENCY_KEY_IN_PROGRESS"
                )
            else:
                assert r.status_code == 200, r.text
                assert r.json() == answered[0].json()
        assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in answered) == 1
        stored = platform.request("GET", f"/orders/{mc}").json()
        assert stored["revision"] == 2
        assert notes(stored["orderItems"][0]) == ["once"]
