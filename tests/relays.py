"""Relays for tests: in a thread of this process, or as `tfs relay` processes that can be killed;
and what the outbox says should have arrived."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from processes import tfs_command
from tfs.config import RelaySettings
from tfs.db.outbox import Event, Events
from tfs.db.store import Store
from tfs.notify import usecases as relay_usecases
from tfs.notify.relay import Relay
from tfs.notify.webhooks import new_secret
from tfs.orders import render, usecases
from tfs.orders.placement import parse_placement
from tfs.orders.updates import parse_updates

# Tiny delays so that retries and dead-lettering happen within a test. The lease is long enough
# never to lapse under a live relay (a lapse means a second send); tests of a relay that dies
# use SHORT_LEASE.
FAST = RelaySettings(
    backoff_s=0.05, timeout_s=1.0, lease_s=10.0, poll_s=0.05, retry_hours=1.0, concurrency=4
)
SHORT_LEASE = dataclasses.replace(FAST, lease_s=2.5)


def now() -> datetime:
    return datetime.now(UTC)


class RelayThread:
    """`Relay.run()` on its own event loop in a thread, stopped gracefully on exit."""

    def __init__(self, store: Store, settings: RelaySettings = FAST) -> None:
        self.store, self.settings = store, settings
        self.started = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.relay = Relay(self.store, self.settings)
        self.started.set()
        await self.relay.run()

    def __enter__(self) -> RelayThread:
        self.thread.start()
        assert self.started.wait(10), "relay did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.relay.stop)
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "relay did not stop"


def relay_env(database_url: str, settings: RelaySettings = FAST) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFS_")}
    env.update(
        TFS_DATABASE_URL=database_url,
        TFS_WEBHOOK_BACKOFF_S=str(settings.backoff_s),
        TFS_WEBHOOK_TIMEOUT_S=str(settings.timeout_s),
        TFS_RELAY_LEASE_S=str(settings.lease_s),
        TFS_RELAY_POLL_S=str(settings.poll_s),
        TFS_WEBHOOK_RETRY_HOURS=str(settings.retry_hours),
        TFS_WEBHOOK_CONCURRENCY=str(settings.concurrency),
        TFS_LOG_LEVEL="WARNING",
    )
    return env


class RelayProcess:
    """`tfs relay` as operators run it, in its own process group, so that it can be killed."""

    def __init__(self, database_url: str, log: Path, settings: RelaySettings = FAST) -> None:
        self.env = relay_env(database_url, settings)
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RelayProcess:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [tfs_command(), "relay"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to finish, record or release anything."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def subscription(store: Store, url: str, vendor_id: str | None) -> Iterator[tuple[int, str]]:
    """A webhook subscription (id, secret) for the block, removed afterwards."""
    secret = new_secret()
    subscription_id = relay_usecases.add_subscription(store, url, vendor_id, secret, now())
    try:
        yield subscription_id, secret
    finally:
        relay_usecases.remove_subscription(store, subscription_id)


def outbox(store: Store, vendor_id: str) -> list[Event]:
    """Every event of this vendor the outbox holds, in sequence order."""
    while relay_usecases.stamp_events(store):  # a call stamps at most STAMP_BATCH events
        pass
    with store.transaction(readonly=True) as uow:
        return Events(uow).after(0, 100_000, vendor_id=vendor_id)


def make_changes(store: Store, vendor_id: str, orders: int) -> list[str]:
    """Place orders and move each through three statuses: revisions 1 to 4, via the use cases."""
    ids = [str(uuid.uuid4()) for _ in range(orders)]
    for mc_order_id in ids:
        placement, faults = parse_placement(
            {"mcOrderId": mc_order_id, "vendorId": vendor_id, "items": [{"mcId": "i1"}]}
        )
        assert placement is not None, faults
        usecases.place_order(store, placement, now())
    for status in ("Processing", "Shipped", "Delivered"):
        updates, faults = parse_updates([{"mcOrderId": i, "status": status} for i in ids])
        assert not faults, faults
        answer = asyncio.run(
            usecases.update_status(store, vendor_id, updates, now(), render.outcomes)
        )
        assert all(o.rejected is None for o in answer.outcomes)
    return ids


def revisions_by_order(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Each order's revisions in the order they arrived."""
    orders: dict[str, list[int]] = {}
    for e in events:
        orders.setdefault(e["mcOrderId"], []).append(e["revision"])
    return orders
