"""Shared helpers of the incentives integration tests (real SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import uuid

from kit.auth import Principal
from services.incentives.domain.rules import Session

UTC = dt.timezone.utc
SPONSOR = Principal("sponsor-1", frozenset({"sponsor"}))
OTHER_SPONSOR = Principal("sponsor-2", frozenset({"sponsor"}))
ADMIN = Principal("admin-1", frozenset({"admin"}))
DRIVER = Principal("driver-1", frozenset({"driver"}), email="d1@example.com")
SERVICE = Principal("service:telemetry", frozenset({"service"}))


def campaign_values(**over):
    values = {"sponsor_name": "Acme Energy", "name": "Evening boost", "budget_cents": 10_000,
              "cost_per_session_cents": 100, "start_date": "2026-01-01", "time_zone": "America/Chicago",
              "rules": {}, "caps": {}}
    values.update(over)
    return values


def session(driver: str = "driver-1", start: dt.datetime | None = None, minutes: int = 30, **over) -> Session:
    start = start or dt.datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    values = dict(session_id=str(uuid.uuid4()), driver_id=driver, session_start=start,
                  session_end=start + dt.timedelta(minutes=minutes), duration_minutes=minutes,
                  charger_id="ch-1", charger_network="ChargePoint", verified=True, quality_score=80)
    values.update(over)
    return Session(**values)


async def funded_active(uc, *, owner=SPONSOR, **over):
    """A campaign funded in mock mode and activated."""
    camp = await uc.create_campaign(owner, campaign_values(**over), None)
    await uc.fund_mock(owner, camp.id)
    return await uc.activate_campaign(owner, camp.id)
