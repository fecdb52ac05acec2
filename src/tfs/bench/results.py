"""What a run measured, as plain data (the JSON report is these dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .plan import ITEMS_PER_ORDER
from .wrk import WrkResult


@dataclass
class Figures:
    """One wrk run against one server."""

    requests: int
    duration_s: float
    rps: float
    non_2xx: int
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]  # mean, p50, p90, p99, p999, max
    first_failure: str = ""
    rss_peak_mb: float | None = None

    @classmethod
    def of(cls, result: WrkResult) -> Figures:
        return cls(
            requests=result.requests,
            duration_s=round(result.duration_s, 3),
            rps=round(result.rps, 1),
            non_2xx=result.non_2xx,
            statuses=result.statuses,
            socket_errors=result.socket_errors,
            latency_ms={k: round(v, 2) for k, v in result.latency_ms.items()},
            first_failure=result.failure,
        )


@dataclass
class Memory:
    """Resident memory of the server, all its processes together (uvicorn's workers too)."""

    peak_mb: float  # during the measured run
    start_mb: float  # first and last sample of the measured run: growth shows here
    end_mb: float
    peak_process_mb: float  # the largest single process
    peak_whole_life_mb: float  # probes and start-up included
    every_5s_mb: list[float] = field(default_factory=list)  # over the measured run

    @classmethod
    def of(cls, window: list[tuple[float, int, int]], peak_all_kb: int) -> Memory:
        def mb(kb: int) -> float:
            return round(kb / 1024, 1)

        if not window:
            return cls(0.0, 0.0, 0.0, 0.0, mb(peak_all_kb))
        return cls(
            peak_mb=mb(max(s[1] for s in window)),
            start_mb=mb(window[0][1]),
            end_mb=mb(window[-1][1]),
            peak_process_mb=mb(max(s[2] for s in window)),
            peak_whole_life_mb=mb(peak_all_kb),
            every_5s_mb=_every(window, 5.0),
        )


def _every(window: list[tuple[float, int, int]], seconds: float) -> list[float]:
    """Total RSS (MB) sampled every so many seconds: flat, or growing."""
    out, due = [], window[0][0]
    for t, total_kb, _ in window:
        if t >= due:
            out.append(round(total_kb / 1024, 1))
            due = t + seconds
    return out


@dataclass
class ConfigResult:
    database: str  # "sqlite" | "postgresql"
    orders_stored: int
    orders_updated: int
    batch: int
    orders_per_request: float  # as sent (a vendor's last batch may be smaller)
    connections: int
    threads: int
    workers: int
    duration_s: float
    service: Figures
    echo: Figures
    orders_per_s: float
    memory: Memory
    acknowledged: int  # requests answered 2xx, probes included
    checked_orders: int
    lost: int  # acknowledged updates not found in the database
    lost_examples: list[str]
    refused_orders: int  # orders a 2xx answer marked FAILED (none expected)
    corpus_requests: int
    corpus_mb: float
    sign_s: float
    probe_rps: float
    rounds: int  # updates each order had received, at most, by the end
    load_s: float
    cpu_ms_per_request: float = 0.0
    notes: list[str] = field(default_factory=list)
    work_dir: str | None = None
    database_url: str | None = None

    @property
    def item_updates_per_s(self) -> float:
        return round(self.orders_per_s * ITEMS_PER_ORDER, 1)

    @property
    def ratio(self) -> float:
        return round(self.service.rps / self.echo.rps, 4) if self.echo.rps else 0.0

    @property
    def us_per_order(self) -> float:
        return round(1e6 / self.orders_per_s, 1) if self.orders_per_s else 0.0


@dataclass
class WorkloadResult:
    """One catalog workload, measured against the running service."""

    name: str
    what: str
    service: Figures
    cpu_ms_per_request: float
    bytes_per_answer: int  # headers included
    acknowledged: int  # requests answered 2xx, probes included
    memory: Memory
    corpus_requests: int
    sign_s: float
    probe_rps: float
    ratio_to_echo: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class CatalogResult:
    """`tfs bench --catalog`: the import, then each workload against one running service."""

    database: str
    catalogs: int
    leaves: int
    items: int
    items_per_leaf: int
    languages: list[str]
    document_mb: float
    parse_s: float  # the document checked and normalised (tfs.catalog.document.parse)
    import_s: float  # import_catalog: the one transaction that stores it
    connections: int
    threads: int
    workers: int
    duration_s: float
    echo: Figures
    workloads: list[WorkloadResult]
    notes: list[str] = field(default_factory=list)
    work_dir: str | None = None
