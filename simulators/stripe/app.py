"""A stateful, in-memory fake of the Stripe API, good enough for the real ``stripe`` SDK (wallet
spec §7.2): Connect Express accounts, account links, transfers (+ reversals), payouts on connected
accounts, balance, events and signed webhook delivery, Stripe's idempotency semantics, and fault
injection through a control API (``/_sim/…``, also served as ``/__fake/…``).

Other contexts extend the same server: ``simulators/stripe/checkout.py`` exposes ``ROUTES``
(Starlette routes) that are mounted here; they may use ``STATE`` and ``emit_event`` below.
"""
from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import hmac
import json
import os
import random
import secrets as _secrets
import time
import urllib.parse
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.base import health_route

API_VERSION_DEFAULT = "2024-06-20"


# ------------------------------------------------------------------------------------------------
# wire format
# ------------------------------------------------------------------------------------------------

def _set_path(target: dict, key: str, value: str) -> None:
    parts = key.replace("]", "").split("[")
    cur: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt_is_index = not last and parts[i + 1].isdigit()
        if isinstance(cur, list):
            idx = int(part)
            while len(cur) <= idx:
                cur.append(None)
            if last:
                cur[idx] = value
            else:
                if cur[idx] is None:
                    cur[idx] = [] if nxt_is_index else {}
                cur = cur[idx]
        else:
            if last:
                cur[part] = value
            else:
                if part not in cur or not isinstance(cur[part], (dict, list)):
                    cur[part] = [] if nxt_is_index else {}
                cur = cur[part]


def parse_params(raw: str) -> dict:
    """``a[b][c]=1&x[0]=y`` (percent-encoded or literal brackets) → nested dicts and lists."""
    out: dict = {}
    for key, value in urllib.parse.parse_qsl(raw, keep_blank_values=True):
        _set_path(out, key, value)
    return out


def canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.type, self.message, self.code, self.param = status, type_, message, code, param

    def response(self, headers: dict) -> JSONResponse:
        err = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
        if self.param:
            err["param"] = self.param
        return JSONResponse({"error": err}, status_code=self.status, headers=headers)


def invalid(message: str, code: str | None = None, param: str | None = None, status: int = 400) -> StripeError:
    return StripeError(status, "invalid_request_error", message, code, param)


def _int(params: dict, name: str, required: bool = True) -> int | None:
    if name not in params:
        if required:
            raise invalid(f"Missing required param: {name}.", "parameter_missing", name)
        return None
    try:
        return int(params[name])
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {params[name]}", "parameter_invalid_integer", name) from None


def _bool(v: Any) -> bool:
    return str(v).lower() == "true"


# ------------------------------------------------------------------------------------------------
# state
# ------------------------------------------------------------------------------------------------

class State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.rng = random.Random(int(os.environ.get("FAKE_STRIPE_SEED", "0")) or None)
        self.accounts: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.reversals: dict[str, dict] = {}
        self.payouts: dict[str, dict] = {}
        self.events: dict[str, dict] = {}
        self.event_order: list[str] = []
        self.links: dict[str, str] = {}
        self.platform = {"available": int(os.environ.get("FAKE_STRIPE_PLATFORM_BALANCE", "100000000")), "pending": 0}
        self.connected: dict[str, dict] = {}
        self.idem: dict[tuple[str, str], dict] = {}
        self.in_flight: set[tuple[str, str]] = set()
        self.faults: list[dict] = []
        self.requests: list[dict] = []
        self.endpoints: list[dict] = []
        self.deliveries: list[dict] = []
        self.hold = False
        self.sign_override: dict | None = None
        self.clock_offset = 0
        endpoints = os.environ.get("FAKE_STRIPE_WEBHOOKS")
        if endpoints:
            self.endpoints = json.loads(endpoints)

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self.rng.getrandbits(64):016x}"

    def connected_balance(self, acct: str) -> dict:
        return self.connected.setdefault(acct, {"available": 0, "pending": 0})


STATE = State()
_tasks: set[asyncio.Task] = set()


def _api_keys() -> set[str] | None:
    raw = os.environ.get("FAKE_STRIPE_API_KEYS")
    return {k.strip() for k in raw.split(",") if k.strip()} if raw else None


