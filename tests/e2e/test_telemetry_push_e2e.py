"""Fleet Telemetry push end to end: real gateway, telemetry service (consuming NATS JetStream) and
Tesla simulator processes. T10 through the gateway enrols the car; the simulator streams Tesla's
protobuf records to NATS; the session starts, updates and ends without one Fleet API read; T18
through the gateway checks its HMAC. NATS unreachable → the test FAILS (never skips)."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import httpx
import pytest

from tests.e2e.conftest import start_stack, token
from tests.nats_support import NATS_URL, delete_streams, require_nats, unique_push_names

pytestmark = pytest.mark.e2e
VIN = "5YJ3E1EA1NF000001"
SECRET = "e2e-bridge-secret"


@pytest.fixture(scope="module")
def names():
    asyncio.run(require_nats())
    n = unique_push_names()
    yield n
    asyncio.run(delete_streams(NATS_URL, n["stream"], n["stream"] + "_DEAD_LETTER"))


@pytest.fixture(scope="module")
def pstack(tmp_path_factory, names):
    env = {"NATS_URL": NATS_URL, "NATS_STREAM": names["stream"], "NATS_NAMESPACE": names["namespace"],
           "NATS_DURABLE": names["durable"], "NATS_DEAD_LETTER_SUBJECT": names["dead_letter_subject"],
           "TELEMETRY_WEBHOOK_ENABLED": "true", "TESLA_TELEMETRY_HMAC_SECRET": SECRET,
           "TELEMETRY_JOB_INTERVAL_S": "1"}
    s = start_stack(tmp_path_factory.mktemp("push-stack"), env)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def gw(pstack):
    with httpx.Client(base_url=f"http://127.0.0.1:{pstack.ports.gateway}", timeout=15) as c:
        yield c


@pytest.fixture(scope="module")
def sim(pstack, names):
    with httpx.Client(base_url=f"http://127.0.0.1:{pstack.ports.simulators['tesla']}", timeout=15) as c:
        c.post("/_sim/clock", json={"now": "2026-03-02T10:00:00Z", "frozen": True}).raise_for_status()
        c.post("/_sim/telemetry/sink", json={"nats_url": NATS_URL, "namespace": names["namespace"],
                                             "duplicate_rate": 0.3, "seed": 5}).raise_for_status()
        yield c


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def wait_for(fn, what: str, attempts: int = 300):
    for _ in range(attempts):
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def fleet_reads(sim) -> int:
    return sum(1 for r in sim.get("/_sim/requests").json()["requests"] if r["category"] in ("data", "wake"))


async def drained(names) -> None:
    import nats

    nc = await nats.connect(NATS_URL, connect_timeout=2)
    try:
        js = nc.jetstream()
        for _ in range(300):
            info = await js.consumer_info(names["stream"], names["durable"])
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the telemetry consumer did not drain")
    finally:
        await nc.close()


def test_enrol_and_a_session_from_push_only(gw, sim, names):
    driver = token("driver-push-e2e")
    r = gw.get("/v1/auth/tesla/connect", headers=auth(driver))
    approved = httpx.get(r.json()["authorization_url"], follow_redirects=False, timeout=10)
    done = gw.get(approved.headers["location"].replace(str(gw.base_url), ""), follow_redirects=False)
    assert done.status_code == 307 and done.headers["location"].endswith("success=true")

    r = gw.post("/v1/tesla/configure-telemetry", headers=auth(driver))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "configured", "vin": VIN, "telemetry_enabled": True}
    reads = fleet_reads(sim)

    sim.post(f"/_sim/vehicles/{VIN}/script", json={"steps": [
        {"after_s": 60, "action": "plug_in", "params": {"power_kw": 11}},
        {"after_s": 1860, "action": "unplug", "params": {}}]}).raise_for_status()
    sim.post("/_sim/clock/advance", json={"seconds": 600}).raise_for_status()

    def active():
        body = gw.get("/v1/charging-sessions/active", headers=auth(driver)).json()
        return body if body["active"] and body["session"]["kwh_delivered"] else None

    s = wait_for(active, "the pushed session")["session"]
    assert s["session_start"] == "2026-03-02T10:01:00"
    sim.post("/_sim/clock/advance", json={"seconds": 1500}).raise_for_status()  # unplugged at +1860
    asyncio.run(drained(names))  # the unplug record is consumed (its end is held 60 virtual s)

    def ended():
        got = gw.get(f"/v1/charging-sessions/{s['id']}", headers=auth(driver)).json()["session"]
        return got if got.get("session_end") else None

    sim.post("/_sim/clock/advance", json={"seconds": 61}).raise_for_status()  # the held end passes
    final = wait_for(ended, "the end applied by the push job")
    assert final["session_end"] == "2026-03-02T10:30:00" and final["duration_minutes"] == 29
    assert final["ended_reason"] == "telemetry_disconnected" and abs(final["kwh_delivered"] - 5.5) < 1e-6
    assert fleet_reads(sim) == reads  # the whole session without one Fleet API read


def test_webhook_through_the_gateway_checks_the_signature(gw):
    raw = json.dumps({"vin": "5YJ3E1EA1NF999998", "created_at": "2026-03-02T10:00:00Z",
                      "data": [{"key": "DetailedChargeState", "value": "Charging"}]}).encode()
    sig = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    r = gw.post("/v1/webhooks/tesla/telemetry", content=raw,
                headers={"content-type": "application/json", "x-telemetry-signature": sig})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "processed" and r.json()["result"] is None  # an unclaimed VIN
    bad = gw.post("/v1/webhooks/tesla/telemetry", content=raw,
                  headers={"content-type": "application/json", "x-telemetry-signature": "0" * 64})
    assert bad.status_code == 401 and bad.json()["detail"]["message"] == "Invalid signature"
    unsigned = gw.post("/v1/webhooks/tesla/telemetry", content=b"{}", headers={"content-type": "application/json"})
    assert unsigned.status_code == 401


def test_the_same_records_by_nats_and_by_the_signed_webhook_make_one_session(gw, sim, names):
    """The simulator delivers every record twice: protobuf on NATS and the REST form POSTed (signed)
    to T18 through the gateway. The record identity is encoding-independent: one session."""
    vin2 = "5YJ3E1EA1NF000002"
    sim.post("/_sim/accounts", json={"id": "acct2", "email": "two@example.com", "name": "Two"}).raise_for_status()
    sim.post("/_sim/vehicles", json={"account": "acct2", "vin": vin2, "display_name": "Second",
                                     "lat": 30.3979, "lng": -97.7044, "battery": 40}).raise_for_status()
    sim.post("/_sim/accounts/acct2/authorize").raise_for_status()
    driver = token("driver-push-e2e-2")
    r = gw.get("/v1/auth/tesla/connect", headers=auth(driver))
    approved = httpx.get(r.json()["authorization_url"], follow_redirects=False, timeout=10)
    gw.get(approved.headers["location"].replace(str(gw.base_url), ""), follow_redirects=False)
    assert gw.post("/v1/tesla/configure-telemetry", headers=auth(driver)).json()["vin"] == vin2
    sim.post("/_sim/telemetry/sink", json={
        "nats_url": NATS_URL, "namespace": names["namespace"], "encoding": "protobuf",
        "url": f"{gw.base_url}/v1/webhooks/tesla/telemetry", "hmac_secret": SECRET}).raise_for_status()
    sim.post(f"/_sim/vehicles/{vin2}/script", json={"steps": [
        {"after_s": 30, "action": "plug_in", "params": {"power_kw": 7}},
        {"after_s": 930, "action": "unplug", "params": {}}]}).raise_for_status()
    sim.post("/_sim/clock/advance", json={"seconds": 1200}).raise_for_status()
    asyncio.run(drained(names))
    sent = sim.get("/_sim/telemetry/log").json()["sent"]
    posted = [x for x in sent if x.get("url")]
    assert posted and all(x["status"] == 200 for x in posted)
    sim.post("/_sim/clock/advance", json={"seconds": 61}).raise_for_status()

    def ended():
        body = gw.get("/v1/charging-sessions/", headers=auth(driver)).json()
        return body["sessions"] if body["sessions"] and body["sessions"][0]["session_end"] else None

    sessions = wait_for(ended, "the second car's session to end")
    assert len(sessions) == 1
    s = sessions[0]
    assert s["duration_minutes"] == 14 and abs(s["kwh_delivered"] - 7 * 900 / 3600) < 1e-6
