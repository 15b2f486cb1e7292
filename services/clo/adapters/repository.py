"""CLO persistence: SQLAlchemy Core statements on the caller's connection (one unit of work)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import Database
from services.clo.adapters.tables import (audit, cards, merchant_mappings, offers, refunds,
                                          transactions, webhook_inbox)
from services.clo.domain import rewards
from services.clo.domain.cards import Card
from services.clo.domain.offers import Offer, format_local


def _card(r) -> Card:
    return Card(r.card_id, r.driver_id, r.fidel_card_id, r.last4, r.scheme, r.expiry_month,
                r.expiry_year, r.linked_at, r.active)


class CardRepository:
    async def list_active(self, conn: AsyncConnection, driver_id: str) -> list[Card]:
        rows = await conn.execute(
            sa.select(cards).where(cards.c.driver_id == driver_id, cards.c.active)
            .order_by(cards.c.linked_at.desc(), cards.c.card_id))
        return [_card(r) for r in rows]

    async def row(self, conn: AsyncConnection, card_id: str):
        return (await conn.execute(sa.select(cards).where(cards.c.card_id == card_id))).first()

    async def active_by_fidel(self, conn: AsyncConnection, fidel_card_id: str):
        return (await conn.execute(sa.select(cards).where(
            cards.c.fidel_card_id == fidel_card_id, cards.c.active))).first()

    async def own_inactive(self, conn: AsyncConnection, driver_id: str, fidel_card_id: str):
        return (await conn.execute(sa.select(cards).where(
            cards.c.fidel_card_id == fidel_card_id, cards.c.driver_id == driver_id,
            sa.not_(cards.c.active)).order_by(cards.c.linked_at.desc()).limit(1))).first()

    async def count_active(self, conn: AsyncConnection, driver_id: str) -> int:
        return (await conn.execute(sa.select(sa.func.count()).select_from(cards).where(
            cards.c.driver_id == driver_id, cards.c.active))).scalar_one()

    async def lock(self, conn: AsyncConnection, card_id: str, *, active_only: bool):
        """Bump the card's version: serialises the card's transactions (row lock on PostgreSQL,
        the write lock on SQLite). Returns the row, or None."""
        cond = [cards.c.card_id == card_id]
        if active_only:
            cond.append(cards.c.active)
        res = await conn.execute(sa.update(cards).where(*cond).values(version=cards.c.version + 1)
                                 .returning(*cards.c))
        return res.first()


def _days(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x != "")


def _offer(r) -> Offer:
    parse = lambda v: dt.datetime.fromisoformat(v) if v else None  # noqa: E731
    return Offer(
        offer_id=r.offer_id, merchant_id=r.merchant_id, reward_cents=r.reward_cents,
        reward_bps=r.reward_bps, max_reward_cents=r.max_reward_cents, min_spend_cents=r.min_spend_cents,
        days_of_week=_days(r.days_of_week), valid_from=parse(r.valid_from), valid_until=parse(r.valid_until),
        max_rewards_per_card=r.max_rewards_per_card, budget_cents=r.budget_cents,
        budget_reserved_cents=r.budget_reserved_cents, session_policy=r.session_policy,
        session_window_before_minutes=r.session_window_before_minutes,
        session_window_after_minutes=r.session_window_after_minutes,
        return_period_days=r.return_period_days, active=r.active, created_by=r.created_by,
        created_at=r.created_at, updated_at=r.updated_at, version=r.version, request_id=r.request_id,
        last_request_id=r.last_request_id)


def _offer_values(o: Offer) -> dict[str, Any]:
    return {
        "merchant_id": o.merchant_id, "reward_cents": o.reward_cents, "reward_bps": o.reward_bps,
        "max_reward_cents": o.max_reward_cents, "min_spend_cents": o.min_spend_cents,
        "days_of_week": ",".join(str(d) for d in o.days_of_week),
        "valid_from": format_local(o.valid_from), "valid_until": format_local(o.valid_until),
        "max_rewards_per_card": o.max_rewards_per_card, "budget_cents": o.budget_cents,
        "session_policy": o.session_policy,
        "session_window_before_minutes": o.session_window_before_minutes,
        "session_window_after_minutes": o.session_window_after_minutes,
        "return_period_days": o.return_period_days, "active": o.active,
    }


class OfferRepository:
    async def insert(self, conn: AsyncConnection, o: Offer) -> None:
        await conn.execute(sa.insert(offers).values(
            offer_id=o.offer_id, created_by=o.created_by, request_id=o.request_id,
            created_at=o.created_at, updated_at=o.updated_at, version=1, budget_reserved_cents=0,
            **_offer_values(o)))

    async def get(self, conn: AsyncConnection, offer_id: str) -> Offer | None:
        r = (await conn.execute(sa.select(offers).where(offers.c.offer_id == offer_id))).first()
        return _offer(r) if r is not None else None

    async def by_request(self, conn: AsyncConnection, created_by: str, request_id: str) -> Offer | None:
        r = (await conn.execute(sa.select(offers).where(
            offers.c.created_by == created_by, offers.c.request_id == request_id))).first()
        return _offer(r) if r is not None else None

    async def active_for_merchant(self, conn: AsyncConnection, merchant_id: str) -> list[Offer]:
        rows = await conn.execute(sa.select(offers).where(offers.c.merchant_id == merchant_id,
                                                          offers.c.active))
        return [_offer(r) for r in rows]

    async def session_required_for_merchant(self, conn: AsyncConnection, merchant_id: str) -> list[Offer]:
        """Only the active offers that need the session check (usually none): decides whether to
        call telemetry before the write transaction."""
        rows = await conn.execute(sa.select(offers).where(offers.c.merchant_id == merchant_id, offers.c.active,
                                                          offers.c.session_policy == "required"))
        return [_offer(r) for r in rows]

    async def list(self, conn: AsyncConnection, *, merchant_id: str | None, active: bool | None,
                   limit: int, after: tuple[dt.datetime, str] | None) -> list[Offer]:
        q = sa.select(offers)
        if merchant_id:
            q = q.where(offers.c.merchant_id == merchant_id)
        if active is not None:
            q = q.where(offers.c.active == active)
        if after is not None:
            q = q.where(sa.or_(offers.c.created_at < after[0],
                               sa.and_(offers.c.created_at == after[0], offers.c.offer_id > after[1])))
        q = q.order_by(offers.c.created_at.desc(), offers.c.offer_id).limit(limit)
        return [_offer(r) for r in await conn.execute(q)]

    async def update(self, conn: AsyncConnection, o: Offer, expected_version: int,
                     request_key: str | None, now: dt.datetime) -> bool:
        values = _offer_values(o)
        values.update(version=expected_version + 1, updated_at=now, last_request_id=request_key)
        cond = [offers.c.offer_id == o.offer_id, offers.c.version == expected_version]
        if o.budget_cents is not None:
            cond.append(offers.c.budget_reserved_cents <= o.budget_cents)
        res = await conn.execute(sa.update(offers).where(*cond).values(**values))
        return res.rowcount == 1

    async def reserve(self, conn: AsyncConnection, offer_id: str, cents: int, *, unlimited: bool,
                      is_postgres: bool) -> bool:
        """Conditional budget reservation (clo.md §3.4): never above the budget.

        The counter is kept only while the offer has a budget, so unlimited offers are not a hot
        row: their reservation takes a SHARE lock (PostgreSQL), which conflicts only with an update
        that sets a budget — that update then counts this reservation from the committed rows."""
        if cents <= 0:
            return True
        o = offers.c
        if unlimited:
            q = sa.select(o.offer_id).where(o.offer_id == offer_id, o.budget_cents.is_(None))
            if is_postgres:
                q = q.with_for_update(read=True)
            if (await conn.execute(q)).first() is not None:
                return True
        res = await conn.execute(sa.update(offers).where(
            o.offer_id == offer_id, o.budget_cents.is_not(None),
            o.budget_reserved_cents + cents <= o.budget_cents,
        ).values(budget_reserved_cents=o.budget_reserved_cents + cents))
        return res.rowcount == 1

    async def release(self, conn: AsyncConnection, offer_id: str | None, cents: int) -> None:
        if offer_id is None or cents <= 0:
            return
        o = offers.c
        await conn.execute(sa.update(offers).where(o.offer_id == offer_id, o.budget_cents.is_not(None)).values(
            budget_reserved_cents=sa.case((o.budget_reserved_cents >= cents, o.budget_reserved_cents - cents),
                                          else_=0)))

    async def lock_for_update(self, conn: AsyncConnection, offer_id: str, is_postgres: bool) -> None:
        q = sa.select(offers.c.offer_id).where(offers.c.offer_id == offer_id)
        if is_postgres:
            q = q.with_for_update()
        await conn.execute(q)

    async def live_reserved(self, conn: AsyncConnection, offer_id: str) -> int:
        t = transactions.c
        return (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(t.reserved_cents), 0)).where(
            t.offer_id == offer_id, t.reward_state.in_(rewards.RESERVING)))).scalar_one()

    async def set_reserved(self, conn: AsyncConnection, offer_id: str, cents: int) -> None:
        await conn.execute(sa.update(offers).where(offers.c.offer_id == offer_id)
                           .values(budget_reserved_cents=cents))


class MappingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, conn: AsyncConnection, kind: str, external_id: str):
        return (await conn.execute(sa.select(merchant_mappings).where(
            merchant_mappings.c.kind == kind, merchant_mappings.c.external_id == external_id))).first()

    async def many(self, conn: AsyncConnection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """Several (kind, external_id) mappings in one round trip."""
        if not keys:
            return {}
        m = merchant_mappings.c
        rows = await conn.execute(sa.select(merchant_mappings).where(sa.or_(
            *(sa.and_(m.kind == k, m.external_id == e) for k, e in keys))))
        return {(r.kind, r.external_id): r for r in rows}

    async def upsert(self, conn: AsyncConnection, kind: str, external_id: str, merchant_id: str,
                     time_zone: str | None, now: dt.datetime) -> tuple[Any, bool]:
        inserted = await self.db.insert_ignore(conn, merchant_mappings, {
            "kind": kind, "external_id": external_id, "merchant_id": merchant_id,
            "time_zone": time_zone, "created_at": now, "updated_at": now},
            index_elements=["kind", "external_id"])
        if not inserted:
            await conn.execute(sa.update(merchant_mappings).where(
                merchant_mappings.c.kind == kind, merchant_mappings.c.external_id == external_id
            ).values(merchant_id=merchant_id, time_zone=time_zone, updated_at=now))
        return await self.get(conn, kind, external_id), inserted


@dataclasses.dataclass
class Tx:
    """A clo_transactions row."""

    id: str
    external_id: str
    driver_id: str
    card_id: str
    merchant_id: str | None
    merchant_name: str | None
    offer_id: str | None
    auth_amount_cents: int | None
    cleared_amount_cents: int | None
    amount_cents: int
    refunded_amount_cents: int
    reward_base_cents: int
    base_reward_cents: int
    refunded_at_eval_cents: int
    credit_base_cents: int
    refunded_at_credit_cents: int
    transaction_time: dt.datetime
    local_time: str | None
    reward_state: str
    reward_cents: int | None
    reserved_cents: int
    credited_cents: int
    clawed_back_cents: int
    eligibility_code: str | None
    eligibility_reason: str | None
    session_check: str
    charging_session_id: str | None
    available_at: dt.datetime | None
    processed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @classmethod
    def from_row(cls, r) -> "Tx":
        return cls(**{f.name: getattr(r, f.name) for f in dataclasses.fields(cls)})

    @property
    def gross_cents(self) -> int:
        return self.cleared_amount_cents if self.cleared_amount_cents is not None else (self.auth_amount_cents or 0)

    @property
    def status(self) -> str:
        return rewards.rest_status(self.reward_state, self.session_check)


class TransactionRepository:
    async def by_external(self, conn: AsyncConnection, external_id: str) -> Tx | None:
        r = (await conn.execute(sa.select(transactions).where(transactions.c.external_id == external_id))).first()
        return Tx.from_row(r) if r is not None else None

    async def get(self, conn: AsyncConnection, tx_id: str) -> Tx | None:
        r = (await conn.execute(sa.select(transactions).where(transactions.c.id == tx_id))).first()
        return Tx.from_row(r) if r is not None else None

    async def insert(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        await conn.execute(sa.insert(transactions).values(**values))

    async def transition(self, conn: AsyncConnection, tx: Tx, values: dict[str, Any]) -> Tx | None:
        """Conditional update: WHERE reward_state = :from AND version = :v (clo.md §2). Returns the
        updated row, or None when another writer changed it first."""
        t = transactions.c
        res = await conn.execute(sa.update(transactions).where(
            t.id == tx.id, t.reward_state == tx.reward_state, t.version == tx.version
        ).values(version=tx.version + 1, **values).returning(*transactions.c))
        row = res.first()
        return Tx.from_row(row) if row is not None else None

    async def live_counts(self, conn: AsyncConnection, card_id: str, offer_ids: list[str],
                          exclude_tx: str | None = None) -> dict[str, int]:
        if not offer_ids:
            return {}
        t = transactions.c
        q = (sa.select(t.offer_id, sa.func.count()).where(
            t.card_id == card_id, t.offer_id.in_(offer_ids), t.reward_state.in_(rewards.LIVE))
            .group_by(t.offer_id))
        if exclude_tx is not None:
            q = q.where(t.id != exclude_tx)
        return {r[0]: r[1] for r in await conn.execute(q)}

    async def refund_candidates(self, conn: AsyncConnection, card_id: str, merchant_id: str | None,
                                before: dt.datetime, since: dt.datetime) -> list[Tx]:
        t = transactions.c
        q = sa.select(transactions).where(t.card_id == card_id, t.transaction_time <= before,
                                          t.transaction_time >= since)
        q = q.where(t.merchant_id == merchant_id) if merchant_id is not None else q.where(t.merchant_id.is_(None))
        return [Tx.from_row(r) for r in await conn.execute(q)]

    async def list_for_driver(self, conn: AsyncConnection, driver_id: str, limit: int,
                              after: tuple[dt.datetime, str] | None) -> list[Tx]:
        t = transactions.c
        q = sa.select(transactions).where(t.driver_id == driver_id)
        if after is not None:
            q = q.where(sa.or_(t.created_at < after[0], sa.and_(t.created_at == after[0], t.id < after[1])))
        q = q.order_by(t.created_at.desc(), t.id.desc()).limit(limit)
        return [Tx.from_row(r) for r in await conn.execute(q)]

    async def due_ids(self, conn: AsyncConnection, where, limit: int, skip_locked: bool) -> list[str]:
        q = sa.select(transactions.c.id).where(where).order_by(transactions.c.transaction_time).limit(limit)
        if skip_locked:
            q = q.with_for_update(skip_locked=True)
        return [r[0] for r in await conn.execute(q)]


class RefundRepository:
    async def exists(self, conn: AsyncConnection, external_id: str) -> bool:
        return (await conn.execute(sa.select(refunds.c.id).where(refunds.c.external_id == external_id))).first() is not None

    async def insert(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        await conn.execute(sa.insert(refunds).values(**values))


class InboxRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, conn: AsyncConnection, event_type: str, external_id: str, body: bytes,
                    now: dt.datetime) -> bool:
        """Insert the inbox row (UNIQUE event type + Fidel id); on a repeat bump delivery_count."""
        inserted = await self.db.insert_ignore(conn, webhook_inbox, {
            "event_type": event_type, "external_id": external_id, "raw_body": body,
            "received_at": now, "updated_at": now, "delivery_count": 1},
            index_elements=["event_type", "external_id"])
        if not inserted:
            w = webhook_inbox.c
            await conn.execute(sa.update(webhook_inbox).where(
                w.event_type == event_type, w.external_id == external_id
            ).values(delivery_count=w.delivery_count + 1, updated_at=now))
        return inserted

    async def record(self, conn: AsyncConnection, event_type: str, external_id: str,
                     outcome: dict[str, Any]) -> None:
        w = webhook_inbox.c
        await conn.execute(sa.update(webhook_inbox).where(
            w.event_type == event_type, w.external_id == external_id
        ).values(outcome=json.dumps(outcome, separators=(",", ":"))))

    async def outcome(self, conn: AsyncConnection, event_type: str, external_id: str) -> dict | None:
        w = webhook_inbox.c
        r = (await conn.execute(sa.select(w.outcome).where(
            w.event_type == event_type, w.external_id == external_id))).first()
        return json.loads(r.outcome) if r is not None and r.outcome else None

    async def purge(self, conn: AsyncConnection, before: dt.datetime) -> int:
        res = await conn.execute(sa.delete(webhook_inbox).where(webhook_inbox.c.received_at < before))
        return res.rowcount or 0


async def add_audit(conn: AsyncConnection, actor: str, action: str, target: str, now: dt.datetime) -> None:
    await conn.execute(sa.insert(audit).values(actor=actor, action=action, target=target, created_at=now))
