"""The simulator's Fleet Telemetry sink: publishes the world's queued records to NATS (Tesla's
fleet-telemetry subject ``<namespace>.<VIN>.data``, protobuf ``Payload``) and/or POSTs them to T18
(``X-Telemetry-Signature``), with the duplicate / reorder / delay / forgery knobs of
``POST /_sim/telemetry/sink``. Seeded, so a test run is reproducible."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
from typing import Any

import httpx

from nerava.telemetry.fleet.v1 import vehicle_data_pb2 as fpb
from simulators.tesla.model import World, iso

log = logging.getLogger("tesla-sim.telemetry")

FIELD_NUMBERS = {
    "Soc": fpb.FIELD_SOC, "Location": fpb.FIELD_LOCATION, "DCChargingEnergyIn": fpb.FIELD_DC_CHARGING_ENERGY_IN,
    "DCChargingPower": fpb.FIELD_DC_CHARGING_POWER, "ACChargingEnergyIn": fpb.FIELD_AC_CHARGING_ENERGY_IN,
    "ACChargingPower": fpb.FIELD_AC_CHARGING_POWER, "FastChargerPresent": fpb.FIELD_FAST_CHARGER_PRESENT,
    "BatteryLevel": fpb.FIELD_BATTERY_LEVEL, "TimeToFullCharge": fpb.FIELD_TIME_TO_FULL_CHARGE,
    "DetailedChargeState": fpb.FIELD_DETAILED_CHARGE_STATE, "ChargePortDoorOpen": fpb.FIELD_CHARGE_PORT_DOOR_OPEN,
    "ChargerVoltage": fpb.FIELD_CHARGER_VOLTAGE, "ChargingCableType": fpb.FIELD_CHARGING_CABLE_TYPE,
    "FastChargerType": fpb.FIELD_FAST_CHARGER_TYPE,
}
DETAILED = {"Disconnected": 1, "NoPower": 2, "Starting": 3, "Charging": 4, "Complete": 5, "Stopped": 6}
FAST_CHARGER = {"Supercharger": 1, "CHAdeMO": 2, "GB": 3, "Combo": 5, "Other": 7}
CABLE = {"IEC": 1, "SAE": 2, "GB_AC": 3, "GB_DC": 4}


def encode_protobuf(rec: dict[str, Any], vin: str | None = None) -> bytes:
    msg = fpb.Payload(vin=vin or rec["vin"], is_resend=rec.get("is_resend", False))
    msg.created_at.FromDatetime(rec["created_at"])
    for key, value in rec["data"]:
        d = msg.data.add(key=FIELD_NUMBERS[key])
        if value is None:
            d.value.invalid = True
        elif key == "DetailedChargeState":
            d.value.detailed_charge_state_value = DETAILED.get(value, 0)
        elif key == "FastChargerType":
            d.value.fast_charger_value = FAST_CHARGER.get(value, 7)
        elif key == "ChargingCableType":
            d.value.cable_type_value = CABLE.get(value, 0)
        elif key == "Location":
            d.value.location_value.latitude, d.value.location_value.longitude = value["lat"], value["lng"]
        elif isinstance(value, bool):
            d.value.boolean_value = value
        else:
            d.value.double_value = float(value)
    return msg.SerializeToString()


def _protojson_value(key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {"invalid": True}
    if key == "DetailedChargeState":
        return {"detailedChargeStateValue": f"DetailedChargeState{value}"}
    if key == "FastChargerType":
        return {"fastChargerValue": f"FastCharger{value}"}
    if key == "ChargingCableType":
        return {"cableTypeValue": f"CableType{value}"}
    if key == "Location":
        return {"locationValue": {"latitude": value["lat"], "longitude": value["lng"]}}
    if isinstance(value, bool):
        return {"booleanValue": value}
    return {"doubleValue": value}


def _rest_value(key: str, value: Any) -> Any:
    if key == "Location" and value is not None:  # the legacy string form
        lat, lng = value["lat"], value["lng"]
        return f"({abs(lat)} {'N' if lat >= 0 else 'S'}, {abs(lng)} {'E' if lng >= 0 else 'W'})"
    return value


def encode_json(rec: dict[str, Any], encoding: str, vin: str | None = None) -> bytes:
    vin = vin or rec["vin"]
    if encoding == "protojson":
        body = {"vin": vin, "createdAt": iso(rec["created_at"]), "isResend": rec.get("is_resend", False),
                "data": [{"key": k, "value": _protojson_value(k, v)} for k, v in rec["data"]]}
    else:
        body = {"vin": vin, "created_at": iso(rec["created_at"]), "msg_type": "data_V",
                "data": [{"key": k, "value": _rest_value(k, v)} for k, v in rec["data"]]}
    return json.dumps(body, separators=(",", ":")).encode()


class TelemetryPublisher:
    def __init__(self) -> None:
        self._nc: Any = None
        self._nc_url: str | None = None
        self._http: httpx.AsyncClient | None = None
        self.rng = random.Random(1)
        self.log: list[dict[str, Any]] = []  # what was sent (kind, subject/url, vin, created_at, status)

    def configured(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.log = []

    async def _nats(self, url: str):
        if self._nc is None or self._nc_url != url or self._nc.is_closed:
            import nats

            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()
            self._nc = await nats.connect(url, name="tesla-simulator", connect_timeout=2, allow_reconnect=True,
                                          max_reconnect_attempts=-1, reconnect_time_wait=0.5)
            self._nc_url = url
        return self._nc

    async def flush(self, world: World) -> int:
        """Publish the records due by the virtual now (knobs applied); returns messages sent."""
        sink = world.telemetry
        cfg = sink.config
        if cfg is None or not sink.out:
            return 0
        ready = sink.due(world.clock.now())
        if not ready:
            return 0
        rng = self.rng
        items: list[tuple[str, dict[str, Any], str | None]] = []  # (kind, record, forged vin)
        for rec in ready:
            items.append(("record", rec, None))
            if rng.random() < cfg["duplicate_rate"]:
                items.append(("duplicate", rec, None))
            if rng.random() < cfg["forge_rate"]:
                items.append(("forged_vin", rec, "5YJ3E1EA9NF" + "".join(rng.choice("0123456789") for _ in range(6))))
            if rng.random() < cfg["garbage_rate"]:
                items.append(("garbage", rec, None))
            if rng.random() < cfg["mismatch_rate"]:
                items.append(("mismatch", rec, "5YJ3E1EA8NF" + "".join(rng.choice("0123456789") for _ in range(6))))
        i = 0
        while i + 1 < len(items):
            if rng.random() < cfg["reorder_rate"]:
                items[i], items[i + 1] = items[i + 1], items[i]
                i += 2
            else:
                i += 1
        sent = 0
        for kind, rec, other_vin in items:
            try:
                if cfg.get("nats_url"):
                    await self._publish_nats(cfg, kind, rec, other_vin)
                    sent += 1
                if cfg.get("url"):
                    await self._post(cfg, kind, rec, other_vin)
                    sent += 1
            except Exception as exc:  # noqa: BLE001 — a sink failure never breaks the Fleet API
                log.warning("telemetry sink publish failed: %s", type(exc).__name__)
                self.log.append({"kind": kind, "vin": rec["vin"], "error": type(exc).__name__})
        sink.published += sent
        return sent

    async def _publish_nats(self, cfg, kind: str, rec, other_vin: str | None) -> None:
        ns = cfg["namespace"]
        if kind == "garbage":
            data = b"\xff\xfe not a payload " + bytes(self.rng.randrange(256) for _ in range(8))
            subject = f"{ns}.{rec['vin']}.data"
        elif kind == "forged_vin":
            data, subject = self._encode(cfg, rec, other_vin), f"{ns}.{other_vin}.data"
        elif kind == "mismatch":  # another car's record on this car's subject
            data, subject = self._encode(cfg, rec, other_vin), f"{ns}.{rec['vin']}.data"
        else:
            data, subject = self._encode(cfg, rec, None), f"{ns}.{rec['vin']}.data"
        nc = await self._nats(cfg["nats_url"])
        js = nc.jetstream()
        try:
            await js.publish(subject, data, timeout=5)
        except Exception as exc:  # noqa: BLE001 — no stream yet: a plain publish, as Tesla's server does
            from nats.errors import NoRespondersError

            if not isinstance(exc, NoRespondersError):
                raise
            await nc.publish(subject, data)
            await nc.flush()
        self.log.append({"kind": kind, "subject": subject, "vin": rec["vin"], "created_at": iso(rec["created_at"])})

    @staticmethod
    def _encode(cfg, rec, vin: str | None) -> bytes:
        if cfg["encoding"] == "protobuf":
            return encode_protobuf(rec, vin)
        return encode_json(rec, cfg["encoding"], vin)

    async def _post(self, cfg, kind: str, rec, other_vin: str | None) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        encoding = cfg["encoding"] if cfg["encoding"] != "protobuf" else "protojson"
        body = encode_json(rec, encoding, other_vin)
        secret = cfg["hmac_secret"] or ""
        sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if kind in ("garbage", "mismatch"):  # forged: the body does not match its signature
            sig = hmac.new(b"forger", body, hashlib.sha256).hexdigest()
        resp = await self._http.post(cfg["url"], content=body, headers={
            "content-type": "application/json", "x-telemetry-signature": sig})
        self.log.append({"kind": kind, "url": cfg["url"], "vin": rec["vin"], "created_at": iso(rec["created_at"]),
                         "status": resp.status_code})

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()
        if self._http is not None:
            await self._http.aclose()


def record_view(rec: dict[str, Any]) -> dict[str, Any]:
    return {"vin": rec["vin"], "created_at": iso(rec["created_at"]), "data": dict(rec["data"]),
            "publish_at": iso(rec["publish_at"])}


__all__ = ["TelemetryPublisher", "encode_protobuf", "encode_json", "record_view", "dt"]
