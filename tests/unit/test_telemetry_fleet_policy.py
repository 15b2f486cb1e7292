"""P5 poll scheduling rules (ADR 0070), the simulator's scheduled charging, and the fleet
simulation's scenario and ground-truth rules — pure and fast."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from cli import fleet_scenario as fs
from cli import simulate
from services.telemetry.domain import sessions as R
from simulators.tesla.model import World

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RULES = R.Rules()


def _eta(minutes: float) -> tuple[float, float]:
    return R.eta_window_s(R.Observation(T0, "Charging", minutes_to_full_charge=minutes))


def test_eta_window_from_whole_minutes_and_hundredths_of_an_hour():
    assert R.eta_window_s(R.Observation(T0, "Charging", minutes_to_full_charge=2)) == (90, 150)
    assert R.eta_window_s(R.Observation(T0, "Charging", time_to_full_charge=0.03)) == (90, 126)
    both = R.eta_window_s(R.Observation(T0, "Charging", minutes_to_full_charge=2, time_to_full_charge=0.03))
    assert both == (90, 126)  # the intersection
    # charging at "0 minutes": within 30 s of the limit (read again as soon as the dedup window allows)
    at_limit = R.eta_window_s(R.Observation(T0, "Charging", minutes_to_full_charge=0, time_to_full_charge=0))
    assert at_limit == (0, 30) and R.charging_poll_interval_s(at_limit, 150, RULES) == 31
    assert R.eta_window_s(R.Observation(T0, "Stopped", minutes_to_full_charge=0, time_to_full_charge=0)) is None
    assert R.eta_window_s(R.Observation(T0, "Charging")) is None  # not reported: unknown
    assert R.eta_window_s(None) is None


def test_charging_cadence_bounds_an_unpredictable_end():
    assert R.charging_poll_interval_s(None, None, RULES) == 50
    # budget enough for 50 s until the ETA: evenly spaced reads that land on the approach read
    # (ETA 60 min: earliest 3,570 s, approach 3,555 s = 72 × 49.4 s)
    assert R.charging_poll_interval_s(_eta(60), 150, RULES) == pytest.approx(3555 / 72)


def _charge(hours: float, budget_left: int, rules: R.Rules = RULES) -> list[float]:
    """The gaps the rule plans over a whole charge to the limit (a read on the scheduler's 15 s grid,
    the car's whole-minute ETA), the budget spent one unit per read."""
    t, total, gaps = 0.0, hours * 3600, []
    while t < total:
        m = math.floor((total - t) / 60 + 0.5)
        gap = R.charging_poll_interval_s(_eta(m) if m > 0 else None, budget_left, rules)
        gap = math.ceil(gap / 15) * 15
        gaps.append(gap)
        t, budget_left = t + gap, budget_left - 1
    return gaps


def test_charging_cadence_reads_a_short_charge_at_the_base_cadence():
    gaps = _charge(2, 190)
    assert max(gaps) == 60 and len(gaps) <= 125  # 50 s, on the 15 s grid


def test_a_budget_bound_charge_is_read_sparsely_while_its_end_is_far_then_densely_to_the_end():
    for hours in (4, 6, 7.3):
        gaps = _charge(hours, 190)
        assert len(gaps) <= 190 - RULES.budget_end_reserve / 2  # the day's budget holds, some reserve left
        assert max(gaps) <= RULES.charging_sparse_gap_s
        dense_from = max(i for i, g in enumerate(gaps) if g > 60) + 1
        assert all(g <= 60 for g in gaps[dense_from:])  # one sparse part, then dense to the end…
        assert sum(gaps[dense_from:]) >= 100 * 60  # …covering the last 100+ minutes before the ETA
        assert hours * 3600 - sum(gaps[:-1]) < 60  # the approach: the last read before the end is < 60 s before it
    # 5 h to full with 110 data units left (10 kept for the end): 300 s gaps until the dense part
    assert R.charging_poll_interval_s(_eta(300), 110, RULES) == 300
    # nothing pays even the sparse gap: spread evenly, never past the 10-minute maximum gap
    assert R.charging_poll_interval_s(_eta(600), 12, RULES) == pytest.approx(35955 / 60)
    assert R.charging_poll_interval_s(_eta(600), 5, RULES) <= 600


def test_charging_cadence_brackets_the_eta_whatever_the_budget():
    # ETA "2 min" (90–150 s): the approach read 15 s before the earliest end, even with the budget
    # nearly spent (the old rule read at the ETA itself there, up to 2 minutes late)
    assert R.charging_poll_interval_s(_eta(2), 11, RULES) == 37.5
    # spent down to the end reserve: the reserve pays the approach at the base cadence (3 × 45 s)
    assert R.charging_poll_interval_s(_eta(3), 10, RULES) == 45
    assert R.charging_poll_interval_s(_eta(3), 3, RULES) == 135  # one unit to spare: straight to the approach
    # within the last minute: read again as soon as the dedup window allows, until Complete
    assert R.charging_poll_interval_s(_eta(1), 150, RULES) == 31
    assert R.charging_poll_interval_s(_eta(0.5), 150, RULES) == 31
    # a gap never exceeds the cadence on the way to the approach read (75 s away): 2 × 37.5 s, not 50 + 25
    assert R.charging_poll_interval_s(_eta(2), 150, RULES) == 37.5


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


def _followup_chain(obs: R.Observation, rules: R.Rules = RULES) -> list[float]:
    """Seconds after the trigger of every follow-up read the rule plans while the car stays stopped."""
    out, now = [], T0
    while (nxt := R.followup_read_at(obs, now, T0, rules)) is not None:
        assert nxt > now
        out.append((nxt - T0).total_seconds())
        now = nxt
    return out


def test_followup_reads_of_a_plugged_in_stopped_car_grow_and_stop_after_the_window():
    chain = _followup_chain(R.Observation(T0, "Stopped"))
    assert chain[:3] == [60, 120, 180]  # soon after the trigger: a stall in the first seconds resumes soon
    gaps = [b - a for a, b in zip([0.0, *chain], chain)]
    assert gaps == sorted(gaps) and max(gaps) <= RULES.followup_max_s  # growing, capped
    assert chain[-1] <= RULES.followup_window_s and len(chain) == 9  # bounded: nine reads in 30 minutes
    assert _followup_chain(R.Observation(T0, "NoPower")) == chain
    # a resume 4–7 minutes after the trigger is read within one gap
    assert all(any(0 <= t - r <= 210 for t in chain) for r in (240, 300, 360, 420))


def test_followup_reads_only_for_a_stopped_car_without_a_pending_schedule():
    for state in ("Charging", "Complete", "Disconnected", None):
        assert R.followup_read_at(R.Observation(T0, state), T0, None, RULES) is None
    waiting = R.Observation(T0, "Stopped", scheduled_start=T0 + dt.timedelta(hours=1))
    assert R.followup_read_at(waiting, T0, None, RULES) is None  # the scheduled read covers it
    assert R.followup_read_at(R.Observation(T0, "Stopped"), T0, None, RULES) == T0 + dt.timedelta(seconds=60)
    late = T0 + dt.timedelta(seconds=RULES.followup_window_s)
    assert R.followup_read_at(R.Observation(late, "Stopped"), late, T0, RULES) is None  # window over
    never_in_dedup = R.Rules(followup_first_s=5)
    assert R.followup_read_at(R.Observation(T0, "Stopped"), T0, T0, never_in_dedup) == T0 + dt.timedelta(seconds=31)


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
    assert r["end_over_60s_by_reason"] == {}  # 60 s is within the goal
    late = [simulate.Detected("V1", T0, T0 + dt.timedelta(minutes=58), "unplugged")]
    assert simulate.score(truth, late, {})["end_over_60s_by_reason"] == {"unplugged": 1}
    assert r["missed_examples"][0]["start"] == iso(80)
