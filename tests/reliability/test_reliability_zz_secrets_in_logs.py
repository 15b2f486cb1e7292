"""Secrets and PII never reach a log. Runs last in the package (file name), so it scans the logs of
every process after all the journeys, faults and hostile inputs above; it also makes its own traffic
(Tesla connect + session, a card number sent to Nerava, signed and forged webhooks) so it proves
something when run alone."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.reliability.conftest import (FIDEL_SECRET, PAYOUT_SECRET, PLATFORM_SECRET, STRIPE_KEY, bearer,
                                        token, uid)
from tests.reliability.flows import Fidel, Tesla, charge_session, connect_tesla, link_card
from tests.reliability.signing import stripe_header

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PAN = "4242424242424242"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}")
TESLA_TOKENS = re.compile(r"sim-at-[A-Za-z0-9_-]{10,}|sim-code-[A-Za-z0-9_-]{10,}|\b(?:NA|EU|CN)_[A-Za-z0-9_-]{30,}")
# a bare 13–19 digit run, or 4-digit groups split by spaces/dashes; never part of a longer token
# (hex request ids, UUIDs, decimals)
CARDISH = re.compile(r"(?<![\w-])(?<!\d\.)(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2}[ -]\d{1,7})(?![\w-])(?!\.\d)")


def luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def pan_like(text: str) -> list[str]:
    """Luhn-valid 13–19 digit runs (spaces/dashes allowed) that look like a card: issuer digit 2–6."""
    out = []
    for m in CARDISH.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn(digits):
            out.append(m.group())
    return out


def test_luhn_detector_finds_card_numbers_and_ignores_timestamps():
    assert pan_like(f'card "{PAN}" and 4242 4242 4242 4242') == [PAN, "4242 4242 4242 4242"]
    assert pan_like("ts=1763822400000 id=1492931520123457 t=2026-11-22T10:00:00.123456") == []
    assert pan_like('"request_id": "c409979736564a66973562712470e516" key=credit:b5467693-0783-4268-b750-d1b9') == []
    assert pan_like("card=5555-5555-5555-4444.") == ["5555-5555-5555-4444"]


def test_no_token_secret_key_or_card_number_in_any_log(rstack):
    gw = httpx.Client(base_url=rstack.gw(), timeout=30)
    tesla, fidel = Tesla(rstack), Fidel(rstack)
    tesla.freeze()
    driver = uid("drv-logs")
    tok = token(driver, "driver")
    account, vin = tesla.account_with_vehicle()
    connect_tesla(gw, tesla, driver, account)
    charge_session(gw, tesla, driver, vin, minutes=15)
    _, card_id = link_card(gw, fidel, driver)
    r = gw.post("/v1/clo/cards/link", headers=bearer(driver), json={"fidel_card_id": "x", "card_number": PAN,
                                                                    "cvv": "123"})
    assert r.status_code == 400
    assert gw.get(f"/v1/clo/transactions?note={PAN}", headers=bearer(driver)).status_code == 400
    body = b'{"id":"evt_logs","type":"payout.paid","data":{"object":{"id":"po_x"}}}'
    for secret in (PAYOUT_SECRET, "whsec_wrong"):
        gw.post("/v1/wallet/stripe/webhook", content=body, headers={"Stripe-Signature": stripe_header(secret, body)})
    gw.get("/v1/wallet/balance", headers={"Authorization": f"Bearer {tok}"})
    gw.get("/v1/wallet/balance", headers={"Authorization": "Bearer " + tok[:-4] + "AAAA"})  # invalid token
    gw.close()

    logs = {p.name: p.read_text(errors="replace") for p in sorted(rstack.log_dir.glob("*.log"))}
    assert {"gateway.log", "telemetry.log", "incentives.log", "wallet.log", "clo.log"} <= set(logs)
    assert sum(len(t) for t in logs.values()) > 2_000  # the processes did log (a scan of nothing proves nothing)
    found = []
    for name, text in logs.items():
        for label, hits in {
            "bearer JWT": JWT.findall(text), "Tesla token or code": TESLA_TOKENS.findall(text),
            "card number": pan_like(text),
            "secret": [s for s in (PAYOUT_SECRET, PLATFORM_SECRET, FIDEL_SECRET, STRIPE_KEY, "whsec_wrong")
                       if s in text],
            "cvv field": re.findall(r'"cvv"\s*:\s*"\d{3,4}"', text),
        }.items():
            if hits:
                found.append((name, label, hits[:2]))
    assert found == []
    assert card_id not in logs.get("gateway.log", "")  # not a secret, but the edge logs no bodies
