"""A simulated fleet's day, deterministic from a seed: chargers, vehicles, simulator scripts, app pings.

Every vehicle gets one pattern (weights in ``PATTERNS``):

- ``immediate``: drives to a public charger, plugs in, charges at once (AC or DC); one or two
  sessions; about half unplug before the charge limit, the others after ``Complete``.
- ``pause_resume``: as immediate, with one or two pauses (``stop`` … ``resume``) of 2–10 min, inside
  the 15-minute pause grace, so the ground truth is one session per plug-in.
- ``scheduled``: plugs in (AC) with a scheduled start (Tesla's "StartAt": ``Stopped`` with a pending
  start time), falls asleep while waiting, charges to the limit, stays plugged a while.
- ``sleep``: the car sleeps for hours; the driver's phone pings near chargers while it is asleep
  (reads answer 408, a poll never wakes it); then one session that ends ``Complete`` and the car
  falls asleep still plugged in, unplugged hours later.
- ``offline``: a session with a 4–10 min connectivity loss while charging (reads and wakes fail).
- ``idle``: no session (drives, an occasional ping near a charger) — it costs a naive poller the same.

The driver's app: when a car is plugged in at a public charger, the phone sends a background ping
(T16) from there 5–45 s later (geofence/visit event). That ping is the production trigger for the
first read; everything after it is the service's own scheduling.
"""
from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

PACK_KWH = 75.0  # the simulator's pack
AREA = (30.15, 30.55, -97.95, -97.55)  # lat_min, lat_max, lng_min, lng_max (Austin, TX)
PATTERNS = (("immediate", 0.30), ("pause_resume", 0.15), ("scheduled", 0.15), ("sleep", 0.12),
            ("offline", 0.13), ("idle", 0.15))
END_MARGIN_S = 30 * 60  # every session is over (and unplugged) this long before the horizon


@dataclasses.dataclass
class Charger:
    id: str
    lat: float
    lng: float
    dc: bool
    power_kw: float
    network: str

    def seed_row(self) -> dict[str, Any]:
        return {"id": self.id, "name": f"Simulated {'Supercharger' if self.dc else 'AC charger'} {self.id[-4:]}",
                "network_name": self.network, "lat": self.lat, "lng": self.lng, "city": "Austin", "state": "TX",
                "zone_id": f"zone-{int((self.lat - AREA[0]) * 10)}-{int((self.lng - AREA[2]) * 10)}",
                "connector_types": ["Tesla"] if self.dc else ["J1772"], "power_kw": self.power_kw,
                "num_evse": 8 if self.dc else 2, "is_public": True}


@dataclasses.dataclass
class VehiclePlan:
    index: int
    account: str
    driver: str
    vin: str
    lat: float
    lng: float
    battery: float
    limit: int
    pattern: str
    steps: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # after_s from the day's start
    pings: list[tuple[float, float, float]] = dataclasses.field(default_factory=list)  # (t_s, lat, lng)

    def sim_vehicle(self) -> dict[str, Any]:
        return {"account": self.account, "vin": self.vin, "display_name": f"Fleet {self.index}",
                "car_type": "model3", "year": 2022, "lat": self.lat, "lng": self.lng,
                "battery": self.battery, "state": "asleep"}


@dataclasses.dataclass
class Scenario:
    seed: int
    hours: float
    chargers: list[Charger]
    vehicles: list[VehiclePlan]

    @property
    def horizon_s(self) -> float:
        return self.hours * 3600

    def pattern_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.vehicles:
            out[v.pattern] = out.get(v.pattern, 0) + 1
        return out


def vin_for(i: int) -> str:
    return f"5YJ3E1EA{i % 10}NF{i:06d}"  # 17 characters; decodes as a 2022 Model 3


