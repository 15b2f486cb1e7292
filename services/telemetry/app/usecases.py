"""Telemetry use cases: open a unit of work, load, apply rules, save (+ outbox in the same transaction)."""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import pathlib
import secrets
import time
import uuid
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlencode

import jwt
import sqlalchemy as sa

from kit import auth as kauth
from kit import errors
from kit.db import Database
from services.telemetry.adapters.crypto import TokenCipher
from services.telemetry.adapters.pollcache import PollCache
from services.telemetry.adapters.repository import ConnectionWrites, TelemetryRepository, new_id
from services.telemetry.adapters.tables import vehicle_states as vs
from services.telemetry.adapters.tesla import TeslaClient, TeslaError
from services.telemetry.app.push import PushIngest, PushSettings
from services.telemetry.app.sessions import Budget, SessionEngine, SessionService
from services.telemetry.app.tokens import TeslaDown, TokenExpired, TokenService
from services.telemetry.domain import evcodes
from services.telemetry.domain import sessions as R
from services.telemetry.domain import vin as vindec
from services.telemetry.domain.connection import TeslaStatus

log = logging.getLogger("telemetry.usecases")
TESLA_ISS = "https://auth.tesla.com/oauth2/v3/nts"
STATE_TTL = dt.timedelta(minutes=10)
DOMAIN = "telemetry.nerava"
POLL_CACHE_MAX_S = 3.0  # ADR 0085; POLL_CACHE_MAX_S in the environment, 0 disables


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def not_connected(http_status: int = 400, message: str = "No active Tesla connection") -> errors.FailedPrecondition:
    return errors.FailedPrecondition(message, reason="TESLA_NOT_CONNECTED", http_status=http_status)


def reauth_required() -> errors.FailedPrecondition:
    return errors.FailedPrecondition("Tesla session expired. Please reconnect your Tesla account.",
                                     reason="TESLA_REAUTH_REQUIRED", http_status=401)


def tesla_unavailable(message: str = "Tesla is unavailable, please try again") -> errors.Unavailable:
    return errors.Unavailable(message, reason="TESLA_UNAVAILABLE", http_status=502)


def valid_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


@dataclasses.dataclass
class Settings:
    client_id: str
    api_base_url: str
    driver_app_url: str
    jwt_secret: str
    webhook_enabled: bool = False
    telemetry_hostname: str = "telemetry.nerava.network"
    telemetry_ca: str = ""
    push_enabled: bool = False  # NATS_URL set or the webhook on: T10 enrols vehicles
    telemetry_hmac_secret: str = ""


class JwksCache:
    """Tesla's JWKS: cached 1 h; an unknown ``kid`` refetches at most once a minute."""

    def __init__(self, tesla: TeslaClient) -> None:
        self.tesla = tesla
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0
        self._refetch_after = 0.0

    async def key(self, kid: str | None):
        now = time.monotonic()
        if not self._keys or now - self._fetched > 3600 or (kid not in self._keys and now >= self._refetch_after):
            body = await self.tesla.jwks()
            self._keys = {k.get("kid"): jwt.PyJWK(k).key for k in body.get("keys", []) if k.get("kty") == "RSA"}
            self._fetched = now
            self._refetch_after = now + 60
        if kid not in self._keys:
            raise errors.InvalidArgument("Invalid id_token", reason="ID_TOKEN_INVALID")
        return self._keys[kid]


