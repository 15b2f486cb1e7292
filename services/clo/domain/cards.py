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
