"""One measured configuration: fresh database, service, probe, measured run, check, echo."""

from __future__ import annotations

import math
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tfs.config import load_settings
from tfs.db.engine import make_engine

from . import dataset, server, verify
from .corpus import Corpus, Requests, StatusUpdates, Target, write_corpus
from .plan import Workload, parse_correlation_id
from .results import ConfigResult, Figures, Memory
from .wrk import WrkResult, run_wrk

PROBE_S = 2.0
HEADROOM = 2.0  # corpus size over the probed rate, for the measured run
EXTRA_ORDERS = 4000  # orders' worth of requests per wrk thread on top, for a slow probe
UNLIMITED = "1000000/second"


@dataclass(frozen=True)
class Options:
    orders: int  # stored
    active: int  # orders the requests update
    batch: int
    connections: int
    threads: int
    duration_s: float
    workers: int
    vendors: int
    database_url: str | None  # a PostgreSQL server, or None for a fresh SQLite file
    work_dir: Path
    keep: bool


@dataclass
class Session:
    """What the configurations of one `tfs bench` share."""

    pool: Pool | None
    keys: list[RSAPrivateKey]
    say: Callable[[str], None]
    echoes: dict[int, Figures] = field(default_factory=dict)  # by batch size


@dataclass
class Driver:
    """Signs corpus slices and runs wrk with them against one server, keeping every ack."""

    connections: int
    threads: int
    duration_s: float
    session: Session
    requests: Requests
    target: Target
    directory: Path
    url: str
    cursors: list[int]  # per wrk thread: the next request index of its sequence
    acked: list[str] = field(default_factory=list)
    partial: dict[str, bytes] = field(default_factory=dict)

    def run(self, name: str, count: int, seconds: float) -> tuple[WrkResult, Corpus]:
        corpus = write_corpus(
            self.session.pool,
            self.requests,
            self.target,
            self.directory,
            name,
            self.cursors,
            count,
        )
        result = run_wrk(
            self.url,
            corpus.files,
            self.directory / f"wrk-{name}",
            connections=self.connections,
            duration_s=seconds,
        )
        self.acked += result.acked
        self.partial.update(result.partial)
        self.cursors = [c + min(s, count) for c, s in zip(self.cursors, result.sent, strict=True)]
        return result, corpus

    def probe(self, name: str = "probe") -> float:
        """Warm the service up and measure its rate roughly, to size the measured corpus."""
        seconds = min(PROBE_S, max(1.0, self.duration_s / 2))
        count = max(500, 100 * (self.connections // self.threads))
        for attempt in range(4):
            result, _ = self.run(f"{name}{attempt}", count, seconds)
            if result.wraps == 0:
                return max(result.rps, 1.0)
            count *= 4
        return count * self.threads / seconds


@dataclass
class Measured:
    """The measured run of one driver: wrk's figures, and the server's CPU and memory."""

    result: WrkResult
    corpus: Corpus
    cpu_s: float
    window: list[tuple[float, int, int]]

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU (all its processes) per answered request, over the measured run."""
        requests = self.result.requests
        return round(1000 * self.cpu_s / requests, 2) if requests else 0.0


def measure(
    driver: Driver,
    live: server.Server,
    rate: float,
    extra: int,
    notes: list[str],
    name: str = "main",
) -> Measured:
    """The measured run, its corpus sized from the probed rate with room for a faster warm
    service: a corpus that runs out would repeat nonces (refused), so the run is then measured
    again with twice as many."""
    count = math.ceil(rate * driver.duration_s * HEADROOM / driver.threads) + extra
    for attempt in range(2):
        started = time.monotonic()
        cpu_before = server.cpu_seconds(live.process.pid)
        result, corpus = driver.run(f"{name}{attempt}", count, driver.duration_s)
        cpu_used = server.cpu_seconds(live.process.pid) - cpu_before
        window = live.memory.between(started, time.monotonic())
        if result.wraps == 0:
            break
        notes.append(f"a corpus of {corpus.requests} requests ran out: measured again")
        count *= 2
    return Measured(result, corpus, cpu_used, window)


def server_env(url: str, duration_s: float) -> tuple[dict[str, str], list[str]]:
    env = dict(os.environ)
    env.pop("TFS_PUBLIC_URL", None)  # requests are signed for the loopback URL they go to
    env["TFS_DATABASE_URL"] = url
    # The limiter stays in the path (its cost is measured) but never refuses: 429s would
    # measure the configured limit, not the service.
    env["TFS_RATE_LIMIT"] = UNLIMITED
    notes = []
    tolerance = load_settings(env).timestamp_tolerance_s
    needed = int(3 * duration_s + 4 * PROBE_S + 60)  # signing, probes and run, with a margin
    if needed > tolerance:
        env["TFS_TIMESTAMP_TOLERANCE_S"] = str(needed + 300)
        notes.append(f"server ran with TFS_TIMESTAMP_TOLERANCE_S={needed + 300} (long run)")
    return env, notes


def _workload(opts: Options) -> Workload:
    workload = Workload(
        uuid.uuid4().hex[:12], opts.orders, opts.active, opts.vendors, opts.batch, opts.threads
    )
    per_thread = opts.connections // opts.threads
    fewest = min(len(c) for c in workload.thread_chunks)
    if fewest <= per_thread:
        raise ValueError(
            f"{opts.active} orders make only {fewest} batches of {opts.batch} for a wrk thread, "
            f"not more than its {per_thread} connections: two requests could update one order "
            "at once. Use more orders, a smaller batch or fewer connections."
        )
    return workload


def run_config(opts: Options, session: Session) -> ConfigResult:
    kind = "sqlite" if opts.database_url is None else "postgresql"
    workload = _workload(opts)
    directory = opts.work_dir / f"{kind}-{opts.orders}-b{opts.batch}-{workload.seed}"
    directory.mkdir(parents=True)
    say = session.say
    with dataset.fresh_database(opts.database_url, directory, opts.keep) as url:
        began = time.perf_counter()
        keys = dataset.load(url, workload, session.keys, session.pool)
        load_s = time.perf_counter() - began
        say(f"  {opts.orders:,} orders stored in {load_s:.1f} s")
        port = server.free_port()
        env, notes = server_env(url, opts.duration_s)
        target = Target(f"127.0.0.1:{port}", load_settings(env).base_path)
        command = server.service_command(port, opts.workers)
        with server.running(command, port, env, directory / "service.log") as live:
            driver = Driver(
                opts.connections,
                opts.threads,
                opts.duration_s,
                session,
                StatusUpdates(workload, keys),
                target,
                directory,
                live.url + "/",
                [0] * opts.threads,
            )
            rate = driver.probe()
            say(f"  probe: about {rate:,.0f} requests/s")
            extra = math.ceil(EXTRA_ORDERS / opts.batch) + 4 * opts.connections // opts.threads
            measured = measure(driver, live, rate, extra, notes)
            main, corpus = measured.result, measured.corpus
            window = measured.window
            say(
                f"  service: {main.rps:,.0f} requests/s "
                f"({corpus.requests:,} requests signed in {corpus.seconds:.1f} s)"
            )
        peak_all = max((s[1] for s in live.memory.samples), default=0)
        expected = verify.expectations(workload, driver.acked, driver.partial)
        engine = make_engine(url, timeout_s=3600)
        try:
            lost = verify.check_acknowledged(engine, expected)
        finally:
            engine.dispose()
        if opts.keep:
            workload.save(directory / "workload.json")
            (directory / "acked.txt").write_text("\n".join(driver.acked) + "\n")
        echo = session.echoes.get(opts.batch)
        if echo is None:
            echo = session.echoes[opts.batch] = run_echo(
                opts.workers, opts.connections, opts.duration_s, corpus, directory, say
            )
        if not opts.keep:
            shutil.rmtree(directory, ignore_errors=True)
    specs = [workload.request(*parse_correlation_id(cid)) for cid in main.acked]
    refused = sum(len(verify.failed_orders(body)) for body in main.partial.values())
    orders_done = sum(len(s.orders) for s in specs) - refused
    return ConfigResult(
        database=kind,
        orders_stored=opts.orders,
        orders_updated=opts.active,
        batch=opts.batch,
        orders_per_request=round(orders_done / len(specs), 2) if specs else 0.0,
        connections=opts.connections,
        threads=opts.threads,
        workers=opts.workers,
        duration_s=opts.duration_s,
        service=Figures.of(main),
        echo=echo,
        orders_per_s=round(orders_done / main.duration_s, 1),
        memory=Memory.of(window, peak_all),
        cpu_ms_per_request=measured.cpu_ms_per_request,
        acknowledged=len(set(driver.acked)),
        checked_orders=len(expected),
        lost=len(lost),
        lost_examples=lost[:10],
        refused_orders=sum(len(verify.failed_orders(b)) for b in driver.partial.values()),
        corpus_requests=corpus.requests,
        corpus_mb=round(corpus.bytes / 1e6, 1),
        sign_s=round(corpus.seconds, 2),
        probe_rps=round(rate, 1),
        rounds=max((s.round for s in specs), default=0) + 1,
        load_s=round(load_s, 2),
        notes=notes,
        work_dir=str(directory) if opts.keep else None,
        database_url=url if opts.keep else None,
    )


def run_echo(
    workers: int,
    connections: int,
    duration_s: float,
    corpus: Corpus,
    directory: Path,
    say: Callable[[str], None],
) -> Figures:
    """The bare ASGI echo, same server software, workers, bodies and wrk settings."""
    port = server.free_port()
    command = server.echo_command(port, workers)
    with server.running(command, port, dict(os.environ), directory / "echo.log") as live:
        started = time.monotonic()
        result = run_wrk(
            live.url + "/",
            corpus.files,
            directory / "wrk-echo",
            connections=connections,
            duration_s=duration_s,
        )
        window = live.memory.between(started, time.monotonic())
    figures = Figures.of(result)
    figures.rss_peak_mb = Memory.of(window, 0).peak_mb
    say(f"  echo: {figures.rps:,.0f} requests/s")
    return figures
