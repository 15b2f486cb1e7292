"""``nerava simulate``: a simulated fleet's day against the Tesla simulator, scored against its ground truth.

Two runs on the same fleet (``cli.fleet_scenario``, deterministic from ``--seed``) and the same
virtual day:

1. **The service**: the telemetry service's production code — ``build_usecases`` with the real httpx
   Fleet API client, OAuth connect, token refresh, budget, wake policy, poll path, scheduler, stale
   closer and settle jobs, and the §2 state machine — in-process against a scratch database, talking
   HTTP to a Tesla simulator process. The driver's app appears only as the background ping (T16)
   sent from the charger after a plug-in. The jobs run every ``TELEMETRY_JOB_INTERVAL_S`` of virtual
   time; the virtual clock jumps from event to event (nothing sleeps in real time).
2. **A naive poller**: every vehicle's ``vehicle_data`` every 60 s, a ``wake_up`` whenever the car is
   asleep or offline, with the same §2 rules for what a session is. It runs on the simulator's own
   model and billing in-process (1.4 M requests over HTTP would take longer than the whole day's
   measurement), so its cost is the simulator's bill for exactly those calls.

Both are compared with the simulator's ground truth (``GET /_sim/sessions``: charging segments per
plug-in, merged across pauses shorter than the pause grace, as §2 defines a session): sessions found,
start/end errors, and billable Fleet API calls (data vs wakes, and dollars at 500 data / 50 wakes per
$1) per detected session.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

from cli import fleet_scenario as fs
from cli.stack import stop_process

UTC = dt.timezone.utc
DAY0 = dt.datetime(2026, 3, 2, tzinfo=UTC)  # a UTC midnight: the Fleet API budget day
PRICE_DATA, PRICE_WAKE = 1 / 500, 1 / 50  # dollars per billable request
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _iso(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(s: str | None) -> dt.datetime | None:
    if not s:
        return None
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class VirtualClock:
    """The service's clock in the simulation: set by the driver in step with the simulator's clock.
    ``sleep`` does not wait (the virtual clock is frozen between events, as in ADR 0012)."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now

    def now(self) -> dt.datetime:
        return self._now

    def set(self, t: dt.datetime) -> None:
        self._now = t

    async def sync(self) -> None:
        return None

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


# --------------------------------------------------------------------------------------------------
# ground truth and scoring
# --------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Truth:
    vin: str
    start: dt.datetime
    end: dt.datetime


@dataclasses.dataclass
class Detected:
    vin: str
    start: dt.datetime
    end: dt.datetime | None
    reason: str | None = None


def truth_sessions(plugins: list[dict[str, Any]], grace_s: float = 15 * 60) -> list[Truth]:
    """Charging segments per plug-in, merged when the pause between them is shorter than the grace."""
    out: list[Truth] = []
    for p in plugins:
        cur: Truth | None = None
        for seg in p["segments"]:
            a, b = _parse(seg["start"]), _parse(seg["end"])
            if a is None:
                continue
            if cur is not None and (a - cur.end).total_seconds() < grace_s:
                cur.end = b or cur.end
                if b is None:
                    cur = None  # still charging at the horizon: not scored
                continue
            if cur is not None:
                out.append(cur)
            cur = Truth(p["vin"], a, b) if b is not None else None
        if cur is not None:
            out.append(cur)
    return out


