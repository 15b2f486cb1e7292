"""Offers: validation (clo.md §3.3), evaluation and selection (§3.4). Pure rules, integers only."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence

MAX_REWARD_CENTS = 10_000
LOCAL_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
SESSION_POLICIES = ("not_required", "required")
CLEARABLE = ("reward_bps", "max_reward_cents", "valid_from", "valid_until", "max_rewards_per_card",
             "budget_cents", "session_window_before_minutes", "session_window_after_minutes",
             "return_period_days", "days_of_week")


class OfferInvalid(ValueError):
    """A §3.3 violation; the message names the field and never echoes its value."""


@dataclasses.dataclass(frozen=True)
class Offer:
    offer_id: str
    merchant_id: str
    reward_cents: int = 0              # fixed reward (0 for percentage offers)
    reward_bps: int | None = None      # percentage reward in basis points
    max_reward_cents: int | None = None
    min_spend_cents: int = 0
    days_of_week: tuple[int, ...] = ()  # 0 = Sunday … 6 = Saturday; () = every day
    valid_from: dt.datetime | None = None   # naive, merchant-local wall clock
    valid_until: dt.datetime | None = None
    max_rewards_per_card: int | None = None
    budget_cents: int | None = None
    budget_reserved_cents: int = 0
    session_policy: str = "not_required"
    session_window_before_minutes: int | None = None
    session_window_after_minutes: int | None = None
    return_period_days: int | None = None
    active: bool = True
    created_by: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    version: int = 1
    request_id: str | None = None
    last_request_id: str | None = None

    @property
    def reward_type(self) -> str:
        return "percentage" if self.reward_bps is not None else "fixed"


def parse_local(field: str, text: str) -> dt.datetime:
    """`YYYY-MM-DDTHH:MM[:SS]` local wall clock; `Z` or an offset → OfferInvalid."""
    if not LOCAL_FORMAT.match(text):
        raise OfferInvalid(f"{field} must be a local time YYYY-MM-DDTHH:MM[:SS] without an offset")
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise OfferInvalid(f"{field} is not a valid date and time") from None


def format_local(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value is not None else None


def _range(field: str, value: int | None, lo: int, hi: int | None = None) -> None:
    if value is None:
        return
    if value < lo or (hi is not None and value > hi):
        raise OfferInvalid(f"{field} must be between {lo} and {hi}" if hi is not None
                           else f"{field} must be at least {lo}")


def validate(o: Offer, *, max_reward_cents: int = MAX_REWARD_CENTS) -> Offer:
    """Check a whole (merged) offer; returns it with normalised weekdays."""
    if not o.merchant_id or len(o.merchant_id) > 64:
        raise OfferInvalid("merchant_id must be 1-64 characters")
    if o.reward_bps is not None:
        _range("reward_bps", o.reward_bps, 1, 10_000)
        if o.reward_cents:
            raise OfferInvalid("reward_cents must be 0 or absent for a percentage offer")
        _range("max_reward_cents", o.max_reward_cents, 1, 10_000)
    else:
        if not o.reward_cents:
            raise OfferInvalid("reward_cents is required (or reward_percent / reward_bps)")
        _range("reward_cents", o.reward_cents, 1, max_reward_cents)
        if o.max_reward_cents is not None:
            raise OfferInvalid("max_reward_cents is only allowed for percentage offers")
    _range("min_spend_cents", o.min_spend_cents, 0)
    days = tuple(sorted(set(o.days_of_week)))
    if any(d < 0 or d > 6 for d in days):
        raise OfferInvalid("days_of_week must contain integers 0-6 (0 = Sunday)")
    if o.valid_from is not None and o.valid_until is not None and not o.valid_from < o.valid_until:
        raise OfferInvalid("valid_from must be before valid_until")
    _range("max_rewards_per_card", o.max_rewards_per_card, 1)
    _range("budget_cents", o.budget_cents, 1)
    if o.session_policy not in SESSION_POLICIES:
        raise OfferInvalid("session_policy must be not_required or required")
    _range("session_window_before_minutes", o.session_window_before_minutes, 0, 1440)
    _range("session_window_after_minutes", o.session_window_after_minutes, 0, 1440)
    _range("return_period_days", o.return_period_days, 0, 60)
    return dataclasses.replace(o, days_of_week=days)


def percent_to_bps(field: str, percent: int) -> int:
    if percent < 1 or percent > 100:
        raise OfferInvalid(f"{field} must be between 1 and 100")
    return percent * 100


# ------------------------------------------------------------------------------------------------
# Reward arithmetic
# ------------------------------------------------------------------------------------------------

def compute_reward(offer: Offer, amount_cents: int) -> int:
    """Fixed: reward_cents. Percentage: floor(amount × bps / 10000), capped at max_reward_cents.
    Never more than the amount; integers only."""
    if amount_cents <= 0:
        return 0
    if offer.reward_bps is not None:
        reward = amount_cents * offer.reward_bps // 10_000
        if offer.max_reward_cents is not None:
            reward = min(reward, offer.max_reward_cents)
    else:
        reward = offer.reward_cents
    return max(0, min(reward, amount_cents))


def dollars(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------

REASONS = {
    "below_global_minimum": None,  # filled with the configured floor
    "merchant_unknown": "No active offer for merchant",
    "no_active_offer": "No active offer for merchant",
    "below_offer_minimum": None,
    "offer_not_started": "Offer not yet valid",
    "offer_expired": "Offer expired",
    "offer_wrong_day": "Offer not valid on this day",
    "card_limit_reached": "Per-card limit reached",
    "budget_exhausted": "Offer budget exhausted",
    "outside_session_window": "Transaction not within charging session window",
    "session_not_owned": "Charging session does not belong to driver",
    "eligible": "All criteria met",
}


@dataclasses.dataclass(frozen=True)
class Outcome:
    code: str
    reason: str
    offer: Offer | None = None
    reward_cents: int | None = None
    session_id: str | None = None
    session_deferred: bool = False

    @property
    def eligible(self) -> bool:
        return self.code == "eligible"


def _reason(code: str, offer: Offer | None = None, floor_cents: int = 0) -> str:
    if code == "below_global_minimum":
        return f"Below minimum spend of {dollars(floor_cents)}"
    if code == "below_offer_minimum" and offer is not None:
        return f"Below offer minimum of {dollars(offer.min_spend_cents)}"
    return REASONS[code]


def weekday_sunday0(local: dt.datetime) -> int:
    return (local.weekday() + 1) % 7  # Python: Monday 0 … Sunday 6


@dataclasses.dataclass(frozen=True)
class SessionVerdict:
    """The session check's answer for one offer: code None = passed."""

    code: str | None
    session_id: str | None = None
    deferred: bool = False