# ------------------------------------------------------------------------------------------------
# events and delivery
# ------------------------------------------------------------------------------------------------

def sign(payload: bytes, secret: str, timestamp: int, scheme: str = "v1") -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"{scheme}={mac}"


def signature_header(payload: bytes, secrets_: list[str], timestamp: int | None = None) -> str:
    o = STATE.sign_override or {}
    ts = timestamp if timestamp is not None else STATE.now() + int(o.get("offset_s", 0))
    used = o.get("secrets") or secrets_
    scheme = o.get("scheme", "v1")
    return ",".join([f"t={ts}", *(sign(payload, s, ts, scheme) for s in used)])


def emit_event(type_: str, obj: dict, *, account: str | None = None, previous: dict | None = None,
               request: dict | None = None, api_version: str | None = None) -> dict:
    ev = {"id": STATE.new_id("evt"), "object": "event", "api_version": api_version or API_VERSION_DEFAULT,
          "created": STATE.now(), "livemode": False, "pending_webhooks": 1,
          "request": request or {"id": None, "idempotency_key": None}, "type": type_,
          "data": {"object": json.loads(json.dumps(obj))}}
    if previous is not None:
        ev["data"]["previous_attributes"] = previous
    if account:
        ev["account"] = account
    STATE.events[ev["id"]] = ev
    STATE.event_order.append(ev["id"])
    if not STATE.hold:
        _spawn(deliver(ev))
    return ev


def _spawn(coro) -> None:
    task = asyncio.get_event_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def deliver(ev: dict, attempts: int = 4) -> list[int]:
    """POST the exact bytes to every matching endpoint, signed; retry non-2xx quickly."""
    body = json.dumps(ev, separators=(",", ":")).encode()
    statuses = []
    for ep in list(STATE.endpoints):
        if bool(ep.get("connect")) != bool(ev.get("account")) and not ep.get("all"):
            continue
        status = 0
        for attempt in range(attempts):
            headers = {"content-type": "application/json",
                       "stripe-signature": signature_header(body, ep.get("secrets") or [])}
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    r = await client.post(ep["url"], content=body, headers=headers)
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            STATE.deliveries.append({"event": ev["id"], "type": ev["type"], "url": ep["url"], "status": status,
                                     "attempt": attempt + 1})
            if 200 <= status < 300:
                break
            await asyncio.sleep(0.2 * (attempt + 1))
        statuses.append(status)
    return statuses


# ------------------------------------------------------------------------------------------------
# resources
# ------------------------------------------------------------------------------------------------

def _account_obj(acct_id: str, params: dict) -> dict:
    caps = {k: "inactive" for k in (params.get("capabilities") or {})}
    if "transfers" in caps:
        caps["transfers"] = "pending"
    return {"id": acct_id, "object": "account", "type": params.get("type", "express"),
            "country": params.get("country", "US"), "email": params.get("email"),
            "business_type": params.get("business_type"), "charges_enabled": False, "payouts_enabled": False,
            "details_submitted": False, "capabilities": caps,
            "requirements": {"currently_due": ["external_account", "individual.dob.day"], "eventually_due": [],
                             "past_due": [], "disabled_reason": "requirements.past_due"},
            "settings": params.get("settings") or {}, "metadata": params.get("metadata") or {},
            "business_profile": params.get("business_profile") or {}, "created": STATE.now()}


def complete_onboarding(acct_id: str) -> dict:
    acct = STATE.accounts[acct_id]
    previous = {k: acct[k] for k in ("charges_enabled", "payouts_enabled", "details_submitted", "capabilities",
                                     "requirements")}
    acct.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
    acct["capabilities"] = {k: "active" for k in acct["capabilities"]} or {"transfers": "active"}
    acct["requirements"] = {"currently_due": [], "eventually_due": [], "past_due": [], "disabled_reason": None}
    emit_event("account.updated", acct, account=acct_id, previous=json.loads(json.dumps(previous)))
    return acct


