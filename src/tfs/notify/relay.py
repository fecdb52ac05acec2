"""The relay: numbers the outbox, fans events out to webhook deliveries, sends them, and
publishes every event to NATS JetStream.

Two loops on one event loop, each an independent reader of the outbox:

- webhooks: stamp → fan out (durable cursor) → claim due deliveries with a lease → POST each
  in its own task → record the attempt. At most `concurrency` deliveries are in flight per
  subscription, and each attempt has a deadline, so a slow receiver holds up only itself.
- NATS: stamp → lease the NATS cursor → publish the next events in sequence order, each
  acknowledged before the next → advance the cursor. Only the holder of the lease publishes.

Every database step runs in a worker thread: the event loop (and so the API beside it in
`tfs serve`) never waits on the database. A relay killed anywhere loses nothing: the claims it
held lapse after `lease_s` and are sent again; NATS re-publishes at most the batch after its
cursor, which JetStream drops as duplicates (`Nats-Msg-Id` is the event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
import httpx

from tfs import metrics
from tfs.clock import now as utc_now
from tfs.config import RelaySettings
from tfs.db.store import Store
from tfs.notify import usecases as relay_usecases
from tfs.notify import webhooks
from tfs.notify.deliveries import DEAD, Claimed
from tfs.notify.nats import JetStreamPublisher
from tfs.notify.retries import RetryPolicy
from tfs.notify.usecases import stamp_events

log = logging.getLogger("tfs.relay")
NATS_BATCH = 200
NATS_MAX_BACKOFF_S = 10.0
T = TypeVar("T")


def _fields(**values: object) -> dict[str, Any]:
    return {"fields": values}


class Relay:
    def __init__(
        self,
        store: Store,
        settings: RelaySettings,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self.owner = str(uuid.uuid4())
        self.policy = RetryPolicy(settings.backoff_s, timedelta(hours=settings.retry_hours))
        self.lease = timedelta(seconds=settings.lease_s)
        self._jitter = random.SystemRandom().random
        self._in_flight: Counter[int] = Counter()
        self._sends: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        # httpx logs every request at INFO; the relay logs the attempts that fail, itself.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Relay until `stop()`; in-flight attempts get one timeout to finish and be recorded."""
        client = httpx.AsyncClient(
            timeout=webhooks.timeouts(self.settings.timeout_s),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
        )
        async with client:
            loops = [asyncio.create_task(self._forever(partial(self._webhook_round, client)))]
            if self.settings.nats_url:
                loops.append(asyncio.create_task(self._publish_to_nats(self.settings.nats_url)))
            log.info("relay started", extra=_fields(nats=bool(self.settings.nats_url)))
            try:
                await self._stopping.wait()
            finally:
                for loop in loops:
                    loop.cancel()
                await asyncio.gather(*loops, return_exceptions=True)
                await self._drain()
                log.info("relay stopped")

    async def _drain(self) -> None:
        if self._sends:
            _done, pending = await asyncio.wait(self._sends, timeout=self.settings.timeout_s + 1)
            for task in pending:
                task.cancel()

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(partial(fn, *args))

    async def _forever(self, round_: Callable[[], Any]) -> None:
        while not self._stopping.is_set():
            try:
                busy = await round_()
            except Exception as exc:
                # The database may be briefly unavailable; nothing is lost, try again soon.
                log.warning("relay round failed", extra=_fields(error=_describe(exc)))
                busy = False
            if not busy:
                await self._nap(self._wake)

    async def _nap(self, alarm: asyncio.Event) -> None:
        """Sleep `poll_s`, or less if the alarm goes off. (Not asyncio.wait_for: on Python 3.11
        it can swallow a cancellation that arrives as the alarm goes off.)"""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.poll_s):
                await alarm.wait()

    # --- webhooks ---------------------------------------------------------------------------

    async def _webhook_round(self, client: httpx.AsyncClient) -> bool:
        self._wake.clear()
        now = self.clock()
        await self._db(stamp_events, self.store)
        fanned = await self._db(relay_usecases.fan_out, self.store, now)
        claimed = await self._db(
            relay_usecases.claim_deliveries,
            self.store,
            dict(self._in_flight),
            self.settings.concurrency,
            now,
            self.lease,
        )
        for delivery in claimed:
            self._in_flight[delivery.subscription_id] += 1
            task = asyncio.create_task(self._send(client, delivery))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        # Go again at once only with work in hand; new events alone wait for the next poll, so
        # that a busy API is not met with a write transaction after every one of its own.
        return bool(claimed) or fanned >= relay_usecases.FANOUT_BATCH

    async def _send(self, client: httpx.AsyncClient, delivery: Claimed) -> None:
        event = delivery.event
        try:
            attempt = await webhooks.post(
                client,
                delivery.url,
                delivery.secret,
                event.event_id,
                event.to_json(),
                self.clock(),
                self.settings.timeout_s,
            )
            state = await self._db(
                relay_usecases.record_attempt,
                self.store,
                delivery,
                attempt,
                self.policy,
                self._jitter(),
            )
            dead = state == DEAD
            metrics.count_webhook_attempt(
                "delivered" if attempt.succeeded else "dead_lettered" if dead else "failed"
            )
            if not attempt.succeeded:
                # A failed attempt is a warning (it will be retried); the last one, that
                # dead-letters the delivery, an error: someone has to look.
                (log.error if dead else log.warning)(
                    "webhook delivery dead-lettered" if dead else "webhook attempt failed",
                    extra=_fields(
                        delivery=delivery.delivery_id,
                        subscription=delivery.subscription_id,
                        event=event.event_id,
                        status=attempt.status_code,
                        error=attempt.error,
                        state=state,
                    ),
                )
        except Exception as exc:
            # Not recorded: the lease lapses and the delivery is tried again.
            metrics.count_webhook_attempt("not_recorded")
            log.warning(
                "webhook attempt not recorded",
                extra=_fields(delivery=delivery.delivery_id, error=_describe(exc)),
            )
        finally:
            self._in_flight[delivery.subscription_id] -= 1
            self._wake.set()

    # --- NATS -------------------------------------------------------------------------------

    async def _publish_to_nats(self, url: str) -> None:
        s = self.settings
        publisher = JetStreamPublisher(
            url, s.nats_stream, s.nats_subject_prefix, min(5.0, s.timeout_s)
        )
        try:
            await self._nats_loop(publisher)
        finally:
            await publisher.close()
            with contextlib.suppress(Exception):
                await self._db(relay_usecases.release_nats_cursor, self.store, self.owner)

    async def _nats_loop(self, publisher: JetStreamPublisher) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                busy = await self._nats_round(publisher)
                failures = 0
            except Exception as exc:
                # NATS (or the database) is down: publication waits, nothing is skipped.
                failures += 1
                log.warning(
                    "nats publication delayed",
                    extra=_fields(error=_describe(exc), failures=failures),
                )
                await publisher.close()
                delay = self.settings.poll_s * 2 ** min(failures, 10)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(delay, NATS_MAX_BACKOFF_S)):
                        await self._stopping.wait()
                continue
            if not busy:
                await self._nap(self._stopping)

    async def _nats_round(self, publisher: JetStreamPublisher) -> bool:
        store = self.store
        await self._db(stamp_events, store)
        position = await self._db(
            relay_usecases.lease_nats_cursor, store, self.owner, self.clock(), self.lease
        )
        if position is None:
            return False  # another relay publishes
        batch = await self._db(relay_usecases.events_after, store, position, NATS_BATCH)
        published = position
        try:
            for event in batch:
                await publisher.publish(event)
                published = event.sequence
        finally:
            if published > position:
                await self._db(relay_usecases.advance_nats_cursor, store, self.owner, published)
        return bool(batch)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextlib.asynccontextmanager
async def running(store: Store, settings: RelaySettings) -> AsyncIterator[Relay | None]:
    """The relay as a background task for the block (`tfs serve`), unless it is turned off."""
    if not settings.enabled:
        yield None
        return
    relay = Relay(store, settings)
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        relay.stop()
        await task
