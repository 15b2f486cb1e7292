"""Fidel's webhook signature scheme, exactly (clo.md §3.9). Pure functions, no I/O.

    inner     = base64(HMAC-SHA256(secret, raw_body ‖ registered_url ‖ timestamp_ms))
    signature = base64(HMAC-SHA256(secret, inner))      # over the base64 TEXT of inner

The URL is the *registered* one (configuration), never rebuilt from the request; the body is the
raw bytes, never re-serialised JSON.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence


class SignatureError(Exception):
    """Why a signature was refused; the cause is logged, never returned to the caller."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _b64_hmac(secret: str, data: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def inner_signature(secret: str, body: bytes, url: str, timestamp: str) -> str:
    return _b64_hmac(secret, body + url.encode() + timestamp.encode())


def sign(secret: str, body: bytes, url: str, timestamp: str) -> str:
    return _b64_hmac(secret, inner_signature(secret, body, url, timestamp).encode())


def verify(*, secrets: Sequence[str], body: bytes, url: str, signature: str | None,
           timestamp: str | None, now_ms: int, tolerance_s: int = 300,
           future_s: int = 300) -> None:
    """Raise SignatureError unless ``signature`` is valid for one of ``secrets`` and fresh."""
    if not signature:
        raise SignatureError("missing_signature")
    if not timestamp:
        raise SignatureError("missing_timestamp")
    if not timestamp.isdigit():
        raise SignatureError("timestamp_not_numeric")
    ts = int(timestamp)
    if ts < now_ms - tolerance_s * 1000:
        raise SignatureError("timestamp_stale")
    if ts > now_ms + future_s * 1000:
        raise SignatureError("timestamp_future")
    ok = False
    for secret in secrets:
        expected = sign(secret, body, url, timestamp)
        # constant time against every secret (rotation), no early exit on a match
        ok = hmac.compare_digest(expected.encode(), signature.encode()) or ok
    if not ok:
        raise SignatureError("mismatch")
