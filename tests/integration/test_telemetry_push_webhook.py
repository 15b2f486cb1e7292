"""T18 (IngestFleetTelemetry, the bridge's webhook) on SQLite and PostgreSQL: HMAC before parsing,
fail closed, both JSON forms, de-dup, stale resends, unknown VINs, errors → 200 + dead letter."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
import sqlalchemy as sa

from kit import errors
from services.telemetry.adapters.tables import charging_sessions, telemetry_dead_letters
from tests.integration.telemetry_harness import VIN, make_harness

UTC = dt.timezone.utc
SECRET = "bridge-secret-for-tests"
DRIVER = "driver-hook"


def body(seconds: int, *data: tuple[str, object], vin: str = VIN, resend: bool = False, form: str = "rest") -> bytes:
    at = (dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "protojson":
        return json.dumps({"vin": vin, "createdAt": at, "isResend": resend, "data": [
            {"key": k, "value": {"detailedChargeStateValue": f"DetailedChargeState{v}"} if k == "DetailedChargeState"
             else {"doubleValue": v}} for k, v in data]}).encode()
    return json.dumps({"vin": vin, "created_at": at, "msg_type": "data_V", "is_resend": resend,
                       "data": [{"key": k, "value": v} for k, v in data]}).encode()


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture
async def h(database_url):
    harness = await make_harness(database_url, TELEMETRY_WEBHOOK_ENABLED="true", TESLA_TELEMETRY_HMAC_SECRET=SECRET,
                                 PUSH_END_HOLD_S="60")
    await harness.connect(DRIVER)
    yield harness
    await harness.close()


async def hook(h, raw: bytes, signature: str | None = "auto"):
    st = h.uc.settings
    return await h.uc.push.webhook(raw, sign(raw) if signature == "auto" else signature,
                                   enabled=st.webhook_enabled, secret=st.telemetry_hmac_secret)


async def test_signed_records_drive_one_session(h):
    r = await hook(h, body(60, ("DetailedChargeState", "Charging"), ("ACChargingPower", 11), ("BatteryLevel", 50),
                           ("ACChargingEnergyIn", 0), ("Location", "(30.3979 N, 97.7044 W)")))
    assert r["status"] == "processed" and r["result"]["action"] == "created"
    sid = r["result"]["session_id"]
    raw = body(660, ("ACChargingEnergyIn", "1.8"), ("BatteryLevel", 52.4), form="protojson")
    r = await hook(h, raw)
    assert r["result"] == {"action": "updated", "session_id": sid}
    assert await hook(h, raw) == {"status": "processed", "result": None}  # the same record again
    # a stale resend (older than what we have) changes nothing
    stale = await hook(h, body(300, ("DetailedChargeState", "Disconnected"), resend=True))
    assert stale == {"status": "processed", "result": None}
    # a "Charging" record never ends the session (the monolith's bug); Disconnected does, after the hold
    r = await hook(h, body(1260, ("DetailedChargeState", "Disconnected"), ("ACChargingEnergyIn", 3.6)))
    assert r["result"] == {"action": "updated", "session_id": sid}
    await h.advance(1260 + 61)
    r = await hook(h, body(1330, ("BatteryLevel", 54.8)))
    assert r["result"]["action"] == "ended" and r["result"]["duration_minutes"] == 10
    assert r["result"]["incentive_granted"] is False and r["result"]["incentive_amount_cents"] == 0
    async with h.db.read() as conn:
        s = dict((await conn.execute(sa.select(charging_sessions))).one()._mapping)
    assert s["ended_reason"] == "telemetry_disconnected" and s["kwh_delivered"] == 3.6
    assert s["session_end"] == dt.datetime(2026, 3, 2, 10, 11, tzinfo=UTC) and s["charger_id"] is not None
    assert (s["battery_start_pct"], s["battery_end_pct"]) == (50, 55)


async def test_signature_payload_and_failure_answers(h):
    raw = body(60, ("DetailedChargeState", "Charging"))
    for bad in (None, "", sign(raw, "wrong"), sign(raw)[:-1] + "0"):
        with pytest.raises(errors.Unauthenticated):
            await hook(h, raw, bad)
    with pytest.raises(errors.InvalidArgument) as e:
        await hook(h, b"{not json")
    assert e.value.http_status == 422
    with pytest.raises(errors.InvalidArgument):
        await hook(h, json.dumps({"data": []}).encode())  # no vin
    with pytest.raises(errors.InvalidArgument) as e:
        await hook(h, b" " * (1024 * 1024 + 1))
    assert e.value.http_status == 413
    # an unclaimed VIN: processed, no session, dead-lettered
    other = body(60, ("DetailedChargeState", "Charging"), vin="5YJ3E1EA1NF999999")
    assert await hook(h, other) == {"status": "processed", "result": None}

    async def boom(record, **kw):
        raise RuntimeError("secret internals")

    real = h.uc.push.ingest
    h.uc.push.ingest = boom
    assert await hook(h, raw) == {"status": "error", "result": None, "detail": "processing_error"}

    async def db_down(record, **kw):
        raise ConnectionError("connection refused")

    h.uc.push.ingest = db_down
    with pytest.raises(errors.Unavailable):
        await hook(h, raw)
    h.uc.push.ingest = real
    async with h.db.read() as conn:
        reasons = sorted(r.reason for r in await conn.execute(sa.select(telemetry_dead_letters.c.reason)))
    assert reasons == ["processing_error", "unknown_vin"]


async def test_webhook_off_answers_503_and_fails_closed_without_a_secret(database_url):
    off = await make_harness(database_url)
    try:
        with pytest.raises(errors.Unavailable) as e:
            await off.uc.push.webhook(b"{}", "x", enabled=False, secret="")
        assert e.value.reason == "TELEMETRY_DISABLED"
        await off.connect(DRIVER)
        with pytest.raises(errors.Unavailable):
            await off.uc.configure_telemetry(DRIVER)  # T10 too, while push is off
    finally:
        await off.close()
    dev = await make_harness(database_url, TELEMETRY_WEBHOOK_ENABLED="true", ENV="development")
    try:
        raw = body(60, ("DetailedChargeState", "Charging"))
        with pytest.raises(errors.Unauthenticated):  # no secret: even a "signed" body is refused
            await dev.uc.push.webhook(raw, sign(raw, ""), enabled=True, secret=dev.uc.settings.telemetry_hmac_secret)
    finally:
        await dev.close()
