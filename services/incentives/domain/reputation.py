"""Reputation (spec §3.9): tiers, the +5 session bonus rule and the streak."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

TIERS = (("Bronze", 0, "#78716c"), ("Silver", 100, "#64748b"), ("Gold", 300, "#eab308"),
         ("Platinum", 700, "#06b6d4"))
SESSION_BONUS = 5
BONUS_MIN_QUALITY = 30  # strictly greater


@dataclasses.dataclass(frozen=True)
class Reputation:
    points: int
    tier: str
    tier_color: str
    next_tier: str | None
    points_to_next: int | None
    progress_to_next: float
    streak_days: int


def tier_of(points: int | None, streak_days: int = 0) -> Reputation:
    p = max(0, points or 0)
    idx = max(i for i, (_, lo, _) in enumerate(TIERS) if p >= lo)
    name, lo, color = TIERS[idx]
    if idx == len(TIERS) - 1:
        return Reputation(p, name, color, None, None, 1.0, streak_days)
    nxt_name, nxt_lo, _ = TIERS[idx + 1]
    progress = min(1.0, max(0.0, (p - lo) / (nxt_lo - lo)))
    return Reputation(p, name, color, nxt_name, nxt_lo - p, progress, streak_days)


def earns_session_bonus(granted: bool, duration_minutes: int | None, quality_score: int | None) -> bool:
    return (not granted and duration_minutes is not None and duration_minutes >= 1
            and quality_score is not None and quality_score > BONUS_MIN_QUALITY)


def streak(local_dates: Iterable[dt.date], today: dt.date) -> int:
    """Consecutive dates ending today if today has a session, else ending yesterday, else 0."""
    days = set(local_dates)
    cur = today if today in days else today - dt.timedelta(days=1)
    n = 0
    while cur in days:
        n += 1
        cur -= dt.timedelta(days=1)
    return n
