"""The credit path's edge cases on both backends: on PostgreSQL the Credit use case books through the
one-round-trip ``wallet_credit`` function (ADR 0075), on SQLite through the portable unit of work;
both must give the same answers and leave the same ledger. The ledger invariant is asserted after
every test."""
from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa

from kit import errors
from kit.db import Database
from services.wallet.adapters.tables import journals, outbox_table, postings
from tests.integration.wallet_support import assert_ledger_invariant, available_sum, make_env


@pytest.fixture
async def env(database_url):
    db, uc, *_ = await make_env(database_url)
    try:
        yield uc
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()


def grant(uc, key, driver="d1", amount=1000, ref=None):
    return uc.credit(idempotency_key=key, driver_id=driver, amount_cents=amount, reference_type="campaign_grant",
                     reference_id=ref or key.split(":")[-1], campaign_name="Night Owl", sponsor_name="ACME",
                     created_by="incentives")


def debt(uc, key, driver, amount):
    return uc.clawback(idempotency_key=key, driver_id=driver, amount_cents=amount, reference_type="campaign_grant",
                       reference_id=key.split(":")[-1], original_key="grant:none")


async def count(db, table, *where) -> int:
    async with db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one()


async def driver_postings(db, driver):
    async with db.read() as conn:
        return [tuple(r) for r in await conn.execute(
            sa.select(postings.c.account, postings.c.amount_cents, postings.c.transaction_type, postings.c.seq,
                      postings.c.balance_after_cents)
            .where(postings.c.wallet_id == driver).order_by(postings.c.seq))]


async def test_first_credit_creates_the_wallet_and_books_journal_postings_and_event(env):
    out = await grant(env, "grant:f1", driver="new-driver", amount=750)
    assert out == {"journal_id": out["journal_id"], "balance_after_cents": 750, "debt_repaid_cents": 0,
                   "replayed": False}
    w = (await env.get_balance("new-driver")).wallet
    assert (w.balance_cents, w.total_earned_cents, w.debt_cents, w.posting_seq) == (750, 750, 0, 1)
    assert await driver_postings(env.db, "new-driver") == [("available", 750, "credit", 1, 750)]
    async with env.db.read() as conn:
        j = (await conn.execute(sa.select(journals).where(journals.c.id == out["journal_id"]))).one()
        platform = (await conn.execute(sa.select(postings.c.account, postings.c.amount_cents).where(
            postings.c.journal_id == out["journal_id"], postings.c.wallet_id.is_(None)))).all()
        event = (await conn.execute(sa.select(outbox_table).where(
            outbox_table.c.key == f"credit:{out['journal_id']}"))).one()
    assert (j.kind, j.idempotency_key, j.amount_cents, j.description, j.created_by) == (
        "credit", "grant:f1", 750, "Earned from Night Owl", "incentives")
    assert [tuple(r) for r in platform] == [("platform_incentives", -750)]
    assert event.topic == "WalletCredited" and json.loads(event.payload) == {
        "journal_id": out["journal_id"], "driver_id": "new-driver", "amount_cents": 750,
        "reference_type": "campaign_grant", "reference_id": "f1"}


async def test_replay_returns_the_stored_result_and_writes_nothing(env):
    first = await grant(env, "grant:r1", amount=400)
    await grant(env, "grant:r2", amount=100)  # the balance moved since: the replay still answers 400
    again = await grant(env, "grant:r1", amount=400)
    assert again == {**first, "replayed": True}
    assert await count(env.db, journals) == 2
    assert await count(env.db, outbox_table) == 2
    assert await available_sum(env.db, "d1") == 500


@pytest.mark.parametrize("change", [dict(amount=401), dict(driver="d2"), dict(ref="other")])
async def test_same_key_with_other_parameters_is_a_conflict(env, change):
    await grant(env, "grant:k1", amount=400)
    with pytest.raises(errors.AlreadyExists, match="Idempotency key conflict"):
        await grant(env, "grant:k1", **{"amount": 400, **change})
    assert await count(env.db, journals) == 1


async def test_a_reference_credited_under_another_key_is_refused(env):
    await grant(env, "grant:a", ref="g-42")
    with pytest.raises(errors.AlreadyExists, match="campaign_grant g-42 was already credited under another key"):
        await grant(env, "grant:b", ref="g-42")
    assert (await env.get_balance("d1")).wallet.balance_cents == 1000


async def test_credit_smaller_than_the_debt_repays_part_of_it(env):
    await debt(env, "grant_clawback:x1", "dd", 500)
    out = await grant(env, "grant:p1", driver="dd", amount=200)
    assert (out["balance_after_cents"], out["debt_repaid_cents"]) == (0, 200)
    w = (await env.get_balance("dd")).wallet
    assert (w.balance_cents, w.debt_cents, w.total_earned_cents) == (0, 300, -500 + 200)
    assert (await driver_postings(env.db, "dd"))[1:] == [
        ("available", 200, "credit", 2, 200), ("available", -200, "debt_repayment", 3, 0), ("debt", 200, None, 4, 300)]
    assert (await grant(env, "grant:p1", driver="dd", amount=200)) == {**out, "replayed": True}


