"""The Nova double-entry ledger (spec §3.8): transactions, append-only entries, balances by SQL
increments in the entries' transaction, idempotency keys looked up by key alone."""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import errors
from kit.db import Database
from services.incentives.adapters import tables as t
from services.incentives.adapters.metrics import NOVA_TRANSACTIONS
from services.incentives.domain import nova

acc = t.nova_accounts
txn = t.nova_transactions
ent = t.nova_entries


class InsufficientBalance(errors.FailedPrecondition):
    pass


@dataclasses.dataclass(frozen=True)
class Posted:
    transaction_id: str
    idempotent: bool
    amount: int
    type: str


class NovaLedger:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known_system: set[str] = set()

    async def balance(self, conn: AsyncConnection, account: str) -> int:
        row = (await conn.execute(sa.select(acc.c.balance).where(acc.c.account == account))).first()
        return int(row.balance) if row is not None else 0

    async def account_exists(self, conn: AsyncConnection, account: str) -> bool:
        return (await conn.execute(sa.select(acc.c.account).where(acc.c.account == account))).first() is not None

    async def post(self, conn: AsyncConnection, *, type: str, amount: int, legs: Sequence[tuple[str, int]],
                   now: dt.datetime, key: str | None, driver_id: str | None = None,
                   merchant_id: str | None = None, session_id: str | None = None, reference: str | None = None,
                   reverses: str | None = None, insufficient_message: str = "Insufficient Nova balance") -> Posted:
        """Post one balanced transaction in the caller's unit of work.

        The key is claimed first (``INSERT … ON CONFLICT DO NOTHING``): a concurrent first use waits
        for the winner, then replays. Same key and payload hash → the stored transaction
        (``idempotent``); other hash → ALREADY_EXISTS. A debit of a non-system account is a
        conditional ``balance >= amount`` update; a shortfall raises FailedPrecondition (the caller's
        transaction rolls back)."""
        assert sum(d for _, d in legs) == 0 and len(legs) >= 2
        phash = nova.payload_hash(type=type, driver_id=driver_id, merchant_id=merchant_id, amount=amount,
                                  session_id=session_id, reference=reference)
        tid = str(uuid.uuid4())
        values = {"id": tid, "type": type, "amount": amount, "idempotency_key": key, "payload_hash": phash,
                  "driver_id": driver_id, "merchant_id": merchant_id, "session_id": session_id,
                  "reference": reference, "reverses_transaction_id": reverses, "created_at": now}
        if key is not None:
            if not await self.db.insert_ignore(conn, txn, values, index_elements=["idempotency_key"]):
                row = (await conn.execute(sa.select(txn).where(txn.c.idempotency_key == key))).one()
                if row.payload_hash != phash:
                    raise errors.AlreadyExists("Idempotency key conflict", reason="IDEMPOTENCY_CONFLICT")
                return Posted(row.id, True, row.amount, row.type)
        else:
            await conn.execute(sa.insert(txn).values(**values))
        for account, delta in sorted(legs):  # a fixed order: no lock-order deadlocks
            kind = nova.account_kind(account)
            if kind == "system":
                # the issuance account is not a hot row: its balance is −Σ its entries (ADR 0021)
                if account not in self._known_system:
                    await self.db.insert_ignore(conn, acc, {"account": account, "kind": "system", "balance": 0,
                                                            "updated_at": now}, index_elements=["account"])
            else:
                if delta > 0:  # create-or-credit in one statement
                    ins = self.db.insert(acc).values(account=account, kind=kind, balance=delta, updated_at=now)
                    await conn.execute(ins.on_conflict_do_update(
                        index_elements=["account"],
                        set_={"balance": acc.c.balance + ins.excluded.balance, "updated_at": now}))
                else:
                    res = await conn.execute(sa.update(acc).where(acc.c.account == account,
                                                                  acc.c.balance >= -delta)
                                             .values(balance=acc.c.balance + delta, updated_at=now))
                    if res.rowcount != 1:
                        raise InsufficientBalance(insufficient_message, reason="INSUFFICIENT_NOVA")
        await conn.execute(sa.insert(ent), [{"transaction_id": tid, "account": a, "delta": d, "created_at": now}
                                            for a, d in legs])
        self._known_system.update(a for a, _ in legs if nova.account_kind(a) == "system")
        NOVA_TRANSACTIONS.labels(type).inc()
        return Posted(tid, False, amount, type)

    async def reverse_up_to(self, conn: AsyncConnection, *, driver_id: str, amount: int, key: str,
                            reverses: str | None, session_id: str | None, now: dt.datetime) -> int:
        """Take back min(balance, amount) from the driver (campaign_grant_reversal); returns it."""
        account = nova.driver_account(driver_id)
        stmt = sa.select(acc.c.balance).where(acc.c.account == account)
        if self.db.is_postgres:
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).first()
        take = min(int(row.balance) if row else 0, amount)
        if take > 0:
            await self.post(conn, type="campaign_grant_reversal", amount=take, now=now, key=key,
                            driver_id=driver_id, session_id=session_id, reverses=reverses,
                            legs=[(account, -take), (nova.ISSUANCE, take)])
        return take