def _list(items: list[dict], params: dict, url: str) -> dict:
    items = sorted(items, key=lambda o: (o.get("created", 0), o["id"]), reverse=True)
    limit = _int(params, "limit", required=False) or 10
    if not 1 <= limit <= 100:
        raise invalid("limit must be between 1 and 100", "parameter_invalid_integer", "limit")
    if params.get("starting_after"):
        ids = [o["id"] for o in items]
        if params["starting_after"] in ids:
            items = items[ids.index(params["starting_after"]) + 1:]
    elif params.get("ending_before"):
        ids = [o["id"] for o in items]
        if params["ending_before"] in ids:
            items = items[:ids.index(params["ending_before"])]
    return {"object": "list", "url": url, "has_more": len(items) > limit, "data": items[:limit]}


def _created_filter(items: list[dict], created: Any) -> list[dict]:
    if isinstance(created, dict):
        for op, val in created.items():
            v = int(val)
            cmp = {"gt": lambda x: x > v, "gte": lambda x: x >= v, "lt": lambda x: x < v, "lte": lambda x: x <= v}[op]
            items = [o for o in items if cmp(o.get("created", 0))]
    elif created is not None:
        items = [o for o in items if o.get("created") == int(created)]
    return items


def _get(store: dict, oid: str, kind: str) -> dict:
    if oid not in store:
        raise invalid(f"No such {kind}: '{oid}'", "resource_missing", "id", status=404)
    return store[oid]


async def op_accounts_create(p: dict, ctx: dict) -> dict:
    acct = _account_obj(STATE.new_id("acct"), p)
    STATE.accounts[acct["id"]] = acct
    STATE.connected_balance(acct["id"])
    return acct


async def op_accounts_update(p: dict, ctx: dict, acct_id: str) -> dict:
    acct = _get(STATE.accounts, acct_id, "account")
    for k in ("email", "metadata", "settings", "business_profile"):
        if k in p:
            acct[k] = p[k]
    return acct


async def op_account_links(p: dict, ctx: dict) -> dict:
    for name in ("account", "type", "refresh_url", "return_url"):
        if not p.get(name):
            raise invalid(f"Missing required param: {name}.", "parameter_missing", name)
    if p["type"] != "account_onboarding":
        raise invalid("account_update links are not supported for Express accounts", "parameter_invalid", "type")
    _get(STATE.accounts, p["account"], "account")
    token = _secrets.token_hex(8)
    STATE.links[token] = p["account"]
    created = STATE.now()
    return {"object": "account_link", "created": created, "expires_at": created + 300,
            "url": f"{ctx['base']}/connect/setup/{p['account']}/{token}"}


def _transfer_obj(p: dict, amount: int, destination: str) -> dict:
    tid = STATE.new_id("tr")
    return {"id": tid, "object": "transfer", "amount": amount, "amount_reversed": 0, "currency": p.get("currency", "usd"),
            "created": STATE.now(), "destination": destination, "metadata": p.get("metadata") or {},
            "reversed": False, "transfer_group": p.get("transfer_group"), "livemode": False,
            "reversals": {"object": "list", "data": [], "has_more": False, "url": f"/v1/transfers/{tid}/reversals"}}


async def op_transfers_create(p: dict, ctx: dict) -> dict:
    amount = _int(p, "amount")
    if amount <= 0:
        raise invalid("Amount must be at least 1 cent", "amount_too_small", "amount")
    if not p.get("currency"):
        raise invalid("Missing required param: currency.", "parameter_missing", "currency")
    dest = p.get("destination")
    if not dest:
        raise invalid("Missing required param: destination.", "parameter_missing", "destination")
    acct = STATE.accounts.get(dest)
    if acct is None:
        raise invalid(f"No such destination: '{dest}'", "account_invalid", "destination")
    if acct.get("capabilities", {}).get("transfers") != "active":
        raise invalid("Your destination account needs to have the transfers capability enabled",
                      "transfers_not_allowed", "destination")
    if STATE.platform["available"] < amount:
        raise invalid("You have insufficient funds in your Stripe account.", "balance_insufficient")
    tr = _transfer_obj(p, amount, dest)
    STATE.platform["available"] -= amount
    STATE.connected_balance(dest)["available"] += amount
    STATE.transfers[tr["id"]] = tr
    emit_event("transfer.created", tr, request=ctx.get("request"))
    return tr


