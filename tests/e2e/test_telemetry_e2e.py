"""Telemetry end to end: real gateway, services and Tesla simulator processes.

Connect a Tesla account through the OAuth redirect (against the simulator), script a plug-in with
``/_sim``, poll through the gateway, watch the session start, update and end with the right end time,
and see ``SessionEnded`` written to the outbox and attempted (incentives may not take it yet)."""
from __future__ import annotations

import datetime as dt
import sqlite3
import time

import httpx
import pytest

from tests.e2e.conftest import start_stack, token

pytestmark = pytest.mark.e2e
VIN = "5YJ3E1EA1NF000001"


@pytest.fixture(scope="module")
def tstack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("telemetry-stack")
    s = start_stack(tmp, {"TESLA_WAKE_RETRY_S": "0.1"})
    s.tmp = tmp
    yield s
    s.stop()


@pytest.fixture(scope="module")
def gw(tstack):
    with httpx.Client(base_url=f"http://127.0.0.1:{tstack.ports.gateway}", timeout=15) as c:
        yield c


@pytest.fixture(scope="module")
def sim(tstack):
    with httpx.Client(base_url=f"http://127.0.0.1:{tstack.ports.simulators['tesla']}", timeout=15) as c:
        c.post("/_sim/reset", json={"seed": True}).raise_for_status()
        c.post("/_sim/clock", json={"frozen": True}).raise_for_status()
        yield c


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def advance(sim, seconds: float) -> None:
    sim.post("/_sim/clock/advance", json={"seconds": seconds}).raise_for_status()


def sim_now(sim) -> dt.datetime:
    return dt.datetime.fromisoformat(sim.get("/_sim/clock").json()["now"].replace("Z", "+00:00"))


def test_connect_plug_in_poll_unplug_and_session_ended(gw, sim, tstack):
    driver = token("driver-tel-e2e")
    assert gw.get("/v1/auth/tesla/status", headers=auth(driver)).json()["connected"] is False
    p = gw.post("/v1/charging-sessions/poll", headers=auth(driver)).json()
    assert p["session_active"] is False and p["error"] == "no_tesla_connection" and p["session_id"] is None

    # OAuth: T2 → simulator authorize (auto-approve) → T3 through the gateway → 307 to the app
    r = gw.get("/v1/auth/tesla/connect", headers=auth(driver))
    assert r.status_code == 200, r.text
    authorize = r.json()["authorization_url"]
    assert "code_challenge_method=S256" in authorize and f"state={r.json()['state']}" in authorize
    approved = httpx.get(authorize, follow_redirects=False, timeout=10)
    assert approved.status_code == 302
    callback = approved.headers["location"]
    assert callback.startswith(str(gw.base_url) + "/v1/auth/tesla/callback?")
    done = gw.get(callback.replace(str(gw.base_url), ""), follow_redirects=False)
    assert done.status_code == 307, done.text
    assert done.headers["location"].endswith("/tesla-connected?success=true")
    replay = gw.get(callback.replace(str(gw.base_url), ""), follow_redirects=False)
    assert replay.status_code == 400 and replay.json()["detail"] == "Invalid or expired state"
    st = gw.get("/v1/auth/tesla/status", headers=auth(driver)).json()
    assert st["connected"] is True and st["vin"] == VIN[-4:] and st["vehicle_name"] == "Demo Model Y"

    # asleep, no session: no wake (T1 just read the car: wait out the 30 s dedup)
    advance(sim, 31)
    p = gw.post("/v1/charging-sessions/poll", headers=auth(driver)).json()
    assert p["session_active"] is False and p["vehicle_asleep"] is True and p["recommended_interval_s"] == 300

    # plug in (AC 11 kW) and poll: the session opens
    sim.post(f"/_sim/vehicles/{VIN}/script", json={"steps": [
        {"after_s": 0, "action": "plug_in", "params": {"dc": False, "power_kw": 11}}]}).raise_for_status()
    advance(sim, 40)
    started_at = sim_now(sim)
    p = gw.post("/v1/charging-sessions/poll", headers=auth(driver), json={"lat": 30.3979, "lng": -97.7044}).json()
    assert p["session_active"] is True and p["cached"] is False, p
    assert p["charger_power_kw"] == 11 and p["battery_level"] == 65 and p["minutes_to_full"] > 0
    sid = p["session_id"]
    assert gw.get("/v1/charging-sessions/active", headers=auth(driver)).json()["session"]["id"] == sid

    advance(sim, 600)
    last_charging_at = sim_now(sim)
    p = gw.post("/v1/charging-sessions/poll", headers=auth(driver)).json()
    assert p["session_active"] is True and p["duration_minutes"] == 10 and p["kwh_delivered"] > 1.5

    # unplug, detected 5 minutes later: the end time is the last time seen charging
    sim.post(f"/_sim/vehicles/{VIN}/script", json={"steps": [{"after_s": 0, "action": "unplug"}]})
    advance(sim, 300)
    p = gw.post("/v1/charging-sessions/poll", headers=auth(driver)).json()
    assert p["session_ended"] is True and p["session_id"] == sid and p["session_active"] is False
    assert p["incentive_granted"] is False and p["incentive_amount_cents"] == 0

    s = gw.get(f"/v1/charging-sessions/{sid}", headers=auth(driver)).json()["session"]
    assert dt.datetime.fromisoformat(s["session_start"]) == started_at.replace(tzinfo=None)
    assert dt.datetime.fromisoformat(s["session_end"]) == last_charging_at.replace(tzinfo=None)
    assert s["duration_minutes"] == 10 and s["ended_reason"] == "unplugged" and s["verified"] is True
    assert s["charger_id"] == "demo-charger-austin-domain" and s["incentive"] is None
    listed = gw.get("/v1/charging-sessions/", headers=auth(driver)).json()
    assert listed["count"] == 1 and listed["sessions"][0]["id"] == sid
    active = gw.get("/v1/charging-sessions/active", headers=auth(driver)).json()
    assert active["active"] is False and active["session"] is None and active["last_ended_session"]["id"] == sid

    # SessionEnded is in the outbox under the session id and delivery was attempted
    db = sqlite3.connect(tstack.tmp / "telemetry.db")
    deadline = time.monotonic() + 10
    row = None
    while time.monotonic() < deadline:
        row = db.execute("SELECT topic, attempts, delivered_at FROM outbox WHERE key = ?", (sid,)).fetchone()
        if row and (row[1] > 0 or row[2]):
            break
        time.sleep(0.2)
    assert row is not None and row[0] == "SessionEnded" and (row[1] > 0 or row[2] is not None)


