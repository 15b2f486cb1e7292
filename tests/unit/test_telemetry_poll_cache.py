"""ADR 0085: the poll cache's bounds (expiry, generation, invalidation keys) and the trail sampling rule."""
from __future__ import annotations

import datetime as dt

import pytest

from services.telemetry.adapters.pollcache import PollCache, TrailPoint
from services.telemetry.domain import sessions as R

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def ctx(driver: str = "d1", vin: str = "VIN1", sid: str | None = "s1", cid: str = "c1") -> dict:
    return {"connection_id": cid, "status": "active", "vin": vin, "s_id": sid, "access_token_enc": "secret",
            "token_version": 3, "access_expires_at": NOW, "vs_last_read_at": NOW}


def test_entries_expire_after_max_s():
    mono = FakeMonotonic()
    cache = PollCache(2.0, monotonic=mono)
    assert cache.put("d1", ctx(), cache.generation)
    mono.t += 1.9
    assert cache.get("d1") is not None
    mono.t += 0.2
    assert cache.get("d1") is None and len(cache) == 0


def test_disabled_cache_stores_nothing():
    cache = PollCache(0)
    assert not cache.enabled
    assert not cache.put("d1", ctx(), cache.generation)
    assert cache.get("d1") is None
    cache.note_point("d1", "s1", TrailPoint(1.0, 2.0, NOW))
    assert cache.last_point("d1", "s1") is None


def test_tokens_are_not_kept():
    cache = PollCache(5)
    cache.put("d1", ctx(), cache.generation)
    kept = cache.get("d1")
    assert "access_token_enc" not in kept and "token_version" not in kept and kept["vin"] == "VIN1"


def test_a_read_that_raced_with_a_write_is_not_stored():
    cache = PollCache(5)
    generation = cache.generation  # taken before the database read
    cache.invalidate(vin="other")  # any write meanwhile
    assert not cache.put("d1", ctx(), generation)
    assert cache.get("d1") is None


@pytest.mark.parametrize("keys", [{"driver": "d1"}, {"vin": "VIN1"}, {"session": "s1"}, {"connection": "c1"}])
def test_each_key_drops_the_entry(keys):
    cache = PollCache(5)
    cache.put("d1", ctx(), cache.generation)
    cache.put("d2", ctx("d2", vin="VIN2", sid="s2", cid="c2"), cache.generation)
    cache.invalidate(**keys)
    assert cache.get("d1") is None and cache.get("d2") is not None


def test_replacing_an_entry_reindexes_it():
    cache = PollCache(5)
    cache.put("d1", ctx(vin="VIN1"), cache.generation)
    cache.put("d1", ctx(vin="VIN9", sid="s9"), cache.generation)
    cache.invalidate(vin="VIN1")
    assert cache.get("d1") is not None
    cache.invalidate(session="s9")
    assert cache.get("d1") is None


def test_size_is_bounded():
    cache = PollCache(5, size=3)
    for i in range(5):
        cache.put(f"d{i}", ctx(f"d{i}", vin=f"V{i}", sid=f"s{i}", cid=f"c{i}"), cache.generation)
    assert len(cache) == 3 and cache.get("d0") is None and cache.get("d4") is not None


def test_trail_points_are_per_driver_survive_answer_changes_and_expire():
    mono = FakeMonotonic()
    cache = PollCache(2.0, monotonic=mono)
    cache.note_point("d1", "s1", TrailPoint(1.0, 2.0, NOW))
    assert cache.last_point("d1", "s1") == TrailPoint(1.0, 2.0, NOW)
    assert cache.last_point("d2", "s1") is None  # per driver
    cache.invalidate(session="s1")  # e.g. a new observation: the trail itself did not change
    assert cache.last_point("d1", "s1") == TrailPoint(1.0, 2.0, NOW)
    cache.clear()
    assert cache.last_point("d1", "s1") is None
    cache.note_point("d1", "s1", TrailPoint(1.0, 2.0, NOW))
    mono.t += 2.5
    assert cache.last_point("d1", "s1") is None


def test_unknown_keys_are_refused():
    cache = PollCache(5)
    with pytest.raises(TypeError):
        cache.changed(object(), vehicle="x")  # type: ignore[arg-type]


def test_trail_point_redundant_rule():
    lat, lng = 30.3979, -97.7044
    same = R.trail_point_redundant
    assert same(lat, lng, NOW, lat, lng, NOW, 30)                                   # same instant, same spot
    assert same(lat, lng, NOW, lat + 0.00005, lng, NOW + dt.timedelta(seconds=10), 30)  # ~5.5 m of jitter
    assert not same(lat, lng, NOW, lat + 0.0002, lng, NOW + dt.timedelta(seconds=10), 30)  # ~22 m: moved
    assert not same(lat, lng, NOW, lat, lng, NOW + dt.timedelta(seconds=30), 30)        # interval reached
    assert not same(lat, lng, NOW, lat, lng, NOW - dt.timedelta(seconds=1), 30)         # clock went back
    assert not same(lat, lng, NOW, lat, lng, NOW, 0)                                   # rule switched off
    # a few metres in no time at all implies an impossible speed: left to the jump rule, never skipped
    assert not same(lat, lng, NOW, lat + 0.00005, lng, NOW, 30)
