"""Faults with real processes on PostgreSQL: SIGKILL a downstream service mid-flow, restart it, and
prove every effect is applied exactly once (outbox redelivery, idempotent receivers); Tesla 408/429
storms → no duplicate sessions, budget respected."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import grpc
import httpx
import pytest
import sqlalchemy as sa
from google.protobuf import timestamp_pb2

from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from tests.reliability.conftest import (await_for, bearer, incentives_invariants, service_md, uid, wait_for,
                                        wallet_invariants)
from tests.reliability.flows import (CHARGER_LAT, CHARGER_LNG, Tesla, charge_session, connect_tesla,
                                     funded_campaign, ledger, poll, wait_balance)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def gw(rstack):
    with httpx.Client(base_url=rstack.gw(), timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def tesla(rstack):
    t = Tesla(rstack)
    t.freeze()
    yield t
    t.clear_faults()


@pytest.fixture
def restore(rstack):
    """Whatever a test kills is running again afterwards."""
    yield
    for name in ("incentives", "wallet"):
        if name not in rstack.procs or rstack.procs[name].poll() is not None:
            rstack.restart(name)


async def grants_of(dbs, campaign_id: str) -> list[tuple[str, str]]:
    async with dbs["incentives"].read() as conn:
        return [tuple(r) for r in (await conn.execute(sa.text(
            "SELECT id, session_id FROM incentive_grants WHERE campaign_id = :c"), {"c": campaign_id})).all()]


async def credited_keys(dbs, keys: list[str]) -> list[str]:
    async with dbs["wallet"].read() as conn:
        return [r[0] for r in (await conn.execute(sa.text(
            "SELECT idempotency_key FROM journals WHERE idempotency_key = ANY(:k)"), {"k": keys})).all()]


async def test_incentives_killed_before_session_end_grant_lands_once_after_restart(rstack, dbs, gw, tesla, restore):
    driver, sponsor = uid("drv-kill-inc"), uid("spn-kill-inc")
    camp = funded_campaign(gw, sponsor, cost=700, gross=7000, drivers=[driver])
    account, vin = tesla.account_with_vehicle()
    connect_tesla(gw, tesla, driver, account)
    rstack.kill_one("incentives")  # SIGKILL: no graceful shutdown
    end = charge_session(gw, tesla, driver, vin, minutes=20)
    sid = end["session_id"]
    assert end["incentive_granted"] is False  # incentives is down: the end is still recorded
    async with dbs["telemetry"].read() as conn:
        row = (await conn.execute(sa.text("SELECT delivered_at FROM outbox WHERE topic='SessionEnded' AND key=:k"),
                                  {"k": sid})).one()
    assert row[0] is None
    rstack.restart("incentives")

    async def delivered():
        tesla.advance(600)  # the dispatcher's backoff runs on the simulator's clock in mock mode
        return len(await grants_of(dbs, camp["id"])) == 1
    assert await await_for(delivered, timeout_s=40, interval_s=0.5)
    wait_balance(gw, driver, 700, timeout_s=30)
    tesla.advance(3600)  # further dispatcher rounds change nothing
    await asyncio.sleep(1.5)
    assert [g[1] for g in await grants_of(dbs, camp["id"])] == [sid]
    assert [e["amount_cents"] for e in ledger(gw, driver)] == [700]
    session = gw.get(f"/v1/charging-sessions/{sid}", headers=bearer(driver)).json()["session"]
    assert wait_for(lambda: gw.get(f"/v1/charging-sessions/{sid}", headers=bearer(driver))
                    .json()["session"]["incentive"]), session  # ApplyGrantStatus came back to telemetry
    await incentives_invariants(dbs["incentives"])
    await wallet_invariants(dbs["wallet"])


def _ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


async def test_incentives_killed_mid_burst_and_wallet_down_every_effect_exactly_once(rstack, dbs, gw, restore):
    """100 session ends race a SIGKILL of incentives; the wallet is down too. The callers redeliver
    everything (as telemetry's outbox does), both services come back: each session yields at most one
    grant, grants = min(sessions, budget), and each grant is credited exactly once."""
    sponsor, charger, prefix = uid("spn-burst"), uid("ch-burst"), uid("drv-burst")
    camp = funded_campaign(gw, sponsor, cost=100, gross=5000, charger_ids=[charger])  # 40 grants
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=50)
    reqs = [incentives_pb2.IngestSessionEndedRequest(
        session_id=str(uuid.uuid4()), driver_id=f"{prefix}-{i}", session_start=_ts(start),
        session_end=_ts(start + dt.timedelta(minutes=30)), duration_minutes=30, charger_id=charger,
        verified=True, quality_score=90, source="tesla_api") for i in range(100)]
    md = service_md("telemetry")
    rstack.kill_one("wallet")

    async def ingest_all(kill_after_s: float | None = None) -> list:
        async with grpc.aio.insecure_channel(rstack.grpc_addr("incentives")) as ch:
            stub = incentives_pb2_grpc.IncentivesServiceStub(ch)
            calls = [asyncio.ensure_future(stub.IngestSessionEnded(r, metadata=md, timeout=30)) for r in reqs]
            if kill_after_s is not None:
                await asyncio.sleep(kill_after_s)
                await asyncio.to_thread(rstack.kill_one, "incentives")
            return await asyncio.gather(*calls, return_exceptions=True)

    first = await ingest_all(kill_after_s=0.4)
    failed = [r for r in first if isinstance(r, Exception)]
    assert failed and all(isinstance(e, grpc.RpcError) for e in failed), failed[:2]  # the kill hit calls in flight
    partial = len(await grants_of(dbs, camp["id"]))
    print(f"mid-burst kill: {len(failed)} calls failed, {partial} grants before the restart")
    await asyncio.to_thread(rstack.restart, "incentives")
    second = await ingest_all()
    assert [r for r in second if isinstance(r, Exception)] == []
    grants = await grants_of(dbs, camp["id"])
    assert len(grants) == 40 and len({s for _, s in grants}) == 40 and partial <= 40
    # a redelivered session answers with its original grant: still exactly 40 granted answers
    assert len([r for r in second if r.outcome == "granted"]) == 40, {r.outcome for r in second}
    assert {r.grant.grant_id for r in second if r.outcome == "granted"} == {g for g, _ in grants}
    await incentives_invariants(dbs["incentives"])

    # the wallet comes back: the incentives outbox redelivers each GrantCreated → one credit each
    await asyncio.to_thread(rstack.restart, "wallet")
    keys = [f"grant:{gid}" for gid, _ in grants]
    assert await await_for(lambda: _len_is(credited_keys(dbs, keys), 40), timeout_s=60, interval_s=0.5)
    async with dbs["wallet"].read() as conn:
        total = (await conn.execute(sa.text("SELECT coalesce(sum(balance_cents), 0), count(*) FROM wallets "
                                            "WHERE driver_id LIKE :p"), {"p": f"{prefix}-%"})).one()
    assert tuple(total) == (4000, 40)
    await wallet_invariants(dbs["wallet"])


async def _len_is(coro, n: int) -> bool:
    return len(await coro) == n


async def test_tesla_408_and_429_storms_no_duplicate_sessions_budget_respected(rstack, dbs, gw, tesla):
    driver, sponsor = uid("drv-storm"), uid("spn-storm")
    camp = funded_campaign(gw, sponsor, cost=400, gross=500, drivers=[driver])  # 400 after fee: ONE grant
    assert camp["budget_cents"] == 400
    account, vin = tesla.account_with_vehicle()
    connect_tesla(gw, tesla, driver, account)
    tesla.advance(31)
    tesla.plug_in(vin)
    tesla.advance(40)
    sid = poll(gw, driver, lat=CHARGER_LAT, lng=CHARGER_LNG)["session_id"]
    assert sid

    async def storm(status: int, rounds: int) -> None:
        tesla.fault(path="vehicle_data", vin=vin, status=status, count=-1, retry_after_s=30)
        async with httpx.AsyncClient(base_url=rstack.gw(), timeout=60) as client:
            for _ in range(rounds):
                tesla.advance(31)
                rs = await asyncio.gather(*(client.post("/v1/charging-sessions/poll", headers=bearer(driver))
                                            for _ in range(10)))
                assert {r.status_code for r in rs} == {200}, [r.text for r in rs if r.status_code != 200][:2]
                for body in (r.json() for r in rs):
                    assert body.get("session_id") in (sid, None), body
        tesla.clear_faults()

    await storm(429, 4)
    await storm(408, 4)
    tesla.advance(60)
    p = poll(gw, driver)
    assert p["session_active"] is True and p["session_id"] == sid, p
    tesla.advance(600)
    assert poll(gw, driver)["session_id"] == sid
    tesla.unplug(vin)
    tesla.advance(300)
    first_end = poll(gw, driver)
    assert first_end["session_ended"] is True and first_end["session_id"] == sid
    wait_balance(gw, driver, 400)

    # a second plug-in: a second session, but the budget is spent
    second = charge_session(gw, tesla, driver, vin, minutes=20)
    assert second["session_id"] != sid
    async with dbs["telemetry"].read() as conn:
        n = (await conn.execute(sa.text("SELECT count(*) FROM charging_sessions WHERE driver_id = :d"),
                                {"d": driver})).scalar_one()
    assert n == len(tesla.ground_truth(vin)) == 2  # one session per plug-in
    assert len(await grants_of(dbs, camp["id"])) == 1
    budget = gw.get(f"/v1/campaigns/{camp['id']}/budget", headers=bearer(sponsor, "sponsor")).json()
    assert (budget["spent_cents"], budget["sessions_granted"]) == (400, 1)
    assert [e["amount_cents"] for e in ledger(gw, driver)] == [400]
    await incentives_invariants(dbs["incentives"])
    await wallet_invariants(dbs["wallet"])
