"""CLO use cases on SQLite AND PostgreSQL: cards, offers, Fidel webhooks, rewards, clawbacks, jobs."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa

from kit import errors, migrations
from kit.clock import ManualClock
from kit.db import Database
from kit.outbox import OutboxDispatcher
from services.clo.adapters.fidel import FakeFidelClient
from services.clo.adapters.tables import offers, outbox_table, refunds, transactions, webhook_inbox
from services.clo.adapters.telemetry import FakeSessionFinder
from services.clo.app.usecases import CloUseCases
from services.clo.config import CloConfig
from services.clo.domain import signature
from services.clo.domain.cards import ProviderCard
from services.clo.domain.offers import Offer
from services.clo.domain.sessions import ChargingSession

UTC = dt.timezone.utc
SECRET = "wh_secret_for_tests"
T0 = dt.datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # Wednesday; 12:00 in Chicago
DRIVER, OTHER, ADMIN = "driver-1", "driver-2", "admin-1"


@pytest.fixture
async def env(database_url):
    await asyncio.to_thread(migrations.upgrade, "clo", database_url)
    db = Database(database_url)
    config = CloConfig(ENV="test", FIDEL_WEBHOOK_SECRET=SECRET, CLO_DEFAULT_TIME_ZONE="America/Chicago")
    fidel, finder, clock = FakeFidelClient(), FakeSessionFinder(), ManualClock(T0)
    uc = CloUseCases(db, config, fidel=fidel, sessions=finder, clock=clock)
    try:
        yield uc
    finally:
        await db.dispose()


def provider_card(fid: str, driver: str = DRIVER, **kw) -> ProviderCard:
    base = dict(fidel_card_id=fid, program_id="prog_sim", metadata_id=driver, last4="4242", scheme="visa",
                expiry_month=12, expiry_year=2030)
    base.update(kw)
    return ProviderCard(**base)


async def linked(uc: CloUseCases, fid: str = "fc_1", driver: str = DRIVER) -> str:
    uc.fidel.add(provider_card(fid, driver))
    return (await uc.link_card(driver, fid)).card.card_id


async def admin_offer(uc: CloUseCases, **kw) -> Offer:
    base = dict(offer_id="", merchant_id="m-1", reward_cents=300)
    base.update(kw)
    return await uc.create_offer(ADMIN, True, Offer(**base))


def body_of(tid: str, amount, *, card="fc_1", when="2026-03-04T12:00:00", **extra) -> bytes:
    obj = {"id": tid, "amount": amount, "currency": "USD", "datetime": when, "auth": True, "cleared": False,
           "card": {"id": card}, "brand": {"id": "b1", "name": "Cafe"},
           "location": {"id": "loc-1", "timezone": "America/Chicago", "metadata": {"merchantId": "m-1"}}}
    obj.update(extra)
    return json.dumps(obj, separators=(",", ":")).encode()


async def send(uc: CloUseCases, event: str, body: bytes, *, secret: str = SECRET, ts_offset_ms: int = 0):
    ts = str(int(uc.clock.now().timestamp() * 1000) + ts_offset_ms)
    sig = signature.sign(secret, body, uc.config.registered_url(event), ts)
    return await uc.handle_webhook(event, "", body, sig, ts)


async def count(uc: CloUseCases, table, *where) -> int:
    async with uc.db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one()


async def events(uc: CloUseCases) -> list[tuple[str, str, dict]]:
    async with uc.db.read() as conn:
        rows = await conn.execute(sa.select(outbox_table).order_by(outbox_table.c.id))
        return [(r.topic, r.key, json.loads(r.payload)) for r in rows]


# ---- cards -------------------------------------------------------------------------------------

async def test_link_list_unlink_and_ownership(env):
    uc = env
    card_id = await linked(uc)
    again = await uc.link_card(DRIVER, "fc_1")
    assert (again.status, again.card.card_id) == ("already_linked", card_id)
    cards = await uc.list_cards(DRIVER)
    assert [(c.card_id, c.last4, c.scheme) for c in cards] == [(card_id, "4242", "visa")]
    uc.fidel.add(provider_card("fc_1", OTHER))  # the provider says another driver enrolled it
    with pytest.raises(errors.PermissionDenied):
        await uc.link_card(DRIVER, "fc_1")
    with pytest.raises(errors.AlreadyExists):
        await uc.link_card(OTHER, "fc_1")
    with pytest.raises(errors.NotFound):
        await uc.unlink_card(OTHER, False, card_id)
    assert await uc.unlink_card(DRIVER, False, card_id) == card_id
    assert await uc.unlink_card(DRIVER, False, card_id) == card_id  # idempotent
    assert await uc.list_cards(DRIVER) == []
    topics = [t for t, _, _ in await events(uc)]
    assert topics == ["FidelCardDelete"]
    # relinking by the same driver reactivates the row
    uc.fidel.add(provider_card("fc_1", DRIVER))
    relinked = await uc.link_card(DRIVER, "fc_1")
    assert (relinked.status, relinked.card.card_id) == ("linked", card_id)


async def test_link_refusals(env):
    uc = env
    with pytest.raises(errors.InvalidArgument):
        await uc.link_card(DRIVER, "bad id!")
    with pytest.raises(errors.NotFound):
        await uc.link_card(DRIVER, "fc_unknown")
    uc.fidel.add(provider_card("fc_prog", program_id="other"))
    with pytest.raises(errors.FailedPrecondition):
        await uc.link_card(DRIVER, "fc_prog")
    uc.fidel.add(provider_card("fc_old", expiry_year=2025))
    with pytest.raises(errors.FailedPrecondition):
        await uc.link_card(DRIVER, "fc_old")
    for i in range(5):
        await linked(uc, f"fc_{i}")
    uc.fidel.add(provider_card("fc_6"))
    with pytest.raises(errors.FailedPrecondition, match=r"Card limit reached \(5\)"):
        await uc.link_card(DRIVER, "fc_6")
    uc.fidel.down = True
    with pytest.raises(errors.Unavailable):
        await uc.link_card(DRIVER, "fc_6")


# ---- webhooks ----------------------------------------------------------------------------------

async def test_auth_then_clearing_credits_once_through_the_outbox(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, reward_cents=0, reward_bps=500, max_reward_cents=1000, budget_cents=10_000)
    auth = await send(uc, "transaction.auth", body_of("t1", 19.99))
    assert auth["status"] == "eligible" and auth["reward_cents"] == 99
    assert (await send(uc, "transaction.auth", body_of("t1", 19.99)))["status"] == "duplicate"
    clear = await send(uc, "transaction.clearing", body_of("t1", 25.00, cleared=True))
    assert clear["status"] == "credited" and clear["reward_cents"] == 125  # recomputed on the cleared amount
    again = await send(uc, "transaction.clearing", body_of("t1", 25.00, cleared=True))
    assert again == {"status": "ignored", "reason": "not_eligible_or_already_processed",
                     "transaction_id": clear["transaction_id"]}
    evs = await events(uc)
    assert [(t, k) for t, k, _ in evs] == [("RewardAvailable", f"clo_reward:{clear['transaction_id']}")]
    assert evs[0][2]["amount_cents"] == 125 and evs[0][2]["driver_id"] == DRIVER
    async with uc.db.read() as conn:
        offer_row = (await conn.execute(sa.select(offers))).one()
    assert offer_row.budget_reserved_cents == 125
    # the outbox handler receives the deterministic key
    seen = []

    async def credit(key, payload):
        seen.append((key, payload["amount_cents"]))

    await OutboxDispatcher(uc.db, outbox_table, {"RewardAvailable": credit}, clock=uc.clock).run_once()
    assert seen == [(f"clo_reward:{clear['transaction_id']}", 125)]
    rows, _ = await uc.list_transactions(DRIVER, False, "", None, "")
    assert [(r.status, r.reward_cents, r.amount_cents) for r in rows] == [("credited", 125, 2500)]


async def test_bad_signatures_store_nothing(env):
    uc = env
    await linked(uc)
    await admin_offer(uc)
    with pytest.raises(errors.InvalidArgument, match="Invalid webhook signature"):
        await send(uc, "transaction.auth", body_of("t1", 20), secret="forged")
    with pytest.raises(errors.InvalidArgument):
        await send(uc, "transaction.auth", body_of("t1", 20), ts_offset_ms=-301_000)
    body = body_of("t1", 20)
    ts = str(int(uc.clock.now().timestamp() * 1000))
    sig = signature.sign(SECRET, body, uc.config.registered_url("transaction.auth"), ts)
    with pytest.raises(errors.InvalidArgument):  # signed for another hook URL
        await uc.handle_webhook("transaction.clearing", "", body, sig, ts)
    with pytest.raises(errors.InvalidArgument):  # tampered body
        await uc.handle_webhook("transaction.auth", "", body.replace(b"20", b"21"), sig, ts)
    assert await count(uc, webhook_inbox) == 0 and await count(uc, transactions) == 0
    with pytest.raises(errors.NotFound):
        await uc.handle_webhook("not.an.event", "", body, sig, ts)


async def test_missing_secret_fails_closed_outside_development(env):
    uc = env
    for env_name, expect in (("test", errors.Unavailable), ("production", None)):
        if env_name == "production":
            with pytest.raises(ValueError):
                CloConfig(ENV="production", NERAVA_JWT_SECRET="x" * 40, ALLOW_MOCK_CLO_IN_PRODUCTION=True)
            continue
        uc.config = CloConfig(ENV=env_name)
        with pytest.raises(expect, match="Webhook verification not configured"):
            await uc.handle_webhook("transaction.auth", "", body_of("t1", 20), None, None)
    uc.config = CloConfig(ENV="development")
    out = await uc.handle_webhook("transaction.auth", "", body_of("t1", 20), None, None)
    assert out == {"status": "ignored", "reason": "card_not_enrolled"}


async def test_other_events_legacy_mock_and_unknown_data(env):
    uc = env
    assert await send(uc, "card.failed", b'{"id":"x"}') == {"status": "ignored", "event_type": "card.failed"}
    assert await uc.handle_webhook("", "fidel/webhook", b"{}", None, None) == {"status": "ignored",
                                                                             "reason": "mock_mode"}
    assert (await send(uc, "transaction.auth", b"not json"))["reason"] == "invalid_json"
    assert (await send(uc, "transaction.auth", body_of("t9", 20, currency="EUR")))["reason"] == \
        "unsupported_currency"
    assert (await send(uc, "transaction.auth", body_of("t8", 20000)))["reason"] == "amount_out_of_range"
    big = b" " * (1024 * 1024 + 1)
    with pytest.raises(errors.ResourceExhausted) as err:
        await send(uc, "transaction.auth", big)
    assert err.value.http_status == 413


async def test_card_linked_webhook_creates_an_unconfirmed_card(env):
    uc = env
    card = {"id": "fc_w", "programId": "prog_sim", "metadata": {"id": DRIVER}, "lastNumbers": "1881",
            "scheme": "mastercard", "expMonth": 1, "expYear": 2031}
    out = await send(uc, "card.linked", json.dumps(card).encode())
    assert out["status"] == "linked"
    uc.fidel.add(provider_card("fc_w"))
    confirm = await uc.link_card(DRIVER, "fc_w")
    assert (confirm.status, confirm.card.card_id) == ("linked", out["card_id"])
    wrong = dict(card, id="fc_v", programId="nope")
    assert (await send(uc, "card.linked", json.dumps(wrong).encode()))["reason"] == "wrong_program"
    # a redelivery (same event type and card id) replies with the stored outcome
    assert await send(uc, "card.linked", json.dumps(dict(card, x=1)).encode()) == out


async def test_partial_refunds_claw_back_proportionally_then_fully(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, reward_cents=100)
    await send(uc, "transaction.auth", body_of("t1", 30))
    cleared = await send(uc, "transaction.clearing", body_of("t1", 30, cleared=True))
    assert cleared["status"] == "credited"
    r1 = await send(uc, "transaction.refund", body_of("r1", -10, originalTransactionId="t1"))
    assert r1["status"] == "refunded" and r1["clawback_cents"] == 33
    assert (await send(uc, "transaction.refund", body_of("r1", -10, originalTransactionId="t1")))["reason"] == \
        "already_processed"
    # the refund's own negative clearing is de-duplicated by the refund id
    assert (await send(uc, "transaction.clearing", body_of("r1", -10, originalTransactionId="t1")))["reason"] == \
        "already_processed"
    r2 = await send(uc, "transaction.refund", body_of("r2", -20, originalTransactionId="t1"))
    assert r2["clawback_cents"] == 67 and r2["reward_state"] == "clawed_back"
    evs = [(t, k, p["amount_cents"]) for t, k, p in await events(uc)]
    assert evs == [("RewardAvailable", f"clo_reward:{cleared['transaction_id']}", 100),
                   ("RewardClawback", f"clo_clawback:{r1['refund_id']}", 33),
                   ("RewardClawback", f"clo_clawback:{r2['refund_id']}", 67)]
    payload = (await events(uc))[1][2]
    assert payload["original_key"] == f"clo_reward:{cleared['transaction_id']}"
    assert await count(uc, refunds) == 2


async def test_refund_before_clearing_moves_no_money_and_releases_budget(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, reward_cents=100, budget_cents=1000)
    await send(uc, "transaction.auth", body_of("t1", 30))
    out = await send(uc, "transaction.refund", body_of("v1", -30, originalTransactionId="t1"))
    assert out["no_clawback"] is True and out["reward_state"] == "reversed"
    assert (await send(uc, "transaction.refund", body_of("v2", -5, originalTransactionId="nope")))["reason"] == \
        "original_transaction_not_found"
    async with uc.db.read() as conn:
        assert (await conn.execute(sa.select(offers.c.budget_reserved_cents))).scalar_one() == 0
    assert await events(uc) == []


async def test_refund_matching_without_original_id(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, reward_cents=100)
    await send(uc, "transaction.auth", body_of("t1", 30))
    await send(uc, "transaction.clearing", body_of("t1", 30, cleared=True))
    out = await send(uc, "transaction.refund", body_of("r1", -30, when="2026-03-04T12:30:00"))
    assert out["clawback_cents"] == 100
    assert (await send(uc, "transaction.refund", body_of("r2", -30, when="2026-03-04T12:40:00")))["reason"] == \
        "unmatched_refund"


async def test_budget_and_per_card_limit(env):
    uc = env
    await linked(uc, "fc_a")
    await linked(uc, "fc_b", OTHER)
    await admin_offer(uc, reward_cents=300, budget_cents=500, max_rewards_per_card=1)
    assert (await send(uc, "transaction.auth", body_of("t1", 20, card="fc_a")))["status"] == "eligible"
    assert (await send(uc, "transaction.auth", body_of("t2", 20, card="fc_a")))["reason"] == "Per-card limit reached"
    assert (await send(uc, "transaction.auth", body_of("t3", 20, card="fc_b")))["reason"] == "Offer budget exhausted"


async def test_offer_schedule_uses_the_location_time_zone(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, days_of_week=(3,), valid_from=dt.datetime(2026, 3, 4, 9, 0),
                      valid_until=dt.datetime(2026, 3, 4, 17, 0))
    # the payload's zone (Chicago) applies: 12:00 local on a Wednesday
    assert (await send(uc, "transaction.auth", body_of("t1", 20)))["status"] == "eligible"
    late = body_of("t2", 20, when="2026-03-04T17:00:01")
    assert (await send(uc, "transaction.auth", late))["reason"] == "Offer expired"
    await uc.upsert_mapping(ADMIN, "location", "loc-1", "m-1", "Asia/Tokyo")
    rows, _ = await uc.list_transactions(DRIVER, False, "", None, "")
    by_id = {r.external_id: r for r in rows}
    assert by_id["t1"].transaction_time == dt.datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
    assert by_id["t1"].local_time == "2026-03-04T12:00:00"
    # the location mapping's zone now wins over the payload's: 03:00 Thursday in Tokyo
    tokyo = body_of("t3", 20, when="2026-03-05T03:00:00")
    assert (await send(uc, "transaction.auth", tokyo))["reason"] == "Offer expired"
    rows, _ = await uc.list_transactions(DRIVER, False, "", None, "")
    t3 = next(r for r in rows if r.external_id == "t3")
    assert t3.transaction_time == dt.datetime(2026, 3, 4, 18, 0, tzinfo=UTC)


async def test_session_required_offer_and_telemetry_down(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, session_policy="required")
    uc.finder.add(DRIVER, ChargingSession("s1", T0 - dt.timedelta(hours=1), T0 - dt.timedelta(minutes=30)))
    ok = await send(uc, "transaction.auth", body_of("t1", 20))
    assert ok["status"] == "eligible"
    uc.finder.sessions.clear()
    assert (await send(uc, "transaction.auth", body_of("t2", 20)))["eligibility_code"] == "outside_session_window"
    uc.finder.down = True
    deferred = await send(uc, "transaction.auth", body_of("t3", 20))
    assert deferred["status"] == "pending"
    cleared = await send(uc, "transaction.clearing", body_of("t3", 20, cleared=True))
    assert cleared["status"] == "pending" and cleared["reward_state"] == "qualified"  # never paid unchecked
    assert [t for t, _, _ in await events(uc)] == []
    uc.finder.down = False
    uc.finder.add(DRIVER, ChargingSession("s2", T0, T0 + dt.timedelta(minutes=20)))
    assert await uc.recheck_sessions() == 1
    assert [t for t, _, _ in await events(uc)] == ["RewardAvailable"]


async def test_expiry_job_fails_old_auths_and_a_late_clearing_revives_them(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, budget_cents=1000)
    await send(uc, "transaction.auth", body_of("t1", 20))
    assert await uc.expire_auths() == 0
    uc.clock.advance(days=11)
    assert await uc.expire_auths() == 1
    rows, _ = await uc.list_transactions(DRIVER, False, "", None, "")
    assert rows[0].reward_state == "failed"
    async with uc.db.read() as conn:
        assert (await conn.execute(sa.select(offers.c.budget_reserved_cents))).scalar_one() == 0
    late = await send(uc, "transaction.clearing", body_of("t1", 20, cleared=True))
    assert late["status"] == "credited"


async def test_hold_period_then_release_job(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, return_period_days=2)
    await send(uc, "transaction.auth", body_of("t1", 20))
    out = await send(uc, "transaction.clearing", body_of("t1", 20, cleared=True))
    assert out["reward_state"] == "qualified"
    assert await uc.release_holds() == 0
    uc.clock.advance(days=2)
    assert await uc.release_holds() == 1
    assert [t for t, _, _ in await events(uc)] == ["RewardAvailable"]


# ---- C6 ----------------------------------------------------------------------------------------

async def test_verify_is_admin_tool_that_never_credits_the_caller(env):
    uc = env
    card_id = await linked(uc)
    await admin_offer(uc)
    with pytest.raises(errors.PermissionDenied, match="Cannot verify a transaction on your own card"):
        await uc.verify_transaction(DRIVER, card_id=card_id, amount_cents=2000, merchant_id="m-1",
                                    merchant_name=None, transaction_time=None, charging_session_id=None,
                                    location_id=None, external_id=None, request_id="")
    out = await uc.verify_transaction(ADMIN, card_id=card_id, amount_cents=2000, merchant_id="m-1",
                                      merchant_name="Cafe", transaction_time=None, charging_session_id=None,
                                      location_id=None, external_id="manual-1", request_id="")
    assert out["status"] == "credited" and out["mock"] is True
    evs = await events(uc)
    assert evs[0][2]["driver_id"] == DRIVER  # the card owner, never the admin
    dup = await uc.verify_transaction(ADMIN, card_id=card_id, amount_cents=2000, merchant_id="m-1",
                                      merchant_name=None, transaction_time=None, charging_session_id=None,
                                      location_id=None, external_id="manual-1", request_id="")
    assert dup == {"status": "duplicate", "transaction_id": out["transaction_id"]}
    gone = await uc.verify_transaction(ADMIN, card_id="00000000-0000-0000-0000-000000000000", amount_cents=2000,
                                       merchant_id="m-1", merchant_name=None, transaction_time=None,
                                       charging_session_id=None, location_id=None, external_id=None, request_id="")
    assert gone["reason"] == "card_not_found"
    not_owned = await uc.verify_transaction(ADMIN, card_id=card_id, amount_cents=2000, merchant_id="m-1",
                                            merchant_name=None, transaction_time=None, charging_session_id="s-x",
                                            location_id=None, external_id=None, request_id="")
    assert not_owned["eligibility_code"] == "session_not_owned"
    with pytest.raises(errors.InvalidArgument, match="Invalid transaction_time"):
        await uc.verify_transaction(ADMIN, card_id=card_id, amount_cents=2000, merchant_id="m-1",
                                    merchant_name=None, transaction_time="2099-01-01T00:00:00Z",
                                    charging_session_id=None, location_id=None, external_id=None, request_id="")


# ---- offers ------------------------------------------------------------------------------------

async def test_offer_roles_update_clear_fields_and_versions(env):
    uc = env
    with pytest.raises(errors.PermissionDenied):
        await uc.create_offer("merchant-9", False, Offer(offer_id="", merchant_id="m-1", reward_cents=100))
    mine = await uc.create_offer("m-1", False, Offer(offer_id="", merchant_id="m-1", reward_cents=100,
                                                     active=False, request_id="k1"))
    assert mine.active is False
    assert (await uc.create_offer("m-1", False, Offer(offer_id="", merchant_id="m-1", reward_cents=999,
                                                      active=False, request_id="k1"))).offer_id == mine.offer_id
    with pytest.raises(errors.InvalidArgument, match="only an admin"):
        await uc.update_offer("m-1", False, mine.offer_id, {"active": True}, [], None, "")
    updated = await uc.update_offer(ADMIN, True, mine.offer_id,
                                    {"active": True, "reward_cents": 0, "reward_bps": 500, "budget_cents": 900},
                                    [], mine.version, "")
    assert (updated.active, updated.reward_type, updated.budget_cents, updated.version) == \
        (True, "percentage", 900, 2)
    with pytest.raises(errors.Aborted):
        await uc.update_offer(ADMIN, True, mine.offer_id, {"min_spend_cents": 1}, [], 1, "")
    cleared = await uc.update_offer(ADMIN, True, mine.offer_id, {}, ["budget_cents"], None, "")
    assert cleared.budget_cents is None
    with pytest.raises(errors.NotFound):
        await uc.update_offer("m-2", False, mine.offer_id, {}, [], None, "")
    listed, _ = await uc.list_offers("m-1", False, "", None, None, "")
    assert [o.offer_id for o in listed] == [mine.offer_id]
    with pytest.raises(errors.InvalidArgument):
        await uc.upsert_mapping(ADMIN, "location", "l1", "m-1", "Mars/Olympus")


# ---- PAN never logged (service side) -----------------------------------------------------------

async def test_errors_never_echo_input(env, caplog):
    uc = env
    caplog.set_level(logging.DEBUG)
    pan = "4111111111111111"
    with pytest.raises(errors.InvalidArgument) as err:
        await uc.link_card(DRIVER, pan + "!")
    assert pan not in err.value.message
    assert pan not in caplog.text


# ---- concurrency -------------------------------------------------------------------------------

async def test_concurrent_duplicate_clearings_make_one_reward(env):
    uc = env
    await linked(uc)
    await admin_offer(uc)
    await send(uc, "transaction.auth", body_of("t1", 20))
    body = body_of("t1", 20, cleared=True)
    replies = await asyncio.gather(*(send(uc, "transaction.clearing", body) for _ in range(5)))
    statuses = sorted(r["status"] for r in replies)
    assert statuses == ["credited", "ignored", "ignored", "ignored", "ignored"]
    assert [t for t, _, _ in await events(uc)] == ["RewardAvailable"]
    assert await count(uc, transactions) == 1
    async with uc.db.read() as conn:
        assert (await conn.execute(sa.select(webhook_inbox.c.delivery_count).where(
            webhook_inbox.c.event_type == "transaction.clearing"))).scalar_one() == 5


async def test_concurrent_clearings_without_auth_and_budget_race(env):
    uc = env
    for i in range(6):
        await linked(uc, f"fc_{i}", f"driver-{i}")
    await admin_offer(uc, reward_cents=100, budget_cents=300)
    bodies = [body_of(f"t{i}", 20, card=f"fc_{i}", cleared=True) for i in range(6)]
    dup = body_of("t0", 20, card="fc_0", cleared=True)
    replies = await asyncio.gather(*(send(uc, "transaction.clearing", b) for b in bodies + [dup, dup]))
    assert sum(r["status"] == "credited" for r in replies) == 3
    assert [t for t, _, _ in await events(uc)] == ["RewardAvailable"] * 3
    async with uc.db.read() as conn:
        assert (await conn.execute(sa.select(offers.c.budget_reserved_cents))).scalar_one() == 300


async def test_legacy_envelope_in_live_mode(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, reward_cents=150)
    uc.config = CloConfig(ENV="test", ENABLE_CLO=True, FIDEL_SECRET_KEY="sk_live_test", FIDEL_PROGRAM_ID="prog_sim",
                          FIDEL_SDK_KEY="pk_test", FIDEL_WEBHOOK_SECRETS=json.dumps({"legacy": "old,legacy-secret"}))
    tx = json.loads(body_of("t1", 20))
    tx["merchant"] = {"merchantId": "m-1", "name": "Legacy Cafe"}
    del tx["location"]
    body = json.dumps({"event": "transaction.auth", "transaction": tx}).encode()
    ts = str(int(uc.clock.now().timestamp() * 1000))
    sig = signature.sign("legacy-secret", body, uc.config.registered_url("legacy"), ts)
    out = await uc.handle_webhook("", "fidel/webhook", body, sig, ts)
    assert out["status"] == "eligible" and out["reward_cents"] == 150
    bare = b'{"id":"t2","amount":10}'
    sig = signature.sign("legacy-secret", bare, uc.config.registered_url("legacy"), ts)
    assert await uc.handle_webhook("", "fidel/webhook", bare, sig, ts) == {"status": "ignored",
                                                                          "reason": "unknown_envelope"}
    with pytest.raises(errors.NotFound):
        await uc.handle_webhook("", "other/path", bare, sig, ts)


async def test_unlink_queues_a_fidel_delete_that_is_retried_until_it_succeeds(env):
    uc = env
    card_id = await linked(uc)
    await uc.unlink_card(ADMIN, True, card_id)  # an admin may unlink any card
    uc.fidel.down = True
    dispatcher = OutboxDispatcher(uc.db, outbox_table, {"FidelCardDelete": uc.deliver_card_delete}, clock=uc.clock)
    assert (await dispatcher.run_once()).failed == 1
    uc.fidel.down = False
    uc.clock.advance(seconds=2)
    assert (await dispatcher.run_once()).delivered == 1
    assert uc.fidel.deleted == ["fc_1"]


async def test_storm_of_auths_then_clearings_gives_one_row_and_one_credit(env):
    uc = env
    await linked(uc)
    await admin_offer(uc)
    auths = await asyncio.gather(*(send(uc, "transaction.auth", body_of("t1", 20)) for _ in range(12)))
    assert sorted(a["status"] for a in auths) == ["duplicate"] * 11 + ["eligible"]
    clears = await asyncio.gather(*(send(uc, "transaction.clearing", body_of("t1", 20, cleared=True))
                                    for _ in range(12)))
    assert sum(c["status"] == "credited" for c in clears) == 1
    assert await count(uc, transactions) == 1
    assert [t for t, _, _ in await events(uc)] == ["RewardAvailable"]


async def test_refund_racing_its_clearing_ends_reversed_or_fully_clawed_back(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, reward_cents=120)
    await send(uc, "transaction.auth", body_of("t1", 20))
    clearing, refund = await asyncio.gather(
        send(uc, "transaction.clearing", body_of("t1", 20, cleared=True)),
        send(uc, "transaction.refund", body_of("r1", -20, originalTransactionId="t1")))
    rows, _ = await uc.list_transactions(DRIVER, False, "", None, "")
    [tx] = rows
    evs = [(t, p["amount_cents"]) for t, _, p in await events(uc)]
    if tx.reward_state == "reversed":
        assert evs == [] and clearing["status"] == "ignored"
    else:
        assert tx.reward_state == "clawed_back"
        assert evs == [("RewardAvailable", 120), ("RewardClawback", 120)] and refund["clawback_cents"] == 120


async def test_setting_a_budget_on_an_unlimited_offer_counts_live_rewards(env):
    uc = env
    await linked(uc)
    offer = await admin_offer(uc, reward_cents=300)
    await send(uc, "transaction.auth", body_of("t1", 20))
    await send(uc, "transaction.auth", body_of("t2", 20))
    with pytest.raises(errors.InvalidArgument, match="below the amount already reserved"):
        await uc.update_offer(ADMIN, True, offer.offer_id, {"budget_cents": 500}, [], None, "")
    updated = await uc.update_offer(ADMIN, True, offer.offer_id, {"budget_cents": 700}, [], None, "")
    assert (updated.budget_cents, updated.budget_reserved_cents) == (700, 600)
    assert (await send(uc, "transaction.auth", body_of("t3", 20)))["eligibility_code"] == "budget_exhausted"


async def test_metrics_job_reports_liability_and_outbox_age(env):
    from prometheus_client import REGISTRY

    uc = env
    await linked(uc)
    await admin_offer(uc, reward_cents=150)
    await send(uc, "transaction.auth", body_of("t1", 20))
    await send(uc, "transaction.clearing", body_of("t1", 20, cleared=True))
    uc.clock.advance(seconds=90)
    await uc.refresh_metrics()
    assert REGISTRY.get_sample_value("clo_reward_liability_cents", {"state": "available"}) == 150
    assert REGISTRY.get_sample_value("clo_outbox_oldest_pending_seconds") == 90


async def test_reconciliation_feeds_missed_events_once(env):
    uc = env
    await linked(uc)
    await admin_offer(uc, reward_cents=150)
    await send(uc, "transaction.auth", body_of("t1", 20))
    # Fidel says t1 cleared and t2 (never delivered to us) cleared; a refund of t2 was missed too
    uc.fidel.transactions = [json.loads(body_of("t1", 20, cleared=True)),
                             json.loads(body_of("t2", 30, cleared=True)),
                             json.loads(body_of("r2", -30, cleared=True, originalTransactionId="t2"))]
    assert await uc.reconcile() == {"transaction.clearing": 2, "transaction.refund": 1}
    assert await uc.reconcile() == {}
    evs = [(t, p["amount_cents"]) for t, _, p in await events(uc)]
    assert evs == [("RewardAvailable", 150), ("RewardAvailable", 150), ("RewardClawback", 150)]
    # the late webhook for a reconciled event is a no-op
    late = await send(uc, "transaction.clearing", body_of("t2", 30, cleared=True))
    assert late["status"] == "ignored"
