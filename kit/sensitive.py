"""Card-data guard (PCI): detects card numbers and security codes in request input.

Pure functions shared by the gateway (which scans raw bodies, queries and paths before proto
translation drops unknown keys) and by services (which repeat the value scan on their string
fields, so direct gRPC callers are covered too). Callers must never echo or log what matched.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter

# One counter for the gateway and the services (clo.md §3.2 metric name).
SENSITIVE_DATA_REJECTIONS = Counter("clo_sensitive_data_rejections_total",
                                    "Requests refused because they carried card numbers or security codes")

SENSITIVE_DATA_MESSAGE = ("Card numbers and security codes must not be sent; "
                          "link cards through the Fidel SDK")

# Keys that name card data, compared after lower-casing and dropping `_`, `-` and spaces.
FORBIDDEN_KEYS = frozenset({
    "cardnumber", "number", "pan", "primaryaccountnumber", "cvv", "cvv2", "cvc", "cvc2", "cid",
    "csc", "securitycode",
})

# A run of digits where single spaces or dashes may separate the digits.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")
# Identifiers that are not card numbers but can hold dash-joined digit runs: a UUID (8-4-4-4-12 hex,
# or its 32-hex form). About 1 random UUID in 440 has a Luhn-valid 13–19 digit run across its dashes,
# which refused a driver's own card id. A PAN is 13–19 digits, so it is never a whole UUID.
_UUID_TOKEN = re.compile(r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                         r"[0-9a-fA-F]{12}|[0-9a-fA-F]{32})(?![0-9A-Za-z])")


def normalise_key(key: str) -> str:
    return re.sub(r"[\s_\-]", "", key).lower()


def is_forbidden_key(key: str) -> bool:
    return normalise_key(key) in FORBIDDEN_KEYS


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def contains_pan(text: str) -> bool:
    """True when ``text`` holds a Luhn-valid run of 13–19 digits (a maximal run, where single
    spaces or dashes may separate the digits) outside UUID-shaped identifiers."""
    if "-" in text or len(text) >= 32:
        text = _UUID_TOKEN.sub("#", text)  # '#' joins nothing: the digits around stay separate runs
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def find_sensitive(value: Any, *, check_keys: bool = True) -> bool:
    """Scan decoded JSON (dicts, lists, scalars) at any depth for forbidden keys or PAN values."""
    if isinstance(value, dict):
        for k, v in value.items():
            if check_keys and isinstance(k, str) and is_forbidden_key(k):
                return True
            if isinstance(k, str) and contains_pan(k):
                return True
            if find_sensitive(v, check_keys=check_keys):
                return True
        return False
    if isinstance(value, (list, tuple)):
        return any(find_sensitive(v, check_keys=check_keys) for v in value)
    if isinstance(value, str):
        return contains_pan(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return contains_pan(str(value))
    return False


def any_pan(values: Iterable[str]) -> bool:
    return any(contains_pan(v) for v in values if v)
