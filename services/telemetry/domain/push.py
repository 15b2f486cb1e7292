"""Fleet Telemetry push as plain Python (telemetry spec §5 "In: Fleet Telemetry"). No I/O.

A record is ``(vin, created_at, is_resend, values)`` where ``values`` maps Tesla's field names to
normalised Python values (the typed protobuf form, Tesla's protojson and the simplified REST form
all end here). Records merge into a per-VIN state, last write wins per field by ``created_at``;
the merged state becomes one :class:`~services.telemetry.domain.sessions.Observation` that the
one session state machine (§2) consumes.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from typing import Any

from services.telemetry.domain import sessions as R

UTC = dt.timezone.utc

# Tesla's DetailedChargeStateValue 0–6 → the charging_state names §2 classifies (0 = unknown → None).
DETAILED_BY_NUMBER = {1: "Disconnected", 2: "NoPower", 3: "Starting", 4: "Charging", 5: "Complete", 6: "Stopped"}
_DETAILED_NAMES = {v.lower(): v for v in DETAILED_BY_NUMBER.values()}
# Tesla's FastCharger enum → the names the session rules use (Supercharger → Tesla, Combo → CCS).
FAST_CHARGER_BY_NUMBER = {1: "Supercharger", 2: "CHAdeMO", 3: "GB", 4: "ACSingleWireCAN", 5: "Combo",
                          6: "MCSingleWireCAN", 7: "Other"}
_FAST_CHARGER_MAP = {"supercharger": "Tesla", "tesla": "Tesla", "combo": "CCS", "ccs": "CCS",
                     "chademo": "CHAdeMO", "gb": "GB", "other": "Other"}
CABLE_BY_NUMBER = {1: "IEC", 2: "SAE", 3: "GB_AC", 4: "GB_DC"}

# The keys we read; anything else is ignored (and not part of the record identity).
KEYS = frozenset({"DetailedChargeState", "BatteryLevel", "Soc", "ACChargingPower", "DCChargingPower",
                  "ACChargingEnergyIn", "DCChargingEnergyIn", "Location", "Latitude", "Longitude",
                  "FastChargerPresent", "FastChargerType", "ChargingCableType", "ChargerVoltage",
                  "TimeToFullCharge", "ChargePortDoorOpen"})
_LEGACY_LOCATION = re.compile(r"^\(?\s*([0-9.]+)\s*([NS])\s*,\s*([0-9.]+)\s*([EW])\s*\)?$")
PREVIOUS_STATE = "_previous_DetailedChargeState"
VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


class InvalidRecord(ValueError):
    """The body is not a vehicle-data record (no/invalid VIN, not an object, bad time)."""


@dataclasses.dataclass(frozen=True)
class FleetRecord:
    vin: str
    created_at: dt.datetime
    is_resend: bool
    values: dict[str, Any]  # known keys only; None = Tesla's `invalid` / unparsable value

    @property
    def identity(self) -> str:
        return record_identity(self.vin, self.created_at, self.values)

    @property
    def charge_state(self) -> str | None:
        return self.values.get("DetailedChargeState")


def canonical_time(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_identity(vin: str, created_at: dt.datetime, values: dict[str, Any]) -> str:
    """SHA-256(vin, created_at, canonical data): the same record in any encoding has one identity."""
    canon = json.dumps([vin, canonical_time(created_at), values], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def parse_time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        t = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        t = dt.datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    elif isinstance(value, str) and value:
        try:
            t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRecord("created_at is not a time") from None
    else:
        raise InvalidRecord("created_at is missing")
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- values
def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    if isinstance(v, (int, float)):
        return bool(v)
    return None


def _enum_name(v: Any, prefix: str, by_number: dict[int, str]) -> str | None:
    """An enum given as a number, a numeric string, ``Charging`` or ``<Prefix>Charging``."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)) or (isinstance(v, str) and v.strip().lstrip("-").isdigit()):
        return by_number.get(int(v))  # unknown numbers (newer firmware) → None
    if isinstance(v, str):
        name = v.strip()
        if name.startswith(prefix):
            name = name[len(prefix):]
        return name or None
    return None


