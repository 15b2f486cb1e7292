"""Fleet Telemetry push rules: decoding (protobuf with Tesla's numbers, protojson, REST form),
record identity, unknown values, per-field last-write-wins merge, the merged observation."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from cryptography.fernet import Fernet
from google.protobuf import timestamp_pb2

from nerava.telemetry.fleet.v1 import vehicle_data_pb2 as fpb
from services.telemetry.adapters import fleet_codec
from services.telemetry.app.push import signature_ok
from services.telemetry.config import TelemetryConfig
from services.telemetry.domain import push as P
from services.telemetry.domain import sessions as R

UTC = dt.timezone.utc
VIN = "5YJ3E1EA1NF000001"
T = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_tesla_wire_numbers_are_kept():
    # teslamotors/fleet-telemetry protos/vehicle_data.proto: Field, Value oneof, Payload numbers
    f = fpb.Field
    assert (f.Value("FIELD_SOC"), f.Value("FIELD_LOCATION"), f.Value("FIELD_DC_CHARGING_ENERGY_IN"),
            f.Value("FIELD_AC_CHARGING_POWER"), f.Value("FIELD_BATTERY_LEVEL"),
            f.Value("FIELD_DETAILED_CHARGE_STATE"), f.Value("FIELD_FAST_CHARGER_TYPE")) == (8, 21, 34, 37, 42, 179, 193)
    value = fpb.Value.DESCRIPTOR.fields_by_name
    assert (value["invalid"].number, value["detailed_charge_state_value"].number,
            value["fast_charger_value"].number, value["location_value"].number) == (10, 32, 40, 7)
    payload = fpb.Payload.DESCRIPTOR.fields_by_name
    assert [payload[n].number for n in ("data", "created_at", "vin", "is_resend")] == [1, 2, 3, 4]
    assert fpb.DetailedChargeState.Value("DETAILED_CHARGE_STATE_STOPPED") == 6


def _payload(*data: tuple[int, dict], resend: bool = False) -> bytes:
    msg = fpb.Payload(vin=VIN, is_resend=resend)
    msg.created_at.FromDatetime(T)
    for key, value in data:
        msg.data.add(key=key, value=fpb.Value(**value))
    return msg.SerializeToString()


def test_protobuf_record_decodes_typed_values_and_tolerates_unknowns():
    raw = _payload((179, {"detailed_charge_state_value": 4}), (37, {"double_value": 11.0}),
                   (42, {"invalid": True}), (193, {"fast_charger_value": 1}),
                   (21, {"location_value": fpb.LocationValue(latitude=30.4, longitude=-97.7)}),
                   (999, {"int_value": 3}))  # a field number from newer firmware
    # a Value member we do not declare (Tesla's shift_state_value = 9) on a known key: null, no error
    datum = b"\x08\x24" + b"\x12\x02" + b"\x48\x02"  # key ACChargingEnergyIn (36), value {9: 2}
    rec = fleet_codec.decode(raw + b"\x0a" + bytes([len(datum)]) + datum)
    assert rec.vin == VIN and rec.created_at == T and rec.is_resend is False
    assert rec.values == {"DetailedChargeState": "Charging", "ACChargingPower": 11.0, "BatteryLevel": None,
                          "FastChargerType": "Tesla", "Location": {"lat": 30.4, "lng": -97.7},
                          "ACChargingEnergyIn": None}
    odd = _payload((179, {"detailed_charge_state_value": 42}))  # enum value unknown to us (open enum)
    assert fleet_codec.decode(odd).values == {"DetailedChargeState": None}
    with pytest.raises(fleet_codec.Undecodable):
        fleet_codec.decode(b"\xff\xfe garbage")
    with pytest.raises(fleet_codec.Undecodable):
        fleet_codec.decode(fpb.Payload(vin=VIN).SerializeToString())  # no created_at


def test_json_forms_decode_to_the_same_record_and_identity():
    rest = {"vin": VIN, "created_at": "2026-03-02T10:00:00Z", "msg_type": "data_V", "data": [
        {"key": "DetailedChargeState", "value": "DetailedChargeStateCharging"},
        {"key": "ACChargingPower", "value": "11"}, {"key": "Location", "value": "(30.4 N, 97.7 W)"},
        {"key": "ChargeState", "value": "Disconnected"}]}  # the legacy key is ignored
    protojson = {"vin": VIN, "createdAt": "2026-03-02T10:00:00.000Z", "isResend": False, "data": [
        {"key": "DetailedChargeState", "value": {"detailedChargeStateValue": "DetailedChargeStateCharging"}},
        {"key": "ACChargingPower", "value": {"doubleValue": 11}},
        {"key": "Location", "value": {"locationValue": {"latitude": 30.4, "longitude": -97.7}}}]}
    a = fleet_codec.decode(json.dumps(rest).encode())
    b = fleet_codec.decode(json.dumps(protojson).encode())
    c = fleet_codec.decode(_payload((179, {"detailed_charge_state_value": 4}), (37, {"double_value": 11.0}),
                                    (21, {"location_value": fpb.LocationValue(latitude=30.4, longitude=-97.7)})))
    assert a.values == b.values == c.values
    assert a.identity == b.identity == c.identity == P.record_identity(VIN, T, c.values)
    later = P.FleetRecord(VIN, T + dt.timedelta(seconds=1), False, c.values)
    assert later.identity != c.identity
    for bad in ({"data": []}, {"vin": "short", "created_at": "2026-03-02T10:00:00Z"}, {"vin": VIN},
                {"vin": VIN, "created_at": "yesterday"}, [1, 2]):
        with pytest.raises(fleet_codec.Undecodable):
            fleet_codec.decode(json.dumps(bad).encode())


@pytest.mark.parametrize("raw,expected", [
    (4, "Charging"), ("4", "Charging"), ("Charging", "Charging"), ("DetailedChargeStateStopped", "Stopped"),
    (2, "NoPower"), (0, None), (7, None), ("DetailedChargeStateUnknown", None), ("Calibrating", None), (None, None)])
def test_detailed_charge_state_forms(raw, expected):
    assert P.detailed_charge_state(raw) == expected


def test_merge_is_last_write_wins_per_field_and_nulls_never_overwrite():
    state: dict = {}
    t1, t2 = T, T + dt.timedelta(seconds=60)
    P.merge(state, P.FleetRecord(VIN, t2, False, {"BatteryLevel": 70.0, "DetailedChargeState": "Charging"}), t2)
    changed = P.merge(state, P.FleetRecord(VIN, t1, False, {"BatteryLevel": 60.0, "ACChargingPower": 7.0}), t2)
    assert changed == ["ACChargingPower"] and state["BatteryLevel"]["v"] == 70.0  # the older value lost
    P.merge(state, P.FleetRecord(VIN, t2 + dt.timedelta(seconds=1), False, {"BatteryLevel": None}), t2)
    assert state["BatteryLevel"]["v"] == 70.0
    P.merge(state, P.FleetRecord(VIN, t2 + dt.timedelta(seconds=30), False, {"DetailedChargeState": "Disconnected"}), t2)
    # a reordered record from the charging span is known to have been "charging"
    late = P.FleetRecord(VIN, t2 + dt.timedelta(seconds=10), False, {"BatteryLevel": 71.0})
    assert P.charging_at(state, late) is True
    assert P.charging_at(state, P.FleetRecord(VIN, t1, False, {"BatteryLevel": 1.0})) is False


def test_merged_observation_dc_wins_and_maps_charger_names():
    state: dict = {}
    plain = {"DetailedChargeState": "Charging", "ACChargingPower": 0.0, "DCChargingPower": 120.0, "Soc": 55.4,
             "DCChargingEnergyIn": 3.5, "ACChargingEnergyIn": 9.0, "FastChargerType": "Combo",
             "FastChargerPresent": "true", "ChargingCableType": "CableTypeIEC", "Latitude": "30.4",
             "Longitude": -97.7, "TimeToFullCharge": 0.5}
    P.merge(state, P.build(VIN, T, False, [{"key": k, "value": v} for k, v in plain.items()]), T)
    obs = P.observation(state, T)
    assert (obs.klass, obs.charger_power, obs.charge_energy_added, obs.battery_level) == (R.CHARGING, 120.0, 3.5, 55)
    assert (obs.fast_charger_type, obs.conn_charge_cable, obs.lat, obs.lng) == ("CCS", "IEC", 30.4, -97.7)
    assert R.minutes_to_full(obs) == 30 and R.connector_type(obs, None) == "CCS"
    assert P.observation({}, T).klass == R.UNKNOWN


def test_webhook_signature_fails_closed():
    body = b'{"vin":"x"}'
    sig = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, sig, "s3cret") and signature_ok(body, sig.upper(), "s3cret")
    assert not signature_ok(body, sig, "")  # no secret configured: nothing is valid
    assert not signature_ok(body, None, "s3cret") and not signature_ok(body + b" ", sig, "s3cret")


def test_config_push_switches_and_refusals():
    key = Fernet.generate_key().decode()
    off = TelemetryConfig(TOKEN_ENCRYPTION_KEYS=key)
    assert off.push_enabled is False and off.backoff() == (1.0, 5.0, 30.0, 60.0, 300.0)
    assert TelemetryConfig(TOKEN_ENCRYPTION_KEYS=key, NATS_URL="nats://127.0.0.1:4222").push_enabled is True
    with pytest.raises(ValueError, match="TESLA_TELEMETRY_HMAC_SECRET"):
        TelemetryConfig(TOKEN_ENCRYPTION_KEYS=key, TELEMETRY_WEBHOOK_ENABLED=True, ENV="test")
    assert TelemetryConfig(TOKEN_ENCRYPTION_KEYS=key, TELEMETRY_WEBHOOK_ENABLED=True, ENV="development").push_enabled
    with pytest.raises(ValueError, match="NATS_BACKOFF_S"):
        TelemetryConfig(TOKEN_ENCRYPTION_KEYS=key, NATS_BACKOFF_S="1,x")


def test_timestamp_helper_roundtrip():
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(T)
    assert ts.ToDatetime(tzinfo=UTC) == T
