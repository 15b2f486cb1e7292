"""The Tesla Fleet API stand-in's world: virtual clock, accounts, vehicles, OAuth grants, billing.

Everything is evaluated lazily: before each request the world is advanced to the virtual "now"
(script steps due by then are applied in order, charging power is integrated between them, idle cars
fall asleep). Nothing here does I/O; ``simulators.tesla.app`` is the HTTP surface.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import secrets
import time
from typing import Any

UTC = dt.timezone.utc
PACK_KWH = 75.0
SLEEP_AFTER_S = 600.0
WAKE_DELAY_S = 10.0
CODE_TTL_S = 600.0
ACCESS_TTL_S = 28800
DATA_PER_MINUTE = 60
WAKES_PER_MINUTE = 3
# micro-dollars per billed request (status < 500): data 500 per $1, wakes 50 per $1, commands 1000
# per $1, streaming 150,000 signals per $1 (billed per record here).
PRICE_MICRO = {"data": 2000, "wake": 20000, "command": 1000, "streaming": 7}
REGIONS = ("na", "eu", "cn")
ISSUER = "https://auth.tesla.com/oauth2/v3/nts"


class VirtualClock:
    """Virtual time: ``now = base_virtual + (monotonic - base_real) * speed`` unless frozen."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._base_real = time.monotonic()
        self._base_virtual = dt.datetime.now(UTC)
        self.frozen = False
        self.speed = 1.0

    def now(self) -> dt.datetime:
        if self.frozen:
            return self._base_virtual
        return self._base_virtual + dt.timedelta(seconds=(time.monotonic() - self._base_real) * self.speed)

    def set(self, *, now: dt.datetime | None = None, frozen: bool | None = None,
            speed: float | None = None) -> None:
        current = now or self.now()
        self._base_virtual, self._base_real = current, time.monotonic()
        if frozen is not None:
            self.frozen = frozen
        if speed is not None:
            if speed <= 0:
                raise ValueError("speed must be > 0")
            self.speed = speed

    def advance(self, seconds: float) -> dt.datetime:
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self.set(now=self.now() + dt.timedelta(seconds=seconds))
        return self.now()

    def as_dict(self) -> dict[str, Any]:
        return {"now": iso(self.now()), "frozen": self.frozen, "speed": self.speed}


def iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(value: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@dataclasses.dataclass
class Account:
    id: str
    email: str
    name: str
    region: str = "na"
    revoked: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "name": self.name, "region": self.region,
                "revoked": self.revoked}


@dataclasses.dataclass
class Step:
    due: dt.datetime
    action: str
    params: dict[str, Any]
    seq: int


@dataclasses.dataclass
class PlugIn:
    """Ground truth for one plug-in (``GET /_sim/sessions``)."""

    vin: str
    plugged_at: dt.datetime
    lat: float
    lng: float
    dc: bool
    unplugged_at: dt.datetime | None = None
    segments: list[list[dt.datetime | None]] = dataclasses.field(default_factory=list)
    kwh: float = 0.0
    soc_start: float = 0.0
    soc_end: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        starts = [s[0] for s in self.segments]
        ends = [s[1] for s in self.segments if s[1] is not None]
        return {"vin": self.vin, "plugged_at": iso(self.plugged_at), "unplugged_at": iso(self.unplugged_at),
                "first_charging_at": iso(starts[0]) if starts else None,
                "last_charging_at": iso(ends[-1]) if ends and self.segments[-1][1] is not None else None,
                "segments": [{"start": iso(a), "end": iso(b)} for a, b in self.segments],
                "kwh": round(self.kwh, 4), "lat": self.lat, "lng": self.lng, "dc": self.dc,
                "soc_start": round(self.soc_start, 2), "soc_end": round(self.soc_end, 2)}


