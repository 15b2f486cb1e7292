"""Fidel payloads: amounts, local times and merchant resolution (clo.md §3.5, §3.10). Pure."""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.timezone.utc

# Fidel webhook events (names Fidel can register); CLO handles four of them.
FIDEL_EVENTS = frozenset({
    "transaction.auth", "transaction.clearing", "transaction.refund", "transaction.auth.qualified",
    "transaction.clearing.qualified", "transaction.refund.qualified", "card.linked", "card.failed",
    "card.updated", "brand.consent", "location.status", "program.status", "program.status.failed",
    "offer.activated", "offer.expired", "offer.live", "offer.updated", "offer.received",
})
HANDLED = frozenset({"transaction.auth", "transaction.clearing", "transaction.refund", "card.linked"})
LEGACY_HANDLED = frozenset({"transaction.auth", "transaction.clearing", "transaction.refund"})


class PayloadError(ValueError):
    """The body is not usable; the webhook replies `ignored` with this reason (never a 500)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def loads(body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=decimal.Decimal)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("invalid_json") from None


def to_cents(amount: Any) -> int:
    """Major units → cents, half-up (19.99 → 1999); Decimal, never float."""
    if isinstance(amount, bool) or amount is None:
        raise PayloadError("invalid_amount")
    try:
        value = decimal.Decimal(str(amount)) if not isinstance(amount, decimal.Decimal) else amount
        cents = (value * 100).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP)
    except (decimal.InvalidOperation, ValueError):
        raise PayloadError("invalid_amount") from None
    if not cents.is_finite():
        raise PayloadError("invalid_amount")
    return int(cents)


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_valid_zone(name: str) -> bool:
    return zone(name) is not None


def local_to_utc(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A local wall-clock time in ``tz`` → UTC instant; DST ambiguity resolves with fold=0."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def utc_to_local(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def parse_fidel_datetime(text: Any) -> dt.datetime | None:
    """Fidel's `datetime` is local wall clock (naive). A stray `Z`/offset is ignored: the wall
    clock digits are what Fidel reports for the location."""
    if not isinstance(text, str) or not text:
        return None
    s = text.strip().replace(" ", "T", 1)
    if s.endswith("Z"):
        s = s[:-1]
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return value.replace(tzinfo=None)


@dataclasses.dataclass(frozen=True)
class FidelTransaction:
    external_id: str
    amount_cents: int                  # signed: negative for refunds
    currency: str
    local_datetime: dt.datetime | None
    card_id: str | None
    location_id: str | None
    location_timezone: str | None
    location_merchant_id: str | None
    mid: str | None
    brand_id: str | None
    brand_name: str | None
    original_transaction_id: str | None
    cleared: bool
    amount_present: bool


def _s(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def parse_transaction(obj: Any, *, legacy: bool = False) -> FidelTransaction:
    if not isinstance(obj, dict):
        raise PayloadError("unknown_envelope" if legacy else "invalid_payload")
    tid = _s(obj.get("id"))
    if tid is None or len(tid) > 128:
        raise PayloadError("invalid_payload")
    amount_present = obj.get("amount") is not None
    cents = to_cents(obj.get("amount")) if amount_present else 0
    card = obj.get("card") if isinstance(obj.get("card"), dict) else {}
    location = obj.get("location") if isinstance(obj.get("location"), dict) else {}
    loc_meta = location.get("metadata") if isinstance(location.get("metadata"), dict) else {}
    brand = obj.get("brand") if isinstance(obj.get("brand"), dict) else {}
    identifiers = obj.get("identifiers") if isinstance(obj.get("identifiers"), dict) else {}
    merchant = obj.get("merchant") if isinstance(obj.get("merchant"), dict) else {}
    merchant_id = _s(loc_meta.get("merchantId"))
    brand_name = _s(brand.get("name"))
    if legacy:
        merchant_id = _s(merchant.get("merchantId")) or merchant_id
        brand_name = _s(merchant.get("name")) or brand_name
    return FidelTransaction(
        external_id=tid, amount_cents=cents, currency=(_s(obj.get("currency")) or "USD").upper(),
        local_datetime=parse_fidel_datetime(obj.get("datetime")), card_id=_s(card.get("id")),
        location_id=_s(location.get("id")), location_timezone=_s(location.get("timezone")),
        location_merchant_id=merchant_id, mid=_s(identifiers.get("MID")), brand_id=_s(brand.get("id")),
        brand_name=brand_name, original_transaction_id=_s(obj.get("originalTransactionId")),
        cleared=bool(obj.get("cleared")), amount_present=amount_present,
    )
