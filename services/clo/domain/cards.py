"""Card rules as plain Python."""
from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class Card:
    card_id: str
    driver_id: str
    fidel_card_id: str
    last4: str
    scheme: str
    expiry_month: int
    expiry_year: int
    linked_at: dt.datetime
    active: bool = True


BRANDS = {"visa": "visa", "mastercard": "mastercard", "amex": "amex", "discover": "discover"}


def brand(scheme: str) -> str:
    """REST `brand`: visa | mastercard | amex | discover | unknown."""
    return BRANDS.get(scheme.lower(), "unknown")


import re as _re

FIDEL_CARD_ID = _re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def valid_fidel_card_id(value: str) -> bool:
    return bool(FIDEL_CARD_ID.match(value or ""))


def expired(expiry_month: int, expiry_year: int, today: dt.date) -> bool:
    """A card is valid through the last day of its expiry month."""
    return (expiry_year, expiry_month) < (today.year, today.month)


@dataclasses.dataclass(frozen=True)
class ProviderCard:
    """What Fidel returns for ``GET /cards/{id}`` (only the fields CLO keeps or checks)."""

    fidel_card_id: str
    program_id: str
    metadata_id: str | None
    last4: str
    scheme: str
    expiry_month: int
    expiry_year: int
