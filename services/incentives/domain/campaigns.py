"""Campaign rules as plain Python: input validation (§3.1), dates (§3.2), the lifecycle (§2)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kit import errors
from services.incentives.domain import timezones as tzs

STATUSES = ("draft", "active", "paused", "exhausted", "completed", "canceled")
TERMINAL = ("completed", "canceled")
MAX_PAGE = 100
DEFAULT_PAGE = 50
MAX_BUDGET = 100_000_000
MAX_PRIORITY = 1_000_000
DEFAULT_MIN_DURATION = 15
COMPLETION_GRACE = dt.timedelta(minutes=120)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")

LIST_RULES = {"charger_ids": 5000, "charger_networks": 500, "zone_ids": 500, "connector_types": 500,
              "driver_allowlist": 10000}
RULE_FIELDS = ("charger_ids", "charger_networks", "zone_ids", "geo_center_lat", "geo_center_lng",
               "geo_radius_m", "time_start", "time_end", "days_of_week", "min_duration_minutes",
               "max_duration_minutes", "min_power_kw", "connector_types", "driver_session_count_min",
               "driver_session_count_max", "driver_allowlist")
CAP_FIELDS = ("per_day", "per_week", "per_campaign", "per_charger")


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
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    end_date_only: bool = False
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
    platform_fee_bps: int | None = None
    allow_partner_sessions: bool = False
    partner_ids: list[str] = dataclasses.field(default_factory=list)
    max_partner_trust_tier: int | None = None
    checkout_attempt: int = 0
    stripe_checkout_session_id: str | None = None
    paused_at: dt.datetime | None = None
    pause_reason: str | None = None
    canceled_at: dt.datetime | None = None
    cancel_reason: str | None = None
    completed_at: dt.datetime | None = None
    completion_reason: str | None = None
    index_dimension: str = "any"
    create_request_id: str | None = None
    version: int = 0

    @property
    def remaining_cents(self) -> int:
        return self.budget_cents - self.spent_cents

    @property
    def has_room(self) -> bool:
        return self.remaining_cents >= self.cost_per_session_cents and (
            self.max_sessions is None or self.sessions_granted < self.max_sessions)

    def ended(self, now: dt.datetime) -> bool:
        return self.ends_at is not None and now >= self.ends_at

    def effective_status(self, now: dt.datetime) -> str:
        """Reads report ``completed`` from ``ends_at`` onward (before the sweeper runs)."""
        if self.status in ("active", "paused", "exhausted") and self.ended(now):
            return "completed"
        return self.status


@dataclasses.dataclass(frozen=True)
class CampaignQuery:
    owner_id: str | None  # None = every owner (admins)
    status: str | None
    sponsor_name: str | None
    limit: int
    offset: int


def page(limit: int | None, offset: int | None) -> tuple[int, int]:
    lim = DEFAULT_PAGE if limit is None else limit
    if not 1 <= lim <= MAX_PAGE:
        raise errors.InvalidArgument(f"limit must be between 1 and {MAX_PAGE}")
    off = 0 if offset is None else offset
    if off < 0:
        raise errors.InvalidArgument("offset must be 0 or more")
    return lim, off


def campaign_query(*, caller_id: str, is_admin: bool, status: str | None, sponsor_name: str | None,
                   limit: int | None, offset: int | None) -> CampaignQuery:
    """I2: admins see all campaigns, everyone else only their own; bad paging → 400."""
    if status is not None and status not in STATUSES:
        raise errors.InvalidArgument(f"Unknown status '{status}'; expected one of {', '.join(STATUSES)}")
    lim, off = page(limit, offset)
    return CampaignQuery(None if is_admin else caller_id, status, sponsor_name or None, lim, off)


# ------------------------------------------------------------------------------------------------
# Input validation (§3.1)
# ------------------------------------------------------------------------------------------------

def _text(value: Any, field: str, *, required: bool = False, max_len: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise errors.InvalidArgument(f"{field} is required")
        return None
    text = str(value).strip()
    if len(text) > max_len:
        raise errors.InvalidArgument(f"{field} must be at most {max_len} characters")
    return text


def _int_range(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidArgument(f"{field} must be an integer")
    if not lo <= value <= hi:
        raise errors.InvalidArgument(f"{field} must be between {lo} and {hi}")
    return value


def _count_or_null(value: Any, field: str, *, zero_is_null: bool = False) -> int | None:
    if value is None:
        return None
    if zero_is_null and value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.InvalidArgument(f"{field} must be 1 or more (or null)")
    return value


def _clean_list(values: Iterable[Any] | None, field: str, limit: int) -> list[str] | None:
    out: list[str] = []
    seen: set[str] = set()
    for v in values or ():
        s = str(v).strip()
        if s and s not in seen:
            seen.add(s)
            out.append(s)
    if len(out) > limit:
        raise errors.InvalidArgument(f"{field} may list at most {limit} entries")
    return out or None


def _hhmm(value: Any, field: str) -> str:
    m = _HHMM.match(str(value).strip()) if value is not None else None
    if not m or not (0 <= int(m.group(1)) <= 23 and 0 <= int(m.group(2)) <= 59):
        raise errors.InvalidArgument(f"{field} must be H:MM or HH:MM between 00:00 and 23:59")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def normalise_rules(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A complete, validated rules dict (absent keys = rule off; min duration defaults to 15)."""
    r: dict[str, Any] = {}
    for name, limit in LIST_RULES.items():
        lst = _clean_list(raw.get(name), f"rules.{name}", limit)
        if lst is not None:
            r[name] = lst
    days = raw.get("days_of_week")
    if days:
        ds = []
        for d in days:
            if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7:
                raise errors.InvalidArgument("rules.days_of_week entries must be ISO weekdays 1 (Mon) to 7 (Sun)")
            if d not in ds:
                ds.append(d)
        r["days_of_week"] = sorted(ds)
    lat, lng, rad = raw.get("geo_center_lat"), raw.get("geo_center_lng"), raw.get("geo_radius_m")
    if any(v is not None for v in (lat, lng, rad)):
        if any(v is None for v in (lat, lng, rad)):
            raise errors.InvalidArgument(
                "rules.geo_center_lat, rules.geo_center_lng and rules.geo_radius_m must be set together")
        if not -90 <= float(lat) <= 90:
            raise errors.InvalidArgument("rules.geo_center_lat must be between -90 and 90")
        if not -180 <= float(lng) <= 180:
            raise errors.InvalidArgument("rules.geo_center_lng must be between -180 and 180")
        r["geo_center_lat"], r["geo_center_lng"] = float(lat), float(lng)
        r["geo_radius_m"] = _int_range(rad, "rules.geo_radius_m", 1, 500_000)
    ts, te = raw.get("time_start"), raw.get("time_end")
    if (ts is None) != (te is None):
        raise errors.InvalidArgument("rules.time_start and rules.time_end must be set together")
    if ts is not None:
        r["time_start"], r["time_end"] = _hhmm(ts, "rules.time_start"), _hhmm(te, "rules.time_end")
    mn = raw.get("min_duration_minutes")
    r["min_duration_minutes"] = DEFAULT_MIN_DURATION if mn is None else _int_range(
        mn, "rules.min_duration_minutes", 1, 1440)
    mx = raw.get("max_duration_minutes")
    if mx is not None:
        r["max_duration_minutes"] = _int_range(mx, "rules.max_duration_minutes", r["min_duration_minutes"], 10080)
    kw = raw.get("min_power_kw")
    if kw is not None:
        if not 0 < float(kw) <= 1000:
            raise errors.InvalidArgument("rules.min_power_kw must be greater than 0 and at most 1000")
        r["min_power_kw"] = float(kw)
    cmin = _count_or_null(raw.get("driver_session_count_min"), "rules.driver_session_count_min")
    cmax = _count_or_null(raw.get("driver_session_count_max"), "rules.driver_session_count_max")
    if cmin is not None and cmax is not None and cmax < cmin:
        raise errors.InvalidArgument("rules.driver_session_count_max must be ≥ rules.driver_session_count_min")
    if cmin is not None:
        r["driver_session_count_min"] = cmin
    if cmax is not None:
        r["driver_session_count_max"] = cmax
    return r


