"""Transactional outbox (producer side) and idempotent inbox (receiver side).

A use case calls ``add_event`` inside its unit of work, so the event row commits or rolls back with
the change that caused it. ``OutboxDispatcher`` delivers due rows to handlers with retries and
exponential backoff; rows are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
several replicas never deliver the same row at the same time. Delivery is at least once: receivers
are idempotent on the event key (``Inbox.claim`` or a unique key of their own).
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import errors
from kit.clock import Clock, SystemClock
from kit.db import Database, UTCDateTime
from kit.metrics import OUTBOX_DELIVERED, OUTBOX_FAILED

log = logging.getLogger("kit.outbox")

UTC = dt.timezone.utc


def define_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Add the ``outbox`` and ``inbox`` tables to a service's metadata."""
    outbox = sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("delivered_at", UTCDateTime()),
        sa.Column("dead_at", UTCDateTime()),
        sa.Column("last_error", sa.Text),
        sa.Index("ix_outbox_due", "delivered_at", "dead_at", "available_at"),
    )
    inbox = sa.Table(
        "inbox", metadata,
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("result", sa.Text),
    )
    return outbox, inbox


async def add_event(conn: AsyncConnection, outbox: sa.Table, db: Database, *, topic: str, key: str,
                    payload: dict[str, Any], now: dt.datetime) -> bool:
    """Write an event in the caller's transaction; a repeated key is ignored (True if new)."""
    return await db.insert_ignore(conn, outbox, {
        "topic": topic, "key": key, "payload": json.dumps(payload, separators=(",", ":"), default=str),
        "created_at": now, "available_at": now, "attempts": 0,
    }, index_elements=["key"])


class PermanentDeliveryError(Exception):
    """The receiver rejected the event for good: the row is parked as dead (and alerted)."""


Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclasses.dataclass
class DispatchResult:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


class OutboxDispatcher:
    def __init__(self, db: Database, outbox: sa.Table, handlers: dict[str, Handler], *,
                 clock: Clock | None = None, batch: int = 50, lease_s: float = 30.0,
                 base_backoff_s: float = 1.0, max_backoff_s: float = 300.0,
                 max_attempts: int | None = None, owner: str | None = None) -> None:
        self.db, self.outbox, self.handlers = db, outbox, handlers
        self.clock = clock or SystemClock()
        self.batch, self.lease_s = batch, lease_s
        self.base_backoff_s, self.max_backoff_s = base_backoff_s, max_backoff_s
        self.max_attempts = max_attempts
        self.owner = owner or uuid.uuid4().hex
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the loop to run now (after a commit that wrote events)."""
        self._wake.set()

    async def _claim(self, only_key: str | None = None) -> list[sa.Row]:
        o = self.outbox
        now = self.clock.now()
        due = sa.and_(o.c.delivered_at.is_(None), o.c.dead_at.is_(None), o.c.available_at <= now,
                      sa.or_(o.c.lease_until.is_(None), o.c.lease_until < now))
        if only_key is not None:
            due = sa.and_(due, o.c.key == only_key)
        pick = sa.select(o.c.id).where(due).order_by(o.c.id).limit(self.batch)
        if self.db.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        lease_until = now + dt.timedelta(seconds=self.lease_s)
        async with self.db.transaction() as conn:
            ids = [r.id for r in await conn.execute(pick)]
            if not ids:
                return []
            await conn.execute(sa.update(o).where(o.c.id.in_(ids), due)
                               .values(lease_owner=self.owner, lease_until=lease_until))
            rows = await conn.execute(sa.select(o).where(o.c.id.in_(ids), o.c.lease_owner == self.owner,
                                                          o.c.lease_until == lease_until).order_by(o.c.id))
            return list(rows)

    async def run_once(self, only_key: str | None = None) -> DispatchResult:
        result = DispatchResult()
        rows = await self._claim(only_key)
        for row in rows:
            await self._deliver(row, result)
        return result

    async def _deliver(self, row: sa.Row, result: DispatchResult) -> None:
        o = self.outbox
        handler = self.handlers.get(row.topic)
        mine = sa.and_(o.c.id == row.id, o.c.lease_owner == self.owner)
        try:
            if handler is None:
                raise PermanentDeliveryError(f"no handler for topic {row.topic}")
            await handler(row.key, json.loads(row.payload))
        except Exception as exc:  # noqa: BLE001 — every failure is recorded and retried or parked
            attempts = row.attempts + 1
            permanent = isinstance(exc, (PermanentDeliveryError, errors.InvalidArgument)) or (
                self.max_attempts is not None and attempts >= self.max_attempts)
            now = self.clock.now()
            text = f"{type(exc).__name__}: {exc}"[:1000]
            OUTBOX_FAILED.labels(row.topic).inc()
            if permanent:
                result.dead += 1
                log.error("outbox event parked as dead", extra={"topic": row.topic, "key": row.key,
                                                                 "error": text})
                values = {"dead_at": now, "attempts": attempts, "last_error": text, "lease_until": None}
            else:
                result.failed += 1
                delay = min(self.max_backoff_s, self.base_backoff_s * (2 ** (attempts - 1)))
                log.warning("outbox delivery failed; will retry", extra={
                    "topic": row.topic, "key": row.key, "attempt": attempts, "retry_in_s": delay,
                    "error": text})
                values = {"attempts": attempts, "last_error": text, "lease_until": None,
                          "available_at": now + dt.timedelta(seconds=delay)}
            async with self.db.transaction() as conn:
                await conn.execute(sa.update(o).where(mine).values(**values))
            return
        async with self.db.transaction() as conn:
            await conn.execute(sa.update(o).where(mine).values(
                delivered_at=self.clock.now(), attempts=row.attempts + 1, lease_until=None, last_error=None))
        OUTBOX_DELIVERED.labels(row.topic).inc()
        result.delivered += 1

    async def run_forever(self, idle_s: float = 1.0) -> None:
        while True:
            try:
                res = await self.run_once()
                busy = res.delivered + res.failed + res.dead >= self.batch
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 — e.g. the database is briefly down
                log.exception("outbox dispatcher iteration failed")
                busy = False
            if busy:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=idle_s)
            except asyncio.TimeoutError:
                pass


class Inbox:
    """Receiver-side de-duplication: ``claim`` inserts the key in the caller's transaction."""

    def __init__(self, db: Database, table: sa.Table) -> None:
        self.db, self.table = db, table

    async def claim(self, conn: AsyncConnection, key: str, now: dt.datetime) -> bool:
        return await self.db.insert_ignore(conn, self.table, {"key": key, "received_at": now},
                                           index_elements=["key"])

    async def store_result(self, conn: AsyncConnection, key: str, result: dict[str, Any]) -> None:
        await conn.execute(sa.update(self.table).where(self.table.c.key == key)
                           .values(result=json.dumps(result, separators=(",", ":"), default=str)))

    async def result(self, conn: AsyncConnection, key: str) -> dict[str, Any] | None:
        row = (await conn.execute(sa.select(self.table.c.result).where(self.table.c.key == key))).first()
        return json.loads(row.result) if row is not None and row.result else None
