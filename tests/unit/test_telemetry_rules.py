"""Telemetry domain rules (no I/O): classes and the §2 table, quality score, radius, intervals, VIN."""
from __future__ import annotations

import datetime as dt

import pytest

from services.telemetry.app.tokens import needs_refresh
from services.telemetry.domain import sessions as R
from services.telemetry.domain import vin as V
from services.telemetry.domain.evcodes import ALPHABET, new_code

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULES = R.Rules()


@pytest.mark.parametrize("state,klass", [
    ("Charging", R.CHARGING), ("Starting", R.CHARGING), ("Stopped", R.PAUSED), ("NoPower", R.PAUSED),
    ("Complete", R.COMPLETE), ("Disconnected", R.UNPLUGGED), (None, R.UNKNOWN), ("", R.UNKNOWN),
    ("Weird", R.UNKNOWN)])
def test_observation_classes(state, klass):
    assert R.classify(state) == klass


def test_state_machine_table():
    assert R.decide(None, R.CHARGING, NOW, RULES).kind == "create"
    for k in (R.PAUSED, R.COMPLETE, R.UNPLUGGED, R.UNKNOWN, R.UNREACHABLE):
        assert R.decide(None, k, NOW, RULES).kind == "observe"
    open_ = {"paused_since": None}
    assert R.decide(open_, R.CHARGING, NOW, RULES).kind == "update"
    assert R.decide(open_, R.PAUSED, NOW, RULES).kind == "pause"  # never ends at once
    paused = {"paused_since": NOW - dt.timedelta(minutes=14, seconds=59), "paused_reason": "no_power"}
    assert R.decide(paused, R.PAUSED, NOW, RULES).kind == "pause"
    paused["paused_since"] = NOW - dt.timedelta(minutes=15)
    assert R.decide(paused, R.PAUSED, NOW, RULES) == R.Decision("end", "no_power")
    assert R.decide(open_, R.COMPLETE, NOW, RULES) == R.Decision("end", "complete")
    assert R.decide(open_, R.UNPLUGGED, NOW, RULES) == R.Decision("end", "unplugged")
    assert R.decide(open_, R.UNKNOWN, NOW, RULES).kind == "touch"  # null state never ends
    assert R.decide(open_, R.UNREACHABLE, NOW, RULES).kind == "touch"  # asleep is never "unplugged"


@pytest.mark.parametrize("minutes,kwh,verified,b0,b1,reason,expected", [
    (30, 10, True, 40, 80, None, 100),  # the spec's checks
    (1, 0, False, None, None, None, 20),
    (0, 0, True, None, None, None, 30),
    (1441, 50, True, 10, 90, None, 0),
    (300, 50, True, 10, 90, None, 30),
    (10, 0.5, False, 0, 0, None, 65),  # battery 0 is a value, but end must exceed start
    (10, 0.5, False, 0, 1, None, 70),
    (30, 10, True, 40, 80, "admin_force_close", 0),
])
def test_quality_score(minutes, kwh, verified, b0, b1, reason, expected):
    assert R.quality_score(minutes, kwh, verified, b0, b1, reason) == expected


def test_duration_is_floored_and_end_is_last_seen_charging():
    start = NOW
    assert R.duration_minutes(start, start + dt.timedelta(seconds=119)) == 1
    assert R.duration_minutes(start, start) == 0


def test_true_haversine_radius_not_a_box():
    lat, lng = 30.3979, -97.7044
    north = lat + 499 / 111_195  # ≈ 499 m north
    assert 498 < R.haversine_m(lat, lng, north, lng) < 500
    # a point inside the bounding box corner is outside the circle
    lat0, lat1, lng0, lng1 = R.bounding_box(lat, lng, 500)
    assert R.haversine_m(lat, lng, lat1 * 0.99999 + lat * 0.00001, lng1) > 500
    assert R.haversine_m(0, 0, 0, 0) == 0


