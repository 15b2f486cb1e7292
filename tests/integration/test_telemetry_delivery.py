"""SessionEnded delivery (outbox → incentives, dispatch-now, retry while incentives is down), the
Tesla sign-in flow (T7/T8) and the scheduler, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlparse

import grpc
import jwt
import pytest
import sqlalchemy as sa

from kit import errors
from kit import outbox as kout
from kit.settings import DEV_JWT_SECRET
from nerava.incentives.v1 import incentives_pb2
from services.telemetry.__main__ import dispatch_now_fn, session_ended_handler
from services.telemetry.adapters.tables import outbox_table
from tests.integration.telemetry_harness import SIM, VIN, make_harness

UTC = dt.timezone.utc


class FakeIncentives:
    """Stands in for kit.clients.Upstream: down (UNAVAILABLE) until ``up``; then grants."""

    def __init__(self) -> None:
        self.up = False
        self.calls: list[incentives_pb2.IngestSessionEndedRequest] = []

    async def call(self, method, request, **kw):
        assert method == "IngestSessionEnded"
        self.calls.append(request)
        if not self.up:
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                       details="incentives down")
        resp = incentives_pb2.IngestSessionEndedResponse(outcome="granted")
        resp.grant.grant_id, resp.grant.campaign_id = "grant-" + request.session_id[:8], "camp-1"
        resp.grant.amount_cents, resp.grant.status = 175, "granted"
        return resp


@pytest.fixture
async def h(database_url):
    harness = await make_harness(database_url)
    yield harness
    await harness.close()


async def test_session_ended_delivered_once_after_incentives_comes_back(h):
    fake = FakeIncentives()
    dispatcher = kout.OutboxDispatcher(h.db, outbox_table, {"SessionEnded": session_ended_handler(h.uc, fake)},
                                       clock=h.uc.clock, base_backoff_s=1)
    h.uc.set_dispatch_now(dispatch_now_fn(h.uc, dispatcher))
    await h.connect("driver-d")
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}), (1200, "unplug", {}))
    await h.advance(10)
    sid = (await h.uc.poll("driver-d", None, None))["session_id"]
    await h.advance(600)
    await h.uc.poll("driver-d", None, None)
    await h.advance(700)
    ended = await h.uc.poll("driver-d", None, None)  # dispatch-now: incentives down → false / 0
    assert ended["session_ended"] is True and ended["incentive_granted"] is False
    assert ended["incentive_amount_cents"] == 0
    assert len(fake.calls) == 1 and fake.calls[0].session_id == sid and fake.calls[0].duration_minutes == 10
    assert fake.calls[0].ended_reason == "unplugged" and fake.calls[0].session_end.ToDatetime().minute == 10
    fake.up = True
    await h.advance(5)
    await h.uc.clock.sync()
    assert (await dispatcher.run_once()).delivered == 1
    assert (await dispatcher.run_once()).delivered == 0  # exactly once
    view = await h.uc.get_session("driver-d", sid)
    assert view["inc_status"] == "granted" and view["inc_amount_cents"] == 175
    assert len(fake.calls) == 2


async def test_dispatch_now_reports_a_grant_on_manual_end(h):
    fake = FakeIncentives()
    fake.up = True
    dispatcher = kout.OutboxDispatcher(h.db, outbox_table, {"SessionEnded": session_ended_handler(h.uc, fake)},
                                       clock=h.uc.clock)
    h.uc.set_dispatch_now(dispatch_now_fn(h.uc, dispatcher))
    await h.connect("driver-g")
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
    await h.advance(10)
    sid = (await h.uc.poll("driver-g", None, None))["session_id"]
    view = await h.uc.end_session("driver-g", sid)
    assert view["ended_reason"] == "manual" and view["inc_status"] == "granted"
    assert len(fake.calls) == 1


async def test_tesla_sign_in_issues_nerava_tokens_once(h):
    url, state = await h.uc.create_authorize_url("login", None)
    r = await h.sim.get(url.replace(SIM, ""))
    q = parse_qs(urlparse(r.headers["location"]).query)
    # T3 with a login state only peeks and forwards to the app
    redirect = await h.uc.handle_callback(q["code"][0], state)
    assert redirect.startswith("https://app.nerava.network/tesla-callback?code=")
    out = await h.uc.tesla_login(q["code"][0], state)
    claims = jwt.decode(out["access_token"], DEV_JWT_SECRET, algorithms=["HS256"], audience="nerava-api")
    assert claims["roles"] == ["driver"] and claims["sub"] == out["user"]["public_id"]
    assert out["user"]["email"] == "demo@nerava.network" and out["vehicles"][0]["vin"] == VIN
    with pytest.raises(errors.InvalidArgument, match="Invalid or expired state"):
        await h.uc.tesla_login(q["code"][0], state)  # consumed once
    _, connect_state = await h.uc.create_authorize_url("connect", "driver-z")
    with pytest.raises(errors.InvalidArgument, match="State not valid for login flow"):
        await h.uc.tesla_login("code", connect_state)
    # the same Tesla account signs in again → the same Nerava driver
    url, state = await h.uc.create_authorize_url("login", None)
    q = parse_qs(urlparse((await h.sim.get(url.replace(SIM, ""))).headers["location"]).query)
    again = await h.uc.tesla_login(q["code"][0], state)
    assert again["user"]["public_id"] == out["user"]["public_id"]
    # T9 after sign-in selects the vehicle
    sel = await h.uc.select_vehicle(out["user"]["public_id"], out["vehicles"][0]["id"])
    assert sel["vin"] == VIN and sel["model"] == "2022 Model 3"


async def test_scheduler_polls_due_sessions_by_vin_and_watchdog_ends_at_24h(h):
    await h.connect("driver-w")
    await h.sim.patch(f"/_sim/vehicles/{VIN}", json={"battery": 10, "charge_limit_soc": 100})
    await h.script(VIN, (0, "plug_in", {"power_kw": 1}))  # slow charger: never full within 24 h
    await h.advance(10)
    sid = (await h.uc.poll("driver-w", None, None))["session_id"]
    await h.advance(11 * 60)  # past next_poll_at
    before = len((await h.sim.get("/_sim/requests")).json()["requests"])
    assert await h.uc.sessions.scheduler_tick() == 1
    assert await h.uc.sessions.scheduler_tick() == 0  # not due again yet
    assert len((await h.sim.get("/_sim/requests")).json()["requests"]) == before + 1
    for _ in range(25):
        await h.advance(3600)
        await h.uc.sessions.scheduler_tick()
    await h.uc.sessions.close_stale()
    s = await h.uc.get_session("driver-w", sid)
    assert s["ended_reason"] == "max_duration"
    async with h.db.read() as conn:
        keys = [r.key for r in await conn.execute(sa.select(outbox_table.c.key))]
    assert keys == [sid]