def build(vehicles: int, hours: float, seed: int) -> Scenario:
    rng = random.Random(f"chargers:{seed}")
    n_chargers = max(8, vehicles // 4)
    chargers = []
    for k in range(n_chargers):
        dc = rng.random() < 0.4
        chargers.append(Charger(f"sim-ch-{k:05d}", round(rng.uniform(AREA[0], AREA[1]), 5),
                                round(rng.uniform(AREA[2], AREA[3]), 5), dc,
                                rng.choice((150.0, 250.0)) if dc else rng.choice((7.2, 11.0)),
                                "Tesla" if dc else rng.choice(("ChargePoint", "Blink", "EVgo"))))
    plans = [_vehicle(i, hours, seed, chargers) for i in range(vehicles)]
    return Scenario(seed, hours, chargers, plans)


def _pick_pattern(rng: random.Random) -> str:
    x, acc = rng.random(), 0.0
    for name, w in PATTERNS:
        acc += w
        if x < acc:
            return name
    return PATTERNS[-1][0]


def _vehicle(i: int, hours: float, seed: int, chargers: list[Charger]) -> VehiclePlan:
    rng = random.Random(f"vehicle:{seed}:{i}")
    home = (round(rng.uniform(AREA[0], AREA[1]), 5), round(rng.uniform(AREA[2], AREA[3]), 5))
    plan = VehiclePlan(i, f"acc{i:06d}", f"sim-driver-{i:06d}", vin_for(i), home[0], home[1],
                       round(rng.uniform(20, 65), 1), rng.choice((80, 90)), _pick_pattern(rng))
    horizon = hours * 3600
    b = _Builder(plan, rng, horizon, home)
    p = plan.pattern
    if p == "idle":
        for _ in range(rng.randint(0, 2)):
            t = rng.uniform(600, max(900, horizon - 1800))
            c = rng.choice(chargers)
            b.step(t, "drive_to", {"lat": c.lat, "lng": c.lng})
            if rng.random() < 0.5:
                b.ping(t + rng.uniform(30, 300), c)
            b.step(t + 900, "drive_to", {"lat": home[0], "lng": home[1]})
    elif p == "sleep":
        # pings near chargers while the car sleeps at home (it fell asleep 10 min after the start)
        first = b.free_from + rng.uniform(0.05, 0.25) * horizon
        for _ in range(rng.randint(1, 3)):
            b.ping(rng.uniform(900, max(960, first - 60)), rng.choice(chargers))
        b.session(first, rng.choice([c for c in chargers if not c.dc] or chargers), end="complete",
                  linger_s=rng.uniform(2, 5) * 3600)
    elif p == "scheduled":
        c = rng.choice([c for c in chargers if not c.dc] or chargers)
        t = rng.uniform(600, max(900, 0.3 * horizon))
        b.session(t, c, end="complete", scheduled_s=rng.uniform(900, max(1000, min(4 * 3600, horizon / 4))),
                  linger_s=rng.uniform(30, 180) * 60)
    else:
        n = 2 if p == "immediate" and rng.random() < 0.35 else 1
        for k in range(n):
            t = max(b.free_from, 600) + rng.uniform(0, max(60, (horizon - b.free_from) * (0.5 if n - k > 1 else 0.7)))
            end = "early" if rng.random() < 0.5 else "complete"
            b.session(t, rng.choice(chargers), end=end,
                      pauses=rng.randint(1, 2) if p == "pause_resume" else 0,
                      offline=p == "offline", linger_s=rng.uniform(5, 60) * 60)
    return plan


class _Builder:
    def __init__(self, plan: VehiclePlan, rng: random.Random, horizon: float, home: tuple[float, float]) -> None:
        self.plan, self.rng, self.horizon, self.home = plan, rng, horizon, home
        self.battery = plan.battery
        self.free_from = 0.0

    def step(self, t: float, action: str, params: dict[str, Any] | None = None) -> None:
        self.plan.steps.append({"after_s": round(t, 3), "action": action, "params": params or {}})

    def ping(self, t: float, c: Charger) -> None:
        self.plan.pings.append((round(t, 3), c.lat, c.lng))

    def session(self, t: float, c: Charger, *, end: str, pauses: int = 0, offline: bool = False,
                scheduled_s: float | None = None, linger_s: float = 600.0) -> bool:
        """Script one plug-in if it fits before the horizon (else nothing); True when scripted."""
        rng, limit = self.rng, self.plan.limit
        if self.battery >= limit - 5:
            return False
        power = c.power_kw if c.dc else min(c.power_kw, 11.0)
        full_s = (limit - self.battery) / 100 * PACK_KWH / power * 3600
        charge_s = full_s if end == "complete" else full_s * rng.uniform(0.3, 0.85)
        start = t + (scheduled_s or 0.0)
        pause_list = []
        for _ in range(pauses):
            pause_list.append((rng.uniform(0.15, 0.8) * charge_s, rng.uniform(120, 600)))
        pause_list.sort()
        total = charge_s + sum(d for _, d in pause_list)
        unplug = start + total + (linger_s if end == "complete" else 0.0)
        if unplug + END_MARGIN_S > self.horizon or t < self.free_from:
            return False
        self.step(t - rng.uniform(60, 600), "drive_to", {"lat": c.lat, "lng": c.lng})
        params: dict[str, Any] = {"dc": c.dc, "power_kw": power}
        if c.dc:
            params["fast_charger_type"] = "Tesla"
        if scheduled_s:
            params["scheduled_start_s"] = scheduled_s
        self.step(t, "plug_in", params)
        self.ping(t + rng.uniform(5, 45), c)
        shift = 0.0
        for at, dur in pause_list:
            self.step(start + at + shift, "stop")
            self.step(start + at + shift + dur, "resume")
            shift += dur
        if offline:
            # connectivity lost while charging; back at least 3 min before the unplug
            at = start + rng.uniform(0.2, 0.6) * charge_s + shift
            room = start + total - 180 - at
            if room >= 240:
                self.step(at, "offline", {"duration_s": min(rng.uniform(240, 600), room)})
        self.step(unplug, "unplug")
        self.step(unplug + rng.uniform(60, 300), "drive_to", {"lat": self.home[0], "lng": self.home[1]})
        self.battery = min(limit, self.battery + power * charge_s / 3600 / PACK_KWH * 100)
        self.free_from = unplug + 1800
        return True


def kwh(battery_from: float, battery_to: float) -> float:
    return max(0.0, (battery_to - battery_from) / 100 * PACK_KWH)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]
