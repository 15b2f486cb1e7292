"""Nova points ledger rules (spec §2, §3.8): amounts, accounts, payload hash."""
from __future__ import annotations

import hashlib
import json

from kit import errors

MAX_AMOUNT = 1_000_000
ISSUANCE = "system:issuance"
TYPES = ("driver_earn", "campaign_grant", "admin_grant", "campaign_grant_reversal", "driver_redeem",
         "merchant_topup")


def check_amount(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        raise errors.InvalidArgument("amount must be a positive integer")
    return amount


def driver_account(driver_id: str) -> str:
    return f"driver:{driver_id}"


def merchant_account(merchant_id: str) -> str:
    return f"merchant:{merchant_id}"


def account_kind(account: str) -> str:
    return account.split(":", 1)[0]


def payload_hash(*, type: str, driver_id: str | None, merchant_id: str | None, amount: int,
                 session_id: str | None, reference: str | None) -> str:
    """First 16 lowercase hex chars of SHA-256 over canonical JSON (sorted keys, no whitespace)."""
    body = json.dumps({"type": type, "driver_id": driver_id, "merchant_id": merchant_id, "amount": amount,
                       "session_id": session_id, "reference": reference},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