@dataclasses.dataclass
class Vehicle:
    id: int
    vin: str
    account: str
    display_name: str
    car_type: str = "model3"
    year: int = 2022
    color: str = "PearlWhite"
    lat: float = 0.0
    lng: float = 0.0
    battery: float = 50.0
    state: str = "asleep"  # online | asleep | offline
    in_service: bool = False
    charge_limit_soc: int = 90
    last_activity: dt.datetime | None = None
    wake_at: dt.datetime | None = None
    offline_until: dt.datetime | None = None
    # charging
    charging_state: str = "Disconnected"
    plugged: bool = False
    scheduled_start: dt.datetime | None = None  # scheduled charging: plugged, Stopped until then
    dc: bool = False
    power_kw: float = 0.0
    requested_power_kw: float = 0.0
    fast_charger_type: str | None = None
    cable: str | None = None
    energy_added: float = 0.0
    energy_dc: bool = False  # the counter Fleet Telemetry reports (AC/DCChargingEnergyIn) for the last plug-in
    null_state_reads: int = 0
    steps: list[Step] = dataclasses.field(default_factory=list)
    plugin: PlugIn | None = None
    updated_to: dt.datetime | None = None

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "id_s": str(self.id), "vehicle_id": self.id + 1000, "vin": self.vin,
                "display_name": self.display_name, "state": self.state, "in_service": self.in_service,
                "access_type": "OWNER", "color": None, "calendar_enabled": True, "api_version": 71}

    @property
    def charging(self) -> bool:
        return self.charging_state in ("Charging", "Starting")


class SimError(Exception):
    def __init__(self, status: int, error: str, description: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}


_INITIAL: list[tuple[str, Any]] = []


