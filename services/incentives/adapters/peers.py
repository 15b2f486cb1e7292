"""Other contexts over gRPC: charger attributes from telemetry (sync, cached) and the outbox
handlers that deliver grant effects to wallet and telemetry (idempotent on the event keys)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from typing import Any, Protocol

import grpc
from google.protobuf import timestamp_pb2

from kit import outbox
from kit.clients import Upstream
from nerava.telemetry.v1 import telemetry_pb2
from nerava.wallet.v1 import wallet_pb2

log = logging.getLogger("incentives.peers")


@dataclasses.dataclass(frozen=True)
class ChargerInfo:
    id: str
    network_name: str | None = None
    zone_id: str | None = None
    lat: float | None = None
    lng: float | None = None


class ChargerDirectory(Protocol):
    async def get(self, charger_id: str) -> ChargerInfo | None:
        """The charger's attributes, or None when unknown or telemetry cannot answer in time
        (callers then match by id only)."""


class StaticChargers:
    """A directory from a dict (tests, benchmarks)."""

    def __init__(self, chargers: dict[str, ChargerInfo] | None = None) -> None:
        self.chargers = dict(chargers or {})

    async def get(self, charger_id: str) -> ChargerInfo | None:
        return self.chargers.get(charger_id)


class TelemetryChargers:
    """``TelemetryService.GetCharger`` with a 300 ms deadline, cached 5 minutes (misses too, for
    NOT_FOUND; failures are not cached)."""

    def __init__(self, upstream: Upstream, *, ttl_s: float = 300.0, timeout_s: float = 0.3,
                 max_entries: int = 50_000) -> None:
        self.upstream, self.ttl_s, self.timeout_s, self.max_entries = upstream, ttl_s, timeout_s, max_entries
        self._cache: dict[str, tuple[float, ChargerInfo | None]] = {}

    async def get(self, charger_id: str) -> ChargerInfo | None:
        now = time.monotonic()
        hit = self._cache.get(charger_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            resp = await self.upstream.call("GetCharger", telemetry_pb2.GetChargerRequest(charger_id=charger_id),
                                            timeout_s=self.timeout_s, idempotent=True, attempts=1)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                self._put(charger_id, None, now)
            else:
                log.info("GetCharger failed; matching by charger id only", extra={"code": exc.code().name})
            return None
        ch = resp.charger
        info = ChargerInfo(
            id=ch.id or charger_id,
            network_name=ch.network_name if ch.HasField("network_name") else None,
            zone_id=ch.zone_id if ch.HasField("zone_id") else None,
            lat=ch.lat if ch.HasField("lat") else None, lng=ch.lng if ch.HasField("lng") else None)
        self._put(charger_id, info, now)
        return info

    def _put(self, key: str, value: ChargerInfo | None, now: float) -> None:
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key] = (now + self.ttl_s, value)


def _ts(value: str | None) -> timestamp_pb2.Timestamp | None:
    if not value:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(dt.datetime.fromisoformat(value))
    return ts


def _permanent(exc: grpc.aio.AioRpcError) -> bool:
    # a malformed event never succeeds; ALREADY_EXISTS = the key was used with other parameters
    return exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS)


def outbox_handlers(wallet: Upstream, telemetry: Upstream) -> dict[str, outbox.Handler]:
    """Topic → delivery. Transient failures raise (the dispatcher retries with backoff)."""

    async def grant_created(key: str, p: dict[str, Any]) -> None:
        req = wallet_pb2.CreditRequest(
            idempotency_key=key, driver_id=p["driver_id"], amount_cents=int(p["amount_cents"]),
            reference_type="campaign_grant", reference_id=p["grant_id"],
            campaign_name=p.get("campaign_name") or "", sponsor_name=p.get("sponsor_name") or "")
        await _call(wallet, "Credit", req)

    async def grant_clawed_back(key: str, p: dict[str, Any]) -> None:
        req = wallet_pb2.ClawbackRequest(
            idempotency_key=key, driver_id=p["driver_id"], amount_cents=int(p["amount_cents"]),
            reference_type="campaign_grant", reference_id=p["grant_id"], original_key=p["original_key"],
            reason=p.get("reason") or "")
        await _call(wallet, "Clawback", req)

    async def grant_status_changed(key: str, p: dict[str, Any]) -> None:
        req = telemetry_pb2.ApplyGrantStatusRequest(
            grant_id=p["grant_id"], session_id=p["session_id"], campaign_id=p["campaign_id"],
            amount_cents=int(p["amount_cents"]), status=p["status"])
        ts = _ts(p.get("granted_at"))
        if ts is not None:
            req.granted_at.CopyFrom(ts)
        await _call(telemetry, "ApplyGrantStatus", req)

    return {"GrantCreated": grant_created, "GrantClawedBack": grant_clawed_back,
            "GrantStatusChanged": grant_status_changed}


async def _call(upstream: Upstream, method: str, req: Any) -> None:
    try:
        await upstream.call(method, req, timeout_s=5.0, idempotent=True)
    except grpc.aio.AioRpcError as exc:
        if _permanent(exc):
            raise outbox.PermanentDeliveryError(f"{upstream.name}.{method}: {exc.code().name} {exc.details()}") from None
        raise
