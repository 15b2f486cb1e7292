"""The candidate index (spec §3.10): each campaign's primary dimension and keys, and a session's
lookup keys. The primary dimension is a necessary condition of the campaign's rules, so the
candidates of a session always include every campaign whose rules it passes."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from services.incentives.domain.rules import Session, hhmm_to_minutes, norm_network
from services.incentives.domain.timezones import zone_offsets_minutes

CELL_DEG = 0.05
MAX_CELLS = 400
M_PER_DEG = 111_000.0  # ≤ the real length of a degree: the box is never too small
WEEK_MIN = 7 * 1440
DIMENSIONS = ("charger", "zone", "geo_cell", "geo_wide", "network", "time", "any")


def geo_cell(lat: float, lng: float) -> str:
    return f"{math.floor((lat + 90) / CELL_DEG)}:{math.floor((lng + 180) / CELL_DEG)}"


def geo_cells(lat: float, lng: float, radius_m: float) -> list[str] | None:
    """The cells a circle's bounding box meets (plus one cell of padding), or None = geo_wide
    (more than 400 cells, a pole or the antimeridian)."""
    dlat = radius_m / M_PER_DEG
    lat_lo, lat_hi = lat - dlat, lat + dlat
    if lat_lo <= -90 or lat_hi >= 90:
        return None
    top = max(abs(lat_lo), abs(lat_hi))
    dlng = radius_m / (M_PER_DEG * math.cos(math.radians(top)))
    lng_lo, lng_hi = lng - dlng, lng + dlng
    if lng_lo <= -180 or lng_hi >= 180:
        return None
    i_lo, i_hi = math.floor((lat_lo + 90) / CELL_DEG) - 1, math.floor((lat_hi + 90) / CELL_DEG) + 1
    j_lo, j_hi = math.floor((lng_lo + 180) / CELL_DEG) - 1, math.floor((lng_hi + 180) / CELL_DEG) + 1
    if (i_hi - i_lo + 1) * (j_hi - j_lo + 1) > MAX_CELLS:
        return None
    return [f"{i}:{j}" for i in range(i_lo, i_hi + 1) for j in range(j_lo, j_hi + 1)]


def time_buckets(rules: Mapping[str, Any], time_zone: str, years: tuple[int, int]) -> list[str]:
    """UTC hour-of-week buckets (0–167, Monday 00:00 UTC = 0) the local window and weekdays can
    touch, over every offset the zone uses in ``years``."""
    ts, te = rules.get("time_start"), rules.get("time_end")
    if ts and te:
        a, b = hhmm_to_minutes(ts), hhmm_to_minutes(te)
        ranges = [(a, b)] if a <= b else [(a, 1439), (0, b)]
    else:
        ranges = [(0, 1439)]
    days = sorted(set(rules.get("days_of_week") or range(1, 8)))
    out: set[int] = set()
    for off in zone_offsets_minutes(time_zone, *years):
        for d in days:
            for lo, hi in ranges:
                u_lo = (d - 1) * 1440 + lo - off
                u_hi = (d - 1) * 1440 + hi - off
                for h in range(math.floor(u_lo / 60), math.floor(u_hi / 60) + 1):
                    out.add(h % 168)
    return [str(h) for h in sorted(out)]


def primary_targets(rules: Mapping[str, Any], time_zone: str, *, now: dt.datetime,
                    starts_at: dt.datetime | None = None, ends_at: dt.datetime | None = None,
                    ) -> tuple[str, list[str]]:
    """(dimension, keys): the first of charger, zone, geo_cell/geo_wide, network, time, any."""
    if rules.get("charger_ids"):
        return "charger", sorted(set(rules["charger_ids"]))
    if rules.get("zone_ids"):
        return "zone", sorted(set(rules["zone_ids"]))
    if rules.get("geo_radius_m") is not None and rules.get("geo_center_lat") is not None:
        cells = geo_cells(rules["geo_center_lat"], rules["geo_center_lng"], rules["geo_radius_m"])
        return ("geo_wide", ["*"]) if cells is None else ("geo_cell", cells)
    if rules.get("charger_networks"):
        return "network", sorted({n for n in (norm_network(x) for x in rules["charger_networks"]) if n})
    if (rules.get("time_start") and rules.get("time_end")) or rules.get("days_of_week"):
        y0 = min(now.year, starts_at.year if starts_at else now.year) - 1
        y1 = max(now.year + 1, ends_at.year if ends_at else now.year + 1)
        buckets = time_buckets(rules, time_zone, (y0, min(y1, y0 + 10)))
        if len(buckets) < 168:
            return "time", buckets
    return "any", ["*"]


def hour_of_week(instant: dt.datetime) -> str:
    u = instant.astimezone(dt.timezone.utc)
    return str(u.weekday() * 24 + u.hour)


def session_keys(s: Session) -> dict[str, list[str]]:
    """The (dimension → keys) a session is looked up with."""
    keys: dict[str, list[str]] = {"any": ["*"], "geo_wide": ["*"], "time": [hour_of_week(s.session_start)]}
    if s.charger_id:
        keys["charger"] = [s.charger_id]
    if s.zone_id:
        keys["zone"] = [s.zone_id]
    if s.lat is not None and s.lng is not None:
        keys["geo_cell"] = [geo_cell(s.lat, s.lng)]
    n = norm_network(s.charger_network)
    if n:
        keys["network"] = [n]
    return keys


def matches_keys(dim: str, keys: list[str], lookup: Mapping[str, list[str]]) -> bool:
    return bool(set(keys) & set(lookup.get(dim, ())))
