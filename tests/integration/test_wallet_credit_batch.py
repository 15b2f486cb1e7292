"""The set-based batch (``wallet_credit_batch``, migration 0006, ADR 0077) books exactly what
``wallet_credit`` books credit by credit (PostgreSQL; SQLite has no batches).

Property test: random wallets (absent, with a balance, with debt) and a random batch of credits —
several per wallet, in any order — are booked twice on twin wallets: once by the batch function,
once by ``wallet_credit`` per credit in the same order. Answers, wallet rows, journals (with their
stored results), postings (accounts, amounts, balances after, sequence numbers, order) and outbox rows
must be the same, and the ledger invariant must hold."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kit import migrations
from kit.db import Database
from services.wallet.adapters.repository import WalletRepository
from tests.conftest import create_database, drop_database, pg_url, require_postgres
from tests.integration.wallet_support import assert_ledger_invariant

pytestmark = pytest.mark.postgres

T0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)
WALLET = st.one_of(st.just(None),  # no wallet yet: the batch creates it
                   st.tuples(st.just("balance"), st.integers(0, 3_000), st.integers(0, 9)),
                   st.tuples(st.just("debt"), st.integers(1, 3_000), st.integers(1, 9)))
CREDITS = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 2_500)), min_size=2, max_size=12)


def credit_args(prefix: str, n: int, wallet: int, amount: int) -> tuple:
    jid = str(uuid.UUID(int=uuid.uuid4().int))
    key = f"{prefix}-{n}"
    return (f"grant:{key}", f"h{n}", f"{prefix}-w{wallet}", amount, "platform_incentives", "campaign_grant", key,
            f"Earned {n}", "Night Owl" if n % 2 else None, "ACME", "incentives", jid, T0 + dt.timedelta(seconds=n),
            "WalletCredited", f"credit:{jid}", json.dumps({"n": n}))


async def seed(conn, prefix: str, wallets) -> None:
    for i, state in enumerate(wallets):
        if state is None:
            continue
        kind, amount, seq = state
        await conn.execute(
            "INSERT INTO wallets (driver_id, balance_cents, debt_cents, posting_seq, total_earned_cents, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)", f"{prefix}-w{i}", amount if kind == "balance" else 0,
            amount if kind == "debt" else 0, seq, 17 * i, T0)


async def ledger(conn, prefix: str) -> dict:
    """The rows the credits wrote, with the twin's prefix and ids replaced by positions."""
    journals = await conn.fetch("SELECT * FROM journals WHERE driver_id LIKE $1 || '-%' ORDER BY created_at",
                                prefix)
    ids = {j["id"]: n for n, j in enumerate(journals)}

    def norm(value):
        if isinstance(value, str):
            for jid, n in ids.items():
                value = value.replace(jid, f"J{n}")
            return value.replace(prefix, "P")
        return value

    rows = {
        "wallets": await conn.fetch("SELECT driver_id, balance_cents, debt_cents, posting_seq, total_earned_cents,"
                                    " updated_at FROM wallets WHERE driver_id LIKE $1 || '-%' ORDER BY driver_id",
                                    prefix),
        "journals": [{k: v for k, v in dict(j).items() if k != "id"} for j in journals],
        "postings": await conn.fetch("SELECT journal_id, wallet_id, account, amount_cents, balance_after_cents,"
                                     " transaction_type, seq, created_at FROM postings WHERE journal_id = ANY($1)"
                                     " ORDER BY id", list(ids)),
        "outbox": await conn.fetch("SELECT topic, key, payload, created_at, available_at FROM outbox"
                                   " WHERE key = ANY($1) ORDER BY id", [f"credit:{j}" for j in ids]),
    }
    return {table: [tuple(norm(v) for v in dict(r).values()) for r in rs] for table, rs in rows.items()}


