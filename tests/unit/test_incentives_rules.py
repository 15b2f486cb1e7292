"""The engine's pure rules: gates, every targeting predicate in the campaign zone (DST included),
caps, the tie-break, dates, money, reputation."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from kit import errors
from services.incentives.domain import campaigns as dc
from services.incentives.domain import nova, reputation
from services.incentives.domain.rules import (
    CapCounts, Session, Targeting, cap_buckets, failing_cap, first_failing_rule, gate, haversine_m,
    in_time_window, norm_network, pick_order)
from services.incentives.domain.timezones import local_to_utc, parse_local, zone

UTC = dt.timezone.utc
CHI = "America/Chicago"
T = Targeting(CHI, dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))


def s(start: dt.datetime | None = None, **over) -> Session:
    start = start or dt.datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    base = dict(session_id="s", driver_id="d1", session_start=start, session_end=start + dt.timedelta(minutes=30),
                duration_minutes=30, charger_id="c1", charger_network="ChargePoint", zone_id="z1",
                connector_type="CCS", lat=30.2672, lng=-97.7431, max_power_kw=150.0, last_power_kw=40.0,
                verified=True, quality_score=80)
    base.update(over)
    return Session(**base)


def fail(rules, sess, **kw):
    r = first_failing_rule({"min_duration_minutes": 15, **rules}, kw.pop("t", T), sess, **kw)
    return r[0] if r else None


@pytest.mark.parametrize("over,reason", [
    ({"session_end": None}, "not_ended"), ({"duration_minutes": 0}, "too_short"),
    ({"ended_reason": "admin_force_close"}, "force_closed"), ({"verified": False}, "not_verified"),
    ({"quality_score": None}, "low_quality"), ({"quality_score": 29}, "low_quality"),
    ({"fraud_flags": ("reconstructed",)}, "fraud_flag"), ({"quality_score": 30}, None),
    ({"fraud_flags": ("single_observation",)}, None),
])
def test_gates_in_order(over, reason):
    assert gate(s(**over)) == reason


def test_time_window_is_local_and_inclusive_with_overnight():
    # 2026-03-10 is after the US DST start (Mar 8): Chicago = UTC-5. 23:30 UTC = 18:30 local.
    assert fail({"time_start": "18:00", "time_end": "19:00"}, s(dt.datetime(2026, 3, 10, 23, 30, tzinfo=UTC))) is None
    assert fail({"time_start": "18:00", "time_end": "19:00"}, s(dt.datetime(2026, 3, 10, 18, 30, tzinfo=UTC))) == "time_window"
    assert in_time_window(22 * 60, "22:00", "02:00") and in_time_window(2 * 60, "22:00", "02:00")
    assert not in_time_window(2 * 60 + 1, "22:00", "02:00") and not in_time_window(21 * 60 + 59, "22:00", "02:00")
    assert in_time_window(600, "10:00", "10:00") and not in_time_window(601, "10:00", "10:00")


def test_dst_changes_move_the_local_hour_not_the_rule():
    rules = {"time_start": "07:00", "time_end": "07:59"}
    # before the spring change (CST, UTC-6): 13:00 UTC = 07:00 local
    assert fail(rules, s(dt.datetime(2026, 3, 7, 13, 0, tzinfo=UTC))) is None
    # after it (CDT, UTC-5): 13:00 UTC = 08:00 local (UTC evaluation would wrongly pass)
    assert fail(rules, s(dt.datetime(2026, 3, 9, 13, 0, tzinfo=UTC))) == "time_window"
    assert fail(rules, s(dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC))) is None
    # fall back on 2026-11-01: 01:30 local happens twice (06:30 and 07:30 UTC), both pass 01:00-01:59
    night = {"time_start": "01:00", "time_end": "01:59"}
    assert fail(night, s(dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC))) is None
    assert fail(night, s(dt.datetime(2026, 11, 1, 7, 30, tzinfo=UTC))) is None
    assert fail(night, s(dt.datetime(2026, 11, 1, 8, 30, tzinfo=UTC))) == "time_window"


def test_weekday_and_cap_buckets_use_local_midnight():
    # 2026-03-10 04:30 UTC = Mon 2026-03-09 23:30 CDT
    late_monday = s(dt.datetime(2026, 3, 10, 4, 30, tzinfo=UTC))
    assert fail({"days_of_week": [1]}, late_monday) is None
    assert fail({"days_of_week": [2]}, late_monday) == "days_of_week"
    assert cap_buckets(late_monday.session_start, CHI) == ("2026-03-09", "2026-W11")
    assert cap_buckets(dt.datetime(2026, 3, 10, 5, 30, tzinfo=UTC), CHI) == ("2026-03-10", "2026-W11")
    # Sunday 23:59 local vs Monday 00:00 local: different ISO weeks
    assert cap_buckets(dt.datetime(2026, 3, 16, 4, 59, tzinfo=UTC), CHI)[1] == "2026-W11"
    assert cap_buckets(dt.datetime(2026, 3, 16, 5, 0, tzinfo=UTC), CHI)[1] == "2026-W12"
    # DST end: 2026-11-01 05:30 UTC = 00:30 CDT, 2026-11-02 05:30 UTC = 23:30 CST Nov 1
    assert cap_buckets(dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC), CHI)[0] == "2026-11-01"
    assert cap_buckets(dt.datetime(2026, 11, 2, 5, 30, tzinfo=UTC), CHI)[0] == "2026-11-01"
    assert cap_buckets(dt.datetime(2026, 11, 2, 6, 0, tzinfo=UTC), CHI)[0] == "2026-11-02"


def test_every_other_predicate():
    assert fail({"max_duration_minutes": 20}, s()) == "duration"
    assert fail({"min_duration_minutes": 31}, s()) == "duration"
    assert fail({"charger_ids": ["c2"]}, s()) == "charger_ids"
    assert fail({"charger_ids": ["c1"]}, s(charger_id=None)) == "charger_ids"
    assert fail({"charger_networks": ["  charge   POINT "]}, s()) is None
    assert fail({"charger_networks": ["Tesla Supercharger"]}, s(charger_network="supercharger")) is None
    assert fail({"charger_networks": ["EVgo"]}, s()) == "charger_networks"
    assert fail({"zone_ids": ["z2"]}, s()) == "zone_ids"
    geo = {"geo_center_lat": 30.2672, "geo_center_lng": -97.7431, "geo_radius_m": 100}
    assert fail(geo, s()) is None and fail(geo, s(lat=None)) == "geo"
    assert fail(geo, s(lat=30.2772)) == "geo"  # ≈ 1.1 km away
    assert fail({"min_power_kw": 100}, s()) is None  # peak power, not the tapering last sample
    assert fail({"min_power_kw": 100}, s(max_power_kw=None)) == "min_power_kw"
    assert fail({"min_power_kw": 100}, s(max_power_kw=None, last_power_kw=None)) == "min_power_kw"
    assert fail({"connector_types": ["ccs"]}, s()) is None
    assert fail({"connector_types": ["nacs"]}, s()) == "connector_types"
    assert fail({"driver_session_count_min": 2}, s(), session_count=1) == "session_count"
    assert fail({"driver_session_count_max": 1}, s(), session_count=1) is None
    assert fail({"driver_allowlist": ["D@X.com"]}, s(), email="d@x.com") is None
    assert fail({"driver_allowlist": ["D1"]}, s()) is None
    assert fail({"driver_allowlist": ["other"]}, s()) == "driver_allowlist"
    assert fail({}, s(partner_id="p1")) == "partner"
    tp = dataclasses.replace(T, allow_partner_sessions=True, partner_ids=["p1"], max_partner_trust_tier=2)
    assert fail({}, s(partner_id="p1", partner_trust_tier=2), t=tp) is None
    assert fail({}, s(partner_id="p1", partner_trust_tier=3), t=tp) == "partner"
    assert fail({}, s(partner_id="p2", partner_trust_tier=1), t=tp) == "partner"
    # window: starts_at inclusive, ends_at exclusive, judged by session_start
    assert fail({}, s(T.ends_at)) == "window" and fail({}, s(T.starts_at)) is None
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-3)
    assert norm_network("  Electrify   America ") == "electrify america" and norm_network(" ") is None


def test_caps_count_below_the_cap_and_zero_is_unlimited():
    caps = {"per_day": 1, "per_week": 3, "per_campaign": 5, "per_charger": 2}
    assert failing_cap(caps, CapCounts(0, 0, 0, 0), True) is None
    assert failing_cap(caps, CapCounts(1, 1, 1, 1), True) == "caps.per_day"
    assert failing_cap(caps, CapCounts(3, 0, 3, 0), True) == "caps.per_week"
    assert failing_cap(caps, CapCounts(5, 0, 0, 0), True) == "caps.per_campaign"
    assert failing_cap(caps, CapCounts(2, 0, 2 - 1, 2), True) == "caps.per_charger"
    assert failing_cap(caps, CapCounts(2, 0, 1, 2), False) is None  # no charger → no per_charger cap
    assert failing_cap({"per_day": 0}, CapCounts(9, 9, 9, 9), True) is None


def test_tie_break_is_deterministic():
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(5, t0 + dt.timedelta(1), "b"), (5, t0, "c"), (5, t0, "a"), (1, t0 + dt.timedelta(9), "z")]
    assert [r[2] for r in sorted(rows, key=lambda r: pick_order(*r))] == ["z", "a", "c", "b"]


def test_local_dates_gap_and_ambiguity():
    tz = zone(CHI)
    # spring gap: 02:30 does not exist → the first instant after the gap (03:00 CDT = 08:00 UTC)
    assert local_to_utc(dt.datetime(2026, 3, 8, 2, 30), tz) == dt.datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    # fall ambiguity: 01:30 happens twice → the earlier (CDT, 06:30 UTC)
    assert local_to_utc(dt.datetime(2026, 11, 1, 1, 30), tz) == dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert parse_local("2026-03-08", tz, "start_date", is_end=False)[0] == dt.datetime(2026, 3, 8, 6, tzinfo=UTC)
    end = parse_local("2026-03-08", tz, "end_date", is_end=True)
    assert end == (dt.datetime(2026, 3, 9, 5, tzinfo=UTC), "2026-03-08T23:59:59", True)
    assert parse_local("2026-05-01T10:00:00+00:00", tz, "start_date", is_end=False)[1] == "2026-05-01T05:00:00"
    assert parse_local("2026-05-01T10:00:00", tz, "start_date", is_end=False)[0] == dt.datetime(2026, 5, 1, 15, tzinfo=UTC)
    with pytest.raises(errors.InvalidArgument, match="start_date"):
        parse_local("tomorrow", tz, "start_date", is_end=False)


def test_rules_input_normalisation():
    r = dc.normalise_rules({"time_start": "9:05", "time_end": "17:00", "days_of_week": [3, 1, 3],
                            "zone_ids": [" z ", "", "z"], "charger_networks": []})
    assert r == {"time_start": "09:05", "time_end": "17:00", "days_of_week": [1, 3], "zone_ids": ["z"],
                 "min_duration_minutes": 15}
    with pytest.raises(errors.InvalidArgument, match="rules.time_start and rules.time_end"):
        dc.normalise_rules({"time_start": "09:00"})
    with pytest.raises(errors.InvalidArgument, match="rules.max_duration_minutes"):
        dc.normalise_rules({"min_duration_minutes": 30, "max_duration_minutes": 20})
    with pytest.raises(errors.InvalidArgument, match="rules.driver_session_count_max"):
        dc.normalise_rules({"driver_session_count_min": 3, "driver_session_count_max": 2})
    with pytest.raises(errors.InvalidArgument, match="rules.min_power_kw"):
        dc.normalise_rules({"min_power_kw": 0})
    with pytest.raises(errors.InvalidArgument, match="rules.geo_radius_m"):
        dc.normalise_rules({"geo_center_lat": 1.0, "geo_center_lng": 1.0, "geo_radius_m": 0})


def test_money_fee_and_pct():
    assert dc.platform_fee(200, 2000) == (40, 160)
    assert dc.platform_fee(199, 2000) == (39, 160)
    assert dc.pct_used(0, 0) == 0.0 and dc.pct_used(1000, 125) == 12.5
    assert dc.pct_used(2000, 1) == 0.1  # 0.05 rounds half up
    assert dc.pct_used(3, 1) == 33.3


def test_nova_hash_and_amounts():
    h = nova.payload_hash(type="driver_earn", driver_id="d", merchant_id=None, amount=5, session_id="s", reference=None)
    assert len(h) == 16 and h == h.lower()
    assert h != nova.payload_hash(type="admin_grant", driver_id="d", merchant_id=None, amount=5, session_id="s",
                                  reference=None)
    for bad in (0, -5, 1_000_001):
        with pytest.raises(errors.InvalidArgument, match="amount must be a positive integer"):
            nova.check_amount(bad)


def test_reputation_tiers_and_streak():
    assert reputation.tier_of(0) == reputation.Reputation(0, "Bronze", "#78716c", "Silver", 100, 0.0, 0)
    assert reputation.tier_of(-5).points == 0
    r = reputation.tier_of(150)
    assert (r.tier, r.next_tier, r.points_to_next, r.progress_to_next) == ("Silver", "Gold", 150, 0.25)
    top = reputation.tier_of(900)
    assert (top.tier, top.next_tier, top.points_to_next, top.progress_to_next) == ("Platinum", None, None, 1.0)
    today = dt.date(2026, 3, 10)
    days = [today - dt.timedelta(days=i) for i in (1, 2, 3, 5)]
    assert reputation.streak(days, today) == 3  # ends yesterday
    assert reputation.streak(days + [today], today) == 4
    assert reputation.streak([today - dt.timedelta(days=2)], today) == 0
    assert reputation.earns_session_bonus(False, 1, 31) and not reputation.earns_session_bonus(False, 1, 30)
    assert not reputation.earns_session_bonus(True, 10, 90)