def detailed_charge_state(v: Any) -> str | None:
    name = _enum_name(v, "DetailedChargeState", DETAILED_BY_NUMBER)
    return _DETAILED_NAMES.get((name or "").lower())  # Unknown / unknown names → None


def fast_charger_type(v: Any) -> str | None:
    name = _enum_name(v, "FastCharger", FAST_CHARGER_BY_NUMBER)
    if name is None or name.lower() in ("unknown", "sna", "<invalid>"):
        return None
    return _FAST_CHARGER_MAP.get(name.lower(), name)


def cable_type(v: Any) -> str | None:
    name = _enum_name(v, "CableType", CABLE_BY_NUMBER)
    if name is None or name.lower() in ("unknown", "sna", "<invalid>"):
        return None
    return name


def location(v: Any) -> dict[str, float] | None:
    if isinstance(v, dict):
        lat = _number(v.get("latitude", v.get("lat")))
        lng = _number(v.get("longitude", v.get("lng")))
    elif isinstance(v, str):
        m = _LEGACY_LOCATION.match(v.strip())
        if not m:
            return None
        lat = float(m.group(1)) * (1 if m.group(2) == "N" else -1)
        lng = float(m.group(3)) * (1 if m.group(4) == "E" else -1)
    else:
        return None
    if not R.valid_point(lat, lng):
        return None
    return {"lat": lat, "lng": lng}


def normalise(key: str, raw: Any) -> Any:
    """One datum's plain value → the normalised value for ``key`` (None when unusable)."""
    if key == "DetailedChargeState":
        return detailed_charge_state(raw)
    if key in ("BatteryLevel", "Soc", "ACChargingPower", "DCChargingPower", "ACChargingEnergyIn",
               "DCChargingEnergyIn", "ChargerVoltage", "TimeToFullCharge", "Latitude", "Longitude"):
        return _number(raw)
    if key in ("FastChargerPresent", "ChargePortDoorOpen"):
        return _bool(raw)
    if key == "FastChargerType":
        return fast_charger_type(raw)
    if key == "ChargingCableType":
        return cable_type(raw)
    if key == "Location":
        return location(raw)
    return None


_TYPED = ("stringValue", "intValue", "longValue", "floatValue", "doubleValue", "booleanValue",
          "locationValue", "detailedChargeStateValue", "fastChargerValue", "cableTypeValue", "chargingValue")


def unwrap(value: Any) -> Any:
    """A protojson typed value (``{"intValue": 80}``, ``{"invalid": true}``) → its plain value."""
    if isinstance(value, dict):
        if value.get("invalid") is True:
            return None
        for name in _TYPED:
            if name in value:
                return value[name]
        snake = {"string_value", "int_value", "long_value", "float_value", "double_value", "boolean_value",
                 "location_value", "detailed_charge_state_value", "fast_charger_value", "cable_type_value"}
        for name in snake:
            if name in value:
                return value[name]
        if "latitude" in value or "lat" in value:
            return value
        return None  # an unknown typed member: ignored
    return value


def build(vin: Any, created_at: Any, is_resend: Any, data: Any) -> FleetRecord:
    if not isinstance(vin, str) or not VIN_RE.match(vin.strip().upper()):
        raise InvalidRecord("vin is missing or malformed")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise InvalidRecord("data must be a list")
    values: dict[str, Any] = {}
    for item in data:
        if not isinstance(item, dict):
            raise InvalidRecord("data items must be objects")
        key = item.get("key")
        if not isinstance(key, str) or key not in KEYS:
            continue  # unknown keys are ignored
        values[key] = normalise(key, unwrap(item.get("value")))
    return FleetRecord(vin.strip().upper(), parse_time(created_at), bool(_bool(is_resend) or False), values)


