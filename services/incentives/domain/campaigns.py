"""Campaign rules as plain Python."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from kit import errors

STATUSES = ("draft", "active", "paused", "exhausted", "completed", "canceled")
MAX_PAGE = 100
DEFAULT_PAGE = 50


@dataclasses.dataclass(frozen=True)
class Campaign:
    id: str
    owner_id: str
    sponsor_name: str
    name: str
    campaign_type: str
    status: str
    priority: int
    budget_cents: int
    spent_cents: int
    cost_per_session_cents: int
    sessions_granted: int
    start_date: str
    time_zone: str
    funding_status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    end_date: str | None = None
    sponsor_email: str | None = None
    sponsor_logo_url: str | None = None
    sponsor_type: str | None = None
    description: str | None = None
    max_sessions: int | None = None
    auto_renew: bool = False
    auto_renew_budget_cents: int | None = None
    rules: dict[str, Any] = dataclasses.field(default_factory=dict)
    caps: dict[str, int] = dataclasses.field(default_factory=dict)
    funded_at: dt.datetime | None = None
    gross_funding_cents: int | None = None
    platform_fee_cents: int | None = None


@dataclasses.dataclass(frozen=True)
class CampaignQuery:
    owner_id: str | None  # None = every owner (admins)
    status: str | None
    sponsor_name: str | None
    limit: int
    offset: int


def campaign_query(*, caller_id: str, is_admin: bool, status: str | None, sponsor_name: str | None,
                   limit: int | None, offset: int | None) -> CampaignQuery:
    """I2: admins see all campaigns, everyone else only their own; bad paging → 400."""
    if status is not None and status not in STATUSES:
        raise errors.InvalidArgument(f"Unknown status '{status}'; expected one of {', '.join(STATUSES)}")
    lim = DEFAULT_PAGE if limit is None else limit
    if not 1 <= lim <= MAX_PAGE:
        raise errors.InvalidArgument(f"limit must be between 1 and {MAX_PAGE}")
    off = 0 if offset is None else offset
    if off < 0:
        raise errors.InvalidArgument("offset must be 0 or more")
    return CampaignQuery(None if is_admin else caller_id, status, sponsor_name or None, lim, off)
