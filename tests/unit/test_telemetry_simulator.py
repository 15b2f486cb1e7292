"""The Tesla Fleet API simulator in-process (ASGI): OAuth, errors, vehicle model, control API."""
from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest

from simulators.tesla.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, build_app

VIN = "5YJ3E1EA1NF000001"
REDIRECT = "http://127.0.0.1:1/v1/auth/tesla/callback"
SCOPE = "openid offline_access user_data vehicle_device_data vehicle_location vehicle_charging_cmds"


@pytest.fixture
async def sim(monkeypatch):
    monkeypatch.setenv("TESLA_SIM_SEED", "demo")
    app = build_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        await c.post("/_sim/clock", json={"now": "2026-03-01T12:00:00Z", "frozen": True})
        yield c


def pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(b"v" * 40).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def login(sim: httpx.AsyncClient, scope: str = SCOPE) -> dict:
    verifier, challenge = pkce()
    r = await sim.get("/oauth2/v3/authorize", params={
        "response_type": "code", "client_id": DEFAULT_CLIENT_ID, "redirect_uri": REDIRECT, "scope": scope,
        "state": "st1", "code_challenge": challenge, "code_challenge_method": "S256", "nonce": "n1"})
    assert r.status_code == 302
    q = parse_qs(urlparse(r.headers["location"]).query)
    assert q["state"] == ["st1"]
    form = {"grant_type": "authorization_code", "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET, "code": q["code"][0], "redirect_uri": REDIRECT,
            "code_verifier": verifier}
    r = await sim.post("/oauth2/v3/token", data=form)
    assert r.status_code == 200, r.text
    again = await sim.post("/oauth2/v3/token", data=form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_auth_code"
    return r.json()


def auth(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_oauth_pkce_id_token_and_rotation(sim):
    tokens = await login(sim)
    jwks = (await sim.get("/oauth2/v3/thirdparty/keys")).json()
    header = jwt.get_unverified_header(tokens["id_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(tokens["id_token"], jwt.PyJWK(key).key, algorithms=["RS256"], audience=DEFAULT_CLIENT_ID,
                        options={"verify_exp": False})
    assert claims["iss"] == "https://auth.tesla.com/oauth2/v3/nts" and claims["nonce"] == "n1"
    assert tokens["refresh_token"].startswith("NA_") and tokens["expires_in"] == 28800
    refresh = {"grant_type": "refresh_token", "client_id": DEFAULT_CLIENT_ID,
               "refresh_token": tokens["refresh_token"]}
    r1 = await sim.post("/oauth2/v3/token", data=refresh)
    assert r1.status_code == 200 and r1.json()["refresh_token"] != tokens["refresh_token"]
    r2 = await sim.post("/oauth2/v3/token", data=refresh)  # the old one died at once
    assert r2.status_code == 401 and r2.json()["error"] == "login_required"
    bad = await sim.post("/oauth2/v3/token", data={"grant_type": "password", "client_id": DEFAULT_CLIENT_ID})
    assert bad.json()["error"] == "unsupported_grant_type"
    r = await sim.get("/oauth2/v3/authorize", params={"client_id": "nope", "redirect_uri": REDIRECT})
    assert r.status_code == 400


async def test_errors_asleep_region_scope_and_rate_limit(sim):
    tokens = await login(sim)
    r = await sim.get("/na/api/1/vehicles", headers=auth(tokens))
    assert r.json()["count"] == 1 and r.json()["response"][0]["state"] == "asleep"
    vid = r.json()["response"][0]["id_s"]
    r = await sim.get(f"/na/api/1/vehicles/{vid}/vehicle_data", headers=auth(tokens))
    assert r.status_code == 408 and r.json()["error"] == "vehicle unavailable: vehicle is offline or asleep"
    r = await sim.get("/eu/api/1/vehicles", headers=auth(tokens))
    assert r.status_code == 421 and "use base URL" in r.json()["error"]
    assert (await sim.get("/eu/api/1/users/region", headers=auth(tokens))).json()["response"]["region"] == "na"
    assert (await sim.get("/na/api/1/vehicles", headers={"Authorization": "Bearer nope"})).status_code == 401
    limited = await login(sim, scope="openid user_data")
    assert (await sim.get(f"/na/api/1/vehicles/{VIN}/vehicle_data", headers=auth(limited))).status_code == 403
    w = await sim.post(f"/na/api/1/vehicles/{VIN}/wake_up", headers=auth(tokens))
    assert w.json()["response"]["state"] == "asleep"  # the current state
    await sim.post("/_sim/clock/advance", json={"seconds": 10})
    statuses = [(await sim.get(f"/na/api/1/vehicles/{VIN}/vehicle_data", headers=auth(tokens))).status_code
                for _ in range(60)]
    # the 408 read above was billed and counted in the same vehicle-minute: 60 per minute in all
    assert statuses[:59] == [200] * 59 and statuses[59] == 429
    r = await sim.get(f"/na/api/1/vehicles/{VIN}/vehicle_data", headers=auth(tokens))
    assert int(r.headers["Retry-After"]) > 0 and r.json()["error"].startswith("Retry in ")
    billing = (await sim.get("/_sim/billing")).json()
    assert billing["categories"]["wake"]["requests"] == 1
    assert billing["categories"]["data"]["micro_dollars"] == billing["categories"]["data"]["requests"] * 2000


async def test_scripted_charging_session_and_ground_truth(sim):
    tokens = await login(sim)
    await sim.post(f"/_sim/vehicles/{VIN}/script", json={"steps": [
        {"after_s": 60, "action": "plug_in", "params": {"dc": False, "power_kw": 11}},
        {"after_s": 60 + 1800, "action": "stop"},
        {"after_s": 60 + 2400, "action": "resume"},
        {"after_s": 60 + 3600, "action": "unplug"}]})
    await sim.post("/_sim/clock/advance", json={"seconds": 120})
    url = f"/na/api/1/vehicles/{VIN}/vehicle_data?endpoints=charge_state;location_data"
    cs = (await sim.get(url, headers=auth(tokens))).json()["response"]
    assert cs["charge_state"]["charging_state"] == "Charging" and cs["charge_state"]["charger_power"] == 11
    assert cs["drive_state"]["latitude"] == 30.3979
    assert 0.1 < cs["charge_state"]["charge_energy_added"] < 0.25
    assert cs["charge_state"]["minutes_to_full_charge"] > 0
    no_loc = (await sim.get(f"/na/api/1/vehicles/{VIN}/vehicle_data?endpoints=charge_state;drive_state",
                            headers=auth(tokens))).json()["response"]
    assert "latitude" not in no_loc["drive_state"] and "vehicle_config" not in no_loc
    await sim.post("/_sim/clock/advance", json={"seconds": 1800})
    cs = (await sim.get(url, headers=auth(tokens))).json()["response"]["charge_state"]
    assert cs["charging_state"] == "Stopped" and cs["charger_power"] == 0
    await sim.post("/_sim/clock/advance", json={"seconds": 2000})
    cs = (await sim.get(url, headers=auth(tokens))).json()["response"]["charge_state"]
    assert cs["charging_state"] == "Disconnected"
    truth = (await sim.get("/_sim/sessions")).json()["sessions"]
    assert len(truth) == 1
    s = truth[0]
    assert s["plugged_at"] == "2026-03-01T12:01:00.000Z" and s["unplugged_at"] == "2026-03-01T13:01:00.000Z"
    assert [seg["start"] for seg in s["segments"]] == ["2026-03-01T12:01:00.000Z", "2026-03-01T12:41:00.000Z"]
    assert s["last_charging_at"] == "2026-03-01T13:01:00.000Z"
    assert s["kwh"] == pytest.approx(11 * 50 / 60, abs=1e-3)
    # idle car falls asleep after 10 virtual minutes without reads
    await sim.post("/_sim/clock/advance", json={"seconds": 601})
    assert (await sim.get(f"/_sim/vehicles/{VIN}")).json()["state"] == "asleep"


async def test_complete_at_limit_offline_null_reads_and_faults(sim):
    tokens = await login(sim)
    await sim.patch(f"/_sim/vehicles/{VIN}", json={"battery": 89, "charge_limit_soc": 90})
    await sim.post(f"/_sim/vehicles/{VIN}/script", json={"steps": [
        {"after_s": 0, "action": "plug_in", "params": {"dc": True, "power_kw": 75}},
        {"after_s": 1, "action": "null_state_reads", "params": {"count": 1}}]})
    await sim.post("/_sim/clock/advance", json={"seconds": 2})
    url = f"/na/api/1/vehicles/{VIN}/vehicle_data?endpoints=charge_state"
    assert (await sim.get(url, headers=auth(tokens))).json()["response"]["charge_state"]["charging_state"] is None
    await sim.post("/_sim/clock/advance", json={"seconds": 120})
    cs = (await sim.get(url, headers=auth(tokens))).json()["response"]["charge_state"]
    assert cs["charging_state"] == "Complete" and cs["battery_level"] == 90
    assert cs["charge_energy_added"] == pytest.approx(0.75, abs=0.01)
    await sim.post("/_sim/faults", json={"path": "vehicle_data", "status": 503, "count": 1})
    assert (await sim.get(url, headers=auth(tokens))).status_code == 503
    assert (await sim.get(url, headers=auth(tokens))).status_code == 200
    await sim.post(f"/_sim/vehicles/{VIN}/script", json={"steps": [
        {"after_s": 0, "action": "offline", "params": {"duration_s": 300}}]})
    assert (await sim.get(url, headers=auth(tokens))).status_code == 408
    w = await sim.post(f"/na/api/1/vehicles/{VIN}/wake_up", headers=auth(tokens))
    assert w.json()["response"]["state"] == "offline"
    await sim.post("/_sim/clock/advance", json={"seconds": 301})
    assert (await sim.get(url, headers=auth(tokens))).status_code == 200
    await sim.post("/_sim/accounts/demo/revoke")
    assert (await sim.get(url, headers=auth(tokens))).status_code == 401
