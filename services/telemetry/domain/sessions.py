"""Charging-session rules as plain Python (telemetry spec §2, §3.2, §3.4, §3.5). No I/O."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

CHARGING = "charging"
PAUSED = "paused"
COMPLETE = "complete"
UNPLUGGED = "unplugged"
UNKNOWN = "unknown"
UNREACHABLE = "unreachable"

_CLASSES = {"Charging": CHARGING, "Starting": CHARGING, "Stopped": PAUSED, "NoPower": PAUSED,
            "Complete": COMPLETE, "Disconnected": UNPLUGGED}

END_REASONS = frozenset({"complete", "unplugged", "stopped", "no_power", "manual", "stale_cleanup",
                         "disconnected", "max_duration", "admin_force_close", "telemetry_disconnected"})
EARTH_RADIUS_M = 6_371_000.0
MAX_SPEED_M_S = 70.0
TRAIL_CAP = 120
# ADR 0085: a device point this close to the trail's last point, sooner than the minimum interval, adds nothing
TRAIL_SAME_PLACE_M = 10.0


def classify(charging_state: str | None) -> str:
    """Observation class of a Tesla ``charging_state`` (null/unknown → UNKNOWN)."""
    return _CLASSES.get(charging_state or "", UNKNOWN)


@dataclasses.dataclass(frozen=True)
class Rules:
    dedup_s: int = 30
    stale_minutes: int = 15
    pause_grace_minutes: int = 15
    reopen_window_minutes: int = 30
    max_session_hours: int = 24
    match_radius_m: float = 500.0
    ping_radius_m: float = 300.0
    same_plugin_move_m: float = 500.0
    # poll scheduling of an open, charging session (ADR 0070)
    charging_poll_s: float = 50.0
    max_poll_gap_s: float = 600.0
    budget_end_reserve: int = 10
    approach_lead_s: float = 15.0  # the approach read: this long before the earliest ETA (ADR 0072)
    charging_sparse_gap_s: float = 300.0  # budget-bound charge: the gap while its end is far (ADR 0072)
    scheduler_tick_s: float = 15.0  # TELEMETRY_SCHEDULER_INTERVAL_S: the granularity of scheduled reads
    # bounded follow-up reads of a plugged-in, stopped car without an open session (ADR 0072)
    followup_first_s: float = 60.0
    followup_growth: float = 0.5
    followup_max_s: float = 300.0
    followup_window_s: float = 1800.0
    trail_min_interval_s: int = 30  # ADR 0085 (0 = append every device point)


@dataclasses.dataclass
class Observation:
    """One read of the car (vehicle_data) or the merged telemetry state."""

    observed_at: dt.datetime
    charging_state: str | None = None
    battery_level: int | None = None
    charge_energy_added: float | None = None
    charger_power: float | None = None
    minutes_to_full_charge: float | None = None
    time_to_full_charge: float | None = None
    charger_voltage: float | None = None
    charger_actual_current: float | None = None
    conn_charge_cable: str | None = None
    fast_charger_brand: str | None = None
    fast_charger_type: str | None = None
    fast_charger_present: bool | None = None
    lat: float | None = None
    lng: float | None = None
    scheduled_start: dt.datetime | None = None  # scheduled charging (StartAt) still pending

    @property
    def klass(self) -> str:
        return classify(self.charging_state)

    @classmethod
    def from_vehicle_data(cls, data: dict[str, Any], observed_at: dt.datetime) -> "Observation":
        cs = data.get("charge_state") or {}
        ds = data.get("drive_state") or {}
        lat = ds.get("latitude", ds.get("native_latitude"))
        lng = ds.get("longitude", ds.get("native_longitude"))
        return cls(observed_at=observed_at, charging_state=cs.get("charging_state"),
                   battery_level=_int(cs.get("battery_level")),
                   charge_energy_added=_float(cs.get("charge_energy_added")),
                   charger_power=_float(cs.get("charger_power")),
                   minutes_to_full_charge=_float(cs.get("minutes_to_full_charge")),
                   time_to_full_charge=_float(cs.get("time_to_full_charge")),
                   charger_voltage=_float(cs.get("charger_voltage")),
                   charger_actual_current=_float(cs.get("charger_actual_current")),
                   conn_charge_cable=_text(cs.get("conn_charge_cable")),
                   fast_charger_brand=_text(cs.get("fast_charger_brand")),
                   fast_charger_type=_text(cs.get("fast_charger_type")),
                   fast_charger_present=cs.get("fast_charger_present"),
                   lat=_float(lat), lng=_float(lng), scheduled_start=_scheduled_start(cs))


def _scheduled_start(cs: dict[str, Any]) -> dt.datetime | None:
    """Tesla's ``scheduled_charging_start_time`` (epoch s) while ``scheduled_charging_pending``."""
    if not cs.get("scheduled_charging_pending"):
        return None
    epoch = _float(cs.get("scheduled_charging_start_time"))
    if epoch is None or not math.isfinite(epoch) or epoch <= 0:
        return None
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)