def score(truth: list[Truth], detected: list[Detected], patterns: dict[str, str]) -> dict[str, Any]:
    by_vin: dict[str, list[Detected]] = {}
    for d in detected:
        by_vin.setdefault(d.vin, []).append(d)
    for lst in by_vin.values():
        lst.sort(key=lambda d: d.start)
    used: set[int] = set()
    found, start_err, end_err, open_at_end = 0, [], [], 0
    over_60: dict[str, int] = {}  # end error > 60 s (the P5 goal's threshold) by detected end reason
    per_pattern: dict[str, dict[str, Any]] = {}
    missed: list[dict[str, Any]] = []
    for t in sorted(truth, key=lambda x: (x.vin, x.start)):
        pp = per_pattern.setdefault(patterns.get(t.vin, "?"), {"truth": 0, "found": 0, "start": [], "end": []})
        pp["truth"] += 1
        match = None
        for d in by_vin.get(t.vin, []):
            if id(d) in used:
                continue
            d_end = d.end or d.start
            if d.start <= t.end + dt.timedelta(seconds=60) and d_end >= t.start - dt.timedelta(seconds=60):
                match = d
                break
        if match is None:
            missed.append({"vin": t.vin, "pattern": patterns.get(t.vin), "start": _iso(t.start), "end": _iso(t.end)})
            continue
        used.add(id(match))
        found += 1
        pp["found"] += 1
        se = abs((match.start - t.start).total_seconds())
        start_err.append(se)
        pp["start"].append(se)
        if match.end is None:
            open_at_end += 1
        else:
            ee = abs((t.end - match.end).total_seconds())
            end_err.append(ee)
            if ee > 60:
                over_60[match.reason or "open"] = over_60.get(match.reason or "open", 0) + 1
            pp["end"].append(ee)
    extra = [d for lst in by_vin.values() for d in lst if id(d) not in used]

    def stats(xs: list[float]) -> dict[str, float | None]:
        return {"p50": fs.percentile(xs, 50), "p95": fs.percentile(xs, 95), "max": max(xs) if xs else None}

    return {
        "truth": len(truth), "detected": len(detected), "found": found,
        "found_pct": round(100.0 * found / len(truth), 2) if truth else 100.0,
        "extra": len(extra), "open_at_end": open_at_end,
        "start_error_s": stats(start_err), "end_error_s": stats(end_err),
        "end_over_60s_by_reason": dict(sorted(over_60.items())),
        "by_pattern": {k: {"truth": v["truth"], "found": v["found"], "start_p95_s": fs.percentile(v["start"], 95),
                           "end_p95_s": fs.percentile(v["end"], 95), "end_max_s": max(v["end"]) if v["end"] else None}
                       for k, v in sorted(per_pattern.items())},
        "missed_examples": missed[:5],
        "extra_examples": [{"vin": d.vin, "start": _iso(d.start), "reason": d.reason} for d in extra[:5]],
    }


def cost(data: int, wakes: int, sessions: int) -> dict[str, Any]:
    usd = data * PRICE_DATA + wakes * PRICE_WAKE
    per = max(sessions, 1)
    return {"data_requests": data, "wake_requests": wakes, "billable_calls": data + wakes,
            "usd": round(usd, 4), "calls_per_session": round((data + wakes) / per, 3),
            "data_per_session": round(data / per, 3), "wakes_per_session": round(wakes / per, 4),
            "usd_per_session": round(usd / per, 5)}


# --------------------------------------------------------------------------------------------------
# the simulator process
# --------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


INPROCESS, PROCESS = "inprocess", "process"


@contextlib.contextmanager
def simulator_process(url: str | None):
    """Yield the simulator's base URL: ``url`` as given (``inprocess``: the app in this process), or
    a fresh ``python -m simulators.tesla`` on a free port."""
    if url and url != PROCESS:
        yield url if url == INPROCESS else url.rstrip("/")
        return
    import httpx

    port = _free_port()
    env = {**os.environ, "TESLA_SIM_PORT": str(port), "TESLA_SIM_SEED": "none", "LOG_LEVEL": "WARNING"}
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "simulators.tesla"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the Tesla simulator exited: {log.read().decode(errors='replace')[-500:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/_sim/health", timeout=0.5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the Tesla simulator did not become healthy in 30 s")
            time.sleep(0.1)
        yield base
    finally:
        stop_process(proc)
        log.close()


# --------------------------------------------------------------------------------------------------
# run 1: the service
# --------------------------------------------------------------------------------------------------

Progress = Callable[[float], None]  # virtual seconds done


async def _gather(limit: int, coros) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros))


