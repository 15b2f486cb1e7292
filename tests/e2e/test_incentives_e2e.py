"""Incentives through the real gateway and processes: a sponsor creates, funds (mock) and activates
a campaign; ownership and roles hold; a session ingested over gRPC (as telemetry's outbox does)
yields a grant the sponsor sees; the driver's reputation endpoint answers."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid

import grpc
import httpx
import pytest
from google.protobuf import timestamp_pb2

from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from tests.e2e.conftest import SECRET, token

pytestmark = pytest.mark.e2e


def call(base_url, method, path, tok=None, **kw):
    headers = kw.pop("headers", {})
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    return httpx.request(method, base_url + path, headers=headers, timeout=10, **kw)


def _ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def test_campaign_create_fund_activate_and_a_session_earns_a_grant(stack, base_url):
    sponsor, other = token("sponsor-e2e", "sponsor"), token("sponsor-e2e-2", "sponsor")
    driver = token("driver-e2e", "driver")
    body = {"sponsor_name": "Acme", "name": "E2E boost", "budget_cents": 5000, "cost_per_session_cents": 250,
            "start_date": "2026-01-01", "time_zone": "America/Chicago",
            "rules": {"charger_ids": ["ch-e2e"], "time_start": "0:00", "time_end": "23:59"}, "caps": {"per_day": 2}}
    r = call(base_url, "POST", "/v1/campaigns/", driver, json=body)
    assert r.status_code == 403 and r.json() == {"detail": "Sponsor or admin access required"}
    r = call(base_url, "POST", "/v1/campaigns/", sponsor, json={**body, "time_zone": "Nowhere/Else"})
    assert r.status_code == 400 and "time_zone" in r.json()["detail"]
    r = call(base_url, "POST", "/v1/campaigns", sponsor, json=body)
    assert r.status_code == 200, r.text
    camp = r.json()["campaign"]
    assert (camp["status"], camp["funding_status"], camp["rules"]["time_start"]) == ("draft", "unfunded", "00:00")
    assert camp["start_date"] == "2026-01-01T00:00:00" and camp["end_date"] is None
    assert camp["max_grants_per_driver_per_day"] == 2 and camp["rules"]["zone_ids"] == []
    cid = camp["id"]

    assert call(base_url, "GET", f"/v1/campaigns/{cid}", other).status_code == 404
    assert call(base_url, "GET", "/v1/campaigns/not-a-uuid", sponsor).status_code == 400
    r = call(base_url, "POST", f"/v1/campaigns/{cid}/activate", sponsor, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"] == (
        "Campaign must be funded before activation (current: unfunded)")
    r = call(base_url, "PUT", f"/v1/campaigns/{cid}", sponsor, json={"end_date": "2026-12-31", "rules": {"zone_ids": None}})
    assert r.status_code == 200 and r.json()["campaign"]["end_date"] == "2026-12-31T23:59:59"

    r = call(base_url, "POST", f"/v1/campaigns/{cid}/checkout", sponsor)
    assert r.status_code == 200, r.text
    assert r.json()["checkout_url"] is None and r.json()["status"] == "funded"
    r = call(base_url, "POST", f"/v1/campaigns/{cid}/activate", sponsor)
    assert r.status_code == 200 and r.json()["campaign"]["status"] == "active"
    assert r.json()["campaign"]["budget_cents"] == 4000 and r.json()["campaign"]["platform_fee_cents"] == 1000
    listed = call(base_url, "GET", "/v1/campaigns/", sponsor).json()
    assert [c["id"] for c in listed["campaigns"]] == [cid] and listed["total"] == 1
    assert call(base_url, "GET", "/v1/campaigns/", other).json()["total"] == 0
    r = call(base_url, "PUT", f"/v1/campaigns/{cid}", sponsor, json={"name": "x"})
    assert r.status_code == 400 and r.json()["detail"] == "Cannot edit campaign in 'active' status"

    # telemetry's outbox delivers SessionEnded over gRPC with a service token
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=40)
    session_id = str(uuid.uuid4())
    req = incentives_pb2.IngestSessionEndedRequest(
        session_id=session_id, driver_id="driver-e2e", session_start=_ts(start),
        session_end=_ts(start + dt.timedelta(minutes=35)), duration_minutes=35, charger_id="ch-e2e",
        verified=True, quality_score=85, source="tesla_api")
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports.services['incentives']}") as ch:
        stub = incentives_pb2_grpc.IncentivesServiceStub(ch)
        md = (("authorization", f"Bearer {token('service:telemetry', 'service')}"),)
        out = stub.IngestSessionEnded(req, metadata=md, timeout=10)
        assert out.outcome == "granted" and out.grant.amount_cents == 250
        assert stub.IngestSessionEnded(req, metadata=md, timeout=10).grant.grant_id == out.grant.grant_id
        with pytest.raises(grpc.RpcError) as info:
            stub.IngestSessionEnded(req, metadata=(("authorization", f"Bearer {driver}"),), timeout=10)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED

    grants = call(base_url, "GET", f"/v1/campaigns/{cid}/grants", sponsor).json()
    assert grants["total"] == 1 and grants["grants"][0]["session_event_id"] == session_id
    assert grants["grants"][0]["driver_user_id"] == "driver-e2e"
    assert call(base_url, "GET", f"/v1/campaigns/{cid}/grants", other).status_code == 404
    budget = call(base_url, "GET", f"/v1/campaigns/{cid}/budget", sponsor).json()
    assert budget == {"budget_cents": 4000, "spent_cents": 250, "remaining_cents": 3750, "pct_used": 6.3,
                      "sessions_granted": 1, "max_sessions": None}
    active = call(base_url, "GET", "/v1/campaigns/driver/active?charger_id=ch-e2e", driver).json()["campaigns"]
    assert [(c["id"], c["reward_cents"], c["eligible"]) for c in active] == [(cid, 250, True)]
    rep = call(base_url, "GET", "/v1/charging-sessions/reputation", driver)
    assert rep.status_code == 200 and rep.json()["tier"] == "Bronze" and rep.json()["streak_days"] >= 1

    # the CLI session injector (service token, IngestSessionEnded)
    cli = subprocess.run([sys.executable, "-m", "cli.main", "incentives", "simulate-session", "--driver", "driver-e2e",
                          "--charger-id", "ch-e2e", "--minutes", "45",
                          "--addr", f"127.0.0.1:{stack.ports.services['incentives']}"],
                         capture_output=True, text=True, timeout=30, env={**os.environ, "NERAVA_JWT_SECRET": SECRET})
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["outcome"] == "granted"

    r = call(base_url, "POST", f"/v1/campaigns/{cid}/pause?reason=holiday", sponsor)
    assert r.status_code == 200 and r.json()["campaign"]["status"] == "paused"
    r = call(base_url, "POST", f"/v1/campaigns/{cid}/cancel", sponsor)
    assert r.status_code == 200 and r.json()["unspent_cents"] == 3500
    assert r.json()["campaign"]["status"] == "canceled"