async def op_transfers_list(p: dict, ctx: dict) -> dict:
    items = list(STATE.transfers.values())
    if p.get("destination"):
        items = [t for t in items if t["destination"] == p["destination"]]
    if p.get("transfer_group"):
        items = [t for t in items if t.get("transfer_group") == p["transfer_group"]]
    items = _created_filter(items, p.get("created"))
    return _list(items, p, "/v1/transfers")


async def op_reversal_create(p: dict, ctx: dict, tid: str) -> dict:
    tr = _get(STATE.transfers, tid, "transfer")
    remaining = tr["amount"] - tr["amount_reversed"]
    amount = _int(p, "amount", required=False)
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise invalid("Amount exceeds the amount remaining on the transfer", "parameter_invalid_integer", "amount")
    bal = STATE.connected_balance(tr["destination"])
    if bal["available"] < amount:
        raise invalid("Insufficient funds in the connected account to reverse", "balance_insufficient")
    bal["available"] -= amount
    STATE.platform["available"] += amount
    rev = {"id": STATE.new_id("trr"), "object": "transfer_reversal", "amount": amount, "currency": tr["currency"],
           "created": STATE.now(), "transfer": tid, "metadata": p.get("metadata") or {}}
    STATE.reversals[rev["id"]] = rev
    tr["amount_reversed"] += amount
    tr["reversed"] = tr["amount_reversed"] >= tr["amount"]
    tr["reversals"]["data"].insert(0, rev)
    emit_event("transfer.reversed", tr, previous={"amount_reversed": tr["amount_reversed"] - amount},
               request=ctx.get("request"))
    return rev


async def op_payouts_create(p: dict, ctx: dict) -> dict:
    acct = ctx.get("account")
    if not acct:
        raise invalid("Payouts to connected accounts need the Stripe-Account header", "parameter_missing")
    _get(STATE.accounts, acct, "account")
    amount = _int(p, "amount")
    if amount <= 0:
        raise invalid("Amount must be at least 1 cent", "amount_too_small", "amount")
    bal = STATE.connected_balance(acct)
    if bal["available"] < amount:
        raise invalid("You have insufficient funds in your Stripe account.", "balance_insufficient")
    bal["available"] -= amount
    po = {"id": STATE.new_id("po"), "object": "payout", "amount": amount, "currency": p.get("currency", "usd"),
          "status": "pending", "arrival_date": STATE.now() + 86_400, "automatic": False, "created": STATE.now(),
          "failure_code": None, "failure_message": None, "metadata": p.get("metadata") or {}, "livemode": False,
          "_account": acct}
    STATE.payouts[po["id"]] = po
    emit_event("payout.created", _public(po), account=acct, request=ctx.get("request"))
    return _public(po)


def _public(po: dict) -> dict:
    return {k: v for k, v in po.items() if not k.startswith("_")}


def advance_payout(po_id: str, status: str, failure_code: str | None = None) -> dict:
    po = STATE.payouts[po_id]
    acct = po["_account"]
    prev = po["status"]
    po["status"] = status
    if status in ("failed", "canceled") and prev not in ("failed", "canceled"):
        STATE.connected_balance(acct)["available"] += po["amount"]
        if status == "failed":
            po["failure_code"] = failure_code or "account_closed"
            po["failure_message"] = "The bank account has been closed."
    emit_event(f"payout.{status}" if status in ("paid", "failed", "canceled") else "payout.updated",
               _public(po), account=acct, previous={"status": prev})
    return _public(po)


# ------------------------------------------------------------------------------------------------
# HTTP handling: auth, idempotency, faults, request log
# ------------------------------------------------------------------------------------------------

def _take_fault(method: str, path: str) -> dict | None:
    for f in STATE.faults:
        if f.get("count", 1) <= 0:
            continue
        if f.get("method", "*") not in ("*", method):
            continue
        if not fnmatch.fnmatch(path, f.get("path", "*")):
            continue
        f["count"] = f.get("count", 1) - 1
        return f
    return None


