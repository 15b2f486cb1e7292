"""Fleet Telemetry push against the real NATS JetStream server (and SQLite / PostgreSQL): the Tesla
simulator streams a scripted plug-in as Tesla's protobuf records to ``<namespace>.<VIN>.data``;
the telemetry consumer turns them into one session through the same state machine as the polls.

Each test has its own stream, subject namespace, durable and dead-letter subject (parallel runs on
the shared server never collide) and deletes them afterwards. NATS unreachable → the test FAILS."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from services.telemetry.adapters.nats_consumer import FleetTelemetryConsumer, NatsSettings
from services.telemetry.adapters.tables import charging_sessions, outbox_table, telemetry_dead_letters
from services.telemetry.app.push import consumer_for
from tests.integration.telemetry_harness import VIN, Harness, make_harness
from tests.nats_support import PrivateNatsServer, delete_streams, require_nats, unique_push_names

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DRIVER = "driver-push"
PLUG_IN = (60, "plug_in", {"dc": True, "power_kw": 30, "fast_charger_type": "Tesla"})
UNPLUG = (1860, "unplug", {})
# The expected session whatever the delivery: start = the Charging record, end = the last record
# that saw charging (the T0+1800 energy tick; the car unplugged at T0+1860), energy = 30 kW × 30 min.
EXPECTED = {"session_start": T0 + dt.timedelta(seconds=60), "session_end": T0 + dt.timedelta(seconds=1800),
            "duration_minutes": 29, "kwh_delivered": 15.0, "battery_start_pct": 65, "battery_end_pct": 85,
            "ended_reason": "telemetry_disconnected", "source": "fleet_telemetry",
            "verification_method": "telemetry", "max_power_kw": 30.0, "charger_id": "demo-charger-austin-domain"}


@pytest.fixture
async def nats_url():
    return await require_nats()


@dataclasses.dataclass
class Push:
    h: Harness
    consumer: FleetTelemetryConsumer
    settings: NatsSettings
    url: str

    async def drain(self, consumer: FleetTelemetryConsumer | None = None) -> None:
        """Handle everything the broker holds for the durable (redeliveries included)."""
        c = consumer or self.consumer
        loop = asyncio.get_running_loop()
        # A record nak'd with a delay is, until the broker redelivers it, neither pending nor awaiting
        # an ack; so "drained" also needs a quiet spell longer than the longest backoff (on a loaded
        # host the fetch timeout alone did not cover it, and a redelivery was missed).
        quiet_s = 3 * max(self.settings.backoff_s, default=0.2)
        last_work = loop.time()
        for _ in range(400):
            n = await c.run_once()
            if n:
                last_work = loop.time()
            info = await c.js.consumer_info(self.settings.stream, self.settings.durable)
            if (n == 0 and info.num_pending == 0 and info.num_ack_pending == 0
                    and loop.time() - last_work >= quiet_s):
                return
        raise AssertionError("the consumer did not drain")

    async def sessions(self) -> list[dict]:
        async with self.h.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(
                sa.select(charging_sessions).order_by(charging_sessions.c.session_start))]

    async def fleet_reads(self) -> int:
        reqs = (await self.h.sim.get("/_sim/requests")).json()["requests"]
        return sum(1 for r in reqs if r["category"] in ("data", "wake"))


async def start_push(database_url: str, nats_url: str, *, batch: int = 100, **knobs) -> Push:
    names = unique_push_names()
    h = await make_harness(database_url, NATS_URL=nats_url, NATS_NAMESPACE=names["namespace"])
    settings = NatsSettings(url=nats_url, **names, max_deliver=4, backoff_s=(0.2, 0.2, 0.2), ack_wait_s=2.0,
                            batch=batch, fetch_timeout_s=0.2)
    consumer = consumer_for(settings, h.uc.push)
    await consumer.connect()
    r = await h.sim.post("/_sim/telemetry/sink", json={"nats_url": nats_url, "namespace": names["namespace"],
                                                         "encoding": "protobuf", **knobs})
    assert r.status_code == 200, r.text
    await h.connect(DRIVER)
    assert await h.uc.configure_telemetry(DRIVER) == VIN  # T10 enrols the car at the simulator
    return Push(h, consumer, settings, nats_url)


async def stop_push(p: Push) -> None:
    await p.consumer.close()
    await p.h.sim.delete("/_sim/telemetry/sink")
    await p.h.app.state.publisher.close()
    await delete_streams(p.url, p.settings.stream, p.settings.dead_letter_stream)
    await p.h.close()


async def run_session(p: Push, advances: list[float]) -> None:
    """Script the plug-in, move the virtual clock in ``advances`` (each flushes the car's records to
    NATS), drain after each, then let the held end pass (60 s) and run the push job."""
    await p.h.script(VIN, PLUG_IN, UNPLUG)
    for seconds in advances:
        await p.h.advance(seconds)
        await p.drain()
    await p.h.advance(61)
    await p.drain()
    await p.h.uc.push.finalize()


def assert_expected(s: dict) -> None:
    got = {k: s[k] for k in EXPECTED}
    got["kwh_delivered"] = round(got["kwh_delivered"], 3)
    assert got == EXPECTED


async def session_ended_events(p: Push) -> list[tuple[str, dict]]:
    async with p.h.db.read() as conn:
        return [(r.key, json.loads(r.payload)) for r in await conn.execute(sa.select(outbox_table))]


async def test_scripted_session_by_push_only(database_url, nats_url):
    p = await start_push(database_url, nats_url)
    try:
        reads_before = await p.fleet_reads()
        await p.h.script(VIN, PLUG_IN, UNPLUG)
        await p.h.advance(900)
        await p.drain()
        [s] = await p.sessions()
        assert s["session_end"] is None and s["session_start"] == EXPECTED["session_start"]
        # push keeps the session's next poll 10 minutes away: the scheduler only fills gaps
        assert s["next_poll_at"] == T0 + dt.timedelta(seconds=900 + 600)
        r = await p.h.uc.poll(DRIVER, None, None)  # T13 answers from push (telemetry fresh), no Tesla read
        assert r["session_active"] is True and r["telemetry_mode"] is True and r["session_id"] == s["id"]
        await p.h.advance(1200)  # unplugged at T0+1860: the end is held 60 s for reordered records
        await p.drain()
        [s] = await p.sessions()
        assert s["session_end"] is None
        assert await p.h.uc.push.finalize() == 0
        await p.h.advance(61)
        assert await p.h.uc.push.finalize() == 1
        [s] = await p.sessions()
        assert_expected(s)
        assert s["end_detected_at"] == T0 + dt.timedelta(seconds=2161)
        truth = (await p.h.sim.get("/_sim/sessions")).json()["sessions"][0]
        assert truth["first_charging_at"] == "2026-03-02T10:01:00.000Z"
        assert truth["last_charging_at"] == "2026-03-02T10:31:00.000Z"  # ours: one 60 s report earlier
        assert abs(truth["kwh"] - s["kwh_delivered"]) < 0.01
        [(key, payload)] = await session_ended_events(p)
        assert key == s["id"] and payload["source"] == "fleet_telemetry"
        assert payload["ended_reason"] == "telemetry_disconnected" and payload["session_end"].startswith(
            "2026-03-02T10:30:00")
        assert await p.fleet_reads() == reads_before  # not one Fleet API read during the session
    finally:
        await stop_push(p)


@pytest.mark.parametrize("knobs", [
    {"duplicate_rate": 1.0},
    {"reorder_rate": 1.0},
    {"duplicate_rate": 0.5, "reorder_rate": 0.5, "delay_s": 45, "seed": 7},
], ids=["duplicates", "reorder", "mixed-delay"])
async def test_duplicates_reordering_and_delay_give_the_same_session(database_url, nats_url, knobs):
    # batch=1: records are handled exactly in delivery order (a batch would be sorted by time)
    p = await start_push(database_url, nats_url, batch=1, **knobs)
    try:
        # T0+1790 then the rest: the T0+1800 charging record and the T0+1860 unplug share a flush,
        # so the reorder knob delivers the unplug first
        await run_session(p, [1790, 610])
        [s] = await p.sessions()
        assert_expected(s)
        assert len(await session_ended_events(p)) == 1
        sent = (await p.h.sim.get("/_sim/telemetry/log")).json()["sent"]
        if knobs.get("duplicate_rate") == 1.0:
            assert sum(1 for x in sent if x["kind"] == "duplicate") == sum(1 for x in sent if x["kind"] == "record")
        if knobs.get("reorder_rate") == 1.0:
            order = [x["created_at"] for x in sent]
            assert order.index("2026-03-02T10:31:00.000Z") < order.index("2026-03-02T10:30:00.000Z")
    finally:
        await stop_push(p)


async def test_unknown_vins_forgeries_and_garbage_are_dead_lettered(database_url, nats_url):
    p = await start_push(database_url, nats_url, forge_rate=1.0, garbage_rate=0.2, mismatch_rate=0.2, seed=3)
    try:
        await run_session(p, [1200, 1200])
        [s] = await p.sessions()
        assert_expected(s)  # the real car's session is untouched by the forgeries
        sent = (await p.h.sim.get("/_sim/telemetry/log")).json()["sent"]
        expected = {reason: sum(1 for x in sent if x["kind"] == kind) for kind, reason in (
            ("forged_vin", "unknown_vin"), ("garbage", "undecodable"), ("mismatch", "vin_mismatch"))}
        assert all(n > 0 for n in expected.values())
        async with p.h.db.read() as conn:
            rows = list(await conn.execute(sa.select(telemetry_dead_letters.c.reason, telemetry_dead_letters.c.source)))
        got = {reason: sum(1 for r in rows if r.reason == reason) for reason in expected}
        assert got == expected and {r.source for r in rows} == {"nats"}
        # the dead-letter subject holds the raw records with their reason
        js = p.consumer.js
        info = await js.stream_info(p.settings.dead_letter_stream)
        assert info.state.messages == sum(expected.values())
        sub = await js.pull_subscribe(f"{p.settings.dead_letter_subject}.unknown_vin", stream=p.settings.dead_letter_stream)
        msgs = await sub.fetch(1, timeout=2)
        assert msgs[0].headers["Nerava-Reason"] == "unknown_vin" and msgs[0].data
        await sub.unsubscribe()
    finally:
        await stop_push(p)


async def test_failures_are_redelivered_with_backoff_then_dead_lettered(database_url, nats_url):
    p = await start_push(database_url, nats_url)
    try:
        real = p.h.uc.push.ingest
        failures = {"left": 2}

        async def flaky(record, **kw):
            if failures["left"] > 0:
                failures["left"] -= 1
                raise ConnectionError("database down")  # before anything is written
            return await real(record, **kw)

        p.h.uc.push.ingest = flaky
        await run_session(p, [1200, 1200])
        [s] = await p.sessions()
        assert_expected(s)  # the two failed records came back (nak + backoff) and count once
        assert p.consumer.stats["naked"] == 2

        # a record that always fails: max_deliver (4) deliveries, then dead letter processing_error
        async def broken(record, **kw):
            raise RuntimeError("bug")

        p.h.uc.push.ingest = broken
        await p.h.advance(120)  # the car is idle: send one record by hand
        from services.telemetry.adapters.fleet_codec import encode_protobuf
        from services.telemetry.domain.push import FleetRecord

        rec = FleetRecord(VIN, T0 + dt.timedelta(seconds=2600), False, {"BatteryLevel": 85.0})
        await p.consumer.js.publish(f"{p.settings.namespace}.{VIN}.data", encode_protobuf(rec))
        await p.drain()
        async with p.h.db.read() as conn:
            reasons = [r.reason for r in await conn.execute(sa.select(telemetry_dead_letters.c.reason))]
        assert reasons == ["processing_error"]
        assert p.consumer.stats["naked"] == 2 + 3
    finally:
        await stop_push(p)


async def test_consumer_crash_mid_session_loses_nothing(database_url, nats_url):
    p = await start_push(database_url, nats_url, batch=5)
    try:
        await p.h.script(VIN, PLUG_IN, UNPLUG)
        await p.h.advance(900)
        await p.drain()
        await p.h.advance(1500)
        # a replica takes a batch and dies before acknowledging it
        msgs = await p.consumer.sub.fetch(5, timeout=2)
        assert len(msgs) == 5
        await p.consumer.close()
        second = consumer_for(p.settings, p.h.uc.push)
        await second.connect()  # same durable: the broker redelivers the unacked batch after ack_wait
        p.consumer = second
        await p.drain()
        await p.h.advance(61)
        await p.drain()
        await p.h.uc.push.finalize()
        [s] = await p.sessions()
        assert_expected(s)
        assert len(await session_ended_events(p)) == 1
    finally:
        await stop_push(p)


async def test_broker_restart_mid_session_loses_nothing(database_url, nats_url):
    # a private nats-server (own port and store) so stopping it never disturbs the shared one
    server = PrivateNatsServer()
    await server.start()
    p = await start_push(database_url, server.url)
    task = asyncio.create_task(p.consumer.run_forever())
    try:
        await p.h.script(VIN, PLUG_IN, UNPLUG)
        await p.h.advance(900)
        await wait_drained(p)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await p.h.advance(960)  # records up to the unplug are stored in the stream, not yet consumed
        await server.stop()
        await server.start()  # same port and store: the stream and the durable survive
        task = asyncio.create_task(p.consumer.run_forever())
        await wait_drained(p)
        await p.h.advance(400)
        await wait_drained(p)
        await p.h.advance(61)
        await p.h.uc.push.finalize()
        [s] = await p.sessions()
        assert_expected(s)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await p.consumer.close()
        await p.h.app.state.publisher.close()
        await p.h.close()
        await server.close()


async def wait_drained(p: Push) -> None:
    import nats

    nc = await nats.connect(p.url, connect_timeout=2, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        js = nc.jetstream()
        for _ in range(300):
            try:
                info = await js.consumer_info(p.settings.stream, p.settings.durable)
                if info.num_pending == 0 and info.num_ack_pending == 0:
                    return
            except Exception:  # noqa: BLE001 — the broker may still be starting
                pass
            await asyncio.sleep(0.05)
        raise AssertionError("not drained")
    finally:
        await nc.close()


async def test_gap_in_push_data_is_filled_by_one_scheduled_poll(database_url, nats_url):
    p = await start_push(database_url, nats_url)
    try:
        await p.h.script(VIN, PLUG_IN, UNPLUG)
        await p.h.advance(600)
        await p.drain()
        [s] = await p.sessions()
        reads = await p.fleet_reads()
        assert await p.h.uc.sessions.scheduler_tick() == 0  # push is flowing: nothing is due
        await p.h.sim.delete("/_sim/telemetry/sink")  # the stream goes silent (e.g. the car's link)
        await p.h.advance(9 * 60)
        assert await p.h.uc.sessions.scheduler_tick() == 0
        await p.h.advance(61)  # 10 min without push data: the scheduler fills the gap with one read
        assert await p.h.uc.sessions.scheduler_tick() == 1
        assert await p.fleet_reads() == reads + 1
        [s2] = await p.sessions()
        assert s2["id"] == s["id"] and s2["session_end"] is None and s2["source"] == "fleet_telemetry"
        assert s2["last_charging_at"] == T0 + dt.timedelta(seconds=600 + 9 * 60 + 61)
    finally:
        await stop_push(p)


async def test_fleet_api_calls_per_session_push_vs_naive_polling(nats_url, tmp_path, capsys):
    """The issue's goal: Fleet API calls per detected session with push ≤ 1/100 of naive polling
    (the car read every 60 s, the base cadence, over the same 3-hour window with one session)."""
    window_s, step_s = 3 * 3600, 60
    poll = await make_harness(f"sqlite+aiosqlite:///{tmp_path / 'poll.db'}")
    try:
        await poll.connect(DRIVER)
        before = sum(1 for r in (await poll.sim.get("/_sim/requests")).json()["requests"] if r["category"])
        await poll.script(VIN, PLUG_IN, UNPLUG)
        for _ in range(window_s // step_s):
            await poll.advance(step_s)
            await poll.uc.poll(DRIVER, None, None)
        reqs = (await poll.sim.get("/_sim/requests")).json()["requests"]
        naive_calls = sum(1 for r in reqs if r["category"]) - before
        async with poll.db.read() as conn:
            naive_sessions = (await conn.execute(sa.select(sa.func.count()).select_from(charging_sessions))).scalar()
    finally:
        await poll.close()

    p = await start_push(f"sqlite+aiosqlite:///{tmp_path / 'push.db'}", nats_url)
    try:
        # after sign-in (T3 reads the vehicle list) only T10 (one command) and whatever push needs
        reqs = (await p.h.sim.get("/_sim/requests")).json()["requests"]
        before = sum(1 for r in reqs if r["category"] and "fleet_telemetry_config" not in r["path"])
        await p.h.script(VIN, PLUG_IN, UNPLUG)
        for _ in range(window_s // 600):
            await p.h.advance(600)
            await p.drain()
            await p.h.uc.push.finalize()
            await p.h.uc.sessions.scheduler_tick()
            await p.h.uc.sessions.close_stale()
        reqs = (await p.h.sim.get("/_sim/requests")).json()["requests"]
        push_calls = sum(1 for r in reqs if r["category"]) - before
        [s] = await p.sessions()
        assert_expected(s)
    finally:
        await stop_push(p)
    assert naive_sessions == 1
    with capsys.disabled():
        print(f"\nFleet API calls per session over {window_s // 3600} h: naive polling every {step_s} s = "
              f"{naive_calls}, push = {push_calls} (T10 included), ratio 1/{naive_calls / max(push_calls, 1):.0f}")
    assert push_calls * 100 <= naive_calls


async def test_two_replicas_share_the_durable_and_make_one_session(database_url, nats_url):
    """Two consumers on one durable (two telemetry replicas): each record goes to one of them, in
    any interleaving; the VIN's row lock (PostgreSQL) / serialised writers (SQLite) keep one session."""
    p = await start_push(database_url, nats_url, batch=3, duplicate_rate=0.5, seed=11)
    second = consumer_for(p.settings, p.h.uc.push)
    await second.connect()
    try:
        await p.h.script(VIN, PLUG_IN, UNPLUG)
        await p.h.advance(2400)

        async def pump(c):
            empty = 0
            while empty < 3:
                empty = empty + 1 if await c.run_once() == 0 else 0

        await asyncio.gather(pump(p.consumer), pump(second))
        await p.drain()
        assert p.consumer.stats["acked"] > 0 and second.stats["acked"] > 0
        await p.h.advance(61)
        await p.h.uc.push.finalize()
        [s] = await p.sessions()
        assert_expected(s)
        assert len(await session_ended_events(p)) == 1
    finally:
        await second.close()
        await stop_push(p)
