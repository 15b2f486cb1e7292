"""The Fidel simulator (clo.md §7): the Fidel-shaped API the CLO client uses, and a `/_sim` control
API that creates test transactions and delivers correctly signed webhooks (Fidel's scheme) to the
gateway, with fault knobs (bad signature, stale timestamp, duplicates, failed attempts, legacy
envelope) and a signing clock offset.

It never stores a card number: the SDK stand-in keeps first6/last4 and a salted hash (random per
process) only to recognise the same number again."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.base import health_route

HANDLED_EVENTS = ("transaction.auth", "transaction.clearing", "transaction.refund", "card.linked")


def sign(secret: str, body: bytes, url: str, timestamp: str) -> str:
    """Fidel: base64(HMAC(secret, base64(HMAC(secret, body‖url‖timestamp))))."""
    inner = base64.b64encode(hmac.new(secret.encode(), body + url.encode() + timestamp.encode(),
                                      hashlib.sha256).digest())
    return base64.b64encode(hmac.new(secret.encode(), inner, hashlib.sha256).digest()).decode()


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def scheme_of(number: str) -> str | None:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if 51 <= int(number[:2]) <= 55 or 2221 <= int(number[:4]) <= 2720:
        return "mastercard"
    return None


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"status": status, "error": {"code": code, "message": message}}, status_code=status)


def envelope(items: list[dict], status: int = 200) -> JSONResponse:
    return JSONResponse({"items": items, "status": status}, status_code=status)


class FidelSim:
    def __init__(self) -> None:
        self.secret_key = os.environ.get("SIM_SECRET_KEY", "sk_test_simulator")
        self.control_token = os.environ.get("SIM_CONTROL_TOKEN") or None
        self.webhook_secret = os.environ.get("SIM_WEBHOOK_SECRET") or None
        self.base_url = (os.environ.get("SIM_WEBHOOK_BASE_URL") or os.environ.get("FIDEL_WEBHOOK_BASE_URL")
                         or "http://localhost:8080").rstrip("/")
        delays = os.environ.get("SIM_RETRY_DELAYS_S", "0,60,120")
        self.retry_delays = [float(x) for x in delays.split(",") if x.strip()]
        self._salt = secrets.token_bytes(16)
        self.tasks: set[asyncio.Task] = set()
        self.reset()

    def reset(self) -> None:
        self.programs: dict[str, dict] = {}
        self.cards: dict[str, dict] = {}
        self.card_by_hash: dict[str, str] = {}
        self.locations: dict[str, dict] = {}
        self.hooks: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.deliveries: list[dict] = []
        self.faults: dict[str, Any] = {}
        self.offset_ms = 0
        for t in list(self.tasks):
            t.cancel()

    # ---- clock ---------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(milliseconds=self.offset_ms)

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    # ---- seeding -------------------------------------------------------------------------------
    def seed(self) -> dict:
        self.programs["prog_sim"] = {"id": "prog_sim", "name": "Nerava simulator", "live": False}
        self.locations["loc_sim_1"] = {"id": "loc_sim_1", "programId": "prog_sim", "brandId": "brand_sim_1",
                                       "brandName": "Sim Coffee", "timezone": "America/Chicago",
                                       "countryCode": "USA", "address": "1 Sim St", "active": True,
                                       "metadata": {"merchantId": "m-sim-1"}, "mid": "MID-SIM-1"}
        for event in HANDLED_EVENTS:
            self.register_hook("prog_sim", event, f"{self.base_url}/v1/clo/fidel/webhooks/{event}")
        return {"program": self.programs["prog_sim"], "location": self.locations["loc_sim_1"],
                "hooks": list(self.hooks.values())}

    def register_hook(self, pid: str, event: str, url: str) -> dict:
        hook = {"id": f"hook_{secrets.token_hex(6)}", "programId": pid, "event": event, "url": url,
                "secretKey": self.webhook_secret or f"wh_{secrets.token_hex(16)}"}
        self.hooks[event] = hook
        return hook

    # ---- objects -------------------------------------------------------------------------------
    def new_card(self, *, pid: str, last4: str, first6: str | None, scheme: str, exp_month: int,
                 exp_year: int, metadata: dict) -> dict:
        card = {"id": f"fidel_mock_{secrets.token_hex(8)}", "programId": pid, "firstNumbers": first6,
                "lastNumbers": last4, "expMonth": exp_month, "expYear": exp_year, "scheme": scheme,
                "live": False, "metadata": metadata, "created": self.now().isoformat()}
        self.cards[card["id"]] = card
        return card

    def new_transaction(self, *, cents: int, card: dict, location: dict, when: str | None, auth: bool,
                        cleared: bool, **extra: Any) -> dict:
        if when is None:
            when = self.now().astimezone(ZoneInfo(location["timezone"])).strftime("%Y-%m-%dT%H:%M:%S")
        tx = {"id": extra.pop("tid", None) or f"tx_sim_{secrets.token_hex(8)}", "amount": cents / 100,
              "currency": "USD", "datetime": when, "auth": auth, "cleared": cleared,
              "card": {"id": card["id"], "lastNumbers": card["lastNumbers"], "scheme": card["scheme"],
                       "metadata": card.get("metadata") or {}},
              "brand": {"id": location.get("brandId"), "name": location.get("brandName")},
              "location": {"id": location["id"], "timezone": location["timezone"],
                           "metadata": location.get("metadata") or {}},
              "identifiers": {"MID": location.get("mid")}, "programId": card["programId"]}
        tx.update(extra)
        self.transactions[tx["id"]] = tx
        return tx

    # ---- delivery ------------------------------------------------------------------------------
    def body_for(self, event: str, obj: dict) -> tuple[str, bytes]:
        """(url, compact JSON body) honouring the envelope fault."""
        hook = self.hooks.get(event)
        if self.faults.get("envelope") == "legacy" and event.startswith("transaction."):
            legacy = dict(obj)
            meta = (obj.get("location") or {}).get("metadata") or {}
            legacy["merchant"] = {"merchantId": meta.get("merchantId"), "name": (obj.get("brand") or {}).get("name")}
            url = self.base_url + "/v1/clo/fidel/webhook"
            return url, json.dumps({"event": event, "transaction": legacy}, separators=(",", ":")).encode()
        url = hook["url"] if hook else f"{self.base_url}/v1/clo/fidel/webhooks/{event}"
        return url, json.dumps(obj, separators=(",", ":")).encode()

    async def fire(self, event: str, obj: dict, *, wait: bool) -> list[dict]:
        url, body = self.body_for(event, obj)
        copies = 2 if self.faults.get("duplicate") else 1
        out = []
        for _ in range(copies):
            d = {"id": f"dlv_{secrets.token_hex(6)}", "event": event, "url": url,
                 "transactionId": obj.get("id"), "attempt": 0, "statusCode": None, "responseBody": None,
                 "_body": body}
            self.deliveries.append(d)
            out.append(d)
        for d in out:
            if wait:
                await self.attempt(d)
                self._spawn(self.retry_loop(d, first_done=True))
            else:
                self._spawn(self.retry_loop(d, first_done=False))
        return out

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def retry_loop(self, d: dict, *, first_done: bool) -> None:
        for i, delay in enumerate(self.retry_delays):
            if i == 0 and first_done:
                continue
            if d["statusCode"] == 200:
                return
            await asyncio.sleep(delay if i > 0 else 0)
            if d["statusCode"] == 200:
                return
            await self.attempt(d)

    def secret_for(self, d: dict) -> str:
        if d["url"].endswith("/v1/clo/fidel/webhook"):
            return self.webhook_secret or (self.hooks.get(d["event"]) or {}).get("secretKey", "")
        return (self.hooks.get(d["event"]) or {}).get("secretKey") or self.webhook_secret or ""

    async def attempt(self, d: dict) -> None:
        d["attempt"] += 1
        fail_first = int(self.faults.get("failFirstAttempts") or 0)
        if d["attempt"] <= fail_first:
            d["statusCode"], d["responseBody"] = 0, "simulated delivery failure"
            return
        ts = str(self.now_ms() - int(self.faults.get("staleTimestampMs") or 0))
        secret = "wrong-secret" if self.faults.get("badSignature") else self.secret_for(d)
        headers = {"content-type": "application/json", "x-fidel-timestamp": ts,
                   "x-fidel-signature": sign(secret, d["_body"], d["url"], ts)}
        try:
            async with httpx.AsyncClient(timeout=20.0) as client:
                resp = await client.post(d["url"], content=d["_body"], headers=headers)
            d["statusCode"], d["responseBody"] = resp.status_code, resp.text[:2000]
        except httpx.HTTPError as exc:
            d["statusCode"], d["responseBody"] = 0, type(exc).__name__


def public(d: dict) -> dict:
    return {k: v for k, v in d.items() if not k.startswith("_")}


async def read_json(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        obj = json.loads(raw)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


def cents(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
    try:
        return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None


def build_app(sim: FidelSim | None = None) -> Starlette:
    sim = sim or FidelSim()
    if os.environ.get("SIM_SEED_ON_START", "true").lower() in ("1", "true", "yes"):
        sim.seed()

    def api_auth(request: Request) -> JSONResponse | None:
        if request.headers.get("fidel-key") != sim.secret_key:
            return error(401, "unauthorized", "Invalid Fidel-Key")
        return None

    def control_auth(request: Request) -> JSONResponse | None:
        if sim.control_token and request.headers.get("authorization") != f"Bearer {sim.control_token}":
            return error(401, "unauthorized", "Control token required")
        return None

    def api(handler):
        async def wrapped(request: Request):
            return api_auth(request) or await handler(request)
        return wrapped

    def control(handler):
        async def wrapped(request: Request):
            return control_auth(request) or await handler(request)
        return wrapped

    wait_of = lambda r: r.query_params.get("wait", "").lower() in ("1", "true")  # noqa: E731

    # ---- Fidel-shaped API ------------------------------------------------------------------------
    async def create_card(request: Request):
        pid = request.path_params["pid"]
        body = await read_json(request)
        number = re.sub(r"[ -]", "", str(body.get("number") or ""))
        try:
            month, year = int(body.get("expMonth")), int(body.get("expYear"))
        except (TypeError, ValueError):
            return error(422, "invalid_expiry", "Invalid expiry")
        today = sim.now().date()
        if not (number.isdigit() and 13 <= len(number) <= 19 and luhn(number)):
            return error(422, "invalid_number", "Invalid card number")
        if not 1 <= month <= 12 or (year, month) < (today.year, today.month):
            return error(422, "invalid_expiry", "Card has expired")
        if body.get("termsOfUse") is not True:
            return error(422, "terms_of_use", "termsOfUse must be true")
        scheme = scheme_of(number)
        if scheme is None:
            return error(422, "unsupported_scheme", "Unsupported card scheme")
        digest = hashlib.sha256(sim._salt + number.encode() + f"{month}/{year}".encode()).hexdigest()
        first6, last4 = number[:6], number[-4:]
        del number  # nothing below keeps it
        existing = sim.card_by_hash.get(digest)
        if existing and existing in sim.cards:
            return envelope([sim.cards[existing]], 200)
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        card = sim.new_card(pid=pid, last4=last4, first6=first6, scheme=scheme, exp_month=month,
                            exp_year=year, metadata=meta)
        sim.card_by_hash[digest] = card["id"]
        await sim.fire("card.linked", card, wait=wait_of(request))
        return envelope([card], 201)

    async def get_card(request: Request):
        card = sim.cards.get(request.path_params["card_id"])
        return envelope([card]) if card else error(404, "item_not_found", "Card not found")

    async def delete_card(request: Request):
        card = sim.cards.pop(request.path_params["card_id"], None)
        return envelope([card]) if card else error(404, "item_not_found", "Card not found")

    async def sdk_session(request: Request):
        body = await read_json(request)
        expires = sim.now() + dt.timedelta(minutes=20)
        return JSONResponse({"sessionToken": f"mock_session_{secrets.token_hex(12)}", "programId": "prog_sim",
                             "metadataId": body.get("metadataId"), "expiresAt": expires.isoformat()})

    async def create_location(request: Request):
        body = await read_json(request)
        loc = {"id": f"loc_{secrets.token_hex(6)}", "programId": request.path_params["pid"],
               "brandId": body.get("brandId"), "brandName": body.get("brandName"),
               "address": body.get("address"), "countryCode": body.get("countryCode"),
               "timezone": body.get("timezone") or "UTC", "geolocation": body.get("geolocation"),
               "metadata": body.get("metadata") or {}, "active": True, "mid": body.get("mid")}
        sim.locations[loc["id"]] = loc
        return envelope([loc], 201)

    async def create_hook(request: Request):
        body = await read_json(request)
        if not body.get("event") or not body.get("url"):
            return error(422, "invalid_hook", "event and url are required")
        return envelope([sim.register_hook(request.path_params["pid"], body["event"], body["url"])], 201)

    def _card_and_location(body: dict):
        card = sim.cards.get(str(body.get("cardId")))
        loc = sim.locations.get(str(body.get("locationId")))
        return card, loc

    async def _auth(request: Request, *, fidel_shape: bool, cleared: bool = False):
        body = await read_json(request)
        card, loc = _card_and_location(body)
        amount = cents(body.get("amount"))
        if card is None or loc is None or amount is None or amount <= 0:
            return error(422, "invalid_transaction", "cardId, locationId and a positive amount are required")
        tx = sim.new_transaction(cents=amount, card=card, location=loc, when=body.get("datetime"),
                                 auth=not cleared, cleared=cleared)
        await sim.fire("transaction.clearing" if cleared else "transaction.auth", tx, wait=wait_of(request))
        return envelope([tx], 201) if fidel_shape else JSONResponse(tx, status_code=201)

    async def test_transaction(request: Request):
        return await _auth(request, fidel_shape=True)

    async def patch_transaction(request: Request):
        return await _clear(request, fidel_shape=True)

    async def _clear(request: Request, *, fidel_shape: bool):
        tx = sim.transactions.get(request.path_params["tid"])
        if tx is None:
            return error(404, "item_not_found", "Transaction not found")
        body = await read_json(request)
        amount = cents(body.get("amount"))
        if amount is not None:
            tx["amount"] = amount / 100
        tx["cleared"] = True
        await sim.fire("transaction.clearing", tx, wait=wait_of(request))
        return envelope([tx]) if fidel_shape else JSONResponse(tx)

    async def get_transaction(request: Request):
        tx = sim.transactions.get(request.path_params["tid"])
        return envelope([tx]) if tx else error(404, "item_not_found", "Transaction not found")

    async def list_transactions(request: Request):
        pid = request.path_params["pid"]
        return envelope([t for t in sim.transactions.values() if t.get("programId") == pid])

    # ---- control API -----------------------------------------------------------------------------
    async def reset(_: Request):
        sim.reset()
        return Response(status_code=204)

    async def seed(_: Request):
        return JSONResponse(sim.seed())

    async def sim_card(request: Request):
        body = await read_json(request)
        last4 = str(body.get("lastNumbers") or "4242")[-4:]
        card = sim.new_card(pid=str(body.get("programId") or "prog_sim"), last4=last4, first6=None,
                            scheme=str(body.get("scheme") or "visa"), exp_month=int(body.get("expMonth") or 12),
                            exp_year=int(body.get("expYear") or sim.now().year + 3),
                            metadata={"id": body.get("metadataId")} if body.get("metadataId") else {})
        if body.get("fireWebhook"):
            await sim.fire("card.linked", card, wait=wait_of(request))
        return JSONResponse(card, status_code=201)

    async def sim_auth(request: Request):
        return await _auth(request, fidel_shape=False)

    async def sim_clearing_only(request: Request):
        return await _auth(request, fidel_shape=False, cleared=True)

    async def sim_clear(request: Request):
        return await _clear(request, fidel_shape=False)

    async def _refund(request: Request, *, void: bool):
        original = sim.transactions.get(request.path_params["tid"])
        if original is None:
            return error(404, "item_not_found", "Transaction not found")
        body = await read_json(request)
        refunded = sum(-cents(t["amount"]) for t in sim.transactions.values()
                       if t.get("originalTransactionId") == original["id"])
        remainder = cents(original["amount"]) - refunded
        amount = remainder if void else (cents(body.get("amount")) or remainder)
        card = sim.cards.get(original["card"]["id"]) or {"id": original["card"]["id"],
                                                          "lastNumbers": original["card"]["lastNumbers"],
                                                          "scheme": original["card"]["scheme"],
                                                          "programId": original.get("programId"),
                                                          "metadata": original["card"].get("metadata")}
        loc = sim.locations.get(original["location"]["id"]) or {
            "id": original["location"]["id"], "timezone": original["location"]["timezone"],
            "metadata": original["location"].get("metadata"), "brandId": original["brand"]["id"],
            "brandName": original["brand"]["name"], "mid": original["identifiers"].get("MID")}
        extra = {}
        if body.get("matched", True):
            extra = {"originalTransactionId": original["id"]}
        refund = sim.new_transaction(cents=-amount, card=card, location=loc, when=body.get("datetime"),
                                     auth=False, cleared=True, **extra)
        if extra:
            original["refundTransactionId"] = refund["id"]
        await sim.fire("transaction.refund", refund, wait=wait_of(request))
        if body.get("alsoClearing", True) and not void:
            await sim.fire("transaction.clearing", refund, wait=wait_of(request))
        return JSONResponse(refund, status_code=201)

    async def sim_refund(request: Request):
        return await _refund(request, void=False)

    async def sim_void(request: Request):
        return await _refund(request, void=True)

    async def deliveries(_: Request):
        return JSONResponse([public(d) for d in sim.deliveries])

    async def redeliver(request: Request):
        d = next((x for x in sim.deliveries if x["id"] == request.path_params["did"]), None)
        if d is None:
            return error(404, "item_not_found", "Delivery not found")
        again = dict(d, id=f"dlv_{secrets.token_hex(6)}", attempt=0, statusCode=None, responseBody=None)
        sim.deliveries.append(again)
        await sim.attempt(again)
        return JSONResponse(public(again))

    async def faults(request: Request):
        sim.faults = await read_json(request)
        return JSONResponse(sim.faults)

    async def clock(request: Request):
        sim.offset_ms = int((await read_json(request)).get("offsetMs") or 0)
        return JSONResponse({"offsetMs": sim.offset_ms})

    routes = [
        health_route("fidel"),
        Route("/v1/programs/{pid}/cards", api(create_card), methods=["POST"]),
        Route("/v1/cards/{card_id}", api(get_card), methods=["GET"]),
        Route("/v1/cards/{card_id}", api(delete_card), methods=["DELETE"]),
        Route("/v1/sdk/sessions", api(sdk_session), methods=["POST"]),
        Route("/v1/programs/{pid}/locations", api(create_location), methods=["POST"]),
        Route("/v1/programs/{pid}/hooks", api(create_hook), methods=["POST"]),
        Route("/v1/transactions/test", api(test_transaction), methods=["POST"]),
        Route("/v1/transactions/{tid}", api(patch_transaction), methods=["PATCH"]),
        Route("/v1/transactions/{tid}", api(get_transaction), methods=["GET"]),
        Route("/v1/programs/{pid}/transactions", api(list_transactions), methods=["GET"]),
        Route("/_sim/reset", control(reset), methods=["POST"]),
        Route("/_sim/seed", control(seed), methods=["POST"]),
        Route("/_sim/cards", control(sim_card), methods=["POST"]),
        Route("/_sim/transactions/auth", control(sim_auth), methods=["POST"]),
        Route("/_sim/transactions/clearing-only", control(sim_clearing_only), methods=["POST"]),
        Route("/_sim/transactions/{tid}/clear", control(sim_clear), methods=["POST"]),
        Route("/_sim/transactions/{tid}/refund", control(sim_refund), methods=["POST"]),
        Route("/_sim/transactions/{tid}/void", control(sim_void), methods=["POST"]),
        Route("/_sim/deliveries", control(deliveries), methods=["GET"]),
        Route("/_sim/deliveries/{did}/redeliver", control(redeliver), methods=["POST"]),
        Route("/_sim/faults", control(faults), methods=["POST"]),
        Route("/_sim/clock", control(clock), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app
