"""Decode one Fleet Telemetry vehicle-data record: Tesla's typed protobuf ``Payload`` (our subset
``nerava.telemetry.fleet.v1``, Tesla's field numbers) or the JSON forms (REST / protojson)."""
from __future__ import annotations

import json
from typing import Any

from google.protobuf.message import DecodeError

from nerava.telemetry.fleet.v1 import vehicle_data_pb2 as fpb
from services.telemetry.domain import push as P

# Field enum number → Tesla's key name (the names the JSON forms use).
KEY_BY_NUMBER = {
    fpb.FIELD_CHARGE_STATE: "ChargeState", fpb.FIELD_SOC: "Soc", fpb.FIELD_LOCATION: "Location",
    fpb.FIELD_DC_CHARGING_ENERGY_IN: "DCChargingEnergyIn", fpb.FIELD_DC_CHARGING_POWER: "DCChargingPower",
    fpb.FIELD_AC_CHARGING_ENERGY_IN: "ACChargingEnergyIn", fpb.FIELD_AC_CHARGING_POWER: "ACChargingPower",
    fpb.FIELD_FAST_CHARGER_PRESENT: "FastChargerPresent", fpb.FIELD_BATTERY_LEVEL: "BatteryLevel",
    fpb.FIELD_TIME_TO_FULL_CHARGE: "TimeToFullCharge", fpb.FIELD_DETAILED_CHARGE_STATE: "DetailedChargeState",
    fpb.FIELD_CHARGE_PORT_DOOR_OPEN: "ChargePortDoorOpen", fpb.FIELD_CHARGER_VOLTAGE: "ChargerVoltage",
    fpb.FIELD_CHARGING_CABLE_TYPE: "ChargingCableType", fpb.FIELD_FAST_CHARGER_TYPE: "FastChargerType",
}
NUMBER_BY_KEY = {v: k for k, v in KEY_BY_NUMBER.items()}


class Undecodable(ValueError):
    """Neither a protobuf ``Payload`` nor a JSON record with a VIN and a time."""


def _plain(value: fpb.Value) -> Any:
    which = value.WhichOneof("value")
    if which is None or which == "invalid":
        return None  # unset, Tesla's `invalid`, or a member we do not declare (an unknown field)
    if which == "location_value":
        return {"latitude": value.location_value.latitude, "longitude": value.location_value.longitude}
    return getattr(value, which)  # enums arrive as ints; unknown numbers stay ints (open enums)


def decode_protobuf(raw: bytes) -> P.FleetRecord:
    msg = fpb.Payload()
    try:
        msg.ParseFromString(raw)
    except DecodeError:
        raise Undecodable("not a protobuf Payload") from None
    if not msg.HasField("created_at"):
        raise Undecodable("record has no created_at")
    data = [{"key": KEY_BY_NUMBER.get(d.key, ""), "value": _plain(d.value)} for d in msg.data]
    try:
        return P.build(msg.vin, msg.created_at.ToDatetime(tzinfo=P.UTC), msg.is_resend, data)
    except P.InvalidRecord as exc:
        raise Undecodable(str(exc)) from None


def decode_json(raw: bytes) -> P.FleetRecord:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Undecodable("not JSON") from None
    try:
        return P.parse_json(body)
    except P.InvalidRecord as exc:
        raise Undecodable(str(exc)) from None


def decode(raw: bytes) -> P.FleetRecord:
    """JSON when the body starts with ``{``, else Tesla's protobuf."""
    if raw.lstrip()[:1] == b"{":
        return decode_json(raw)
    return decode_protobuf(raw)


def encode_protobuf(record: P.FleetRecord) -> bytes:
    """The inverse (tests): Tesla's typed form of a normalised record."""
    msg = fpb.Payload(vin=record.vin, is_resend=record.is_resend)
    msg.created_at.FromDatetime(record.created_at)
    for key, value in record.values.items():
        d = msg.data.add(key=NUMBER_BY_KEY[key])
        if value is None:
            d.value.invalid = True
        elif key == "DetailedChargeState":
            d.value.detailed_charge_state_value = {v: k for k, v in P.DETAILED_BY_NUMBER.items()}[value]
        elif key == "Location":
            d.value.location_value.latitude, d.value.location_value.longitude = value["lat"], value["lng"]
        elif isinstance(value, bool):
            d.value.boolean_value = value
        elif isinstance(value, (int, float)):
            d.value.double_value = float(value)
        else:
            d.value.string_value = str(value)
    return msg.SerializeToString()
