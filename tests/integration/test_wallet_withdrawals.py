"""Withdrawals in mock mode on SQLite and PostgreSQL: limits under the wallet lock, the client
idempotency key, concurrency; the ledger invariant after every test."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from kit import errors
from kit.clock import ManualClock
from services.wallet.adapters.tables import payouts
from tests.integration.wallet_support import T0, assert_ledger_invariant, available_sum, give_account, make_env


@pytest.fixture
async def env(database_url):
    clock = ManualClock(T0)
    db, uc, engine, hooks = await make_env(database_url, clock)
    uc.test_clock = clock
    try:
        yield uc
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()


async def fund(uc, driver, amount, key=None):
    await uc.credit(idempotency_key=key or f"grant:{driver}:{amount}", driver_id=driver, amount_cents=amount,
                    reference_type="campaign_grant", reference_id=key or f"{driver}:{amount}", campaign_name="C")


async def test_mock_withdrawal_pays_in_one_transaction(env):
    await fund(env, "d1", 10_000)
    with pytest.raises(errors.FailedPrecondition, match="Payout account not set up"):
        await env.request_withdrawal("d1", 2500)
    await give_account(env, "d1")
    out = await env.request_withdrawal("d1", 2500, "req-1")
    row = out["payout"]
    assert row.state == "paid" and row.mock and row.stripe_transfer_id.startswith("tr_mock_")
    assert row.fee_cents == 0 and not out["replayed"]
    w = (await env.get_balance("d1")).wallet
    assert (w.balance_cents, w.pending_balance_cents, w.total_withdrawn_cents) == (7500, 0, 2500)
    rows = await env.list_ledger("d1", None, None)
    assert rows[0].transaction_type == "withdrawal" and rows[0].amount_cents == -2500
    assert rows[0].balance_after_cents == 7500
    history = await env.list_payouts("d1", None)
    assert [p.id for p in history] == [row.id]


async def test_retried_withdraw_with_the_same_key_never_pays_twice(env):
    await fund(env, "d2", 10_000)
    await give_account(env, "d2")
    a = await env.request_withdrawal("d2", 3000, "same")
    b = await env.request_withdrawal("d2", 3000, "same")
    assert b["replayed"] and b["payout"].id == a["payout"].id
    with pytest.raises(errors.AlreadyExists, match="Idempotency key conflict"):
        await env.request_withdrawal("d2", 3100, "same")
    # without a key an identical amount within 10 s is the same payout; after that it is a new one
    c = await env.request_withdrawal("d2", 2000)
    d = await env.request_withdrawal("d2", 2000)
    assert d["payout"].id == c["payout"].id
    env.test_clock.advance(seconds=11)
    e = await env.request_withdrawal("d2", 2000)
    assert e["payout"].id != c["payout"].id
    assert (await env.get_balance("d2")).wallet.balance_cents == 10_000 - 3000 - 2000 - 2000


async def test_fee_below_threshold_is_held_and_booked(database_url):
    clock = ManualClock(T0)
    db, uc, *_ = await make_env(database_url, clock, WITHDRAWAL_MIN_CENTS=100)
    try:
        await fund(uc, "f1", 1000)
        await give_account(uc, "f1")
        with pytest.raises(errors.FailedPrecondition, match=r"Insufficient balance to cover \$0.27 processing fee"):
            await uc.request_withdrawal("f1", 999)
        out = await uc.request_withdrawal("f1", 500)
        assert out["payout"].fee_cents == 26
        rows = await uc.list_ledger("f1", None, None)
        assert [(r.transaction_type, r.amount_cents, r.balance_after_cents) for r in rows[:2]] == [
            ("fee", -26, 474), ("withdrawal", -500, 500)]
        assert uc.withdrawal_fee(500) == 26 and uc.withdrawal_fee(2000) == 0
        with pytest.raises(errors.InvalidArgument):
            uc.withdrawal_fee(0)
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()


async def test_daily_and_weekly_limits(env):
    await fund(env, "d3", 200_000)
    await give_account(env, "d3")
    for i in range(3):
        await env.request_withdrawal("d3", 2000 + i, f"day-{i}")
    with pytest.raises(errors.FailedPrecondition, match="Maximum 3 withdrawals per day"):
        await env.request_withdrawal("d3", 2000, "day-4")
    env.test_clock.advance(days=1)
    await env.request_withdrawal("d3", 90_000, "big")
    with pytest.raises(errors.FailedPrecondition, match=r"Weekly withdrawal limit of \$1000.00 exceeded"):
        await env.request_withdrawal("d3", 5000, "over")
    # equal to the remaining weekly room is allowed: 100000 - 6003 - 90000 = 3997
    await env.request_withdrawal("d3", 3997, "edge")
    assert not (await env.get_balance("d3")).can_withdraw


async def test_amount_and_wallet_checks(env):
    with pytest.raises(errors.InvalidArgument, match="between 1 and 10000000"):
        await env.request_withdrawal("x", 0)
    with pytest.raises(errors.FailedPrecondition, match="No wallet found"):
        await env.request_withdrawal("nobody", 2500)
    await fund(env, "d4", 1000)
    with pytest.raises(errors.FailedPrecondition, match=r"Minimum withdrawal is \$20.00"):
        await env.request_withdrawal("d4", 1999)
    with pytest.raises(errors.FailedPrecondition, match="Insufficient balance"):
        await env.request_withdrawal("d4", 2500)


async def test_ten_parallel_withdrawals_from_5000_exactly_two_succeed(env):
    await fund(env, "p1", 5000)
    await give_account(env, "p1")
    results = await asyncio.gather(*(env.request_withdrawal("p1", 2500, f"k{i}") for i in range(10)),
                                   return_exceptions=True)
    ok = [r for r in results if isinstance(r, dict)]
    assert len(ok) == 2
    assert all(isinstance(r, errors.FailedPrecondition) for r in results if not isinstance(r, dict))
    assert (await env.get_balance("p1")).wallet.balance_cents == 0


async def test_hundred_concurrent_withdrawals_hold_every_limit(env):
    """100 concurrent withdrawals on one wallet: ≤ 3 per day, ≤ 100000 per week, balance ≥ 0."""
    await fund(env, "hot", 300_000)
    await give_account(env, "hot")
    amounts = [2000 + (i % 7) * 10_000 for i in range(100)]
    results = await asyncio.gather(*(env.request_withdrawal("hot", a, f"r{i}") for i, a in enumerate(amounts)),
                                   return_exceptions=True)
    ok = [r for r in results if isinstance(r, dict)]
    errs = [r for r in results if not isinstance(r, dict)]
    assert 1 <= len(ok) <= 3
    assert all(isinstance(e, errors.FailedPrecondition) for e in errs), errs[:3]
    paid = sum(r["payout"].amount_cents for r in ok)
    assert paid <= 100_000
    w = (await env.get_balance("hot")).wallet
    assert w.balance_cents == 300_000 - paid >= 0
    assert await available_sum(env.db, "hot") == w.balance_cents
    async with env.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(payouts))).scalar_one() == len(ok)


async def test_one_key_many_concurrent_calls_one_payout(env):
    await fund(env, "k1", 10_000)
    await give_account(env, "k1")
    results = await asyncio.gather(*(env.request_withdrawal("k1", 2500, "one-key") for _ in range(8)))
    assert len({r["payout"].id for r in results}) == 1
    assert (await env.get_balance("k1")).wallet.balance_cents == 7500


async def test_grant_racing_withdrawals_loses_nothing(env):
    await fund(env, "g1", 5000)
    await give_account(env, "g1")
    tasks = [env.request_withdrawal("g1", 2000, f"w{i}") for i in range(3)]
    tasks += [env.credit(idempotency_key=f"grant:race{i}", driver_id="g1", amount_cents=700,
                         reference_type="campaign_grant", reference_id=f"race{i}") for i in range(5)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    withdrawn = sum(r["payout"].amount_cents for r in results[:3] if isinstance(r, dict))
    assert all(isinstance(r, dict) for r in results[3:])
    assert (await env.get_balance("g1")).wallet.balance_cents == 5000 + 3500 - withdrawn


async def test_clawback_after_a_withdrawal_takes_what_is_left_and_books_debt(env):
    await fund(env, "c1", 5000)
    await give_account(env, "c1")
    await env.request_withdrawal("c1", 4000, "w")
    out = await env.clawback(idempotency_key="grant_clawback:c1:5000", driver_id="c1", amount_cents=5000,
                             reference_type="campaign_grant", reference_id="c1:5000", original_key="grant:c1:5000")
    assert out["debt_added_cents"] == 4000 and out["balance_after_cents"] == 0
    view = await env.get_balance("c1")
    assert view.wallet.debt_cents == 4000 and not view.can_withdraw