def api(op, *, mutating: bool):
    async def handler(request: Request) -> Response:
        rid = "req_" + _secrets.token_hex(8)
        version = request.headers.get("stripe-version") or API_VERSION_DEFAULT
        headers = {"Request-Id": rid, "Stripe-Version": version}
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        allowed = _api_keys()
        if not key or (allowed is not None and key not in allowed) or (allowed is None and not key.startswith(("sk_test_", "rk_test_"))):
            return StripeError(401, "invalid_request_error", "Invalid API Key provided").response(headers)
        raw = (await request.body()).decode() if request.method == "POST" else urllib.parse.unquote(
            request.url.query or "")
        params = parse_params(raw if request.method == "POST" else request.url.query or "")
        params.pop("expand", None)
        account = request.headers.get("stripe-account")
        idem_key = request.headers.get("idempotency-key")
        path = request.url.path
        entry = {"method": request.method, "path": path, "key": idem_key, "stripe_account": account,
                 "params": params, "status": None, "time": STATE.now()}
        STATE.requests.append(entry)
        fault = _take_fault(request.method, path)
        kind = (fault or {}).get("kind")
        delay = float((fault or {}).get("delay_s", 30))
        if kind in ("500", "fail_before_commit"):
            entry["status"] = 500
            return StripeError(500, "api_error", "An unknown error occurred").response(
                {**headers, "Stripe-Should-Retry": "false"} if fault.get("no_retry") else headers)
        if kind == "429":
            entry["status"] = 429
            return StripeError(429, "invalid_request_error", "Too many requests", "rate_limit").response(headers)
        if kind == "409_in_flight":
            entry["status"] = 409
            return StripeError(409, "idempotency_error", "There is currently another in-progress request using "
                               "this Stripe-Account, Idempotency-Key", "idempotency_key_in_use").response(headers)
        if kind == "drop":
            await asyncio.sleep(delay)
            entry["status"] = 0
            return StripeError(500, "api_error", "dropped").response(headers)
        ctx = {"account": account, "base": str(request.base_url).rstrip("/"),
               "request": {"id": rid, "idempotency_key": idem_key}, "version": version}
        args = request.path_params
        status, body, replayed = 200, None, False
        scope = (account or key, idem_key) if (mutating and idem_key) else None
        fingerprint = hashlib.sha256(f"{request.method} {path} {canonical(params)}".encode()).hexdigest()
        if scope is not None:
            stored = STATE.idem.get(scope)
            if stored is not None:
                if stored["fingerprint"] != fingerprint:
                    entry["status"] = 400
                    return StripeError(400, "idempotency_error",
                                       "Keys for idempotent requests can only be used with the same parameters they "
                                       "were first used with. Try using a key other than "
                                       f"'{idem_key}' if you meant to execute a different request.").response(headers)
                status, body, replayed = stored["status"], stored["body"], True
            elif scope in STATE.in_flight:
                entry["status"] = 409
                return StripeError(409, "idempotency_error", "There is currently another in-progress request using "
                                   "this Idempotency-Key", "idempotency_key_in_use").response(headers)
        if body is None:
            if scope is not None:
                STATE.in_flight.add(scope)
            try:
                body = await op(params, ctx, **args)
                status = 200
            except StripeError as exc:
                status = exc.status
                body = {"error": {k: v for k, v in {"type": exc.type, "message": exc.message, "code": exc.code,
                                                    "param": exc.param}.items() if v is not None}}
            finally:
                if scope is not None:
                    STATE.in_flight.discard(scope)
            if scope is not None and not (status == 400 and body.get("error", {}).get("code") in (
                    "parameter_missing", "parameter_invalid_integer")):
                STATE.idem[scope] = {"fingerprint": fingerprint, "status": status, "body": body, "time": STATE.now()}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        if idem_key:
            headers["Idempotency-Key"] = idem_key
        if kind == "commit_then_500":
            entry["status"] = 500
            return StripeError(500, "api_error", "An unknown error occurred").response(headers)
        if kind in ("hang", "delay"):
            await asyncio.sleep(delay)
        entry["status"] = status
        return JSONResponse(body, status_code=status, headers=headers)

    return handler


def _simple(fn):
    async def op(p: dict, ctx: dict, **kw) -> dict:
        return await fn(p, ctx, **kw)
    return op


async def op_account_get(p, ctx, acct_id):
    return _get(STATE.accounts, acct_id, "account")


async def op_accounts_list(p, ctx):
    return _list(list(STATE.accounts.values()), p, "/v1/accounts")


async def op_transfer_get(p, ctx, tid):
    return _get(STATE.transfers, tid, "transfer")


