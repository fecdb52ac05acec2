"""The corpus: signed requests, written as files that wrk's Lua script reads one by one.

Each request is signed when it is written (fresh timestamp, random nonce, real RSA-SHA256
signature over the exact body), as Mastercard's client library signs it. One file per wrk
thread; a record is a 10-digit length, a newline, then the raw HTTP/1.1 request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tfs.access.signing import sign_request

from .dataset import VendorKey
from .plan import Workload

BLOCK = 500  # requests per signing task
HEADER = 11  # "%010d\n"


@dataclass(frozen=True)
class Target:
    host: str  # "127.0.0.1:port", as sent in Host and signed
    base_path: str


@dataclass(frozen=True)
class Corpus:
    files: list[Path]  # one per wrk thread
    starts: list[int]  # index of each file's first request in its thread's sequence
    count: int  # requests per file
    bytes: int
    seconds: float  # to sign and write it

    @property
    def requests(self) -> int:
        return self.count * len(self.files)


@cache
def _private_key(pem: bytes) -> RSAPrivateKey:
    key = load_pem_private_key(pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    return key


class Requests(Protocol):
    """What a corpus is made of: the i-th request of wrk thread t, signed (picklable: the
    signing runs in the process pool)."""

    def raw(self, target: Target, thread: int, index: int) -> bytes: ...


def record(head: str, body: bytes = b"") -> bytes:
    """One corpus record: its length, a newline, the raw request."""
    data = head.encode() + body
    return b"%010d\n" % len(data) + data


@dataclass(frozen=True)
class StatusUpdates:
    """The status mode's requests: `POST …/vendors/{id}/orders/status`, as the workload says."""

    workload: Workload
    keys: list[VendorKey]

    def raw(self, target: Target, thread: int, index: int) -> bytes:
        return raw_request(self.workload, self.keys, target, thread, index)


def raw_request(
    workload: Workload, keys: list[VendorKey], target: Target, thread: int, index: int
) -> bytes:
    spec = workload.request(thread, index)
    key = keys[spec.vendor]
    path = f"{target.base_path}/vendors/{key.vendor_id}/orders/status"
    body = workload.body(spec)
    authorization = sign_request(
        _private_key(key.private_pem),
        key.consumer_key,
        "POST",
        f"http://{target.host}{path}",
        body,
        timestamp=int(time.time()),
    )
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {target.host}\r\n"
        "Content-Type: application/json\r\n"
        f"Authorization: {authorization}\r\n"
        f"X-Correlation-Id: {spec.correlation_id}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return record(head, body)


def _sign_block(job: tuple[Requests, Target, int, int, int]) -> bytes:
    requests, target, thread, start, stop = job
    return b"".join(requests.raw(target, thread, i) for i in range(start, stop))


def write_corpus(
    pool: Pool | None,
    requests: Requests,
    target: Target,
    directory: Path,
    name: str,
    starts: list[int],
    count: int,
) -> Corpus:
    """`count` requests per thread, thread t's from index starts[t] of its sequence."""
    began = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / f"{name}-t{t + 1}.req" for t in range(len(starts))]
    jobs = [
        (requests, target, t, i, min(i + BLOCK, start + count))
        for t, start in enumerate(starts)
        for i in range(start, start + count, BLOCK)
    ]
    handles = [f.open("wb") for f in files]
    size = 0
    try:
        blocks = pool.imap(_sign_block, jobs) if pool else map(_sign_block, jobs)
        for job, data in zip(jobs, blocks, strict=True):
            handles[job[2]].write(data)
            size += len(data)
    finally:
        for h in handles:
            h.close()
    return Corpus(files, list(starts), count, size, time.perf_counter() - began)