def check_offer(offer: Offer, *, amount_cents: int, local_time: dt.datetime, card_rewards: int,
                session: SessionVerdict | None) -> tuple[str, SessionVerdict | None]:
    """Checks 3–9 for one offer; returns (code, session verdict used)."""
    if amount_cents < offer.min_spend_cents:
        return "below_offer_minimum", None
    if offer.valid_from is not None and local_time < offer.valid_from:
        return "offer_not_started", None
    if offer.valid_until is not None and local_time > offer.valid_until:
        return "offer_expired", None
    if offer.days_of_week and weekday_sunday0(local_time) not in offer.days_of_week:
        return "offer_wrong_day", None
    if offer.max_rewards_per_card is not None and card_rewards >= offer.max_rewards_per_card:
        return "card_limit_reached", None
    reward = compute_reward(offer, amount_cents)
    if offer.budget_cents is not None and offer.budget_cents - offer.budget_reserved_cents < reward:
        return "budget_exhausted", None
    if session is not None and session.code is not None:
        return session.code, session
    return "eligible", session


def selection_key(offer: Offer, amount_cents: int) -> tuple:
    """Highest reward, then newest created_at, then lowest id (sort ascending)."""
    created = offer.created_at.timestamp() if offer.created_at else 0.0
    return (-compute_reward(offer, amount_cents), -created, offer.offer_id)


def evaluate(*, amount_cents: int, merchant_id: str | None, offers: Sequence[Offer],
             local_time: dt.datetime, card_rewards: dict[str, int], global_min_cents: int,
             session_for: "SessionFn | None" = None, excluded: frozenset[str] = frozenset(),
             preferred_offer_id: str | None = None) -> Outcome:
    """The §3.4 evaluation. ``session_for(offer)`` returns the session verdict for an offer, or
    None when no check applies. ``preferred_offer_id`` (clearing) keeps the auth's offer when it
    still passes. Budget is checked here against the loaded reservation; the caller reserves it
    atomically and re-runs with the offer excluded when the reservation fails."""
    if amount_cents < global_min_cents:
        return Outcome("below_global_minimum", _reason("below_global_minimum", floor_cents=global_min_cents))
    if merchant_id is None:
        return Outcome("merchant_unknown", _reason("merchant_unknown"))
    candidates = [o for o in offers if o.active and o.merchant_id == merchant_id
                  and o.offer_id not in excluded]
    if not candidates:
        return Outcome("no_active_offer", _reason("no_active_offer"))
    ranked = sorted(candidates, key=lambda o: selection_key(o, amount_cents))
    results = []
    for offer in ranked:
        verdict = session_for(offer) if session_for is not None else None
        code, used = check_offer(offer, amount_cents=amount_cents, local_time=local_time,
                                 card_rewards=card_rewards.get(offer.offer_id, 0), session=verdict)
        results.append((offer, code, used))
    passing = [r for r in results if r[1] == "eligible"]
    if passing:
        chosen = passing[0]
        if preferred_offer_id is not None:
            for r in passing:
                if r[0].offer_id == preferred_offer_id:
                    chosen = r
                    break
        offer, _, used = chosen
        return Outcome("eligible", _reason("eligible"), offer, compute_reward(offer, amount_cents),
                       session_id=used.session_id if used else None,
                       session_deferred=bool(used and used.deferred))
    # nothing passes: the reason of the offer that would have paid most
    offer, code, _ = results[0]
    return Outcome(code, _reason(code, offer), offer)


from collections.abc import Callable  # noqa: E402

SessionFn = Callable[[Offer], "SessionVerdict | None"]
