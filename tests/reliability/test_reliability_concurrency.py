"""Concurrency through real processes on PostgreSQL, invariants checked after each:

- 100 concurrent withdrawals on one wallet via the gateway → balance ≥ 0, Σ ledger = balance, exactly
  the affordable number paid;
- 500 concurrent session ends (IngestSessionEnded over gRPC, service token) against a budget for 10
  grants → exactly 10 grants, spent = grants × cost, exactly 10 wallet credits downstream;
- 20 concurrent duplicate (signed) Fidel clearings → one reward, one wallet credit;
- 50 concurrent polls of one VIN via the gateway → one Tesla read, one session per plug-in, and one
  SessionEnded / one grant when 50 polls race the end."""
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
from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from tests.reliability.conftest import (FIDEL_SECRET, bearer, incentives_invariants, service_md, uid, wait_for,
                                        await_for, wallet_balance_row, wallet_invariants)
from tests.reliability.flows import (CHARGER_LAT, CHARGER_LNG, Fidel, Tesla, balance, connect_tesla, ensure_offer,
                                     funded_campaign, ledger, link_card, poll, wait_balance)
from tests.reliability.signing import compact, fidel_headers, fidel_transaction

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def gw(rstack):
    with httpx.Client(base_url=rstack.gw(), timeout=30) as c:
        yield c


def credit(rstack, driver: str, cents: int, key: str | None = None) -> None:
    with grpc.insecure_channel(rstack.grpc_addr("wallet")) as ch:
        wallet_pb2_grpc.WalletServiceStub(ch).Credit(wallet_pb2.CreditRequest(
            idempotency_key=key or f"clo_reward:{uuid.uuid4()}", driver_id=driver, amount_cents=cents,
            reference_type="clo_reward", reference_id=uuid.uuid4().hex, merchant_name="Rel"),
            timeout=10, metadata=service_md("clo"))


async def test_100_concurrent_withdrawals_on_one_wallet(rstack, dbs, gw):
    driver = uid("drv-wd")
    credit(rstack, driver, 5000)
    assert gw.post("/v1/wallet/stripe/account", headers=bearer(driver), json={}).status_code == 200
    h = bearer(driver)
    async with httpx.AsyncClient(base_url=rstack.gw(), timeout=60) as client:
        rs = await asyncio.gather(*(client.post("/v1/wallet/withdraw", json={"amount_cents": 2500},
                                                headers={**h, "Idempotency-Key": f"wd-{i}"}) for i in range(100)))
    codes = [r.status_code for r in rs]
    assert set(codes) <= {200, 400, 409, 429}, [(r.status_code, r.text) for r in rs if r.status_code >= 500][:3]
    paid = [r.json() for r in rs if r.status_code == 200]
    assert len(paid) == 2 and {p["status"] for p in paid} == {"paid"}, paid
    assert len({p["payout_id"] for p in paid}) == 2
    refused = {r.json()["detail"] for r in rs if r.status_code == 400}
    assert refused and all("nsufficient" in d or "limit" in d.lower() for d in refused), refused
    bal = balance(gw, driver)
    assert (bal["available_cents"], bal["pending_cents"], bal["total_withdrawn_cents"]) == (0, 0, 5000)
    assert sum(e["amount_cents"] for e in ledger(gw, driver)) == 0
    history = gw.get("/v1/wallet/history", headers=h).json()["payouts"]
    assert sorted(p["status"] for p in history) == ["paid", "paid"]
    assert await wallet_balance_row(dbs["wallet"], driver) == (0, 0, 0, 5000)
    await wallet_invariants(dbs["wallet"])


def _ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


