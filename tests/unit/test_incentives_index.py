"""Property tests: the candidate index never misses a campaign whose rules a session passes
(brute-force oracle = the engine's own predicates), including DST zones, overnight windows,
the poles and the antimeridian."""
from __future__ import annotations

import datetime as dt
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.incentives.domain import index as idx
from services.incentives.domain.rules import Session, Targeting, first_failing_rule, in_time_window

UTC = dt.timezone.utc
ZONES = ["America/Chicago", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "Pacific/Chatham", "UTC", "America/St_Johns"]
NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)
CHARGERS = ["c1", "c2", "c3"]
ZONE_IDS = ["z1", "z2"]
NETWORKS = ["ChargePoint", "charge point", "EVgo", "Tesla Supercharger", "tesla"]
hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@st.composite
def rules(draw):
    r: dict = {"min_duration_minutes": 1}
    if draw(st.booleans()):
        r["charger_ids"] = draw(st.lists(st.sampled_from(CHARGERS), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        r["zone_ids"] = draw(st.lists(st.sampled_from(ZONE_IDS), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        r["geo_center_lat"] = draw(st.floats(-89.9, 89.9))
        r["geo_center_lng"] = draw(st.floats(-179.99, 179.99))
        r["geo_radius_m"] = draw(st.sampled_from([1, 500, 5_000, 20_000, 100_000, 500_000]))
    if draw(st.booleans()):
        r["charger_networks"] = draw(st.lists(st.sampled_from(NETWORKS), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        r["time_start"], r["time_end"] = draw(hhmm), draw(hhmm)
    if draw(st.booleans()):
        r["days_of_week"] = sorted(draw(st.sets(st.integers(1, 7), min_size=1, max_size=7)))
    return r


def _pick(listed, pool):
    """Mostly a value the rule lists (so that many sessions match), sometimes any or none."""
    return st.one_of(st.sampled_from(listed or pool), st.sampled_from(listed or pool), st.sampled_from(pool),
                     st.none())


@st.composite
def session_for(draw, r):
    start = draw(st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 6, 1),
                              timezones=st.just(UTC)))
    lat = lng = None
    if draw(st.integers(0, 4)) > 0:
        if "geo_center_lat" in r and draw(st.integers(0, 4)) > 0:
            # a point near the centre: inside or just outside the radius
            bearing = draw(st.floats(0, 2 * math.pi))
            dist = draw(st.floats(0, 1.2)) * r["geo_radius_m"]
            dlat = dist * math.cos(bearing) / 111_195
            lat = max(-90.0, min(90.0, r["geo_center_lat"] + dlat))
            coslat = max(0.01, math.cos(math.radians(lat)))
            lng = r["geo_center_lng"] + dist * math.sin(bearing) / (111_195 * coslat)
            lng = ((lng + 180) % 360) - 180
        else:
            lat, lng = draw(st.floats(-90, 90)), draw(st.floats(-180, 180))
    return Session(session_id="s", driver_id="d", session_start=start, session_end=start + dt.timedelta(minutes=30),
                   duration_minutes=30, charger_id=draw(_pick(r.get("charger_ids"), CHARGERS)),
                   zone_id=draw(_pick(r.get("zone_ids"), ZONE_IDS)),
                   charger_network=draw(_pick(r.get("charger_networks"), NETWORKS)), lat=lat, lng=lng,
                   verified=True, quality_score=90)


@st.composite
def case(draw):
    r = draw(rules())
    return r, draw(st.sampled_from(ZONES)), draw(session_for(r))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_index_never_misses_a_match(c):
    r, zone_name, s = c
    t = Targeting(zone_name, dt.datetime(2025, 1, 1, tzinfo=UTC), None)
    passes = first_failing_rule(r, t, s) is None
    dim, keys = idx.primary_targets(r, zone_name, now=NOW, starts_at=t.starts_at)
    if passes:
        assert idx.matches_keys(dim, keys, idx.session_keys(s)), (dim, keys[:5], r, s)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), hhmm, hhmm, st.sets(st.integers(1, 7), min_size=1),
       st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31), timezones=st.just(UTC)))
def test_time_buckets_cover_the_local_window(zone_name, a, b, days, start):
    from services.incentives.domain.timezones import zone
    local = start.astimezone(zone(zone_name))
    r = {"time_start": a, "time_end": b, "days_of_week": sorted(days)}
    inside = in_time_window(local.hour * 60 + local.minute, a, b) and local.isoweekday() in days
    buckets = idx.time_buckets(r, zone_name, (2025, 2027))
    if inside:
        assert idx.hour_of_week(start) in buckets


def test_time_buckets_are_selective():
    # a one-hour weekday window touches at most 2 local-offset variants × 1–2 hours per day
    keys = idx.time_buckets({"time_start": "07:00", "time_end": "07:59", "days_of_week": [1]},
                            "America/Chicago", (2026, 2026))
    assert keys == ["12", "13"]


def test_geo_cells_and_wide_areas():
    cells = idx.geo_cells(30.2672, -97.7431, 1000)
    assert idx.geo_cell(30.2672, -97.7431) in cells and len(cells) <= 16
    assert idx.geo_cells(89.99, 0, 5000) is None  # touches a pole
    assert idx.geo_cells(0, 179.99, 5000) is None  # crosses the antimeridian
    assert idx.geo_cells(40, -100, 500_000) is None  # more than 400 cells
    assert idx.primary_targets({"geo_center_lat": 0, "geo_center_lng": 179.99, "geo_radius_m": 5000},
                               "UTC", now=NOW) == ("geo_wide", ["*"])
    assert idx.primary_targets({"charger_ids": ["b", "a"], "zone_ids": ["z"]}, "UTC", now=NOW) == ("charger", ["a", "b"])
    assert idx.primary_targets({}, "UTC", now=NOW) == ("any", ["*"])
