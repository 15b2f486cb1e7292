"""Fleet Telemetry push: one record in → de-dup, merge, the SAME §2 state machine (SessionEngine).

Per record, one transaction (the VIN's ``vehicle_states`` row is locked on PostgreSQL; SQLite
serialises writers):

1. De-dup: insert SHA-256(vin, created_at, canonical data) into ``telemetry_seen``; a repeat changes
   nothing. A stale ``is_resend`` record (older than the newest record of the VIN) changes nothing.
2. Owner: the VIN's active claim; none → dead letter ``unknown_vin``.
3. Merge into ``vehicle_states.push_fields``, last write wins per field by ``created_at``.
4. A record at least as new as the VIN's DetailedChargeState → the merged state becomes one
   observation at the record's time → ``SessionEngine.apply`` (create / update / pause / end —
   the poll path's rules and its one EndSession). A COMPLETE/UNPLUGGED end is held for
   ``end_hold_s`` after it was received so a reordered, older Charging record can still extend the
   session; :meth:`PushIngest.finalize` (a job) applies held ends through the same engine.
   An older (reordered) record only extends ``last_charging_at`` of the open session when it saw
   Charging; it never creates, pauses or ends.
5. The open session's ``next_poll_at`` moves to now + 10 min: polls only fill a gap (no push data
   for 10 minutes: the existing scheduler polls it), bootstrap (T13 while telemetry is not fresh)
   or confirm what push cannot see.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
from typing import Any

import sqlalchemy as sa

from kit import errors
from kit.db import Database
from services.telemetry.adapters import fleet_codec
from services.telemetry.adapters.repository import TelemetryRepository, new_id
from services.telemetry.adapters.tables import charging_sessions as cs
from services.telemetry.adapters.tables import telemetry_dead_letters as dl
from services.telemetry.adapters.tables import telemetry_seen as seen
from services.telemetry.adapters.tables import tesla_connections as tc
from services.telemetry.adapters.tables import vehicle_states as vs
from services.telemetry.adapters.tables import vehicles as vt
from services.telemetry.app.sessions import Applied, SessionEngine
from services.telemetry.domain import push as P
from services.telemetry.domain import sessions as R

log = logging.getLogger("telemetry.push")
END_CLASSES = (R.COMPLETE, R.UNPLUGGED)
MAX_BODY = 1024 * 1024


def signature_ok(raw: bytes, signature: str | None, secret: str) -> bool:
    """Fail closed: no secret configured or no signature → never valid."""
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def _db_down(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return True
    if isinstance(exc, sa.exc.DBAPIError) and (exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError)):
        return True
    return isinstance(exc, sa.exc.TimeoutError)


@dataclasses.dataclass(frozen=True)
class PushSettings:
    end_hold_s: float = 60.0  # a pushed end waits this long for reordered records
    gap_minutes: int = 10  # no push data for this long → the scheduler polls the open session
    seen_ttl_hours: int = 48  # de-dup keys are kept this long


@dataclasses.dataclass
class PushOutcome:
    kind: str  # processed | duplicate | stale_resend | unknown_vin
    applied: Applied | None = None
    held: bool = False

    @property
    def dead_letter(self) -> str | None:
        return "unknown_vin" if self.kind == "unknown_vin" else None


class PushIngest:
    def __init__(self, db: Database, repo: TelemetryRepository, engine: SessionEngine, clock,
                 settings: PushSettings | None = None) -> None:
        self.db, self.repo, self.engine, self.clock = db, repo, engine, clock
        self.settings = settings or PushSettings()
        self.dispatch_now = None  # async (session_id) -> (granted, amount_cents), set by the wiring

    # ------------------------------------------------------------------ one record
    async def ingest(self, record: P.FleetRecord, *, sync_clock: bool = True) -> PushOutcome:
        if sync_clock:
            await self.clock.sync()
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await self.db.insert_ignore(conn, seen, {"key": record.identity, "vin": record.vin,
                                                            "created_at": record.created_at, "seen_at": now},
                                               index_elements=["key"]):
                return PushOutcome("duplicate")
            driver_id = await self._owner(conn, record.vin)
            if driver_id is None:
                return PushOutcome("unknown_vin")
            await self.repo.ensure_vehicle_state(conn, record.vin)
            q = sa.select(vs.c.push_fields, vs.c.telemetry_at, vs.c.last_unplugged_at).where(vs.c.vin == record.vin)
            if self.db.is_postgres:
                q = q.with_for_update()
            row = (await conn.execute(q)).first()
            newest = row.telemetry_at
            if record.is_resend and newest is not None and record.created_at < newest:
                return PushOutcome("stale_resend")
            fields: dict[str, Any] = json.loads(row.push_fields or "{}")
            charge_state_at = P.field_time(fields, "DetailedChargeState")
            P.merge(fields, record, now)
            values: dict[str, Any] = {"push_fields": json.dumps(fields, sort_keys=True)}
            outcome = PushOutcome("processed")
            if charge_state_at is None or record.created_at >= charge_state_at:
                obs = P.observation(P.as_of(fields, record), record.created_at)
                if newest is None or record.created_at >= newest:
                    values.update(self._state_values(obs, record.created_at))
                last_unplugged = values.get("last_unplugged_at", row.last_unplugged_at)
                await conn.execute(sa.update(vs).where(vs.c.vin == record.vin).values(**values))
                self.repo.cache.changed(conn, vin=record.vin)  # ADR 0085: fresh push state changes T13's answer
                if obs.klass in END_CLASSES and not self._end_due(fields, now):
                    open_ = await self.repo.open_session(conn, record.vin)
                    if open_ is not None:
                        outcome.applied, outcome.held = Applied("held", open_), True
                if not outcome.held:
                    outcome.applied = await self.engine.apply(
                        conn, driver_id, record.vin, obs, now, source="fleet_telemetry",
                        last_unplugged_at=last_unplugged, end_reasons=P.end_reasons())
            else:
                await conn.execute(sa.update(vs).where(vs.c.vin == record.vin).values(**values))
                self.repo.cache.changed(conn, vin=record.vin)
                outcome.applied = await self._late(conn, record, P.charging_at(fields, record))
            await self._watch_gap(conn, record.vin, now)
        return outcome

    async def _owner(self, conn, vin: str) -> str | None:
        q = (sa.select(tc.c.driver_id).select_from(vt.join(tc, tc.c.id == vt.c.connection_id))
             .where(vt.c.vin == vin, vt.c.claim_active, tc.c.status == "active").limit(1))
        return (await conn.execute(q)).scalar()

    @staticmethod
    def _state_values(obs: R.Observation, at: dt.datetime) -> dict[str, Any]:
        """VehicleState for T1/T13 (``telemetry_mode``); nulls never overwrite."""
        values: dict[str, Any] = {"observed_at": at, "telemetry_at": at}
        for name in ("charging_state", "battery_level", "charge_energy_added", "charger_power", "charger_voltage",
                     "conn_charge_cable", "fast_charger_type", "lat", "lng"):
            value = getattr(obs, name)
            if value is not None:
                values[name] = value
        values["minutes_to_full"] = R.minutes_to_full(obs)
        if obs.klass == R.UNPLUGGED:
            values["last_unplugged_at"] = at
        return values

    def _end_due(self, fields: dict[str, Any], now: dt.datetime) -> bool:
        cur = fields.get("DetailedChargeState")
        if cur is None:
            return True
        received = P.parse_time(cur["r"])
        return now - received >= dt.timedelta(seconds=self.settings.end_hold_s)

    async def _late(self, conn, record: P.FleetRecord, charging: bool) -> Applied | None:
        """A reordered record older than the VIN's charge state: if the car was charging then, it
        extends the open session's last-seen-charging time (never creates, pauses or ends)."""
        if not charging:
            return None
        open_ = await self.repo.open_session(conn, record.vin)
        if open_ is None or record.created_at < open_["session_start"]:
            return None
        if record.created_at > open_["last_charging_at"]:
            await self.repo.update_session(conn, open_["id"], {
                "last_charging_at": record.created_at, "charging_observations": cs.c.charging_observations + 1})
        return Applied("updated", await self.repo.session(conn, open_["id"]))

    async def _watch_gap(self, conn, vin: str, now: dt.datetime) -> None:
        """Push keeps the open session's next poll 10 min away: the scheduler only fills gaps."""
        await conn.execute(sa.update(cs).where(cs.c.vin == vin, cs.c.session_end.is_(None)).values(
            next_poll_at=now + dt.timedelta(minutes=self.settings.gap_minutes)))

    # ------------------------------------------------------------------ dead letters
    async def dead_letter(self, reason: str, raw: bytes, source: str, subject: str | None = None,
                          vin: str | None = None) -> None:
        """Keep the raw record (base64) with its reason; the VIN only as its last 4 characters."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.execute(sa.insert(dl).values(
                id=new_id(), reason=reason, source=source, subject=(subject or "")[:200] or None,
                vin_tail=vin[-4:] if vin else None, payload_b64=base64.b64encode(raw).decode(), created_at=now))

    # ------------------------------------------------------------------ job
    async def finalize(self, batch: int = 200) -> int:
        """Apply held pushed ends (COMPLETE / UNPLUGGED received ≥ ``end_hold_s`` ago) through the
        engine; delete de-dup keys older than 48 h. Returns the number of sessions ended."""
        await self.clock.sync()
        now = self.clock.now()
        async with self.db.read() as conn:
            rows = list(await conn.execute(
                sa.select(cs.c.id, cs.c.vin, cs.c.driver_id, vs.c.push_fields)
                .select_from(cs.join(vs, vs.c.vin == cs.c.vin))
                .where(cs.c.session_end.is_(None), vs.c.push_fields.is_not(None),
                       vs.c.charging_state.in_(("Complete", "Disconnected")))  # the held ones only
                .order_by(cs.c.last_observed_at).limit(batch)))
        ended = 0
        for r in rows:
            fields = json.loads(r.push_fields or "{}")
            cur = fields.get("DetailedChargeState")
            if cur is None or R.classify(cur["v"]) not in END_CLASSES or not self._end_due(fields, now):
                continue
            async with self.db.transaction() as conn:
                q = sa.select(vs.c.push_fields, vs.c.last_unplugged_at).where(vs.c.vin == r.vin)
                if self.db.is_postgres:
                    q = q.with_for_update()
                row = (await conn.execute(q)).first()
                fields = json.loads(row.push_fields or "{}")
                cur = fields.get("DetailedChargeState")
                if cur is None or R.classify(cur["v"]) not in END_CLASSES or not self._end_due(fields, now):
                    continue
                obs = P.observation(fields, P.parse_time(cur["t"]))
                applied = await self.engine.apply(conn, r.driver_id, r.vin, obs, now, source="fleet_telemetry",
                                                  last_unplugged_at=row.last_unplugged_at,
                                                  end_reasons=P.end_reasons())
                ended += 1 if applied.kind == "ended" else 0
        async with self.db.transaction() as conn:
            await conn.execute(sa.delete(seen).where(
                seen.c.seen_at < now - dt.timedelta(hours=self.settings.seen_ttl_hours)))
        return ended

    # ------------------------------------------------------------------ T18
    async def webhook(self, raw: bytes, signature: str | None, *, enabled: bool, secret: str) -> dict[str, Any]:
        """T18: signature before parsing; the JSON forms; processing failures are answered 200
        ``processing_error`` and dead-lettered (the bridge must not retry), database down is 503."""
        if not enabled:
            raise errors.Unavailable("Fleet Telemetry is disabled", reason="TELEMETRY_DISABLED", http_status=503)
        if len(raw) > MAX_BODY:
            raise errors.InvalidArgument("Payload too large", reason="PAYLOAD_TOO_LARGE", http_status=413)
        if not signature_ok(raw, signature, secret):
            raise errors.Unauthenticated("Invalid signature", reason="INVALID_SIGNATURE")
        try:
            record = fleet_codec.decode_json(raw)
        except fleet_codec.Undecodable:
            raise errors.InvalidArgument("Invalid payload", reason="INVALID_PAYLOAD", http_status=422) from None
        try:
            outcome = await self.ingest(record)
            if outcome.dead_letter:
                await self.dead_letter(outcome.dead_letter, raw, "webhook", vin=record.vin)
            return {"status": "processed", "result": await self.result(outcome)}
        except Exception as exc:  # noqa: BLE001 — never exception text to the caller
            if _db_down(exc):
                raise errors.Unavailable("Telemetry storage is unavailable, retry later",
                                         reason="DATABASE_UNAVAILABLE") from None
            log.exception("fleet telemetry webhook record failed; dead-lettered")
            try:
                await self.dead_letter("processing_error", raw, "webhook", vin=record.vin)
            except Exception:  # noqa: BLE001
                log.exception("dead letter write failed")
            return {"status": "error", "result": None, "detail": "processing_error"}

    # ------------------------------------------------------------------ T18 answer
    async def result(self, outcome: PushOutcome) -> dict[str, Any] | None:
        a = outcome.applied
        if a is None or a.session is None or a.kind in ("observed", "suppressed"):
            return None
        s = a.session
        if a.kind == "ended":
            granted, amount = False, 0
            if a.emitted and self.dispatch_now is not None:
                granted, amount = await self.dispatch_now(s["id"])
            return {"action": "ended", "session_id": s["id"], "duration_minutes": s["duration_minutes"],
                    "incentive_granted": granted, "incentive_amount_cents": amount}
        return {"action": "created" if a.kind == "created" else "updated", "session_id": s["id"]}


def build_consumer(config, push: PushIngest):
    """The JetStream consumer wired to :class:`PushIngest` (``config``: TelemetryConfig with NATS_URL)."""
    from services.telemetry.adapters.nats_consumer import NatsSettings

    settings = NatsSettings(url=config.nats_url, stream=config.nats_stream, namespace=config.nats_namespace,
                            durable=config.nats_durable, dead_letter_subject=config.nats_dead_letter_subject,
                            max_deliver=config.nats_max_deliver, backoff_s=config.backoff())
    return consumer_for(settings, push)


def consumer_for(settings, push: PushIngest):
    from services.telemetry.adapters.nats_consumer import FleetTelemetryConsumer

    async def handle(record: P.FleetRecord) -> str | None:
        return (await push.ingest(record, sync_clock=False)).dead_letter

    async def dead_letter(reason: str, raw: bytes, subject: str, vin: str | None) -> None:
        await push.dead_letter(reason, raw, "nats", subject, vin)

    return FleetTelemetryConsumer(settings, handle, dead_letter, before_batch=push.clock.sync)