def test_minutes_to_full_and_intervals():
    obs = R.Observation(NOW, minutes_to_full_charge=0, time_to_full_charge=1.5)
    assert R.minutes_to_full(obs) == 90
    assert R.minutes_to_full(R.Observation(NOW, minutes_to_full_charge=42)) == 42
    assert R.minutes_to_full(R.Observation(NOW)) is None
    assert R.recommended_interval_s(True, 2) == 120 and R.recommended_interval_s(True, 20) == 600
    assert R.recommended_interval_s(False, 20) == 300 and R.recommended_interval_s(True, None) == 300
    assert R.next_poll_at(NOW, 60) == NOW + dt.timedelta(minutes=10)
    assert R.next_poll_at(NOW, 1) == NOW + dt.timedelta(minutes=2)
    assert R.next_poll_at(NOW, None) == NOW + dt.timedelta(minutes=5)


def test_connector_and_network_rules():
    dc_tesla = R.Observation(NOW, fast_charger_present=True, fast_charger_type="Tesla")
    assert R.connector_type(dc_tesla, None) == "Tesla" and R.unmatched_network(dc_tesla) == "Tesla"
    assert R.connector_type(R.Observation(NOW, fast_charger_present=True, fast_charger_type="Combo"), None) == "CCS"
    ac = R.Observation.from_vehicle_data({"charge_state": {"fast_charger_type": "<invalid>",
                                                            "fast_charger_present": False}}, NOW)
    assert ac.fast_charger_type is None  # <invalid> ignored
    assert R.connector_type(ac, ["J1772"]) == "J1772" and R.connector_type(ac, ["A", "B"]) == "Tesla"
    assert R.unmatched_network(ac) is None


def test_trail_drops_impossible_jumps_and_is_capped():
    trail, jumped = R.append_trail([], 30.0, -97.0, NOW, dt.datetime.fromisoformat)
    trail, jumped = R.append_trail(trail, 31.0, -97.0, NOW + dt.timedelta(seconds=10), dt.datetime.fromisoformat)
    assert jumped and len(trail) == 1
    for i in range(200):
        trail, _ = R.append_trail(trail, 30.0, -97.0, NOW + dt.timedelta(minutes=i + 1), dt.datetime.fromisoformat)
    assert len(trail) == R.TRAIL_CAP
    assert not R.valid_point(0, 0) and not R.valid_point(None, 1) and not R.valid_point(91, 0)


def test_same_plugin_rule():
    prev = {"end_detected_at": NOW, "session_start": NOW - dt.timedelta(hours=1), "last_energy": 5.0,
            "end_lat": 30.0, "end_lng": -97.0}
    same = R.Observation(NOW, charge_energy_added=5.5, lat=30.001, lng=-97.0)
    assert R.same_plugin(prev, same, None, RULES)
    assert not R.same_plugin(prev, same, NOW - dt.timedelta(minutes=5), RULES)  # unplugged since
    assert not R.same_plugin(prev, R.Observation(NOW, charge_energy_added=0.2), None, RULES)  # counter reset
    assert not R.same_plugin(prev, R.Observation(NOW, lat=30.01, lng=-97.0), None, RULES)  # moved > 500 m


def test_vin_decoding_and_codes():
    assert V.decode("5YJ3E1EA1NF000001") == ("Model 3", 2022)
    assert V.display_model("7SAYGDEE1PA000002") == "2023 Model Y"
    assert V.decode("1HGCM82633A004352") == (None, None) and V.decode(None) == (None, None)
    code = new_code()
    assert code.startswith("EV-") and len(code) == 7 and all(c in ALPHABET for c in code[3:])
    assert "O" not in ALPHABET and "0" not in ALPHABET and "I" not in ALPHABET and "1" not in ALPHABET


def test_refresh_inside_the_five_minute_buffer():
    assert needs_refresh(None, NOW)
    assert needs_refresh(NOW + dt.timedelta(minutes=5), NOW)
    assert not needs_refresh(NOW + dt.timedelta(minutes=5, seconds=1), NOW)


def test_config_refuses_to_start_without_a_valid_token_key(monkeypatch):
    from kit.settings import load
    from services.telemetry.config import TelemetryConfig

    monkeypatch.delenv("TOKEN_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(SystemExit):
        load(TelemetryConfig)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", "not-a-fernet-key")
    with pytest.raises(SystemExit):
        load(TelemetryConfig)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", "hWm8uS3Xy3pBq4gwXK8Yq3eQk3hQ2Qm9s3C2b9qXz1U=")
    assert load(TelemetryConfig).tesla_mock_mode is True