def test_a_batch_books_exactly_what_credit_by_credit_books():
    async def setup() -> str:
        await require_postgres()
        name = await create_database("nerava_test_wallet_setbatch")
        await asyncio.to_thread(migrations.upgrade, "wallet", pg_url(name))
        return name

    name = asyncio.run(setup())
    dsn = pg_url(name).replace("postgresql+asyncpg", "postgresql")

    async def run(wallets, credits) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            run_id = uuid.uuid4().hex[:8]
            batch_prefix, single_prefix = f"b{run_id}", f"s{run_id}"
            for prefix in (batch_prefix, single_prefix):
                await seed(conn, prefix, wallets)
            batch = [credit_args(batch_prefix, n, w, a) for n, (w, a) in enumerate(credits)]
            answers = await conn.fetch(WalletRepository._CREDIT_BATCH_SQL,
                                       WalletRepository.batch_json(batch))
            singles = []
            async with conn.transaction():
                for n, (w, a) in enumerate(credits):
                    row = await conn.fetchrow(WalletRepository._CREDIT_SQL, *credit_args(single_prefix, n, w, a))
                    assert row["outcome"] == "credited"
                    singles.append((row["balance_after_cents"], row["debt_repaid_cents"]))
            assert [tuple(r) for r in answers] == singles
            assert await ledger(conn, batch_prefix) == await ledger(conn, single_prefix)
        finally:
            await conn.close()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(wallets=st.lists(WALLET, min_size=4, max_size=4), credits=CREDITS)
    def check(wallets, credits):
        asyncio.run(run(wallets, credits))

    try:
        check()
    finally:
        asyncio.run(drop_database(name))


async def test_through_the_repository_a_batch_keeps_the_ledger_invariant():
    """A batch over a wallet with debt (a clawback's), a wallet created by the batch's first credit
    and a third one; the ledger invariant (balances = Σ postings, journals sum to 0) holds after."""
    from kit.clock import ManualClock
    from services.wallet.__main__ import build
    from services.wallet.config import WalletConfig

    await require_postgres()
    name = await create_database("nerava_test_wallet_setbatch_inv")
    url = pg_url(name)
    await asyncio.to_thread(migrations.upgrade, "wallet", url)
    db = Database(url, pool_size=4)
    try:
        uc, _, _ = build(WalletConfig(ENV="test"), db, ManualClock(T0))
        await uc.clawback(idempotency_key="grant_clawback:c1", driver_id="inv-w0", amount_cents=250,
                          reference_type="campaign_grant", reference_id="c1", original_key="grant:none")
        items = [credit_args("inv", n, w, a) for n, (w, a) in enumerate([(0, 100), (1, 300), (0, 200), (2, 50)])]
        out = await uc.repo._credit_batch(items)
        assert [(o["outcome"], o["balance_after_cents"], o["debt_repaid_cents"]) for o in out] == [
            ("credited", 0, 100), ("credited", 300, 0), ("credited", 50, 150), ("credited", 50, 0)]
        balances = [(await uc.get_balance(f"inv-w{i}")).wallet for i in range(3)]
        assert [(w.balance_cents, w.debt_cents) for w in balances] == [(50, 0), (300, 0), (50, 0)]
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()
        await drop_database(name)


async def test_the_batch_reaches_wallets_and_journals_by_index_whatever_the_statistics():
    """PL/pgSQL caches the batch's plans per connection. On a young, never-analysed table the planner
    would pick sequential scans (and hash joins) — and the connection would keep them as the ledger
    grows (migration 0004's trap). The function fixes its planner settings; auto_explain (notices to
    this client) shows every statement it runs: none may scan a table sequentially."""
    await require_postgres()
    name = await create_database("nerava_test_wallet_setbatch_plan")
    await asyncio.to_thread(migrations.upgrade, "wallet", pg_url(name))
    conn = await asyncpg.connect(pg_url(name).replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("INSERT INTO wallets (driver_id, created_at, updated_at)"
                           " SELECT 'plan-w' || g, now(), now() FROM generate_series(0, 999) AS g")
        plans: list[str] = []
        conn.add_log_listener(lambda _c, msg: plans.append(msg.message))
        for stmt in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                     "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_level = notice"):
            await conn.execute(stmt)
        for b in range(8):  # more than five calls: the cached generic plans run too
            batch = [credit_args(f"plan{b}", n, n % 4, 100) for n in range(6)]
            await conn.fetch(WalletRepository._CREDIT_BATCH_SQL,
                                       WalletRepository.batch_json(batch))
        updates = [p for p in plans if "Update on wallets" in p]
        assert len(updates) == 8, plans[:3]
        scans = [p for p in plans if re.search(r"Seq Scan on (wallets|journals|postings|outbox)\b", p)]
        assert not scans, scans[:1]
    finally:
        await conn.close()
        await drop_database(name)
