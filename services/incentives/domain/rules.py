"""The engine's pure rules (spec §3.4–§3.6): gates, targeting predicates, caps and the pick order.

Everything here is judged in the campaign's IANA zone by the session's own ``session_start``."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from services.incentives.domain.timezones import local_day_week, zone

QUALITY_FLOOR = 30
DEFAULT_BLOCKING_FLAGS = frozenset({"location_jump", "energy_implausible", "vin_shared_attempt", "reconstructed"})
EARTH_RADIUS_M = 6_371_000.0

# norm(network) = casefold, trim, collapse spaces, then these aliases (configurable at start-up).
DEFAULT_NETWORK_ALIASES: dict[str, str] = {
    "tesla supercharger": "tesla", "supercharger": "tesla", "tesla destination": "tesla",
    "charge point": "chargepoint", "chargepoint network": "chargepoint",
    "ea": "electrify america", "electrifyamerica": "electrify america",
    "ev go": "evgo", "evgo network": "evgo", "blink network": "blink",
}
NETWORK_ALIASES: dict[str, str] = dict(DEFAULT_NETWORK_ALIASES)
_SPACES = re.compile(r"\s+")


def configure_aliases(aliases: Mapping[str, str]) -> None:
    NETWORK_ALIASES.clear()
    NETWORK_ALIASES.update({_collapse(k): _collapse(v) for k, v in aliases.items()})


def _collapse(value: str) -> str:
    return _SPACES.sub(" ", value.casefold().strip())


def norm_network(value: str | None) -> str | None:
    if value is None:
        return None
    n = _collapse(value)
    if not n:
        return None
    return NETWORK_ALIASES.get(n, n)


@dataclasses.dataclass(frozen=True)
class Session:
    """The ``SessionEnded`` fields the engine uses (spec §5)."""

    session_id: str
    driver_id: str
    session_start: dt.datetime
    session_end: dt.datetime | None = None
    duration_minutes: int | None = None
    charger_id: str | None = None
    charger_network: str | None = None
    zone_id: str | None = None
    connector_type: str | None = None
    lat: float | None = None
    lng: float | None = None
    max_power_kw: float | None = None
    last_power_kw: float | None = None
    verified: bool = False
    quality_score: int | None = None
    ended_reason: str | None = None
    fraud_flags: tuple[str, ...] = ()
    driver_completed_session_count: int | None = None
    driver_email: str | None = None
    driver_time_zone: str | None = None
    partner_id: str | None = None
    partner_trust_tier: int | None = None

    @property
    def duration(self) -> int | None:
        if self.duration_minutes is not None:
            return self.duration_minutes
        if self.session_end is None:
            return None
        return int((self.session_end - self.session_start).total_seconds() // 60)


def gate(s: Session, blocking_flags: frozenset[str] = DEFAULT_BLOCKING_FLAGS) -> str | None:
    """The first failing gate (spec §3.4 step 3) or None."""
    if s.session_end is None:
        return "not_ended"
    d = s.duration
    if d is None or d < 1:
        return "too_short"
    if s.ended_reason == "admin_force_close":
        return "force_closed"
    if not s.verified:
        return "not_verified"
    if s.quality_score is None or s.quality_score < QUALITY_FLOOR:
        return "low_quality"
    if any(f in blocking_flags for f in s.fraud_flags):
        return "fraud_flag"
    return None


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def hhmm_to_minutes(value: str) -> int:
    h, m = value.split(":")
    return int(h) * 60 + int(m)


def in_time_window(minute_of_day: int, start: str, end: str) -> bool:
    a, b = hhmm_to_minutes(start), hhmm_to_minutes(end)
    if a <= b:
        return a <= minute_of_day <= b
    return minute_of_day >= a or minute_of_day <= b


@dataclasses.dataclass(frozen=True)
class Targeting:
    """What a candidate needs besides its rules dict: zone, window and partner controls."""

    time_zone: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    allow_partner_sessions: bool = False
    partner_ids: Sequence[str] = ()
    max_partner_trust_tier: int | None = None


def _lower_set(values: Sequence[str] | None) -> set[str]:
    return {v.casefold() for v in values or ()}


def first_failing_rule(rules: Mapping[str, Any], t: Targeting, s: Session, *,
                       session_count: int | None = None, email: str | None = None,
                       check_window: bool = True) -> tuple[str, str] | None:
    """The first failing targeting rule (spec §3.5) as (name, detail), or None when all pass.
    ``session_count`` is n for the session-count rule (this session included); ``email`` the
    driver's e-mail for the allowlist."""
    if check_window and not (t.starts_at <= s.session_start and (t.ends_at is None or s.session_start < t.ends_at)):
        return "window", "session_start outside the campaign window"
    d = s.duration
    mn = rules.get("min_duration_minutes")
    mn = 15 if mn is None else mn
    mx = rules.get("max_duration_minutes")
    if d is None or d < mn or (mx is not None and d > mx):
        return "duration", f"session {d} min outside {mn}..{mx if mx is not None else '∞'}"
    chargers = rules.get("charger_ids")
    if chargers:
        if s.charger_id is None or s.charger_id not in chargers:
            return "charger_ids", f"charger {s.charger_id} not listed"
    networks = rules.get("charger_networks")
    if networks:
        n = norm_network(s.charger_network)
        if n is None or n not in {norm_network(x) for x in networks}:
            return "charger_networks", f"network {s.charger_network} not listed"
    zones = rules.get("zone_ids")
    if zones:
        if s.zone_id is None or s.zone_id not in zones:
            return "zone_ids", f"zone {s.zone_id} not listed"
    lat, lng, radius = rules.get("geo_center_lat"), rules.get("geo_center_lng"), rules.get("geo_radius_m")
    if lat is not None and lng is not None and radius is not None:
        if s.lat is None or s.lng is None:
            return "geo", "session has no position"
        dist = haversine_m(lat, lng, s.lat, s.lng)
        if dist > radius:
            return "geo", f"{dist:.0f} m > radius {radius} m"
    local = s.session_start.astimezone(zone(t.time_zone))
    ts, te = rules.get("time_start"), rules.get("time_end")
    if ts and te:
        minute = local.hour * 60 + local.minute
        if not in_time_window(minute, ts, te):
            return "time_window", f"local {local:%H:%M} outside {ts}-{te}"
    days = rules.get("days_of_week")
    if days and local.isoweekday() not in days:
        return "days_of_week", f"local weekday {local.isoweekday()} not in {sorted(days)}"
    min_kw = rules.get("min_power_kw")
    if min_kw is not None:
        power = s.max_power_kw if s.max_power_kw is not None else s.last_power_kw
        if power is None or power < min_kw:
            return "min_power_kw", f"power {power} kW < {min_kw} kW"
    connectors = rules.get("connector_types")
    if connectors:
        if s.connector_type is None or s.connector_type.casefold() not in _lower_set(connectors):
            return "connector_types", f"connector {s.connector_type} not listed"
    cmin, cmax = rules.get("driver_session_count_min"), rules.get("driver_session_count_max")
    if cmin is not None or cmax is not None:
        n = session_count if session_count is not None else 0
        if (cmin is not None and n < cmin) or (cmax is not None and n > cmax):
            return "session_count", f"driver session count {n} outside {cmin}..{cmax}"
    allow = rules.get("driver_allowlist")
    if allow:
        listed = _lower_set(allow)
        if s.driver_id.casefold() not in listed and (email is None or email.casefold() not in listed):
            return "driver_allowlist", "driver not on the allowlist"
    if s.partner_id is not None:
        if not t.allow_partner_sessions:
            return "partner", "partner sessions not allowed"
        if t.partner_ids and s.partner_id not in t.partner_ids:
            return "partner", f"partner {s.partner_id} not listed"
        if t.max_partner_trust_tier is not None and (
                s.partner_trust_tier is None or s.partner_trust_tier > t.max_partner_trust_tier):
            return "partner", f"partner tier {s.partner_trust_tier} > {t.max_partner_trust_tier}"
    return None


@dataclasses.dataclass(frozen=True)
class CapCounts:
    """This driver's ``granted`` grants in one campaign (clawed-back ones excluded)."""

    total: int = 0
    day: int = 0
    week: int = 0
    charger: int = 0


def failing_cap(caps: Mapping[str, Any], counts: CapCounts, has_charger: bool) -> str | None:
    """The first cap that is already reached (a cap passes while the count is below it)."""
    def reached(name: str, count: int) -> bool:
        cap = caps.get(name)
        return bool(cap) and count >= cap  # 0/None = unlimited

    if reached("per_campaign", counts.total):
        return "caps.per_campaign"
    if reached("per_day", counts.day):
        return "caps.per_day"
    if reached("per_week", counts.week):
        return "caps.per_week"
    if has_charger and reached("per_charger", counts.charger):
        return "caps.per_charger"
    return None


def cap_buckets(session_start: dt.datetime, time_zone: str) -> tuple[str, str]:
    return local_day_week(session_start, time_zone)


def pick_order(priority: int, created_at: dt.datetime, campaign_id: str) -> tuple:
    """The deterministic tie-break: lower priority first, then the older campaign, then the id."""
    return (priority, created_at, campaign_id)
