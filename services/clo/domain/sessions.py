"""Charging-session overlap (clo.md §3.6). Instants only (aware UTC); no I/O."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from services.clo.domain.offers import Offer, SessionVerdict


@dataclasses.dataclass(frozen=True)
class ChargingSession:
    session_id: str
    start: dt.datetime
    end: dt.datetime | None  # None while open


@dataclasses.dataclass(frozen=True)
class SessionPolicy:
    before_min: int = 30
    after_min: int = 180
    open_assumed_min: int = 180


def window_for(offer: Offer | None, policy: SessionPolicy) -> tuple[int, int]:
    before = policy.before_min
    after = policy.after_min
    if offer is not None:
        if offer.session_window_before_minutes is not None:
            before = offer.session_window_before_minutes
        if offer.session_window_after_minutes is not None:
            after = offer.session_window_after_minutes
    return before, after


def matches(s: ChargingSession, t: dt.datetime, before_min: int, after_min: int,
            open_assumed_min: int) -> bool:
    """start − before ≤ t ≤ end′ + after, both inclusive; end′ = end or start + open_assumed."""
    end = s.end if s.end is not None else s.start + dt.timedelta(minutes=open_assumed_min)
    return (s.start - dt.timedelta(minutes=before_min) <= t
            <= end + dt.timedelta(minutes=after_min))


def query_window(t: dt.datetime, before_min: int, after_min: int) -> tuple[dt.datetime, dt.datetime]:
    """What to ask telemetry for: sessions meeting [t − after, t + before]. An open session is
    reported by telemetry as running until now, so this also covers the open-session rule."""
    return t - dt.timedelta(minutes=after_min), t + dt.timedelta(minutes=before_min)


def verdict(sessions: Sequence[ChargingSession] | None, t: dt.datetime, before_min: int,
            after_min: int, policy: SessionPolicy, explicit_id: str | None = None) -> SessionVerdict:
    """``sessions`` None = telemetry unavailable → deferred (passes for now, never pays unchecked)."""
    if sessions is None:
        return SessionVerdict(None, deferred=True)
    if explicit_id is not None:
        own = [s for s in sessions if s.session_id == explicit_id]
        if not own:
            return SessionVerdict("session_not_owned")
        if matches(own[0], t, before_min, after_min, policy.open_assumed_min):
            return SessionVerdict(None, explicit_id)
        return SessionVerdict("outside_session_window")
    for s in sorted(sessions, key=lambda s: s.start):
        if matches(s, t, before_min, after_min, policy.open_assumed_min):
            return SessionVerdict(None, s.session_id)
    return SessionVerdict("outside_session_window")