async def op_reversals_list(p, ctx, tid):
    return _list(_get(STATE.transfers, tid, "transfer")["reversals"]["data"], p, f"/v1/transfers/{tid}/reversals")


async def op_reversal_get(p, ctx, tid, rid):
    return _get(STATE.reversals, rid, "transfer_reversal")


async def op_payouts_list(p, ctx):
    items = [_public(po) for po in STATE.payouts.values() if po["_account"] == ctx.get("account")]
    return _list(_created_filter(items, p.get("created")), p, "/v1/payouts")


async def op_payout_get(p, ctx, po_id):
    po = _get(STATE.payouts, po_id, "payout")
    if po["_account"] != ctx.get("account"):
        raise invalid(f"No such payout: '{po_id}'", "resource_missing", "id", status=404)
    return _public(po)


async def op_balance(p, ctx):
    bal = STATE.connected_balance(ctx["account"]) if ctx.get("account") else STATE.platform
    return {"object": "balance", "livemode": False,
            "available": [{"amount": bal["available"], "currency": "usd"}],
            "pending": [{"amount": bal["pending"], "currency": "usd"}]}


async def op_events_list(p, ctx):
    items = [STATE.events[i] for i in STATE.event_order]
    if p.get("type"):
        items = [e for e in items if fnmatch.fnmatch(e["type"], p["type"])]
    if p.get("types"):
        items = [e for e in items if e["type"] in p["types"]]
    return _list(_created_filter(items, p.get("created")), p, "/v1/events")


async def op_event_get(p, ctx, evt_id):
    return _get(STATE.events, evt_id, "event")


# ------------------------------------------------------------------------------------------------
# control API
# ------------------------------------------------------------------------------------------------

async def _json(request: Request) -> dict:
    body = await request.body()
    return json.loads(body) if body.strip() else {}


async def ctl_reset(request: Request) -> Response:
    STATE.reset()
    return JSONResponse({"ok": True})


async def ctl_webhooks(request: Request) -> Response:
    if request.method == "POST":
        data = await _json(request)
        if data.get("replace"):
            STATE.endpoints = []
        for ep in data.get("endpoints") or [data]:
            STATE.endpoints.append({"url": ep["url"], "secrets": ep.get("secrets") or [],
                                    "connect": bool(ep.get("connect")), "all": bool(ep.get("all"))})
    return JSONResponse({"endpoints": STATE.endpoints})


async def ctl_sign(request: Request) -> Response:
    data = await _json(request)
    if data.get("payload") is not None:
        payload = data["payload"].encode() if isinstance(data["payload"], str) else json.dumps(data["payload"]).encode()
        ts = STATE.now() + int(data.get("offset_s", 0))
        secrets_ = data.get("secrets") or [data.get("secret", "")]
        return JSONResponse({"header": ",".join([f"t={ts}", *(sign(payload, s, ts, data.get("scheme", "v1"))
                                                              for s in secrets_)])})
    STATE.sign_override = data or None  # e.g. {"offset_s": -600} stale, {"secrets": ["wrong"]}, {"scheme": "v0"}
    return JSONResponse({"sign": STATE.sign_override})


async def ctl_faults(request: Request) -> Response:
    if request.method == "POST":
        data = await _json(request)
        if data.get("clear"):
            STATE.faults = []
        for f in data.get("faults") or ([data] if data.get("kind") else []):
            STATE.faults.append({"method": f.get("method", "*"), "path": f.get("path", "*"),
                                 "kind": str(f["kind"]), "count": int(f.get("count", 1)),
                                 "delay_s": float(f.get("delay_s", 30)), "no_retry": bool(f.get("no_retry"))})
    return JSONResponse({"faults": STATE.faults})


async def ctl_requests(request: Request) -> Response:
    path = request.query_params.get("path")
    items = [r for r in STATE.requests if not path or fnmatch.fnmatch(r["path"], path)]
    return JSONResponse({"requests": items})


async def ctl_events(request: Request) -> Response:
    return JSONResponse({"events": [STATE.events[i] for i in STATE.event_order]})


async def ctl_hold(request: Request) -> Response:
    data = await _json(request)
    STATE.hold = bool(data.get("hold", True))
    return JSONResponse({"hold": STATE.hold})