async def test_500_concurrent_session_ends_against_a_budget_for_10_grants(rstack, dbs, gw):
    sponsor, charger, prefix = uid("spn-race"), uid("ch-race"), uid("drv-race")
    # gross 1250 → 1000 after the 20 % platform fee → exactly 10 grants of 100
    camp = funded_campaign(gw, sponsor, cost=100, gross=1250, charger_ids=[charger])
    assert camp["budget_cents"] == 1000
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=50)
    md = service_md("telemetry")

    def request(i: int) -> incentives_pb2.IngestSessionEndedRequest:
        return incentives_pb2.IngestSessionEndedRequest(
            session_id=str(uuid.uuid4()), driver_id=f"{prefix}-{i}", session_start=_ts(start),
            session_end=_ts(start + dt.timedelta(minutes=30)), duration_minutes=30, charger_id=charger,
            verified=True, quality_score=90, source="tesla_api")

    async with grpc.aio.insecure_channel(rstack.grpc_addr("incentives")) as ch:
        stub = incentives_pb2_grpc.IncentivesServiceStub(ch)
        results = await asyncio.gather(*(stub.IngestSessionEnded(request(i), metadata=md, timeout=120)
                                         for i in range(500)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], errors[:3]
    granted = [r for r in results if r.outcome == "granted"]
    assert len(granted) == 10 and {g.grant.amount_cents for g in granted} == {100}
    budget = gw.get(f"/v1/campaigns/{camp['id']}/budget", headers=bearer(sponsor, "sponsor")).json()
    assert (budget["spent_cents"], budget["remaining_cents"], budget["sessions_granted"]) == (1000, 0, 10)
    status = gw.get(f"/v1/campaigns/{camp['id']}", headers=bearer(sponsor, "sponsor")).json()["campaign"]["status"]
    assert status == "exhausted"
    await incentives_invariants(dbs["incentives"])

    # downstream: exactly the 10 granted drivers are credited once each (outbox → WalletService.Credit)
    async def credited():
        async with dbs["wallet"].read() as conn:
            return (await conn.execute(sa.text(
                "SELECT count(*), coalesce(sum(balance_cents), 0) FROM wallets WHERE driver_id LIKE :p"),
                {"p": f"{prefix}-%"})).one()
    got = await await_for(lambda: _eq(credited(), (10, 1000)), timeout_s=30)
    assert got, await credited()
    async with dbs["wallet"].read() as conn:
        keys = (await conn.execute(sa.text("SELECT count(*) FROM journals WHERE idempotency_key LIKE 'grant:%' "
                                           "AND idempotency_key = ANY(:k)"),
                                   {"k": [f"grant:{g.grant.grant_id}" for g in granted]})).scalar_one()
    assert keys == 10
    await wallet_invariants(dbs["wallet"])


async def _eq(coro, expected):
    return tuple(await coro) == expected


async def test_concurrent_duplicate_fidel_clearings_reward_once(rstack, dbs, gw):
    fidel = Fidel(rstack)
    ensure_offer(gw)
    driver = uid("drv-dup")
    fidel_card, _ = link_card(gw, fidel, driver)
    tid = fidel.auth(fidel_card, 20.00)
    # the clearing Fidel would send for this auth, signed for the registered URL, 20 copies at once
    tx = fidel.c.get(f"/v1/transactions/{tid}", headers={"Fidel-Key": "sk_test_simulator"}).json()["items"][0]
    body = compact({**tx, "cleared": True})
    url = rstack.gw() + "/v1/clo/fidel/webhooks/transaction.clearing"
    async with httpx.AsyncClient(timeout=60) as client:
        rs = await asyncio.gather(*(client.post(url, content=body, headers=fidel_headers(FIDEL_SECRET, body, url))
                                    for _ in range(20)))
    assert [r.status_code for r in rs] == [200] * 20, [r.text for r in rs if r.status_code != 200][:3]
    answers = [r.json() for r in rs]
    assert [a["status"] for a in answers].count("credited") == 1, answers
    # the 19 losers are de-duplicated (a clearing duplicate answers "ignored: already processed")
    assert all(a["status"] in ("duplicate", "ignored") for a in answers if a["status"] != "credited"), answers
    assert {a.get("reason") for a in answers if a["status"] == "ignored"} <= {"not_eligible_or_already_processed"}
    [row] = gw.get("/v1/clo/transactions", headers=bearer(driver)).json()["transactions"]
    assert (row["status"], row["reward_cents"]) == ("credited", 250)
    wait_balance(gw, driver, 250)
    assert [e["amount_cents"] for e in ledger(gw, driver)] == [250]
    await wallet_invariants(dbs["wallet"])


async def test_concurrent_polls_of_one_vin_one_read_one_session_one_end(rstack, dbs, gw):
    tesla = Tesla(rstack)
    tesla.freeze()
    driver, sponsor = uid("drv-poll"), uid("spn-poll")
    camp = funded_campaign(gw, sponsor, cost=300, gross=3000, drivers=[driver])
    account, vin = tesla.account_with_vehicle()
    connect_tesla(gw, tesla, driver, account)
    tesla.advance(31)
    tesla.plug_in(vin)
    tesla.advance(40)
    reads_before = len([r for r in tesla.c.get("/_sim/requests", params={"vin": vin}).json()["requests"]
                        if r["path"].endswith("/vehicle_data")])
    h = bearer(driver)

    async def burst(n: int = 50, **body) -> list[dict]:
        async with httpx.AsyncClient(base_url=rstack.gw(), timeout=60) as client:
            rs = await asyncio.gather(*(client.post("/v1/charging-sessions/poll", headers=h, json=body or None)
                                        for _ in range(n)))
        assert [r.status_code for r in rs] == [200] * n, [r.text for r in rs if r.status_code != 200][:3]
        return [r.json() for r in rs]

    started = await burst(lat=CHARGER_LAT, lng=CHARGER_LNG)
    sids = {p["session_id"] for p in started if p.get("session_id")}
    assert len(sids) == 1, started[:3]
    sid = sids.pop()
    reads = [r for r in tesla.c.get("/_sim/requests", params={"vin": vin}).json()["requests"]
             if r["path"].endswith("/vehicle_data")]
    assert len(reads) - reads_before == 1  # single flight: one Tesla read for 50 polls
    for _ in range(4):
        tesla.advance(300)
        assert poll(gw, driver)["session_id"] == sid
    tesla.unplug(vin)
    tesla.advance(300)
    ended = await burst()
    assert {p["session_id"] for p in ended} <= {sid, None}  # after the end, "no active session" is right
    assert any(p.get("session_ended") for p in ended)
    assert all(p["session_active"] is False for p in ended), ended[:3]

    async with dbs["telemetry"].read() as conn:
        rows = (await conn.execute(sa.text("SELECT id, session_end FROM charging_sessions WHERE driver_id = :d"),
                                   {"d": driver})).all()
        events = (await conn.execute(sa.text("SELECT count(*) FROM outbox WHERE topic = 'SessionEnded' AND key = :k"),
                                     {"k": sid})).scalar_one()
    assert len(rows) == 1 and rows[0][1] is not None and events == 1
    assert len(tesla.ground_truth(vin)) == 1
    wait_balance(gw, driver, 300)
    grants = gw.get(f"/v1/campaigns/{camp['id']}/grants", headers=bearer(sponsor, "sponsor")).json()
    assert grants["total"] == 1 and grants["grants"][0]["session_event_id"] == sid
    await incentives_invariants(dbs["incentives"])
    await wallet_invariants(dbs["wallet"])
