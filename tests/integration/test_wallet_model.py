"""Model-based check (hypothesis): random sequences of credits, clawbacks, withdrawals and admin
adjustments against a plain-Python model of §2.1/§3 — balances, debt, accepted/rejected commands and
the ledger invariant must agree after every step (SQLite, mock payouts)."""
from __future__ import annotations

import asyncio
import uuid

from hypothesis import HealthCheck, given, settings, strategies as st

from kit import errors, migrations
from kit.clock import ManualClock
from kit.db import Database
from services.wallet.__main__ import build
from services.wallet.config import WalletConfig
from tests.integration.wallet_support import T0, assert_ledger_invariant

OPS = st.lists(st.one_of(
    st.tuples(st.just("credit"), st.integers(1, 60_000)),
    st.tuples(st.just("clawback"), st.integers(1, 20_000)),
    st.tuples(st.just("withdraw"), st.integers(1_500, 25_000)),
    st.tuples(st.just("adjust"), st.integers(-5_000, 5_000).filter(bool)),
), min_size=1, max_size=20)


class Model:
    def __init__(self) -> None:
        self.balance = self.debt = self.count = self.week = 0

    def credit(self, a: int) -> None:
        repaid = min(a, self.debt)
        self.debt -= repaid
        self.balance += a - repaid

    def clawback(self, c: int) -> None:
        take = min(c, self.balance)
        self.balance -= take
        self.debt += c - take

    def withdraw_ok(self, a: int) -> bool:
        return a >= 2000 and self.balance >= a and self.count < 3 and self.week + a <= 100_000


async def run_sequence(url: str, ops) -> None:
    db = Database(url)
    try:
        uc, _, _ = build(WalletConfig(ENV="test"), db, ManualClock(T0))
        driver, admin = f"m-{uuid.uuid4().hex[:10]}", f"a-{uuid.uuid4().hex[:10]}"
        await uc.get_balance(driver)
        await uc.create_stripe_account(driver, None)
        m = Model()
        for i, (kind, amount) in enumerate([("credit", 50_000), *ops]):
            key = f"{driver}-{i}"
            if kind == "credit":
                await uc.credit(idempotency_key=f"grant:{key}", driver_id=driver, amount_cents=amount,
                                reference_type="campaign_grant", reference_id=key)
                m.credit(amount)
            elif kind == "clawback":
                await uc.clawback(idempotency_key=f"grant_clawback:{key}", driver_id=driver, amount_cents=amount,
                                  reference_type="campaign_grant", reference_id=key, original_key=f"grant:none-{key}")
                m.clawback(amount)
            elif kind == "withdraw":
                expected = m.withdraw_ok(amount)
                try:
                    await uc.request_withdrawal(driver, amount, key)
                    ok = True
                except errors.FailedPrecondition:
                    ok = False
                assert ok == expected, (kind, amount, vars(m))
                if ok:
                    m.balance -= amount
                    m.count += 1
                    m.week += amount
            else:
                await uc.admin_adjust(admin=admin, user_id=driver, amount_cents=amount, reason="model", request_id=key)
                if amount > 0:
                    m.credit(amount)
                else:
                    m.clawback(-amount)
            w = (await uc.get_balance(driver)).wallet
            assert (w.balance_cents, w.debt_cents) == (m.balance, m.debt), (kind, amount)
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()


def test_random_sequences_match_the_model(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'model.db'}"
    migrations.upgrade("wallet", url)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=OPS)
    def check(ops):
        asyncio.run(run_sequence(url, ops))

    check()
