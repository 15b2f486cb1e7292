"""HTTP surface of the Tesla Fleet API simulator (telemetry spec §7)."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections.abc import Awaitable, Callable
from typing import Any
import json
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from simulators.base import health_route
from simulators.tesla.model import PRICE_MICRO, REGIONS, SimError, Vehicle, World, parse_time
from simulators.tesla.sink import TelemetryPublisher

DEFAULT_CLIENT_ID = "nerava-local"
DEFAULT_CLIENT_SECRET = "nerava-local-secret"

SCOPE_FOR = {"data": "vehicle_device_data", "wake": "vehicle_device_data", "command": "vehicle_charging_cmds"}


def ok(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"response": payload}, status_code=status, headers=headers)


def err(e: SimError) -> JSONResponse:
    return JSONResponse({"response": None, "error": e.error, "error_description": e.description},
                        status_code=e.status, headers=e.headers)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise SimError(400, "invalid_json", "body is not JSON") from None
    if not isinstance(body, dict):
        raise SimError(400, "invalid_json", "body must be an object")
    return body


def build_app(world: World | None = None) -> Starlette:
    world = world or World(os.environ.get("TESLA_CLIENT_ID", DEFAULT_CLIENT_ID),
                           os.environ.get("TESLA_CLIENT_SECRET", DEFAULT_CLIENT_SECRET))
    if os.environ.get("TESLA_SIM_SEED", "demo") == "demo":
        world.seed_demo()
    publisher = TelemetryPublisher()
    if os.environ.get("TESLA_SIM_DATA_PER_MINUTE"):  # benchmarks: 0 lifts the per-vehicle data rate limit
        world.data_per_minute = int(os.environ["TESLA_SIM_DATA_PER_MINUTE"])

    def control(fn: Callable[[Request], Awaitable[Any]], advance_all: bool | str = True):
        """``advance_all=False`` for calls that read or change no vehicle's state (vehicles are
        advanced lazily, each when it is next looked at), so a large fleet's clock ticks stay cheap."""
        async def endpoint(request: Request) -> Response:
            everything = advance_all is True or advance_all == request.method
            try:
                if everything:
                    world.advance()
                result = await fn(request)
                if everything:
                    world.advance()
            except SimError as e:
                return err(e)
            except (ValueError, TypeError, KeyError) as e:
                return err(SimError(400, "invalid_request", str(e)))
            if not everything:
                world.advance_streaming()  # streaming cars emit as the clock moves (no-op without a sink)
            await publisher.flush(world)  # Fleet Telemetry records due by now (no-op without a sink)
            return result if isinstance(result, Response) else JSONResponse(result)
        return endpoint

    async def fleet(request: Request, category: str | None, fn: Callable[..., Any], *,
                    tag: str | None = None) -> Response:
        """Common Fleet API path: auth, region, faults, rate limit, billing, request log."""
        path = request.url.path
        vin: str | None = None
        status = 500
        try:
            if tag is None:
                world.advance()
            region = request.path_params.get("region")
            if region not in REGIONS:
                raise SimError(404, "not_found", "unknown region")
            acc = world.account_for_token(request.headers.get("authorization"),
                                          SCOPE_FOR.get(category or "", None))
            v: Vehicle | None = None
            if tag is not None:
                v = next((x for x in world.vehicles.values()
                          if x.account == acc.id and tag in (x.vin, str(x.id))), None)
                vin = v.vin if v else None
                if vin is not None:
                    world.advance(vin)  # vehicles are independent: only this one needs to be current
            fault = world.take_fault(path, vin)
            if fault is not None:
                if fault.get("latency_ms"):
                    await asyncio.sleep(float(fault["latency_ms"]) / 1000)
                fstatus = int(fault.get("status") or 200)
                if fstatus >= 400:
                    headers = {}
                    if fault.get("retry_after_s") is not None:
                        headers["Retry-After"] = str(int(fault["retry_after_s"]))
                    raise SimError(fstatus, fault.get("error") or f"simulated fault {fstatus}", "", headers)
            if "/users/region" not in path and region != acc.region:
                raise SimError(421, f"user out of region, use base URL: {_base(request)}{acc.region}", "")
            if tag is not None and v is None:
                raise SimError(404, "not_found", "vehicle not found")
            if v is not None and category in ("data", "wake"):
                world.rate_check(v, category)
            body = await fn(request, acc, v)
            status = 200
            return body
        except SimError as e:
            status = e.status
            return err(e)
        finally:
            if category:
                world.bill(category, status)
            world.log(request.method, path, status, category, vin)
            await publisher.flush(world)

    # ---------------------------------------------------------------- OAuth
    async def authorize(request: Request) -> Response:
        q = dict(request.query_params)
        try:
            world.advance()
            code = world.authorize(q)
        except SimError as e:
            return err(e)
        sep = "&" if "?" in q["redirect_uri"] else "?"
        params = {"code": code, "state": q.get("state", ""), "issuer": "https://auth.tesla.com/oauth2/v3",
                  "locale": "en-US"}
        return RedirectResponse(q["redirect_uri"] + sep + urlencode(params), status_code=302)

    async def token(request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                form = {k: str(v) for k, v in json.loads(raw or "{}").items()}
            except (ValueError, AttributeError):
                form = {}
        else:
            form = {k: v[0] for k, v in parse_qs(raw).items()}
        try:
            world.advance()
            fault = world.take_fault(request.url.path, None)
            if fault is not None and int(fault.get("status") or 200) >= 400:
                raise SimError(int(fault["status"]), fault.get("error") or "simulated fault", "")
            return JSONResponse(world.token(form))
        except SimError as e:
            return JSONResponse({"error": e.error, "error_description": e.description}, status_code=e.status)

    async def keys(_: Request) -> Response:
        return JSONResponse(world.jwks())

    async def userinfo(request: Request) -> Response:
        try:
            acc = world.account_for_token(request.headers.get("authorization"))
        except SimError as e:
            return err(e)
        return JSONResponse({"email": acc.email, "name": acc.name})

    # ---------------------------------------------------------------- Fleet API
    async def region(request: Request) -> Response:
        async def fn(req, acc, _v):
            return ok({"region": acc.region, "fleet_api_base_url": f"{_base(req)}{acc.region}"})
        return await fleet(request, None, fn)

    async def vehicles(request: Request) -> Response:
        async def fn(_req, acc, _v):
            items = [v.summary() for v in world.vehicles.values() if v.account == acc.id]
            return JSONResponse({"response": items, "count": len(items)})
        return await fleet(request, "data", fn)

    async def vehicle(request: Request) -> Response:
        async def fn(_req, _acc, v):
            return ok(v.summary())
        return await fleet(request, "data", fn, tag=request.path_params["tag"])

    async def vehicle_data(request: Request) -> Response:
        async def fn(req, _acc, v: Vehicle):
            if v.in_service:
                raise SimError(405, "vehicle is currently in service", "")
            if v.state != "online":
                raise SimError(408, "vehicle unavailable: vehicle is offline or asleep", "")
            endpoints = {e for e in req.query_params.get("endpoints", "").split(";") if e}
            return ok(world.vehicle_data(v, endpoints))
        return await fleet(request, "data", fn, tag=request.path_params["tag"])

    async def wake_up(request: Request) -> Response:
        async def fn(_req, _acc, v: Vehicle):
            now = world.clock.now()
            if v.state == "asleep" and v.wake_at is None:
                v.wake_at = now + dt.timedelta(seconds=10)
            elif v.state == "online":
                v.last_activity = now
            return ok(v.summary())
        return await fleet(request, "wake", fn, tag=request.path_params["tag"])

    async def telemetry_config(request: Request) -> Response:
        async def fn(req, acc, _v):
            body = await _json(req)
            vins = body.get("vins")
            cfg = body.get("config") or {}
            if not isinstance(vins, list) or not vins or not isinstance(cfg, dict):
                raise SimError(400, "invalid_request", "vins and config are required")
            for key in ("hostname", "ca", "fields"):
                if not cfg.get(key):
                    raise SimError(400, "invalid_request", f"config.{key} is required")
            if not isinstance(cfg["fields"], dict):
                raise SimError(400, "invalid_request", "config.fields must be an object")
            updated, skipped = 0, []
            for vin in vins:
                v = world.vehicles.get(vin)
                if v is None or v.account != acc.id:
                    skipped.append(vin)
                    continue
                world.telemetry_configs[vin] = cfg
                updated += 1
            return ok({"updated_vehicles": updated, "skipped_vehicles": {"missing_key": [],
                                                                          "unsupported_hardware": [],
                                                                          "unsupported_firmware": skipped}})
        return await fleet(request, "command", fn)

    # ---------------------------------------------------------------- control API
    async def sim_reset(request: Request):
        body = await _json(request)
        world.reset()
        world.clock.reset()
        if body.get("seed", False):
            world.seed_demo()
        return {"status": "reset"}

    async def sim_accounts(request: Request):
        return world.add_account(await _json(request)).as_dict()

    async def sim_account_action(request: Request):
        acc_id, action = request.path_params["id"], request.path_params["action"]
        if acc_id not in world.accounts:
            raise SimError(404, "not_found", "account")
        if action == "revoke":
            world.revoke(acc_id)
        elif action == "region":
            body = await _json(request)
            if body.get("region") not in REGIONS:
                raise SimError(400, "invalid_region", str(body.get("region")))
            world.accounts[acc_id].region = body["region"]
        elif action == "authorize":
            world.authorize_account = acc_id
        else:
            raise SimError(404, "not_found", action)
        return world.accounts[acc_id].as_dict()

    async def sim_vehicles(request: Request):
        if request.method == "GET":
            return {"vehicles": [_vehicle_view(v) for v in world.vehicles.values()]}
        return {**_vehicle_view(world.add_vehicle(await _json(request)))}

    async def sim_vehicle(request: Request):
        vin = request.path_params["vin"]
        if request.method == "GET":
            return _vehicle_view(world.vehicle_by_vin(vin))
        return _vehicle_view(world.patch_vehicle(vin, await _json(request)))

    async def sim_script(request: Request):
        body = await _json(request)
        steps = body.get("steps")
        if not isinstance(steps, list):
            raise SimError(400, "invalid_request", "steps must be a list")
        return {"scheduled": world.add_script(request.path_params["vin"], steps)}

    async def sim_clock(request: Request):
        if request.method == "POST":
            body = await _json(request)
            world.clock.set(now=parse_time(body["now"]) if body.get("now") else None,
                            frozen=body.get("frozen"), speed=body.get("speed"))
            world.clock_moved()
        return world.clock.as_dict()

    async def sim_clock_advance(request: Request):
        body = await _json(request)
        world.clock.advance(float(body.get("seconds", 0)))
        return world.clock.as_dict()

    async def sim_faults(request: Request):
        if request.method == "DELETE":
            world.faults.clear()
            return {"faults": []}
        if request.method == "POST":
            body = await _json(request)
            if not body.get("path") or not body.get("status"):
                raise SimError(400, "invalid_request", "path and status are required")
            world.faults.append({"path": body["path"], "vin": body.get("vin"), "status": int(body["status"]),
                                 "count": int(body.get("count", 1)), "retry_after_s": body.get("retry_after_s"),
                                 "latency_ms": body.get("latency_ms"), "error": body.get("error")})
        return {"faults": world.faults}

    async def sim_billing(_: Request):
        total = sum(b["micro_dollars"] for b in world.billing.values())
        return {"categories": {c: world.billing.get(c, {"requests": 0, "micro_dollars": 0}) for c in PRICE_MICRO},
                "total_micro_dollars": total}

    async def sim_sessions(request: Request):
        vin = request.query_params.get("vin")
        return {"sessions": [s.as_dict() for s in world.sessions if vin in (None, s.vin)]}

    async def sim_requests(request: Request):
        vin = request.query_params.get("vin")
        return {"requests": [r for r in world.requests if vin in (None, r["vin"])]}

    async def sim_telemetry_sink(request: Request):
        """Fleet Telemetry sink: ``{nats_url, namespace, url, hmac_secret, encoding, vins, seed,
        duplicate_rate, reorder_rate, delay_s, forge_rate, garbage_rate, mismatch_rate}``; vehicles
        enrolled with fleet_telemetry_config (or listed in ``vins``) stream records."""
        if request.method == "DELETE":
            world.telemetry.configure(None)
            return {"sink": None}
        if request.method == "POST":
            cfg = world.telemetry.configure(await _json(request))
            publisher.configured(cfg["seed"])
        cfg = world.telemetry.config
        return {"sink": cfg and {k: v for k, v in cfg.items() if k != "hmac_secret"},
                "queued": len(world.telemetry.out), "published": world.telemetry.published}

    async def sim_telemetry_log(_: Request):
        return {"sent": publisher.log, "published": world.telemetry.published}

    async def sim_keys_rotate(_: Request):
        return {"kid": world.rotate_keys()}

    routes = [
        health_route("tesla"),
        Route("/oauth2/v3/authorize", authorize, methods=["GET"]),
        Route("/oauth2/v3/token", token, methods=["POST"]),
        Route("/oauth2/v3/thirdparty/keys", keys, methods=["GET"]),
        Route("/oauth2/v3/discovery/thirdparty/keys", keys, methods=["GET"]),
        Route("/oauth2/v3/userinfo", userinfo, methods=["GET"]),
        Route("/{region}/api/1/users/region", region, methods=["GET"]),
        Route("/{region}/api/1/vehicles", vehicles, methods=["GET"]),
        Route("/{region}/api/1/vehicles/fleet_telemetry_config", telemetry_config, methods=["POST"]),
        Route("/{region}/api/1/vehicles/{tag}", vehicle, methods=["GET"]),
        Route("/{region}/api/1/vehicles/{tag}/vehicle_data", vehicle_data, methods=["GET"]),
        Route("/{region}/api/1/vehicles/{tag}/wake_up", wake_up, methods=["POST"]),
        Route("/_sim/reset", control(sim_reset), methods=["POST"]),
        Route("/_sim/accounts", control(sim_accounts, advance_all=False), methods=["POST"]),
        Route("/_sim/accounts/{id}/{action}", control(sim_account_action), methods=["POST"]),
        Route("/_sim/vehicles", control(sim_vehicles, advance_all="GET"), methods=["GET", "POST"]),
        Route("/_sim/vehicles/{vin}", control(sim_vehicle), methods=["GET", "PATCH"]),
        Route("/_sim/vehicles/{vin}/script", control(sim_script, advance_all=False), methods=["POST"]),
        Route("/_sim/clock", control(sim_clock, advance_all="POST"), methods=["GET", "POST"]),
        Route("/_sim/clock/advance", control(sim_clock_advance, advance_all=False), methods=["POST"]),
        Route("/_sim/faults", control(sim_faults), methods=["GET", "POST", "DELETE"]),
        Route("/_sim/billing", control(sim_billing, advance_all=False), methods=["GET"]),
        Route("/_sim/sessions", control(sim_sessions), methods=["GET"]),
        Route("/_sim/requests", control(sim_requests, advance_all=False), methods=["GET"]),
        Route("/_sim/keys/rotate", control(sim_keys_rotate), methods=["POST"]),
        Route("/_sim/telemetry/sink", control(sim_telemetry_sink), methods=["GET", "POST", "DELETE"]),
        Route("/_sim/telemetry/log", control(sim_telemetry_log), methods=["GET"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await publisher.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.publisher = publisher
    app.state.world = world
    return app


def _base(request: Request) -> str:
    return str(request.base_url)


def _vehicle_view(v: Vehicle) -> dict[str, Any]:
    return {**v.summary(), "account": v.account, "car_type": v.car_type, "year": v.year, "color": v.color,
            "lat": v.lat, "lng": v.lng, "battery": round(v.battery, 2), "charging_state": v.charging_state,
            "plugged": v.plugged, "power_kw": v.power_kw, "charge_energy_added": round(v.energy_added, 4),
            "charge_limit_soc": v.charge_limit_soc, "pending_steps": len(v.steps)}
