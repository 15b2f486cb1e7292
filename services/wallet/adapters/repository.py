"""Wallet persistence (Core statements; one round trip where it can).

Money writes happen under the wallet row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite write
transactions are serialised by the kit), and balances change by SQL-side arithmetic.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from typing import Any

import orjson
import sqlalchemy as sa
import uuid_utils
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.batching import Coalescer
from kit.db import Database
from services.wallet import metrics
from services.wallet.adapters.tables import (
    admin_audit, idempotency_records, journals, payout_attempts, payout_breaker, payouts, postings,
    reconciliation_findings, stripe_events, wallets,
)
from services.wallet.domain.wallet import (
    AVAILABLE, DEBT, PENDING, LimitUsage, Plan, Wallet, check_balanced, utc_day_start, week_start,
)

_WALLET_COLUMNS = (wallets.c.driver_id, wallets.c.balance_cents, wallets.c.pending_balance_cents,
                   wallets.c.total_earned_cents, wallets.c.total_withdrawn_cents, wallets.c.debt_cents,
                   wallets.c.payout_ready, wallets.c.posting_seq, wallets.c.stripe_account_id,
                   wallets.c.stripe_account_mode, wallets.c.payouts_enabled, wallets.c.charges_enabled,
                   wallets.c.details_submitted, wallets.c.account_synced_at)
_SELECT = sa.select(*_WALLET_COLUMNS)


log = logging.getLogger(__name__)

def _to_domain(row) -> Wallet:
    return Wallet(**{c.name: getattr(row, c.name) for c in _WALLET_COLUMNS})


def new_id() -> str:
    """A time-ordered UUIDv7: consecutive journals land next to each other in every index on the id
    (journals, postings.journal_id, the outbox key), instead of on a random page each."""
    return str(uuid_utils.uuid7())


def advisory_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


class WalletRepository:
    def __init__(self, db: Database, *, credit_batch_max: int = 64, credit_batches_in_flight: int = 2) -> None:
        self.db = db
        self._credits: Coalescer[tuple, dict] = Coalescer(
            self._credit_batch, max_batch=credit_batch_max, max_in_flight=credit_batches_in_flight,
            on_batch=metrics.CREDIT_BATCH_SIZE.observe)

    # ---- wallets -------------------------------------------------------------------------------
    async def get(self, conn: AsyncConnection, driver_id: str) -> Wallet | None:
        row = (await conn.execute(_SELECT.where(wallets.c.driver_id == driver_id))).first()
        return _to_domain(row) if row is not None else None

    async def create_if_absent(self, conn: AsyncConnection, driver_id: str, now: dt.datetime) -> None:
        """Race-free first use: concurrent creators insert once, nobody fails."""
        await self.db.insert_ignore(conn, wallets, {"driver_id": driver_id, "created_at": now,
                                                    "updated_at": now}, index_elements=["driver_id"])

    async def lock(self, conn: AsyncConnection, driver_id: str, *, create: bool = False,
                   now: dt.datetime | None = None) -> Wallet | None:
        """The wallet row, locked for the rest of the transaction (created first if asked).

        With ``create`` it is one round trip: ``INSERT … ON CONFLICT (driver_id) DO UPDATE … RETURNING``
        creates or locks the row (PostgreSQL locks the conflicting row like ``FOR UPDATE``)."""
        if create:
            assert now is not None
            stmt = self.db.insert(wallets).values(driver_id=driver_id, created_at=now, updated_at=now)
            stmt = stmt.on_conflict_do_update(index_elements=["driver_id"],
                                              set_={"driver_id": stmt.excluded.driver_id}).returning(*_WALLET_COLUMNS)
            return _to_domain((await conn.execute(stmt)).one())
        stmt = _SELECT.where(wallets.c.driver_id == driver_id)
        if self.db.is_postgres:
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).first()
        return _to_domain(row) if row is not None else None

    async def advisory_lock(self, conn: AsyncConnection, name: str) -> None:
        """A transaction-scoped lock on a name (PostgreSQL; SQLite writers are already serialised)."""
        if self.db.is_postgres:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(advisory_key(name))))

    async def update_account(self, conn: AsyncConnection, driver_id: str, now: dt.datetime,
                             **values: Any) -> None:
        await conn.execute(sa.update(wallets).where(wallets.c.driver_id == driver_id)
                           .values(updated_at=now, **values))

    async def set_account_if_none(self, conn: AsyncConnection, driver_id: str, account_id: str, mode: str,
                                  now: dt.datetime, **flags: Any) -> bool:
        """Store a new account only where none (or a mock one) is stored: a double click makes one."""
        res = await conn.execute(sa.update(wallets).where(
            wallets.c.driver_id == driver_id,
            sa.or_(wallets.c.stripe_account_id.is_(None), wallets.c.stripe_account_mode == "mock"),
        ).values(stripe_account_id=account_id, stripe_account_mode=mode, updated_at=now, **flags))
        return res.rowcount == 1

    async def wallet_by_account(self, conn: AsyncConnection, account_id: str) -> Wallet | None:
        row = (await conn.execute(_SELECT.where(wallets.c.stripe_account_id == account_id))).first()
        return _to_domain(row) if row is not None else None

    # ---- ledger --------------------------------------------------------------------------------
    async def journal_by_key(self, conn: AsyncConnection, key: str):
        return (await conn.execute(sa.select(journals).where(journals.c.idempotency_key == key))).first()

    # One service credit in one round trip (PostgreSQL): the wallet_credit() function of migrations
    # 0003–0005 books it atomically; see ADR 0075. Concurrent credits share a round trip and a commit
    # (group commit, ADR 0076). Returns the function's row as a dict; outcome 'race' means a
    # concurrent twin won a unique index and the caller should simply call again.
    _CREDIT_SQL = ("SELECT outcome, result, request_hash, balance_after_cents, debt_repaid_cents FROM "
                   "wallet_credit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")
    # a batch is booked set-based (migration 0006, ADR 0077): one JSON object per credit, keyed by the
    # function's parameter names; no key/reference lookup — a replay or a reused reference fails the
    # journal INSERT instead, and the one-by-one retry (checked) answers it
    _CREDIT_BATCH_SQL = ("SELECT credit_balance_after_cents, credit_debt_repaid_cents "
                         "FROM wallet_credit_batch($1::jsonb)")
    CREDIT_FIELDS = ("key", "hash", "driver", "amount", "source", "reference_type", "reference_id", "description",
                     "campaign", "sponsor", "created_by", "journal_id", "now", "event_topic", "event_key",
                     "event_payload")  # a credit's argument tuple, in wallet_credit()'s order
    _HASH_ARG = CREDIT_FIELDS.index("hash")

    async def credit_pg(self, *, key: str, request_hash: str, driver_id: str, amount_cents: int, source: str,
                        reference_type: str, reference_id: str, description: str, campaign_name: str | None,
                        sponsor_name: str | None, created_by: str | None, journal_id: str, now: dt.datetime,
                        event_topic: str, event_key: str, event_payload: dict) -> dict:
        payload = orjson.dumps(event_payload).decode()
        return await self._credits.submit((key, request_hash, driver_id, amount_cents, source, reference_type,
                                           reference_id, description, campaign_name, sponsor_name, created_by,
                                           journal_id, now, event_topic, event_key, payload))

    async def _credit_batch(self, items: list[tuple]) -> list[dict | BaseException]:
        """Book a batch of credits in one statement: one round trip, one commit.

        ``wallet_credit_batch`` locks the batch's wallets in driver order (so every batch takes them in
        the same order) and books the credits in the order given. Any failure (a replayed key or a
        reused reference — the batch skips that lookup —, a twin's unique violation, a lost connection)
        rolls the whole batch back; then each credit is booked on its own, checked, where a failure
        belongs to that credit alone."""
        if len(items) == 1:
            return [await self._credit_one(items[0])]
        try:
            async with self.db.driver_connection() as conn:
                rows = await conn.fetch(self._CREDIT_BATCH_SQL, self.batch_json(items))
        except Exception as exc:  # noqa: BLE001 — the batch rolled back (or, with the connection lost
            # at commit, its outcome is unknown): book one by one; each credit is idempotent on its
            # key, so a credit the batch did commit answers as a replay
            log.info("credit batch of %d failed (%s); booking each on its own", len(items),
                     type(exc).__name__)
            return await asyncio.gather(*(self._credit_one(item) for item in items), return_exceptions=True)
        return [{"outcome": "credited", "request_hash": item[self._HASH_ARG], "balance_after_cents": balance,
                 "debt_repaid_cents": repaid} for item, (balance, repaid) in zip(items, rows, strict=True)]

    @classmethod
    def batch_json(cls, items: list[tuple]) -> str:
        return orjson.dumps([dict(zip(cls.CREDIT_FIELDS, item)) for item in items]).decode()

    async def _credit_one(self, item: tuple) -> dict:
        import asyncpg

        async with self.db.driver_connection() as conn:
            try:
                row = await conn.fetchrow(self._CREDIT_SQL, *item)
            except asyncpg.exceptions.UniqueViolationError:
                return {"outcome": "race"}
        return dict(row)

    async def credit_by_reference(self, conn: AsyncConnection, reference_type: str, reference_id: str):
        return (await conn.execute(sa.select(journals).where(
            journals.c.kind == "credit", journals.c.reference_type == reference_type,
            journals.c.reference_id == reference_id))).first()

    async def clawed_back(self, conn: AsyncConnection, original_key: str) -> int:
        return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(journals.c.amount_cents), 0))
                                       .where(journals.c.kind == "clawback",
                                              journals.c.original_key == original_key))).scalar_one())

    async def post(self, conn: AsyncConnection, wallet: Wallet, plan: Plan, *, key: str, kind: str,
                   now: dt.datetime, request_hash: str = "", amount_cents: int | None = None,
                   earned_delta: int = 0, withdrawn_delta: int = 0, result: dict | None = None,
                   journal_id: str | None = None, **journal: Any) -> tuple[str, Wallet, list[dict]]:
        """Write one journal and its postings, then move the materialised balances by SQL arithmetic.

        The caller holds the wallet lock. Returns (journal id, wallet after, driver posting rows)."""
        check_balanced(plan)
        journal_id = journal_id or new_id()
        await conn.execute(sa.insert(journals).values(
            id=journal_id, idempotency_key=key, request_hash=request_hash, kind=kind,
            driver_id=wallet.driver_id, amount_cents=amount_cents if amount_cents is not None else plan.applied_cents,
            created_at=now, result=json.dumps(result) if result is not None else None, **journal))
        balances = {AVAILABLE: wallet.balance_cents, PENDING: wallet.pending_balance_cents,
                    DEBT: -wallet.debt_cents}
        seq = wallet.posting_seq
        rows: list[dict] = []
        for p in plan.postings:
            row = {"journal_id": journal_id, "account": p.account, "amount_cents": p.amount_cents,
                   "transaction_type": p.transaction_type, "created_at": now, "wallet_id": None,
                   "balance_after_cents": None, "seq": None}
            if p.is_driver:
                seq += 1
                balances[p.account] += p.amount_cents
                row.update(wallet_id=wallet.driver_id, seq=seq,
                           balance_after_cents=balances[p.account] if p.account != DEBT else -balances[DEBT])
            rows.append(row)
        if rows:
            await conn.execute(sa.insert(postings), rows)
        d_avail, d_pend, d_debt = plan.delta(AVAILABLE), plan.delta(PENDING), -plan.delta(DEBT)
        c = wallets.c
        await conn.execute(sa.update(wallets).where(c.driver_id == wallet.driver_id).values(
            balance_cents=c.balance_cents + d_avail, pending_balance_cents=c.pending_balance_cents + d_pend,
            debt_cents=c.debt_cents + d_debt, posting_seq=seq,
            total_earned_cents=c.total_earned_cents + earned_delta,
            total_withdrawn_cents=c.total_withdrawn_cents + withdrawn_delta, updated_at=now))
        after = Wallet(**{**wallet.__dict__,
                          "balance_cents": wallet.balance_cents + d_avail,
                          "pending_balance_cents": wallet.pending_balance_cents + d_pend,
                          "debt_cents": wallet.debt_cents + d_debt, "posting_seq": seq,
                          "total_earned_cents": wallet.total_earned_cents + earned_delta,
                          "total_withdrawn_cents": wallet.total_withdrawn_cents + withdrawn_delta})
        return journal_id, after, [r for r in rows if r["wallet_id"] is not None]

    async def set_journal_result(self, conn: AsyncConnection, journal_id: str, result: dict) -> None:
        await conn.execute(sa.update(journals).where(journals.c.id == journal_id)
                           .values(result=json.dumps(result)))

    async def posting_id(self, conn: AsyncConnection, driver_id: str, seq: int) -> str:
        return str((await conn.execute(sa.select(postings.c.id).where(
            postings.c.wallet_id == driver_id, postings.c.account == AVAILABLE,
            postings.c.seq == seq))).scalar_one())

    async def ledger_page(self, conn: AsyncConnection, driver_id: str, limit: int, offset: int):
        p, j = postings, journals
        stmt = (sa.select(p.c.id, p.c.amount_cents, p.c.balance_after_cents, p.c.transaction_type,
                          p.c.created_at, j.c.description, j.c.reference_type, j.c.reference_id,
                          j.c.campaign_name, j.c.sponsor_name, j.c.id.label("journal_id"))
                .select_from(p.join(j, j.c.id == p.c.journal_id))
                .where(p.c.wallet_id == driver_id, p.c.account == AVAILABLE)
                .order_by(p.c.seq.desc()).limit(limit).offset(offset))
        return list(await conn.execute(stmt))

    # ---- payouts -------------------------------------------------------------------------------
    async def limit_usage(self, conn: AsyncConnection, driver_id: str, now: dt.datetime) -> LimitUsage:
        p = payouts.c
        day = utc_day_start(now)
        week = week_start(now)
        row = (await conn.execute(sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((p.created_at >= day, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((p.created_at > week, p.amount_cents), else_=0)), 0),
        ).where(p.driver_id == driver_id, p.state != "failed", p.created_at >= min(day, week)))).first()
        week_sum = row[1]
        return LimitUsage(int(row[0]), int(week_sum))

    async def payout_by_request(self, conn: AsyncConnection, driver_id: str, request_id: str):
        return (await conn.execute(sa.select(payouts).where(
            payouts.c.driver_id == driver_id, payouts.c.request_id == request_id))).first()

    async def recent_same_amount(self, conn: AsyncConnection, driver_id: str, amount: int, since: dt.datetime):
        return (await conn.execute(sa.select(payouts).where(
            payouts.c.driver_id == driver_id, payouts.c.amount_cents == amount,
            payouts.c.created_at >= since, payouts.c.request_id.is_(None))
            .order_by(payouts.c.created_at.desc()).limit(1))).first()

    async def insert_payout(self, conn: AsyncConnection, **values: Any) -> None:
        await conn.execute(sa.insert(payouts).values(**values))
        metrics.PAYOUTS.labels(values.get("state", "pending")).inc()

    async def payout(self, conn: AsyncConnection, payout_id: str, *, lock: bool = False):
        stmt = sa.select(payouts).where(payouts.c.id == payout_id)
        if lock and self.db.is_postgres:
            stmt = stmt.with_for_update()
        return (await conn.execute(stmt)).first()

    async def payout_by(self, conn: AsyncConnection, column: str, value: str):
        return (await conn.execute(sa.select(payouts).where(getattr(payouts.c, column) == value))).first()

    async def transition(self, conn: AsyncConnection, payout_id: str, allowed: frozenset[str], target: str,
                         now: dt.datetime, **values: Any) -> bool:
        """``UPDATE … WHERE id AND state IN (allowed)``; False (a no-op) when the state did not allow it."""
        res = await conn.execute(sa.update(payouts).where(
            payouts.c.id == payout_id, payouts.c.state.in_(sorted(allowed))
        ).values(state=target, updated_at=now, **values))
        if res.rowcount == 1:
            metrics.PAYOUTS.labels(target).inc()
        return res.rowcount == 1

    async def update_payout(self, conn: AsyncConnection, payout_id: str, now: dt.datetime, **values: Any) -> None:
        await conn.execute(sa.update(payouts).where(payouts.c.id == payout_id).values(updated_at=now, **values))

    async def list_payouts(self, conn: AsyncConnection, driver_id: str, limit: int):
        return list(await conn.execute(sa.select(payouts).where(payouts.c.driver_id == driver_id)
                                       .order_by(payouts.c.created_at.desc(), payouts.c.id).limit(limit)))

    async def payouts_in(self, conn: AsyncConnection, states: tuple[str, ...], *, before: dt.datetime | None = None,
                         limit: int = 100):
        stmt = sa.select(payouts).where(payouts.c.state.in_(states), payouts.c.mock.is_(False))
        if before is not None:
            stmt = stmt.where(payouts.c.updated_at < before)
        return list(await conn.execute(stmt.order_by(payouts.c.updated_at).limit(limit)))

    async def add_attempt(self, conn: AsyncConnection, **values: Any) -> bool:
        return await self.db.insert_ignore(conn, payout_attempts, values, index_elements=["payout_id", "attempt"])

    async def finish_attempt(self, conn: AsyncConnection, payout_id: str, attempt: int, outcome: str,
                             error_code: str | None, now: dt.datetime) -> None:
        await conn.execute(sa.update(payout_attempts).where(
            payout_attempts.c.payout_id == payout_id, payout_attempts.c.attempt == attempt
        ).values(outcome=outcome, error_code=error_code, finished_at=now))
        metrics.PAYOUT_OUTCOMES.labels(outcome).inc()

    async def attempt_window(self, conn: AsyncConnection, since: dt.datetime, fail_since: dt.datetime) -> tuple[int, int, int]:
        a = payout_attempts.c
        count, amount = (await conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(a.amount_cents), 0))
                                            .where(a.started_at >= since, sa.or_(a.outcome.is_(None),
                                                                                a.outcome.in_(("success", "unknown")))))).first()
        failures = (await conn.execute(sa.select(sa.func.count()).where(
            a.started_at >= fail_since, a.outcome.in_(("unknown", "permanent"))))).scalar_one()
        return int(count), int(amount), int(failures)

    # ---- breaker -------------------------------------------------------------------------------
    async def breaker(self, conn: AsyncConnection, *, lock: bool = False):
        stmt = sa.select(payout_breaker).where(payout_breaker.c.id == 1)
        if lock and self.db.is_postgres:
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).first()
        if row is None:
            await self.db.insert_ignore(conn, payout_breaker, {"id": 1, "state": "closed", "reason": "",
                                                               "changed_by": "system"}, index_elements=["id"])
            row = (await conn.execute(stmt)).first()
        return row

    async def set_breaker(self, conn: AsyncConnection, now: dt.datetime, **values: Any) -> None:
        await conn.execute(sa.update(payout_breaker).where(payout_breaker.c.id == 1).values(changed_at=now, **values))
        if "state" in values:
            metrics.BREAKER_OPEN.set(0 if values["state"] == "closed" else 1)

    # ---- idempotency records, audit, events, findings -----------------------------------------
    async def idem_get(self, conn: AsyncConnection, scope: str, key: str):
        return (await conn.execute(sa.select(idempotency_records).where(
            idempotency_records.c.scope == scope, idempotency_records.c.key == key))).first()

    async def idem_put(self, conn: AsyncConnection, scope: str, key: str, request_hash: str,
                       response: dict, now: dt.datetime) -> None:
        await conn.execute(sa.insert(idempotency_records).values(
            scope=scope, key=key, request_hash=request_hash, response=json.dumps(response), created_at=now))

    async def audit(self, conn: AsyncConnection, **values: Any) -> None:
        if isinstance(values.get("result"), dict):
            values["result"] = json.dumps(values["result"])
        await conn.execute(sa.insert(admin_audit).values(**values))

    async def audit_recent(self, conn: AsyncConnection, admin_sub: str, request_hash: str, since: dt.datetime):
        return (await conn.execute(sa.select(admin_audit).where(
            admin_audit.c.admin_sub == admin_sub, admin_audit.c.request_hash == request_hash,
            admin_audit.c.request_id.is_(None), admin_audit.c.created_at >= since)
            .order_by(admin_audit.c.id.desc()).limit(1))).first()

    async def admin_credited_since(self, conn: AsyncConnection, admin_sub: str, since: dt.datetime) -> int:
        a = admin_audit.c
        return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(a.amount_cents), 0)).where(
            a.admin_sub == admin_sub, a.action.in_(("credit", "adjust")), a.amount_cents > 0,
            a.created_at >= since))).scalar_one())

    async def claim_event(self, conn: AsyncConnection, event: dict, now: dt.datetime) -> bool:
        return await self.db.insert_ignore(conn, stripe_events, {
            "event_id": event["id"], "type": str(event.get("type", ""))[:64],
            "account": event.get("account"), "livemode": bool(event.get("livemode")),
            "created": event.get("created"), "received_at": now}, index_elements=["event_id"])

    async def set_event_outcome(self, conn: AsyncConnection, event_id: str, outcome: str,
                                payout_id: str | None) -> None:
        await conn.execute(sa.update(stripe_events).where(stripe_events.c.event_id == event_id)
                           .values(outcome=outcome, payout_id=payout_id))

    async def event(self, conn: AsyncConnection, event_id: str):
        return (await conn.execute(sa.select(stripe_events).where(stripe_events.c.event_id == event_id))).first()

    async def add_finding(self, conn: AsyncConnection, now: dt.datetime, kind: str, *, run_id: str | None = None,
                          payout_id: str | None = None, driver_id: str | None = None,
                          stripe_object_id: str | None = None, local: int | None = None,
                          remote: int | None = None, details: dict | None = None) -> str:
        fid = new_id()
        await conn.execute(sa.insert(reconciliation_findings).values(
            id=fid, run_id=run_id, kind=kind, payout_id=payout_id, driver_id=driver_id,
            stripe_object_id=stripe_object_id, local_amount_cents=local, remote_amount_cents=remote,
            details=json.dumps(details or {}), created_at=now))
        return fid
