"""Provider webhook signatures, computed independently of the services (not a test module):
Stripe ``t=…,v1=HMAC-SHA256(secret, "t.body")`` and Fidel ``base64(HMAC(secret, base64(HMAC(secret,
body‖url‖timestamp))))`` (the schemes the providers document)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any


def stripe_header(secret: str, body: bytes, ts: int | None = None) -> str:
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def fidel_headers(secret: str, body: bytes, url: str, ts_ms: int | None = None) -> dict[str, str]:
    ts = str(int(time.time() * 1000) if ts_ms is None else ts_ms)
    inner = base64.b64encode(hmac.new(secret.encode(), body + url.encode() + ts.encode(), hashlib.sha256).digest())
    sig = base64.b64encode(hmac.new(secret.encode(), inner, hashlib.sha256).digest()).decode()
    return {"content-type": "application/json", "x-fidel-timestamp": ts, "x-fidel-signature": sig}


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def fidel_transaction(card_id: str, cents: int, *, tid: str | None = None, auth: bool = True,
                      cleared: bool = False, when: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Fidel transaction object in the simulator's (= Fidel's) shape at the seeded location."""
    if when is None:
        import datetime as dt
        from zoneinfo import ZoneInfo
        when = dt.datetime.now(ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M:%S")
    tx = {"id": tid or f"tx_rel_{secrets.token_hex(8)}", "amount": cents / 100, "currency": "USD",
          "datetime": when, "auth": auth, "cleared": cleared,
          "card": {"id": card_id, "lastNumbers": "4242", "scheme": "visa", "metadata": {}},
          "brand": {"id": "brand_sim_1", "name": "Sim Coffee"},
          "location": {"id": "loc_sim_1", "timezone": "America/Chicago", "metadata": {"merchantId": "m-sim-1"}},
          "identifiers": {"MID": "MID-SIM-1"}, "programId": "prog_sim"}
    tx.update(extra)
    return tx
