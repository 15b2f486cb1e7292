"""Incentives persistence (SQLAlchemy Core, one round trip per step on the hot path)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import Database
from services.incentives.adapters import tables as t
from services.incentives.domain.campaigns import Campaign, CampaignQuery
from services.incentives.domain.rules import CapCounts

c = t.campaigns
g = t.incentive_grants

_FIELDS = [f.name for f in dataclasses.fields(Campaign)]
# Never written back from Python: the engine's conditional UPDATE owns them (spec §3.7).
_COUNTERS = ("spent_cents", "sessions_granted")


def to_campaign(row) -> Campaign:
    data = {name: getattr(row, name) for name in _FIELDS}
    data["rules"] = dict(data["rules"] or {})
    data["caps"] = dict(data["caps"] or {})
    data["partner_ids"] = list(data["partner_ids"] or [])
    return Campaign(**data)


def _values(camp: Campaign) -> dict[str, Any]:
    return {name: getattr(camp, name) for name in _FIELDS}


class CampaignRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, conn: AsyncConnection, q: CampaignQuery) -> tuple[list[Campaign], int]:
        where = []
        if q.owner_id is not None:
            where.append(c.c.owner_id == q.owner_id)
        if q.status is not None:
            where.append(c.c.status == q.status)
        if q.sponsor_name is not None:
            where.append(sa.func.lower(c.c.sponsor_name) == q.sponsor_name.lower())
        rows = await conn.execute(sa.select(c).where(*where)
                                  .order_by(c.c.created_at.desc(), c.c.id.desc())
                                  .limit(q.limit).offset(q.offset))
        total = (await conn.execute(sa.select(sa.func.count()).select_from(c).where(*where))).scalar_one()
        return [to_campaign(r) for r in rows], int(total)

    async def get(self, conn: AsyncConnection, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
        stmt = sa.select(c).where(c.c.id == campaign_id)
        if for_update and self.db.is_postgres:
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).first()
        return to_campaign(row) if row is not None else None

    async def by_request(self, conn: AsyncConnection, owner_id: str, request_id: str) -> Campaign | None:
        row = (await conn.execute(sa.select(c).where(c.c.owner_id == owner_id,
                                                     c.c.create_request_id == request_id))).first()
        return to_campaign(row) if row is not None else None

    async def insert(self, conn: AsyncConnection, camp: Campaign) -> None:
        await conn.execute(sa.insert(c).values(**_values(camp)))

    async def save(self, conn: AsyncConnection, camp: Campaign) -> None:
        """Write an edited campaign (the caller holds the row lock); counters are never written."""
        values = {k: v for k, v in _values(camp).items() if k not in _COUNTERS and k != "id"}
        values["version"] = camp.version + 1
        await conn.execute(sa.update(c).where(c.c.id == camp.id).values(**values))

    async def set_targets(self, conn: AsyncConnection, camp: Campaign, dim: str, keys: Iterable[str]) -> None:
        tt = t.campaign_targets
        await conn.execute(sa.delete(tt).where(tt.c.campaign_id == camp.id))
        rows = [{"campaign_id": camp.id, "dim": dim, "key": k, "priority": camp.priority,
                 "created_at": camp.created_at} for k in keys]
        if rows:
            await conn.execute(sa.insert(tt), rows)

    async def history(self, conn: AsyncConnection, campaign_id: str, from_status: str | None, to_status: str,
                      actor: str | None, reason: str | None, now: dt.datetime) -> None:
        await conn.execute(sa.insert(t.campaign_status_history).values(
            campaign_id=campaign_id, from_status=from_status, to_status=to_status, actor=actor,
            reason=reason, at=now))

    async def candidates(self, conn: AsyncConnection, keys: Mapping[str, list[str]], at: dt.datetime,
                         *, limit: int | None = None, after: tuple | None = None) -> list[Campaign]:
        """Active campaigns sharing an indexed key with the session, open at ``at``, with room, in
        engine order (priority, created_at, id). One query: per (dim, key) an ordered index range
        scan of ``campaign_targets`` (dim, key, priority, created_at, campaign_id) joined to the
        campaign by primary key and cut at ``limit`` — so the work per page does not grow with
        the number of active campaigns; then the arms are merged. ``after`` = keyset paging.
        The statement has one arm per dimension and is built once (bind parameters only)."""
        params: dict[str, Any] = {"at": at, "lim": limit if limit is not None else 1_000_000_000,
                                  "a_p": -1, "a_c": _EPOCH, "a_i": ""}
        if after is not None:
            params["a_p"], params["a_c"], params["a_i"] = after
        extra: list[tuple[str, str]] = []
        for dim in _ARM_DIMS:
            vals = list(keys.get(dim) or ())
            params[f"k_{dim}"] = vals[0] if vals else _NO_KEY
            extra.extend((dim, v) for v in vals[1:])
        rows = [to_campaign(r) for r in await conn.execute(_candidates_stmt(), params)]
        if extra:  # more than one key in a dimension (not produced by sessions; kept correct)
            seen = {r.id for r in rows}
            for dim, key in extra:
                params.update({f"k_{d}": _NO_KEY for d in _ARM_DIMS})
                params[f"k_{dim}"] = key
                rows.extend(r for r in (to_campaign(x) for x in await conn.execute(_candidates_stmt(), params))
                            if r.id not in seen and not seen.add(r.id))
            rows.sort(key=lambda r: (r.priority, r.created_at, r.id))
            rows = rows[:limit] if limit is not None else rows
        return rows

    async def iter_candidates(self, conn: AsyncConnection, keys: Mapping[str, list[str]], at: dt.datetime,
                              page: int = 8):
        """Candidates in engine order, fetched a page at a time: the engine stops at the first
        campaign that pays, so it rarely needs more than the first page."""
        after = None
        while True:
            rows = await self.candidates(conn, keys, at, limit=page, after=after)
            for camp in rows:
                yield camp
            if len(rows) < page:
                return
            last = rows[-1]
            after = (last.priority, last.created_at, last.id)
            page = 64

    async def try_spend(self, conn: AsyncConnection, campaign_id: str, now: dt.datetime) -> sa.Row | None:
        """The one conditional UPDATE of spec §3.7: spend one session's cost if there is room and
        mark the campaign exhausted when the new remainder < cost or max_sessions is hit."""
        cost = c.c.cost_per_session_cents
        exhausted = sa.or_(c.c.budget_cents - c.c.spent_cents - cost < cost,
                           sa.and_(c.c.max_sessions.is_not(None), c.c.sessions_granted + 1 >= c.c.max_sessions))
        stmt = (sa.update(c).where(
            c.c.id == campaign_id, c.c.status == "active", c.c.spent_cents + cost <= c.c.budget_cents,
            sa.or_(c.c.max_sessions.is_(None), c.c.sessions_granted < c.c.max_sessions),
        ).values(spent_cents=c.c.spent_cents + cost, sessions_granted=c.c.sessions_granted + 1,
                 status=sa.case((exhausted, "exhausted"), else_=c.c.status), updated_at=now)
            .returning(c.c.cost_per_session_cents, c.c.status, c.c.name, c.c.sponsor_name))
        return (await conn.execute(stmt)).first()

    async def refund(self, conn: AsyncConnection, campaign_id: str, amount: int, now: dt.datetime) -> None:
        """Clawback: give one grant back (floored at 0); exhausted → active, or completed if ended."""
        spent = sa.case((c.c.spent_cents - amount < 0, 0), else_=c.c.spent_cents - amount)
        granted = sa.case((c.c.sessions_granted - 1 < 0, 0), else_=c.c.sessions_granted - 1)
        ended = sa.and_(c.c.ends_at.is_not(None), c.c.ends_at <= now)
        status = sa.case((sa.and_(c.c.status == "exhausted", ended), "completed"),
                         (c.c.status == "exhausted", "active"), else_=c.c.status)
        await conn.execute(sa.update(c).where(c.c.id == campaign_id).values(
            spent_cents=spent, sessions_granted=granted, status=status, updated_at=now))

    async def complete_ended(self, conn: AsyncConnection, before: dt.datetime, now: dt.datetime) -> list[str]:
        rows = await conn.execute(sa.update(c).where(
            c.c.status.in_(("active", "paused", "exhausted")), c.c.ends_at.is_not(None), c.c.ends_at <= before,
        ).values(status="completed", completed_at=now, completion_reason="ended", updated_at=now)
            .returning(c.c.id))
        return [r.id for r in rows]

    async def set_status(self, conn: AsyncConnection, campaign_id: str, **values: Any) -> None:
        await conn.execute(sa.update(c).where(c.c.id == campaign_id).values(**values))


_ARM_DIMS = ("charger", "zone", "geo_cell", "geo_wide", "network", "time", "any")
_NO_KEY = "\x01"  # matches no key (PostgreSQL text cannot hold NUL)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_STMT: list[Any] = []


def _candidates_stmt():
    if _STMT:
        return _STMT[0]
    tt = t.campaign_targets
    at, lim = sa.bindparam("at", type_=c.c.starts_at.type), sa.bindparam("lim", type_=sa.Integer)
    a_p, a_c, a_i = (sa.bindparam("a_p", type_=sa.Integer), sa.bindparam("a_c", type_=tt.c.created_at.type),
                     sa.bindparam("a_i", type_=sa.String))
    after = sa.or_(tt.c.priority > a_p, sa.and_(tt.c.priority == a_p, sa.or_(
        tt.c.created_at > a_c, sa.and_(tt.c.created_at == a_c, tt.c.campaign_id > a_i))))
    open_ = [c.c.status == "active", c.c.starts_at <= at, sa.or_(c.c.ends_at.is_(None), c.c.ends_at > at),
             c.c.budget_cents - c.c.spent_cents >= c.c.cost_per_session_cents,
             sa.or_(c.c.max_sessions.is_(None), c.c.sessions_granted < c.c.max_sessions), after]
    arms = []
    for dim in _ARM_DIMS:
        arm = (sa.select(tt.c.campaign_id, tt.c.priority, tt.c.created_at)
               .select_from(tt.join(c, c.c.id == tt.c.campaign_id))
               .where(tt.c.dim == dim, tt.c.key == sa.bindparam(f"k_{dim}", type_=sa.String), *open_)
               .order_by(tt.c.priority, tt.c.created_at, tt.c.campaign_id).limit(lim))
        arms.append(sa.select(arm.subquery()))
    merged = sa.union_all(*arms).subquery()
    stmt = (sa.select(c).join(merged, merged.c.campaign_id == c.c.id)
            .order_by(merged.c.priority, merged.c.created_at, merged.c.campaign_id).limit(lim))
    _STMT.append(stmt)
    return stmt


class GrantRepository:
    async def insert(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        await conn.execute(sa.insert(g).values(**values))

    async def get(self, conn: AsyncConnection, grant_id: str) -> sa.Row | None:
        return (await conn.execute(sa.select(g).where(g.c.id == grant_id))).first()

    async def cap_counts(self, conn: AsyncConnection, campaign_id: str, driver_id: str, local_day: str,
                         local_week: str, charger_id: str | None) -> CapCounts:
        one = sa.literal(1)
        zero = sa.literal(0)
        stmt = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((g.c.local_day == local_day, one), else_=zero)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((g.c.local_week == local_week, one), else_=zero)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((g.c.charger_id == (charger_id or ""), one), else_=zero)), 0),
        ).where(g.c.campaign_id == campaign_id, g.c.driver_id == driver_id, g.c.status == "granted")
        total, day, week, charger = (await conn.execute(stmt)).one()
        return CapCounts(int(total), int(day), int(week), int(charger))

    async def list_for_campaign(self, conn: AsyncConnection, campaign_id: str, limit: int, offset: int):
        rows = await conn.execute(sa.select(g).where(g.c.campaign_id == campaign_id)
                                  .order_by(g.c.created_at.desc(), g.c.id.desc()).limit(limit).offset(offset))
        total = (await conn.execute(sa.select(sa.func.count()).select_from(g)
                                    .where(g.c.campaign_id == campaign_id))).scalar_one()
        return list(rows), int(total)

    async def claw(self, conn: AsyncConnection, grant_id: str, *, reason: str, actor: str, now: dt.datetime):
        stmt = (sa.update(g).where(g.c.id == grant_id, g.c.status == "granted")
                .values(status="clawed_back", clawed_back_at=now, clawback_reason=reason, clawback_actor=actor)
                .returning(*g.c))
        return (await conn.execute(stmt)).first()

    async def batch(self, conn: AsyncConnection, grant_ids: list[str], session_ids: list[str]) -> list[sa.Row]:
        conds = []
        if grant_ids:
            conds.append(g.c.id.in_(grant_ids))
        if session_ids:
            conds.append(g.c.session_id.in_(session_ids))
        if not conds:
            return []
        return list(await conn.execute(sa.select(g).where(sa.or_(*conds))))


class SessionRepository:
    async def get(self, conn: AsyncConnection, session_id: str) -> sa.Row | None:
        return (await conn.execute(sa.select(t.ended_sessions).where(
            t.ended_sessions.c.session_id == session_id))).first()

    async def insert(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        await conn.execute(sa.insert(t.ended_sessions).values(**values))

    async def count_started_before(self, conn: AsyncConnection, driver_id: str, start: dt.datetime) -> int:
        es = t.ended_sessions
        return int((await conn.execute(sa.select(sa.func.count()).where(
            es.c.driver_id == driver_id, es.c.session_start <= start))).scalar_one())

    async def starts_since(self, conn: AsyncConnection, driver_id: str, since: dt.datetime) -> list[dt.datetime]:
        es = t.ended_sessions
        rows = await conn.execute(sa.select(es.c.session_start).where(
            es.c.driver_id == driver_id, es.c.session_start >= since, es.c.duration_minutes >= 1))
        return [r.session_start for r in rows]


class DriverRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure(self, conn: AsyncConnection, driver_id: str, now: dt.datetime) -> None:
        await self.db.insert_ignore(conn, t.drivers, {"driver_id": driver_id, "points": 0, "created_at": now,
                                                      "updated_at": now}, index_elements=["driver_id"])

    async def get(self, conn: AsyncConnection, driver_id: str) -> sa.Row | None:
        return (await conn.execute(sa.select(t.drivers).where(t.drivers.c.driver_id == driver_id))).first()

    async def remember(self, conn: AsyncConnection, driver_id: str, now: dt.datetime, *, email: str | None = None,
                       time_zone: str | None = None) -> None:
        values: dict[str, Any] = {}
        if email:
            values["email"] = email
        if time_zone:
            values["time_zone"] = time_zone
        if not values:
            return
        await self.ensure(conn, driver_id, now)
        d = t.drivers
        cond = sa.or_(*(sa.or_(d.c[k].is_(None), d.c[k] != v) for k, v in values.items()))
        await conn.execute(sa.update(d).where(d.c.driver_id == driver_id, cond).values(**values, updated_at=now))

    async def add_points(self, conn: AsyncConnection, driver_id: str, *, source_type: str, source_id: str,
                         points: int, now: dt.datetime) -> bool:
        """Once per (source_type, source_id); True when the points were added now."""
        new = await self.db.insert_ignore(conn, t.reputation_events, {
            "driver_id": driver_id, "source_type": source_type, "source_id": source_id, "points": points,
            "created_at": now}, index_elements=["source_type", "source_id"])
        if not new:
            return False
        await self.ensure(conn, driver_id, now)
        d = t.drivers
        await conn.execute(sa.update(d).where(d.c.driver_id == driver_id).values(
            points=d.c.points + points, updated_at=now))
        return True


def advisory_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)
