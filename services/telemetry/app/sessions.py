"""Session detection: the poll path (T13), the one EndSession, SessionEnded events, the jobs.

Hot path (T13) in round trips: one read (connection + selected vehicle + VIN state); a dedup hit
answers from there plus one open-session read. A real read takes one write transaction for the lease
and budget, the Tesla call, and one write transaction that stores the observation and applies §2.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import json
import logging
import uuid
from typing import Any

import sqlalchemy as sa

from kit import outbox as kout
from kit.db import Database
from services.telemetry.adapters.crypto import vin_hash
from services.telemetry.adapters.pollcache import TrailPoint
from services.telemetry.adapters.repository import TelemetryRepository, new_id
from services.telemetry.adapters.tables import charging_sessions as cs
from services.telemetry.adapters.tables import outbox_table
from services.telemetry.adapters.tables import tesla_connections as tc
from services.telemetry.adapters.tables import vehicle_states as vs
from services.telemetry.adapters.tables import vehicles as vt
from services.telemetry.adapters.tesla import TeslaClient, TeslaError
from services.telemetry.app.tokens import TeslaDown, TokenExpired, TokenService
from services.telemetry.domain import sessions as R

log = logging.getLogger("telemetry.sessions")
UTC = dt.timezone.utc
TOPIC_SESSION_ENDED = "SessionEnded"
_VS_KEYS = tuple(f"vs_{c.name}" for c in vs.c if c.name != "vin")  # the VIN state columns of a poll context
# the VIN state columns a cached answer reads (``_charging``), in that order; and as poll context keys
_ANSWER_STATE = ("charging_state", "minutes_to_full", "battery_level", "charger_power", "conn_charge_cable",
                 "fast_charger_brand", "charger_voltage", "charger_actual_current")
_ANSWER_CTX = tuple(f"vs_{k}" for k in _ANSWER_STATE)
if not set(_ANSWER_CTX) <= set(_VS_KEYS):
    raise RuntimeError("vehicle_states lost a column the poll answer reads")
TELEMETRY_FRESH = dt.timedelta(minutes=10)  # Fleet Telemetry state this recent answers the poll


@functools.lru_cache(maxsize=32)
def _seconds(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def rfc3339(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_ts(s: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@dataclasses.dataclass
class Budget:
    data_per_day: int = 200
    data_reserved: int = 40
    wakes_per_day: int = 5
    wake_every: dt.timedelta = dt.timedelta(minutes=10)


@dataclasses.dataclass
class Applied:
    kind: str  # created | updated | reopened | paused | ended | touched | observed | suppressed
    session: dict[str, Any] | None = None
    emitted: bool = False


@dataclasses.dataclass
class ReadFailure:
    kind: str  # asleep | token_expired | vehicle_unavailable | rate_limited | poll_failed | budget


async def _bounded(limit: int, coros: list) -> list:
    """Run ``coros`` with at most ``limit`` at a time; results in order."""
    if not coros:
        return []
    sem = asyncio.Semaphore(max(1, limit))

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros))


class SessionEngine:
    """§2 state machine applied inside the caller's transaction, and the one EndSession."""

    def __init__(self, db: Database, repo: TelemetryRepository, rules: R.Rules, vin_hash_key: str) -> None:
        self.db, self.repo, self.rules, self.vin_hash_key = db, repo, rules, vin_hash_key

    async def apply(self, conn, driver_id: str, vin: str, obs: R.Observation, now: dt.datetime,
                    source: str = "tesla_api", last_unplugged_at: dt.datetime | None = None,
                    end_reasons: dict[str, str] | None = None,
                    next_poll: dt.datetime | None = None) -> Applied:
        """``end_reasons`` renames an end reason for the caller's source (push: ``unplugged`` →
        ``telemetry_disconnected``); the decision itself is always ``R.decide``. ``next_poll``: when
        the scheduler should read a session this CHARGING observation creates or updates (the poll
        path's policy, ADR 0070); default the §3.2 formula."""
        open_ = await self.repo.open_session(conn, vin)
        d = R.decide(open_, obs.klass, now, self.rules)
        if d.kind == "observe":
            return Applied("observed")
        if d.kind == "create":
            return await self._create(conn, driver_id, vin, obs, now, source, last_unplugged_at, next_poll)
        assert open_ is not None
        if d.kind == "update":
            await self.repo.update_session(conn, open_["id"], self._update_values(open_, obs, now, next_poll))
            return Applied("updated", await self.repo.session(conn, open_["id"]))
        if d.kind == "pause":
            values: dict[str, Any] = {"last_observed_at": now, "updated_at": now,
                                      "next_poll_at": next_poll or R.next_poll_at(now, None)}
            if open_["paused_since"] is None:
                values["paused_since"] = obs.observed_at
                values["paused_reason"] = "no_power" if obs.charging_state == "NoPower" else "stopped"
            self._merge_values(values, open_, obs)
            await self.repo.update_session(conn, open_["id"], values)
            return Applied("paused", await self.repo.session(conn, open_["id"]))
        if d.kind == "end":
            reason = d.reason or "stopped"
            return await self.end(conn, open_, (end_reasons or {}).get(reason, reason), now, obs)
        # touch: UNKNOWN refreshes last_observed_at; UNREACHABLE changes nothing (the stale rule decides)
        if obs.klass == R.UNKNOWN:
            await self.repo.update_session(conn, open_["id"], {"last_observed_at": now, "updated_at": now})
        return Applied("touched", open_)

    async def _create(self, conn, driver_id, vin, obs, now, source, last_unplugged_at, next_poll=None) -> Applied:
        baseline = 0.0
        prev = await self.repo.last_ended(conn, vin)
        if prev is not None and R.same_plugin(prev, obs, last_unplugged_at, self.rules):
            window = dt.timedelta(minutes=self.rules.reopen_window_minutes)
            if (prev["ended_reason"] == "stale_cleanup" and prev["emitted_at"] is None
                    and prev["end_detected_at"] >= now - window):
                if await self.repo.reopen(conn, prev["id"], vin, now):
                    reopened = await self.repo.session(conn, prev["id"])
                    await self.repo.update_session(conn, prev["id"],
                                                   self._update_values(reopened, obs, now, next_poll))
                    return Applied("reopened", await self.repo.session(conn, prev["id"]))
            if prev["ended_reason"] == "manual":
                return Applied("suppressed", prev)
            baseline = prev["last_energy"] or 0.0
        charger = None
        if obs.lat is not None and obs.lng is not None:
            charger = await self.repo.nearest_charger(conn, obs.lat, obs.lng, self.rules.match_radius_m)
        energy = obs.charge_energy_added
        sid = new_id()
        values = {
            "id": sid, "driver_id": driver_id, "vin": vin, "source": source,
            "source_session_id": f"{vin}:{int(obs.observed_at.timestamp())}",
            "session_start": obs.observed_at, "last_charging_at": obs.observed_at, "last_observed_at": now,
            "charger_id": charger["id"] if charger else None,
            "charger_network": charger["network_name"] if charger else R.unmatched_network(obs),
            "zone_id": charger["zone_id"] if charger else None,
            "connector_type": R.connector_type(obs, charger["connector_types"] if charger else None),
            "power_kw": obs.charger_power, "max_power_kw": obs.charger_power,
            "energy_baseline": baseline, "last_energy": energy,
            "kwh_delivered": max(0.0, energy - baseline) if energy is not None else None,
            "battery_start_pct": obs.battery_level, "battery_end_pct": obs.battery_level,
            "lat": obs.lat, "lng": obs.lng, "end_lat": obs.lat, "end_lng": obs.lng,
            "conn_charge_cable": obs.conn_charge_cable, "fast_charger_brand": obs.fast_charger_brand,
            "verified": True, "verification_method": "telemetry" if source == "fleet_telemetry" else "api_polling",
            "charging_observations": 1, "location_trail": "[]", "fraud_flags": "[]",
            "next_poll_at": next_poll or R.next_poll_at(now, R.minutes_to_full(obs)), "created_at": now,
            "updated_at": now,
        }
        if await self.repo.insert_session(conn, values):
            return Applied("created", await self.repo.session(conn, sid))
        # a racing create won the open-session index: re-read and update
        open_ = await self.repo.open_session(conn, vin)
        if open_ is None:
            return Applied("observed")
        await self.repo.update_session(conn, open_["id"], self._update_values(open_, obs, now, next_poll))
        return Applied("updated", await self.repo.session(conn, open_["id"]))

    def _merge_values(self, values: dict[str, Any], s: dict[str, Any], obs: R.Observation) -> None:
        if obs.battery_level is not None:
            values["battery_end_pct"] = obs.battery_level
            if s["battery_start_pct"] is None:
                values["battery_start_pct"] = obs.battery_level
        if obs.charge_energy_added is not None:
            values["last_energy"] = obs.charge_energy_added
            values["kwh_delivered"] = max(0.0, obs.charge_energy_added - (s["energy_baseline"] or 0.0))
        if obs.lat is not None and obs.lng is not None:
            values["end_lat"], values["end_lng"] = obs.lat, obs.lng

    def _update_values(self, s: dict[str, Any], obs: R.Observation, now: dt.datetime,
                       next_poll: dt.datetime | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {
            "last_charging_at": max(obs.observed_at, s["last_charging_at"]), "last_observed_at": now,
            "charging_observations": cs.c.charging_observations + 1, "paused_since": None, "paused_reason": None,
            "next_poll_at": next_poll or R.next_poll_at(now, R.minutes_to_full(obs)), "updated_at": now,
        }
        self._merge_values(values, s, obs)
        if obs.charger_power is not None:
            values["power_kw"] = obs.charger_power
            values["max_power_kw"] = max(obs.charger_power, s["max_power_kw"] or 0.0)
        if not s["conn_charge_cable"] and obs.conn_charge_cable:
            values["conn_charge_cable"] = obs.conn_charge_cable
        if not s["fast_charger_brand"] and obs.fast_charger_brand:
            values["fast_charger_brand"] = obs.fast_charger_brand
        if s["lat"] is None and obs.lat is not None:
            values["lat"], values["lng"] = obs.lat, obs.lng
        return values

    async def end(self, conn, s: dict[str, Any], reason: str, now: dt.datetime,
                  obs: R.Observation | None = None, note: str | None = None) -> Applied:
        """EndSession: conditional on ``session_end IS NULL``; a second ender gets the ended row."""
        end = max(s["last_charging_at"], s["session_start"])
        values: dict[str, Any] = {"session_end": end, "end_detected_at": now, "ended_reason": reason,
                                  "next_poll_at": None, "poll_lease_until": None, "updated_at": now}
        merged = dict(s)
        if obs is not None:
            self._merge_values(values, s, obs)
            merged.update({k: v for k, v in values.items() if k in s})
        duration = R.duration_minutes(s["session_start"], end)
        values["duration_minutes"] = duration
        values["quality_score"] = R.quality_score(duration, merged["kwh_delivered"], bool(s["verified"]),
                                                  merged["battery_start_pct"], merged["battery_end_pct"], reason)
        if note:
            values["close_note"] = note
        if reason == "stale_cleanup":
            values["settle_at"] = now + dt.timedelta(minutes=self.rules.reopen_window_minutes)
        else:
            values["emitted_at"] = now
        if not await self.repo.end_session(conn, s["id"], values):
            return Applied("ended", await self.repo.session(conn, s["id"]), emitted=False)
        ended = await self.repo.session(conn, s["id"])
        emitted = False
        if reason != "stale_cleanup":
            await self.emit(conn, ended, now)
            emitted = True
        return Applied("ended", ended, emitted=emitted)

    async def emit(self, conn, s: dict[str, Any], now: dt.datetime) -> None:
        count = await self.repo.completed_count(conn, s["driver_id"])
        flags = set(json.loads(s["fraud_flags"] or "[]"))
        if s["charging_observations"] <= 1:
            flags.add("single_observation")
        payload = {
            "session_id": s["id"], "driver_id": s["driver_id"], "vin_hash": vin_hash(self.vin_hash_key, s["vin"]),
            "charger_id": s["charger_id"], "charger_network": s["charger_network"],
            "connector_type": s["connector_type"], "zone_id": s["zone_id"], "lat": s["lat"], "lng": s["lng"],
            "session_start": rfc3339(s["session_start"]), "session_end": rfc3339(s["session_end"]),
            "end_detected_at": rfc3339(s["end_detected_at"]), "duration_minutes": s["duration_minutes"],
            "kwh_delivered": s["kwh_delivered"], "max_power_kw": s["max_power_kw"], "last_power_kw": s["power_kw"],
            "battery_start_pct": s["battery_start_pct"], "battery_end_pct": s["battery_end_pct"],
            "quality_score": s["quality_score"], "verified": bool(s["verified"]),
            "verification_method": s["verification_method"], "source": s["source"],
            "ended_reason": s["ended_reason"], "charging_observations": s["charging_observations"],
            "driver_completed_session_count": count, "fraud_flags": sorted(flags), "schema_version": 1,
        }
        await kout.add_event(conn, outbox_table, self.db, topic=TOPIC_SESSION_ENDED, key=s["id"],
                             payload={k: v for k, v in payload.items() if v is not None}, now=now)


class SessionService:
    """T13 and the scheduler: dedup, single flight, budget, Tesla read, §2, dispatch-now."""

    def __init__(self, db: Database, repo: TelemetryRepository, engine: SessionEngine, tokens: TokenService,
                 tesla: TeslaClient, clock, rules: R.Rules, budget: Budget, wake_retry_s: float = 5.0,
                 dispatch_now=None) -> None:
        self.db, self.repo, self.engine, self.tokens, self.tesla, self.clock = db, repo, engine, tokens, tesla, clock
        self.rules, self.budget, self.wake_retry_s = rules, budget, wake_retry_s
        self.dispatch_now = dispatch_now  # async (session_id) -> (granted, amount_cents)

    # ------------------------------------------------------------------ T13
    async def poll(self, driver_id: str, lat: float | None, lng: float | None) -> dict[str, Any]:
        await self.clock.sync()
        now = self.clock.now()
        ctx = self._cached_context(driver_id, now)
        if ctx is not None:  # a dedup hit (ADR 0085): the checks below would all pass, no Tesla read
            point = self._new_point(driver_id, ctx, lat, lng, now)
            if point is not None:
                await self.add_trail_point(ctx["vin"], driver_id, point[0], point[1], now)
            return self._cached_from_context(ctx, now)
        ctx = await self._read_poll_context(driver_id, now)
        if ctx is None:
            return {"session_active": False, "error": "no_tesla_connection"}
        if ctx["status"] != "active":
            return {"session_active": False, "error": "token_expired"}
        if not ctx["vin"]:
            return {"session_active": False, "error": "no_vehicle_selected"}
        vin = ctx["vin"]
        point = self._new_point(driver_id, ctx, lat, lng, now)
        if point is not None:
            await self.add_trail_point(vin, driver_id, point[0], point[1], now)
        tele = ctx["vs_telemetry_at"]
        if tele is not None and now - tele <= TELEMETRY_FRESH:
            return await self._cached(vin, now, telemetry=True)
        if self._recent(ctx, now):  # the dedup hit (read_and_apply's first step, without the call)
            return self._cached_from_context(ctx, now)
        return await self.read_and_apply(driver_id, ctx["connection_id"], ctx["region"], ctx["tesla_vehicle_id"],
                                         vin, ctx, now, request_path=True)

    def _dedup_hit(self, ctx: dict[str, Any], now: dt.datetime) -> bool:
        """The context answers this poll from the dedup window (§3.2 step 4) without a Tesla read."""
        if ctx["status"] != "active" or not ctx["vin"]:
            return False
        tele = ctx["vs_telemetry_at"]
        if tele is not None and now - tele <= TELEMETRY_FRESH:
            return False
        return self._recent(ctx, now)

    def _cached_context(self, driver_id: str, now: dt.datetime) -> dict[str, Any] | None:
        """The cached context (ADR 0085) if it is still a dedup hit at ``now``; a lapsed one is dropped."""
        cache = self.repo.cache
        ctx = cache.get(driver_id)
        if ctx is not None:
            if self._dedup_hit(ctx, now):
                return ctx
            cache.drop(driver_id)
        return None

    async def _read_poll_context(self, driver_id: str, now: dt.datetime) -> dict[str, Any] | None:
        """The poll's one read; cached when it answers as a dedup hit."""
        cache = self.repo.cache
        generation = cache.generation
        async with self.repo.hot_read() as conn:
            ctx = await self.repo.poll_context(conn, driver_id)
        if ctx is not None and cache.enabled and self._dedup_hit(ctx, now):
            cache.put(driver_id, ctx, generation)
        return ctx

    def _new_point(self, driver_id: str, ctx: dict[str, Any], lat: float | None, lng: float | None,
                   now: dt.datetime) -> tuple[float, float] | None:
        """The device position to append to the trail, if it is valid and not a known point."""
        if not R.valid_point(lat, lng):
            return None
        lat, lng = float(lat), float(lng)  # type: ignore[arg-type]
        return None if self._known_point(driver_id, ctx, lat, lng, now) else (lat, lng)

    def _known_point(self, driver_id: str, ctx: dict[str, Any], lat: float, lng: float, now: dt.datetime) -> bool:
        """ADR 0085: the cache remembers the session's last trail point and this one adds nothing."""
        sid = ctx.get("s_id")
        last = self.repo.cache.last_point(driver_id, sid) if sid else None
        return last is not None and R.trail_point_redundant(last.lat, last.lng, last.ts, lat, lng, now,
                                                            self.rules.trail_min_interval_s)

    async def add_trail_point(self, vin: str, driver_id: str, lat: float, lng: float, now: dt.datetime) -> str | None:
        async with self.db.transaction() as conn:
            s = await self.repo.open_session(conn, vin)
            if s is None or s["driver_id"] != driver_id:
                return None
            old = json.loads(s["location_trail"] or "[]")
            last = old[-1] if old else None
            if last is not None and R.trail_point_redundant(last["lat"], last["lng"], _parse_ts(last["ts"]), lat, lng,
                                                            now, self.rules.trail_min_interval_s):
                point = TrailPoint(last["lat"], last["lng"], _parse_ts(last["ts"]))
            else:
                trail, jumped = R.append_trail(old, lat, lng, now, _parse_ts)
                values: dict[str, Any] = {"location_trail": json.dumps(trail)}
                if jumped:
                    flags = set(json.loads(s["fraud_flags"] or "[]")) | {"location_jump"}
                    values["fraud_flags"] = json.dumps(sorted(flags))
                await self.repo.update_session(conn, s["id"], values)
                point = TrailPoint(trail[-1]["lat"], trail[-1]["lng"], _parse_ts(trail[-1]["ts"])) if trail else None
        if point is not None:
            self.repo.cache.note_point(driver_id, s["id"], point)
        return s["id"]

    def _recent(self, ctx: dict[str, Any], now: dt.datetime) -> bool:
        last = ctx.get("vs_last_read_at")
        limited = ctx.get("vs_rate_limited_until")
        return ((last is not None and now - last < _seconds(self.rules.dedup_s))
                or (limited is not None and limited > now))

    async def read_and_apply(self, driver_id: str, connection_id: str, region: str, tesla_vehicle_id: str,
                             vin: str, ctx: dict[str, Any] | None, now: dt.datetime,
                             request_path: bool) -> dict[str, Any]:
        if ctx is not None and self._recent(ctx, now):
            return self._cached_from_context(ctx, now)
        owner = uuid.uuid4().hex
        day = now.strftime("%Y-%m-%d")
        async with self.db.transaction() as conn:
            if ctx is not None and ctx.get("vs_last_read_at") is None and ctx.get("vs_read_lease_until") is None:
                await self.repo.ensure_vehicle_state(conn, vin)
            got = await self.repo.take_read_lease(conn, vin, owner, now, self.rules.dedup_s)
            if not got and ctx is None:  # the scheduler's VIN may have no state row yet
                await self.repo.ensure_vehicle_state(conn, vin)
                got = await self.repo.take_read_lease(conn, vin, owner, now, self.rules.dedup_s)
            open_ = await self.repo.open_session(conn, vin) if got else None
            budget_ok = False
            if got:
                limit = self.budget.data_per_day if open_ else self.budget.data_per_day - self.budget.data_reserved
                budget_ok = await self.repo.reserve(conn, vin, day, "data", limit)
                if not budget_ok:
                    await self.repo.release_read_lease(conn, vin, owner)
        if not got:
            await self._wait_for_read(vin, now)
            return await self._cached(vin, self.clock.now())
        if not budget_ok:
            log.warning("tesla data budget exhausted for vehicle", extra={"vin_tail": vin[-4:]})
            return await self._cached(vin, now)
        result = await self._read(connection_id, region, tesla_vehicle_id, vin, open_ is not None, day, now)
        now = self.clock.now()
        if isinstance(result, R.Observation):
            async with self.db.transaction() as conn:
                state = await self.repo.vehicle_state(conn, vin)
                await self.repo.store_observation(conn, vin, result, now, owner)
                next_poll = None
                if result.klass in (R.CHARGING, R.PAUSED):  # a pause may end or resume at any moment
                    left = self.budget.data_per_day - (await self.repo.usage(conn, vin, day)).get("data", 0)
                    next_poll = now + dt.timedelta(seconds=R.charging_poll_interval_s(
                        R.eta_window_s(result), left, self.rules))
                applied = await self.engine.apply(conn, driver_id, vin, result, now, next_poll=next_poll,
                                                  last_unplugged_at=state["last_unplugged_at"] if state else None)
                # no open session (never opened, or just ended by the pause grace) and plugged in, stopped
                if (applied.kind in ("observed", "ended") and result.klass == R.PAUSED
                        and result.scheduled_start is None):
                    await self._plan_followup(conn, vin, result, now, state, trigger=request_path)
            return await self._answer(applied, result, now, request_path)
        return await self._failed(result, vin, owner, now, request_path)

    async def _plan_followup(self, conn, vin: str, obs: R.Observation, now: dt.datetime,
                             state: dict[str, Any] | None, trigger: bool) -> None:
        """ADR 0072: a plugged-in car seen stopped without an open session (and no scheduled start) is
        read again at growing intervals for a bounded time, so a charge that starts or resumes after
        the trigger's read is found. A new trigger (the driver's app) after the window, or any read
        after the chain's last one, starts a new chain."""
        since = state.get("followup_since") if state else None
        window = dt.timedelta(seconds=self.rules.followup_window_s)
        if since is None or (trigger and now - since >= window) or (
                now - since > window + dt.timedelta(seconds=self.rules.followup_max_s)):  # not part of that chain
            since = now
        await self.repo.plan_followup(conn, vin, R.followup_read_at(obs, now, since, self.rules), since)

    async def _wait_for_read(self, vin: str, started: dt.datetime) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            async with self.db.read() as conn:
                st = await self.repo.vehicle_state(conn, vin)
            if st is None or st["read_lease_until"] is None or (st["last_read_at"] and st["last_read_at"] >= started):
                return

    async def _read(self, connection_id: str, region: str, vehicle_id: str, vin: str, has_open: bool, day: str,
                    now: dt.datetime) -> R.Observation | ReadFailure:
        """vehicle_data with the §3.2 step 6 policy; one data unit is already reserved."""
        attempts = 3 if has_open else 1
        woke = region_retried = auth_retried = False
        attempt = 0
        reserved = True
        while attempt < attempts:
            if not reserved:
                async with self.db.transaction() as conn:
                    if not await self.repo.reserve(conn, vin, day, "data", self.budget.data_per_day):
                        return ReadFailure("budget")
                reserved = True
            try:
                token = await self.tokens.access_token(connection_id, force_refresh=auth_retried)
            except TokenExpired:
                await self._refund(vin, day, "data")
                return ReadFailure("token_expired")
            except TeslaDown:
                await self._refund(vin, day, "data")
                return ReadFailure("poll_failed")
            try:
                data = await self.tesla.vehicle_data(token, region, vehicle_id, now=self.clock.now())
                return R.Observation.from_vehicle_data(data, self.clock.now())
            except TeslaError as exc:
                reserved = False
                if not exc.sent or exc.status >= 500:
                    await self._refund(vin, day, "data")
                if exc.status == 401 and not auth_retried:
                    auth_retried = True
                    continue
                if exc.status == 421 and not region_retried:
                    region_retried = True
                    try:
                        region = await self.tesla.user_region(token, region)
                    except TeslaError:
                        return ReadFailure("poll_failed")
                    async with self.db.transaction() as conn:
                        await self.repo.set_region(conn, connection_id, region)
                    continue
                if exc.status == 401:
                    return ReadFailure("token_expired")
                if exc.asleep:
                    if not has_open:
                        return ReadFailure("asleep")
                    attempt += 1
                    if attempt >= attempts:
                        return ReadFailure("asleep")
                    if not woke:
                        woke = await self._wake(token, region, vehicle_id, vin, day)
                    await self.clock.sleep(self.wake_retry_s)
                    continue
                if exc.rate_limited:
                    until = self.clock.now() + dt.timedelta(seconds=exc.retry_after_s or 60)
                    async with self.db.transaction() as conn:
                        self.repo.cache.changed(conn, vin=vin)
                        await conn.execute(sa.update(vs).where(vs.c.vin == vin).values(rate_limited_until=until))
                    return ReadFailure("rate_limited")
                if exc.vehicle_unavailable:
                    return ReadFailure("vehicle_unavailable")
                return ReadFailure("poll_failed")
        return ReadFailure("poll_failed")

    async def _wake(self, token: str, region: str, vehicle_id: str, vin: str, day: str) -> bool:
        """At most one wake per 10 min per VIN, within the daily wake budget; never without a session."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            res = await conn.execute(sa.update(vs).where(
                vs.c.vin == vin, sa.or_(vs.c.last_wake_at.is_(None), vs.c.last_wake_at <= now - self.budget.wake_every)
            ).values(last_wake_at=now))
            if res.rowcount != 1:
                return False
            if not await self.repo.reserve(conn, vin, day, "wake", self.budget.wakes_per_day):
                await conn.execute(sa.update(vs).where(vs.c.vin == vin).values(last_wake_at=None))
                return False
        try:
            await self.tesla.wake_up(token, region, vehicle_id)
        except TeslaError as exc:
            if not exc.sent or exc.status >= 500:
                await self._refund(vin, day, "wake")
            return False
        return True

    async def _refund(self, vin: str, day: str, category: str) -> None:
        async with self.db.transaction() as conn:
            await self.repo.refund(conn, vin, day, category)

    async def _failed(self, failure: ReadFailure, vin: str, owner: str, now: dt.datetime,
                      request_path: bool) -> dict[str, Any]:
        ended: Applied | None = None
        async with self.db.transaction() as conn:
            await self.repo.release_read_lease(conn, vin, owner, last_read_at=now)
            open_ = await self.repo.open_session(conn, vin)
            if open_ is not None and failure.kind not in ("rate_limited", "budget") and R.is_stale(
                    open_["last_observed_at"], now, self.rules):
                ended = await self.engine.end(conn, open_, "stale_cleanup", now)
        if ended is not None and ended.session is not None:
            return await self._answer(ended, None, now, request_path)
        if failure.kind in ("rate_limited", "budget"):
            return await self._cached(vin, now)
        if failure.kind == "asleep" and open_ is None:
            return {"session_active": False, "vehicle_asleep": True, "recommended_interval_s": 300}
        if failure.kind == "token_expired":
            return {"session_active": False, "error": "token_expired"}
        if failure.kind == "vehicle_unavailable":
            return {"session_active": False, "error": "vehicle_unavailable"}
        return {"session_active": False, "error": "poll_failed"}

    async def _answer(self, applied: Applied, obs: R.Observation | None, now: dt.datetime,
                      request_path: bool) -> dict[str, Any]:
        s = applied.session
        if applied.kind == "ended" and s is not None:
            granted, amount = False, 0
            if applied.emitted and request_path and self.dispatch_now is not None:
                granted, amount = await self.dispatch_now(s["id"])
            return {"session_active": False, "session_id": s["id"], "duration_minutes": s["duration_minutes"],
                    "kwh_delivered": s["kwh_delivered"], "session_ended": True, "incentive_granted": granted,
                    "incentive_amount_cents": amount}
        if s is not None and s["session_end"] is None and applied.kind != "suppressed":
            out = self._charging(s, obs, now, cached=False)
            if applied.kind == "reopened":
                out["session_reopened"] = True
            return out
        out: dict[str, Any] = {"session_active": False, "recommended_interval_s": 300}
        if obs is not None and obs.battery_level is not None:
            out["battery_level"] = obs.battery_level
        return out

    def _charging(self, s: dict[str, Any], obs: R.Observation | None, now: dt.datetime, cached: bool,
                  state: dict[str, Any] | None = None, state_keys: tuple[str, ...] = _ANSWER_STATE
                  ) -> dict[str, Any]:
        """The open session's answer, from an observation or else from the VIN state (``state``, read
        with ``state_keys``: the ``_ANSWER_STATE`` columns under these names)."""
        if obs is not None:
            mtf = R.minutes_to_full(obs)
            charging = obs.klass == R.CHARGING
            battery, power, cable = obs.battery_level, obs.charger_power, obs.conn_charge_cable
            brand, volts, amps = obs.fast_charger_brand, obs.charger_voltage, obs.charger_actual_current
        else:
            charging_state, mtf, battery, power, cable, brand, volts, amps = map((state or {}).get, state_keys)
            charging = R.classify(charging_state) == R.CHARGING
        start = s["session_start"]
        return {"session_active": True, "session_id": s["id"],
                "duration_minutes": R.duration_minutes(start, max(now, start)),
                "kwh_delivered": s["kwh_delivered"], "cached": cached, "telemetry_mode": False,
                "recommended_interval_s": R.recommended_interval_s(charging, mtf), "minutes_to_full": mtf,
                "battery_level": battery, "charger_power_kw": power, "conn_charge_cable": cable,
                "fast_charger_brand": brand, "charger_voltage": volts, "charger_actual_current": amps}

    def _cached_from_context(self, ctx: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        """The dedup hit: answered from the poll's one read, no further round trip."""
        sid = ctx.get("s_id")
        if sid is not None:
            s = {"id": sid, "session_start": ctx["s_session_start"], "kwh_delivered": ctx["s_kwh_delivered"]}
            return self._charging(s, None, now, cached=True, state=ctx, state_keys=_ANSWER_CTX)
        return {"session_active": False, "cached": True, "recommended_interval_s": 300,
                "battery_level": ctx["vs_battery_level"]}

    async def _cached(self, vin: str, now: dt.datetime, telemetry: bool = False) -> dict[str, Any]:
        async with self.db.read() as conn:
            s = await self.repo.open_session(conn, vin)
            st = await self.repo.vehicle_state(conn, vin) or {}
        if s is not None:
            out = self._charging(s, None, now, cached=True, state=st)
            out["telemetry_mode"] = telemetry
            return out
        out = {"session_active": False, "cached": True, "recommended_interval_s": 300,
               "battery_level": st.get("battery_level")}
        if telemetry:
            out["telemetry_mode"] = True
        return out

    # ------------------------------------------------------------------ jobs
    async def scheduler_tick(self, batch: int = 50, max_batches: int = 20, concurrency: int = 8) -> int:
        """Poll due open sessions by ``session.vin`` (reselection orphans none), then due scheduled-start
        reads; failures isolated. Claims batches until nothing is due (bounded), each polled with
        bounded concurrency, so a large fleet is not served 50 sessions per tick (ADR 0070)."""
        await self.clock.sync()
        now = self.clock.now()
        done = 0
        for _ in range(max_batches):
            async with self.db.transaction() as conn:
                due = await self.repo.claim_due(conn, sa.and_(cs.c.session_end.is_(None), cs.c.next_poll_at <= now),
                                                now, 120, batch, order_by=cs.c.next_poll_at)
            done += sum(await _bounded(concurrency, [self._scheduled_poll(s, now) for s in due]))
            if len(due) < batch:
                break
        for _ in range(max_batches):
            due_reads = await self._claim_reads(now, batch)
            done += sum(await _bounded(concurrency, [self._scheduled_read(r, now) for r in due_reads]))
            if len(due_reads) < batch:
                break
        return done

    async def _scheduled_poll(self, s: dict[str, Any], now: dt.datetime) -> int:
        try:
            async with self.db.read() as conn:
                row = (await conn.execute(
                    sa.select(tc.c.id, tc.c.region, vt.c.tesla_vehicle_id)
                    .select_from(tc.join(vt, vt.c.connection_id == tc.c.id))
                    .where(tc.c.driver_id == s["driver_id"], tc.c.status == "active", vt.c.vin == s["vin"])
                    .limit(1))).first()
            if row is None:
                raise LookupError("no active connection for the session's vehicle")
            await self.read_and_apply(s["driver_id"], row.id, row.region, row.tesla_vehicle_id, s["vin"],
                                      None, now, request_path=False)
            return 1
        except Exception:  # noqa: BLE001 — one vehicle's failure never stops the batch
            log.exception("scheduled poll failed", extra={"session_id": s["id"]})
            async with self.db.transaction() as conn:
                await self.repo.update_session(conn, s["id"], {"next_poll_at": now + dt.timedelta(minutes=3)})
            return 0
        finally:
            async with self.db.transaction() as conn:
                await self.repo.update_session(conn, s["id"], {"poll_lease_until": None}, open_only=False)

    async def _claim_reads(self, now: dt.datetime, batch: int) -> list[dict[str, Any]]:
        """Claim due ``vehicle_states.next_read_at`` (a pending scheduled start, or a follow-up read of a
        plugged-in, stopped car, ADR 0072) of claimed VINs: the
        claim clears the column (conditional), so two replicas never read the same car for it."""
        async with self.db.transaction() as conn:
            pick = (sa.select(vs.c.vin, tc.c.driver_id, tc.c.id.label("connection_id"), tc.c.region,
                              vt.c.tesla_vehicle_id)
                    .select_from(vs.join(vt, sa.and_(vt.c.vin == vs.c.vin, vt.c.claim_active.is_(True)))
                                 .join(tc, sa.and_(tc.c.id == vt.c.connection_id, tc.c.status == "active")))
                    .where(vs.c.next_read_at <= now).order_by(vs.c.next_read_at).limit(batch))
            if self.db.is_postgres:
                pick = pick.with_for_update(of=vs, skip_locked=True)
            rows = [dict(r._mapping) for r in await conn.execute(pick)]
            claimed = []
            for r in rows:
                res = await conn.execute(sa.update(vs).where(vs.c.vin == r["vin"], vs.c.next_read_at <= now)
                                         .values(next_read_at=None))
                if res.rowcount == 1:
                    claimed.append(r)
            return claimed

    async def _scheduled_read(self, r: dict[str, Any], now: dt.datetime) -> int:
        try:
            await self.read_and_apply(r["driver_id"], r["connection_id"], r["region"], r["tesla_vehicle_id"],
                                      r["vin"], None, now, request_path=False)
            return 1
        except Exception:  # noqa: BLE001 — one vehicle's failure never stops the batch
            log.exception("scheduled read failed", extra={"vin_tail": r["vin"][-4:]})
            return 0

    async def close_stale(self, batch: int = 100) -> int:
        await self.clock.sync()
        now = self.clock.now()
        cutoff = now - dt.timedelta(minutes=self.rules.stale_minutes)
        max_age = now - dt.timedelta(hours=self.rules.max_session_hours)
        n = 0
        async with self.db.transaction() as conn:
            rows = await self.repo.claim_due(conn, sa.and_(cs.c.session_end.is_(None), sa.or_(
                cs.c.last_observed_at <= cutoff, cs.c.session_start <= max_age)), now, 60, batch)
            for s in rows:
                reason = "max_duration" if s["session_start"] <= max_age else "stale_cleanup"
                res = await self.engine.end(conn, s, reason, now)
                n += 1 if res.session is not None else 0
        return n

    async def settle(self, batch: int = 100) -> int:
        """Emit unreopened ``stale_cleanup`` ends once their reopen window has passed."""
        await self.clock.sync()
        now = self.clock.now()
        n = 0
        async with self.db.transaction() as conn:
            pick = sa.select(cs).where(cs.c.emitted_at.is_(None), cs.c.settle_at.is_not(None),
                                       cs.c.settle_at <= now, cs.c.session_end.is_not(None)).limit(batch)
            if self.db.is_postgres:
                pick = pick.with_for_update(skip_locked=True)
            for r in list(await conn.execute(pick)):
                res = await conn.execute(sa.update(cs).where(cs.c.id == r.id, cs.c.emitted_at.is_(None),
                                                             cs.c.session_end.is_not(None))
                                         .values(emitted_at=now, settle_at=None))
                if res.rowcount == 1:
                    await self.engine.emit(conn, dict(r._mapping), now)
                    n += 1
        return n
