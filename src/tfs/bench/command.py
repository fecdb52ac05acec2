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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click

from . import dataset, report
from .catalog import WORKLOADS as CATALOG_WORKLOADS
from .catalog import CatalogOptions, run_catalog
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
    "both are benchmarked in turn, the same options, and compared (with --catalog too).",
)
@click.option("--rounds", default=2, show_default=True, help="Interleaved rounds with --compare.")
@click.option(
    "--catalog",
    is_flag=True,
    help="Measure the catalog's reads instead (getItems of a leaf, keyword searches, "
    "getCatalogs); --orders, --batch, --vendors and --scale do not apply.",
)
@click.option("--catalogs", default=200, show_default=True, help="With --catalog: levels.")
@click.option("--items", default=20_000, show_default=True, help="With --catalog: reward items.")
@click.option(
    "--workloads",
    default=None,
    help="With --catalog: some of " + ", ".join(CATALOG_WORKLOADS) + " (comma-separated; "
    "default all).",
)
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
    catalog: bool,
    catalogs: int,
    items: int,
    workloads: str | None,
) -> None:
    """Measure the status-update endpoint under wrk against a bare ASGI echo; check every
    acknowledged update is stored. Loopback only; a default run takes about a minute.
    With --catalog, the catalog's reads instead."""
    if catalog:
        if scale:
            raise click.UsageError("--catalog does not go with --scale")
        names = _workloads(workloads)
        if compare_ref is not None:
            from .compare import compare

            args = [
                "--catalog", "--catalogs", str(catalogs), "--items", str(items),
                "--workloads", ",".join(names), "--connections", str(connections),
                "--threads", str(threads), "--duration", str(duration),
                "--workers", str(workers),
                *(["--database-url", database_url] if database_url else []),
            ]  # fmt: skip
            sys.exit(compare(compare_ref, args, max(1, rounds)))
        _catalog_bench(
            CatalogSettings(
                catalogs, items, names, connections, threads, duration, workers, database_url,
                json_out, work_dir, keep,
            )
        )  # fmt: skip
        return
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


def _workloads(value: str | None) -> tuple[str, ...]:
    if value is None:
        return tuple(CATALOG_WORKLOADS)
    names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    unknown = [n for n in names if n not in CATALOG_WORKLOADS]
    if unknown or not names:
        raise click.BadParameter(
            f"workloads are some of {', '.join(CATALOG_WORKLOADS)}", param_hint="--workloads"
        )
    return names


@dataclass(frozen=True)
class CatalogSettings:
    catalogs: int
    items: int
    workloads: tuple[str, ...]
    connections: int
    threads: int
    duration: float
    workers: int
    database_url: str | None
    json_out: Path | None
    work_dir: Path | None
    keep: bool


def _catalog_bench(s: CatalogSettings) -> None:
    if wrk_binary() is None:
        click.echo(f"error: {INSTALL_HINT}", err=True)
        sys.exit(3)
    if s.database_url is not None and (why := dataset.check_server_url(s.database_url)):
        raise click.BadParameter(why, param_hint="--database-url")
    if (
        s.catalogs < 3
        or s.items < 1
        or min(s.threads, s.workers) < 1
        or s.connections < s.threads
        or s.duration <= 0
    ):
        raise click.UsageError(
            "--catalog needs at least 3 catalogs and 1 item; workers and threads at least 1, "
            "duration above 0, and connections at least threads"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = s.json_out or Path("var/bench") / f"bench-catalog-{stamp}.json"
    base = s.work_dir or Path("var/bench")
    base.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"tfs-bench-{stamp}-", dir=base))
    began = time.monotonic()
    with (
        multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1) as pool,
        _removed_if_empty(run_dir),
    ):
        session = Session(pool, [dataset.new_private_key()], click.echo)
        click.echo(
            f"{'postgresql' if s.database_url else 'sqlite'}: catalog of {s.catalogs} catalogs, "
            f"{s.items:,} items; {s.connections} connections, {s.duration:g} s per workload"
        )
        options = CatalogOptions(
            s.catalogs, s.items, s.workloads, s.connections, s.threads, s.duration, s.workers,
            s.database_url, run_dir, s.keep,
        )  # fmt: skip
        try:
            result = run_catalog(options, session)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            raise click.ClickException(f"{exc} (files kept in {run_dir})") from None
    settings = {
        "mode": "catalog",
        "catalogs": s.catalogs,
        "items": s.items,
        "workloads": list(s.workloads),
        "connections": s.connections,
        "threads": s.threads,
        "duration_s": s.duration,
        "workers": s.workers,
        "database": "postgresql" if s.database_url else "sqlite",
        "server": f"tfs serve --workers {s.workers}; TFS_RATE_LIMIT={UNLIMITED} (on, never hit)",
        "wall_s": round(time.monotonic() - began, 1),
    }
    data = report.catalog_json(result, settings)
    report.write_json(json_path, data)
    click.echo("")
    click.echo(report.catalog_table(result, data))
    click.echo(f"\nJSON: {json_path}" + (f"; kept: {run_dir}" if s.keep else ""))
    if any(w.service.non_2xx or w.acknowledged == 0 for w in result.workloads):
        click.echo("error: the service refused or failed catalog reads (see above)", err=True)
        sys.exit(1)


@contextlib.contextmanager
def _removed_if_empty(directory: Path) -> Iterator[None]:
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            directory.rmdir()  # only when empty: a kept or failed run stays


COMMANDS = (bench,)