async def ctl_deliver(request: Request) -> Response:
    data = await _json(request)
    ids = data.get("ids") or list(STATE.event_order)
    if data.get("order") == "reverse":
        ids = list(reversed(ids))
    elif data.get("order") == "shuffle":
        ids = list(ids)
        random.shuffle(ids)
    results = {}
    for i in ids:
        results[i] = await deliver(STATE.events[i])
    return JSONResponse({"delivered": results})


async def ctl_redeliver(request: Request) -> Response:
    ev = _get(STATE.events, request.path_params["evt_id"], "event")
    data = await _json(request)
    times = int(data.get("times", 1))
    if data.get("concurrent"):
        out = await asyncio.gather(*(deliver(ev, attempts=1) for _ in range(times)))
    else:
        out = [await deliver(ev, attempts=1) for _ in range(times)]
    return JSONResponse({"statuses": out})


async def ctl_balance(request: Request) -> Response:
    if request.method == "POST":
        data = await _json(request)
        if "platform" in data:
            STATE.platform["available"] = int(data["platform"])
        for acct, amount in (data.get("connected") or {}).items():
            STATE.connected_balance(acct)["available"] = int(amount)
    return JSONResponse({"platform": STATE.platform, "connected": STATE.connected})


async def ctl_account_update(request: Request) -> Response:
    acct_id = request.path_params["acct_id"]
    acct = _get(STATE.accounts, acct_id, "account")
    data = await _json(request)
    previous = {}
    for k in ("charges_enabled", "payouts_enabled", "details_submitted"):
        if k in data:
            previous[k] = acct[k]
            acct[k] = bool(data[k])
    if "capabilities" in data:
        previous["capabilities"] = dict(acct["capabilities"])
        acct["capabilities"].update(data["capabilities"])
    if "requirements" in data:
        previous["requirements"] = dict(acct["requirements"])
        acct["requirements"].update(data["requirements"])
    ev = emit_event("account.updated", acct, account=acct_id, previous=previous)
    return JSONResponse({"account": acct, "event": ev["id"]})


async def ctl_complete_onboarding(request: Request) -> Response:
    try:
        acct = complete_onboarding(request.path_params["acct_id"])
    except KeyError:
        return JSONResponse({"error": "no such account"}, status_code=404)
    return JSONResponse({"account": acct})


async def connect_setup(request: Request) -> Response:
    acct_id = STATE.links.get(request.path_params["token"])
    if acct_id is None or acct_id != request.path_params["acct_id"]:
        return JSONResponse({"error": "link expired"}, status_code=404)
    complete_onboarding(acct_id)
    return JSONResponse({"ok": True, "account": acct_id})


async def ctl_payout_advance(request: Request) -> Response:
    data = await _json(request)
    po_id = request.path_params["po_id"]
    if po_id not in STATE.payouts:
        return JSONResponse({"error": "no such payout"}, status_code=404)
    return JSONResponse({"payout": advance_payout(po_id, data.get("status", "paid"), data.get("failure_code"))})


async def ctl_idem_prune(request: Request) -> Response:
    n = len(STATE.idem)
    STATE.idem.clear()
    return JSONResponse({"pruned": n})


async def ctl_drift(request: Request) -> Response:
    """Change Stripe behind the wallet's back: {create: {...transfer}} or {alter: {id, amount|destination|currency}}."""
    data = await _json(request)
    if "create" in data:
        c = data["create"]
        tr = _transfer_obj(c, int(c["amount"]), c.get("destination", "acct_unknown"))
        STATE.transfers[tr["id"]] = tr
        return JSONResponse({"transfer": tr})
    alter = data.get("alter") or {}
    tr = STATE.transfers[alter["id"]]
    for k in ("amount", "destination", "currency", "amount_reversed", "reversed"):
        if k in alter:
            tr[k] = alter[k]
    if "delete" in data:
        STATE.transfers.pop(data["delete"], None)
    return JSONResponse({"transfer": tr})


async def ctl_state(request: Request) -> Response:
    return JSONResponse({"accounts": STATE.accounts, "transfers": STATE.transfers,
                         "payouts": {k: _public(v) for k, v in STATE.payouts.items()},
                         "platform": STATE.platform, "connected": STATE.connected})


