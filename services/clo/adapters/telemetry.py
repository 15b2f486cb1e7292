"""The charging-session lookup behind a small interface (clo.md §3.6).

``GrpcSessionFinder`` calls ``TelemetryService.FindOverlappingSessions`` with a service token and
a deadline (2 s), retrying only on UNAVAILABLE (kit.clients.Upstream). Telemetry being down — or
not implementing the RPC yet (UNIMPLEMENTED), or timing out — raises ``SessionLookupUnavailable``,
which the use cases turn into a deferred check (never a rejection, never a payment unchecked)."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Protocol

import grpc

from kit.clients import Upstream
from nerava.telemetry.v1 import telemetry_pb2
from services.clo.domain.sessions import ChargingSession

log = logging.getLogger("clo.telemetry")

_DEFER_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNIMPLEMENTED,
                          grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                          grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN})


class SessionLookupUnavailable(Exception):
    pass


class SessionFinder(Protocol):
    async def find(self, driver_id: str, t1: dt.datetime, t2: dt.datetime,
                   session_id: str | None = None) -> list[ChargingSession]: ...


class GrpcSessionFinder:
    def __init__(self, upstream: Upstream, deadline_s: float = 2.0) -> None:
        self.upstream, self.deadline_s = upstream, deadline_s

    async def find(self, driver_id: str, t1: dt.datetime, t2: dt.datetime,
                   session_id: str | None = None) -> list[ChargingSession]:
        req = telemetry_pb2.FindOverlappingSessionsRequest(driver_id=driver_id)
        req.t1.FromDatetime(t1)
        req.t2.FromDatetime(t2)
        if session_id is not None:
            req.session_id = session_id
        try:
            resp = await self.upstream.call("FindOverlappingSessions", req, timeout_s=self.deadline_s,
                                            idempotent=True)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _DEFER_CODES:
                log.warning("session lookup deferred", extra={"code": exc.code().name})
                raise SessionLookupUnavailable(exc.code().name) from None
            raise
        out = []
        for s in resp.sessions:
            end = s.session_end.ToDatetime(tzinfo=dt.timezone.utc) if s.HasField("session_end") else None
            out.append(ChargingSession(s.session_id, s.session_start.ToDatetime(tzinfo=dt.timezone.utc), end))
        return out


class FakeSessionFinder:
    """Sessions by driver, or 'down' (raises SessionLookupUnavailable) — for tests."""

    def __init__(self) -> None:
        self.sessions: dict[str, list[ChargingSession]] = {}
        self.down = False
        self.calls: list[tuple] = []

    def add(self, driver_id: str, session: ChargingSession) -> None:
        self.sessions.setdefault(driver_id, []).append(session)

    async def find(self, driver_id: str, t1: dt.datetime, t2: dt.datetime,
                   session_id: str | None = None) -> list[ChargingSession]:
        self.calls.append((driver_id, t1, t2, session_id))
        if self.down:
            raise SessionLookupUnavailable("down")
        now = dt.datetime.now(dt.timezone.utc)
        out = []
        for s in self.sessions.get(driver_id, []):
            if session_id is not None and s.session_id != session_id:
                continue
            end = s.end or max(now, s.start)
            if s.start <= t2 and end >= t1:
                out.append(s)
        return sorted(out, key=lambda s: s.start)
