"""`tfs bench` end to end on a tiny configuration, and its check catching a lost update.

No timings are asserted: only that the benchmark runs, reports, and tells stored from lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from tfs.bench.plan import Workload, step
from tfs.bench.verify import check_acknowledged, expectations
from tfs.bench.wrk import wrk_binary
from tfs.cli import main
from tfs.db.engine import make_engine
from tfs.db.tables import item_history, order_items, orders

needs_wrk = pytest.mark.skipif(
    wrk_binary() is None, reason="wrk is not installed (apt-get install -y wrk)"
)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("bench")
    out = work / "bench.json"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            "--orders", "200",
            "--duration", "2",
            "--connections", "2",
            "--work-dir", str(work),
            "--json-out", str(out),
            "--keep",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    report: dict[str, Any] = json.loads(out.read_text())
    report["output"] = result.output
    return report


@needs_wrk
@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_and_reports(bench_run: dict[str, Any]) -> None:
    (config,) = bench_run["configs"]
    assert config["database"] == "sqlite"
    assert config["orders_stored"] == 200
    assert config["service"]["requests"] > 0
    assert config["acknowledged"] > 0
    assert config["lost"] == 0
    assert config["echo"]["requests"] > 0
    assert config["memory"]["peak_mb"] > 0
    assert {"p50", "p90", "p99", "max"} <= set(config["service"]["latency_ms"])
    assert config["ratio_to_echo"] > 0
    assert "echo req/s" in bench_run["output"]


def _kept(bench_run: dict[str, Any]) -> tuple[Workload, list[str], str]:
    (config,) = bench_run["configs"]
    directory = Path(config["work_dir"])
    acked = (directory / "acked.txt").read_text().split()
    return Workload.load(directory / "workload.json"), acked, config["database_url"]


@needs_wrk
@pytest.mark.slow
def test_the_check_catches_a_lost_update(bench_run: dict[str, Any]) -> None:
    workload, acked, url = _kept(bench_run)
    expected = expectations(workload, acked)
    engine = make_engine(url)
    try:
        assert check_acknowledged(engine, expected) == []
        # Revert one acknowledged order: status back to Pending, its vendor notes gone.
        victim = next(e for e in expected if e.min_status != "Pending")
        with engine.begin() as conn:
            conn.execute(
                update(order_items)
                .where(order_items.c.mc_order_id == victim.mc_order_id)
                .values(status="Pending")
            )
            conn.execute(
                update(orders)
                .where(orders.c.mc_order_id == victim.mc_order_id)
                .values(status="Pending")
            )
            pks = select(order_items.c.item_pk).where(
                order_items.c.mc_order_id == victim.mc_order_id
            )
            conn.execute(delete(item_history).where(item_history.c.item_pk.in_(pks)))
        problems = check_acknowledged(engine, expected)
    finally:
        engine.dispose()
    assert problems
    assert all(victim.mc_order_id in p for p in problems)


def test_the_corpus_only_moves_orders_forward_with_unique_bodies() -> None:
    workload = Workload("t", orders=120, active=120, vendors=4, batch=10, threads=2)
    seen: set[bytes] = set()
    rank = {"Pending": 0, "Processing": 1, "Shipped": 2, "Delivered": 3}
    last: Counter[str] = Counter()
    for thread in range(2):
        for index in range(60):
            spec = workload.request(thread, index)
            body = workload.body(spec)
            assert body not in seen
            seen.add(body)
            for order in json.loads(body):
                status = order["orderItems"][0]["status"]
                assert rank[status] >= last[order["mcOrderId"]]
                last[order["mcOrderId"]] = rank[status]
    assert step(0).status == "Processing" and step(1).tracked and step(6).status == "Delivered"


def test_a_missing_wrk_is_reported_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tfs.bench.command.wrk_binary", lambda: None)
    result = CliRunner().invoke(main, ["bench"])
    assert result.exit_code == 3
    assert "apt-get install -y wrk" in result.output


@needs_wrk
@pytest.mark.slow
def test_compare_benchmarks_another_checkout_in_turn_and_gives_ratios(tmp_path: Path) -> None:
    """The reference here is this checkout itself (its .venv): both sides run, in turn, and
    each figure comes with the two medians and their ratio."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [
            sys.executable, "-c", "from tfs.cli import main; main()", "bench",
            "--compare", str(root), "--rounds", "1",
            "--orders", "200", "--duration", "1", "--connections", "2",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "round 1/1: reference" in done.stdout and "round 1/1: this" in done.stdout
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("sqlite 200 B=10")]
    figures = {" ".join(r[3:-3]): r[-3:] for r in rows}
    assert set(figures) == {"req/s", "cpu ms/req", "p99 ms"}
    for reference, this, ratio in figures.values():
        assert float(reference.replace(",", "")) > 0 and float(this.replace(",", "")) > 0
        assert float(ratio) > 0