async def test_credit_larger_than_the_debt_repays_all_of_it_and_keeps_the_rest(env):
    await debt(env, "grant_clawback:x2", "de", 500)
    out = await grant(env, "grant:p2", driver="de", amount=800)
    assert (out["balance_after_cents"], out["debt_repaid_cents"]) == (300, 500)
    w = (await env.get_balance("de")).wallet
    assert (w.balance_cents, w.debt_cents) == (300, 0)
    assert (await driver_postings(env.db, "de"))[1:] == [
        ("available", 800, "credit", 2, 800), ("available", -500, "debt_repayment", 3, 300), ("debt", 500, None, 4, 0)]
    nxt = await grant(env, "grant:p3", driver="de", amount=50)  # no debt left: a plain credit
    assert (nxt["balance_after_cents"], nxt["debt_repaid_cents"]) == (350, 0)
    rows = await env.list_ledger("de", None, None)
    assert [r.transaction_type for r in rows[:3]] == ["credit", "debt_repayment", "credit"]


async def test_concurrent_duplicates_from_two_replicas_book_each_key_once(database_url):
    """Two pools (two service replicas) race 10 keys × 4 deliveries on one wallet and 10 others."""
    db, uc, *_ = await make_env(database_url)
    db2 = Database(database_url, pool_size=10)
    from services.wallet.__main__ import build
    uc2, _, _ = build(uc.config, db2, uc.clock)
    try:
        calls = []
        for i in range(10):
            for replica in (uc, uc2, uc, uc2):
                calls.append(grant(replica, f"grant:dup{i}", driver="hot" if i % 2 else f"w{i}", amount=100 + i))
        results = await asyncio.gather(*calls)
        by_key: dict[int, set[str]] = {}
        for n, r in enumerate(results):
            by_key.setdefault(n // 4, set()).add(r["journal_id"])
        assert all(len(ids) == 1 for ids in by_key.values())
        assert sum(not r["replayed"] for r in results) == 10
        assert await count(db, journals) == 10
        assert await count(db, outbox_table) == 10
        hot = sum(100 + i for i in range(10) if i % 2)
        assert (await uc.get_balance("hot")).wallet.balance_cents == hot == await available_sum(db, "hot")
        await assert_ledger_invariant(db)
    finally:
        await db2.dispose()
        await db.dispose()


async def test_concurrent_credits_and_clawbacks_on_a_wallet_with_debt_stay_exact(env):
    """Credits (with debt repayment) interleave with clawbacks that create debt: the ledger, the
    balance/debt CHECKs and the repaid amounts all add up."""
    await debt(env, "grant_clawback:start", "mix", 1000)
    credits = [grant(env, f"grant:m{i}", driver="mix", amount=150) for i in range(20)]
    claws = [debt(env, f"grant_clawback:c{i}", "mix", 120) for i in range(10)]
    results = await asyncio.gather(*credits, *claws)
    w = (await env.get_balance("mix")).wallet
    net = 20 * 150 - 1000 - 10 * 120
    assert w.balance_cents - w.debt_cents == net and (w.balance_cents == 0 or w.debt_cents == 0)
    repaid = sum(r["debt_repaid_cents"] for r in results[:20])
    added = 1000 + sum(r["debt_added_cents"] for r in results[20:])
    assert added - repaid == w.debt_cents
    assert sum(r["balance_after_cents"] == 0 for r in results[:20]) >= 1  # the first credits went to the debt


async def test_same_reference_under_many_keys_at_once_credits_once(env):
    results = await asyncio.gather(*(grant(env, f"grant:key{i}", driver=f"r{i % 3}", ref="shared") for i in range(8)),
                                   return_exceptions=True)
    ok = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.AlreadyExists)]
    assert len(ok) == 1 and len(refused) == 7
    assert await count(env.db, journals) == 1


