"""Step-wise fuzzing of the wallet in LIVE mode on PostgreSQL (Blnk-style): hypothesis draws random
sequences of credits, clawbacks, withdrawals under fake-Stripe faults (500, 429, commit-then-500),
bank payouts paid or failed through signed webhooks, replayed webhooks and payout-job runs. After
EVERY step the invariants hold:

- the ledger: every balance = Σ its postings, every journal and the ledger sum to 0, pending = Σ held;
- nothing negative; debt and balance never both positive;
- conservation: balance + pending + withdrawn − debt = Σ credits − Σ clawbacks (money is never made
  or lost by faults, retries or duplicates);
- withdrawn = Σ paid payouts; at most one transfer per payout at Stripe; refunds at most once."""
from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import sqlalchemy as sa
import stripe
from hypothesis import HealthCheck, event, given, settings, strategies as st

from kit import errors, migrations
from kit.clock import ManualClock
from kit.db import Database
from services.wallet.__main__ import build
from services.wallet.adapters.tables import payouts, wallets
from services.wallet.app.payouts import internal_findings
from services.wallet.config import WalletConfig
from tests.conftest import create_database, drop_database, pg_url, require_postgres
from tests.integration.fake_stripe_support import FakeStripe
from tests.integration.wallet_support import T0

pytestmark = pytest.mark.postgres

KEY, SECRET = "sk_test_reliability_fuzz", "whsec_reliability_fuzz"

STEP = st.one_of(
    st.tuples(st.just("credit"), st.integers(1, 40_000)),
    st.tuples(st.just("clawback"), st.integers(1, 15_000)),
    st.tuples(st.just("withdraw"), st.integers(1_500, 20_000), st.sampled_from([None, None, "500", "429",
                                                                                "commit_then_500"])),
    st.tuples(st.just("bank"), st.sampled_from(["paid", "failed"]), st.integers(0, 10)),
    st.tuples(st.just("replay"), st.integers(0, 50)),
    st.tuples(st.just("job"),),
)


@pytest.fixture(scope="module")
def fake():
    f = FakeStripe().start()
    yield f
    f.stop()


@pytest.fixture
async def pg_db():
    await require_postgres()
    name = await create_database("nerava_rel_fuzz")
    url = pg_url(name)
    await asyncio.to_thread(migrations.upgrade, "wallet", url)
    yield url
    await drop_database(name)


class Run:
    def __init__(self, uc, engine, hooks, db, fake, driver):
        self.uc, self.engine, self.hooks, self.db, self.fake, self.driver = uc, engine, hooks, db, fake, driver
        self.credits = self.clawbacks = 0
        self.delivered: list[dict] = []
        self.acct = ""

    async def deliver(self, ev: dict) -> None:
        body = json.dumps(ev).encode()
        sig = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET)
        await self.hooks.handle("wallet/stripe/webhook", body, sig)
        self.delivered.append(ev)

    async def check(self, step) -> None:
        async with self.db.read() as conn:
            assert await internal_findings(conn) == [], step
            w = (await conn.execute(sa.select(wallets).where(wallets.c.driver_id == self.driver))).one()
            paid = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(payouts.c.amount_cents), 0)).where(
                payouts.c.driver_id == self.driver, payouts.c.state == "paid"))).scalar_one()
            ids = [r[0] for r in await conn.execute(sa.select(payouts.c.id).where(payouts.c.driver_id == self.driver))]
        assert min(w.balance_cents, w.pending_balance_cents, w.debt_cents) >= 0, step
        assert w.debt_cents == 0 or w.balance_cents == 0, step
        assert (w.balance_cents + w.pending_balance_cents + w.total_withdrawn_cents - w.debt_cents
                == self.credits - self.clawbacks), (step, dict(w._mapping), self.credits, self.clawbacks)
        assert w.total_withdrawn_cents == paid, step
        state = await self.fake.ctl("GET", "/state")
        for pid in ids:
            assert len([t for t in state["transfers"].values() if t.get("transfer_group") == f"payout_{pid}"]) <= 1


