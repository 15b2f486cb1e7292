"""Campaign-local time: IANA zones (zoneinfo), local ↔ UTC with the spec's DST rules (§3.2)."""
from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

from kit import errors

UTC = dt.timezone.utc
DEFAULT_TIME_ZONE = "America/Chicago"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@functools.lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def validate_zone(name: str | None, field: str = "time_zone") -> str:
    if name is None or name == "":
        return DEFAULT_TIME_ZONE
    try:
        if name != name.strip() or name.startswith("/") or ".." in name:
            raise ValueError(name)
        zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise errors.InvalidArgument(f"{field}: unknown IANA time zone '{name}'") from None
    return name


def local_to_utc(wall: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """A naive local wall-clock time → the UTC instant. A time in a DST gap maps to the first
    instant after the gap; an ambiguous time maps to the earlier instant (fold=0)."""
    first = wall.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == wall:
        return utc  # exists (ambiguous → fold 0 = the earlier instant)
    # in a gap: the transition lies between the two candidate instants; find the first instant
    # whose offset is the post-transition one
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(utc, other), max(utc, other)
    after = hi.astimezone(tz).utcoffset()
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) if hi.microsecond else hi


def parse_local(value: str, tz: zoneinfo.ZoneInfo, field: str, *, is_end: bool) -> tuple[dt.datetime, str, bool]:
    """Parse a campaign date input → (UTC instant, local naive echo string, date_only).

    ``YYYY-MM-DD``: the start is local 00:00; an end includes that whole local day (the instant is
    the next local midnight, echoed ``<date>T23:59:59``). A datetime with an offset is that instant;
    a naive datetime is local wall time."""
    text = (value or "").strip()
    if not text:
        raise errors.InvalidArgument(f"{field} is required")
    try:
        if _DATE_RE.match(text):
            day = dt.date.fromisoformat(text)
            if is_end:
                instant = local_to_utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), tz)
                return instant, f"{day.isoformat()}T23:59:59", True
            instant = local_to_utc(dt.datetime.combine(day, dt.time()), tz)
            return instant, dt.datetime.combine(day, dt.time()).isoformat(), False
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise errors.InvalidArgument(
            f"{field}: cannot parse '{value}' (expected YYYY-MM-DD or an ISO datetime)") from None
    if parsed.tzinfo is not None:
        instant = parsed.astimezone(UTC)
        echo = instant.astimezone(tz).replace(tzinfo=None)
    else:
        instant = local_to_utc(parsed, tz)
        echo = parsed
    return instant, echo.replace(microsecond=0).isoformat() if echo.microsecond == 0 else echo.isoformat(), False


def local_echo(instant: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    return instant.astimezone(tz).replace(tzinfo=None).isoformat()


def local_day_week(instant: dt.datetime, tz_name: str) -> tuple[str, str]:
    """Campaign-local date ``YYYY-MM-DD`` and ISO week ``YYYY-Www`` of an instant (cap buckets)."""
    local = instant.astimezone(zone(tz_name))
    year, week, _ = local.isocalendar()
    return local.date().isoformat(), f"{year}-W{week:02d}"


@functools.lru_cache(maxsize=1024)
def zone_offsets_minutes(name: str, year_from: int, year_to: int) -> frozenset[int]:
    """Every UTC offset (minutes) the zone uses between two years (sampled every 6 hours, which
    catches every DST period; zone offsets last weeks to months)."""
    tz = zone(name)
    t = dt.datetime(year_from, 1, 1, tzinfo=UTC)
    end = dt.datetime(year_to + 1, 1, 1, tzinfo=UTC)
    out: set[int] = set()
    step = dt.timedelta(hours=6)
    while t < end:
        off = t.astimezone(tz).utcoffset()
        out.add(int(off.total_seconds() // 60) if off is not None else 0)
        t += step
    return frozenset(out)