class TelemetryUseCases:
    def __init__(self, db: Database, *, clock, cipher: TokenCipher, tesla: TeslaClient, settings: Settings,
                 rules: R.Rules | None = None, budget: Budget | None = None, vin_hash_key: str = "dev-vin-hash-key",
                 wake_retry_s: float = 5.0, dispatch_now=None, push: PushSettings | None = None,
                 poll_cache_max_s: float = POLL_CACHE_MAX_S) -> None:
        self.db, self.clock, self.cipher, self.tesla, self.settings = db, clock, cipher, tesla, settings
        self.rules = rules or R.Rules()
        # ADR 0085: the poll's in-process dedup cache, told about every local write by the repositories
        self.poll_cache = PollCache(poll_cache_max_s)
        if self.poll_cache.enabled:
            self.poll_cache.attach(db.engine)
        self.repo = TelemetryRepository(db, self.poll_cache)
        self.connections = self.repo  # the original T1 name
        self.writes = ConnectionWrites(db, self.poll_cache)
        self.tokens = TokenService(db, self.repo, self.writes, cipher, tesla, clock)
        self.engine = SessionEngine(db, self.repo, self.rules, vin_hash_key)
        self.sessions = SessionService(db, self.repo, self.engine, self.tokens, tesla, clock, self.rules,
                                       budget or Budget(), wake_retry_s, dispatch_now)
        self.jwks = JwksCache(tesla)
        self.push = PushIngest(db, self.repo, self.engine, clock, push)

    def set_dispatch_now(self, fn) -> None:
        self.sessions.dispatch_now = fn
        self.push.dispatch_now = fn

    async def _now(self) -> dt.datetime:
        await self.clock.sync()
        return self.clock.now()

    # ------------------------------------------------------------------ T1
    async def tesla_status(self, driver_id: str) -> TeslaStatus:
        """T1: stored state, refreshed by at most one ``vehicle_data`` per VIN per 15 min (never a
        wake; the read goes through the poll path, so dedup, lease and budget apply). A failed read
        falls back to the last observation, never an error."""
        now = await self._now()
        async with self.db.read() as conn:
            ctx = await self.repo.poll_context(conn, driver_id)
        if (ctx is not None and ctx["status"] == "active" and ctx["vin"]
                and (ctx["vs_last_read_at"] is None or now - ctx["vs_last_read_at"] >= dt.timedelta(minutes=15))):
            try:
                await self.sessions.read_and_apply(driver_id, ctx["connection_id"], ctx["region"],
                                                   ctx["tesla_vehicle_id"], ctx["vin"], ctx, now, request_path=False)
            except Exception:  # noqa: BLE001 — T1 never fails because Tesla did
                log.warning("T1 live read failed; using the last observation", exc_info=True)
        async with self.db.read() as conn:
            return await self.repo.status(conn, driver_id)

    # ------------------------------------------------------------------ OAuth (T2, T3, T7, T8)
    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.api_base_url.rstrip('/')}/v1/auth/tesla/callback"

    async def create_authorize_url(self, purpose: str, driver_id: str | None) -> tuple[str, str]:
        now = await self._now()
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        nonce = secrets.token_urlsafe(16)
        challenge = _b64u(hashlib.sha256(verifier.encode()).digest())
        async with self.db.transaction() as conn:
            await self.repo.insert_state(conn, {"state": state, "purpose": purpose, "driver_id": driver_id,
                                                "verifier_enc": self.cipher.encrypt(verifier), "nonce": nonce,
                                                "created_at": now, "expires_at": now + STATE_TTL})
        url = self.tesla.authorize_url(state=state, challenge=challenge, nonce=nonce, redirect_uri=self.redirect_uri)
        return url, state

    async def handle_callback(self, code: str, state: str, error: str = "") -> str:
        if not state or (not code and not error):
            raise errors.InvalidArgument("code and state are required")
        now = await self._now()
        async with self.db.read() as conn:
            row = await self.repo.peek_state(conn, state, now)
        if row is None:
            raise errors.InvalidArgument("Invalid or expired state", reason="INVALID_STATE")
        app = self.settings.driver_app_url.rstrip("/")
        if row["purpose"] == "login":
            return f"{app}/tesla-callback?" + urlencode({"code": code, "state": state})
        async with self.db.transaction() as conn:
            if not await self.repo.consume_state(conn, state, "connect", now):
                raise errors.InvalidArgument("Invalid or expired state", reason="INVALID_STATE")
        if error:
            return f"{app}/tesla-connected?error=connection_failed"
        try:
            await self._connect(row["driver_id"], code, row, select_single=True)
        except Exception:  # noqa: BLE001 — any failure after the state was accepted is a redirect
            log.warning("tesla connect failed", exc_info=True)
            return f"{app}/tesla-connected?error=connection_failed"
        return f"{app}/tesla-connected?success=true"

    async def _connect(self, driver_id: str, code: str, state_row: dict[str, Any], select_single: bool):
        verifier = self.cipher.decrypt(state_row["verifier_enc"])
        tokens = await self.tesla.exchange_code(code, verifier, self.redirect_uri)
        if not tokens.id_token:
            raise errors.InvalidArgument("Tesla did not return an id_token", reason="NO_ID_TOKEN")
        claims = await self.verify_id_token(tokens.id_token, state_row["nonce"])
        region = await self.tesla.user_region(tokens.access_token, "na")
        items = await self.tesla.list_vehicles(tokens.access_token, region)
        now = self.clock.now()
        values = {"region": region, "access_token_enc": self.cipher.encrypt(tokens.access_token),
                  "refresh_token_enc": self.cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None,
                  "access_expires_at": now + dt.timedelta(seconds=tokens.expires_in or 3600),
                  "tesla_sub": claims.get("sub"), "email": claims.get("email")}
        vehicles = [self._vehicle_values(i) for i in items]
        async with self.db.transaction() as conn:
            cid = await self.writes.upsert_connection(conn, driver_id, values, now)
            rows = await self.writes.sync_vehicles(conn, cid, vehicles, now)
            selected = next((r for r in rows if r["selected"]), None)
            keep = selected is not None and selected["vin"] and not await self.repo.vin_claimed_elsewhere(
                conn, selected["vin"], cid)
            if keep:
                await self.writes.select(conn, cid, selected["id"])
                await self.repo.ensure_vehicle_state(conn, selected["vin"])
            else:
                await self.repo.release_claims(conn, cid)
                if select_single and len(rows) == 1 and rows[0]["vin"] and not await self.repo.vin_claimed_elsewhere(
                        conn, rows[0]["vin"], cid):
                    await self.writes.select(conn, cid, rows[0]["id"])
                    await self.repo.ensure_vehicle_state(conn, rows[0]["vin"])
        return cid, claims, items

    @staticmethod
    def _vehicle_values(item: dict[str, Any]) -> dict[str, Any]:
        vin = item.get("vin")
        model, year = vindec.decode(vin)
        return {"tesla_vehicle_id": str(item.get("id_s") or item.get("id")), "vin": vin,
                "display_name": item.get("display_name"), "model": vindec.display_model(vin), "year": year,
                "color": item.get("color")}

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise errors.InvalidArgument("Invalid id_token", reason="ID_TOKEN_INVALID") from None
        try:
            key = await self.jwks.key(header.get("kid"))
        except TeslaError:
            raise tesla_unavailable() from None
        # exp/iat/nbf are judged against the service clock, not PyJWT's wall clock: in mock mode the
        # virtual clock may run ahead of (iat "in the future") or behind (exp "past") the wall clock
        try:
            claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=self.settings.client_id,
                                issuer=TESLA_ISS, options={"require": ["exp", "iss", "aud", "sub"],
                                                           "verify_exp": False, "verify_iat": False,
                                                           "verify_nbf": False})
        except jwt.PyJWTError:
            raise errors.InvalidArgument("Invalid id_token", reason="ID_TOKEN_INVALID") from None
        now, leeway = self.clock.now().timestamp(), 60
        try:
            expired = float(claims["exp"]) < now - leeway
            immature = any(float(claims.get(k, now)) > now + leeway for k in ("iat", "nbf"))
        except (TypeError, ValueError):
            expired = immature = True
        if expired or immature:
            raise errors.InvalidArgument("Invalid id_token", reason="ID_TOKEN_INVALID")
        if claims.get("nonce") != nonce:
            raise errors.InvalidArgument("Invalid id_token", reason="ID_TOKEN_INVALID")
        return claims

    async def tesla_login(self, code: str, state: str) -> dict[str, Any]:
        if not code or not state:
            raise errors.InvalidArgument("code and state are required")
        now = await self._now()
        async with self.db.transaction() as conn:
            row = await self.repo.peek_state(conn, state, now)
            if row is None:
                raise errors.InvalidArgument("Invalid or expired state", reason="INVALID_STATE")
            if row["purpose"] != "login":
                raise errors.InvalidArgument("State not valid for login flow", reason="WRONG_STATE_PURPOSE")
            if not await self.repo.consume_state(conn, state, "login", now):
                raise errors.InvalidArgument("Invalid or expired state", reason="INVALID_STATE")
        try:
            verifier = self.cipher.decrypt(row["verifier_enc"])
            tokens = await self.tesla.exchange_code(code, verifier, self.redirect_uri)
        except TeslaError as exc:
            if exc.transient or exc.status == 429:
                raise tesla_unavailable("Tesla login failed, please try again") from None
            raise errors.InvalidArgument("Tesla login failed: the authorization code was refused") from None
        if not tokens.id_token:
            raise errors.InvalidArgument("Tesla did not return an id_token", reason="NO_ID_TOKEN")
        claims = await self.verify_id_token(tokens.id_token, row["nonce"])
        sub = str(claims["sub"])
        async with self.db.transaction() as conn:
            ident = await self.repo.identity(conn, sub)
            if ident is None:
                await self.repo.insert_identity(conn, {"tesla_sub": sub, "driver_id": new_id(),
                                                       "email": claims.get("email"),
                                                       "display_name": claims.get("name"), "created_at": now})
                ident = await self.repo.identity(conn, sub)
        driver_id = ident["driver_id"]
        try:
            region = await self.tesla.user_region(tokens.access_token, "na")
            items = await self.tesla.list_vehicles(tokens.access_token, region)
        except TeslaError:
            raise tesla_unavailable("Tesla login failed, please try again") from None
        values = {"region": region, "access_token_enc": self.cipher.encrypt(tokens.access_token),
                  "refresh_token_enc": self.cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None,
                  "access_expires_at": now + dt.timedelta(seconds=tokens.expires_in or 3600),
                  "tesla_sub": sub, "email": claims.get("email")}
        async with self.db.transaction() as conn:
            cid = await self.writes.upsert_connection(conn, driver_id, values, now)
            await self.writes.sync_vehicles(conn, cid, [self._vehicle_values(i) for i in items], now)
        secret = self.settings.jwt_secret
        email = ident.get("email")
        return {
            "access_token": kauth.mint(secret, driver_id, ["driver"], email=email),
            "refresh_token": kauth.mint(secret, driver_id, ["driver"], ttl_s=30 * 24 * 3600, email=email),
            "token_type": "bearer",
            "user": {"public_id": driver_id, "auth_provider": "tesla", "email": email,
                     "display_name": ident.get("display_name")},
            "vehicles": [self._vehicle_values(i) | {"id": str(i.get("id_s") or i.get("id"))} for i in items],
        }

    async def disconnect(self, driver_id: str) -> None:
        """T4 (idempotent): erase tokens, release claims, end open sessions ``disconnected``."""
        now = await self._now()
        async with self.db.transaction() as conn:
            await self.writes.disconnect(conn, driver_id, now)
            for s in await self.repo.open_sessions_of_driver(conn, driver_id):
                await self.engine.end(conn, s, "disconnected", now)

    # ------------------------------------------------------------------ vehicles (T9, ListVehicles)
    async def _active_connection(self, driver_id: str, http_status: int = 400) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await self.repo.driver_connection(conn, driver_id)
        if row is None:
            raise not_connected(http_status)
        if row["status"] != "active":
            raise reauth_required()
        return row

    async def _access_token(self, connection_id: str) -> str:
        """A usable Tesla access token, or the request-path errors the spec maps them to."""
        try:
            return await self.tokens.access_token(connection_id)
        except TokenExpired:
            raise reauth_required() from None
        except TeslaDown:
            raise tesla_unavailable() from None

    async def _moved_region(self, connection_id: str, token: str, region: str) -> str:
        """A 421 (wrong region): ask Tesla for the account's region and keep it (telemetry §4)."""
        try:
            region = await self.tesla.user_region(token, region)
        except TeslaError:
            raise tesla_unavailable() from None
        async with self.db.transaction() as conn:
            await self.repo.set_region(conn, connection_id, region)
        return region

    async def _live_vehicles(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        token = await self._access_token(row["id"])
        region = row["region"]
        for _ in range(2):
            try:
                return await self.tesla.list_vehicles(token, region)
            except TeslaError as exc:
                if exc.status == 421:
                    region = await self._moved_region(row["id"], token, region)
                    continue
                if exc.status == 401:
                    raise reauth_required() from None
                raise tesla_unavailable() from None
        raise tesla_unavailable()

    async def list_vehicles(self, driver_id: str) -> tuple[list[dict[str, Any]], str | None]:
        await self._now()
        row = await self._active_connection(driver_id)
        items = [self._vehicle_values(i) | {"id": str(i.get("id_s") or i.get("id"))}
                 for i in await self._live_vehicles(row)]
        async with self.db.read() as conn:
            sel = await self.repo.selected_vehicle(conn, row["id"])
        return items, sel["tesla_vehicle_id"] if sel else None

    async def select_vehicle(self, driver_id: str, vehicle_id: str) -> dict[str, Any]:
        if not vehicle_id or not vehicle_id.strip():
            raise errors.InvalidArgument("vehicle_id is required")
        now = await self._now()
        row = await self._active_connection(driver_id)
        items = await self._live_vehicles(row)
        item = next((i for i in items if str(i.get("id_s") or i.get("id")) == vehicle_id.strip()), None)
        if item is None:
            raise errors.NotFound("Vehicle not found on this Tesla account", reason="VEHICLE_NOT_FOUND")
        values = self._vehicle_values(item)
        conflict = errors.AlreadyExists("Vehicle is linked to another Nerava account", reason="VIN_CLAIMED",
                                        http_status=409)
        try:
            async with self.db.transaction() as conn:
                rows = await self.writes.sync_vehicles(conn, row["id"], [self._vehicle_values(i) for i in items], now)
                target = next(r for r in rows if r["tesla_vehicle_id"] == values["tesla_vehicle_id"])
                if target["vin"] and await self.repo.vin_claimed_elsewhere(conn, target["vin"], row["id"]):
                    raise conflict
                await self.writes.select(conn, row["id"], target["id"])
                if target["vin"]:
                    await self.repo.ensure_vehicle_state(conn, target["vin"])
        except sa.exc.IntegrityError:
            raise conflict from None  # a racing claim of the same VIN won the unique index
        return {"id": values["tesla_vehicle_id"], "vin": values["vin"], "display_name": values["display_name"],
                "model": values["model"]}

    # ------------------------------------------------------------------ sessions (T11–T14, T16, T17)
    def poll(self, driver_id: str, lat: float | None, lng: float | None) -> Awaitable[dict[str, Any]]:
        """T13: the session service's coroutine itself (no wrapper frame on the hot path)."""
        return self.sessions.poll(driver_id, lat, lng)

    async def end_session(self, driver_id: str, session_id: str) -> dict[str, Any]:
        if not valid_uuid(session_id):
            raise errors.NotFound("Active session not found")
        now = await self._now()
        async with self.db.transaction() as conn:
            s = await self.repo.session(conn, session_id)
            if s is None or s["driver_id"] != driver_id or s["session_end"] is not None:
                raise errors.NotFound("Active session not found")
            res = await self.engine.end(conn, s, "manual", now)
        if res.emitted and self.sessions.dispatch_now is not None:
            await self.sessions.dispatch_now(session_id)
        async with self.db.read() as conn:
            return await self.repo.session_view(conn, session_id)

    async def force_close(self, session_id: str, note: str) -> tuple[dict[str, Any], bool]:
        if not valid_uuid(session_id):
            raise errors.NotFound("Session not found")
        now = await self._now()
        async with self.db.transaction() as conn:
            s = await self.repo.session(conn, session_id)
            if s is None:
                raise errors.NotFound("Session not found")
            ended = False
            if s["session_end"] is None:
                res = await self.engine.end(conn, s, "admin_force_close", now, note=note or None)
                ended = res.emitted
        async with self.db.read() as conn:
            return await self.repo.session_view(conn, session_id), ended

    async def list_sessions(self, driver_id: str, limit: int | None, offset: int | None):
        limit = 50 if limit is None else limit
        offset = 0 if offset is None else offset
        if not 1 <= limit <= 100:
            raise errors.InvalidArgument("limit must be between 1 and 100")
        if offset < 0:
            raise errors.InvalidArgument("offset must be >= 0")
        async with self.db.read() as conn:
            return await self.repo.list_sessions(conn, driver_id, limit, offset)

    async def active_session(self, driver_id: str):
        now = await self._now()
        async with self.db.read() as conn:
            s = await self.repo.latest_open_for_driver(conn, driver_id)
        if s is not None and s["next_poll_at"] is None and R.is_stale(s["last_observed_at"], now, self.rules):
            async with self.db.transaction() as conn:
                cur = await self.repo.session(conn, s["id"])
                if cur is not None and cur["session_end"] is None:
                    await self.engine.end(conn, cur, "stale_cleanup", now)
            s = None
            async with self.db.read() as conn:
                s = await self.repo.latest_open_for_driver(conn, driver_id)
        async with self.db.read() as conn:
            last = await self.repo.last_closed_for_driver(conn, driver_id, now - dt.timedelta(minutes=5))
        return s, last

    async def get_session(self, driver_id: str, session_id: str):
        if not valid_uuid(session_id):
            raise errors.NotFound("Session not found")
        async with self.db.read() as conn:
            s = await self.repo.session_view(conn, session_id)
        if s is None or s["driver_id"] != driver_id:
            raise errors.NotFound("Session not found")
        return s

    async def background_ping(self, driver_id: str, lat: float | None, lng: float | None) -> dict[str, Any]:
        if lat is None or lng is None:
            raise errors.InvalidArgument("lat and lng are required")
        if not R.valid_point(lat, lng):
            raise errors.InvalidArgument("lat/lng out of range")
        now = await self._now()
        async with self.db.read() as conn:
            ctx = await self.repo.poll_context(conn, driver_id)
        if ctx is not None and ctx["vin"]:
            sid = await self.sessions.add_trail_point(ctx["vin"], driver_id, lat, lng, now)
            if sid is not None:
                return {"matched": True, "session_active": True, "session_id": sid, "already_active": True}
        async with self.db.read() as conn:
            charger = await self.repo.nearest_charger(conn, lat, lng, self.rules.ping_radius_m)
        if charger is None:
            return {"matched": False}
        if ctx is None or ctx["status"] != "active":
            return {"matched": True, "session_active": False, "reason": "no_tesla_connection"}
        if not ctx["vin"]:
            return {"matched": True, "session_active": False, "reason": "no_vehicle_selected"}
        res = await self.sessions.poll(driver_id, None, None)
        return {"matched": True, "session_active": bool(res.get("session_active")),
                "session_id": res.get("session_id") if res.get("session_active") else None,
                "charger_id": charger["id"], "charger_name": charger["name"]}

    # ------------------------------------------------------------------ internal RPCs
    async def find_overlapping(self, driver_id: str, t1: dt.datetime, t2: dt.datetime, session_id: str | None):
        if not driver_id:
            raise errors.InvalidArgument("driver_id is required")
        if t1 > t2:
            raise errors.InvalidArgument("t1 must not be after t2")
        if session_id is not None and not valid_uuid(session_id):
            return []
        now = await self._now()
        async with self.db.read() as conn:
            return await self.repo.overlapping(conn, driver_id, t1, t2, now, session_id)

    async def get_charger(self, charger_id: str) -> dict[str, Any]:
        if not charger_id:
            raise errors.InvalidArgument("charger_id is required")
        async with self.db.read() as conn:
            c = await self.repo.charger(conn, charger_id)
        if c is None:
            raise errors.NotFound("Charger not found")
        return c

    async def list_chargers(self, search: str, network: str, state: str, limit: int | None, offset: int | None):
        limit = 500 if limit is None else limit
        offset = 0 if offset is None else offset
        if not 1 <= limit <= 2000:
            raise errors.InvalidArgument("limit must be between 1 and 2000")
        if offset < 0:
            raise errors.InvalidArgument("offset must be >= 0")
        now = await self._now()
        async with self.db.read() as conn:
            return await self.repo.browse_chargers(conn, search.strip(), network.strip(), state.strip(), limit,
                                                   offset, now - dt.timedelta(days=30))

    async def charger_utilization(self, charger_ids: list[str], since_days: int | None):
        days = 30 if since_days is None else since_days
        if not 1 <= days <= 90:
            raise errors.InvalidArgument("since_days must be between 1 and 90")
        ids = [p.strip() for raw in charger_ids for p in raw.split(",") if p.strip()]
        now = await self._now()
        async with self.db.read() as conn:
            util = await self.repo.utilization(conn, ids or None, now - dt.timedelta(days=days))
        if ids:
            return [{"charger_id": i, **util.get(i, {"total_sessions": 0, "unique_drivers": 0,
                                                      "avg_duration_minutes": 0.0})} for i in ids]
        return [{"charger_id": k, **v} for k, v in sorted(util.items())]

    async def apply_grant_status(self, grant_id: str, session_id: str, campaign_id: str, amount_cents: int,
                                 status: str, granted_at: dt.datetime | None) -> bool:
        if not grant_id or not session_id or not campaign_id:
            raise errors.InvalidArgument("grant_id, session_id and campaign_id are required")
        if status not in ("granted", "clawed_back"):
            raise errors.InvalidArgument("status must be granted or clawed_back")
        if not valid_uuid(session_id):
            return False
        now = await self._now()
        async with self.db.transaction() as conn:
            if await self.repo.session(conn, session_id) is None:
                return False
            return await self.repo.apply_grant(conn, {"session_id": session_id, "grant_id": grant_id,
                                                      "campaign_id": campaign_id, "amount_cents": amount_cents,
                                                      "status": status, "granted_at": granted_at, "updated_at": now})

    # ------------------------------------------------------------------ EV codes (T5, T6)
    async def verify_charging(self, driver_id: str, lat: float | None, lng: float | None,
                              merchant_place_id: str | None, merchant_name: str | None,
                              charger_id: str | None) -> dict[str, Any]:
        now = await self._now()
        row = await self._active_connection(driver_id)
        merchant = None
        if merchant_place_id:
            async with self.db.read() as conn:
                merchant = await self.repo.merchant(conn, merchant_place_id)
        too_far = errors.FailedPrecondition("You need to be near the merchant to get a code",
                                            reason="TOO_FAR_FROM_MERCHANT")
        if merchant is not None and R.valid_point(lat, lng):
            if R.haversine_m(lat, lng, merchant["lat"], merchant["lng"]) > 500:  # type: ignore[arg-type]
                raise too_far
        async with self.db.transaction() as conn:
            await self.repo.expire_codes(conn, now, driver_id, merchant_place_id, only_pair=True)
            existing = await self.repo.active_code(conn, driver_id, merchant_place_id, now)
        if existing is not None:
            return {"is_charging": True, "battery_level": existing["battery_level"],
                    "charge_rate_kw": existing["charge_rate_kw"], "ev_code": existing["code"],
                    "message": "Charging verified. Show this code to the merchant."}
        obs = await self._verify_read(row, driver_id, now)
        if merchant is not None and obs.lat is not None and obs.lng is not None:
            if R.haversine_m(obs.lat, obs.lng, merchant["lat"], merchant["lng"]) > 500:
                raise too_far
        if obs.klass != R.CHARGING:
            return {"is_charging": False, "battery_level": obs.battery_level, "charge_rate_kw": None,
                    "ev_code": None, "message": "Your vehicle is not charging right now."}
        rate = int(round(obs.charger_power)) if obs.charger_power is not None else None
        for _ in range(evcodes.MAX_RETRIES):
            code = evcodes.new_code()
            try:
                async with self.db.transaction() as conn:
                    inserted = await self.repo.insert_code(conn, {
                        "id": new_id(), "code": code, "driver_id": driver_id, "merchant_place_id": merchant_place_id,
                        "merchant_name": merchant_name, "charger_id": charger_id, "status": "active",
                        "charge_rate_kw": rate, "battery_level": obs.battery_level,
                        "lat": obs.lat, "lng": obs.lng, "created_at": now,
                        "expires_at": now + dt.timedelta(seconds=evcodes.TTL_S)})
                    if not inserted:
                        existing = await self.repo.active_code(conn, driver_id, merchant_place_id, now)
            except sa.exc.IntegrityError:
                inserted, existing = False, None
            if inserted:
                return {"is_charging": True, "battery_level": obs.battery_level, "charge_rate_kw": rate,
                        "ev_code": code, "message": "Charging verified. Show this code to the merchant."}
            if existing is not None:  # a racing request for the same (driver, merchant) won
                return {"is_charging": True, "battery_level": existing["battery_level"],
                        "charge_rate_kw": existing["charge_rate_kw"], "ev_code": existing["code"],
                        "message": "Charging verified. Show this code to the merchant."}
        raise errors.Aborted("Could not allocate an EV code, please retry")

    async def _verify_read(self, row: dict[str, Any], driver_id: str, now: dt.datetime) -> R.Observation:
        """T5 step 4: selected vehicle, ≤ 1 wake, retries on 408/null state, 25 s deadline."""
        async with self.db.read() as conn:
            sel = await self.repo.selected_vehicle(conn, row["id"])
        if sel is None:
            items = [i for i in await self._live_vehicles(row) if i.get("state") == "online"]
            if not items:
                raise tesla_unavailable("No online vehicle found on this Tesla account")
            sel = {"tesla_vehicle_id": str(items[0].get("id_s") or items[0].get("id")), "vin": items[0].get("vin")}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 25
        woke = False
        token = await self._access_token(row["id"])
        region = row["region"]
        while loop.time() < deadline:
            try:
                data = await self.tesla.vehicle_data(token, region, sel["tesla_vehicle_id"], now=self.clock.now())
                obs = R.Observation.from_vehicle_data(data, self.clock.now())
                if obs.charging_state is None:
                    await self.clock.sleep(1)
                    continue
                if sel.get("vin"):
                    async with self.db.transaction() as conn:
                        await self.repo.ensure_vehicle_state(conn, sel["vin"])
                        await self.repo.store_observation(conn, sel["vin"], obs, self.clock.now(), None)
                return obs
            except TeslaError as exc:
                if exc.status == 408:
                    if not woke:
                        woke = True
                        try:
                            await self.tesla.wake_up(token, region, sel["tesla_vehicle_id"])
                        except TeslaError:
                            pass
                    await self.clock.sleep(5)
                    continue
                if exc.status == 429:
                    await self.clock.sleep(min(exc.retry_after_s or 10, 30))
                    continue
                if exc.status == 421:
                    region = await self._moved_region(row["id"], token, region)
                    continue
                if exc.status == 401:
                    raise reauth_required() from None
                raise tesla_unavailable() from None
        raise tesla_unavailable("Your vehicle did not answer in time")

    async def list_ev_codes(self, driver_id: str):
        now = await self._now()
        async with self.db.read() as conn:
            return await self.repo.list_codes(conn, driver_id, now)

    # ------------------------------------------------------------------ T10
    async def configure_telemetry(self, driver_id: str) -> str:
        if not (self.settings.webhook_enabled or self.settings.push_enabled):
            raise errors.Unavailable("Fleet Telemetry is disabled", reason="TELEMETRY_DISABLED", http_status=503)
        await self._now()
        row = await self._active_connection(driver_id, http_status=404)
        async with self.db.read() as conn:
            sel = await self.repo.selected_vehicle(conn, row["id"])
        if sel is None or not sel["vin"]:
            raise errors.FailedPrecondition("No vehicle selected", reason="NO_VIN")
        token = await self._access_token(row["id"])
        body = {"vins": [sel["vin"]], "config": {
            "hostname": self.settings.telemetry_hostname, "port": 443, "ca": self.settings.telemetry_ca or "-",
            "alert_types": ["service"],
            "fields": {**{k: {"interval_seconds": 30} for k in ("DetailedChargeState", "ACChargingPower",
                                                                 "DCChargingPower", "ChargePortDoorOpen")},
                       **{k: {"interval_seconds": 60} for k in ("BatteryLevel", "ACChargingEnergyIn",
                                                                 "DCChargingEnergyIn", "Location")},
                       **{k: {"interval_seconds": 300} for k in ("FastChargerPresent", "FastChargerType")}}}}
        try:
            await self.tesla.fleet_telemetry_config(token, row["region"], body)
        except TeslaError as exc:
            if exc.status == 401:
                raise reauth_required() from None
            raise tesla_unavailable() from None
        return sel["vin"]

    # ------------------------------------------------------------------ seed data, expiry
    async def seed_chargers(self, path: str | pathlib.Path) -> int:
        data = json.loads(pathlib.Path(path).read_text()) if str(path).endswith(".json") else _csv(path)
        chargers = data.get("chargers", []) if isinstance(data, dict) else data
        merchants = data.get("merchants", []) if isinstance(data, dict) else []
        async with self.db.transaction() as conn:
            n = await self.repo.upsert_chargers(conn, chargers)
            await self.repo.upsert_merchants(conn, merchants)
        return n

    async def expire(self) -> int:
        now = await self._now()
        from services.telemetry.adapters.tables import tesla_oauth_states as st
        async with self.db.transaction() as conn:
            n = await self.repo.expire_codes(conn, now)
            await conn.execute(sa.delete(st).where(st.c.expires_at < now - dt.timedelta(hours=1)))
        return n


def _csv(path) -> list[dict[str, Any]]:
    import csv

    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            item: dict[str, Any] = dict(row)
            for k in ("lat", "lng", "power_kw", "pricing_per_kwh"):
                if item.get(k):
                    item[k] = float(item[k])
            if item.get("num_evse"):
                item["num_evse"] = int(item["num_evse"])
            item["connector_types"] = [c for c in (item.get("connector_types") or "").split("|") if c]
            item["is_public"] = str(item.get("is_public", "true")).lower() in ("1", "true", "yes")
            out.append(item)
    return out


__all__ = ["TelemetryUseCases", "Settings", "vs"]