async def run_sequence(url: str, fake: FakeStripe, steps) -> None:
    db = Database(url, pool_size=5)
    clock = ManualClock(T0)
    config = WalletConfig(**{"ENV": "test", "ENABLE_STRIPE_PAYOUTS": "true", "STRIPE_SECRET_KEY": KEY,
                             "STRIPE_API_BASE": fake.base, "STRIPE_TIMEOUT_SECONDS": "1",
                             "STRIPE_MAX_NETWORK_RETRIES": "0", "STRIPE_PAYOUT_WEBHOOK_SECRET": SECRET,
                             "PAYOUT_UNKNOWN_GRACE_SECONDS": "0", "WITHDRAWAL_MAX_PER_DAY": "50"})
    uc, engine, hooks = build(config, db, clock)
    driver = f"fz-{uuid.uuid4().hex[:10]}"
    r = Run(uc, engine, hooks, db, fake, driver)
    try:
        await fake.ctl("POST", "/faults", {"clear": True})
        out = await uc.create_stripe_account(driver, None)
        r.acct = out["stripe_account_id"]
        await fake.ctl("POST", f"/accounts/{r.acct}/complete_onboarding")
        assert (await uc.account_status(driver))["onboarding_complete"]
        for i, step in enumerate([("credit", 30_000), *steps]):
            kind = step[0]
            if kind == "credit":
                await uc.credit(idempotency_key=f"grant:{driver}-{i}", driver_id=driver, amount_cents=step[1],
                                reference_type="campaign_grant", reference_id=f"{driver}-{i}")
                r.credits += step[1]
            elif kind == "clawback":
                await uc.clawback(idempotency_key=f"grant_clawback:{driver}-{i}", driver_id=driver,
                                  amount_cents=step[1], reference_type="campaign_grant",
                                  reference_id=f"{driver}-{i}", original_key=f"grant:none-{driver}-{i}")
                r.clawbacks += step[1]
            elif kind == "withdraw":
                if step[2]:
                    await fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": step[2],
                                                       "count": 1})
                try:
                    out = await uc.request_withdrawal(driver, step[1], f"{driver}-w{i}")
                    event(f"withdraw → {out['payout'].state} (fault {step[2]})")
                except (errors.FailedPrecondition, errors.InvalidArgument, errors.Unavailable) as exc:
                    event(f"withdraw refused: {type(exc).__name__}")
                await fake.ctl("POST", "/faults", {"clear": True})
            elif kind == "bank":
                state = await fake.ctl("GET", "/state")
                open_ = sorted((p for p in state["payouts"].values() if p["status"] in ("pending", "in_transit")),
                               key=lambda p: p["id"])
                mine = [p for p in open_ if _account_of(state, p) == r.acct]
                if mine:
                    po = mine[step[2] % len(mine)]
                    await fake.ctl("POST", f"/payouts/{po['id']}/advance", {"status": step[1]})
                    evs = [e for e in (await fake.ctl("GET", "/events"))["events"]
                           if e["type"] == f"payout.{step[1]}" and e["data"]["object"]["id"] == po["id"]]
                    for ev in evs:
                        await r.deliver(ev)
                    event(f"bank payout {step[1]} delivered")
            elif kind == "replay":
                if r.delivered:
                    await r.deliver(r.delivered[step[1] % len(r.delivered)])
            else:
                clock.advance(hours=1)
                await engine.run_job()
            await r.check((i, step))
    finally:
        await fake.ctl("POST", "/faults", {"clear": True})
        await db.dispose()


def _account_of(state: dict, bank_payout: dict) -> str | None:
    pid = (bank_payout.get("metadata") or {}).get("payout_id")
    for t in state["transfers"].values():
        if t.get("transfer_group") == f"payout_{pid}":
            return t.get("destination")
    return None


def test_random_live_sequences_keep_the_invariants(pg_db, fake):
    asyncio.run(fake.ctl("POST", "/events/hold", {"hold": True}))

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
    @given(steps=st.lists(STEP, min_size=1, max_size=10))
    def check(steps):
        asyncio.run(run_sequence(pg_db, fake, steps))

    check()