def _initial_key() -> tuple[str, Any]:
    """The first signing key, generated once per process (RSA generation is slow); rotation makes new ones."""
    if not _INITIAL:
        from cryptography.hazmat.primitives.asymmetric import rsa

        _INITIAL.append((secrets.token_hex(8), rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    return _INITIAL[0]


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class World:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.clock = VirtualClock()
        self._keys: list[tuple[str, Any]] = [_initial_key()]
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.vehicles: dict[str, Vehicle] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.access: dict[str, dict[str, Any]] = {}
        self.refresh: dict[str, dict[str, Any]] = {}
        self.dead_refresh: set[str] = set()
        self.faults: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.billing: dict[str, dict[str, int]] = {}
        self.sessions: list[PlugIn] = []
        self.rate: dict[tuple[int, str, int], int] = {}
        self.data_per_minute = DATA_PER_MINUTE  # per vehicle; 0 = no limit (TESLA_SIM_DATA_PER_MINUTE)
        self.telemetry_configs: dict[str, dict[str, Any]] = {}
        self.telemetry = TelemetrySink()
        self.authorize_account: str | None = None
        self._next_id = 1492931520123456
        self._seq = 0

    def rotate_keys(self) -> str:
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = secrets.token_hex(8)
        self._keys = [(kid, key), *self._keys[:1]]  # the previous key stays published once
        return kid

    def clock_moved(self) -> None:
        """After the clock was set backwards, nothing may lie in the future of ``now``."""
        now = self.clock.now()
        for v in self.vehicles.values():
            if v.updated_to is not None and v.updated_to > now:
                v.updated_to = now
            if v.last_activity is not None and v.last_activity > now:
                v.last_activity = now

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self._keys:
            nums = key.public_key().public_numbers()
            keys.append({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                         "n": _b64u(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
                         "e": _b64u(nums.e.to_bytes(3, "big"))})
        return {"keys": keys}

    def seed_demo(self) -> None:
        self.add_account({"id": "demo", "email": "demo@nerava.network", "name": "Demo Driver", "region": "na"})
        self.add_vehicle({"account": "demo", "vin": "5YJ3E1EA1NF000001", "display_name": "Demo Model Y",
                          "car_type": "modely", "year": 2022, "color": "MidnightSilver",
                          "lat": 30.3979, "lng": -97.7044, "battery": 65, "state": "asleep"})

    def add_account(self, body: dict[str, Any]) -> Account:
        acc_id = str(body.get("id") or secrets.token_hex(4))
        region = body.get("region", "na")
        if region not in REGIONS:
            raise SimError(400, "invalid_region", f"region must be one of {REGIONS}")
        acc = Account(acc_id, body.get("email") or f"{acc_id}@example.com", body.get("name") or acc_id, region)
        self.accounts[acc_id] = acc
        return acc

    def add_vehicle(self, body: dict[str, Any]) -> Vehicle:
        account = str(body.get("account", ""))
        if account not in self.accounts:
            raise SimError(400, "unknown_account", account)
        vin = str(body.get("vin") or "")
        if len(vin) != 17:
            raise SimError(400, "invalid_vin", "vin must have 17 characters")
        now = self.clock.now()
        self._next_id += 1
        v = Vehicle(id=self._next_id, vin=vin, account=account,
                    display_name=body.get("display_name") or "Tesla",
                    car_type=body.get("car_type", "model3"), year=int(body.get("year", 2022)),
                    color=body.get("color", "PearlWhite"), lat=float(body.get("lat", 0.0)),
                    lng=float(body.get("lng", 0.0)), battery=float(body.get("battery", 50)),
                    state=body.get("state", "asleep"), last_activity=now, updated_to=now)
        if v.state not in ("online", "asleep", "offline"):
            raise SimError(400, "invalid_state", v.state)
        self.vehicles[vin] = v
        return v

    def patch_vehicle(self, vin: str, body: dict[str, Any]) -> Vehicle:
        v = self.vehicle_by_vin(vin)
        self.advance()
        for key in ("display_name", "car_type", "color", "state", "in_service"):
            if key in body:
                setattr(v, key, body[key])
        for key in ("lat", "lng", "battery"):
            if key in body:
                setattr(v, key, float(body[key]))
        if "year" in body:
            v.year = int(body["year"])
        if "charge_limit_soc" in body:
            v.charge_limit_soc = int(body["charge_limit_soc"])
        if v.state == "online":
            v.last_activity = self.clock.now()
        return v

    def vehicle_by_vin(self, vin: str) -> Vehicle:
        v = self.vehicles.get(vin)
        if v is None:
            raise SimError(404, "not_found", "vehicle not found")
        return v

    def add_script(self, vin: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        v = self.vehicle_by_vin(vin)
        self.advance(vin)
        now = self.clock.now()
        out = []
        for s in steps:
            action = s.get("action")
            if action not in ACTIONS:
                raise SimError(400, "invalid_action", str(action))
            self._seq += 1
            step = Step(now + dt.timedelta(seconds=float(s.get("after_s", 0))), action,
                        dict(s.get("params") or {}), self._seq)
            v.steps.append(step)
            out.append({"due": iso(step.due), "action": action})
        v.steps.sort(key=lambda st: (st.due, st.seq))
        self.advance(vin)
        return out

    # ------------------------------------------------------------------ simulation
    def advance(self, vin: str | None = None) -> None:
        """Bring the world (or one vehicle: vehicles are independent) up to the virtual now."""
        now = self.clock.now()
        if vin is not None:
            v = self.vehicles.get(vin)
            if v is not None:
                self._advance_vehicle(v, now)
            return
        for v in self.vehicles.values():
            self._advance_vehicle(v, now)

    def advance_streaming(self) -> None:
        """Vehicles advance lazily, except those streaming Fleet Telemetry: their records are due as
        the clock moves, whether or not anyone looks at the car."""
        if self.telemetry.config is None:
            return
        now = self.clock.now()
        for v in self.vehicles.values():
            if self.telemetry.fields_for(v.vin, self.telemetry_configs) is not None:
                self._advance_vehicle(v, now)

    def _advance_vehicle(self, v: Vehicle, now: dt.datetime) -> None:
        fields = self.telemetry.fields_for(v.vin, self.telemetry_configs)
        while v.steps and v.steps[0].due <= now:
            step = v.steps.pop(0)
            self._run_emitting(v, step.due, fields, before_step=True)
            self._apply(v, step)
            if fields is not None:
                self.telemetry.emit(v, step.due, fields)
        self._run_emitting(v, now, fields)

    def _run_emitting(self, v: Vehicle, until: dt.datetime, fields: dict[str, float] | None,
                      before_step: bool = False) -> None:
        """Integrate to ``until``; a vehicle streaming Fleet Telemetry also emits at each 30 s tick
        (a tick at a step's instant is emitted once, after the step, with the step's changes)."""
        if fields is None or v.updated_to is None:
            self._run_until(v, until)
            return
        tick_s = TelemetrySink.TICK_S
        epoch = v.updated_to.timestamp()
        tick = dt.datetime.fromtimestamp((epoch // tick_s + 1) * tick_s, UTC)
        while tick < until or (tick == until and not before_step):
            self._run_until(v, tick)
            self.telemetry.emit(v, tick, fields)
            tick += dt.timedelta(seconds=tick_s)
        self._run_until(v, until)

    def _run_until(self, v: Vehicle, until: dt.datetime) -> None:
        t = v.updated_to if v.updated_to is not None and v.updated_to <= until else until
        guard = 0
        while t < until:
            guard += 1
            nxt = until
            # state timers inside the interval
            if v.offline_until is not None and v.offline_until <= nxt:
                nxt = max(t, v.offline_until)
            if v.wake_at is not None and v.wake_at <= nxt:
                nxt = max(t, v.wake_at)
            if v.scheduled_start is not None and v.scheduled_start <= nxt:
                nxt = max(t, v.scheduled_start)
            if v.state == "online" and not v.charging and v.last_activity is not None:
                sleep_at = v.last_activity + dt.timedelta(seconds=SLEEP_AFTER_S)
                if sleep_at <= nxt:
                    nxt = max(t, sleep_at)
            if v.charging and v.power_kw > 0:
                kwh_to_limit = max(0.0, (v.charge_limit_soc - v.battery) / 100 * PACK_KWH)
                full_at = t + dt.timedelta(hours=kwh_to_limit / v.power_kw)
                if full_at <= nxt:
                    nxt = max(t, full_at)
            if guard > 50:
                nxt = until
            self._integrate(v, t, nxt)
            t = nxt
            self._timers(v, t)
        self._timers(v, until)
        v.updated_to = until

    def _integrate(self, v: Vehicle, a: dt.datetime, b: dt.datetime) -> None:
        if not v.charging or v.power_kw <= 0 or b <= a:
            return
        kwh = v.power_kw * (b - a).total_seconds() / 3600
        kwh = min(kwh, max(0.0, (v.charge_limit_soc - v.battery) / 100 * PACK_KWH))
        v.energy_added += kwh
        v.battery = min(100.0, v.battery + kwh / PACK_KWH * 100)
        if v.plugin is not None:
            v.plugin.kwh += kwh
            v.plugin.soc_end = v.battery

    def _timers(self, v: Vehicle, t: dt.datetime) -> None:
        if v.offline_until is not None and v.offline_until <= t:
            v.offline_until = None
            v.state = "online" if v.plugged else "asleep"
            v.last_activity = t
        if v.wake_at is not None and v.wake_at <= t:
            v.wake_at = None
            if v.state == "asleep":
                v.state = "online"
                v.last_activity = t
        if (v.state == "online" and not v.charging and v.last_activity is not None
                and v.last_activity + dt.timedelta(seconds=SLEEP_AFTER_S) <= t):
            v.state = "asleep"
        if v.scheduled_start is not None and v.scheduled_start <= t:
            v.scheduled_start = None
            if v.plugged and v.charging_state == "Stopped" and v.battery < v.charge_limit_soc:
                self._set_charging(v, "Charging", t)
                self._wake_for_charging(v, t)
        if v.charging and v.battery >= v.charge_limit_soc - 1e-9:
            self._set_charging(v, "Complete", t)

    @staticmethod
    def _wake_for_charging(v: Vehicle, t: dt.datetime) -> None:
        """Charging starts (scheduled or resumed) wake a sleeping car, as plugging in does."""
        if v.state == "asleep":
            v.state, v.wake_at = "online", None
        v.last_activity = t

    def _set_charging(self, v: Vehicle, state: str, t: dt.datetime) -> None:
        was = v.charging
        v.charging_state = state
        v.power_kw = v.requested_power_kw if v.charging else 0.0
        if v.plugin is not None:
            if v.charging and not was:
                v.plugin.segments.append([t, None])
            elif was and not v.charging and v.plugin.segments:
                v.plugin.segments[-1][1] = t
        v.last_activity = t  # any charge-state change keeps the car awake for the idle period

    def _apply(self, v: Vehicle, step: Step) -> None:
        t, p = step.due, step.params
        a = step.action
        if a == "drive_to":
            v.lat, v.lng = float(p.get("lat", v.lat)), float(p.get("lng", v.lng))
            if v.state != "offline":
                v.state, v.last_activity = "online", t
        elif a == "plug_in":
            if v.plugged:
                return
            v.plugged, v.dc = True, bool(p.get("dc", False))
            v.requested_power_kw = float(p.get("power_kw", 150.0 if v.dc else 11.0))
            v.fast_charger_type = p.get("fast_charger_type") or ("Tesla" if v.dc else "<invalid>")
            v.cable = p.get("cable") or ("IEC" if v.dc else "SAE")
            v.energy_added = 0.0
            v.energy_dc = v.dc
            v.plugin = PlugIn(v.vin, t, v.lat, v.lng, v.dc, soc_start=v.battery, soc_end=v.battery)
            self.sessions.append(v.plugin)
            if v.state != "offline":
                v.state = "online"
            v.last_activity = t
            if p.get("scheduled_start_s") is not None and v.battery < v.charge_limit_soc:
                # scheduled charging: plugged in, Stopped with a pending start (Tesla's StartAt mode)
                v.scheduled_start = t + dt.timedelta(seconds=float(p["scheduled_start_s"]))
                self._set_charging(v, "Stopped", t)
            else:
                self._set_charging(v, "Charging" if v.battery < v.charge_limit_soc else "Complete", t)
        elif a in ("start", "resume"):
            if v.plugged and v.battery < v.charge_limit_soc:
                if "power_kw" in p:
                    v.requested_power_kw = float(p["power_kw"])
                v.scheduled_start = None
                self._set_charging(v, "Charging", t)
                self._wake_for_charging(v, t)
        elif a == "stop":
            if v.plugged:
                self._set_charging(v, "Stopped", t)
        elif a == "no_power":
            if v.plugged:
                self._set_charging(v, "NoPower", t)
        elif a == "unplug":
            if v.plugged:
                self._set_charging(v, "Disconnected", t)
                v.plugged, v.fast_charger_type, v.cable, v.dc = False, None, None, False
                v.scheduled_start = None
                if v.plugin is not None:
                    v.plugin.unplugged_at = t
                    v.plugin = None
                v.last_activity = t
        elif a == "sleep":
            if not v.charging and v.state == "online":
                v.state = "asleep"
        elif a == "offline":
            v.state = "offline"
            v.offline_until = t + dt.timedelta(seconds=float(p.get("duration_s", 600)))
        elif a == "null_state_reads":
            v.null_state_reads = int(p.get("count", 1))
        elif a == "set_limit":
            v.charge_limit_soc = int(p.get("charge_limit_soc", 90))

    # ------------------------------------------------------------------ OAuth
    def authorize(self, q: dict[str, str]) -> str:
        if q.get("client_id") != self.client_id:
            raise SimError(400, "unauthorized_client", "unknown client_id")
        redirect = q.get("redirect_uri", "")
        if not redirect.startswith(("http://", "https://")) or not redirect.split("?")[0].endswith(
                "/v1/auth/tesla/callback"):
            raise SimError(400, "invalid_redirect_url", "redirect_uri is not registered")
        if q.get("response_type") != "code":
            raise SimError(400, "unsupported_response_type", "")
        if q.get("code_challenge_method", "S256") != "S256" or not q.get("code_challenge"):
            raise SimError(400, "invalid_request", "PKCE S256 code_challenge required")
        account = self._account_for(q.get("login_hint"))
        code = "sim-code-" + secrets.token_urlsafe(24)
        self.codes[code] = {"account": account.id, "redirect_uri": redirect,
                            "challenge": q["code_challenge"], "nonce": q.get("nonce"),
                            "scope": q.get("scope", ""), "expires": self.clock.now() + dt.timedelta(seconds=CODE_TTL_S)}
        return code

    def _account_for(self, hint: str | None) -> Account:
        if hint:
            for acc in self.accounts.values():
                if hint in (acc.id, acc.email):
                    return acc
            raise SimError(400, "unknown_account", "login_hint matches no account")
        if self.authorize_account and self.authorize_account in self.accounts:
            return self.accounts[self.authorize_account]
        if not self.accounts:
            raise SimError(400, "no_accounts", "the simulator has no accounts")
        return next(iter(self.accounts.values()))

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        grant = form.get("grant_type")
        if form.get("client_id") != self.client_id:
            raise SimError(400, "unauthorized_client", "unknown client_id")
        if grant == "authorization_code":
            if form.get("client_secret") not in (None, "", self.client_secret):
                raise SimError(400, "unauthorized_client", "bad client_secret")
            grant_ = self.codes.pop(form.get("code", ""), None)
            if grant_ is None or grant_["expires"] < self.clock.now():
                raise SimError(400, "invalid_auth_code", "code unknown, used or expired")
            if form.get("redirect_uri") != grant_["redirect_uri"]:
                raise SimError(400, "invalid_redirect_url", "redirect_uri mismatch")
            verifier = form.get("code_verifier", "")
            if _b64u(hashlib.sha256(verifier.encode()).digest()) != grant_["challenge"]:
                raise SimError(400, "invalid_auth_code", "PKCE verification failed")
            return self._issue(grant_["account"], grant_["scope"], grant_["nonce"])
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            info = self.refresh.pop(rt, None)
            if info is None:
                raise SimError(401, "login_required", "refresh token is invalid, used or revoked")
            self.dead_refresh.add(rt)
            acc = self.accounts.get(info["account"])
            if acc is None or acc.revoked:
                raise SimError(401, "login_required", "consent revoked")
            return self._issue(info["account"], info["scope"], None)
        raise SimError(400, "unsupported_grant_type", str(grant))

    def _issue(self, account_id: str, scope: str, nonce: str | None) -> dict[str, Any]:
        import jwt

        acc = self.accounts[account_id]
        now = self.clock.now()
        at = "sim-at-" + secrets.token_urlsafe(32)
        rt = f"{acc.region.upper()}_" + secrets.token_urlsafe(32)
        scopes = set(scope.split())
        self.access[at] = {"account": account_id, "scopes": scopes,
                           "expires": now + dt.timedelta(seconds=ACCESS_TTL_S)}
        self.refresh[rt] = {"account": account_id, "scope": scope}
        kid, key = self._keys[0]
        claims = {"iss": ISSUER, "aud": self.client_id, "sub": account_id, "email": acc.email,
                  "name": acc.name, "iat": int(now.timestamp()), "exp": int(now.timestamp()) + ACCESS_TTL_S}
        if nonce:
            claims["nonce"] = nonce
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        return {"access_token": at, "refresh_token": rt, "id_token": id_token, "token_type": "Bearer",
                "expires_in": ACCESS_TTL_S}

    def revoke(self, account_id: str) -> None:
        acc = self.accounts.get(account_id)
        if acc is None:
            raise SimError(404, "not_found", "account")
        acc.revoked = True
        for store in (self.access, self.refresh):
            for tok in [t for t, i in store.items() if i["account"] == account_id]:
                store.pop(tok)

    def account_for_token(self, authorization: str | None, need_scope: str | None = None) -> Account:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise SimError(401, "invalid bearer token", "")
        info = self.access.get(authorization[7:].strip())
        if info is None or info["expires"] < self.clock.now():
            raise SimError(401, "token expired (401)" if info else "invalid bearer token", "")
        acc = self.accounts.get(info["account"])
        if acc is None or acc.revoked:
            raise SimError(401, "invalid bearer token", "")
        if need_scope and need_scope not in info["scopes"]:
            raise SimError(403, "Unauthorized missing scopes", need_scope)
        return acc

    # ------------------------------------------------------------------ billing, limits, faults
    def bill(self, category: str, status: int) -> None:
        if status >= 500:
            return
        b = self.billing.setdefault(category, {"requests": 0, "micro_dollars": 0})
        b["requests"] += 1
        b["micro_dollars"] += PRICE_MICRO[category]

    def rate_check(self, v: Vehicle, category: str) -> None:
        now = self.clock.now()
        minute = int(now.timestamp() // 60)
        limit = self.data_per_minute if category == "data" else WAKES_PER_MINUTE
        if limit <= 0:
            return
        key = (v.id, category, minute)
        if self.rate.get(key, 0) >= limit:
            retry = 60 - int(now.timestamp()) % 60
            raise SimError(429, f"Retry in {retry} seconds", "", {
                "Retry-After": str(retry), "RateLimit-Limit": str(limit), "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(retry)})
        self.rate[key] = self.rate.get(key, 0) + 1
        if len(self.rate) > 10000:
            self.rate = {k: c for k, c in self.rate.items() if k[2] >= minute - 1}

    def take_fault(self, path: str, vin: str | None) -> dict[str, Any] | None:
        for f in self.faults:
            if f["path"] in path and (f.get("vin") in (None, vin)) and f["count"] != 0:
                if f["count"] > 0:
                    f["count"] -= 1
                return f
        return None

    def log(self, method: str, path: str, status: int, category: str | None, vin: str | None) -> None:
        self.requests.append({"ts": iso(self.clock.now()), "method": method, "path": path, "status": status,
                              "category": category, "vin": vin})
        if len(self.requests) > 5000:
            del self.requests[:1000]

    # ------------------------------------------------------------------ Fleet API views
    def vehicle_data(self, v: Vehicle, endpoints: set[str]) -> dict[str, Any]:
        now = self.clock.now()
        v.last_activity = now
        body: dict[str, Any] = {**v.summary()}
        ts = int(now.timestamp() * 1000)
        if not endpoints or "charge_state" in endpoints:
            state: str | None = v.charging_state
            if v.null_state_reads > 0:
                v.null_state_reads -= 1
                state = None
            mins = None
            if v.charging and v.power_kw > 0:
                mins = max(0.0, (v.charge_limit_soc - v.battery) / 100 * PACK_KWH / v.power_kw * 60)
            voltage = (400 if v.dc else 240) if v.charging else 0
            body["charge_state"] = {
                "charging_state": state, "battery_level": int(round(v.battery)),
                "usable_battery_level": int(v.battery), "charge_limit_soc": v.charge_limit_soc,
                "charge_energy_added": round(v.energy_added, 2),
                "charger_power": int(round(v.power_kw)) if v.charging else 0,
                "charger_voltage": voltage,
                "charger_actual_current": int(round(v.power_kw * 1000 / voltage)) if voltage else 0,
                "minutes_to_full_charge": int(round(mins)) if mins is not None else 0,
                "time_to_full_charge": round(mins / 60, 2) if mins is not None else 0.0,
                "fast_charger_present": bool(v.plugged and v.dc),
                "fast_charger_type": v.fast_charger_type if v.plugged else "<invalid>",
                "fast_charger_brand": ("Tesla" if v.fast_charger_type == "Tesla" else "<invalid>") if v.dc else "<invalid>",
                "conn_charge_cable": v.cable if v.plugged else "<invalid>",
                "charge_port_door_open": v.plugged, "charge_port_latch": "Engaged" if v.plugged else "Disengaged",
                "scheduled_charging_mode": "StartAt" if v.scheduled_start is not None else "Off",
                "scheduled_charging_pending": v.scheduled_start is not None,
                "scheduled_charging_start_time": (int(v.scheduled_start.timestamp())
                                                  if v.scheduled_start is not None else None),
                "timestamp": ts,
            }
        if not endpoints or "drive_state" in endpoints or "location_data" in endpoints:
            ds: dict[str, Any] = {"shift_state": None, "speed": None, "power": 0, "heading": 90, "timestamp": ts}
            if "location_data" in endpoints:
                ds.update({"latitude": v.lat, "longitude": v.lng, "native_latitude": v.lat,
                           "native_longitude": v.lng, "native_location_supported": 1, "gps_as_of": int(now.timestamp())})
            body["drive_state"] = ds
        if not endpoints or "vehicle_config" in endpoints:
            body["vehicle_config"] = {"car_type": v.car_type, "exterior_color": v.color,
                                      "trim_badging": "74d", "timestamp": ts}
        return body


class TelemetrySink:
    """Fleet Telemetry as the car streams it: on change, per field at most every ``interval_seconds``
    (DetailedChargeState at once), one record per instant with the changed fields, only while the car
    is online. Records queue in ``out`` (``publish_at`` = created + ``delay_s``); the app publishes
    them to NATS and/or POSTs them to T18, applying the duplicate / reorder / forgery knobs."""

    TICK_S = 30.0
    KNOBS = ("duplicate_rate", "reorder_rate", "delay_s", "forge_rate", "garbage_rate", "mismatch_rate")

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None
        self.out: list[dict[str, Any]] = []
        self.last: dict[str, dict[str, tuple[Any, dt.datetime]]] = {}
        self.published = 0
        self.forged = 0

    def configure(self, body: dict[str, Any] | None) -> dict[str, Any] | None:
        if body is None:
            self.config, self.out, self.last = None, [], {}
            return None
        if not body.get("nats_url") and not body.get("url"):
            raise SimError(400, "invalid_request", "nats_url or url is required")
        if body.get("encoding", "protobuf") not in ("protobuf", "protojson", "rest"):
            raise SimError(400, "invalid_request", "encoding must be protobuf, protojson or rest")
        cfg = {"nats_url": body.get("nats_url"), "namespace": body.get("namespace", "tesla_telemetry"),
               "url": body.get("url"), "hmac_secret": body.get("hmac_secret", ""),
               "encoding": body.get("encoding", "protobuf"), "vins": list(body.get("vins") or []),
               "seed": int(body.get("seed", 1))}
        for knob in self.KNOBS:
            value = float(body.get(knob, 0) or 0)
            if value < 0 or (knob.endswith("_rate") and value > 1):
                raise SimError(400, "invalid_request", f"{knob} out of range")
            cfg[knob] = value
        self.config = cfg
        return cfg

    def fields_for(self, vin: str, configs: dict[str, dict[str, Any]]) -> dict[str, float] | None:
        """The vehicle's streamed fields → interval (None: not streaming)."""
        if self.config is None:
            return None
        cfg = configs.get(vin)
        if cfg is None and vin not in self.config["vins"]:
            return None
        fields = (cfg or {}).get("fields") or DEFAULT_STREAM_FIELDS
        out = {}
        for key, spec in fields.items():
            interval = spec.get("interval_seconds", 30) if isinstance(spec, dict) else 30
            out[key] = float(interval or 30)
        return out

    @staticmethod
    def snapshot(v: Vehicle) -> dict[str, Any]:
        charging = v.charging
        mins = None
        if charging and v.power_kw > 0:
            mins = max(0.0, (v.charge_limit_soc - v.battery) / 100 * PACK_KWH / v.power_kw * 60)
        snap: dict[str, Any] = {
            "DetailedChargeState": v.charging_state,
            "ACChargingPower": round(v.power_kw, 3) if charging and not v.dc else 0.0,
            "DCChargingPower": round(v.power_kw, 3) if charging and v.dc else 0.0,
            "BatteryLevel": round(v.battery, 2), "Location": {"lat": v.lat, "lng": v.lng},
            "FastChargerPresent": bool(v.plugged and v.dc), "ChargePortDoorOpen": v.plugged,
            "ChargerVoltage": float((400 if v.dc else 240) if charging else 0),
            "TimeToFullCharge": round(mins / 60, 3) if mins is not None else 0.0,
        }
        if v.plugin is not None or v.energy_added > 0:  # the last plug-in's counter stays until the next
            snap["DCChargingEnergyIn" if v.energy_dc else "ACChargingEnergyIn"] = round(v.energy_added, 4)
        if v.plugged:  # charger details only exist while plugged in
            if v.dc and v.fast_charger_type and v.fast_charger_type != "<invalid>":
                snap["FastChargerType"] = {"Tesla": "Supercharger", "CCS": "Combo"}.get(
                    v.fast_charger_type, v.fast_charger_type)
            if v.cable:
                snap["ChargingCableType"] = v.cable
        return snap

    def emit(self, v: Vehicle, at: dt.datetime, fields: dict[str, float]) -> None:
        if v.state != "online" or self.config is None:
            return
        last = self.last.setdefault(v.vin, {})
        data = []
        snap = self.snapshot(v)
        prev_state = last.get("DetailedChargeState")
        state_changed = prev_state is None or prev_state[0] != snap["DetailedChargeState"]
        for key, value in snap.items():
            if key not in fields and not (key == "ChargingCableType" and "ChargePortDoorOpen" in fields):
                continue
            prev = last.get(key)
            if prev is not None and prev[0] == value:
                continue
            if prev is not None and not state_changed and (at - prev[1]).total_seconds() < fields.get(
                    key, self.TICK_S):
                continue
            last[key] = (value, at)
            data.append((key, value))
        if data:
            delay = dt.timedelta(seconds=self.config["delay_s"])
            self.out.append({"vin": v.vin, "created_at": at, "is_resend": False, "data": data,
                             "publish_at": at + delay})

    def due(self, now: dt.datetime) -> list[dict[str, Any]]:
        ready = [r for r in self.out if r["publish_at"] <= now]
        self.out = [r for r in self.out if r["publish_at"] > now]
        return ready


DEFAULT_STREAM_FIELDS = {k: {"interval_seconds": i} for k, i in (
    ("DetailedChargeState", 30), ("ACChargingPower", 30), ("DCChargingPower", 30), ("ChargePortDoorOpen", 30),
    ("BatteryLevel", 60), ("ACChargingEnergyIn", 60), ("DCChargingEnergyIn", 60), ("Location", 60),
    ("FastChargerPresent", 300), ("FastChargerType", 300))}


ACTIONS = frozenset({"drive_to", "plug_in", "start", "stop", "resume", "no_power", "unplug", "sleep",
                     "offline", "null_state_reads", "set_limit"})
