"""Publishing events to NATS JetStream: the stream, the subjects, and deduplication by event id.

Subjects are `<prefix>.<vendorId>.<mcOrderId>` (prefix `tfs.events`). A subject token cannot
hold whitespace, `.`, `*` or `>`, so each id is mapped to a token: printable ASCII other than
`. * > %` stays as it is; every other byte of its UTF-8 form becomes `%XX` (upper-case hex), `%`
itself included, so the mapping is one-to-one and reversible (`urllib.parse.unquote`). A vendor
`acme.eu` with order `A 1` publishes on `tfs.events.acme%2Eeu.A%201`.
"""

from __future__ import annotations

import logging
from types import TracebackType

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from tfs.db.outbox import Event

log = logging.getLogger("tfs.relay.nats")
DEDUP_HEADER = "Nats-Msg-Id"
_KEEP = frozenset(chr(c) for c in range(0x21, 0x7F)) - set(".*>%")


def subject_token(value: str) -> str:
    return "".join(ch if ch in _KEEP else "".join(f"%{b:02X}" for b in ch.encode()) for ch in value)


def subject_for(prefix: str, event: Event) -> str:
    return f"{prefix}.{subject_token(event.vendor_id)}.{subject_token(event.mc_order_id)}"


class JetStreamPublisher:
    """One connection to NATS, made when first needed and dropped on any failure.

    The client's own reconnection is off: the relay decides when to try again, and a publish
    either is acknowledged by the stream or raises, so the relay's cursor stays exact.
    """

    def __init__(self, url: str, stream: str, prefix: str, timeout_s: float = 5.0) -> None:
        self.url, self.stream, self.prefix, self.timeout_s = url, stream, prefix, timeout_s
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    async def _jetstream(self) -> JetStreamContext:
        if self._js is not None and self._nc is not None and self._nc.is_connected:
            return self._js
        await self.close()

        async def quiet(exc: Exception) -> None:
            log.debug("nats client error: %s", exc)

        self._nc = await nats.connect(
            self.url,
            connect_timeout=max(1, round(self.timeout_s)),
            allow_reconnect=False,
            error_cb=quiet,
        )
        js = self._nc.jetstream(timeout=self.timeout_s)
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            # Creating an identical stream twice is accepted, so racing relays are harmless.
            await js.add_stream(name=self.stream, subjects=[f"{self.prefix}.>"])
        self._js = js
        return js

    async def publish(self, event: Event) -> bool:
        """Publish and wait for the stream's acknowledgement; False when it was a duplicate."""
        js = await self._jetstream()
        ack = await js.publish(
            subject_for(self.prefix, event),
            event.to_json(),
            stream=self.stream,
            headers={DEDUP_HEADER: event.event_id},
        )
        return not ack.duplicate

    async def close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except Exception as exc:  # closing a broken connection may fail; it is gone anyway
                log.debug("closing the nats connection failed: %s", exc)

    async def __aenter__(self) -> JetStreamPublisher:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.close()
