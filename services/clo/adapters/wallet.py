"""Outbox handlers that deliver CLO's money events to the wallet (clo.md §5).

`RewardAvailable` → `WalletService.Credit` (key `clo_reward:<clo_transaction_id>`);
`RewardClawback` → `WalletService.Clawback` (key `clo_clawback:<refund_id>`). The outbox key is the
wallet's idempotency key, so a redelivery is a replay there. INVALID_ARGUMENT / ALREADY_EXISTS are
permanent (parked as dead, alerted); everything else is retried with backoff, forever."""
from __future__ import annotations

from typing import Any

import grpc

from kit.clients import Upstream
from kit.outbox import Handler, PermanentDeliveryError
from nerava.wallet.v1 import wallet_pb2

_PERMANENT = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS,
                        grpc.StatusCode.PERMISSION_DENIED})


async def _call(upstream: Upstream, method: str, request: Any) -> None:
    try:
        await upstream.call(method, request, timeout_s=5.0, idempotent=True)
    except grpc.aio.AioRpcError as exc:
        if exc.code() in _PERMANENT:
            raise PermanentDeliveryError(f"{method} rejected: {exc.code().name}") from None
        raise


def wallet_handlers(upstream: Upstream) -> dict[str, Handler]:
    async def reward_available(key: str, p: dict[str, Any]) -> None:
        req = wallet_pb2.CreditRequest(
            idempotency_key=key, driver_id=p["driver_id"], amount_cents=int(p["amount_cents"]),
            reference_type="clo_reward", reference_id=p["clo_transaction_id"])
        if p.get("merchant_name"):
            req.merchant_name = p["merchant_name"]
        await _call(upstream, "Credit", req)

    async def reward_clawback(key: str, p: dict[str, Any]) -> None:
        req = wallet_pb2.ClawbackRequest(
            idempotency_key=key, driver_id=p["driver_id"], amount_cents=int(p["amount_cents"]),
            reference_type="clo_refund", reference_id=p["refund_id"], original_key=p["original_key"],
            reason="Card refund")
        await _call(upstream, "Clawback", req)

    return {"RewardAvailable": reward_available, "RewardClawback": reward_clawback}
