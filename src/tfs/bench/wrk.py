"""Driving a server with wrk: the Lua script, the command, and what it reports back.

Each wrk thread reads its own corpus file, one request per call of request(), wrapping around at
the end (counted: a wrapped service run repeats nonces and is refused). response() notes the
correlation id of every 2xx answer, so the run leaves the list of acknowledged requests; done()
writes the latency percentiles and counts to `summary.json`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = (
    "wrk is not installed (it drives the load). On Debian or Ubuntu: "
    "`sudo apt-get update && sudo apt-get install -y wrk`; on macOS: `brew install wrk`."
)

LUA = r"""
local out = [==[%(out)s]==]
local files = {%(files)s}
local threads, count = {}, 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  thread:set("path", files[count])
  table.insert(threads, thread)
end

function init(args)
  f = assert(io.open(path, "rb"))
  sent, wraps, statuses, acked, partial, failure = 0, 0, {}, {}, {}, ""
end

function request()
  if f == nil then return wrk.format("GET", "/health") end  -- wrk's own check, before init()
  local head = f:read(11)
  if head == nil then
    wraps = wraps + 1
    f:seek("set", 0)
    head = f:read(11)
  end
  sent = sent + 1
  return f:read(tonumber(head))
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  local cid = headers["x-correlation-id"] or "?"
  if status >= 200 and status < 300 then
    acked[#acked + 1] = cid
    if string.find(body, '"FAILED"', 1, true) then
      partial[#partial + 1] = cid .. "\t" .. string.gsub(body, "[\r\n]", " ")
    end
  elseif failure == "" then
    failure = key .. " " .. string.sub(string.gsub(body, "[\r\n]", " "), 1, 600)
  end
end

local function save(name, lines)
  local file = assert(io.open(out .. "/" .. name, "w"))
  for _, line in ipairs(lines) do file:write(line, "\n") end
  file:close()
end

function done(summary, latency, requests)
  local e = summary.errors
  local parts = {}
  for i, t in ipairs(threads) do
    save("acked-" .. i .. ".txt", t:get("acked"))
    save("partial-" .. i .. ".txt", t:get("partial"))
    save("failure-" .. i .. ".txt", {t:get("failure")})
    local codes = {}
    for k, v in pairs(t:get("statuses")) do codes[#codes + 1] = '"' .. k .. '": ' .. v end
    parts[#parts + 1] = string.format('{"sent": %%d, "wraps": %%d, "statuses": {%%s}}',
      t:get("sent"), t:get("wraps"), table.concat(codes, ", "))
  end
  local file = assert(io.open(out .. "/summary.json", "w"))
  file:write(string.format(
    '{"duration_us": %%d, "requests": %%d, "bytes": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"mean": %%.1f, "max": %%d, ' ..
    '"p50": %%d, "p90": %%d, "p99": %%d, "p999": %%d}, ' ..
    '"threads": [%%s]}',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), table.concat(parts, ", ")))
  file:close()
end
"""


@dataclass
class WrkResult:
    duration_s: float
    requests: int
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]  # mean, p50, p90, p99, p999, max
    sent: list[int]  # per thread: requests taken from its corpus file
    wraps: int  # times a thread went back to the start of its file
    acked: list[str] = field(repr=False)  # correlation ids answered 2xx
    partial: dict[str, bytes] = field(repr=False)  # 2xx answers with FAILED orders, by id
    failure: str = ""  # the first non-2xx answer, for the report
    bytes: int = 0  # read from the server, headers included

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    url: str,
    files: list[Path],
    out: Path,
    *,
    connections: int,
    duration_s: float,
    timeout_s: int = 10,
) -> WrkResult:
    binary = wrk_binary()
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    out.mkdir(parents=True, exist_ok=True)
    script = out / "corpus.lua"
    listed = ", ".join(f"[==[{f.resolve()}]==]" for f in files)
    script.write_text(LUA % {"out": out.resolve(), "files": listed})
    command = [binary, "-t", str(len(files)), "-c", str(connections)]
    command += ["-d", f"{max(1, round(duration_s))}s", "--timeout", f"{timeout_s}s"]
    command += ["-s", str(script), url]
    with (out / "wrk.out").open("wb") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)  # noqa: S603
    return read_result(out, len(files))


def read_result(out: Path, threads: int) -> WrkResult:
    summary = json.loads((out / "summary.json").read_text())
    acked: list[str] = []
    partial: dict[str, bytes] = {}
    failure = ""
    for t in range(1, threads + 1):
        acked += (out / f"acked-{t}.txt").read_text().split()
        for line in (out / f"partial-{t}.txt").read_text().splitlines():
            cid, _, body = line.partition("\t")
            partial[cid] = body.encode()
        failure = failure or (out / f"failure-{t}.txt").read_text().strip()
    statuses: dict[int, int] = {}
    for thread in summary["threads"]:
        for status, n in thread["statuses"].items():
            statuses[int(status)] = statuses.get(int(status), 0) + n
    latency = {k: v / 1000 for k, v in summary["latency_us"].items()}
    return WrkResult(
        duration_s=summary["duration_us"] / 1e6,
        requests=summary["requests"],
        statuses=statuses,
        socket_errors={k: v for k, v in summary["errors"].items() if k != "status"},
        latency_ms=latency,
        sent=[t["sent"] for t in summary["threads"]],
        wraps=sum(t["wraps"] for t in summary["threads"]),
        acked=acked,
        partial=partial,
        failure=failure,
        bytes=summary["bytes"],
    )
