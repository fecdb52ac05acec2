"""The table printed at the end of `tfs bench`, and the JSON written beside it."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .results import CatalogResult, ConfigResult, WorkloadResult
from .wrk import wrk_binary


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    wrk = wrk_binary()
    version = ""
    if wrk:
        run = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
        text = (run.stdout or run.stderr).strip()
        version = text.splitlines()[0].partition(" Copyright")[0] if text else ""
    return {
        "cpus": os.cpu_count(),
        "cpu": model or platform.processor(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": version,
    }


def to_json(results: list[ConfigResult], settings: dict[str, Any]) -> dict[str, Any]:
    configs = [
        asdict(r)
        | {
            "item_updates_per_s": r.item_updates_per_s,
            "ratio_to_echo": r.ratio,
            "us_per_order": r.us_per_order,
        }
        for r in results
    ]
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": settings,
        "configs": configs,
    }
    stored = sorted({r.orders_stored for r in results})
    if len(stored) > 1:
        report["scale"] = [
            {
                "batch": small.batch,
                "database": small.database,
                "orders_stored": [small.orders_stored, large.orders_stored],
                "rps": [small.service.rps, large.service.rps],
                "ratio": round(large.service.rps / small.service.rps, 3),
            }
            for small, large in _scale_pairs(results, stored[0], stored[-1])
        ]
    return report


def _scale_pairs(
    results: list[ConfigResult], small: int, large: int
) -> list[tuple[ConfigResult, ConfigResult]]:
    by_key = {(r.database, r.batch, r.orders_stored): r for r in results}
    return [
        (r, by_key[(r.database, r.batch, large)])
        for r in results
        if r.orders_stored == small and (r.database, r.batch, large) in by_key
    ]


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


Cell = Callable[[ConfigResult], str]
COLUMNS: list[tuple[str, int, Cell]] = [
    ("database", 10, lambda r: r.database),
    ("stored", 9, lambda r: f"{r.orders_stored:,}"),
    ("B", 4, lambda r: str(r.batch)),
    ("req/s", 8, lambda r: f"{r.service.rps:,.0f}"),
    ("orders/s", 9, lambda r: f"{r.orders_per_s:,.0f}"),
    ("items/s", 9, lambda r: f"{r.item_updates_per_s:,.0f}"),
    ("us/order", 9, lambda r: f"{r.us_per_order:,.0f}"),
    ("cpu ms/req", 10, lambda r: f"{r.cpu_ms_per_request:.2f}"),
    ("p50 ms", 7, lambda r: f"{r.service.latency_ms['p50']:.1f}"),
    ("p90 ms", 7, lambda r: f"{r.service.latency_ms['p90']:.1f}"),
    ("p99 ms", 7, lambda r: f"{r.service.latency_ms['p99']:.1f}"),
    ("max ms", 7, lambda r: f"{r.service.latency_ms['max']:.0f}"),
    ("non-2xx", 7, lambda r: str(r.service.non_2xx)),
    (
        "RSS MB",
        13,
        lambda r: f"{r.memory.peak_mb:.0f} ({r.memory.start_mb:.0f}>{r.memory.end_mb:.0f})",
    ),
    ("echo req/s", 10, lambda r: f"{r.echo.rps:,.0f}"),
    ("ratio", 6, lambda r: f"{r.ratio:.3f}"),
    ("lost", 5, lambda r: str(r.lost)),
]


def table(results: list[ConfigResult], report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"tfs bench, {report['date']}: {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, "
        f"{m['wrk']}",
        "",
        "  ".join(name.rjust(width) for name, width, _ in COLUMNS),
    ]
    for r in results:
        lines.append("  ".join(cell(r).rjust(width) for _, width, cell in COLUMNS))
    lines.append("")
    lines.append(
        "req/s: all answers; orders/s and items/s: applied updates; RSS: peak (start>end of the "
        "run); ratio: service req/s / echo req/s; lost: acknowledged updates not stored."
    )
    for r in results:
        e = r.echo
        lines.append(
            f"{r.database} B={r.batch} stored={r.orders_stored:,}: {r.connections} connections, "
            f"{r.threads} wrk threads, {r.workers} worker(s), {r.duration_s:g} s; "
            f"{r.acknowledged:,} requests acknowledged, {r.checked_orders:,} orders checked, "
            f"{r.refused_orders} refused; up to {r.rounds} updates per order; corpus "
            f"{r.corpus_requests:,} requests ({r.corpus_mb} MB, signed in {r.sign_s} s); "
            f"echo p50/p99/max {e.latency_ms['p50']:.1f}/{e.latency_ms['p99']:.1f}/"
            f"{e.latency_ms['max']:.0f} ms"
        )
        lines += [f"  note: {n}" for n in r.notes]
        lines += [f"  LOST: {x}" for x in r.lost_examples]
        if r.service.first_failure:
            lines.append(f"  first non-2xx answer: {r.service.first_failure[:300]}")
    by_batch: dict[tuple[str, int], list[ConfigResult]] = {}
    for r in results:
        by_batch.setdefault((r.database, r.orders_stored), []).append(r)
    for (database, stored), rs in by_batch.items():
        if len(rs) > 1:
            costs = ", ".join(f"B={r.batch}: {r.us_per_order:,.0f}" for r in rs)
            lines.append(f"per-order cost ({database}, {stored:,} stored), us per order: {costs}")
    for s in report.get("scale", []):
        lines.append(
            f"scale ({s['database']}, B={s['batch']}): {s['rps'][0]:,.0f} req/s with "
            f"{s['orders_stored'][0]:,} orders stored, {s['rps'][1]:,.0f} with "
            f"{s['orders_stored'][1]:,}: ratio {s['ratio']:.2f}"
        )
    return "\n".join(lines)


# The catalog mode's targets (the project's issue): what the table checks.
IMPORT_TARGET_S = 10.0
LEAF_RATIO_TARGET = 0.25
KEYWORD_P99_TARGET_MS = 50.0


def catalog_json(result: CatalogResult, settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": settings,
        "catalog": asdict(result),
        "targets": catalog_targets(result),
    }


def catalog_targets(result: CatalogResult) -> list[dict[str, Any]]:
    """Each target of the issue, the figure measured, and whether it is met."""
    out: list[dict[str, Any]] = [
        {
            "target": f"import < {IMPORT_TARGET_S:g} s",
            "value": round(result.parse_s + result.import_s, 2),
            "met": result.parse_s + result.import_s < IMPORT_TARGET_S,
        }
    ]
    for w in result.workloads:
        if w.name.startswith("leaf"):
            out.append(
                {
                    "target": f"{w.name}: req/s >= {LEAF_RATIO_TARGET} of the echo",
                    "value": w.ratio_to_echo,
                    "met": w.ratio_to_echo >= LEAF_RATIO_TARGET,
                }
            )
        if w.name.startswith("keyword"):
            p99 = w.service.latency_ms["p99"]
            out.append(
                {
                    "target": f"{w.name}: p99 <= {KEYWORD_P99_TARGET_MS:g} ms",
                    "value": p99,
                    "met": p99 <= KEYWORD_P99_TARGET_MS,
                }
            )
    return out


WCell = Callable[[WorkloadResult], str]
CATALOG_COLUMNS: list[tuple[str, int, WCell]] = [
    ("workload", 16, lambda w: w.name),
    ("req/s", 8, lambda w: f"{w.service.rps:,.0f}"),
    ("cpu ms/req", 10, lambda w: f"{w.cpu_ms_per_request:.2f}"),
    ("p50 ms", 7, lambda w: f"{w.service.latency_ms['p50']:.1f}"),
    ("p90 ms", 7, lambda w: f"{w.service.latency_ms['p90']:.1f}"),
    ("p99 ms", 7, lambda w: f"{w.service.latency_ms['p99']:.1f}"),
    ("max ms", 7, lambda w: f"{w.service.latency_ms['max']:.0f}"),
    ("KB/answer", 9, lambda w: f"{w.bytes_per_answer / 1000:,.1f}"),
    ("non-2xx", 7, lambda w: str(w.service.non_2xx)),
    ("acked", 8, lambda w: f"{w.acknowledged:,}"),
    ("RSS MB", 6, lambda w: f"{w.memory.peak_mb:.0f}"),
    ("ratio", 6, lambda w: f"{w.ratio_to_echo:.3f}"),
]


def catalog_table(result: CatalogResult, report: dict[str, Any]) -> str:
    m, r, e = report["machine"], result, result.echo
    lines = [
        f"tfs bench --catalog, {report['date']}: {m['cpus']} CPUs ({m['cpu']}), Python "
        f"{m['python']}, {m['wrk']}",
        f"{r.database}: {r.catalogs} catalogs ({r.leaves} leaves, about {r.items_per_leaf} items "
        f"each), {r.items:,} items in {len(r.languages)} languages, document "
        f"{r.document_mb} MB: parsed in {r.parse_s:.2f} s, imported in {r.import_s:.2f} s; "
        f"{r.connections} connections, {r.threads} wrk threads, {r.workers} worker(s), "
        f"{r.duration_s:g} s per workload",
        "",
        "  ".join(name.rjust(width) for name, width, _ in CATALOG_COLUMNS),
    ]
    for w in r.workloads:
        lines.append("  ".join(cell(w).rjust(width) for _, width, cell in CATALOG_COLUMNS))
    lines.append(
        f"{'echo':>16}  {e.rps:>8,.0f}  {'':>10}  {e.latency_ms['p50']:>7.1f}  "
        f"{e.latency_ms['p90']:>7.1f}  {e.latency_ms['p99']:>7.1f}  {e.latency_ms['max']:>7.0f}"
    )
    lines.append("")
    lines.append(
        "req/s: all answers; KB/answer: read from the server, headers included; acked: 2xx, "
        "probes included; ratio: req/s / echo req/s."
    )
    for w in r.workloads:
        lines.append(
            f"{w.name}: {w.what}; corpus {w.corpus_requests:,} requests (signed in {w.sign_s} s)"
        )
        lines += [f"  note: {n}" for n in w.notes]
        if w.service.first_failure:
            lines.append(f"  first non-2xx answer: {w.service.first_failure[:300]}")
    lines += [f"note: {n}" for n in r.notes]
    for t in report["targets"]:
        lines.append(f"target {t['target']}: {t['value']} ({'met' if t['met'] else 'NOT met'})")
    return "\n".join(lines)