def _int(v: Any) -> int | None:
    try:
        return None if v is None else int(round(float(v)))
    except (TypeError, ValueError):
        return None


def _float(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def _text(v: Any) -> str | None:
    if not isinstance(v, str) or not v or v == "<invalid>":
        return None
    return v


def minutes_to_full(obs: Observation | None) -> float | None:
    if obs is None:
        return None
    if obs.minutes_to_full_charge is not None and obs.minutes_to_full_charge > 0:
        return obs.minutes_to_full_charge
    if obs.time_to_full_charge is not None and obs.time_to_full_charge > 0:
        return obs.time_to_full_charge * 60
    return None


def recommended_interval_s(charging: bool, mtf: float | None) -> int:
    if charging and mtf is not None:
        return int(max(120, mtf * 30))
    return 300


def next_poll_at(now: dt.datetime, mtf: float | None) -> dt.datetime:
    if mtf is None:
        return now + dt.timedelta(minutes=5)
    return now + dt.timedelta(minutes=min(10.0, max(2.0, mtf / 2)))


def eta_window_s(obs: Observation | None) -> tuple[float, float] | None:
    """When the car expects to reach its charge limit, as an interval of seconds from the read, or None.
    ``minutes_to_full_charge`` is whole minutes (±30 s) and ``time_to_full_charge`` hours to two
    decimals (±18 s); both given, the interval is their intersection (ADR 0072). A charging car that
    reports 0 minutes is under 30 s from its limit."""
    if obs is None:
        return None
    bounds = []
    m, h = obs.minutes_to_full_charge, obs.time_to_full_charge
    if m is not None and m > 0:
        bounds.append(((m - 0.5) * 60.0, (m + 0.5) * 60.0))
    if h is not None and h > 0:
        bounds.append((h * 3600.0 - 18.0, h * 3600.0 + 18.0))
    if not bounds:
        # charging with both reported as 0: the rounding says under 30 s (a car at its limit that has
        # not switched to Complete yet); both missing: unknown
        if obs.klass == CHARGING and m == 0 and not h:
            return 0.0, 30.0
        return None
    lo, hi = max(b[0] for b in bounds), min(b[1] for b in bounds)
    if lo > hi:  # the two disagree: the union
        lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
    return max(0.0, lo), max(0.0, hi)


def charging_poll_interval_s(eta: tuple[float, float] | None, budget_left: int | None, rules: Rules) -> float:
    """Seconds to the next scheduled read of an open session that was just seen charging (ADR 0070, 0072).

    The end of a session is the last read that saw it charging, so the cadence bounds the end error
    of an unplug nobody can predict: ``charging_poll_s``. When the rest of the day's data budget
    (minus ``budget_end_reserve`` for the end) cannot pay for that cadence until the ETA, the budget
    is split: reads every ``charging_sparse_gap_s`` while the end is far, then the base cadence for as
    long before the end as the rest pays for (where both a ``Complete`` end and, the longer a charge
    runs, an unplug are likelier); when even the sparse gap cannot last, the budget is spread evenly,
    never beyond the 10-minute maximum gap. The reads are spaced to land on the *approach read*,
    ``approach_lead_s`` before the earliest the car can reach its limit (``eta``, see
    ``eta_window_s``): that read still sees it charging, and from there the car is read again as
    soon as the dedup window allows until it reports ``Complete`` — a ``Complete`` end is bracketed
    within about one dedup window plus a scheduler tick, whatever the budget did mid-charge."""
    cadence = rules.charging_poll_s
    if eta is None:
        return cadence
    floor = rules.dedup_s + 1.0
    approach = eta[0] - rules.approach_lead_s
    if approach <= floor:
        return floor
    spare = None if budget_left is None else budget_left - rules.budget_end_reserve
    if spare is not None and spare <= 0:
        # into the reserve: it is for the end — evenly over what is left, two units kept for the
        # approach and the read that sees the end
        cadence = max(cadence, approach / max(1, budget_left - 2))
    elif spare is not None and approach / spare > cadence:
        # the budget cannot pay for the base cadence until the ETA: dense reads (the base cadence) for
        # the last ``dense`` seconds before the approach read, sparse reads before that — the split
        # that spends exactly the spare budget, recomputed at every read (ADR 0072)
        # (a scheduled read happens on the scheduler's first tick at or after it is due: a gap costs
        # its planned length rounded up to the tick)
        tick = rules.scheduler_tick_s
        base = math.ceil(cadence / tick) * tick if tick > 0 else cadence
        sparse = min(rules.charging_sparse_gap_s, rules.max_poll_gap_s)
        dense = (spare - approach / sparse) / (1.0 / base - 1.0 / sparse) if sparse > base else 0.0
        if dense <= 0:  # not even the sparse gap lasts: spread the budget evenly (≤ the maximum gap)
            cadence = min(rules.max_poll_gap_s, approach / spare)
        elif dense >= sparse and approach - dense > cadence:
            return max(floor, min(sparse, approach - dense))  # the sparse part, never past the dense part
        # else the dense part (a split that small is the last minutes: the end reserve pays the rest)
    cadence = min(cadence, rules.max_poll_gap_s)
    return max(floor, approach / math.ceil(approach / cadence))


def scheduled_read_at(obs: Observation, now: dt.datetime, horizon_h: float = 24.0) -> dt.datetime | None:
    """When to read a plugged-in car whose scheduled charging start is pending (a few seconds after
    the start), or None. Such a car usually sleeps until then; only this one read is planned."""
    start = obs.scheduled_start
    if start is None or obs.klass != PAUSED or start <= now or start > now + dt.timedelta(hours=horizon_h):
        return None
    return start + dt.timedelta(seconds=5)


def followup_read_at(obs: Observation, now: dt.datetime, since: dt.datetime | None,
                     rules: Rules) -> dt.datetime | None:
    """The next follow-up read of a car seen plugged in but not charging, with no open session and no
    pending scheduled start (ADR 0072), or None. A trigger (the app's ping at a charger, a scheduled
    read) found the car ``Stopped``/``NoPower``: charging may start or resume any moment (a DC stall
    in the first seconds, a charger that needs a retry), and nothing else would read the car again.
    ``since`` is when this plugged-in, stopped streak was first seen (None: now). The gap grows with
    the time already waited — ``followup_first_s``, then ``followup_growth`` × the wait so far, never
    past ``followup_max_s`` — and the chain stops ``followup_window_s`` after ``since``: a bounded
    number of reads (9 with the defaults) that the no-session budget (§3.6) still caps."""
    if obs.klass != PAUSED or obs.scheduled_start is not None:
        return None
    waited = max(0.0, (now - (since or now)).total_seconds())
    if waited >= rules.followup_window_s:
        return None
    gap = min(rules.followup_max_s, max(rules.followup_first_s, waited * rules.followup_growth))
    gap = max(gap, rules.dedup_s + 1.0)
    if waited + gap > rules.followup_window_s:
        return None
    return now + dt.timedelta(seconds=gap)


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """A prefilter box that contains the whole circle (never used as the match itself)."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M) * 1.01
    dlng = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


def valid_point(lat: float | None, lng: float | None) -> bool:
    if lat is None or lng is None or not (math.isfinite(lat) and math.isfinite(lng)):
        return False
    if lat == 0 and lng == 0:
        return False
    return -90 <= lat <= 90 and -180 <= lng <= 180


def append_trail(trail: list[dict[str, Any]], lat: float, lng: float, ts: dt.datetime,
                 prev_ts_parser) -> tuple[list[dict[str, Any]], bool]:
    """Append a device point; a point implying > 70 m/s is dropped and flagged (True)."""
    if trail:
        last = trail[-1]
        seconds = (ts - prev_ts_parser(last["ts"])).total_seconds()
        dist = haversine_m(last["lat"], last["lng"], lat, lng)
        if dist > 0 and (seconds <= 0 or dist / seconds > MAX_SPEED_M_S):
            return trail, True
    trail = [*trail, {"lat": lat, "lng": lng, "ts": ts.isoformat()}]
    return trail[-TRAIL_CAP:], False


def trail_point_redundant(last_lat: float, last_lng: float, last_ts: dt.datetime, lat: float, lng: float,
                          ts: dt.datetime, min_interval_s: float) -> bool:
    """ADR 0085: a device point at the same place (≤ 10 m) as the trail's last point and less than
    ``min_interval_s`` after it is not appended — a parked car polling every few seconds would
    otherwise fill the capped trail with copies. A point the jump rule would flag is never redundant."""
    if min_interval_s <= 0:
        return False
    seconds = (ts - last_ts).total_seconds()
    if seconds < 0 or seconds >= min_interval_s:
        return False
    if lat == last_lat and lng == last_lng:  # the parked car's repeated fix (haversine would give 0.0)
        return True
    dist = haversine_m(last_lat, last_lng, lat, lng)
    if dist > TRAIL_SAME_PLACE_M:
        return False
    return dist == 0 or (seconds > 0 and dist / seconds <= MAX_SPEED_M_S)


def connector_type(obs: Observation, charger_connectors: list[str] | None) -> str | None:
    dc = bool(obs.fast_charger_present) or (obs.fast_charger_type not in (None, "<invalid>"))
    if dc:
        t = (obs.fast_charger_type or "").lower()
        if t in ("tesla", "supercharger"):
            return "Tesla"
        if t in ("ccs", "combo"):
            return "CCS"
        if t == "chademo":
            return "CHAdeMO"
        return None
    if charger_connectors and len(charger_connectors) == 1:
        return charger_connectors[0]
    return "Tesla"


def unmatched_network(obs: Observation) -> str | None:
    return "Tesla" if (obs.fast_charger_type or "").lower() in ("tesla", "supercharger") else None


def quality_score(duration_minutes: int, kwh: float | None, verified: bool, battery_start: int | None,
                  battery_end: int | None, ended_reason: str | None = None) -> int:
    if ended_reason == "admin_force_close" or duration_minutes > 1440:
        return 0
    score = 50
    if duration_minutes > 240:
        score -= 50
    elif duration_minutes >= 15:
        score += 20
    elif duration_minutes >= 5:
        score += 10
    elif duration_minutes < 2:
        score -= 30
    if kwh is not None:
        if kwh > 1:
            score += 15
        elif kwh > 0:
            score += 5
    if verified:
        score += 10
    if battery_start is not None and battery_end is not None and battery_end > battery_start:
        score += 5
    return max(0, min(100, score))


def duration_minutes(start: dt.datetime, end: dt.datetime) -> int:
    return max(0, int((end - start).total_seconds() // 60))


@dataclasses.dataclass(frozen=True)
class Decision:
    kind: str  # create | update | end | touch | observe
    reason: str | None = None


def decide(open_session: dict[str, Any] | None, klass: str, now: dt.datetime, rules: Rules) -> Decision:
    """The §2 table: what one observation does to the VIN's session."""
    if open_session is None:
        return Decision("create") if klass == CHARGING else Decision("observe")
    if klass == CHARGING:
        return Decision("update")
    if klass == PAUSED:
        paused_since = open_session.get("paused_since") or now
        if now - paused_since >= dt.timedelta(minutes=rules.pause_grace_minutes):
            return Decision("end", open_session.get("paused_reason") or "stopped")
        return Decision("pause")
    if klass == COMPLETE:
        return Decision("end", "complete")
    if klass == UNPLUGGED:
        return Decision("end", "unplugged")
    return Decision("touch")


def is_stale(last_observed_at: dt.datetime, now: dt.datetime, rules: Rules) -> bool:
    return now - last_observed_at >= dt.timedelta(minutes=rules.stale_minutes)


def same_plugin(prev: dict[str, Any], obs: Observation, last_unplugged_at: dt.datetime | None,
                rules: Rules) -> bool:
    """Since that end: no UNPLUGGED, ``charge_energy_added`` not lower, moved ≤ 500 m."""
    ended = prev.get("end_detected_at")
    if ended is None:
        return False
    if last_unplugged_at is not None and last_unplugged_at >= prev.get("session_start", ended):
        return False
    last_energy = prev.get("last_energy")
    if last_energy is not None and obs.charge_energy_added is not None and obs.charge_energy_added < last_energy:
        return False
    if None not in (prev.get("end_lat"), prev.get("end_lng"), obs.lat, obs.lng):
        if haversine_m(prev["end_lat"], prev["end_lng"], obs.lat, obs.lng) > rules.same_plugin_move_m:
            return False
    return True
