"""What every benchmark figure shares: processes on free ports, a wrk load, repetition statistics.

Figures are ratios to a baseline measured in the same run, interleaved (baseline, candidate, baseline,
…) so that a noisy neighbour slows both sides alike. Absolute numbers are reported too, but only the
ratios are compared with the goals.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence

import httpx

from cli.stack import stop_process

ROOT = pathlib.Path(__file__).resolve().parent.parent


def wait_tcp(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s}s")


@contextlib.contextmanager
def process(args: Sequence[str], *, env: dict[str, str] | None = None, port: int | None = None,
            log: pathlib.Path | None = None) -> Iterator[subprocess.Popen]:
    """Run ``args`` (a Python module command line) until the block ends; wait for ``port``."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=full_env, stdout=out, stderr=out)
    try:
        if port is not None:
            try:
                wait_tcp(port)
            except TimeoutError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}"
                                       + (f"; see {log}" if log else "")) from None
                raise
        yield proc
    finally:
        stop_process(proc)
        if log:
            out.close()


# --------------------------------------------------------------------------------------------------
# Load generation: wrk (closed loop, C, on the same two cores as the servers)
# --------------------------------------------------------------------------------------------------

WRK_SCRIPT = """
wrk.method = %(method)s
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
%(headers)s
done = function(summary, latency, requests)
  io.write(string.format("JSON{\\"requests\\":%%d,\\"errors\\":%%d,\\"non2xx\\":%%d,\\"p50_us\\":%%d,\\"p99_us\\":%%d}\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_str(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid Lua string literal for our inputs


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (Debian) — `make bench` does it")
    return path


def wrk(url: str, *, method: str = "GET", body: str = "", headers: dict[str, str] | None = None,
        duration_s: float = 5.0, connections: int = 32, threads: int = 1,
        timeout_s: float = 10.0) -> dict[str, float]:
    """One closed-loop wrk run; returns requests/s and latency percentiles (ms).

    Any non-2xx answer or socket error fails the run: a benchmark of error pages measures nothing.
    ``timeout_s`` is wrk's per-request timeout (its default, 2 s, is reached on an oversubscribed
    shared host while the servers are merely descheduled)."""
    hdrs = "\n".join(f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}" for k, v in (headers or {}).items())
    script = WRK_SCRIPT % {"method": _lua_str(method), "body": _lua_str(body) if body else "nil",
                           "headers": hdrs}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        proc = subprocess.run([require_wrk(), "-t", str(threads), "-c", str(connections),
                              "-d", f"{max(1, round(duration_s))}s", "--timeout", f"{max(1, round(timeout_s))}s",
                              "-s", f.name, url],
                              capture_output=True, text=True, timeout=duration_s + 60)
        if proc.returncode:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
        out = proc.stdout
    finally:
        os.unlink(f.name)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    j = re.search(r"JSON(\{.*\})", out)
    if not m or not j:
        raise RuntimeError(f"could not parse wrk output:\n{out}")
    stats = json.loads(j.group(1))
    if stats["non2xx"] or stats["errors"]:
        raise RuntimeError(f"{url}: {stats['non2xx']} non-2xx answers and {stats['errors']} socket "
                           f"errors out of {stats['requests']} requests")
    return {"rps": float(m.group(1)), "p50_ms": stats["p50_us"] / 1000, "p99_ms": stats["p99_us"] / 1000,
            "requests": stats["requests"]}


def check_once(url: str, *, method: str = "GET", body: str = "", headers: dict[str, str] | None = None) -> dict:
    """Call the endpoint once before loading it, so a misconfigured figure fails loudly."""
    r = httpx.request(method, url, content=body or None,
                      headers={"content-type": "application/json", **(headers or {})}, timeout=10)
    if r.status_code >= 300:
        raise RuntimeError(f"{method} {url} → {r.status_code} {r.text[:300]}")
    return r.json() if r.content else {}


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time consumed so far by these processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def wrk_with_cpu(url: str, pids: Sequence[int], **kw) -> dict[str, float]:
    """``wrk`` plus the server processes' CPU time per request (µs): unlike req/s, CPU per request
    barely moves when a noisy neighbour takes cores away, so it is the steadier figure on a shared
    host. ``cpu_us_per_req_by_pid`` breaks the total down per process."""
    before = {pid: cpu_seconds([pid]) for pid in pids}
    out = wrk(url, **kw)
    n = max(out["requests"], 1)
    by_pid = {pid: 1e6 * (cpu_seconds([pid]) - t0) / n for pid, t0 in before.items()}
    out["cpu_us_per_req"] = sum(by_pid.values())
    out["cpu_us_per_req_by_pid"] = by_pid
    return out


# --------------------------------------------------------------------------------------------------
# Statistics and results
# --------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Series:
    """Repeated measurements of one quantity."""
    values: list[float] = dataclasses.field(default_factory=list)

    def add(self, v: float) -> None:
        self.values.append(v)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def summary(self) -> dict[str, float | list[float]]:
        med = self.median
        return {"median": round(med, 4), "min": round(min(self.values), 4), "max": round(max(self.values), 4),
                "spread_pct": round(100 * (max(self.values) - min(self.values)) / med, 1) if med else 0.0,
                "runs": [round(v, 4) for v in self.values]}


def interleave(reps: int, runs: dict[str, Callable[[], float]]) -> dict[str, Series]:
    """Run each measurement ``reps`` times, alternating between them, and collect the series."""
    series = {name: Series() for name in runs}
    for _ in range(reps):
        for name, fn in runs.items():
            series[name].add(fn())
    return series


@dataclasses.dataclass
class Figure:
    id: str
    title: str
    unit: str
    candidate: dict
    baseline: dict | None
    ratio: float | None
    goal: str
    met: bool | None
    notes: str = ""
    extra: dict = dataclasses.field(default_factory=dict)

    def line(self) -> str:
        cand = f"{self.candidate['median']:.4g} {self.unit}"
        spread = f"±{self.candidate['spread_pct']}%"
        base = f"{self.baseline['median']:.4g} {self.unit}" if self.baseline else "—"
        ratio = f"{self.ratio:.3f}" if self.ratio is not None else "—"
        verdict = {True: "MET", False: "NOT MET", None: "n/a"}[self.met]
        out = f"{self.id:<4} {self.title:<52} {cand:>16} {spread:>8} {base:>16} {ratio:>7}  {self.goal:<18} {verdict}"
        return out + (f"\n     {self.notes}" if self.notes else "")


def header() -> str:
    return (f"{'id':<4} {'figure':<52} {'candidate':>16} {'spread':>8} {'baseline':>16} {'ratio':>7}  "
            f"{'goal':<18} verdict")


# --------------------------------------------------------------------------------------------------
# PostgreSQL scratch databases
# --------------------------------------------------------------------------------------------------

PG_HOST = os.environ.get("NERAVA_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NERAVA_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("NERAVA_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("NERAVA_TEST_PG_DB", "test")


@contextlib.asynccontextmanager
async def scratch_pg(prefix: str = "nerava_bench"):
    """A fresh PostgreSQL database for one measurement; yields (name, dsn); dropped afterwards."""
    import uuid

    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield name, f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def run_async(coro):
    """Run a measurement's coroutine on uvloop, the event loop every service process runs on."""
    import uvloop

    return uvloop.run(coro)


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes (postmaster, backends, WAL writer, …) for CPU accounting."""
    out = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


async def closed_loop(op: Callable, *, workers: int, duration_s: float,
                      server_pids: Callable[[], Sequence[int]] | None = None) -> dict[str, float]:
    """Run ``await op(worker_index, i)`` in ``workers`` concurrent loops for ``duration_s``; ops/s + latency.

    With ``server_pids`` it also reports CPU per operation (µs): this process's (``client_cpu_us``)
    and the server processes' (``server_cpu_us``), like ``wrk_with_cpu`` does for HTTP."""
    import asyncio

    latencies: list[float] = []
    stop_at = time.perf_counter() + duration_s

    async def loop(w: int) -> None:
        i = 0
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            await op(w, i)
            latencies.append(time.perf_counter() - t0)
            i += 1

    server0 = _cpu_by_pid(server_pids()) if server_pids else {}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in range(workers)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    n = len(latencies)
    out = {"ops_s": n / elapsed, "p50_ms": 1000 * latencies[n // 2],
           "p99_ms": 1000 * latencies[int(n * 0.99)], "ops": n}
    out["client_cpu_us"] = 1e6 * (time.process_time() - cpu0) / n
    if server_pids:
        server1 = _cpu_by_pid(server0)  # processes present at both ends (a backend may come and go)
        out["server_cpu_us"] = 1e6 * sum(server1[p] - server0[p] for p in server1) / n
    return out


def _cpu_by_pid(pids) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = cpu_seconds([pid])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out