@pytest.mark.postgres
async def test_a_batch_that_fails_is_booked_credit_by_credit_and_only_the_bad_one_fails():
    """Group commit (ADR 0076; PostgreSQL — SQLite books each credit alone): credits that arrive
    together share one round trip and one commit. One credit the database refuses rolls its batch
    back; the rest are then booked one by one."""
    import datetime as dt

    from services.wallet import metrics
    from tests.conftest import create_database, drop_database, pg_url, require_postgres

    await require_postgres()
    name = await create_database("nerava_test_wallet_batch")
    db, uc, *_ = await make_env(pg_url(name), CREDIT_BATCHES_IN_FLIGHT="1")
    try:
        def item(n: int, driver: str) -> dict:
            return dict(key=f"grant:b{n}", request_hash="h", driver_id=driver, amount_cents=100,
                        source="campaign_funding", reference_type="campaign_grant", reference_id=f"b{n}",
                        description="d", campaign_name=None, sponsor_name=None, created_by="t",
                        journal_id=f"00000000-0000-0000-0000-{n:012d}", now=dt.datetime.now(dt.timezone.utc),
                        event_topic="WalletCredited", event_key=f"credit:b{n}", event_payload={"n": n})

        def batches() -> tuple[float, float]:
            s = {x.name: x.value for x in metrics.CREDIT_BATCH_SIZE.collect()[0].samples}
            return s["wallet_credit_batch_size_count"], s["wallet_credit_batch_size_sum"]

        count0, sum0 = batches()
        # the first call takes the one slot; the next eight queue and go as one batch, whose last
        # credit names a driver id longer than the column allows (the use case would refuse it first)
        results = await asyncio.gather(
            *(uc.repo.credit_pg(**item(n, f"bw{n % 3}")) for n in range(8)),
            uc.repo.credit_pg(**item(8, "x" * 200)), return_exceptions=True)
        count1, sum1 = batches()
        assert (count1 - count0, sum1 - sum0) >= (2, 9)  # the batch of eight ran (and was rolled back)
        assert [r["outcome"] for r in results[:8]] == ["credited"] * 8
        assert "value too long" in str(results[8])
        assert await count(db, journals) == 8
        assert await count(db, outbox_table) == 8
        assert sum([(await uc.get_balance(f"bw{d}")).wallet.balance_cents for d in range(3)]) == 800
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()
        await drop_database(name)


@pytest.mark.postgres
async def test_the_credit_lookup_never_plans_a_sequential_scan_of_the_ledger():
    """PL/pgSQL caches a generic plan per connection after five calls. 0003's ``key = … OR
    reference …`` lookup got a sequential scan of ``journals`` when planned on a young table and kept
    it, so every credit read the whole ledger (migration 0004). Every statement the function runs is
    shown by auto_explain (sent to this client as notices): none may scan journals sequentially."""
    import datetime as dt

    import asyncpg

    from tests.conftest import create_database, drop_database, pg_url, require_postgres

    await require_postgres()
    name = await create_database("nerava_test_wallet_plan")
    db, uc, *_ = await make_env(pg_url(name))
    await db.dispose()
    conn = await asyncpg.connect(pg_url(name).replace("postgresql+asyncpg", "postgresql"))
    try:
        plans: list[str] = []
        conn.add_log_listener(lambda _c, msg: plans.append(msg.message))
        for stmt in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                     "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_level = notice"):
            await conn.execute(stmt)
        now = dt.datetime.now(dt.timezone.utc)
        for n in range(8):  # past the five custom plans, so the cached generic plan runs too
            await conn.fetchrow(uc.repo._CREDIT_SQL, f"grant:p{n}", "h", "d1", 100, "campaign_funding",
                                "campaign_grant", f"p{n}", "d", None, None, "t", f"j{n}", now,
                                "WalletCredited", f"credit:j{n}", "{}")
        lookups = [p for p in plans if "request_hash" in p and "FROM journals" in p]
        assert len(lookups) == 8, plans[:3]
        assert not [p for p in plans if "Seq Scan on journals" in p]
    finally:
        await conn.close()
        await drop_database(name)


@pytest.mark.postgres
async def test_a_batch_with_a_replay_and_a_reused_reference_answers_each_like_a_lone_credit():
    """Batches skip the key/reference lookup (migration 0005): a replayed key or a reused reference
    fails the batch's journal INSERT, and the one-by-one retry answers replay and 409 as before."""
    from services.wallet import metrics
    from tests.conftest import create_database, drop_database, pg_url, require_postgres

    await require_postgres()
    name = await create_database("nerava_test_wallet_batch_replay")
    db, uc, *_ = await make_env(pg_url(name), CREDIT_BATCHES_IN_FLIGHT="1")
    try:
        first = await grant(uc, "grant:old", driver="rb", amount=300, ref="old")

        def batches() -> float:
            return {x.name: x.value for x in metrics.CREDIT_BATCH_SIZE.collect()[0].samples}[
                "wallet_credit_batch_size_sum"]

        before = batches()
        results = await asyncio.gather(
            grant(uc, "grant:lead", driver="rb", amount=100),          # takes the slot alone
            grant(uc, "grant:new1", driver="rb", amount=100),          # these four form one batch
            grant(uc, "grant:old", driver="rb", amount=300, ref="old"),  # replay of a committed key
            grant(uc, "grant:other", driver="rc", amount=50, ref="old"),  # reference taken: 409
            grant(uc, "grant:new2", driver="rc", amount=100),
            return_exceptions=True)
        assert batches() - before >= 5  # the four went as a batch (then one by one)
        assert not results[0]["replayed"] and not results[1]["replayed"] and not results[4]["replayed"]
        assert results[2]["replayed"] and results[2]["journal_id"] == first["journal_id"]
        assert isinstance(results[3], errors.AlreadyExists)
        assert (await uc.get_balance("rb")).wallet.balance_cents == 500
        assert (await uc.get_balance("rc")).wallet.balance_cents == 100
        assert await count(db, journals) == 4
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()
        await drop_database(name)
