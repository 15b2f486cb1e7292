"""Edge rate limits (REST spec §0): per client and exact path, limits from configuration.

The algorithm is GCRA (the "generic cell rate algorithm", a token bucket stored as one float per
key): a limit of N per period allows a burst of N requests and then one every ``period / N``
seconds. A refused request does not consume anything, and ``retry_after`` is exact: the number of
seconds until the next request of that client on that path would be allowed.

Rules (``GATEWAY_RATE_LIMITS``) are a comma-separated list of ``<path>=<N>/<unit>`` or
``<path>=unlimited``. ``<path>`` is an exact path, a prefix ending in ``*`` or ``*`` alone. The most
specific rule wins: an exact path, then the longest prefix. Trailing slashes are ignored, so
``/v1/auth/tesla/login/`` counts against ``/v1/auth/tesla/login``.

State lives in the process (one gateway replica = one set of buckets); entries whose bucket is full
again carry no information and are pruned when the table grows.
"""
from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable

from gateway.routes import normalise_path

# REST spec §0; the webhooks are exempt (wallet spec §4 for W9–W11; the Fidel and Fleet Telemetry
# senders are a handful of provider IPs, sign every request, and must not lose events).
DEFAULT_RULES = ",".join([
    "/v1/auth/tesla/login=5/minute",
    "/v1/auth/*=10/minute",
    "/v1/stripe/*=30/minute",
    "/v1/nova/*=30/minute",
    "/v1/stripe/webhooks=unlimited",
    "/v1/stripe/webhook=unlimited",
    "/v1/wallet/stripe/webhook=unlimited",
    "/v1/wallet/dwolla/webhook=unlimited",
    "/v1/clo/fidel/webhook=unlimited",
    "/v1/clo/fidel/webhooks/*=unlimited",
    "/v1/webhooks/tesla/telemetry=unlimited",
    "*=120/minute",
])

_UNITS = {"second": 1.0, "sec": 1.0, "s": 1.0, "minute": 60.0, "min": 60.0, "m": 60.0,
          "hour": 3600.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclasses.dataclass(frozen=True)
class Limit:
    count: int
    period_s: float

    @property
    def interval_s(self) -> float:
        return self.period_s / self.count

    def __str__(self) -> str:
        unit = {1.0: "second", 60.0: "minute", 3600.0: "hour"}.get(self.period_s)
        return f"{self.count}/{unit}" if unit else f"{self.count}/{self.period_s:g}s"


def parse_limit(text: str) -> Limit | None:
    """``"5/minute"``, ``"10/min"``, ``"30/5m"``, ``"unlimited"`` (→ None)."""
    if text.strip().lower() in ("unlimited", "off", "none"):
        return None
    m = _RATE.match(text.lower())
    if not m or m.group(3) not in _UNITS:
        raise ValueError(f"invalid rate {text!r}: expected e.g. '5/minute', '30/5m' or 'unlimited'")
    count, mult = int(m.group(1)), int(m.group(2) or 1)
    if count < 1 or mult < 1:
        raise ValueError(f"invalid rate {text!r}: count and period must be positive")
    return Limit(count, mult * _UNITS[m.group(3)])


@dataclasses.dataclass(frozen=True)
class Rules:
    exact: dict[str, Limit | None]
    prefixes: tuple[tuple[str, Limit | None], ...]  # longest first
    default: Limit | None

    @classmethod
    def parse(cls, text: str) -> "Rules":
        exact: dict[str, Limit | None] = {}
        prefixes: dict[str, Limit | None] = {}
        default: Limit | None = None
        for item in (i.strip() for i in text.split(",")):
            if not item:
                continue
            path, sep, rate = item.rpartition("=")
            path = path.strip()
            if not sep or not path:
                raise ValueError(f"invalid rate limit rule {item!r}: expected '<path>=<rate>'")
            limit = parse_limit(rate)
            if path == "*":
                default = limit
            elif path.endswith("*"):
                prefixes[path[:-1]] = limit
            elif path.startswith("/"):
                exact[normalise_path(path)] = limit
            else:
                raise ValueError(f"invalid rate limit path {path!r}: must start with '/' or be '*'")
        return cls(exact, tuple(sorted(prefixes.items(), key=lambda kv: -len(kv[0]))), default)

    def limit_for(self, path: str) -> Limit | None:
        path = normalise_path(path)
        if path in self.exact:
            return self.exact[path]
        for prefix, limit in self.prefixes:
            if path.startswith(prefix):
                return limit
        return self.default


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: Limit | None
    retry_after_s: float = 0.0

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after_s)))


class RateLimiter:
    """GCRA buckets keyed by (client, normalised path)."""

    def __init__(self, rules: Rules, *, clock: Callable[[], float] = time.monotonic,
                 prune_at: int = 100_000) -> None:
        self.rules = rules
        self._clock = clock
        self._tat: dict[tuple[str, str], float] = {}  # theoretical arrival time per key
        self._prune_at = prune_at
        self._next_prune = prune_at

    def __len__(self) -> int:
        return len(self._tat)

    def check(self, client: str, path: str) -> Decision:
        """Count one request of ``client`` on ``path``; refused requests are not counted."""
        path = normalise_path(path)
        limit = self.rules.limit_for(path)
        if limit is None:
            return Decision(True, None)
        now = self._clock()
        key = (client, path)
        interval = limit.interval_s
        tat = max(self._tat.get(key, now), now)
        allow_at = tat - (limit.period_s - interval)  # burst tolerance = period - one interval
        if now < allow_at:
            return Decision(False, limit, allow_at - now)
        self._tat[key] = tat + interval
        if len(self._tat) >= self._next_prune:
            self._prune(now)
        return Decision(True, limit)

    def _prune(self, now: float) -> None:
        # a key whose TAT is in the past has a full bucket: forgetting it changes nothing
        self._tat = {k: t for k, t in self._tat.items() if t > now}
        self._next_prune = max(self._prune_at, 2 * len(self._tat))
