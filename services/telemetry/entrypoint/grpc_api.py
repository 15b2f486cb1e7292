"""gRPC entrypoint: protobuf ⇄ domain only."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from kit import errors
from kit.context import add_trailer
from kit.interceptors import current_principal, require_roles
from nerava.telemetry.v1 import telemetry_pb2 as pb
from nerava.telemetry.v1 import telemetry_pb2_grpc
from services.telemetry.app.usecases import TelemetryUseCases
from services.telemetry.domain.connection import vin_for_display

UTC = dt.timezone.utc


def _driver():
    principal = require_roles("driver", message="Driver access required")
    return principal


def _service_or_admin():
    return require_roles("service", "admin", message="Service access required")


def ts(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(value.astimezone(UTC).replace(tzinfo=None))
    return t


def from_ts(t: timestamp_pb2.Timestamp) -> dt.datetime:
    return t.ToDatetime().replace(tzinfo=UTC)


def _set_optional(msg, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if value is not None:
            setattr(msg, name, value)


def session_pb(s: dict[str, Any] | None) -> pb.ChargingSession | None:
    if s is None:
        return None
    msg = pb.ChargingSession(id=s["id"], verified=bool(s["verified"]))
    for name in ("session_start", "session_end"):
        if s.get(name) is not None:
            getattr(msg, name).CopyFrom(ts(s[name]))
    _set_optional(msg, {k: s.get(k) for k in (
        "duration_minutes", "charger_id", "charger_network", "connector_type", "power_kw", "kwh_delivered",
        "lat", "lng", "battery_start_pct", "battery_end_pct", "quality_score", "ended_reason")})
    for p in json.loads(s.get("location_trail") or "[]"):
        point = msg.location_trail.add(lat=p["lat"], lng=p["lng"])
        point.ts.CopyFrom(ts(dt.datetime.fromisoformat(p["ts"])))
    if s.get("inc_grant_id"):
        inc = msg.incentive
        inc.grant_id, inc.campaign_id = s["inc_grant_id"], s["inc_campaign_id"]
        inc.amount_cents, inc.status = int(s["inc_amount_cents"]), s["inc_status"]
        if s.get("inc_granted_at") is not None:
            inc.granted_at.CopyFrom(ts(s["inc_granted_at"]))
    return msg


def _opt(request, name: str):
    return getattr(request, name) if request.HasField(name) else None


class TelemetryApi(telemetry_pb2_grpc.TelemetryServiceServicer):
    def __init__(self, usecases: TelemetryUseCases) -> None:
        self.uc = usecases

    # ---------------------------------------------------------------- connection
    async def GetTeslaStatus(self, request, context: grpc.aio.ServicerContext):
        caller = _driver()
        status = await self.uc.tesla_status(caller.sub)
        resp = pb.GetTeslaStatusResponse(connected=status.connected)
        v = status.vehicle
        if v is not None:
            _set_optional(resp, {"vehicle_name": v.display_name, "vehicle_model": v.model, "vehicle_year": v.year,
                                 "exterior_color": v.color, "battery_level": v.battery_level,
                                 "vin": vin_for_display(v.vin)})
        return resp

    async def CreateTeslaConnectUrl(self, request, context):
        caller = _driver()
        url, state = await self.uc.create_authorize_url("connect", caller.sub)
        return pb.CreateTeslaConnectUrlResponse(authorization_url=url, state=state)

    async def CreateTeslaLoginUrl(self, request, context):
        url, state = await self.uc.create_authorize_url("login", None)
        return pb.CreateTeslaLoginUrlResponse(authorization_url=url, state=state)

    async def HandleTeslaCallback(self, request, context):
        url = await self.uc.handle_callback(request.code, request.state, request.error)
        add_trailer("x-http-status", "307")
        add_trailer("location", url)
        return pb.HandleTeslaCallbackResponse(redirect_url=url)

    async def TeslaLogin(self, request, context):
        out = await self.uc.tesla_login(request.code, request.state)
        resp = pb.TeslaLoginResponse(access_token=out["access_token"], refresh_token=out["refresh_token"],
                                     token_type=out["token_type"])
        u = out["user"]
        resp.user.public_id, resp.user.auth_provider = u["public_id"], u["auth_provider"]
        _set_optional(resp.user, {"email": u.get("email"), "display_name": u.get("display_name")})
        for v in out["vehicles"]:
            resp.vehicles.append(self._vehicle(v))
        return resp

    @staticmethod
    def _vehicle(v: dict[str, Any]) -> pb.TeslaVehicle:
        msg = pb.TeslaVehicle(id=v["id"])
        _set_optional(msg, {k: v.get(k) for k in ("vin", "display_name", "model", "year", "color")})
        return msg

    async def DisconnectTesla(self, request, context):
        caller = _driver()
        await self.uc.disconnect(caller.sub)
        return pb.DisconnectTeslaResponse(success=True, message="Tesla disconnected")

    async def ListVehicles(self, request, context):
        caller = _driver()
        items, selected = await self.uc.list_vehicles(caller.sub)
        resp = pb.ListVehiclesResponse(vehicles=[self._vehicle(v) for v in items])
        if selected is not None:
            resp.selected_vehicle_id = selected
        return resp

    async def SelectVehicle(self, request, context):
        caller = _driver()
        v = await self.uc.select_vehicle(caller.sub, request.vehicle_id)
        vehicle = pb.SelectedVehicle(id=v["id"])
        _set_optional(vehicle, {k: v.get(k) for k in ("vin", "display_name", "model")})
        return pb.SelectVehicleResponse(success=True, vehicle=vehicle)

    async def ConfigureTelemetry(self, request, context):
        caller = _driver()
        vin = await self.uc.configure_telemetry(caller.sub)
        return pb.ConfigureTelemetryResponse(status="configured", vin=vin, telemetry_enabled=True)

    # ---------------------------------------------------------------- EV codes
    async def VerifyCharging(self, request, context):
        caller = _driver()
        out = await self.uc.verify_charging(caller.sub, _opt(request, "lat"), _opt(request, "lng"),
                                            _opt(request, "merchant_place_id"), _opt(request, "merchant_name"),
                                            _opt(request, "charger_id"))
        resp = pb.VerifyChargingResponse(is_charging=out["is_charging"], message=out["message"])
        _set_optional(resp, {k: out.get(k) for k in ("battery_level", "charge_rate_kw", "ev_code")})
        return resp

    async def ListEvCodes(self, request, context):
        caller = _driver()
        resp = pb.ListEvCodesResponse()
        for c in await self.uc.list_ev_codes(caller.sub):
            code = resp.codes.add(code=c["code"], status=c["status"])
            if c["merchant_name"] is not None:
                code.merchant_name = c["merchant_name"]
            code.expires_at.CopyFrom(ts(c["expires_at"]))
        return resp

    # ---------------------------------------------------------------- sessions
    async def PollChargingSession(self, request, context):
        caller = _driver()
        out = await self.uc.poll(caller.sub, _opt(request, "lat"), _opt(request, "lng"))
        resp = pb.PollChargingSessionResponse(session_active=out.pop("session_active"))
        _set_optional(resp, out)
        return resp

    async def BackgroundPing(self, request, context):
        caller = _driver()
        out = await self.uc.background_ping(caller.sub, _opt(request, "lat"), _opt(request, "lng"))
        resp = pb.BackgroundPingResponse(matched=out.pop("matched"))
        _set_optional(resp, out)
        return resp

    async def EndChargingSession(self, request, context):
        caller = _driver()
        s = await self.uc.end_session(caller.sub, request.session_id)
        return pb.EndChargingSessionResponse(session=session_pb(s), ended=True)

    async def ForceCloseSession(self, request, context):
        require_roles("admin", message="Admin access required")
        s, ended = await self.uc.force_close(request.session_id, request.note)
        return pb.ForceCloseSessionResponse(session=session_pb(s), ended=ended)

    async def ListChargingSessions(self, request, context):
        caller = _driver()
        rows = await self.uc.list_sessions(caller.sub, _opt(request, "limit"), _opt(request, "offset"))
        return pb.ListChargingSessionsResponse(sessions=[session_pb(s) for s in rows], count=len(rows))

    async def GetActiveChargingSession(self, request, context):
        caller = _driver()
        s, last = await self.uc.active_session(caller.sub)
        resp = pb.GetActiveChargingSessionResponse(active=s is not None)
        if s is not None:
            resp.session.CopyFrom(session_pb(s))
        if last is not None:
            resp.last_ended_session.CopyFrom(session_pb(last))
        return resp

    async def GetChargingSession(self, request, context):
        caller = _driver()
        return pb.GetChargingSessionResponse(session=session_pb(await self.uc.get_session(caller.sub,
                                                                                          request.session_id)))

    async def IngestFleetTelemetry(self, request, context):
        caller = current_principal()
        if not caller.is_service:
            raise errors.PermissionDenied("Service access required", reason="ROLE_REQUIRED")
        md = {k: v for k, v in (context.invocation_metadata() or ())}
        st = self.uc.settings
        out = await self.uc.push.webhook(bytes(request.body.data), md.get("x-telemetry-signature"),
                                         enabled=st.webhook_enabled, secret=st.telemetry_hmac_secret)
        resp = pb.IngestFleetTelemetryResponse(status=out["status"])
        if out.get("detail"):
            resp.detail = out["detail"]
        r = out.get("result")
        if r is not None:
            resp.result.action, resp.result.session_id = r["action"], r["session_id"]
            _set_optional(resp.result, {k: r.get(k) for k in ("duration_minutes", "incentive_granted",
                                                               "incentive_amount_cents")})
        return resp

    # ---------------------------------------------------------------- chargers, internal
    async def ListChargers(self, request, context):
        current_principal()
        rows, total = await self.uc.list_chargers(request.search, request.network, request.state,
                                                  _opt(request, "limit"), _opt(request, "offset"))
        resp = pb.ListChargersResponse(total=total)
        for r in rows:
            item = resp.chargers.add(id=r["id"], name=r["name"], total_sessions=r["total_sessions"],
                                     unique_drivers=r["unique_drivers"], connector_types=r["connector_types"])
            _set_optional(item, {k: r.get(k) for k in ("network_name", "lat", "lng", "address", "city", "state",
                                                       "power_kw", "num_evse", "pricing_per_kwh")})
        return resp

    async def GetChargerUtilization(self, request, context):
        current_principal()
        rows = await self.uc.charger_utilization(list(request.charger_ids), _opt(request, "since_days"))
        return pb.GetChargerUtilizationResponse(chargers=[
            pb.ChargerUtilization(charger_id=r["charger_id"], total_sessions=r["total_sessions"],
                                  unique_drivers=r["unique_drivers"],
                                  avg_duration_minutes=r["avg_duration_minutes"]) for r in rows])

    async def FindOverlappingSessions(self, request, context):
        _service_or_admin()
        if not request.HasField("t1") or not request.HasField("t2"):
            raise errors.InvalidArgument("t1 and t2 are required")
        rows = await self.uc.find_overlapping(request.driver_id, from_ts(request.t1), from_ts(request.t2),
                                              _opt(request, "session_id"))
        resp = pb.FindOverlappingSessionsResponse()
        for r in rows:
            item = resp.sessions.add(session_id=r["id"])
            item.session_start.CopyFrom(ts(r["session_start"]))
            if r["session_end"] is not None:
                item.session_end.CopyFrom(ts(r["session_end"]))
            if r["charger_id"] is not None:
                item.charger_id = r["charger_id"]
        return resp

    async def GetCharger(self, request, context):
        _service_or_admin()
        c = await self.uc.get_charger(request.charger_id)
        msg = pb.Charger(id=c["id"], name=c["name"], connector_types=c["connector_types"],
                         is_public=bool(c["is_public"]))
        _set_optional(msg, {k: c.get(k) for k in ("network_name", "zone_id", "lat", "lng", "power_kw")})
        return pb.GetChargerResponse(charger=msg)

    async def ApplyGrantStatus(self, request, context):
        _service_or_admin()
        applied = await self.uc.apply_grant_status(
            request.grant_id, request.session_id, request.campaign_id, request.amount_cents, request.status,
            from_ts(request.granted_at) if request.HasField("granted_at") else None)
        return pb.ApplyGrantStatusResponse(applied=applied)
