"""The gateway's PAN/CVV guard for `/v1/clo/*` (clo.md §3.2).

It runs on the raw body, query and path BEFORE proto translation (which drops unknown keys such as
`card_number`). On a match the request is answered 400 and never forwarded, logged or echoed; the
access metrics record only the route template. `/v1/clo/fidel/*` (provider webhooks, verified by
signature over the raw bytes) is exempt."""
from __future__ import annotations

import orjson

from kit.sensitive import SENSITIVE_DATA_MESSAGE, SENSITIVE_DATA_REJECTIONS as REJECTIONS
from kit.sensitive import contains_pan, find_sensitive, is_forbidden_key

GUARDED_PREFIX = "/v1/clo/"
EXEMPT_PREFIX = "/v1/clo/fidel/"


def applies(path: str) -> bool:
    return path.startswith(GUARDED_PREFIX) and not path.startswith(EXEMPT_PREFIX)


def violates(path: str, query: list[tuple[str, str]], body: bytes) -> bool:
    if contains_pan(path):
        return True
    for key, value in query:
        if is_forbidden_key(key) or contains_pan(key) or contains_pan(value):
            return True
    if body.strip():
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            return contains_pan(body.decode("utf-8", errors="replace"))
        return find_sensitive(obj)
    return False


__all__ = ["applies", "violates", "REJECTIONS", "SENSITIVE_DATA_MESSAGE"]
