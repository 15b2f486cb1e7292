"""Stripe Checkout behind a small interface (spec §7): the official SDK in live mode
(``ENABLE_STRIPE_CHECKOUT=true``), pointed at ``STRIPE_API_BASE`` (the fake in tests)."""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Protocol

import stripe

log = logging.getLogger("incentives.stripe")


@dataclasses.dataclass(frozen=True)
class CheckoutSessionInfo:
    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str
    amount_total: int | None
    currency: str | None
    payment_intent: str | None
    metadata: dict[str, str]
    client_reference_id: str | None


class CheckoutError(Exception):
    """Stripe refused or could not be reached; ``code`` is the provider's code (for the 503)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CheckoutGateway(Protocol):
    async def create(self, *, params: dict[str, Any], idempotency_key: str) -> CheckoutSessionInfo: ...

    async def retrieve(self, session_id: str) -> CheckoutSessionInfo: ...


def _info(obj: Any) -> CheckoutSessionInfo:
    s = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    md = s.get("metadata") or {}
    return CheckoutSessionInfo(
        id=s["id"], url=s.get("url"), status=s.get("status") or "open",
        payment_status=s.get("payment_status") or "unpaid", amount_total=s.get("amount_total"),
        currency=s.get("currency"), payment_intent=s.get("payment_intent") if isinstance(
            s.get("payment_intent"), str) else None,
        metadata={str(k): str(v) for k, v in dict(md).items()}, client_reference_id=s.get("client_reference_id"))


class StripeCheckout:
    """The official SDK (``StripeClient``, async methods, network retries, our own base URL)."""

    def __init__(self, api_key: str, api_base: str, max_network_retries: int = 2) -> None:
        self.client = stripe.StripeClient(api_key, base_addresses={"api": api_base},
                                          max_network_retries=max_network_retries)

    async def create(self, *, params: dict[str, Any], idempotency_key: str) -> CheckoutSessionInfo:
        try:
            s = await self.client.v1.checkout.sessions.create_async(params=params,  # type: ignore[arg-type]
                                                                    options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise CheckoutError(exc.code or type(exc).__name__) from None
        return _info(s)

    async def retrieve(self, session_id: str) -> CheckoutSessionInfo:
        try:
            s = await self.client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise CheckoutError(exc.code or type(exc).__name__) from None
        return _info(s)


def checkout_gateway(config: Any) -> CheckoutGateway | None:
    """Live gateway when ENABLE_STRIPE_CHECKOUT=true, else None (= mock mode)."""
    if not config.enable_stripe_checkout:
        return None
    key = config.stripe_secret_key or "sk_test_fake"
    return StripeCheckout(key, config.stripe_api_base, config.stripe_max_network_retries)
