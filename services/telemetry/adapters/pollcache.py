"""The poll's in-process dedup cache (ADR 0085): an optimisation in front of the database rule.

The dedup itself stays in the database (``vehicle_states.last_read_at``, ADR 0010). This cache only
remembers, per driver, the poll context that the last database read returned *when that read was
answered as a dedup hit*, so the next polls inside the window are answered without a round trip.

Bounds on staleness:
- an entry lives at most ``max_s`` seconds (``POLL_CACHE_MAX_S``; 0 disables the cache) — the bound
  across replicas, which never see each other's writes;
- it is only used while the context still says "read less than the dedup window ago" (the caller
  checks with its own clock);
- every local write that changes a driver's or a VIN's poll answer drops the matching entries
  (:meth:`PollCache.changed`), once when the statement runs and once more when the connection goes
  back to the pool (after COMMIT), and bumps a generation so that a read which raced with the write
  never stores what it saw.

It also remembers the last trail point written per (driver, session), so a repeated device position
(ADR 0085, the trail sampling rule) needs no round trip either.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# context columns that never go into the cache: nothing on the hit path needs them
_NOT_CACHED = frozenset({"access_token_enc", "access_expires_at", "token_version"})
_KEYS = ("driver", "vin", "session", "connection")
_ids = itertools.count()


@dataclasses.dataclass(slots=True)
class _Entry:
    ctx: dict[str, Any]
    deadline: float
    vin: str | None
    session: str | None
    connection: str | None


@dataclasses.dataclass(slots=True)
class TrailPoint:
    lat: float
    lng: float
    ts: dt.datetime


class PollCache:
    def __init__(self, max_s: float, *, size: int = 50_000, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_s = max(0.0, float(max_s))
        self.size = size
        self._mono = monotonic
        self._entries: dict[str, _Entry] = {}
        self._by: dict[str, dict[str, set[str]]] = {"vin": {}, "session": {}, "connection": {}}
        self._trail: dict[tuple[str, str], tuple[TrailPoint, float]] = {}
        self._generation = 0
        self._info_key = f"nerava.telemetry.poll_cache.{next(_ids)}"
        self.hits = self.misses = self.invalidations = 0

    @property
    def enabled(self) -> bool:
        return self.max_s > 0

    @property
    def generation(self) -> int:
        """Take it before the database read and give it to :meth:`put`."""
        return self._generation

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ context entries
    def get(self, driver_id: str) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        e = self._entries.get(driver_id)
        if e is None:
            self.misses += 1
            return None
        if e.deadline <= self._mono():
            self._drop(driver_id)
            self.misses += 1
            return None
        self.hits += 1
        return e.ctx

    def put(self, driver_id: str, ctx: dict[str, Any], generation: int) -> bool:
        """Remember ``ctx``, unless a write was recorded since ``generation`` was taken."""
        if not self.enabled or generation != self._generation:
            return False
        self._drop(driver_id)
        if len(self._entries) >= self.size:
            self._drop(next(iter(self._entries)))
        keep = {k: v for k, v in ctx.items() if k not in _NOT_CACHED}
        e = _Entry(keep, self._mono() + self.max_s, ctx.get("vin"), ctx.get("s_id"), ctx.get("connection_id"))
        self._entries[driver_id] = e
        for kind, key in (("vin", e.vin), ("session", e.session), ("connection", e.connection)):
            if key is not None:
                self._by[kind].setdefault(key, set()).add(driver_id)
        return True

    def drop(self, driver_id: str) -> None:
        """Forget one driver's entry (e.g. its dedup window has lapsed); no generation bump."""
        self._drop(driver_id)

    def _drop(self, driver_id: str) -> None:
        e = self._entries.pop(driver_id, None)
        if e is None:
            return
        for kind, key in (("vin", e.vin), ("session", e.session), ("connection", e.connection)):
            if key is not None:
                drivers = self._by[kind].get(key)
                if drivers is not None:
                    drivers.discard(driver_id)
                    if not drivers:
                        del self._by[kind][key]

    # ------------------------------------------------------------------ invalidation
    def invalidate(self, *, driver: str | None = None, vin: str | None = None, session: str | None = None,
                   connection: str | None = None) -> None:
        """Drop every entry matching any of the keys. A session's remembered trail point stays: only a
        trail write changes it (and replaces it), and it expires with ``max_s`` like everything else."""
        self._generation += 1
        self.invalidations += 1
        if driver is not None:
            self._drop(driver)
        for kind, key in (("vin", vin), ("session", session), ("connection", connection)):
            if key is not None:
                for d in list(self._by[kind].get(key, ())):
                    self._drop(d)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._trail.clear()
        for index in self._by.values():
            index.clear()

    def changed(self, conn: AsyncConnection, **keys: str | None) -> None:
        """A write through ``conn`` changes the poll answer of these keys (driver, vin, session,
        connection): invalidate now, and again once ``conn`` is back in the pool (after COMMIT)."""
        if not self.enabled:
            return
        keys = {k: v for k, v in keys.items() if v is not None}
        unknown = set(keys) - set(_KEYS)
        if unknown:
            raise TypeError(f"unknown cache keys {sorted(unknown)}")
        self.invalidate(**keys)
        conn.info.setdefault(self._info_key, []).append(keys)

    def attach(self, engine: AsyncEngine) -> None:
        """Run the after-commit half of :meth:`changed` when a connection is checked back in."""
        key = self._info_key

        def on_checkin(_dbapi_conn, record) -> None:
            pending = record.info.pop(key, None) if record is not None else None
            for keys in pending or ():
                self.invalidate(**keys)

        event.listen(engine.sync_engine, "checkin", on_checkin)

    # ------------------------------------------------------------------ trail points
    def last_point(self, driver_id: str, session_id: str) -> TrailPoint | None:
        if not self.enabled:
            return None
        hit = self._trail.get((driver_id, session_id))
        if hit is None:
            return None
        point, deadline = hit
        if deadline <= self._mono():
            del self._trail[(driver_id, session_id)]
            return None
        return point

    def note_point(self, driver_id: str, session_id: str, point: TrailPoint) -> None:
        if not self.enabled:
            return
        if len(self._trail) >= self.size and (driver_id, session_id) not in self._trail:
            del self._trail[next(iter(self._trail))]
        self._trail[(driver_id, session_id)] = (point, self._mono() + self.max_s)