@needs_wrk
@pytest.mark.slow
def test_compare_takes_the_catalog_mode_too(tmp_path: Path) -> None:
    """The same with --catalog: each workload's figures, both medians and their ratio."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [
            sys.executable, "-c", "from tfs.cli import main; main()", "bench", "--catalog",
            "--compare", str(root), "--rounds", "1", "--catalogs", "12", "--items", "300",
            "--workloads", "leaf,catalogs", "--duration", "1", "--connections", "2",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("sqlite ")]
    figures = {(r[1], " ".join(r[2:-3])): r[-3:] for r in rows}
    assert set(figures) == {
        (workload, figure)
        for workload in ("leaf", "catalogs")
        for figure in ("req/s", "cpu ms/req", "p99 ms")
    }
    for reference, this, ratio in figures.values():
        assert float(reference.replace(",", "")) > 0 and float(this.replace(",", "")) > 0
        assert float(ratio) > 0


@needs_wrk
@pytest.mark.slow
def test_the_catalog_mode_runs_every_workload_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "catalog.json"
    result = CliRunner().invoke(
        main,
        [
            "bench", "--catalog",
            "--catalogs", "12", "--items", "300",
            "--duration", "1", "--connections", "2",
            "--work-dir", str(tmp_path), "--json-out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    report = json.loads(out.read_text())
    catalog = report["catalog"]
    assert catalog["items"] == 300 and catalog["catalogs"] == 12
    assert catalog["import_s"] > 0
    workloads = {w["name"]: w for w in catalog["workloads"]}
    assert set(workloads) == {
        "leaf", "leaf-distinct", "keyword-repeat", "keyword-distinct", "catalogs",
    }  # fmt: skip
    for w in workloads.values():
        assert w["acknowledged"] > 0, w["name"]
        assert w["service"]["requests"] > 0 and w["service"]["non_2xx"] == 0, w["service"]
        assert w["ratio_to_echo"] > 0
    # A rare word matches one item: the answer is more than an empty list, less than a leaf's.
    keyword, leaf = workloads["keyword-distinct"], workloads["leaf"]
    assert 400 < keyword["bytes_per_answer"] < leaf["bytes_per_answer"]
    assert catalog["echo"]["requests"] > 0
    assert {t["target"].split(":")[0] for t in report["targets"]} >= {"leaf", "keyword-distinct"}
    assert "keyword-distinct" in result.output and "echo" in result.output


def test_the_catalog_queries_are_distinct_where_they_should_be() -> None:
    from tfs.bench.catalog import CatalogPlan

    plan = CatalogPlan(1, levels=12, items=50, threads=2)
    distinct = [plan.query("keyword-distinct", k) for k in range(500)]
    assert len(set(distinct)) == 500
    assert len({plan.query("leaf-distinct", k) for k in range(500)}) == 500
    assert len({plan.query("keyword-repeat", k) for k in range(500)}) <= 64
    assert len({plan.query("leaf", k) for k in range(500)}) == 2 * len(plan.leaves)
