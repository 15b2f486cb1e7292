"""Telemetry persistence (SQLAlchemy Core; one statement per step on the hot path)."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import Database
from services.telemetry.adapters.pollcache import PollCache
from services.telemetry.adapters.tables import charging_sessions as cs
from services.telemetry.adapters.tables import chargers as ch
from services.telemetry.adapters.tables import ev_codes as ec
from services.telemetry.adapters.tables import merchant_locations as ml
from services.telemetry.adapters.tables import session_incentives as si
from services.telemetry.adapters.tables import tesla_api_usage as usage
from services.telemetry.adapters.tables import tesla_connections as tc
from services.telemetry.adapters.tables import tesla_identities as ti
from services.telemetry.adapters.tables import tesla_oauth_states as os_
from services.telemetry.adapters.tables import vehicle_states as vs
from services.telemetry.adapters.tables import vehicles as v
from services.telemetry.domain import sessions as rules
from services.telemetry.domain.connection import TeslaStatus, VehicleSummary

_STATUS = (
    sa.select(tc.c.id, v.c.display_name, v.c.model, v.c.year, v.c.color, v.c.vin, v.c.last_battery_level,
              vs.c.battery_level.label("observed_battery"))
    .select_from(tc.outerjoin(v, sa.and_(v.c.connection_id == tc.c.id, v.c.selected))
                 .outerjoin(vs, vs.c.vin == v.c.vin))
)

# The poll's one read: the driver's connection (active first), its selected vehicle, the VIN state
# and the VIN's open session (a dedup hit is answered from this one round trip).
_POLL_CONTEXT = (
    sa.select(tc.c.id.label("connection_id"), tc.c.status, tc.c.region, tc.c.token_version,
              tc.c.access_token_enc, tc.c.access_expires_at, v.c.tesla_vehicle_id, v.c.vin,
              *[c.label(f"vs_{c.name}") for c in vs.c if c.name != "vin"],
              cs.c.id.label("s_id"), cs.c.session_start.label("s_session_start"),
              cs.c.kwh_delivered.label("s_kwh_delivered"))
    .select_from(tc.outerjoin(v, sa.and_(v.c.connection_id == tc.c.id, v.c.selected))
                 .outerjoin(vs, vs.c.vin == v.c.vin)
                 .outerjoin(cs, sa.and_(cs.c.vin == v.c.vin, cs.c.session_end.is_(None))))
)
# Built once: a statement object reused with a bound parameter keeps SQLAlchemy's memoised cache key
# and compiled form, instead of rebuilding and re-keying the query on every poll (profiled ≈ 7 %).
_POLL_CONTEXT_BY_DRIVER = (
    _POLL_CONTEXT.where(tc.c.driver_id == sa.bindparam("driver_id"), tc.c.status.in_(("active", "reauth_required")))
    .order_by(sa.case((tc.c.status == "active", 0), else_=1), tc.c.updated_at.desc()).limit(1)
)
_STATE_BY_VIN = sa.select(vs).where(vs.c.vin == sa.bindparam("vin"))
_OPEN_SESSION_BY_VIN = sa.select(cs).where(cs.c.vin == sa.bindparam("vin"), cs.c.session_end.is_(None))


def new_id() -> str:
    return str(uuid.uuid4())


def row_dict(row: sa.Row | None) -> dict[str, Any] | None:
    return None if row is None else dict(row._mapping)


# session columns whose change does not alter a poll answer (trail points, scheduler bookkeeping)
_NOT_IN_POLL_ANSWER = frozenset({"location_trail", "fraud_flags", "poll_lease_until", "next_poll_at"})


class TelemetryRepository:
    def __init__(self, db: Database, cache: PollCache | None = None) -> None:
        self.db = db
        # ADR 0085: every write below that changes a poll answer tells the cache (a disabled one by default)
        self.cache = cache if cache is not None else PollCache(0)

    @contextlib.asynccontextmanager
    async def hot_read(self):
        """A single-statement read for the hot path: autocommit on PostgreSQL (no BEGIN/ROLLBACK
        round trips), the kit's read unit of work on SQLite."""
        if self.db.is_postgres:
            async with self.db.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        else:
            async with self.db.read() as conn:
                yield conn

    # ------------------------------------------------------------------ connections
    async def status(self, conn: AsyncConnection, driver_id: str) -> TeslaStatus:
        row = (await conn.execute(_STATUS.where(tc.c.driver_id == driver_id, tc.c.status == "active"))).first()
        if row is None:
            return TeslaStatus(connected=False)
        vehicle = None
        if row.vin is not None or row.display_name is not None:
            battery = row.observed_battery if row.observed_battery is not None else row.last_battery_level
            vehicle = VehicleSummary(row.display_name, row.model, row.year, row.color, row.vin, battery)
        return TeslaStatus(connected=True, vehicle=vehicle)

    async def poll_context(self, conn: AsyncConnection, driver_id: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(_POLL_CONTEXT_BY_DRIVER, {"driver_id": driver_id})).first())

    async def connection(self, conn: AsyncConnection, connection_id: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(sa.select(tc).where(tc.c.id == connection_id))).first())

    async def driver_connection(self, conn: AsyncConnection, driver_id: str,
                                statuses=("active", "reauth_required")) -> dict[str, Any] | None:
        q = (sa.select(tc).where(tc.c.driver_id == driver_id, tc.c.status.in_(statuses))
             .order_by(sa.case((tc.c.status == "active", 0), else_=1), tc.c.updated_at.desc()).limit(1))
        return row_dict((await conn.execute(q)).first())

    async def vehicles_of(self, conn: AsyncConnection, connection_id: str) -> list[dict[str, Any]]:
        rows = await conn.execute(sa.select(v).where(v.c.connection_id == connection_id).order_by(v.c.created_at))
        return [dict(r._mapping) for r in rows]

    async def selected_vehicle(self, conn: AsyncConnection, connection_id: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(
            sa.select(v).where(v.c.connection_id == connection_id, v.c.selected))).first())

    async def vin_claimed_elsewhere(self, conn: AsyncConnection, vin: str, connection_id: str) -> bool:
        q = (sa.select(v.c.id).select_from(v.join(tc, tc.c.id == v.c.connection_id))
             .where(v.c.vin == vin, v.c.claim_active, v.c.connection_id != connection_id, tc.c.status == "active"))
        return (await conn.execute(q)).first() is not None

    async def set_region(self, conn: AsyncConnection, connection_id: str, region: str) -> None:
        """The Fleet API region a 421 pointed at, kept for the connection's next calls."""
        await conn.execute(sa.update(tc).where(tc.c.id == connection_id).values(region=region))

    async def release_claims(self, conn: AsyncConnection, connection_id: str) -> None:
        self.cache.changed(conn, connection=connection_id)
        await conn.execute(sa.update(v).where(v.c.connection_id == connection_id, v.c.claim_active)
                           .values(claim_active=False))

    # ------------------------------------------------------------------ vehicle state
    async def ensure_vehicle_state(self, conn: AsyncConnection, vin: str) -> None:
        self.cache.changed(conn, vin=vin)
        await self.db.insert_ignore(conn, vs, {"vin": vin}, index_elements=["vin"])

    async def vehicle_state(self, conn: AsyncConnection, vin: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(_STATE_BY_VIN, {"vin": vin})).first())

    async def take_read_lease(self, conn: AsyncConnection, vin: str, owner: str, now: dt.datetime,
                              dedup_s: int, lease_s: int = 35) -> bool:
        """Single flight per VIN, conditional on no live lease and no read in the dedup window."""
        res = await conn.execute(sa.update(vs).where(
            vs.c.vin == vin,
            sa.or_(vs.c.read_lease_until.is_(None), vs.c.read_lease_until < now),
            sa.or_(vs.c.last_read_at.is_(None), vs.c.last_read_at <= now - dt.timedelta(seconds=dedup_s)),
            sa.or_(vs.c.rate_limited_until.is_(None), vs.c.rate_limited_until <= now),
        ).values(read_lease_until=now + dt.timedelta(seconds=lease_s), read_lease_owner=owner))
        return res.rowcount == 1

    async def release_read_lease(self, conn: AsyncConnection, vin: str, owner: str, **values: Any) -> None:
        if values:
            self.cache.changed(conn, vin=vin)
        await conn.execute(sa.update(vs).where(vs.c.vin == vin, vs.c.read_lease_owner == owner)
                           .values(read_lease_until=None, read_lease_owner=None, **values))

    async def store_observation(self, conn: AsyncConnection, vin: str, obs: rules.Observation,
                                read_at: dt.datetime, owner: str | None) -> None:
        values: dict[str, Any] = {"observed_at": obs.observed_at, "last_read_at": read_at,
                                  "charging_state": obs.charging_state}
        for name in ("battery_level", "charge_energy_added", "charger_power", "charger_voltage",
                     "charger_actual_current", "conn_charge_cable", "fast_charger_brand", "fast_charger_type",
                     "lat", "lng"):
            value = getattr(obs, name)
            if value is not None:  # nulls never overwrite
                values[name] = value
        values["minutes_to_full"] = rules.minutes_to_full(obs)
        values["next_read_at"] = rules.scheduled_read_at(obs, read_at)
        if obs.klass != rules.PAUSED:  # charging, unplugged, complete: a follow-up chain (ADR 0072) is over
            values["followup_since"] = None
        if obs.klass == rules.UNPLUGGED:
            values["last_unplugged_at"] = obs.observed_at
        self.cache.changed(conn, vin=vin)
        stmt = sa.update(vs).where(vs.c.vin == vin)
        if owner is not None:
            values.update(read_lease_until=None, read_lease_owner=None)
        await conn.execute(stmt.values(**values))

    async def plan_followup(self, conn: AsyncConnection, vin: str, at: dt.datetime | None,
                            since: dt.datetime) -> None:
        """ADR 0072: the next follow-up read of a plugged-in, stopped car (None: the chain is over)."""
        await conn.execute(sa.update(vs).where(vs.c.vin == vin).values(next_read_at=at, followup_since=since))

    # ------------------------------------------------------------------ budget
    async def reserve(self, conn: AsyncConnection, vin: str, day: str, category: str, limit: int) -> bool:
        """Conditional increment; the day's row is created only when the first increment misses it."""
        inc = sa.update(usage).where(
            usage.c.vin == vin, usage.c.day == day, usage.c.category == category, usage.c.count < limit,
        ).values(count=usage.c.count + 1)
        if (await conn.execute(inc)).rowcount == 1:
            return True
        if not await self.db.insert_ignore(conn, usage, {"vin": vin, "day": day, "category": category, "count": 0},
                                           index_elements=["vin", "day", "category"]):
            return False  # the row exists: the limit is reached
        return (await conn.execute(inc)).rowcount == 1

    async def refund(self, conn: AsyncConnection, vin: str, day: str, category: str) -> None:
        await conn.execute(sa.update(usage).where(
            usage.c.vin == vin, usage.c.day == day, usage.c.category == category, usage.c.count > 0,
        ).values(count=usage.c.count - 1))

    async def usage(self, conn: AsyncConnection, vin: str, day: str) -> dict[str, int]:
        rows = await conn.execute(sa.select(usage.c.category, usage.c.count)
                                  .where(usage.c.vin == vin, usage.c.day == day))
        return {r.category: r.count for r in rows}

    # ------------------------------------------------------------------ sessions
    async def open_session(self, conn: AsyncConnection, vin: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(_OPEN_SESSION_BY_VIN, {"vin": vin})).first())

    async def session(self, conn: AsyncConnection, session_id: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(sa.select(cs).where(cs.c.id == session_id))).first())

    async def last_ended(self, conn: AsyncConnection, vin: str) -> dict[str, Any] | None:
        q = (sa.select(cs).where(cs.c.vin == vin, cs.c.session_end.is_not(None))
             .order_by(cs.c.end_detected_at.desc()).limit(1))
        return row_dict((await conn.execute(q)).first())

    async def insert_session(self, conn: AsyncConnection, values: dict[str, Any]) -> bool:
        """INSERT … ON CONFLICT DO NOTHING: False when the open-session index (or source id) won."""
        self.cache.changed(conn, vin=values.get("vin"), driver=values.get("driver_id"))
        stmt = self.db.insert(cs).values(**values).on_conflict_do_nothing()
        return (await conn.execute(stmt)).rowcount == 1

    async def update_session(self, conn: AsyncConnection, session_id: str, values: dict[str, Any],
                             open_only: bool = True) -> bool:
        if not _NOT_IN_POLL_ANSWER.issuperset(values):
            self.cache.changed(conn, session=session_id)
        stmt = sa.update(cs).where(cs.c.id == session_id)
        if open_only:
            stmt = stmt.where(cs.c.session_end.is_(None))
        return (await conn.execute(stmt.values(**values))).rowcount == 1

    async def end_session(self, conn: AsyncConnection, session_id: str, values: dict[str, Any]) -> bool:
        self.cache.changed(conn, session=session_id)
        res = await conn.execute(sa.update(cs).where(cs.c.id == session_id, cs.c.session_end.is_(None))
                                 .values(**values))
        return res.rowcount == 1

    async def reopen(self, conn: AsyncConnection, session_id: str, vin: str, now: dt.datetime) -> bool:
        self.cache.changed(conn, vin=vin, session=session_id)
        o = cs.alias("o")
        other = sa.exists().where(o.c.vin == vin, o.c.session_end.is_(None))
        res = await conn.execute(
            sa.update(cs).where(cs.c.id == session_id, cs.c.emitted_at.is_(None), cs.c.settle_at.is_not(None),
                                cs.c.session_end.is_not(None), ~other)
            .values(session_end=None, end_detected_at=None, ended_reason=None, duration_minutes=None,
                    quality_score=None, settle_at=None, updated_at=now))
        return res.rowcount == 1

    async def completed_count(self, conn: AsyncConnection, driver_id: str) -> int:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(cs).where(
            cs.c.driver_id == driver_id, cs.c.session_end.is_not(None),
            sa.or_(cs.c.ended_reason.is_(None), cs.c.ended_reason != "admin_force_close")))).scalar() or 0)

    async def list_sessions(self, conn: AsyncConnection, driver_id: str, limit: int, offset: int):
        q = (sa.select(cs, *_incentive_cols()).select_from(cs.outerjoin(si, si.c.session_id == cs.c.id))
             .where(cs.c.driver_id == driver_id)
             .order_by(cs.c.session_start.desc(), cs.c.id).limit(limit).offset(offset))
        return [dict(r._mapping) for r in await conn.execute(q)]

    async def session_view(self, conn: AsyncConnection, session_id: str) -> dict[str, Any] | None:
        q = (sa.select(cs, *_incentive_cols()).select_from(cs.outerjoin(si, si.c.session_id == cs.c.id))
             .where(cs.c.id == session_id))
        return row_dict((await conn.execute(q)).first())

    async def latest_open_for_driver(self, conn: AsyncConnection, driver_id: str):
        q = (sa.select(cs, *_incentive_cols()).select_from(cs.outerjoin(si, si.c.session_id == cs.c.id))
             .where(cs.c.driver_id == driver_id, cs.c.session_end.is_(None))
             .order_by(cs.c.session_start.desc()).limit(1))
        return row_dict((await conn.execute(q)).first())

    async def last_closed_for_driver(self, conn: AsyncConnection, driver_id: str, since: dt.datetime):
        q = (sa.select(cs, *_incentive_cols()).select_from(cs.outerjoin(si, si.c.session_id == cs.c.id))
             .where(cs.c.driver_id == driver_id, cs.c.session_end.is_not(None), cs.c.end_detected_at >= since)
             .order_by(cs.c.end_detected_at.desc()).limit(1))
        return row_dict((await conn.execute(q)).first())

    async def open_sessions_of_driver(self, conn: AsyncConnection, driver_id: str) -> list[dict[str, Any]]:
        rows = await conn.execute(sa.select(cs).where(cs.c.driver_id == driver_id, cs.c.session_end.is_(None)))
        return [dict(r._mapping) for r in rows]

    async def overlapping(self, conn: AsyncConnection, driver_id: str, t1: dt.datetime, t2: dt.datetime,
                          now: dt.datetime, session_id: str | None):
        end = sa.func.coalesce(cs.c.session_end, now)
        q = sa.select(cs.c.id, cs.c.session_start, cs.c.session_end, cs.c.charger_id).where(
            cs.c.driver_id == driver_id, cs.c.session_start <= t2, end >= t1)
        if session_id is not None:
            q = q.where(cs.c.id == session_id)
        return [dict(r._mapping) for r in await conn.execute(q.order_by(cs.c.session_start))]

    async def claim_due(self, conn: AsyncConnection, where, now: dt.datetime, lease_s: int, batch: int,
                        order_by=None) -> list[dict[str, Any]]:
        """Claim open sessions for a job: FOR UPDATE SKIP LOCKED (PostgreSQL) + a lease column."""
        pick = sa.select(cs.c.id).where(where, sa.or_(cs.c.poll_lease_until.is_(None), cs.c.poll_lease_until < now))
        pick = pick.order_by(order_by if order_by is not None else cs.c.id).limit(batch)
        if self.db.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        ids = [r.id for r in await conn.execute(pick)]
        if not ids:
            return []
        await conn.execute(sa.update(cs).where(cs.c.id.in_(ids))
                           .values(poll_lease_until=now + dt.timedelta(seconds=lease_s)))  # not in an answer
        return [dict(r._mapping) for r in await conn.execute(sa.select(cs).where(cs.c.id.in_(ids)))]

    # ------------------------------------------------------------------ incentives
    async def apply_grant(self, conn: AsyncConnection, values: dict[str, Any]) -> bool:
        """Idempotent on (grant_id, status); ``clawed_back`` is never overwritten by ``granted``."""
        self.cache.changed(conn, session=values["session_id"])
        inserted = await self.db.insert_ignore(conn, si, values, index_elements=["session_id"])
        if inserted:
            return True
        cond = [si.c.session_id == values["session_id"],
                sa.or_(si.c.grant_id != values["grant_id"], si.c.status != values["status"])]
        if values["status"] == "granted":
            cond.append(si.c.status != "clawed_back")
        res = await conn.execute(sa.update(si).where(*cond).values(**values))
        return res.rowcount == 1

    async def incentive(self, conn: AsyncConnection, session_id: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(sa.select(si).where(si.c.session_id == session_id))).first())

    # ------------------------------------------------------------------ chargers
    async def nearest_charger(self, conn: AsyncConnection, lat: float, lng: float, radius_m: float,
                              public_only: bool = True) -> dict[str, Any] | None:
        lat0, lat1, lng0, lng1 = rules.bounding_box(lat, lng, radius_m)
        q = sa.select(ch).where(ch.c.lat.between(lat0, lat1), ch.c.lng.between(lng0, lng1))
        if public_only:
            q = q.where(ch.c.is_public)
        best, best_d = None, None
        for r in await conn.execute(q):
            d = rules.haversine_m(lat, lng, r.lat, r.lng)
            if d <= radius_m and (best_d is None or d < best_d):
                best, best_d = dict(r._mapping), d
        if best is not None:
            best["connector_types"] = json.loads(best["connector_types"] or "[]")
        return best

    async def charger(self, conn: AsyncConnection, charger_id: str) -> dict[str, Any] | None:
        r = row_dict((await conn.execute(sa.select(ch).where(ch.c.id == charger_id))).first())
        if r is not None:
            r["connector_types"] = json.loads(r["connector_types"] or "[]")
        return r

    async def upsert_chargers(self, conn: AsyncConnection, items: list[dict[str, Any]]) -> int:
        for item in items:
            values = {k: item.get(k) for k in ("name", "network_name", "lat", "lng", "address", "city", "state",
                                               "zone_id", "power_kw", "num_evse", "pricing_per_kwh")}
            values["connector_types"] = json.dumps(item.get("connector_types") or [])
            values["is_public"] = bool(item.get("is_public", True))
            stmt = self.db.insert(ch).values(id=str(item["id"]), **values)
            await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        return len(items)

    async def upsert_merchants(self, conn: AsyncConnection, items: list[dict[str, Any]]) -> None:
        for item in items:
            values = {"name": item.get("name"), "lat": float(item["lat"]), "lng": float(item["lng"])}
            stmt = self.db.insert(ml).values(place_id=str(item["place_id"]), **values)
            await conn.execute(stmt.on_conflict_do_update(index_elements=["place_id"], set_=values))

    async def merchant(self, conn: AsyncConnection, place_id: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(sa.select(ml).where(ml.c.place_id == place_id))).first())

    async def browse_chargers(self, conn: AsyncConnection, search: str, network: str, state: str, limit: int,
                              offset: int, since: dt.datetime):
        q = sa.select(ch)
        if search:
            like = f"%{search.lower()}%"
            q = q.where(sa.or_(sa.func.lower(ch.c.name).like(like), sa.func.lower(ch.c.address).like(like),
                               sa.func.lower(ch.c.city).like(like)))
        if network:
            q = q.where(sa.func.lower(sa.func.replace(ch.c.network_name, " ", "")) ==
                        network.lower().replace(" ", ""))
        if state:
            q = q.where(sa.func.upper(ch.c.state) == state.upper())
        total = int((await conn.execute(sa.select(sa.func.count()).select_from(q.subquery()))).scalar() or 0)
        rows = [dict(r._mapping) for r in await conn.execute(q.order_by(ch.c.name, ch.c.id).limit(limit).offset(offset))]
        util = await self.utilization(conn, [r["id"] for r in rows], since) if rows else {}
        for r in rows:
            r["connector_types"] = json.loads(r["connector_types"] or "[]")
            u = util.get(r["id"], {})
            r["total_sessions"] = u.get("total_sessions", 0)
            r["unique_drivers"] = u.get("unique_drivers", 0)
        return rows, total

    async def utilization(self, conn: AsyncConnection, charger_ids: list[str] | None, since: dt.datetime):
        q = (sa.select(cs.c.charger_id, sa.func.count().label("total_sessions"),
                       sa.func.count(sa.distinct(cs.c.driver_id)).label("unique_drivers"),
                       sa.func.avg(cs.c.duration_minutes).label("avg_duration"))
             .where(cs.c.session_end.is_not(None), cs.c.session_start >= since, cs.c.charger_id.is_not(None))
             .group_by(cs.c.charger_id))
        if charger_ids:
            q = q.where(cs.c.charger_id.in_(charger_ids))
        return {r.charger_id: {"total_sessions": int(r.total_sessions), "unique_drivers": int(r.unique_drivers),
                               "avg_duration_minutes": float(r.avg_duration or 0)} for r in await conn.execute(q)}

    # ------------------------------------------------------------------ OAuth states, identities
    async def insert_state(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        await conn.execute(sa.insert(os_).values(**values))

    async def peek_state(self, conn: AsyncConnection, state: str, now: dt.datetime) -> dict[str, Any] | None:
        return row_dict((await conn.execute(sa.select(os_).where(
            os_.c.state == state, os_.c.consumed_at.is_(None), os_.c.expires_at > now))).first())

    async def consume_state(self, conn: AsyncConnection, state: str, purpose: str, now: dt.datetime) -> bool:
        res = await conn.execute(sa.update(os_).where(
            os_.c.state == state, os_.c.purpose == purpose, os_.c.consumed_at.is_(None), os_.c.expires_at > now,
        ).values(consumed_at=now))
        return res.rowcount == 1

    async def identity(self, conn: AsyncConnection, tesla_sub: str) -> dict[str, Any] | None:
        return row_dict((await conn.execute(sa.select(ti).where(ti.c.tesla_sub == tesla_sub))).first())

    async def insert_identity(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        await self.db.insert_ignore(conn, ti, values, index_elements=["tesla_sub"])

    # ------------------------------------------------------------------ EV codes
    async def active_code(self, conn: AsyncConnection, driver_id: str, merchant_place_id: str | None,
                          now: dt.datetime) -> dict[str, Any] | None:
        q = sa.select(ec).where(ec.c.driver_id == driver_id, ec.c.status == "active", ec.c.expires_at > now,
                                sa.func.coalesce(ec.c.merchant_place_id, "") == (merchant_place_id or ""))
        return row_dict((await conn.execute(q)).first())

    async def expire_codes(self, conn: AsyncConnection, now: dt.datetime, driver_id: str | None = None,
                           merchant_place_id: str | None = None, only_pair: bool = False) -> int:
        stmt = sa.update(ec).where(ec.c.status == "active", ec.c.expires_at <= now)
        if only_pair:
            stmt = stmt.where(ec.c.driver_id == driver_id,
                              sa.func.coalesce(ec.c.merchant_place_id, "") == (merchant_place_id or ""))
        return (await conn.execute(stmt.values(status="expired"))).rowcount

    async def code_taken(self, conn: AsyncConnection, code: str) -> bool:
        return (await conn.execute(sa.select(ec.c.id).where(ec.c.code == code, ec.c.status == "active"))).first() is not None

    async def insert_code(self, conn: AsyncConnection, values: dict[str, Any]) -> bool:
        stmt = self.db.insert(ec).values(**values).on_conflict_do_nothing()
        return (await conn.execute(stmt)).rowcount == 1

    async def list_codes(self, conn: AsyncConnection, driver_id: str, now: dt.datetime, limit: int = 10):
        q = (sa.select(ec).where(ec.c.driver_id == driver_id, ec.c.status == "active", ec.c.expires_at > now)
             .order_by(ec.c.created_at.desc()).limit(limit))
        return [dict(r._mapping) for r in await conn.execute(q)]


def _incentive_cols():
    return (si.c.grant_id.label("inc_grant_id"), si.c.campaign_id.label("inc_campaign_id"),
            si.c.amount_cents.label("inc_amount_cents"), si.c.status.label("inc_status"),
            si.c.granted_at.label("inc_granted_at"))


# kept for the existing import path
ConnectionRepository = TelemetryRepository


class ConnectionWrites:
    """Token-rotation and connection/vehicle writes (kept apart from the read-mostly repository)."""

    def __init__(self, db: Database, cache: PollCache | None = None) -> None:
        self.db = db
        self.cache = cache if cache is not None else PollCache(0)  # ADR 0085

    async def take_refresh_lease(self, conn: AsyncConnection, connection_id: str, version: int, owner: str,
                                 now: dt.datetime, lease_s: int = 30) -> bool:
        res = await conn.execute(sa.update(tc).where(
            tc.c.id == connection_id, tc.c.token_version == version, tc.c.status == "active",
            sa.or_(tc.c.refresh_lease_until.is_(None), tc.c.refresh_lease_until < now),
        ).values(refresh_lease_until=now + dt.timedelta(seconds=lease_s), refresh_lease_owner=owner))
        return res.rowcount == 1

    async def store_rotation(self, conn: AsyncConnection, connection_id: str, version: int, owner: str,
                             values: dict[str, Any], now: dt.datetime) -> bool:
        res = await conn.execute(sa.update(tc).where(
            tc.c.id == connection_id, tc.c.token_version == version, tc.c.refresh_lease_owner == owner,
        ).values(token_version=version + 1, refresh_lease_until=None, refresh_lease_owner=None,
                 updated_at=now, **values))
        return res.rowcount == 1

    async def release_refresh_lease(self, conn: AsyncConnection, connection_id: str, owner: str) -> None:
        await conn.execute(sa.update(tc).where(tc.c.id == connection_id, tc.c.refresh_lease_owner == owner)
                           .values(refresh_lease_until=None, refresh_lease_owner=None))

    async def mark_reauth(self, conn: AsyncConnection, connection_id: str, version: int, now: dt.datetime) -> bool:
        res = await conn.execute(sa.update(tc).where(
            tc.c.id == connection_id, tc.c.token_version == version, tc.c.status == "active",
        ).values(status="reauth_required", refresh_lease_until=None, refresh_lease_owner=None, updated_at=now))
        self.cache.changed(conn, connection=connection_id)
        if res.rowcount == 1:
            await conn.execute(sa.update(v).where(v.c.connection_id == connection_id).values(claim_active=False))
        return res.rowcount == 1

    async def upsert_connection(self, conn: AsyncConnection, driver_id: str, values: dict[str, Any],
                                now: dt.datetime) -> str:
        """The driver's single active connection: reuse the latest non-disconnected one, else insert."""
        self.cache.changed(conn, driver=driver_id)
        row = (await conn.execute(sa.select(tc.c.id).where(
            tc.c.driver_id == driver_id, tc.c.status.in_(("active", "reauth_required")))
            .order_by(tc.c.updated_at.desc()).limit(1))).first()
        if row is not None:
            await conn.execute(sa.update(tc).where(tc.c.driver_id == driver_id, tc.c.id != row.id,
                                                   tc.c.status.in_(("active", "reauth_required")))
                               .values(status="disconnected", access_token_enc=None, refresh_token_enc=None,
                                       updated_at=now))
            await conn.execute(sa.update(tc).where(tc.c.id == row.id).values(
                status="active", token_version=tc.c.token_version + 1, refresh_lease_until=None,
                refresh_lease_owner=None, updated_at=now, **values))
            return row.id
        cid = new_id()
        await conn.execute(sa.insert(tc).values(id=cid, driver_id=driver_id, status="active", token_version=1,
                                                created_at=now, updated_at=now, **values))
        return cid

    async def sync_vehicles(self, conn: AsyncConnection, connection_id: str, items: list[dict[str, Any]],
                            now: dt.datetime) -> list[dict[str, Any]]:
        self.cache.changed(conn, connection=connection_id)
        existing = {r.tesla_vehicle_id: r for r in await conn.execute(
            sa.select(v).where(v.c.connection_id == connection_id))}
        for item in items:
            values = {k: item[k] for k in ("vin", "display_name", "model", "year", "color") if k in item}
            row = existing.get(item["tesla_vehicle_id"])
            if row is None:
                await conn.execute(sa.insert(v).values(id=new_id(), connection_id=connection_id,
                                                       tesla_vehicle_id=item["tesla_vehicle_id"], created_at=now,
                                                       selected=False, claim_active=False, **values))
            else:
                await conn.execute(sa.update(v).where(v.c.id == row.id).values(**values))
        live = {i["tesla_vehicle_id"] for i in items}
        gone = [r.id for tid, r in existing.items() if tid not in live]
        if gone:
            await conn.execute(sa.update(v).where(v.c.id.in_(gone)).values(selected=False, claim_active=False))
        rows = await conn.execute(sa.select(v).where(v.c.connection_id == connection_id))
        return [dict(r._mapping) for r in rows]

    async def select(self, conn: AsyncConnection, connection_id: str, vehicle_row_id: str) -> None:
        """Select and claim one vehicle (the unique indexes reject a VIN claimed elsewhere)."""
        self.cache.changed(conn, connection=connection_id)
        await conn.execute(sa.update(v).where(v.c.connection_id == connection_id, v.c.id != vehicle_row_id)
                           .values(selected=False, claim_active=False))
        await conn.execute(sa.update(v).where(v.c.id == vehicle_row_id).values(selected=True, claim_active=True))

    async def disconnect(self, conn: AsyncConnection, driver_id: str, now: dt.datetime) -> list[str]:
        self.cache.changed(conn, driver=driver_id)
        ids = [r.id for r in await conn.execute(sa.select(tc.c.id).where(
            tc.c.driver_id == driver_id, tc.c.status != "disconnected"))]
        if ids:
            await conn.execute(sa.update(v).where(v.c.connection_id.in_(ids)).values(claim_active=False))
            await conn.execute(sa.update(tc).where(tc.c.id.in_(ids)).values(
                status="disconnected", access_token_enc=None, refresh_token_enc=None, access_expires_at=None,
                refresh_lease_until=None, refresh_lease_owner=None, updated_at=now))
        return ids
