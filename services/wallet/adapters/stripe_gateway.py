"""Stripe through the official SDK, behind a small interface; errors classified for the payout
state machine (§2.2): did Stripe definitively not execute, fail for good, or leave us not knowing?"""
from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import stripe


class StripeProblem(Exception):
    """Base: `code` is Stripe's error code (or our own), `safe` a message fit for a driver."""

    def __init__(self, code: str, safe: str, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {safe}")
        self.code, self.safe, self.http_status = code, safe, http_status


class NotExecuted(StripeProblem):
    """Stripe definitively did not execute (429, platform balance_insufficient, 401/403)."""


class Permanent(StripeProblem):
    """A permanent 4xx for this request (account_invalid, transfers_not_allowed, …)."""


class Unknown(StripeProblem):
    """No definitive answer: timeout, connection error, 5xx/409 after retries, idempotency_error."""


NOT_EXECUTED_CODES = frozenset({"balance_insufficient", "rate_limit"})
SAFE_TEXT = {
    "account_invalid": "the payout account is not valid",
    "transfers_not_allowed": "transfers are not enabled on the payout account",
    "amount_too_small": "the amount is too small",
    "balance_insufficient": "payouts are temporarily unavailable",
}


def classify(exc: Exception) -> StripeProblem:
    if isinstance(exc, StripeProblem):
        return exc
    if isinstance(exc, stripe.StripeError):
        status = exc.http_status
        code = getattr(exc, "code", None) or ""
        if isinstance(exc, stripe.APIConnectionError) or status is None:
            return Unknown("connection_error", "no answer from the payout provider")
        if status == 429 or isinstance(exc, stripe.RateLimitError):
            return NotExecuted(code or "rate_limit", "payouts are busy; retry later", status)
        if status in (401, 403):
            return NotExecuted(code or "authentication_error", "payouts are temporarily unavailable", status)
        if status >= 500 or status == 409 or isinstance(exc, stripe.IdempotencyError) or code == "idempotency_key_in_use":
            return Unknown(code or f"http_{status}", "no definitive answer from the payout provider", status)
        if code in NOT_EXECUTED_CODES:
            return NotExecuted(code, SAFE_TEXT.get(code, "payouts are temporarily unavailable"), status)
        if 400 <= status < 500:
            return Permanent(code or "invalid_request", SAFE_TEXT.get(code, "the payout was rejected"), status)
    return Unknown(type(exc).__name__, "no definitive answer from the payout provider")


@dataclasses.dataclass(frozen=True)
class AccountState:
    id: str
    payouts_enabled: bool
    charges_enabled: bool
    details_submitted: bool
    transfers_capability: str | None
    disabled_reason: str | None
    past_due_count: int


def account_state(obj: Any) -> AccountState:
    d = _plain(obj)
    req = d.get("requirements") or {}
    caps = d.get("capabilities") or {}
    return AccountState(id=d["id"], payouts_enabled=bool(d.get("payouts_enabled")),
                        charges_enabled=bool(d.get("charges_enabled")),
                        details_submitted=bool(d.get("details_submitted")),
                        transfers_capability=caps.get("transfers"),
                        disabled_reason=req.get("disabled_reason"),
                        past_due_count=len(req.get("past_due") or []))


def _plain(obj: Any) -> dict:
    if isinstance(obj, dict) and not isinstance(obj, stripe.StripeObject):
        return obj
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class PayoutProvider(Protocol):
    async def create_account(self, driver_id: str, email: str | None) -> AccountState: ...
    async def retrieve_account(self, account_id: str) -> AccountState: ...
    async def create_account_link(self, account_id: str, refresh_url: str, return_url: str) -> tuple[str, int]: ...
    async def create_transfer(self, *, payout_id: str, driver_id: str, attempt: int, amount: int,
                              destination: str) -> dict: ...
    async def list_transfers(self, *, transfer_group: str | None = None, created_gte: int | None = None) -> list[dict]: ...
    async def create_bank_payout(self, *, payout_id: str, account: str, amount: int) -> dict: ...
    async def retrieve_bank_payout(self, *, account: str, bank_payout_id: str) -> dict: ...
    async def reverse_transfer(self, *, payout_id: str, transfer_id: str, key_suffix: str = "reversal") -> dict: ...


class StripePayouts:
    """The live provider: the real SDK (``StripeClient``, ``*_async``), deterministic keys."""

    def __init__(self, api_key: str, *, api_base: str | None, api_version: str, timeout_s: float,
                 max_network_retries: int) -> None:
        base = {"api": api_base.rstrip("/")} if api_base else None
        self.client = stripe.StripeClient(
            api_key, base_addresses=base or {}, stripe_version=api_version,
            max_network_retries=max_network_retries, http_client=stripe.HTTPXClient(timeout=timeout_s))

    async def _call(self, coro):
        try:
            return await coro
        except Exception as exc:  # noqa: BLE001 — classified, never leaked
            raise classify(exc) from exc

    async def create_account(self, driver_id: str, email: str | None) -> AccountState:
        params: dict[str, Any] = {
            "type": "express", "country": "US", "business_type": "individual",
            "capabilities": {"transfers": {"requested": True}, "card_payments": {"requested": True}},
            "settings": {"payouts": {"schedule": {"interval": "manual"}, "debit_negative_balances": True}},
            "business_profile": {"mcc": "7299"}, "metadata": {"driver_id": driver_id}}
        if email:
            params["email"] = email
        acct = await self._call(self.client.v1.accounts.create_async(
            params=params, options={"idempotency_key": f"nerava-account-{driver_id}"}))
        return account_state(acct)

    async def retrieve_account(self, account_id: str) -> AccountState:
        return account_state(await self._call(self.client.v1.accounts.retrieve_async(account_id)))

    async def create_account_link(self, account_id: str, refresh_url: str, return_url: str) -> tuple[str, int]:
        link = await self._call(self.client.v1.account_links.create_async(params={
            "account": account_id, "type": "account_onboarding", "refresh_url": refresh_url,
            "return_url": return_url}))
        return link["url"], int(link["expires_at"])

    async def create_transfer(self, *, payout_id: str, driver_id: str, attempt: int, amount: int,
                              destination: str) -> dict:
        tr = await self._call(self.client.v1.transfers.create_async(params={
            "amount": amount, "currency": "usd", "destination": destination,
            "transfer_group": f"payout_{payout_id}",
            "metadata": {"payout_id": payout_id, "driver_id": driver_id, "attempt": str(attempt)},
        }, options={"idempotency_key": f"nerava-payout-{payout_id}-transfer-{attempt}"}))
        return _plain(tr)

    async def list_transfers(self, *, transfer_group: str | None = None, created_gte: int | None = None) -> list[dict]:
        params: dict[str, Any] = {"limit": 100}
        if transfer_group:
            params["transfer_group"] = transfer_group
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        page = await self._call(self.client.v1.transfers.list_async(params=params))
        out: list[dict] = []
        async for tr in page.auto_paging_iter():
            out.append(_plain(tr))
        return out

    async def create_bank_payout(self, *, payout_id: str, account: str, amount: int) -> dict:
        po = await self._call(self.client.v1.payouts.create_async(
            params={"amount": amount, "currency": "usd", "metadata": {"payout_id": payout_id}},
            options={"idempotency_key": f"nerava-payout-{payout_id}-bank", "stripe_account": account}))
        return _plain(po)

    async def retrieve_bank_payout(self, *, account: str, bank_payout_id: str) -> dict:
        return _plain(await self._call(self.client.v1.payouts.retrieve_async(
            bank_payout_id, options={"stripe_account": account})))

    async def reverse_transfer(self, *, payout_id: str, transfer_id: str, key_suffix: str = "reversal") -> dict:
        rev = await self._call(self.client.v1.transfers.reversals.create_async(
            transfer_id, params={"metadata": {"payout_id": payout_id}},
            options={"idempotency_key": f"nerava-payout-{payout_id}-{key_suffix}"}))
        return _plain(rev)