async def ctl_deliveries(request: Request) -> Response:
    return JSONResponse({"deliveries": STATE.deliveries})


async def ctl_clock(request: Request) -> Response:
    data = await _json(request)
    STATE.clock_offset = int(data.get("offset_s", 0))
    return JSONResponse({"offset_s": STATE.clock_offset})


def _control_routes(prefix: str) -> list[Route]:
    return [
        Route(f"{prefix}/reset", ctl_reset, methods=["POST"]),
        Route(f"{prefix}/webhooks", ctl_webhooks, methods=["GET", "POST"]),
        Route(f"{prefix}/sign", ctl_sign, methods=["POST"]),
        Route(f"{prefix}/faults", ctl_faults, methods=["GET", "POST"]),
        Route(f"{prefix}/requests", ctl_requests, methods=["GET"]),
        Route(f"{prefix}/events", ctl_events, methods=["GET"]),
        Route(f"{prefix}/events/hold", ctl_hold, methods=["POST"]),
        Route(f"{prefix}/events/deliver", ctl_deliver, methods=["POST"]),
        Route(f"{prefix}/events/{{evt_id}}/redeliver", ctl_redeliver, methods=["POST"]),
        Route(f"{prefix}/balance", ctl_balance, methods=["GET", "POST"]),
        Route(f"{prefix}/accounts/{{acct_id}}/update", ctl_account_update, methods=["POST"]),
        Route(f"{prefix}/accounts/{{acct_id}}/complete_onboarding", ctl_complete_onboarding, methods=["POST"]),
        Route(f"{prefix}/payouts/{{po_id}}/advance", ctl_payout_advance, methods=["POST"]),
        Route(f"{prefix}/idempotency/prune", ctl_idem_prune, methods=["POST"]),
        Route(f"{prefix}/drift", ctl_drift, methods=["POST"]),
        Route(f"{prefix}/deliveries", ctl_deliveries, methods=["GET"]),
        Route(f"{prefix}/clock", ctl_clock, methods=["POST"]),
        Route(f"{prefix}/state", ctl_state, methods=["GET"]),
    ]


def build_app() -> Starlette:
    from simulators.stripe import checkout

    routes = [
        health_route("stripe"),
        Route("/v1/accounts", api(op_accounts_create, mutating=True), methods=["POST"]),
        Route("/v1/accounts", api(op_accounts_list, mutating=False), methods=["GET"]),
        Route("/v1/accounts/{acct_id}", api(op_account_get, mutating=False), methods=["GET"]),
        Route("/v1/accounts/{acct_id}", api(op_accounts_update, mutating=True), methods=["POST"]),
        Route("/v1/account_links", api(op_account_links, mutating=True), methods=["POST"]),
        Route("/v1/transfers", api(op_transfers_create, mutating=True), methods=["POST"]),
        Route("/v1/transfers", api(op_transfers_list, mutating=False), methods=["GET"]),
        Route("/v1/transfers/{tid}", api(op_transfer_get, mutating=False), methods=["GET"]),
        Route("/v1/transfers/{tid}/reversals", api(op_reversal_create, mutating=True), methods=["POST"]),
        Route("/v1/transfers/{tid}/reversals", api(op_reversals_list, mutating=False), methods=["GET"]),
        Route("/v1/transfers/{tid}/reversals/{rid}", api(op_reversal_get, mutating=False), methods=["GET"]),
        Route("/v1/payouts", api(op_payouts_create, mutating=True), methods=["POST"]),
        Route("/v1/payouts", api(op_payouts_list, mutating=False), methods=["GET"]),
        Route("/v1/payouts/{po_id}", api(op_payout_get, mutating=False), methods=["GET"]),
        Route("/v1/balance", api(op_balance, mutating=False), methods=["GET"]),
        Route("/v1/events", api(op_events_list, mutating=False), methods=["GET"]),
        Route("/v1/events/{evt_id}", api(op_event_get, mutating=False), methods=["GET"]),
        Route("/connect/setup/{acct_id}/{token}", connect_setup, methods=["GET"]),
        *_control_routes("/_sim"),
        *_control_routes("/__fake"),
        *checkout.ROUTES,
    ]
    return Starlette(routes=routes)
