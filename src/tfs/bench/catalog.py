"""`tfs bench --catalog`: the catalog's readers under load, beside the same echo.

One program's catalog (levels and items in two languages) is made as a pure function of a few
numbers, imported with the use case (timed), and read by a customer credential bound to the
program, through signed GETs, each with its own nonce, in these workloads:

- `leaf`: the items of one leaf (a different leaf and language each request, over and over:
  after the first round every answer is kept, so this is the cache's rate);
- `leaf-distinct`: the same lists, each request a filter never asked before (`max_points`
  above every item's points: same answers, none kept yet), so each one is read and rendered;
- `keyword-repeat`: a keyword search over every item (the root catalog), cycling through a
  few queries: the cache answers;
- `keyword-distinct`: the same searches, never the same query twice: every one a miss (each
  item holds a rare word of its own, and each request asks for another one);
- `catalogs`: getCatalogs, every level (kept answers).

Every request still spends its nonce in a write, hit or miss.
"""

from __future__ import annotations

import math
import random
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tfs.access import usecases as access
from tfs.access.credentials import fingerprint, new_consumer_key
from tfs.access.repository import Credential
from tfs.access.signing import sign_request
from tfs.config import load_settings
from tfs.db.engine import make_engine
from tfs.db.store import Store

from . import dataset, server
from .corpus import Target, _private_key, record
from .results import CatalogResult, Figures, Memory, WorkloadResult
from .runner import Driver, Session, measure, run_echo, server_env

PROGRAM_ID = 49631
LANGUAGES = ("en_US", "fr_CA")
MAX_POINTS = 50_000
REPEATED_QUERIES = 64  # keyword-repeat cycles through this many queries
EXTRA_REQUESTS = 500  # per wrk thread on top of the probed rate's worth
WORDS = (
    "gift",
    "card",
    "dining",
    "travel",
    "hotel",
    "coffee",
    "café",
    "kitchen",
    "audio",
    "tablet",
    "book",
    "store",
    "flight",
    "lounge",
    "voucher",
    "music",
    "garden",
    "olive",
    "steak",
    "pizza",
    "sushi",
    "spa",
    "golf",
    "ticket",
    "movie",
    "cinema",
    "theatre",
    "wine",
    "beer",
    "tea",
    "chocolate",
    "flowers",
    "camera",
    "phone",
    "watch",
    "bag",
    "shoes",
    "jacket",
)

WORKLOADS: dict[str, str] = {
    "leaf": "GET items of one leaf (kept answers)",
    "leaf-distinct": "GET items of one leaf, a new filter each time (all misses)",
    "keyword-repeat": f"GET root items ?keyword=, {REPEATED_QUERIES} queries repeating (kept)",
    "keyword-distinct": "GET root items ?keyword=, every query new (all misses)",
    "catalogs": "GET catalogs (kept answers)",
}


def rare_word(i: int) -> str:
    """The word item i alone holds."""
    return f"rare{i:06d}"


