"""Building blocks of the journeys, shared by the reliability modules (not a test module).

Everything goes through the public surfaces: the gateway's REST API, the simulators' control APIs and,
where the spec says a peer calls over gRPC, gRPC with a ``service`` token."""
from __future__ import annotations

import datetime as dt
import itertools
import secrets
from typing import Any

import httpx

from tests.reliability.conftest import RelStack, bearer, uid, wait_for

DEMO_CHARGER = "demo-charger-austin-domain"
CHARGER_LAT, CHARGER_LNG = 30.3979, -97.7044
_vin_seq = itertools.count(1)


def new_vin() -> str:
    # 17 characters; unique per test run (random middle, sequence at the end)
    return f"5YJ3E1EA{secrets.token_hex(2).upper()}{next(_vin_seq):05d}"[:17]


class Tesla:
    """The Tesla simulator's control API (virtual clock kept frozen: time moves only when told)."""

    def __init__(self, stack: RelStack) -> None:
        self.c = httpx.Client(base_url=stack.sim("tesla"), timeout=15)

    def advance(self, seconds: float) -> None:
        self.c.post("/_sim/clock/advance", json={"seconds": seconds}).raise_for_status()

    def freeze(self) -> None:
        self.c.post("/_sim/clock", json={"frozen": True}).raise_for_status()

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.c.get("/_sim/clock").json()["now"].replace("Z", "+00:00"))

    def account_with_vehicle(self) -> tuple[str, str]:
        acc, vin = uid("acc"), new_vin()
        self.c.post("/_sim/accounts", json={"id": acc, "region": "na"}).raise_for_status()
        self.c.post("/_sim/vehicles", json={"account": acc, "vin": vin, "display_name": "Rel Model 3",
                                            "lat": CHARGER_LAT, "lng": CHARGER_LNG, "battery": 40,
                                            "state": "online"}).raise_for_status()
        return acc, vin

    def script(self, vin: str, *steps: dict[str, Any]) -> None:
        self.c.post(f"/_sim/vehicles/{vin}/script", json={"steps": list(steps)}).raise_for_status()

    def plug_in(self, vin: str, power_kw: float = 11) -> None:
        self.script(vin, {"after_s": 0, "action": "plug_in", "params": {"dc": False, "power_kw": power_kw}})

    def unplug(self, vin: str) -> None:
        self.script(vin, {"after_s": 0, "action": "unplug"})

    def ground_truth(self, vin: str) -> list[dict[str, Any]]:
        return self.c.get("/_sim/sessions", params={"vin": vin}).json()["sessions"]

    def fault(self, **fault: Any) -> None:
        self.c.post("/_sim/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        self.c.delete("/_sim/faults").raise_for_status()


def connect_tesla(gw: httpx.Client, tesla: Tesla, driver: str, account: str) -> None:
    """T2 → simulator authorize (login_hint picks the account) → T3 callback through the gateway."""
    r = gw.get("/v1/auth/tesla/connect", headers=bearer(driver))
    if r.status_code in (503, 504):  # T2 is safe to repeat (a new state); a loaded host may time out once
        r = gw.get("/v1/auth/tesla/connect", headers=bearer(driver))
    assert r.status_code == 200, (r.status_code, r.text)
    approved = httpx.get(r.json()["authorization_url"] + f"&login_hint={account}", follow_redirects=False,
                         timeout=10)
    assert approved.status_code == 302, approved.text
    callback = approved.headers["location"].replace(str(gw.base_url).rstrip("/"), "")
    done = gw.get(callback, follow_redirects=False)
    assert done.status_code == 307 and done.headers["location"].endswith("success=true"), done.text
    assert gw.get("/v1/auth/tesla/status", headers=bearer(driver)).json()["connected"] is True


def poll(gw: httpx.Client, driver: str, **body: Any) -> dict[str, Any]:
    r = gw.post("/v1/charging-sessions/poll", headers=bearer(driver), json=body or None)
    assert r.status_code == 200, r.text
    return r.json()


def charge_session(gw: httpx.Client, tesla: Tesla, driver: str, vin: str, minutes: int = 20) -> dict[str, Any]:
    """Plug in → polls while charging (every 5 virtual minutes) → unplug → the poll that ends it.
    Returns the ending poll's answer (``session_id``, ``incentive_*``)."""
    tesla.advance(31)  # past the 30 s dedup of any earlier read of this VIN
    tesla.plug_in(vin)
    tesla.advance(40)
    p = poll(gw, driver, lat=CHARGER_LAT, lng=CHARGER_LNG)
    assert p["session_active"] is True, p
    sid = p["session_id"]
    for _ in range(minutes // 5):
        tesla.advance(300)
        p = poll(gw, driver)
        assert p["session_active"] is True and p["session_id"] == sid, p
    tesla.unplug(vin)
    tesla.advance(300)
    p = poll(gw, driver)
    assert p["session_ended"] is True and p["session_id"] == sid, p
    return p


def funded_campaign(gw: httpx.Client, sponsor: str, *, cost: int, gross: int, drivers: list[str] | None = None,
                    charger_ids: list[str] | None = None, caps: dict | None = None) -> dict[str, Any]:
    """A sponsor creates, funds (mock checkout) and activates a campaign through the REST API.
    ``drivers`` becomes the allowlist, so campaigns of different tests never pay each other's sessions."""
    rules: dict[str, Any] = {"charger_ids": charger_ids or [DEMO_CHARGER], "time_start": "0:00", "time_end": "23:59"}
    if drivers:
        rules["driver_allowlist"] = drivers
    body = {"sponsor_name": "Reliability Co", "name": uid("camp"), "budget_cents": gross,
            "cost_per_session_cents": cost, "start_date": "2026-01-01", "time_zone": "America/Chicago",
            "rules": rules, "caps": caps or {}}
    h = bearer(sponsor, "sponsor")
    r = gw.post("/v1/campaigns/", headers=h, json=body)
    assert r.status_code == 200, r.text
    cid = r.json()["campaign"]["id"]
    r = gw.post(f"/v1/campaigns/{cid}/checkout", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "funded", r.text
    r = gw.post(f"/v1/campaigns/{cid}/activate", headers=h)
    assert r.status_code == 200 and r.json()["campaign"]["status"] == "active", r.text
    return r.json()["campaign"]


def balance(gw: httpx.Client, driver: str) -> dict[str, Any]:
    r = gw.get("/v1/wallet/balance", headers=bearer(driver))
    assert r.status_code == 200, r.text
    return r.json()


def wait_balance(gw: httpx.Client, driver: str, available: int, timeout_s: float = 20) -> dict[str, Any]:
    got = wait_for(lambda: (b := balance(gw, driver))["available_cents"] == available and b, timeout_s)
    assert got, balance(gw, driver)
    return got


def ledger(gw: httpx.Client, driver: str) -> list[dict[str, Any]]:
    r = gw.get("/v1/wallet/ledger?limit=200", headers=bearer(driver))
    assert r.status_code == 200, r.text
    return r.json()["entries"]


class Fidel:
    """The Fidel simulator: SDK stand-in and ``/_sim`` control API (signed webhooks to the gateway)."""

    def __init__(self, stack: RelStack) -> None:
        self.c = httpx.Client(base_url=stack.sim("fidel"), timeout=30)

    def card(self, driver: str, last4: str = "4242") -> str:
        r = self.c.post("/_sim/cards", json={"lastNumbers": last4, "scheme": "visa", "expMonth": 12,
                                             "expYear": 2031, "metadataId": driver})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def auth(self, card: str, amount: float, location: str = "loc_sim_1") -> str:
        r = self.c.post("/_sim/transactions/auth?wait=true",
                        json={"amount": amount, "cardId": card, "locationId": location})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def clear(self, tid: str) -> None:
        assert self.c.post(f"/_sim/transactions/{tid}/clear?wait=true", json={}).status_code == 200

    def refund(self, tid: str, amount: float | None = None) -> str:
        body = {} if amount is None else {"amount": amount}
        r = self.c.post(f"/_sim/transactions/{tid}/refund?wait=true", json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def deliveries(self, tid: str | None = None) -> list[dict[str, Any]]:
        out = self.c.get("/_sim/deliveries").json()
        return [d for d in out if tid is None or d.get("transactionId") == tid]

    def faults(self, **faults: Any) -> None:
        self.c.post("/_sim/faults", json=faults).raise_for_status()


def link_card(gw: httpx.Client, fidel: Fidel, driver: str) -> tuple[str, str]:
    fidel_id = fidel.card(driver)
    r = gw.post("/v1/clo/cards/link", headers=bearer(driver), json={"fidel_card_id": fidel_id})
    assert r.status_code == 200 and r.json()["status"] == "linked", r.text
    return fidel_id, r.json()["card_id"]


def ensure_offer(gw: httpx.Client, reward_cents: int = 250) -> dict[str, Any]:
    """One admin offer at the simulator's seeded merchant (m-sim-1 / loc_sim_1), created once."""
    h = bearer("rel-admin", "admin")
    offers = gw.get("/v1/clo/offers?merchant_id=m-sim-1", headers=h).json().get("offers", [])
    for o in offers:
        if o.get("reward_cents") == reward_cents and o.get("active"):
            return o
    r = gw.post("/v1/clo/admin/offers", headers=h,
                json={"merchant_id": "m-sim-1", "reward_cents": reward_cents, "min_spend_cents": 1000})
    assert r.status_code == 200, r.text
    return r.json()
