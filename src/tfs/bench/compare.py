"""`tfs bench --compare REF`: this checkout and another one (a `git worktree` with its own
`.venv`), benchmarked in turn on the same machine in one run, and their ratio; with
`--catalog`, the catalog's workloads."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def _rps(c: dict[str, Any]) -> float | None:
    return float(c["service"]["rps"])


def _cpu(c: dict[str, Any]) -> float | None:
    value = c.get("cpu_ms_per_request")  # not reported by older checkouts
    return float(value) if value else None


def _p99(c: dict[str, Any]) -> float | None:
    return float(c["service"]["latency_ms"]["p99"])


# The figures compared, as `tfs bench --json-out` writes them per configuration.
FIGURES: tuple[tuple[str, Callable[[dict[str, Any]], float | None]], ...] = (
    ("req/s", _rps),
    ("cpu ms/req", _cpu),
    ("p99 ms", _p99),
)


def reference_command(ref: Path) -> list[str]:
    tfs = ref / ".venv" / "bin" / "tfs"
    if not tfs.exists():
        raise click.BadParameter(
            f"{tfs} not found: set the checkout up first (cd {ref} && make install)",
            param_hint="--compare",
        )
    return [str(tfs), "bench"]


def _configs(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A run's measured configurations by name: the status mode's by database, orders stored
    and B; the catalog mode's (`--catalog`) by database and workload. Each has the figures."""
    if "catalog" in doc:
        catalog = doc["catalog"]
        return [(f"{catalog['database']} {w['name']}", w) for w in catalog["workloads"]]
    return [(f"{c['database']} {c['orders_stored']:,} B={c['batch']}", c) for c in doc["configs"]]


def summary(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per configuration and figure: the median of each side's runs and their ratio (this /
    reference). `runs` maps "this" and "reference" to the JSON documents of their runs."""
    rows = []
    keys = list(dict.fromkeys(k for doc in runs["this"] for k, _ in _configs(doc)))
    for key in keys:
        for name, figure in FIGURES:
            medians: dict[str, float | None] = {}
            for side in ("reference", "this"):
                values = [
                    v
                    for doc in runs[side]
                    for k, c in _configs(doc)
                    if k == key and (v := figure(c)) is not None
                ]
                medians[side] = statistics.median(values) if values else None
            ref, this = medians["reference"], medians["this"]
            ratio = round(this / ref, 2) if ref and this is not None else None
            rows.append(
                {"config": key, "figure": name, "reference": ref, "this": this, "ratio": ratio}
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    def show(v: float | None) -> str:
        return "-" if v is None else f"{v:,.2f}"

    lines = [f"{'config':<28}{'figure':<12}{'reference':>12}{'this':>12}{'ratio':>8}"]
    for r in rows:
        lines.append(
            f"{r['config']:<28}{r['figure']:<12}{show(r['reference']):>12}{show(r['this']):>12}"
            f"{show(r['ratio']):>8}"
        )
    return "\n".join(lines)


def compare(ref: Path, args: list[str], rounds: int) -> int:
    """Run the reference's bench and this one's in turn, `rounds` times, with the same `args`;
    print the medians and ratios. The exit code is the worst of the runs'."""
    commands = {
        "reference": reference_command(ref),
        "this": [sys.executable, "-c", "from tfs.cli import main; main()", "bench"],
    }
    runs: dict[str, list[dict[str, Any]]] = {"reference": [], "this": []}
    worst = 0
    with tempfile.TemporaryDirectory(prefix="tfs-compare-") as tmp:
        for n in range(rounds):
            for side, command in commands.items():  # interleaved: drift hits both alike
                out = Path(tmp) / f"{side}-{n}.json"
                click.echo(f"round {n + 1}/{rounds}: {side}")
                done = subprocess.run(  # noqa: S603 - our own command lines
                    [*command, *args, "--json-out", str(out)], check=False
                )
                worst = max(worst, done.returncode)
                if out.exists():
                    runs[side].append(json.loads(out.read_text()))
    if not runs["this"] or not runs["reference"]:
        click.echo("error: a side produced no figures", err=True)
        return worst or 1
    click.echo("")
    click.echo(f"this checkout against {ref}, median of {rounds} interleaved rounds:")
    click.echo(table(summary(runs)))
    return worst