@dataclass(frozen=True)
class CatalogPlan:
    """The program's catalog and what the i-th request of each workload asks."""

    seed: int
    levels: int  # catalogs: a root, a few groups, the rest leaves
    items: int
    threads: int  # wrk threads

    def __post_init__(self) -> None:
        if self.levels < 3 or self.items < 1 or self.threads < 1:
            raise ValueError("a catalog bench needs at least 3 catalogs, 1 item and 1 thread")

    @property
    def groups(self) -> list[int]:
        return list(range(2, 2 + min(10, max(1, (self.levels - 1) // 10))))

    @cached_property
    def leaves(self) -> list[int]:
        return list(range(100, 100 + self.levels - 1 - len(self.groups)))

    def document(self) -> dict[str, Any]:
        """The import document: every item on one leaf, four words of WORDS and its rare word."""
        rng = random.Random(self.seed)  # noqa: S311 - test data
        catalogs: list[dict[str, Any]] = [
            {
                "id": 1,
                "parentCatalogId": None,
                "imageURL": "https://img.example.com/root.jpg",
                "name": {"en_US": "Rewards", "fr_CA": "Récompenses"},
            }
        ]
        for g in self.groups:
            catalogs.append(
                {
                    "id": g,
                    "parentCatalogId": 1,
                    "imageURL": "https://img.example.com/group.jpg",
                    "name": {"en_US": f"Group {g}", "fr_CA": f"Groupe {g}"},
                }
            )
        for leaf in self.leaves:
            catalogs.append(
                {
                    "id": leaf,
                    "parentCatalogId": rng.choice(self.groups),
                    "imageURL": "https://img.example.com/leaf.jpg",
                    "name": {"en_US": f"Leaf {leaf}", "fr_CA": f"Feuille {leaf}"},
                }
            )
        items = []
        for i in range(self.items):
            w = rng.sample(WORDS, 4)
            items.append(
                {
                    "id": 100_000 + i,
                    "catalogIds": [self.leaves[i % len(self.leaves)]],
                    "pointValue": rng.randint(1, MAX_POINTS),
                    "imageURL": f"https://img.example.com/items/{i}.jpg",
                    "shortDescription": {
                        "en_US": f"{w[0].title()} {w[1]} {i}",
                        "fr_CA": f"{w[0]} {w[1]} fr {i}",
                    },
                    "longDescription": {"en_US": f"A {w[0]} {w[1]} {w[2]} reward, number {i}"},
                    "orderInformation": {
                        "en_US": "Please allow 7-10 days",
                        "fr_CA": "Prévoir 7 à 10 jours",
                    },
                    "isRedeemable": True,
                    "shippingAddressRequired": i % 2 == 0,
                    "personalizationInformation": {
                        "isRequired": False,
                        "length": 200,
                        "label": {"en_US": "Message"},
                    },
                    "redemptionFees": (
                        [{"description": {"en_US": "Fee"}, "amount": 5, "quantityLevel": True}]
                        if i % 5 == 0
                        else []
                    ),
                    "productCodes": ["FIDOCASHBACK"] if i % 3 == 0 else [],
                    "keywords": [w[3], rare_word(i)],
                }
            )
        return {
            "programId": PROGRAM_ID,
            "languages": list(LANGUAGES),
            "catalogs": catalogs,
            "rewardItems": items,
        }

    def query(self, workload: str, k: int) -> str:
        """Path and query (below the base path) of request k of a workload (k counts the
        requests of all wrk threads together, so no two threads ask the same)."""
        p = f"program_id={PROGRAM_ID}"
        n = len(self.leaves)
        if workload == "leaf":
            leaf, language = self.leaves[k % n], LANGUAGES[(k // n) % 2]
            return f"/catalogs/{leaf}/items?{p}&language={language}"
        if workload == "leaf-distinct":
            leaf, language = self.leaves[k % n], LANGUAGES[(k // n) % 2]
            return f"/catalogs/{leaf}/items?{p}&language={language}&max_points={MAX_POINTS + k}"
        if workload == "keyword-repeat":
            word = rare_word((k % REPEATED_QUERIES) * self.items // REPEATED_QUERIES)
            return f"/catalogs/1/items?{p}&keyword={word}"
        if workload == "keyword-distinct":
            cycle = k // self.items  # a new language, then new (inert) bounds, once all are asked
            q = f"/catalogs/1/items?{p}&keyword={rare_word(k % self.items)}"
            q += f"&language={LANGUAGES[cycle % 2]}"
            return q + (f"&max_points={MAX_POINTS + cycle // 2}" if cycle >= 2 else "")
        if workload == "catalogs":
            return f"/catalogs?{p}&language={LANGUAGES[k % 2]}"
        raise ValueError(f"unknown catalog workload {workload!r}")


@dataclass(frozen=True)
class CatalogReads:
    """One workload's requests, signed by the customer credential."""

    plan: CatalogPlan
    workload: str
    consumer_key: str
    private_pem: bytes

    def raw(self, target: Target, thread: int, index: int) -> bytes:
        path = target.base_path + self.plan.query(self.workload, index * self.plan.threads + thread)
        authorization = sign_request(
            _private_key(self.private_pem),
            self.consumer_key,
            "GET",
            f"http://{target.host}{path}",
            b"",
            timestamp=int(time.time()),
        )
        return record(
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {target.host}\r\n"
            f"Authorization: {authorization}\r\n"
            f"X-Correlation-Id: {thread}-{index}\r\n"
            "\r\n"
        )


@dataclass(frozen=True)
class CatalogOptions:
    levels: int
    items: int
    workloads: tuple[str, ...]
    connections: int
    threads: int
    duration_s: float
    workers: int
    database_url: str | None
    work_dir: Path
    keep: bool


@dataclass(frozen=True)
class Loaded:
    consumer_key: str
    private_pem: bytes
    document_mb: float
    generate_s: float
    parse_s: float
    import_s: float


def load(url: str, plan: CatalogPlan, key: rsa.RSAPrivateKey) -> Loaded:
    """The document made, parsed and imported as `PUT …/catalog` would (timed apart), and a
    customer credential bound to the program."""
    from tfs.catalog import document, usecases

    began = time.perf_counter()
    raw = msgspec.json.encode(plan.document())
    generate_s = time.perf_counter() - began
    now = datetime.now(UTC)
    store = Store(make_engine(url))
    try:
        began = time.perf_counter()
        parsed, faults = document.parse(msgspec.json.decode(raw))
        parse_s = time.perf_counter() - began
        if parsed is None:
            raise RuntimeError(f"the generated catalog is refused: {faults[:3]}")
        began = time.perf_counter()
        usecases.import_catalog(store, parsed, now)
        import_s = time.perf_counter() - began
        pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        consumer_key = new_consumer_key()
        access.add_credential(
            store,
            Credential(
                consumer_key,
                "customer",
                None,
                pem,
                fingerprint(pem),
                False,
                False,
                now,
                frozenset({PROGRAM_ID}),
            ),
        )
    finally:
        store.engine.dispose()
    return Loaded(
        consumer_key,
        dataset.private_pem(key),
        round(len(raw) / 1e6, 1),
        round(generate_s, 2),
        round(parse_s, 2),
        round(import_s, 2),
    )


def run_catalog(opts: CatalogOptions, session: Session) -> CatalogResult:
    kind = "sqlite" if opts.database_url is None else "postgresql"
    plan = CatalogPlan(
        random.randrange(2**31),  # noqa: S311 - a seed for test data
        opts.levels,
        opts.items,
        opts.threads,
    )
    directory = opts.work_dir / f"{kind}-catalog-{opts.items}-{uuid.uuid4().hex[:8]}"
    directory.mkdir(parents=True)
    say = session.say
    results: list[WorkloadResult] = []
    with dataset.fresh_database(opts.database_url, directory, opts.keep) as url:
        loaded = load(url, plan, session.keys[0])
        say(
            f"  {opts.levels} catalogs, {opts.items:,} items ({loaded.document_mb} MB): parsed in "
            f"{loaded.parse_s:.1f} s, imported in {loaded.import_s:.1f} s"
        )
        port = server.free_port()
        env, notes = server_env(url, opts.duration_s)
        target = Target(f"127.0.0.1:{port}", load_settings(env).base_path)
        command = server.service_command(port, opts.workers)
        echo_corpus = None
        with server.running(command, port, env, directory / "service.log") as live:
            for name in opts.workloads:
                driver = Driver(
                    opts.connections,
                    opts.threads,
                    opts.duration_s,
                    session,
                    CatalogReads(plan, name, loaded.consumer_key, loaded.private_pem),
                    target,
                    directory,
                    live.url + "/",
                    [0] * opts.threads,
                )
                # Once to fill the cache (a cold probe would size the corpus for misses and a
                # warm service would run through it), then to size the measured corpus.
                driver.probe(f"{name}-warm")
                rate = driver.probe(f"{name}-probe")
                workload_notes: list[str] = []
                extra = EXTRA_REQUESTS + 4 * opts.connections // opts.threads
                m = measure(driver, live, rate, extra, workload_notes, f"{name}-main")
                echo_corpus = echo_corpus or m.corpus
                peak_all = max((s[1] for s in live.memory.samples), default=0)
                r = m.result
                say(
                    f"  {name}: {r.rps:,.0f} requests/s, p99 {r.latency_ms['p99']:.1f} ms "
                    f"({m.corpus.requests:,} requests signed in {m.corpus.seconds:.1f} s)"
                )
                results.append(
                    WorkloadResult(
                        name=name,
                        what=WORKLOADS[name],
                        service=Figures.of(r),
                        cpu_ms_per_request=m.cpu_ms_per_request,
                        bytes_per_answer=round(r.bytes / r.requests) if r.requests else 0,
                        acknowledged=len(set(driver.acked)),
                        memory=Memory.of(m.window, peak_all),
                        corpus_requests=m.corpus.requests,
                        sign_s=round(m.corpus.seconds, 2),
                        probe_rps=round(rate, 1),
                        notes=workload_notes,
                    )
                )
        assert echo_corpus is not None
        echo = run_echo(
            opts.workers, opts.connections, opts.duration_s, echo_corpus, directory, say
        )
        notes.append(
            f"the echo is driven with the {opts.workloads[0]} corpus; it answers a GET with an "
            "empty body, so it is the ceiling of the request path, not of sending the answer"
        )
        if not opts.keep:
            shutil.rmtree(directory, ignore_errors=True)
    for w in results:
        w.ratio_to_echo = round(w.service.rps / echo.rps, 4) if echo.rps else 0.0
    return CatalogResult(
        database=kind,
        catalogs=opts.levels,
        leaves=len(plan.leaves),
        items=opts.items,
        items_per_leaf=math.ceil(opts.items / len(plan.leaves)),
        languages=list(LANGUAGES),
        document_mb=loaded.document_mb,
        parse_s=loaded.parse_s,
        import_s=loaded.import_s,
        connections=opts.connections,
        threads=opts.threads,
        workers=opts.workers,
        duration_s=opts.duration_s,
        echo=echo,
        workloads=results,
        notes=notes,
        work_dir=str(directory) if opts.keep else None,
    )
