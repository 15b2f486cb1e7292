"""CLO end to end through the real gateway, the CLO service and the Fidel simulator (real processes):
enrol a card in the simulator's SDK stand-in → link it by Fidel id → signed auth + clearing webhooks
→ the transaction is listed with its reward; forged / stale signatures → 400 with nothing stored;
card numbers → 400 and never logged."""
from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import start_stack, token

pytestmark = pytest.mark.e2e

PAN = "4242424242424242"
DRIVER = "driver-clo-e2e"


@pytest.fixture(scope="module")
def clo_stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("clo"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def urls(clo_stack):
    return {"gw": f"http://127.0.0.1:{clo_stack.ports.gateway}",
            "sim": f"http://127.0.0.1:{clo_stack.ports.simulators['fidel']}"}


def auth(sub, *roles):
    return {"Authorization": f"Bearer {token(sub, *roles)}"}


def sim_post(urls, path, json=None, **kw):
    return httpx.post(urls["sim"] + path, json=json, timeout=30, **kw)


def test_card_link_signed_webhooks_and_reward(urls, clo_stack):
    gw = urls["gw"]
    # the SDK stand-in enrols the card (the number goes to the simulator only, never to Nerava)
    r = sim_post(urls, "/v1/programs/prog_sim/cards?wait=true", headers={"Fidel-Key": "sk_test_simulator"},
                 json={"number": PAN, "expMonth": 12, "expYear": 2031, "countryCode": "USA",
                       "termsOfUse": True, "metadata": {"id": DRIVER}})
    assert r.status_code == 201, r.text
    fidel_card_id = r.json()["items"][0]["id"]

    # a PAN sent to Nerava is refused before translation and never logged
    bad = httpx.post(gw + "/v1/clo/cards/link", headers=auth(DRIVER, "driver"), timeout=10,
                     json={"fidel_card_id": fidel_card_id, "card_number": "4242 4242 4242 4242", "cvv": "123"})
    assert bad.status_code == 400
    assert bad.json() == {"detail": "Card numbers and security codes must not be sent; "
                                    "link cards through the Fidel SDK"}
    hidden = httpx.post(gw + "/v1/clo/cards/link", headers=auth(DRIVER, "driver"), timeout=10,
                        json={"fidel_card_id": PAN})
    assert hidden.status_code == 400

    link = httpx.post(gw + "/v1/clo/cards/link", headers=auth(DRIVER, "driver"), timeout=10,
                      json={"fidel_card_id": fidel_card_id})
    assert link.status_code == 200, link.text
    body = link.json()
    assert (body["status"], body["last4"], body["brand"], body["mock"]) == ("linked", "4242", "visa", True)
    cards = httpx.get(gw + "/v1/clo/cards", headers=auth(DRIVER, "driver"), timeout=10).json()["cards"]
    assert [c["id"] for c in cards] == [body["card_id"]]

    offer = httpx.post(gw + "/v1/clo/admin/offers", headers=auth("admin-e2e", "admin"), timeout=10,
                       json={"merchant_id": "m-sim-1", "reward_cents": 250, "min_spend_cents": 1000})
    assert offer.status_code == 200, offer.text
    assert offer.json()["active"] is True

    tx = sim_post(urls, "/_sim/transactions/auth?wait=true",
                  json={"amount": 20.00, "cardId": fidel_card_id, "locationId": "loc_sim_1"})
    assert tx.status_code == 201, tx.text
    tid = tx.json()["id"]
    assert sim_post(urls, f"/_sim/transactions/{tid}/clear?wait=true", json={}).status_code == 200
    deliveries = {(d["event"], d["transactionId"]): d for d in httpx.get(urls["sim"] + "/_sim/deliveries").json()}
    assert deliveries[("transaction.auth", tid)]["statusCode"] == 200
    clearing = deliveries[("transaction.clearing", tid)]
    assert clearing["statusCode"] == 200, clearing
    assert '"status":"credited"' in clearing["responseBody"]

    listed = httpx.get(gw + "/v1/clo/transactions", headers=auth(DRIVER, "driver"), timeout=10)
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["transactions"]
    assert (row["status"], row["reward_cents"], row["amount_cents"], row["merchant_id"]) == \
        ("credited", 250, 2000, "m-sim-1")
    assert row["merchant_name"] == "Sim Coffee" and row["reward_state"] == "available"

    # a driver can never credit themselves through /v1/clo/verify
    self_verify = httpx.post(gw + "/v1/clo/verify", headers=auth(DRIVER, "driver"), timeout=10,
                             json={"card_id": body["card_id"], "amount_cents": 5000, "merchant_id": "m-sim-1"})
    assert self_verify.status_code == 403 and self_verify.json()["detail"] == "Admin access required"

    # forged signature and stale timestamp: 400, nothing stored
    assert sim_post(urls, "/_sim/faults", json={"badSignature": True}).status_code == 200
    forged = sim_post(urls, "/_sim/transactions/auth?wait=true",
                      json={"amount": 30, "cardId": fidel_card_id, "locationId": "loc_sim_1"}).json()["id"]
    assert sim_post(urls, "/_sim/faults", json={"staleTimestampMs": 301_000}).status_code == 200
    stale = sim_post(urls, "/_sim/transactions/auth?wait=true",
                     json={"amount": 30, "cardId": fidel_card_id, "locationId": "loc_sim_1"}).json()["id"]
    sim_post(urls, "/_sim/faults", json={})
    deliveries = {d["transactionId"]: d for d in httpx.get(urls["sim"] + "/_sim/deliveries").json()}
    for bad_tid in (forged, stale):
        assert deliveries[bad_tid]["statusCode"] == 400
        assert deliveries[bad_tid]["responseBody"] == '{"detail":"Invalid webhook signature"}'
    direct = httpx.post(gw + "/v1/clo/fidel/webhooks/transaction.auth", timeout=10,
                        content=b'{"id":"forged-1","amount":50}',
                        headers={"x-fidel-signature": "AAAA", "x-fidel-timestamp": "1767225600000",
                                 "content-type": "application/json"})
    assert direct.status_code == 400 and direct.json() == {"detail": "Invalid webhook signature"}
    listed = httpx.get(gw + "/v1/clo/transactions", headers=auth(DRIVER, "driver"), timeout=10).json()
    assert [t["external_id"] for t in listed["transactions"]] == [tid]
    legacy = httpx.post(gw + "/v1/clo/fidel/webhook", timeout=10, content=b'{"event":"transaction.auth"}',
                        headers={"content-type": "application/json"})
    assert legacy.status_code == 200
    assert (legacy.json()["status"], legacy.json()["reason"]) == ("ignored", "mock_mode")

    # duplicates: both deliveries succeed, the second is a duplicate
    sim_post(urls, "/_sim/faults", json={"duplicate": True})
    dup = sim_post(urls, "/_sim/transactions/auth?wait=true",
                   json={"amount": 12.5, "cardId": fidel_card_id, "locationId": "loc_sim_1"}).json()["id"]
    sim_post(urls, "/_sim/faults", json={})
    answers = sorted(d["responseBody"] for d in httpx.get(urls["sim"] + "/_sim/deliveries").json()
                     if d["transactionId"] == dup)
    assert len(answers) == 2 and any('"status":"duplicate"' in a for a in answers)

    # the card number never reached any Nerava log
    for name in ("gateway", "clo"):
        text = (clo_stack.log_dir / f"{name}.log").read_text()
        assert PAN not in text and "4242 4242 4242 4242" not in text


def test_enrolment_session_unlink_and_provider_delete(urls):
    import time

    gw = urls["gw"]
    driver = "driver-clo-e2e-2"
    session = httpx.get(gw + "/v1/clo/cards/session", headers=auth(driver, "driver"), timeout=10)
    assert session.status_code == 200, session.text
    s = session.json()
    assert s["session_token"].startswith("mock_session_") and s["metadata_id"] == driver and s["mock"] is True
    card = sim_post(urls, "/_sim/cards", json={"lastNumbers": "0005", "scheme": "amex", "expMonth": 1,
                                               "expYear": 2032, "metadataId": driver}).json()
    link = httpx.post(gw + "/v1/clo/cards/link", headers=auth(driver, "driver"), timeout=10,
                      json={"fidel_card_id": card["id"]}).json()
    assert (link["status"], link["brand"]) == ("linked", "amex")
    other = httpx.delete(gw + f"/v1/clo/cards/{link['card_id']}", headers=auth("someone-else", "driver"), timeout=10)
    assert other.status_code == 404 and other.json() == {"detail": "Card not found"}
    gone = httpx.delete(gw + f"/v1/clo/cards/{link['card_id']}", headers=auth(driver, "driver"), timeout=10)
    assert gone.json() == {"status": "unlinked", "card_id": link["card_id"]}
    assert httpx.get(gw + "/v1/clo/cards", headers=auth(driver, "driver"), timeout=10).json() == {"cards": []}
    # the outbox deletes the card at the provider (polled: delivery is asynchronous)
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline:
        status = httpx.get(urls["sim"] + f"/v1/cards/{card['id']}",
                           headers={"Fidel-Key": "sk_test_simulator"}).status_code
        if status == 404:
            break
        time.sleep(0.2)
    assert status == 404
