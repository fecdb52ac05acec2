"""`tfs bench`: the service under load on loopback, beside the ceiling of its HTTP stack."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from . import dataset, report
from .results import ConfigResult
from .runner import UNLIMITED, Options, Session, run_config
from .wrk import INSTALL_HINT, wrk_binary

SCALE_ORDERS = 1_000_000


def _batches(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        sizes = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter("a comma-separated list of sizes, e.g. 1,10,100,500") from None
    if not sizes or any(b < 1 for b in sizes):
        raise click.BadParameter("batch sizes are at least 1")
    return sizes


@click.command()
@click.option("--orders", default=20_000, show_default=True, help="Orders stored and updated.")
@click.option("--batch", default=10, show_default=True, help="Orders per request (B).")
@click.option("--batches", default=None, help="Several B in one run, e.g. 1,10,100,500.")
@click.option("--connections", default=16, show_default=True)
@click.option("--threads", default=2, show_default=True, help="wrk threads.")
@click.option("--duration", default=20.0, show_default=True, help="Seconds per measured run.")
@click.option("--workers", default=1, show_default=True, help="Server worker processes.")
@click.option("--vendors", default=4, show_default=True)
@click.option(
    "--database-url",
    default=None,
    help="A PostgreSQL server: a fresh database is made there and dropped. Default: SQLite file.",
)
@click.option(
    "--scale",
    is_flag=True,
    help=f"Also measure with {SCALE_ORDERS:,} orders stored (the same --orders updated).",
)
@click.option("--json-out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--keep", is_flag=True, help="Keep databases, corpus and logs in the work dir.")
@click.option(
    "--compare",
    "compare_ref",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Another checkout (e.g. `git worktree add ../before REV` and `make install` there): "
    "both are benchmarked in turn, the same options, and compared.",
)
@click.option("--rounds", default=2, show_default=True, help="Interleaved rounds with --compare.")
def bench(
    orders: int,
    batch: int,
    batches: str | None,
    connections: int,
    threads: int,
    duration: float,
    workers: int,
    vendors: int,
    database_url: str | None,
    scale: bool,
    json_out: Path | None,
    work_dir: Path | None,
    keep: bool,
    compare_ref: Path | None,
    rounds: int,
) -> None:
    """Measure the status-update endpoint under wrk against a bare ASGI echo; check every
    acknowledged update is stored. Loopback only; a default run takes about a minute."""
    if compare_ref is not None:
        from .compare import compare

        args = [
            "--orders", str(orders), "--connections", str(connections), "--threads",
            str(threads), "--duration", str(duration), "--workers", str(workers), "--vendors",
            str(vendors), "--batches", batches or str(batch),
            *(["--database-url", database_url] if database_url else []),
            *(["--scale"] if scale else []),
        ]  # fmt: skip
        sys.exit(compare(compare_ref, args, max(1, rounds)))
    if wrk_binary() is None:
        click.echo(f"error: {INSTALL_HINT}", err=True)
        sys.exit(3)
    if database_url is not None and (why := dataset.check_server_url(database_url)):
        raise click.BadParameter(why, param_hint="--database-url")
    if min(threads, orders, workers, batch, vendors) < 1 or connections < threads or duration <= 0:
        raise click.UsageError(
            "orders, batch, workers, vendors and threads must be at least 1, duration above 0, "
            "and connections at least threads"
        )
    sizes = _batches(batches) or [batch]
    stored = [orders, SCALE_ORDERS] if scale and orders < SCALE_ORDERS else [orders]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = json_out or Path("var/bench") / f"bench-{stamp}.json"
    base = work_dir or Path("var/bench")  # on disk, as the default database is
    base.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"tfs-bench-{stamp}-", dir=base))
    began = time.monotonic()
    results: list[ConfigResult] = []
    processes = os.cpu_count() or 1
    with (
        multiprocessing.get_context("spawn").Pool(processes) as pool,
        _removed_if_empty(run_dir),
    ):
        session = Session(pool, [dataset.new_private_key() for _ in range(vendors)], click.echo)
        for n in stored:
            for b in sizes:
                click.echo(
                    f"{'postgresql' if database_url else 'sqlite'}: {n:,} orders stored, "
                    f"B={b}, {connections} connections, {duration:g} s"
                )
                options = Options(
                    n, orders, b, connections, threads, duration, workers, vendors,
                    database_url, run_dir, keep,
                )  # fmt: skip
                try:
                    results.append(run_config(options, session))
                except ValueError as exc:
                    raise click.UsageError(str(exc)) from None
                except (RuntimeError, subprocess.CalledProcessError) as exc:
                    raise click.ClickException(f"{exc} (files kept in {run_dir})") from None
    settings = {
        "orders": orders,
        "stored": stored,
        "batches": sizes,
        "connections": connections,
        "threads": threads,
        "duration_s": duration,
        "workers": workers,
        "vendors": vendors,
        "database": "postgresql" if database_url else "sqlite",
        "server": f"tfs serve --workers {workers}; TFS_RATE_LIMIT={UNLIMITED} (on, never hit)",
        "wall_s": round(time.monotonic() - began, 1),
    }
    data = report.to_json(results, settings)
    report.write_json(json_path, data)
    click.echo("")
    click.echo(report.table(results, data))
    click.echo(f"\nJSON: {json_path}" + (f"; kept: {run_dir}" if keep else ""))
    if any(r.lost for r in results):
        click.echo("error: acknowledged updates are missing from the database", err=True)
        sys.exit(1)
    if any(r.acknowledged == 0 for r in results):
        click.echo("error: the service acknowledged no request (see the first non-2xx)", err=True)
        sys.exit(1)


@contextlib.contextmanager
def _removed_if_empty(directory: Path) -> Iterator[None]:
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            directory.rmdir()  # only when empty: a kept or failed run stays


COMMANDS = (bench,)
