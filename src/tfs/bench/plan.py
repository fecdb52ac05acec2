"""The workload as a pure function of a few numbers.

Which orders are stored, which vendor owns each, and what the i-th request of wrk thread t says:
the loader, the corpus and the correctness check all derive from `Workload`, so a kept run can be
checked again from its `workload.json` alone.

Each wrk thread owns its own orders (whole batches of them), and walks them round after round:
round r of all its batches before round r + 1. Every order thus moves only forward in the order
the requests are sent, each request applies, and no two requests have the same body.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec

from tfs.orders.statuses import Status

ITEMS_PER_ORDER = 2
EVENT_EPOCH = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    """What round r of the updates says about each item of an order."""

    status: Status
    event_type: str
    note: str
    tracked: bool


def step(r: int) -> Step:
    """Processing, Shipped with tracking, a few scans in transit, Delivered, then follow-ups.

    The note names the round, so that every vendor event is new to the service.
    """
    n = f"(update {r + 1})"
    if r == 0:
        return Step(
            Status.PROCESSING, "note", f"Order accepted by the fulfilment centre {n}", False
        )
    if r == 1:
        return Step(Status.SHIPPED, "shipment", f"Handed to the carrier {n}", True)
    if r < 6:
        return Step(Status.SHIPPED, "scan", f"In transit: scanned at sorting hub {r - 1} {n}", True)
    if r == 6:
        return Step(Status.DELIVERED, "delivery", f"Delivered to the recipient {n}", True)
    return Step(Status.DELIVERED, "note", f"Delivery follow-up {n}", True)


@dataclass(frozen=True)
class RequestSpec:
    thread: int
    index: int
    vendor: int
    orders: tuple[int, ...]  # indexes of stored orders
    round: int

    @property
    def correlation_id(self) -> str:
        return f"{self.thread}-{self.index}"


def parse_correlation_id(cid: str) -> tuple[int, int]:
    thread, _, index = cid.partition("-")
    return int(thread), int(index)


@dataclass(frozen=True)
class Workload:
    seed: str
    orders: int  # orders stored
    active: int  # orders the requests update, spread evenly over the stored ones
    vendors: int
    batch: int  # orders per request (the last batch of a vendor may be smaller)
    threads: int  # wrk threads, each with its own orders

    def __post_init__(self) -> None:
        if not 1 <= self.active <= self.orders:
            raise ValueError("the active orders must be between 1 and the orders stored")
        if self.vendors < 1 or self.batch < 1 or self.threads < 1:
            raise ValueError("vendors, batch and threads must be at least 1")

    @property
    def stride(self) -> int:
        return self.orders // self.active

    def vendor_id(self, v: int) -> str:
        return f"bench-vendor-{v + 1}"

    def vendor_of(self, j: int) -> int:
        return (j // self.stride) % self.vendors

    def mc_order_id(self, j: int) -> str:
        """A random-looking UUID (version 4), the same for the same seed and j."""
        h = hashlib.md5(f"{self.seed}:{j}".encode(), usedforsecurity=False).hexdigest()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def order_id(self, j: int) -> str:
        """The vendor's own order number, bound by the first update."""
        return f"V{self.vendor_of(j) + 1}-{j:08d}"

    def item_mc_id(self, mc_order_id: str, n: int) -> str:
        return f"{mc_order_id[:8]}-{n + 1}"

    def tracking(self, j: int, n: int) -> tuple[str, str]:
        number = f"1ZB{j:010d}{n + 1}"
        return number, f"https://track.example.com/parcels/{number}"

    @cached_property
    def thread_chunks(self) -> list[list[tuple[int, ...]]]:
        """Per wrk thread, its batches: orders of one vendor, vendors interleaved."""
        per_vendor = [list(range(v, self.active, self.vendors)) for v in range(self.vendors)]
        chunked = [
            [tuple(ms[k : k + self.batch]) for k in range(0, len(ms), self.batch)]
            for ms in per_vendor
        ]
        longest = max(len(c) for c in chunked)
        interleaved = [c[k] for k in range(longest) for c in chunked if k < len(c)]
        stored = [tuple(m * self.stride for m in chunk) for chunk in interleaved]
        return [stored[t :: self.threads] for t in range(self.threads)]

    def request(self, thread: int, index: int) -> RequestSpec:
        chunks = self.thread_chunks[thread]
        orders = chunks[index % len(chunks)]
        return RequestSpec(thread, index, self.vendor_of(orders[0]), orders, index // len(chunks))

    def body(self, spec: RequestSpec) -> bytes:
        return msgspec.json.encode([self._order_update(j, spec.round) for j in spec.orders])

    def _order_update(self, j: int, r: int) -> dict[str, Any]:
        mc_order_id, order_id, s = self.mc_order_id(j), self.order_id(j), step(r)
        event_date = (EVENT_EPOCH + timedelta(minutes=41 * r)).strftime("%Y-%m-%dT%H:%M:%SZ")
        items = []
        for n in range(ITEMS_PER_ORDER):
            item: dict[str, Any] = {
                "id": f"{order_id}-{n + 1}",
                "mcId": self.item_mc_id(mc_order_id, n),
                "status": s.status.value,
            }
            if s.tracked:
                item["trackingNumber"], item["trackingUrl"] = self.tracking(j, n)
            item["histories"] = [
                {
                    "orderItemNumber": f"{order_id}-{n + 1}",
                    "eventType": s.event_type,
                    "eventDate": event_date,
                    "note": s.note,
                }
            ]
            items.append(item)
        return {"orderId": order_id, "mcOrderId": mc_order_id, "orderItems": items}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> Workload:
        return cls(**json.loads(path.read_text()))
