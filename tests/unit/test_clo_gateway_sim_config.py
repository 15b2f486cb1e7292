"""CLO pieces outside the service core: the gateway's PAN guard, the Fidel simulator's API, and the
CLO start-up refusals."""
from __future__ import annotations

import json

import httpx
import pytest

from gateway import pan_guard
from services.clo.config import CloConfig
from services.clo.domain import signature
from simulators.fidel.app import FidelSim, build_app, sign

PAN = "4111111111111111"


@pytest.mark.parametrize("path,query,body", [
    ("/v1/clo/cards/link", [], json.dumps({"card_number": "x"}).encode()),
    ("/v1/clo/cards/link", [], json.dumps({"fidel_card_id": "f", "Security-Code": 123}).encode()),
    ("/v1/clo/cards/link", [], json.dumps({"a": [{"b": {"cvc2": "1"}}]}).encode()),
    ("/v1/clo/cards/link", [], json.dumps({"fidel_card_id": "4111-1111-1111-1111"}).encode()),
    ("/v1/clo/verify", [], json.dumps({"amount_cents": int(PAN)}).encode()),
    ("/v1/clo/transactions", [("pan", "1")], b""),
    ("/v1/clo/transactions", [("x", f"card {PAN}")], b""),
    (f"/v1/clo/cards/{PAN}", [], b""),
    ("/v1/clo/cards/link", [], f"not json {PAN}".encode()),
])
def test_gateway_guard_rejects_card_data(path, query, body):
    assert pan_guard.applies(path)
    assert pan_guard.violates(path, query, body)


def test_gateway_guard_passes_clean_requests_and_exempts_webhooks():
    assert not pan_guard.violates("/v1/clo/cards/link", [("limit", "5")],
                                  json.dumps({"fidel_card_id": "fidel_mock_0123456789abcdef"}).encode())
    assert not pan_guard.applies("/v1/clo/fidel/webhooks/transaction.auth")
    assert not pan_guard.applies("/v1/wallet/balance")


def test_simulator_signs_with_fidels_scheme():
    body, url, ts = b'{"id":"t1","amount":10}', "https://api.nerava.example/v1/clo/fidel/webhooks/transaction.auth", \
        "1767225600000"
    assert sign("wh_test_secret", body, url, ts) == "znqVarhZ03YwavTBrztT2DK5AUtps+1l0xPMw/EDexU="
    assert sign("s", body, url, ts) == signature.sign("s", body, url, ts)


@pytest.fixture
def sim(monkeypatch):
    monkeypatch.setenv("SIM_WEBHOOK_BASE_URL", "http://127.0.0.1:9")  # nothing listens: deliveries fail
    monkeypatch.setenv("SIM_RETRY_DELAYS_S", "0")
    app = build_app(FidelSim())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


async def test_simulator_card_enrolment_and_auth(sim):
    key = {"Fidel-Key": "sk_test_simulator"}
    card = {"number": "4242 4242 4242 4242", "expMonth": 12, "expYear": 2031, "termsOfUse": True,
            "metadata": {"id": "d1"}}
    async with sim as c:
        assert (await c.post("/v1/programs/prog_sim/cards", json=card)).status_code == 401
        bad = await c.post("/v1/programs/prog_sim/cards", headers=key, json=dict(card, number="4242424242424241"))
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_number"
        assert (await c.post("/v1/programs/prog_sim/cards", headers=key,
                             json=dict(card, termsOfUse=False))).status_code == 422
        first = await c.post("/v1/programs/prog_sim/cards?wait=true", headers=key, json=card)
        assert first.status_code == 201
        item = first.json()["items"][0]
        assert (item["lastNumbers"], item["scheme"], item["programId"]) == ("4242", "visa", "prog_sim")
        assert "4242424242424242" not in first.text
        again = await c.post("/v1/programs/prog_sim/cards", headers=key, json=card)
        assert again.status_code == 200 and again.json()["items"][0]["id"] == item["id"]
        got = await c.get(f"/v1/cards/{item['id']}", headers=key)
        assert got.json()["items"][0]["metadata"] == {"id": "d1"}
        session = await c.post("/v1/sdk/sessions", headers=key, json={"metadataId": "d1"})
        assert session.json()["sessionToken"].startswith("mock_session_")
        await c.post("/_sim/faults", json={"badSignature": True, "duplicate": True})
        tx = await c.post("/_sim/transactions/auth?wait=true",
                          json={"amount": 19.99, "cardId": item["id"], "locationId": "loc_sim_1"})
        assert tx.status_code == 201
        body = tx.json()
        assert (body["amount"], body["auth"], body["cleared"], body["location"]["timezone"]) == \
            (19.99, True, False, "America/Chicago")
        deliveries = (await c.get("/_sim/deliveries")).json()
        assert [d["event"] for d in deliveries] == ["card.linked", "transaction.auth", "transaction.auth"]
        refund = await c.post(f"/_sim/transactions/{body['id']}/refund", json={"amount": 5})
        assert refund.json()["amount"] == -5 and refund.json()["originalTransactionId"] == body["id"]
        assert (await c.delete(f"/v1/cards/{item['id']}", headers=key)).status_code == 200
        assert (await c.get(f"/v1/cards/{item['id']}", headers=key)).status_code == 404


def test_clo_start_up_refusals():
    with pytest.raises(ValueError, match="FIDEL_SECRET_KEY"):
        CloConfig(ENABLE_CLO=True)
    with pytest.raises(ValueError, match="real Fidel"):
        CloConfig(FIDEL_API_URL="https://api.fidel.uk/v1")
    with pytest.raises(ValueError, match="FIDEL_WEBHOOK_SECRET"):
        CloConfig(ENV="production", NERAVA_JWT_SECRET="p" * 40, ALLOW_MOCK_CLO_IN_PRODUCTION=True)
    live = CloConfig(ENABLE_CLO=True, FIDEL_SECRET_KEY="sk_live_x", FIDEL_PROGRAM_ID="p1", FIDEL_SDK_KEY="pk")
    assert live.api_url() == "https://api.fidel.uk/v1"
    rotated = CloConfig(FIDEL_WEBHOOK_SECRETS='{"transaction.auth":"new, old","legacy":"l"}',
                        FIDEL_WEBHOOK_SECRET="fallback",
                        FIDEL_WEBHOOK_URLS='{"legacy":"https://x.example/hook"}')
    assert rotated.secrets_for("transaction.auth") == ["new", "old"]
    assert rotated.secrets_for("card.linked") == ["fallback"]
    assert rotated.registered_url("legacy") == "https://x.example/hook"