def test_bad_input_and_ownership(gw, sim):
    driver, other = token("driver-tel-e2e-2"), token("driver-tel-e2e-3")
    assert gw.get("/v1/charging-sessions/not-a-uuid", headers=auth(driver)).status_code == 404
    r = gw.post("/v1/charging-sessions/00000000-0000-0000-0000-000000000000/end", headers=auth(driver))
    assert r.status_code == 404 and r.json()["detail"] == "Active session not found"
    assert gw.get("/v1/charging-sessions/?limit=0", headers=auth(driver)).status_code == 400
    assert gw.get("/v1/charging-sessions/?limit=101", headers=auth(driver)).status_code == 400
    assert gw.post("/v1/charging-sessions/background-ping", headers=auth(driver), json={"lat": 30.1}).status_code == 400
    assert gw.post("/v1/charging-sessions/background-ping", headers=auth(other),
                   json={"lat": 10.0, "lng": 10.0}).json()["matched"] is False
    r = gw.post("/v1/auth/tesla/select-vehicle", headers=auth(driver), json={"vehicle_id": "1"})
    assert r.status_code == 400 and r.json()["detail"] == "No active Tesla connection"
    r = gw.post("/v1/auth/tesla/verify-charging", headers=auth(driver), json={})
    assert r.status_code == 400
    codes = gw.get("/v1/auth/tesla/codes", headers=auth(driver))
    assert codes.status_code == 200 and codes.json() == []
    assert gw.get("/v1/auth/tesla/callback?code=x&state=nope", follow_redirects=False).status_code == 400
    assert gw.post("/v1/tesla/configure-telemetry", headers=auth(driver)).status_code == 503
    assert gw.post("/v1/auth/tesla/disconnect", headers=auth(driver), json={}).json() == {
        "success": True, "message": "Tesla disconnected"}
    browse = gw.get("/v1/campaigns/chargers/browse?state=TX", headers=auth(token("sponsor-x", "sponsor"))).json()
    assert browse["total"] >= 2 and {c["id"] for c in browse["chargers"]} >= {"demo-charger-austin-domain"}
