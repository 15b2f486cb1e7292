"""P5 poll scheduling rules (ADR 0070), the simulator's scheduled charging, and the fleet
simulation's scenario and ground-truth rules — pure and fast."""
from __future__ import annotations

import datetime as dt

from cli import fleet_scenario as fs
from cli import simulate
from services.telemetry.domain import sessions as R
from simulators.tesla.model import World

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RULES = R.Rules()


def test_charging_cadence_bounds_an_unpredictable_end():
    assert R.charging_poll_interval_s(None, None, RULES) == 50
    assert R.charging_poll_interval_s(60, 150, RULES) == 50  # budget enough for 50 s until the ETA


def test_charging_cadence_stretches_to_keep_budget_until_the_eta_and_never_past_10_minutes():
    # 5 h to full with 110 data units left (10 kept for the end): 18,000 s / 100 = 180 s
    assert R.charging_poll_interval_s(300, 110, RULES) == 180
    assert R.charging_poll_interval_s(600, 12, RULES) == 600
    assert R.charging_poll_interval_s(600, 5, RULES) == 600  # nothing spare: the 10-minute maximum gap


def test_charging_cadence_brackets_the_eta():
    assert R.charging_poll_interval_s(0.5, 150, RULES) == 31  # ETA in 30 s: just past the dedup window
    assert R.charging_poll_interval_s(3, 10, RULES) == 150  # budget spent: 10 min, ETA first: 30 s before it


def test_scheduled_start_is_parsed_and_planned_once_a_few_seconds_after_it():
    start = int((T0 + dt.timedelta(hours=2)).timestamp())
    data = {"charge_state": {"charging_state": "Stopped", "scheduled_charging_pending": True,
                             "scheduled_charging_start_time": start}}
    obs = R.Observation.from_vehicle_data(data, T0)
    assert obs.scheduled_start == T0 + dt.timedelta(hours=2)
    assert R.scheduled_read_at(obs, T0) == T0 + dt.timedelta(hours=2, seconds=5)
    assert R.scheduled_read_at(obs, T0 + dt.timedelta(hours=3)) is None  # already past
    not_pending = R.Observation.from_vehicle_data({"charge_state": {"charging_state": "Stopped",
                                                                    "scheduled_charging_start_time": start}}, T0)
    assert not_pending.scheduled_start is None and R.scheduled_read_at(not_pending, T0) is None
    charging = R.Observation(T0, "Charging", scheduled_start=T0 + dt.timedelta(hours=1))
    assert R.scheduled_read_at(charging, T0) is None


def _world() -> World:
    w = World("c", "s")
    w.clock.set(now=T0, frozen=True)
    w.add_account({"id": "a"})
    w.add_vehicle({"account": "a", "vin": fs.vin_for(1), "battery": 50, "state": "asleep"})
    return w


def test_simulator_scheduled_charging_waits_asleep_then_wakes_and_charges():
    w = _world()
    w.add_script(fs.vin_for(1), [{"after_s": 0, "action": "plug_in", "params": {"power_kw": 11,
                                                                                "scheduled_start_s": 3600}}])
    v = w.vehicles[fs.vin_for(1)]
    cs = w.vehicle_data(v, {"charge_state"})["charge_state"]
    assert cs["charging_state"] == "Stopped" and cs["scheduled_charging_pending"] is True
    assert cs["scheduled_charging_start_time"] == int((T0 + dt.timedelta(hours=1)).timestamp())
    w.clock.advance(1800)
    w.advance(v.vin)
    assert v.state == "asleep"  # idle while waiting
    w.clock.advance(1800)
    w.advance(v.vin)
    assert v.state == "online" and v.charging_state == "Charging"
    assert w.sessions[0].segments[0][0] == T0 + dt.timedelta(hours=1)


def test_simulator_advances_one_vehicle_without_touching_the_others():
    w = _world()
    w.add_vehicle({"account": "a", "vin": fs.vin_for(2), "state": "online"})
    w.add_script(fs.vin_for(2), [{"after_s": 60, "action": "plug_in"}])
    w.clock.advance(120)
    w.advance(fs.vin_for(1))
    assert w.vehicles[fs.vin_for(2)].plugged is False  # lazily behind…
    w.advance(fs.vin_for(2))
    assert w.vehicles[fs.vin_for(2)].plugged is True  # …until looked at
    assert w.sessions[0].plugged_at == T0 + dt.timedelta(seconds=60)


def test_scenario_is_deterministic_from_the_seed_and_sessions_end_before_the_horizon():
    a, b = fs.build(50, 24, seed=4), fs.build(50, 24, seed=4)
    assert [v.steps for v in a.vehicles] == [v.steps for v in b.vehicles]
    assert [v.steps for v in fs.build(50, 24, seed=5).vehicles] != [v.steps for v in a.vehicles]
    assert {v.pattern for v in a.vehicles} == {"immediate", "pause_resume", "scheduled", "sleep", "offline", "idle"}
    for v in a.vehicles:
        unplugs = [s["after_s"] for s in v.steps if s["action"] == "unplug"]
        assert all(t <= 24 * 3600 - fs.END_MARGIN_S for t in unplugs)
        assert len(unplugs) == sum(1 for s in v.steps if s["action"] == "plug_in")


def test_ground_truth_merges_pauses_shorter_than_the_grace_and_scoring_matches_by_overlap():
    iso = lambda m: simulate._iso(T0 + dt.timedelta(minutes=m))  # noqa: E731
    plugins = [{"vin": "V1", "segments": [{"start": iso(0), "end": iso(30)}, {"start": iso(40), "end": iso(60)},
                                          {"start": iso(80), "end": iso(90)}]},
               {"vin": "V2", "segments": [{"start": iso(0), "end": None}]}]  # still charging: not scored
    truth = simulate.truth_sessions(plugins)
    assert [(t.vin, t.start, t.end) for t in truth] == [
        ("V1", T0, T0 + dt.timedelta(minutes=60)), ("V1", T0 + dt.timedelta(minutes=80), T0 + dt.timedelta(minutes=90))]
    detected = [simulate.Detected("V1", T0 + dt.timedelta(seconds=20), T0 + dt.timedelta(minutes=59), "unplugged"),
                simulate.Detected("V3", T0, T0, "complete")]
    r = simulate.score(truth, detected, {"V1": "immediate"})
    assert (r["truth"], r["found"], r["extra"]) == (2, 1, 1)
    assert r["start_error_s"]["max"] == 20 and r["end_error_s"]["max"] == 60
    assert r["missed_examples"][0]["start"] == iso(80)