async def run_service(scn: fs.Scenario, sim_url: str, database_url: str | None, *, env: dict[str, str] | None = None,
                      progress: Progress | None = None, phase: Callable[[str], None] | None = None) -> dict[str, Any]:
    import httpx
    import sqlalchemy as sa
    from cryptography.fernet import Fernet

    from kit import migrations
    from kit.db import Database
    from services.telemetry.__main__ import build_usecases
    from services.telemetry.adapters.tables import charging_sessions as cs
    from services.telemetry.adapters.tables import vehicle_states as vs
    from services.telemetry.config import TelemetryConfig

    phase = phase or (lambda _m: None)
    started = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="nerava-sim-")
    url = database_url or f"sqlite+aiosqlite:///{tmp.name}/telemetry.db"
    if sim_url == INPROCESS:
        # the simulator's own ASGI app in this process, over httpx: the same HTTP surface without a
        # socket and a second process to schedule (on a loaded 2-core box that latency dominates)
        from simulators.tesla.app import build_app

        app = build_app()
        sim_url = "http://tesla-sim.invalid"
        control = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=sim_url, timeout=60)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=httpx.Timeout(30.0, connect=5.0))
    else:
        control = httpx.AsyncClient(base_url=sim_url, timeout=60)
        http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0),
                                 limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    db = None
    try:
        phase("setting up the simulator fleet")
        r = await control.post("/_sim/reset", json={"seed": False})
        r.raise_for_status()
        (await control.post("/_sim/clock", json={"now": _iso(DAY0), "frozen": True})).raise_for_status()

        async def add(plan: fs.VehiclePlan) -> None:
            (await control.post("/_sim/accounts", json={"id": plan.account, "email": f"{plan.account}@fleet.test",
                                                        "name": plan.account, "region": "na"})).raise_for_status()
            (await control.post("/_sim/vehicles", json=plan.sim_vehicle())).raise_for_status()
            if plan.steps:
                (await control.post(f"/_sim/vehicles/{plan.vin}/script",
                                    json={"steps": plan.steps})).raise_for_status()
        await _gather(16, (add(p) for p in scn.vehicles))

        phase("migrating a scratch database")
        await asyncio.to_thread(migrations.upgrade, "telemetry", url)
        db = Database(url)
        config = TelemetryConfig(**{"TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                                    "TESLA_SIMULATOR_URL": sim_url, "TESLA_MOCK_MODE": True,
                                    "API_BASE_URL": "http://127.0.0.1:9", "ENV": "development", **(env or {})})
        clock = VirtualClock(DAY0)
        uc = build_usecases(config, db, clock=clock, http=http)
        seed_file = pathlib.Path(tmp.name) / "chargers.json"
        seed_file.write_text(json.dumps({"chargers": [c.seed_row() for c in scn.chargers]}))
        await uc.seed_chargers(seed_file)

        phase("connecting every driver through Tesla OAuth")

        async def connect(plan: fs.VehiclePlan) -> None:
            auth_url, _ = await uc.create_authorize_url("connect", plan.driver)
            resp = await http.get(auth_url + "&login_hint=" + plan.account, follow_redirects=False)
            q = parse_qs(urlparse(resp.headers["location"]).query)
            done = await uc.handle_callback(q["code"][0], q["state"][0])
            if not done.endswith("success=true"):
                raise RuntimeError(f"connect failed for {plan.driver}: {done}")
        await _gather(8, (connect(p) for p in scn.vehicles))
        billed0 = (await control.get("/_sim/billing")).json()["categories"]

        phase("running the day")
        horizon = scn.horizon_s
        tick = float(config.scheduler_interval_s)  # the scheduler job; the others every job interval
        every = float(config.job_interval_s)
        next_jobs = every
        pings: dict[int, list[tuple[str, float, float]]] = {}
        for plan in scn.vehicles:
            for t, lat, lng in plan.pings:
                pings.setdefault(int(round(t)), []).append((plan.driver, lat, lng))
        ping_times = sorted(pings)
        pi, k = 0, 1
        sim_now = DAY0
        events = 0

        async def first_due() -> float:
            """Seconds from the day's start to the earliest scheduled read (open session or pending
            scheduled start): scheduler ticks before it would find nothing, so the clock jumps them."""
            async with db.read() as conn:
                a = (await conn.execute(sa.select(sa.func.min(cs.c.next_poll_at))
                                        .where(cs.c.session_end.is_(None)))).scalar()
                b = (await conn.execute(sa.select(sa.func.min(vs.c.next_read_at)))).scalar()
            due = [x for x in (a, b) if x is not None]
            return (min(due) - DAY0).total_seconds() if due else float("inf")

        while True:
            due = await first_due()
            k = max(k, math.ceil(due / tick)) if due != float("inf") else max(k, math.ceil(next_jobs / tick))
            nxt_tick = min(k * tick, next_jobs)
            nxt_ping = ping_times[pi] if pi < len(ping_times) else float("inf")
            t = min(nxt_tick, nxt_ping)
            if t > horizon:
                break
            target = DAY0 + dt.timedelta(seconds=t)
            if target > sim_now:
                body = (await control.post("/_sim/clock/advance",
                                           json={"seconds": (target - sim_now).total_seconds()})).json()
                sim_now = _parse(body["now"]) or target
            clock.set(sim_now)
            events += 1
            if t == nxt_ping:
                await _gather(8, (uc.background_ping(d, lat, lng) for d, lat, lng in pings[ping_times[pi]]))
                pi += 1
            if t == nxt_tick:
                if t >= due:
                    await uc.sessions.scheduler_tick()
                if t >= next_jobs:
                    await uc.sessions.close_stale()
                    await uc.sessions.settle()
                    next_jobs += every
                if t == k * tick:
                    k += 1
            if progress:
                progress(t)
        billed1 = (await control.get("/_sim/billing")).json()["categories"]
        plugins = (await control.get("/_sim/sessions")).json()["sessions"]
        async with db.read() as conn:
            rows = list(await conn.execute(sa.select(cs.c.vin, cs.c.session_start, cs.c.session_end,
                                                     cs.c.ended_reason)))
        return {"plugins": plugins,
                "detected": [(r.vin, _iso(r.session_start), r.session_end and _iso(r.session_end), r.ended_reason)
                             for r in rows],
                "data": billed1["data"]["requests"] - billed0["data"]["requests"],
                "wakes": billed1["wake"]["requests"] - billed0["wake"]["requests"],
                "wall_s": round(time.perf_counter() - started, 1), "scheduler_interval_s": tick,
                "charging_poll_s": config.charging_poll_s, "events": events}
    finally:
        await control.aclose()
        await http.aclose()
        if db is not None:
            await db.dispose()
        tmp.cleanup()


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------------
# run 2: the naive 60-second poller (on the simulator's model, in-process)
# --------------------------------------------------------------------------------------------------