def normalise_caps(raw: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in CAP_FIELDS:
        v = _count_or_null(raw.get(name), f"caps.{name}", zero_is_null=True)
        if v is not None:
            out[name] = v
    return out


def _money(c_budget: int, cost: int) -> None:
    _int_range(c_budget, "budget_cents", 1, MAX_BUDGET)
    if isinstance(cost, bool) or not isinstance(cost, int) or not 1 <= cost <= c_budget:
        raise errors.InvalidArgument("cost_per_session_cents must be between 1 and budget_cents")


def _window(tz_name: str, start: str, end: str | None) -> dict[str, Any]:
    tz = tzs.zone(tz_name)
    starts_at, start_echo, _ = tzs.parse_local(start, tz, "start_date", is_end=False)
    out: dict[str, Any] = {"starts_at": starts_at, "start_date": start_echo, "ends_at": None,
                           "end_date": None, "end_date_only": False}
    if end is not None and str(end).strip():
        ends_at, end_echo, date_only = tzs.parse_local(end, tz, "end_date", is_end=True)
        if ends_at <= starts_at:
            raise errors.InvalidArgument("end_date must be after start_date")
        out.update(ends_at=ends_at, end_date=end_echo, end_date_only=date_only)
    return out


def _raw_end(c: Campaign) -> str | None:
    if c.end_date is None:
        return None
    return c.end_date[:10] if c.end_date_only else c.end_date


def _partner(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "allow_partner_sessions" in values:
        out["allow_partner_sessions"] = bool(values["allow_partner_sessions"])
    if "partner_ids" in values:
        out["partner_ids"] = _clean_list(values["partner_ids"], "partner_ids", 500) or []
    if "max_partner_trust_tier" in values:
        tier = values["max_partner_trust_tier"]
        if tier is not None and (not isinstance(tier, int) or tier < 0):
            raise errors.InvalidArgument("max_partner_trust_tier must be 0 or more (or null)")
        out["max_partner_trust_tier"] = tier
    return out


def new_campaign(values: Mapping[str, Any], *, campaign_id: str, owner_id: str, now: dt.datetime,
                 request_id: str | None = None) -> Campaign:
    """I3: a draft with funding ``unfunded``; persists every field (monolith dropped some)."""
    sponsor = _text(values.get("sponsor_name"), "sponsor_name", required=True)
    name = _text(values.get("name"), "name", required=True)
    budget, cost = values.get("budget_cents"), values.get("cost_per_session_cents")
    _money(budget, cost)
    priority = values.get("priority")
    priority = 100 if priority is None else _int_range(priority, "priority", 0, MAX_PRIORITY)
    tz_name = tzs.validate_zone(values.get("time_zone"))
    window = _window(tz_name, values.get("start_date") or "", values.get("end_date"))
    arb = values.get("auto_renew_budget_cents")
    if arb is not None:
        _int_range(arb, "auto_renew_budget_cents", 0, MAX_BUDGET)
    return Campaign(
        id=campaign_id, owner_id=owner_id, sponsor_name=sponsor or "", name=name or "",
        sponsor_email=_text(values.get("sponsor_email"), "sponsor_email", max_len=320),
        sponsor_logo_url=_text(values.get("sponsor_logo_url"), "sponsor_logo_url", max_len=2000),
        sponsor_type=_text(values.get("sponsor_type"), "sponsor_type", max_len=50),
        description=_text(values.get("description"), "description", max_len=5000),
        campaign_type=_text(values.get("campaign_type"), "campaign_type", max_len=50) or "custom",
        status="draft", priority=priority, budget_cents=budget, spent_cents=0,
        cost_per_session_cents=cost, sessions_granted=0,
        max_sessions=_count_or_null(values.get("max_sessions"), "max_sessions"),
        time_zone=tz_name, funding_status="unfunded", created_at=now, updated_at=now,
        auto_renew=bool(values.get("auto_renew") or False), auto_renew_budget_cents=arb,
        rules=normalise_rules(values.get("rules") or {}), caps=normalise_caps(values.get("caps") or {}),
        create_request_id=request_id or None, **window, **_partner(values),
    )


def apply_update(c: Campaign, paths: Iterable[str], values: Mapping[str, Any], *, is_admin: bool,
                 now: dt.datetime) -> Campaign:
    """I5: a partial update driven by mask paths. A masked null clears; unmasked = unchanged."""
    paths = [p for p in paths if p]
    if not paths:
        return c
    if c.status not in ("draft", "paused"):
        raise errors.FailedPrecondition(f"Cannot edit campaign in '{c.status}' status")
    top = {p.split(".", 1)[0] for p in paths}
    unknown = top - {"name", "description", "campaign_type", "priority", "budget_cents",
                     "cost_per_session_cents", "max_sessions", "start_date", "end_date", "auto_renew",
                     "auto_renew_budget_cents", "rules", "caps", "time_zone", "owner_id",
                     "allow_partner_sessions", "partner_ids", "max_partner_trust_tier", "sponsor_name",
                     "sponsor_email", "sponsor_logo_url", "sponsor_type"}
    if unknown:
        raise errors.InvalidArgument(f"unknown update_mask path(s): {', '.join(sorted(unknown))}")
    ch: dict[str, Any] = {}
    if "owner_id" in top:
        if not is_admin:
            raise errors.PermissionDenied("Only an admin can set owner_id", reason="ADMIN_REQUIRED")
        owner = _text(values.get("owner_id"), "owner_id", required=True, max_len=128)
        ch["owner_id"] = owner
    if "name" in top:
        ch["name"] = _text(values.get("name"), "name", required=True)
    if "description" in top:
        ch["description"] = _text(values.get("description"), "description", max_len=5000)
    if "campaign_type" in top:
        ch["campaign_type"] = _text(values.get("campaign_type"), "campaign_type", max_len=50) or "custom"
    if "priority" in top:
        p = values.get("priority")
        ch["priority"] = 100 if p is None else _int_range(p, "priority", 0, MAX_PRIORITY)
    if "budget_cents" in top and values.get("budget_cents") != c.budget_cents:
        if c.funding_status != "unfunded":
            raise errors.FailedPrecondition("Budget cannot be changed after funding has started")
        if values.get("budget_cents") is None:
            raise errors.InvalidArgument("budget_cents must be between 1 and 100000000")
        ch["budget_cents"] = values["budget_cents"]
    if "cost_per_session_cents" in top:
        if values.get("cost_per_session_cents") is None:
            raise errors.InvalidArgument("cost_per_session_cents must be between 1 and budget_cents")
        ch["cost_per_session_cents"] = values["cost_per_session_cents"]
    if "budget_cents" in ch or "cost_per_session_cents" in ch:
        _money(ch.get("budget_cents", c.budget_cents), ch.get("cost_per_session_cents", c.cost_per_session_cents))
    if "max_sessions" in top:
        ms = _count_or_null(values.get("max_sessions"), "max_sessions")
        if ms is not None and ms < c.sessions_granted:
            raise errors.InvalidArgument(f"max_sessions must be at least sessions_granted ({c.sessions_granted})")
        ch["max_sessions"] = ms
    if "auto_renew" in top:
        ch["auto_renew"] = bool(values.get("auto_renew") or False)
    if "auto_renew_budget_cents" in top:
        arb = values.get("auto_renew_budget_cents")
        ch["auto_renew_budget_cents"] = None if arb is None else _int_range(arb, "auto_renew_budget_cents", 0, MAX_BUDGET)
    tz_name = c.time_zone
    if "time_zone" in top:
        new_tz = tzs.validate_zone(values.get("time_zone"))
        if new_tz != c.time_zone:
            if c.status != "draft":
                raise errors.FailedPrecondition("time_zone can only change while the campaign is a draft")
            tz_name = ch["time_zone"] = new_tz
    if {"start_date", "end_date"} & top or tz_name != c.time_zone:
        start = values.get("start_date") if "start_date" in top else c.start_date
        if "start_date" in top and not start:
            raise errors.InvalidArgument("start_date is required")
        end = values.get("end_date") if "end_date" in top else _raw_end(c)
        ch.update(_window(tz_name, start or "", end))
    rule_paths = [p for p in paths if p == "rules" or p.startswith("rules.")]
    if rule_paths:
        ch["rules"] = _merge(c.rules, rule_paths, values.get("rules") or {}, "rules")
        ch["rules"] = normalise_rules(ch["rules"])
    cap_paths = [p for p in paths if p == "caps" or p.startswith("caps.")]
    if cap_paths:
        ch["caps"] = normalise_caps(_merge(c.caps, cap_paths, values.get("caps") or {}, "caps"))
    ch.update(_partner({k: values.get(k) for k in ("allow_partner_sessions", "partner_ids",
                                                     "max_partner_trust_tier") if k in top}))
    if not ch:
        return c
    return dataclasses.replace(c, **ch, updated_at=now)


def _merge(current: Mapping[str, Any], paths: list[str], given: Mapping[str, Any], root: str) -> dict[str, Any]:
    if root in paths:  # whole-object replace
        return dict(given)
    merged = dict(current)
    if root == "rules" and "min_duration_minutes" not in merged:
        merged["min_duration_minutes"] = DEFAULT_MIN_DURATION
    for p in paths:
        key = p.split(".", 1)[1].split(".", 1)[0]
        value = given.get(key)
        if value is None or value == []:
            merged.pop(key, None)  # masked null / empty = clear (min duration → 15)
        else:
            merged[key] = value
    return merged


# ------------------------------------------------------------------------------------------------
# Lifecycle (§2, §4)
# ------------------------------------------------------------------------------------------------

def check_activate(c: Campaign, now: dt.datetime) -> None:
    if c.status != "draft":
        raise errors.FailedPrecondition(f"Can only activate draft campaigns, current status: {c.effective_status(now)}")
    if c.funding_status != "funded":
        raise errors.FailedPrecondition(
            f"Campaign must be funded before activation (current: {c.funding_status})")
    if not c.has_room:
        raise errors.FailedPrecondition("Budget is below the cost of one session")
    if c.ended(now):
        raise errors.FailedPrecondition("Campaign end date has passed")


def can_auto_activate(c: Campaign, now: dt.datetime) -> bool:
    try:
        check_activate(c, now)
    except errors.FailedPrecondition:
        return False
    return True


def check_pause(c: Campaign, now: dt.datetime) -> None:
    status = c.effective_status(now)
    if status != "active":
        raise errors.FailedPrecondition(f"Can only pause active campaigns, current status: {status}")


def check_resume(c: Campaign, now: dt.datetime) -> None:
    status = c.effective_status(now)
    if c.status == "paused" and c.ended(now):
        raise errors.FailedPrecondition("Campaign end date has passed")
    if status != "paused":
        raise errors.FailedPrecondition(f"Can only resume paused campaigns, current status: {status}")
    if not c.has_room:
        raise errors.FailedPrecondition("Cannot resume: budget exhausted")


def check_cancel(c: Campaign, now: dt.datetime) -> None:
    if c.status in TERMINAL:
        raise errors.FailedPrecondition(f"Cannot cancel campaign in '{c.status}' status")


def check_reason(reason: str | None) -> str | None:
    if reason is not None and len(reason) > 500:
        raise errors.InvalidArgument("reason must be at most 500 characters")
    return reason or None


def pct_used(budget: int, spent: int) -> float:
    """Rounded half-up to one decimal; 0 when the budget is 0."""
    if budget <= 0:
        return 0.0
    tenths = (spent * 1000 * 2 + budget) // (2 * budget)  # round half up of spent*1000/budget
    return tenths / 10


def platform_fee(gross: int, bps: int) -> tuple[int, int]:
    """(fee, net): fee = floor(gross × bps / 10000)."""
    fee = gross * bps // 10_000
    return fee, gross - fee
