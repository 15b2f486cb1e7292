"""Regression (found by the reliability suite): in mock mode the virtual clock may run ahead of the
wall clock (a demo or a test advances it by hours). The Tesla id_token is then issued "in the future"
of the wall clock, and T3 used to refuse it (PyJWT's iat check) → every connect after the first long
session failed with ``connection_failed``. exp/iat are now judged against the service clock."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.telemetry_harness import make_harness


@pytest.fixture
async def h(database_url):
    harness = await make_harness(database_url)
    yield harness
    await harness.close()


@pytest.mark.parametrize("offset", [dt.timedelta(hours=3), dt.timedelta(days=-200)])
async def test_connect_succeeds_when_the_virtual_clock_is_far_from_the_wall_clock(h, offset):
    now = dt.datetime.now(dt.timezone.utc) + offset
    await h.sim.post("/_sim/clock", json={"now": now.isoformat().replace("+00:00", "Z"), "frozen": True})
    assert await h.connect("driver-clock") == "https://app.nerava.network/tesla-connected?success=true"
    assert (await h.uc.tesla_status("driver-clock")).connected

