"""Fake Stripe: the Checkout part (incentives spec §7), mounted by ``simulators/stripe/__main__.py``.

- ``POST /v1/checkout/sessions``: form-encoded as the official SDK sends it (``line_items[0][...]``,
  ``metadata[...]``); validates amounts > 0 and ``usd``; honours ``Idempotency-Key``.
- ``GET /v1/checkout/sessions/{id}``, ``POST /v1/checkout/sessions/{id}/expire``.
- ``GET /pay/{id}``: a page with a Pay button; ``POST /pay/{id}`` completes and redirects to
  ``success_url``.
- Controls ``POST /_sim/checkout/{id}/{action}`` (alias ``/__fake/checkout/{id}/{action}``) with
  ``action`` ∈ ``complete`` (body ``payment_status``: ``paid`` default or ``unpaid``),
  ``async_succeed``, ``async_fail``, ``expire``. Each changes the session and answers the event it
  emits: ``{event, payload, stripe_signature}``, signed with the body's ``webhook_secret`` (else
  ``STRIPE_WEBHOOK_SECRET``) in Stripe's scheme (``t=<ts>,v1=<HMAC-SHA256 of "<ts>.<payload>">``),
  so a test can POST ``payload`` with that ``Stripe-Signature`` to the gateway's webhook. When
  ``FAKE_STRIPE_WEBHOOK_URL`` is set, the event is also POSTed there.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
import urllib.parse
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

SESSIONS: dict[str, dict[str, Any]] = {}
IDEMPOTENCY: dict[str, str] = {}
_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def _error(status: int, message: str, code: str, param: str | None = None) -> JSONResponse:
    err: dict[str, Any] = {"type": "invalid_request_error", "message": message, "code": code}
    if param:
        err["param"] = param
    return JSONResponse({"error": err}, status_code=status)


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket encoding → nested dicts; numeric keys become list indexes."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        parts = [a or b for a, b in _KEY.findall(raw_key)]
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def sign(payload: str, secret: str, ts: int | None = None) -> str:
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


async def create_session(request: Request) -> Response:
    key = request.headers.get("idempotency-key")
    if key and key in IDEMPOTENCY:
        return JSONResponse(SESSIONS[IDEMPOTENCY[key]])
    form = parse_form(urllib.parse.parse_qsl((await request.body()).decode(), keep_blank_values=True))
    items = form.get("line_items") or []
    if not isinstance(items, list) or not items:
        return _error(400, "line_items is required", "parameter_missing", "line_items")
    total, currency = 0, None
    for i, item in enumerate(items):
        price = item.get("price_data") or {}
        try:
            amount = int(price.get("unit_amount", "0")) * int(item.get("quantity", "1"))
        except ValueError:
            return _error(400, "Invalid integer", "parameter_invalid_integer", f"line_items[{i}][price_data][unit_amount]")
        if amount <= 0:
            return _error(400, "unit_amount must be greater than 0", "amount_too_small",
                          f"line_items[{i}][price_data][unit_amount]")
        currency = (price.get("currency") or "").lower()
        if currency != "usd":
            return _error(400, "Only usd is supported by the fake", "parameter_invalid", f"line_items[{i}][price_data][currency]")
        total += amount
    sid = "cs_test_" + secrets.token_hex(12)
    base = str(request.base_url).rstrip("/")
    now = int(time.time())
    session = {
        "id": sid, "object": "checkout.session", "url": f"{base}/pay/{sid}", "status": "open",
        "payment_status": "unpaid", "amount_total": total, "currency": currency,
        "metadata": form.get("metadata") or {}, "client_reference_id": form.get("client_reference_id"),
        "mode": form.get("mode", "payment"), "payment_intent": None, "success_url": form.get("success_url"),
        "cancel_url": form.get("cancel_url"), "expires_at": int(form.get("expires_at") or now + 86400),
        "created": now, "livemode": False,
    }
    SESSIONS[sid] = session
    if key:
        IDEMPOTENCY[key] = sid
    return JSONResponse(session)


def _get(sid: str) -> dict[str, Any] | None:
    return SESSIONS.get(sid)


def _missing(sid: str) -> JSONResponse:
    return _error(404, f"No such checkout.session: '{sid}'", "resource_missing", "id")


async def retrieve_session(request: Request) -> Response:
    session = _get(request.path_params["sid"])
    return JSONResponse(session) if session else _missing(request.path_params["sid"])


async def _event(session: dict[str, Any], event_type: str, secret: str | None) -> dict[str, Any]:
    event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "type": event_type,
             "created": int(time.time()), "livemode": False, "api_version": "2024-06-20",
             "data": {"object": dict(session)}}
    payload = json.dumps(event, separators=(",", ":"))
    secret = secret or os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_test"
    out = {"event": event, "payload": payload, "stripe_signature": sign(payload, secret)}
    url = os.environ.get("FAKE_STRIPE_WEBHOOK_URL")
    if url:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                await client.post(url, content=payload, headers={"Stripe-Signature": out["stripe_signature"],
                                                                 "Content-Type": "application/json"})
        except httpx.HTTPError:
            pass  # the test or demo still has the signed event in the answer
    return out


def _apply(session: dict[str, Any], action: str, payment_status: str = "paid") -> str | None:
    if action == "complete":
        if session["status"] != "open":
            return None
        session["status"] = "complete"
        session["payment_status"] = "paid" if payment_status == "paid" else "unpaid"
        if session["payment_status"] == "paid":
            session["payment_intent"] = "pi_" + secrets.token_hex(12)
        return "checkout.session.completed"
    if action == "async_succeed":
        session["payment_status"] = "paid"
        session["payment_intent"] = session["payment_intent"] or "pi_" + secrets.token_hex(12)
        return "checkout.session.async_payment_succeeded"
    if action == "async_fail":
        return "checkout.session.async_payment_failed"
    if action == "expire":
        if session["status"] != "open":
            return None
        session["status"] = "expired"
        return "checkout.session.expired"
    return None


async def expire_session(request: Request) -> Response:
    session = _get(request.path_params["sid"])
    if session is None:
        return _missing(request.path_params["sid"])
    if _apply(session, "expire") is None:
        return _error(400, "Only open sessions can be expired", "checkout_session_not_open")
    return JSONResponse(session)


async def control(request: Request) -> Response:
    sid, action = request.path_params["sid"], request.path_params["action"]
    session = _get(sid)
    if session is None:
        return _missing(sid)
    body: dict[str, Any] = {}
    if (await request.body()).strip():
        body = await request.json()
    event_type = _apply(session, action, body.get("payment_status", "paid"))
    if event_type is None:
        return _error(400, f"Cannot {action} a session in status {session['status']}", "invalid_state")
    return JSONResponse(await _event(session, event_type, body.get("webhook_secret")))


async def pay_page(request: Request) -> Response:
    session = _get(request.path_params["sid"])
    if session is None:
        return HTMLResponse("<h1>Unknown checkout session</h1>", status_code=404)
    amount = f"${session['amount_total'] / 100:.2f}"
    return HTMLResponse(f"<!doctype html><title>Fake Stripe Checkout</title><h1>Pay {amount}</h1>"
                        f"<form method=post><button type=submit>Pay</button></form>")


async def pay(request: Request) -> Response:
    session = _get(request.path_params["sid"])
    if session is None:
        return HTMLResponse("<h1>Unknown checkout session</h1>", status_code=404)
    if _apply(session, "complete") is not None:
        await _event(session, "checkout.session.completed", None)
    return RedirectResponse(session.get("success_url") or "/", status_code=303)


ROUTES = [
    Route("/v1/checkout/sessions", create_session, methods=["POST"]),
    Route("/v1/checkout/sessions/{sid}", retrieve_session, methods=["GET"]),
    Route("/v1/checkout/sessions/{sid}/expire", expire_session, methods=["POST"]),
    Route("/pay/{sid}", pay_page, methods=["GET"]),
    Route("/pay/{sid}", pay, methods=["POST"]),
    Route("/_sim/checkout/{sid}/{action}", control, methods=["POST"]),
    Route("/__fake/checkout/{sid}/{action}", control, methods=["POST"]),
]
