"""The server under test, in a subprocess started as users start it, and its memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT_S = 60
SAMPLE_EVERY_S = 0.25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def service_command(port: int, workers: int) -> list[str]:
    """`tfs serve`, from the same installation as this process."""
    tfs = Path(sys.executable).with_name("tfs")
    start = (
        [str(tfs)] if tfs.exists() else [sys.executable, "-c", "from tfs.cli import main; main()"]
    )
    return [*start, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


def echo_command(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "tfs.bench.echo", "--port", str(port), "--workers", str(workers)]


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(root: int) -> float:
    """User and system CPU time used so far by the process and its descendants (/proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def process_tree(root: int) -> list[int]:
    """The process and all its descendants (uvicorn's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


@dataclass
class Memory:
    """Resident memory of the server's processes, sampled in the background."""

    root: int
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, total kB, max kB)

    def sample(self) -> None:
        sizes = [_rss_kb(pid) for pid in process_tree(self.root)]
        self.samples.append((time.monotonic(), sum(sizes), max(sizes, default=0)))

    def between(self, start: float, stop: float) -> list[tuple[float, int, int]]:
        return [s for s in self.samples if start <= s[0] <= stop]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str  # origin, e.g. http://127.0.0.1:8123
    memory: Memory
    log: Path


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {READY_TIMEOUT_S} s (log: {log})")


@contextmanager
def running(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[Server]:
    """Start the server, wait until it answers, sample its memory; stop it afterwards."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    memory = Memory(process.pid)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_EVERY_S):
            memory.sample()

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        _wait_ready(process, url, log)
        memory.sample()
        sampler.start()
        yield Server(process, url, memory, log)
    finally:
        stop.set()
        if sampler.is_alive():
            sampler.join()
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # any worker left in the group this run started
