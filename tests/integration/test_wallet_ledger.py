"""Wallet ledger on SQLite and PostgreSQL: credits, clawbacks with debt, admin money, idempotency,
concurrency; the ledger invariant is asserted after every test."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from kit import errors
from services.wallet.adapters.tables import admin_audit, journals, postings
from tests.conftest import create_database, drop_database, pg_url, require_postgres
from tests.integration.wallet_support import assert_ledger_invariant, available_sum, make_env


@pytest.fixture
async def env(database_url):
    db, uc, engine, hooks = await make_env(database_url)
    try:
        yield uc
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()


def grant(uc, key, driver="d1", amount=1000, ref=None, **kw):
    return uc.credit(idempotency_key=key, driver_id=driver, amount_cents=amount, reference_type="campaign_grant",
                     reference_id=ref or key.split(":")[-1], campaign_name="Night Owl", sponsor_name="ACME", **kw)


async def test_credit_is_idempotent_on_its_key_and_shows_in_w2(env):
    first = await grant(env, "grant:g1")
    again = await grant(env, "grant:g1")
    assert not first["replayed"] and again["replayed"] and again["journal_id"] == first["journal_id"]
    view = await env.get_balance("d1")
    assert view.wallet.balance_cents == 1000 and view.wallet.total_earned_cents == 1000
    rows = await env.list_ledger("d1", None, None)
    assert len(rows) == 1 and rows[0].description == "Earned from Night Owl"
    assert rows[0].campaign_name == "Night Owl" and rows[0].balance_after_cents == 1000
    with pytest.raises(errors.AlreadyExists, match="Idempotency key conflict"):
        await grant(env, "grant:g1", amount=999)
    with pytest.raises(errors.AlreadyExists):  # same grant under another key
        await grant(env, "grant:other", ref="g1")


async def test_credit_validation(env):
    with pytest.raises(errors.InvalidArgument):
        await grant(env, "grant:g2", amount=0)
    with pytest.raises(errors.InvalidArgument):
        await grant(env, "grant:g3", amount=1_000_001)
    with pytest.raises(errors.InvalidArgument):
        await env.credit(idempotency_key="k", driver_id="d", amount_cents=5, reference_type="bogus", reference_id="r")
    with pytest.raises(errors.InvalidArgument):
        await grant(env, "grant:g4", driver="x" * 65)


async def test_clawback_beyond_balance_becomes_debt_then_credit_repays_it(env):
    await grant(env, "grant:g1", amount=1000)
    await grant(env, "grant:g2", amount=300)
    out = await env.clawback(idempotency_key="grant_clawback:g1", driver_id="d1", amount_cents=1000,
                             reference_type="campaign_grant", reference_id="g1", original_key="grant:g1")
    assert out["applied_cents"] == 1000 and out["debt_added_cents"] == 0 and out["balance_after_cents"] == 300
    # a clawback of an unbooked credit still applies; beyond the balance it becomes debt
    out = await env.clawback(idempotency_key="grant_clawback:g9", driver_id="d1", amount_cents=800,
                             reference_type="campaign_grant", reference_id="g9", original_key="grant:g9")
    assert out["balance_after_cents"] == 0 and out["debt_added_cents"] == 500
    w = (await env.get_balance("d1")).wallet
    assert (w.balance_cents, w.debt_cents) == (0, 500)
    # the late original credit nets out through debt repayment
    credit = await grant(env, "grant:g9", amount=800)
    assert credit["debt_repaid_cents"] == 500 and credit["balance_after_cents"] == 300
    rows = await env.list_ledger("d1", 10, 0)
    assert [r.transaction_type for r in rows[:2]] == ["debt_repayment", "credit"]
    assert rows[0].balance_after_cents == 300 and rows[1].balance_after_cents == 800
    assert await available_sum(env.db, "d1") == 300


async def test_clawback_is_capped_at_the_original_minus_earlier_clawbacks(env):
    await env.credit(idempotency_key="clo_reward:t1", driver_id="d2", amount_cents=500, reference_type="clo_reward",
                     reference_id="t1", merchant_name="Cafe")
    a = await env.clawback(idempotency_key="clo_clawback:r1", driver_id="d2", amount_cents=300,
                           reference_type="clo_refund", reference_id="r1", original_key="clo_reward:t1")
    b = await env.clawback(idempotency_key="clo_clawback:r2", driver_id="d2", amount_cents=300,
                           reference_type="clo_refund", reference_id="r2", original_key="clo_reward:t1")
    c = await env.clawback(idempotency_key="clo_clawback:r3", driver_id="d2", amount_cents=300,
                           reference_type="clo_refund", reference_id="r3", original_key="clo_reward:t1")
    assert (a["applied_cents"], b["applied_cents"], c["applied_cents"]) == (300, 200, 0)
    assert (await env.get_balance("d2")).wallet.balance_cents == 0
    rows = await env.list_ledger("d2", None, None)
    assert rows[-1].description == "Reward from Cafe"


async def test_admin_credit_bounded_idempotent_audited(env):
    out = await env.admin_credit(admin="admin-1", driver_id="d3", amount_cents=5000, reference_type=None,
                                 description=None, request_id="k1")
    assert out["new_balance_cents"] == 5000 and out["ledger_id"]
    again = await env.admin_credit(admin="admin-1", driver_id="d3", amount_cents=5000, reference_type=None,
                                   description=None, request_id="k1")
    assert again["replayed"] and again["ledger_id"] == out["ledger_id"]
    # no key: an identical call within 600 s is replayed, not booked twice
    n1 = await env.admin_credit(admin="admin-1", driver_id="d3", amount_cents=100, reference_type="bonus",
                                description="thanks", request_id="")
    n2 = await env.admin_credit(admin="admin-1", driver_id="d3", amount_cents=100, reference_type="bonus",
                                description="thanks", request_id="")
    assert n2["replayed"] and n2["ledger_id"] == n1["ledger_id"]
    assert (await env.get_balance("d3")).wallet.balance_cents == 5100
    rows = await env.list_ledger("d3", None, None)
    assert str(rows[-1].id) == out["ledger_id"]
    with pytest.raises(errors.AlreadyExists):
        await env.admin_credit(admin="admin-1", driver_id="d3", amount_cents=6000, reference_type=None,
                               description=None, request_id="k1")
    for bad in (dict(amount_cents=0), dict(amount_cents=50_001), dict(reference_type="Bad-Type"),
                dict(description="x" * 501), dict(driver_id="admin-1")):
        args = dict(admin="admin-1", driver_id="d3", amount_cents=10, reference_type=None, description=None,
                    request_id="")
        args.update(bad)
        with pytest.raises(errors.InvalidArgument):
            await env.admin_credit(**args)
    async with env.db.read() as conn:
        audits = (await conn.execute(sa.select(sa.func.count()).select_from(admin_audit))).scalar_one()
    assert audits == 2


async def test_admin_daily_cap(env):
    for i in range(4):
        await env.admin_credit(admin="admin-2", driver_id=f"c{i}", amount_cents=50_000, reference_type=None,
                               description=None, request_id=f"cap{i}")
    with pytest.raises(errors.InvalidArgument, match="Daily admin credit cap"):
        await env.admin_credit(admin="admin-2", driver_id="c9", amount_cents=1, reference_type=None,
                               description=None, request_id="cap9")


async def test_admin_adjust_negative_becomes_debt_and_unknown_user_is_404(env):
    await grant(env, "grant:a1", driver="d4", amount=1000)
    out = await env.admin_adjust(admin="admin-3", user_id="d4", amount_cents=-1500, reason="fraud")
    assert (out["before_balance_cents"], out["after_balance_cents"]) == (1000, 0)
    w, rows = await env.admin_get_wallet("d4")
    assert w.debt_cents == 500 and w.balance_cents == 0 and rows[0].transaction_type == "debit"
    plus = await env.admin_adjust(admin="admin-3", user_id="d4", amount_cents=700, reason="goodwill")
    assert plus["after_balance_cents"] == 200
    with pytest.raises(errors.NotFound, match="User nobody not found"):
        await env.admin_adjust(admin="admin-3", user_id="nobody", amount_cents=10, reason="x")
    with pytest.raises(errors.NotFound):
        await env.admin_get_wallet("nobody")
    with pytest.raises(errors.InvalidArgument):
        await env.admin_adjust(admin="admin-3", user_id="d4", amount_cents=0, reason="x")
    with pytest.raises(errors.InvalidArgument):
        await env.admin_adjust(admin="admin-3", user_id="d4", amount_cents=10, reason="")


async def test_list_bounds(env):
    with pytest.raises(errors.InvalidArgument):
        await env.list_ledger("d", -1, 0)
    with pytest.raises(errors.InvalidArgument):
        await env.list_ledger("d", 10, 10_001)
    with pytest.raises(errors.InvalidArgument):
        await env.list_payouts("d", -1)
    assert await env.list_ledger("d", 500, 0) == []


async def test_first_use_race_creates_one_wallet(env):
    views = await asyncio.gather(*(env.get_balance("racer") for _ in range(10)))
    assert {v.wallet.driver_id for v in views} == {"racer"}


@pytest.mark.postgres
async def test_postings_are_append_only_on_postgres():
    await require_postgres()
    name = await create_database("nerava_test_wallet_trigger")
    db, uc, *_ = await make_env(pg_url(name))
    try:
        await grant(uc, "grant:p1")
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with db.transaction() as conn:
                await conn.execute(sa.update(postings).values(amount_cents=5))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with db.transaction() as conn:
                await conn.execute(sa.delete(postings))
    finally:
        await db.dispose()
        await drop_database(name)


async def test_concurrent_credits_with_duplicate_keys_give_the_exact_balance(env):
    """50 concurrent credits over 35 distinct keys (15 duplicated): exactly the distinct sum."""
    keys = [f"grant:c{i}" for i in range(35)] + [f"grant:c{i}" for i in range(15)]
    results = await asyncio.gather(*(grant(env, k, driver="hot", amount=100 + int(k[7:])) for k in keys))
    expected = sum(100 + i for i in range(35))
    assert (await env.get_balance("hot")).wallet.balance_cents == expected
    assert await available_sum(env.db, "hot") == expected
    assert sum(1 for r in results if r["replayed"]) == 15
    async with env.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(journals))).scalar_one() == 35


async def test_request_id_replays_account_creation_and_records_expire(database_url):
    from kit.clock import ManualClock
    from tests.integration.wallet_support import T0

    clock = ManualClock(T0)
    db, uc, *_ = await make_env(database_url, clock)
    try:
        def create(email):
            return uc.once("CreateStripeAccount", "d9", "k-1", f"h:{email}", lambda: uc.create_stripe_account("d9", email))
        first, replayed = await create("a@example.com")
        assert first["status"] == "mock_created" and not replayed
        again, replayed = await create("a@example.com")
        assert again == first and replayed
        with pytest.raises(errors.AlreadyExists):
            await create("b@example.com")
        assert (await uc.create_stripe_account("d9", None))["status"] == "existing"
        clock.advance(hours=169)
        assert await uc.prune_idempotency() == 1
        fresh, replayed = await create("b@example.com")
        assert fresh["status"] == "existing" and not replayed
    finally:
        await db.dispose()