def parse_json(body: Any) -> FleetRecord:
    """The REST form ``{vin, data:[{key,value}], created_at, msg_type}`` or Tesla's protojson form
    ``{vin, createdAt, isResend, data:[{key, value:{…Value}}]}``."""
    if not isinstance(body, dict):
        raise InvalidRecord("body must be an object")
    created = body.get("created_at", body.get("createdAt"))
    return build(body.get("vin"), created, body.get("is_resend", body.get("isResend")), body.get("data"))


# ---------------------------------------------------------------------------------------------- merge
def merge(state: dict[str, Any], record: FleetRecord, received_at: dt.datetime) -> list[str]:
    """Last write wins per field by ``created_at`` (nulls never overwrite). ``state`` maps a field to
    ``{"v": value, "t": created_at iso, "r": received_at iso}``; returns the fields that changed."""
    t = canonical_time(record.created_at)
    changed = []
    for key, value in record.values.items():
        if value is None:
            continue
        cur = state.get(key)
        if cur is not None and cur["t"] >= t:
            continue
        if key == "DetailedChargeState" and cur is not None and cur["v"] != value:
            state[PREVIOUS_STATE] = cur  # what the car was doing until this change (late records)
        state[key] = {"v": value, "t": t, "r": canonical_time(received_at)}
        changed.append(key)
    return changed


def charging_at(state: dict[str, Any], record: FleetRecord) -> bool:
    """Was the car charging at a reordered record's time (older than the current charge state)?
    Its own DetailedChargeState says so, or it falls in the previous state's span and that was
    charging."""
    if record.charge_state is not None:
        return R.classify(record.charge_state) == R.CHARGING
    prev, cur = state.get(PREVIOUS_STATE), state.get("DetailedChargeState")
    if prev is None or cur is None:
        return False
    t = canonical_time(record.created_at)
    return prev["t"] <= t < cur["t"] and R.classify(prev["v"]) == R.CHARGING


def as_of(state: dict[str, Any], record: FleetRecord) -> dict[str, Any]:
    """The state at the record's time as well as we know it: the record's own values, else the
    latest merged ones (a reordered record never shows a newer battery as its start value)."""
    t = canonical_time(record.created_at)
    own = {k: {"v": v, "t": t, "r": t} for k, v in record.values.items() if v is not None}
    return {**state, **own}


def field_time(state: dict[str, Any], key: str) -> dt.datetime | None:
    cur = state.get(key)
    return parse_time(cur["t"]) if cur else None


def observation(state: dict[str, Any], observed_at: dt.datetime) -> R.Observation:
    """The merged push state as one §2 observation (DC wins when its power is > 0)."""
    def v(key: str) -> Any:
        cur = state.get(key)
        return None if cur is None else cur["v"]

    dc_power, ac_power = v("DCChargingPower"), v("ACChargingPower")
    dc = bool(v("FastChargerPresent")) or (dc_power is not None and dc_power > 0)
    power = dc_power if dc_power is not None and dc_power > 0 else ac_power
    if power is None:
        power = dc_power
    energy = v("DCChargingEnergyIn") if dc else v("ACChargingEnergyIn")
    if energy is None:
        energy = v("ACChargingEnergyIn") if dc else v("DCChargingEnergyIn")
    battery = v("BatteryLevel")
    if battery is None:
        battery = v("Soc")
    loc = v("Location")
    lat, lng = (loc["lat"], loc["lng"]) if loc else (v("Latitude"), v("Longitude"))
    ttf = v("TimeToFullCharge")
    return R.Observation(
        observed_at=observed_at, charging_state=v("DetailedChargeState"),
        battery_level=None if battery is None else int(round(battery)), charge_energy_added=energy,
        charger_power=power, time_to_full_charge=ttf, charger_voltage=v("ChargerVoltage"),
        conn_charge_cable=v("ChargingCableType"), fast_charger_type=v("FastChargerType"),
        fast_charger_present=v("FastChargerPresent"), lat=lat, lng=lng)


def end_reasons() -> dict[str, str]:
    """§2: a pushed UNPLUGGED ends ``telemetry_disconnected`` (as before); the rest keep their names."""
    return {"unplugged": "telemetry_disconnected"}