def run_naive(scn: fs.Scenario, *, interval_s: float = 60.0, progress: Progress | None = None) -> dict[str, Any]:
    from services.telemetry.domain import sessions as R
    from simulators.tesla.model import World

    started = time.perf_counter()
    rules = R.Rules()
    world = World("naive", "naive")
    world.clock.set(now=DAY0, frozen=True)
    for plan in scn.vehicles:
        world.add_account({"id": plan.account, "region": "na"})
        world.add_vehicle(plan.sim_vehicle())
        if plan.steps:
            world.add_script(plan.vin, plan.steps)
    vehicles = [world.vehicles[p.vin] for p in scn.vehicles]
    n = len(vehicles)
    open_: dict[str, dict[str, Any]] = {}
    detected: list[Detected] = []
    steps = int(scn.horizon_s // interval_s)
    for k in range(steps):
        base = DAY0 + dt.timedelta(seconds=k * interval_s)
        for i, v in enumerate(vehicles):
            now = base + dt.timedelta(seconds=interval_s * i / n)  # staggered across the minute
            world.clock.set(now=now)
            world.advance(v.vin)
            state = _naive_read(world, v, now)
            klass = R.classify(state) if state is not None else R.UNREACHABLE
            s = open_.get(v.vin)
            d = R.decide(s, klass, now, rules)
            if d.kind == "create":
                s = open_[v.vin] = {"start": now, "last": now, "paused_since": None, "paused_reason": None}
            elif d.kind == "update":
                s["last"], s["paused_since"] = now, None  # type: ignore[index]
            elif d.kind == "pause" and s is not None and s["paused_since"] is None:
                s["paused_since"] = now
                s["paused_reason"] = "no_power" if state == "NoPower" else "stopped"
            elif d.kind == "end" and s is not None:
                detected.append(Detected(v.vin, s["start"], s["last"], d.reason))
                del open_[v.vin]
        if progress:
            progress((k + 1) * interval_s)
    detected += [Detected(vin, s["start"], None, None) for vin, s in open_.items()]
    billing = world.billing
    truth = truth_sessions([p.as_dict() for p in world.sessions])
    result = score(truth, detected, {p.vin: p.pattern for p in scn.vehicles})
    result["cost"] = cost(billing.get("data", {}).get("requests", 0), billing.get("wake", {}).get("requests", 0),
                          result["found"])
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def _naive_read(world, v, now: dt.datetime) -> str | None:
    """One naive poll, billed like the simulator's HTTP handlers: ``vehicle_data`` (408 when the car is
    not online), then ``wake_up`` when it was not online."""
    if v.state == "online":
        world.bill("data", 200)
        return world.vehicle_data(v, {"charge_state"})["charge_state"]["charging_state"]
    world.bill("data", 408)
    world.bill("wake", 200)
    if v.state == "asleep" and v.wake_at is None:
        v.wake_at = now + dt.timedelta(seconds=10)
    return None


# --------------------------------------------------------------------------------------------------
# the whole simulation and the command
# --------------------------------------------------------------------------------------------------

def summarize(results: list[dict[str, Any]], patterns: dict[str, str]) -> dict[str, Any]:
    """Score the service's raw results (one per worker) against the ground truth they carry."""
    plugins = [pl for r in results for pl in r["plugins"]]
    detected = [Detected(v, _parse(a), _parse(b), reason) for r in results for v, a, b, reason in r["detected"]]
    service = score(truth_sessions(plugins), detected, patterns)
    service["cost"] = cost(sum(r["data"] for r in results), sum(r["wakes"] for r in results), service["found"])
    service["ended_reasons"] = _count(d.reason or "open" for d in detected)
    service["worker_wall_s"] = [r["wall_s"] for r in results]
    service["events"] = sum(r["events"] for r in results)
    service["scheduler_interval_s"], service["charging_poll_s"] = (results[0]["scheduler_interval_s"],
                                                                    results[0]["charging_poll_s"])
    return service


def _subset(scn: fs.Scenario, shard: int, shards: int) -> fs.Scenario:
    return fs.Scenario(scn.seed, scn.hours, scn.chargers, [v for v in scn.vehicles if v.index % shards == shard])


def _shard_main(vehicles: int, hours: float, seed: int, shard: int, shards: int, sim_url: str | None,
                database_url: str | None, env: dict[str, str] | None, done, out) -> None:
    """One worker process: its share of the fleet against its own simulator and scratch database."""
    import logging

    logging.disable(logging.WARNING)  # failures are counted in the report, not printed per vehicle
    try:
        scn = _subset(fs.build(vehicles, hours, seed), shard, shards)
        with simulator_process(sim_url) as url:
            res = asyncio.run(run_service(scn, url, database_url, env=env,
                                          progress=lambda t: setattr(done, "value", t)))
        out.put((shard, res, None))
    except BaseException as exc:  # noqa: BLE001 — reported to the parent
        import traceback

        out.put((shard, None, "".join(traceback.format_exception(exc))[-3000:]))


def simulate(vehicles: int, hours: float, seed: int, *, sim_url: str | None = None, database_url: str | None = None,
             env: dict[str, str] | None = None, show_progress: bool = False, naive: bool = True,
             workers: int = 2) -> dict[str, Any]:
    """Run the service (in ``workers`` processes, each with its share of the fleet, its own simulator
    and scratch database: the vehicles are independent) and the naive poller; score both."""
    import queue as queue_mod
    import threading

    scn = fs.build(vehicles, hours, seed)
    sim_url = sim_url or INPROCESS
    workers = 1 if (sim_url not in (INPROCESS, PROCESS) or database_url) else max(1, min(workers, vehicles))
    report: dict[str, Any] = {"vehicles": vehicles, "hours": hours, "seed": seed, "workers": workers,
                              "settings": env or {},
                              "patterns": scn.pattern_counts(), "chargers": len(scn.chargers)}
    patterns = {p.vin: p.pattern for p in scn.vehicles}
    started = time.perf_counter()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    dones = [ctx.Value("d", 0.0) for _ in range(workers)]
    procs = [ctx.Process(target=_shard_main, args=(vehicles, hours, seed, i, workers, sim_url, database_url, env,
                                                   dones[i], out), daemon=True) for i in range(workers)]
    naive_box: dict[str, Any] = {}
    naive_done = [0.0]
    with _progress(show_progress) as bar:
        task = bar.add(f"service: {vehicles} vehicles in {workers} worker(s)", scn.horizon_s)
        ntask = bar.add("naive 60 s poller", scn.horizon_s) if naive else None
        for pr in procs:
            pr.start()
        thread = None
        if naive:
            def naive_run() -> None:
                try:
                    naive_box["result"] = run_naive(scn, progress=lambda t: naive_done.__setitem__(0, t))
                except BaseException as exc:  # noqa: BLE001
                    naive_box["error"] = exc
            thread = threading.Thread(target=naive_run, daemon=True)
            thread.start()
        results: dict[int, dict[str, Any]] = {}
        try:
            while len(results) < workers:
                try:
                    shard, res, err = out.get(timeout=0.5)
                except queue_mod.Empty:
                    if any(not pr.is_alive() for pr in procs) and out.empty():
                        dead = [pr for pr in procs if not pr.is_alive() and pr.exitcode]
                        if dead:
                            raise RuntimeError(f"a simulation worker died (exit code {dead[0].exitcode})") from None
                    bar.update(task, min(d.value for d in dones))
                    if ntask is not None:
                        bar.update(ntask, naive_done[0])
                    continue
                if err:
                    raise RuntimeError(f"simulation worker {shard} failed:\n{err}")
                results[shard] = res
            bar.update(task, scn.horizon_s)
            if thread is not None:
                while thread.is_alive():
                    thread.join(0.5)
                    bar.update(ntask, naive_done[0])
        finally:
            for pr in procs:
                if pr.is_alive():
                    pr.terminate()
                pr.join(10)
    service = summarize([results[i] for i in sorted(results)], patterns)
    service["wall_s"] = round(time.perf_counter() - started, 1)
    report["service"] = service
    if naive:
        if "error" in naive_box:
            raise naive_box["error"]
        report["naive"] = naive_box["result"]
        s, nv = report["service"]["cost"], report["naive"]["cost"]
        report["ratio_calls_per_session"] = round(s["calls_per_session"] / nv["calls_per_session"], 4) \
            if nv["calls_per_session"] else None
        report["ratio_usd_per_session"] = round(s["usd_per_session"] / nv["usd_per_session"], 4) \
            if nv["usd_per_session"] else None
    return report


class _Bar:
    def __init__(self, progress) -> None:
        self.p = progress

    def add(self, label: str, total: float):
        return self.p.add_task(label, total=total) if self.p else None

    def update(self, task, done: float) -> None:
        if self.p:
            self.p.update(task, completed=done)

    def describe(self, task, label: str) -> None:
        if self.p:
            self.p.update(task, description=label)


@contextlib.contextmanager
def _progress(show: bool):
    if not show:
        yield _Bar(None)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    cols = (TextColumn("{task.description:<48}"), BarColumn(),
            TextColumn("{task.completed:>6.0f}/{task.total:.0f} virtual s"), TimeElapsedColumn())
    with Progress(*cols, transient=False) as p:
        yield _Bar(p)


def format_report(r: dict[str, Any]) -> str:
    lines = [f"fleet: {r['vehicles']} vehicles, {r['hours']} h, seed {r['seed']}, {r['chargers']} chargers; "
             f"patterns {r['patterns']}"]
    for name in ("service", "naive"):
        if name not in r:
            continue
        x, c = r[name], r[name]["cost"]
        lines.append(f"{name:>8}: found {x['found']}/{x['truth']} ({x['found_pct']} %), extra {x['extra']}, "
                     f"start error p95 {x['start_error_s']['p95']} s (max {x['start_error_s']['max']}), "
                     f"end error p95 {x['end_error_s']['p95']} s (max {x['end_error_s']['max']})")
        lines.append(f"{'':>8}  calls {c['billable_calls']} (data {c['data_requests']}, wakes {c['wake_requests']}), "
                     f"${c['usd']:.2f}; per session {c['calls_per_session']} calls, ${c['usd_per_session']:.4f}; "
                     f"wall {x['wall_s']} s")
    if "ratio_calls_per_session" in r:
        lines.append(f"calls per session, service ÷ naive: {r['ratio_calls_per_session']} (goal ≤ 0.1); "
                     f"dollars per session: {r['ratio_usd_per_session']}")
    return "\n".join(lines)


def cmd_simulate(args) -> int:
    env = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"nerava simulate: --set expects KEY=VALUE, got {item!r}")
        env[key] = value
    report = simulate(args.vehicles, args.hours, args.seed, env=env or None,
                      sim_url=args.simulator_url,
                      database_url=args.database_url, show_progress=not args.json and sys.stderr.isatty()
                      or args.progress, naive=not args.no_naive, workers=args.workers)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(format_report(report))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("simulate", help="a simulated fleet's day scored against the simulator's ground truth",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--vehicles", type=int, default=1000, help="fleet size (default 1000)")
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours from a UTC midnight (default 24)")
    p.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--simulator-url", default=INPROCESS,
                   help="the Tesla simulator: 'inprocess' (default: its app in each worker, over httpx's ASGI "
                        "transport), 'process' (a fresh `python -m simulators.tesla` on a free port per "
                        "worker) or the URL of a running one (it is reset)")
    p.add_argument("--database-url", default=None, help="telemetry database for the run (default: scratch SQLite)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a telemetry setting for the run, e.g. POLL_CHARGING_INTERVAL_S=60 or "
                        "TESLA_DATA_BUDGET_PER_DAY=400 (repeatable)")
    p.add_argument("--no-naive", action="store_true", help="skip the naive 60 s poller baseline")
    p.add_argument("--workers", type=int, default=2, help="processes sharing the fleet, each with its own "
                                                          "simulator and scratch database (default 2; 1 with "
                                                          "--simulator-url or --database-url)")
    p.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    p.set_defaults(func=cmd_simulate)
