"""Grant effects to peers (outbox handlers) and the charger directory, with fake upstreams."""
from __future__ import annotations

import grpc
import pytest

from kit import outbox
from nerava.telemetry.v1 import telemetry_pb2
from services.incentives.adapters.peers import TelemetryChargers, outbox_handlers


def rpc_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="x")


class FakeUpstream:
    def __init__(self, name: str, fail: grpc.StatusCode | None = None, response=None) -> None:
        self.name, self.fail, self.response = name, fail, response
        self.calls: list[tuple[str, object, dict]] = []

    async def call(self, method, request, **kw):
        self.calls.append((method, request, kw))
        if self.fail is not None:
            raise rpc_error(self.fail)
        return self.response


GRANT = {"grant_id": "g1", "campaign_id": "c1", "campaign_name": "Boost", "sponsor_name": "Acme",
         "driver_id": "d1", "session_id": "s1", "amount_cents": 250, "currency": "usd",
         "granted_at": "2026-03-10T18:00:00+00:00"}


async def test_grant_created_credits_the_wallet_with_the_outbox_key():
    wallet, telemetry = FakeUpstream("wallet"), FakeUpstream("telemetry")
    handlers = outbox_handlers(wallet, telemetry)
    await handlers["GrantCreated"]("grant:g1", GRANT)
    method, req, kw = wallet.calls[0]
    assert method == "Credit" and kw["idempotent"] and kw["timeout_s"] > 0
    assert (req.idempotency_key, req.driver_id, req.amount_cents, req.reference_type, req.reference_id,
            req.campaign_name, req.sponsor_name) == ("grant:g1", "d1", 250, "campaign_grant", "g1", "Boost", "Acme")


async def test_clawback_and_status_events():
    wallet, telemetry = FakeUpstream("wallet"), FakeUpstream("telemetry")
    handlers = outbox_handlers(wallet, telemetry)
    await handlers["GrantClawedBack"]("grant_clawback:g1", {
        "grant_id": "g1", "campaign_id": "c1", "driver_id": "d1", "amount_cents": 250, "reason": "fraud",
        "clawed_back_at": "2026-03-11T00:00:00+00:00", "original_key": "grant:g1"})
    _, req, _ = wallet.calls[0]
    assert (req.idempotency_key, req.original_key, req.reference_type, req.reason) == (
        "grant_clawback:g1", "grant:g1", "campaign_grant", "fraud")
    await handlers["GrantStatusChanged"]("g1:granted", {**GRANT, "status": "granted"})
    method, req, _ = telemetry.calls[0]
    assert method == "ApplyGrantStatus" and req.status == "granted" and req.granted_at.seconds > 0


@pytest.mark.parametrize("code,permanent", [(grpc.StatusCode.INVALID_ARGUMENT, True),
                                            (grpc.StatusCode.ALREADY_EXISTS, True),
                                            (grpc.StatusCode.UNAVAILABLE, False),
                                            (grpc.StatusCode.UNIMPLEMENTED, False)])
async def test_delivery_failures_are_parked_or_retried(code, permanent):
    handlers = outbox_handlers(FakeUpstream("wallet", fail=code), FakeUpstream("telemetry"))
    if permanent:
        with pytest.raises(outbox.PermanentDeliveryError):
            await handlers["GrantCreated"]("grant:g1", GRANT)
    else:
        with pytest.raises(grpc.aio.AioRpcError):
            await handlers["GrantCreated"]("grant:g1", GRANT)


async def test_charger_directory_caches_hits_and_not_found_but_not_failures():
    ok = telemetry_pb2.GetChargerResponse(charger=telemetry_pb2.Charger(id="c1", name="C", network_name="EVgo",
                                                                        lat=30.0, lng=-97.0))
    up = FakeUpstream("telemetry", response=ok)
    d = TelemetryChargers(up)
    info = await d.get("c1")
    assert (info.network_name, info.zone_id, info.lat) == ("EVgo", None, 30.0)
    await d.get("c1")
    assert len(up.calls) == 1 and up.calls[0][2]["timeout_s"] == 0.3
    up.fail = grpc.StatusCode.NOT_FOUND
    assert await d.get("c2") is None and await d.get("c2") is None
    assert len(up.calls) == 2
    up.fail = grpc.StatusCode.DEADLINE_EXCEEDED
    assert await d.get("c3") is None and await d.get("c3") is None
    assert len(up.calls) == 4  # failures are retried next time (id-only matching meanwhile)
