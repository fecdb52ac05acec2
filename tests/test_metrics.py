"""GET /metrics: scraped and parsed after known traffic, on a live server (and on `tfs serve
--workers 2`, whose workers' counts are added up), with a real relay for the webhook gauges."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from oauth1.oauth_ext import OAuth1RSA
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from conftest import Client, LiveServer, Placed, add_credential, now, private_key
from processes import ServerProcess
from relays import FAST, RelayThread, subscription
from tfs.access import usecases as access
from tfs.db.engine import make_engine, upgrade
from tfs.db.store import Store
from tfs.notify import usecases as relay_usecases
from webhook_receiver import Receiver, wait_for

BASE = "/loyalty/rewards"
STATUS_ROUTE = BASE + "/vendors/{vendor_id}/orders/status"
ORDERS_ROUTE = BASE + "/orders"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def scrape(origin: str) -> Samples:
    # A new connection each time: with several workers, any of them may answer.
    response = requests.get(origin + "/metrics", headers={"Connection": "close"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def requests_of(samples: Samples, route: str, method: str, status: int) -> float:
    return value(samples, "tfs_http_requests_total", route=route, method=method, status=str(status))


def new_order(vendor_id: str) -> dict[str, Any]:
    return {"mcOrderId": str(uuid.uuid4()), "vendorId": vendor_id, "items": [{"mcId": "i1"}]}


def test_counts_after_known_traffic_match_what_was_sent(
    server: LiveServer, vendor: Client, platform: Client, place: Callable[..., Placed]
) -> None:
    before = scrape(server.origin)

    # Placements: two new through the API (one repeated: not placed again), one by the use case.
    first, second = new_order(vendor.vendor_id), new_order(vendor.vendor_id)
    assert platform.request("POST", "/orders", body=first).status_code == 201
    assert platform.request("POST", "/orders", body=first).status_code == 200
    assert platform.request("POST", "/orders", body=second).status_code == 201
    third = place(vendor.vendor_id, items=1)

    # Status updates: applied ×2, 1001, 1003, 1005; then the same batch again: unchanged ×2
    # (and the same failures); then one with an Idempotency-Key, and its replay (not counted).
    batch = [
        {"mcOrderId": first["mcOrderId"], "status": "Shipped"},
        {"mcOrderId": second["mcOrderId"], "status": "Processing"},
        {"mcOrderId": "no-such-order", "status": "Shipped"},
        {"mcOrderId": third.mc_order_id, "status": "Teleported"},
        {"mcOrderId": first["mcOrderId"], "status": "Delivered"},
    ]
    for _ in range(2):
        answer = vendor.post_status(batch)
        assert answer.status_code == 200, answer.text
    assert [o.get("errorCode") for o in answer.json()] == [None, None, 1001, 1003, 1005]
    keyed = [{"mcOrderId": third.mc_order_id, "status": "Processing"}]
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    assert vendor.post_status(keyed, headers=headers).status_code == 200
    replay = vendor.post_status(keyed, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true"

    # Reads, a refusal and a path that matches no route.
    assert vendor.get_status().status_code == 200
    refused = vendor.post_status(batch, sign=False).status_code  # no signature
    assert refused in (400, 401)
    assert vendor.request("GET", f"/nowhere/{vendor.vendor_id}").status_code == 404

    after = scrape(server.origin)
    assert (
        requests_of(after, STATUS_ROUTE, "POST", 200)
        - requests_of(before, STATUS_ROUTE, "POST", 200)
        == 4
    )
    assert (
        requests_of(after, STATUS_ROUTE, "POST", refused)
        - requests_of(before, STATUS_ROUTE, "POST", refused)
        == 1
    )
    assert (
        requests_of(after, STATUS_ROUTE, "GET", 200) - requests_of(before, STATUS_ROUTE, "GET", 200)
        == 1
    )
    assert (
        requests_of(after, ORDERS_ROUTE, "POST", 201)
        - requests_of(before, ORDERS_ROUTE, "POST", 201)
        == 2
    )
    assert (
        requests_of(after, ORDERS_ROUTE, "POST", 200)
        - requests_of(before, ORDERS_ROUTE, "POST", 200)
        == 1
    )
    assert (
        requests_of(after, "unmatched", "GET", 404) - requests_of(before, "unmatched", "GET", 404)
        == 1
    )
    # Never a raw path: no label holds the vendor's id or an order's.
    routes = {dict(labels).get("route", "") for _name, labels in after}
    assert not any(vendor.vendor_id in r or first["mcOrderId"] in r for r in routes)
    assert delta(before, after, "tfs_http_request_duration_seconds_count", route=STATUS_ROUTE) == 6

    assert delta(before, after, "tfs_orders_placed_total") == 3
    results = {r: delta(before, after, "tfs_order_updates_total", result=r) for r in RESULTS}
    assert results == {
        "applied": 3,  # 2 in the first batch, the keyed one (its replay not again)
        "unchanged": 2,
        "1001": 2,
        "1002": 0,
        "1003": 2,
        "1004": 0,
        "1005": 2,
    }
    assert "tfs_db_pool_in_use" in {name for name, _ in after}


RESULTS = ("applied", "unchanged", "1001", "1002", "1003", "1004", "1005")


def test_metrics_off_is_404(start_server: Callable[..., LiveServer]) -> None:
    live = start_server(metrics=False)
    assert requests.get(live.origin + "/metrics", timeout=10).status_code == 404
    assert requests.get(live.origin + "/health", timeout=10).status_code == 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_outbox_webhook_backlog_dead_letters_and_attempts_with_a_real_relay(
    store: Store,
    server: LiveServer,
    vendor: Client,
    place: Callable[..., Placed],
    receiver: Receiver,
) -> None:
    settings = dataclasses.replace(FAST, retry_hours=0.3 / 3600)  # dead after a 0.3 s window
    with subscription(store, receiver.url, vendor.vendor_id) as (subscription_id, secret):
        sub = str(subscription_id)
        receiver.secret = secret
        relay_usecases.set_subscription_enabled(store, subscription_id, False)  # a backlog stays
        with RelayThread(store, settings):  # nothing of earlier tests left to relay
            wait_for(lambda: value(scrape(server.origin), "tfs_events_pending") == 0, "drained")
        before = scrape(server.origin)
        assert value(before, "tfs_relay_lag_seconds") == 0
        assert ("tfs_webhook_backlog", (("subscription", sub),)) in before

        placed = [place(vendor.vendor_id, items=1) for _ in range(3)]
        answer = vendor.post_status(
            [{"mcOrderId": p.mc_order_id, "status": "Shipped"} for p in placed]
        )
        assert answer.status_code == 200
        waiting = scrape(server.origin)  # no relay runs: 6 events wait, the oldest for a while
        assert delta(before, waiting, "tfs_events_pending") == 6
        assert value(waiting, "tfs_relay_lag_seconds") > 0

        with RelayThread(store, settings):  # fanned out; the subscription is disabled
            wait_for(
                lambda: value(scrape(server.origin), "tfs_webhook_backlog", subscription=sub) == 6,
                "6 deliveries waiting",
            )
        fanned = scrape(server.origin)
        assert value(fanned, "tfs_events_pending") == 0
        assert value(fanned, "tfs_relay_lag_seconds") == 0
        assert value(fanned, "tfs_webhook_dead_letters", subscription=sub) == 0

        receiver.mode = "fail"
        relay_usecases.set_subscription_enabled(store, subscription_id, True)
        with RelayThread(store, settings):
            wait_for(
                lambda: (
                    value(scrape(server.origin), "tfs_webhook_dead_letters", subscription=sub) == 6
                ),
                "6 dead letters",
            )
        after = scrape(server.origin)
        assert value(after, "tfs_webhook_backlog", subscription=sub) == 0
        attempts = {
            o: delta(before, after, "tfs_webhook_attempts_total", outcome=o)
            for o in ("delivered", "failed", "dead_lettered", "not_recorded")
        }
        assert attempts["dead_lettered"] == 6
        assert attempts["delivered"] == attempts["not_recorded"] == 0
        assert attempts["failed"] + attempts["dead_lettered"] == len(receiver.all())


def test_two_workers_counts_are_added_up_and_gauges_are_not(tmp_path: Path) -> None:
    """`tfs serve --workers 2`: each worker keeps its counts in the private folder tfs serve made
    (under TMPDIR); whichever answers the scrape adds them all up, and reads the database gauges
    once itself."""
    url = f"sqlite:///{tmp_path / 'tfs.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    vendor_id = f"vendor-{uuid.uuid4().hex[:8]}"
    access.add_vendor(store, vendor_id, None, now())
    vendor_key = add_credential(store, "vendor", vendor_id, private_key(0))
    platform_key = add_credential(store, "platform", None, private_key(1))
    env = {
        "TFS_DATABASE_URL": url,
        "TFS_RATE_LIMIT": "off",
        "TFS_RELAY": "off",  # the outbox stays as written: a known number of events pending
        "TMPDIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "not-this-one"),  # tfs serve picks its own
    }

    def send(server: ServerProcess, key: str, key_index: int, path: str, body: Any) -> Any:
        response = requests.post(
            server.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Connection": "close"},
            auth=OAuth1RSA(key, private_key(key_index)),
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    with ServerProcess(env, workers=2, log=tmp_path / "serve.log") as server:
        (folder,) = tmp_path.glob("tfs-metrics-*")
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        sent = {"placed": 0, "updates": 0, "applied": 0, "1001": 0}
        # A new connection per request: the workers take them as they come. Go on until both
        # have answered status updates (bounded), counting what was sent.
        for _ in range(60):
            order = new_order(vendor_id)
            send(server, platform_key, 1, "/orders", order)
            batch = [
                {"mcOrderId": order["mcOrderId"], "status": "Shipped"},
                {"mcOrderId": "no-such-order", "status": "Shipped"},
            ]
            send(server, vendor_key, 0, f"/vendors/{vendor_id}/orders/status", batch)
            sent["placed"] += 1
            sent["updates"] += 1
            sent["applied"] += 1
            sent["1001"] += 1
            per_worker = updates_per_worker(folder)
            if sent["updates"] >= 4 and len([n for n in per_worker.values() if n]) == 2:
                break
        # A request is counted as its answer finishes, so the last one may reach its worker's
        # file just after the client has read the answer: wait for it (bounded), then assert.
        deadline = time.monotonic() + 10
        per_worker = updates_per_worker(folder)
        while sum(per_worker.values()) < sent["updates"] and time.monotonic() < deadline:
            time.sleep(0.05)
            per_worker = updates_per_worker(folder)
        assert len([n for n in per_worker.values() if n]) == 2, per_worker
        assert sum(per_worker.values()) == sent["updates"]

        for _ in range(4):  # whichever worker answers: the same sums, the gauges once
            samples = scrape(server.origin)
            assert requests_of(samples, STATUS_ROUTE, "POST", 200) == sent["updates"]
            assert requests_of(samples, ORDERS_ROUTE, "POST", 201) == sent["placed"]
            assert value(samples, "tfs_orders_placed_total") == sent["placed"]
            assert value(samples, "tfs_order_updates_total", result="applied") == sent["applied"]
            assert value(samples, "tfs_order_updates_total", result="1001") == sent["1001"]
            assert (
                value(samples, "tfs_http_request_duration_seconds_count", route=STATUS_ROUTE)
                == sent["updates"]
            )
            # One event per placement and one per applied update; no relay runs.
            assert value(samples, "tfs_events_pending") == sent["placed"] + sent["applied"]
            assert value(samples, "tfs_db_pool_in_use") >= 0
    assert not folder.exists()  # removed when tfs serve stops
    assert not (tmp_path / "not-this-one").exists()
    store.engine.dispose()


def updates_per_worker(folder: Path) -> dict[str, float]:
    """POST status requests answered 200 by each worker, from its own counter file."""
    counts: dict[str, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = path.stem.rsplit("_", 1)[1]
        counts[pid] = 0.0
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):  # type: ignore[no-untyped-call]
            for s in metric.samples:
                labels = s.labels
                if (
                    s.name == "tfs_http_requests_total"
                    and labels.get("route") == STATUS_ROUTE
                    and labels.get("method") == "POST"
                    and labels.get("status") == "200"
                ):
                    counts[pid] += s.value
    return counts


def test_the_metrics_folder_of_tfs_serve_is_private_and_fresh() -> None:
    """The same rule whatever the environment held: tfs serve ignores an inherited folder."""
    from tfs.cli.serve import _metrics_dir

    saved = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    try:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = "/somewhere/else"
        assert _metrics_dir(1) is None and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
        path = _metrics_dir(2)
        assert path is not None and os.environ["PROMETHEUS_MULTIPROC_DIR"] == path
        assert os.listdir(path) == [] and os.stat(path).st_mode & 0o777 == 0o700
        os.rmdir(path)
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if saved is not None:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved


def test_the_grafana_dashboard_uses_only_metrics_the_service_exposes(server: LiveServer) -> None:
    dashboard = json.loads((Path(__file__).parents[1] / "deploy" / "grafana-tfs.json").read_text())
    exprs = [
        t["expr"] for p in dashboard["panels"] if p["type"] != "row" for t in p.get("targets", [])
    ]
    used = {name for e in exprs for name in re.findall(r"\btfs_[a-z_]+", e)}
    exposed = {name for name, _ in scrape(server.origin)}
    # Families with no sample yet (no subscription, no request of a route) still say so.
    text = requests.get(server.origin + "/metrics", timeout=10).text
    declared = {family.name for family in text_string_to_metric_families(text)}
    assert used, exprs
    assert all(
        name in exposed or name in declared or name.removesuffix("_bucket") in declared
        for name in used
    ), sorted(used - exposed)
    assert {
        "tfs_order_updates_total",
        "tfs_http_requests_total",
        "tfs_http_request_duration_seconds_bucket",
        "tfs_events_pending",
        "tfs_webhook_backlog",
        "tfs_webhook_dead_letters",
        "tfs_relay_lag_seconds",
        "tfs_db_pool_in_use",
    } <= used
