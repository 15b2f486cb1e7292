"""Webhooks (Stripe W9–W11, Fidel C7 and per-event, Tesla Fleet Telemetry T18, Dwolla W19) reach
the owning service byte for byte, with the provider's signature headers unchanged and the
gateway's own ``service`` token; nothing parses or re-serialises the body on the way."""
import grpc
import pytest
from google.protobuf import struct_pb2

from kit.auth import TokenVerifier
from nerava.wallet.v1 import wallet_pb2
from tests.gateway_fakes import SECRET, Fail, bearer, start_harness

# odd whitespace, key order, duplicate keys, escaped and raw unicode, a float that JSON round
# trips would change (1.10 → 1.1), a big integer, a trailing newline and a BOM-less CRLF
BODIES = [
    b'{"type":"checkout.session.completed",  "id" :"evt_1","amount":1.10,\r\n "z":1,"a":2,"a":3,'
    b'"name":"Caf\xc3\xa9 \\u00e9\\ud83d\\ude00","big":12345678901234567890}\n',
    b'  {\n\t"event" : "transaction.auth" ,\n\t"transaction":{"amount":10.00,"id":"t\\/1"}}   ',
    b'not json at all \x00\xff\xfe',  # bytes that are not even UTF-8 still pass untouched
    b"",
]

# (path, RPC, HttpBody field, {field: value the gateway fills from the path}, provider headers)
WEBHOOKS = [
    ("/v1/wallet/stripe/webhook", "HandleStripeWebhook", "body", {"endpoint": "wallet/stripe/webhook"},
     {"stripe-signature": "t=1732280000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=abc"}),
    ("/v1/stripe/webhooks", "HandleStripeWebhook", "body", {"endpoint": "stripe/webhooks"},
     {"stripe-signature": "t=1732280000,v1=aa"}),
    ("/v1/stripe/webhook", "HandleStripeWebhook", "body", {"endpoint": "stripe/webhook"},
     {"stripe-signature": "t=1732280000,v1=bb"}),
    ("/v1/clo/fidel/webhook", "HandleFidelWebhook", "body", {"endpoint": "fidel/webhook", "event_type": ""},
     {"x-fidel-signature": "Zm9vYmFy+/=", "x-fidel-timestamp": "1732280000"}),
    ("/v1/clo/fidel/webhooks/transaction.auth", "HandleFidelWebhook", "body",
     {"endpoint": "", "event_type": "transaction.auth"},
     {"x-fidel-signature": "c2lnbmF0dXJl", "x-fidel-timestamp": "1732280001"}),
    ("/v1/webhooks/tesla/telemetry", "IngestFleetTelemetry", "body", {},
     {"x-telemetry-signature": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}),
    ("/v1/wallet/dwolla/webhook", "HandleDwollaWebhook", "body", {},
     {"x-request-signature-sha-256": "deadbeef"}),
]


@pytest.fixture(scope="module")
async def h():
    harness = await start_harness()
    yield harness
    await harness.close()


@pytest.fixture(autouse=True)
def fresh(h):
    h.fakes.calls.clear()
    h.fakes.answers.clear()


@pytest.mark.parametrize("body", BODIES, ids=["odd-json", "whitespace", "binary", "empty"])
@pytest.mark.parametrize("path,rpc,field,filled,sig_headers", WEBHOOKS, ids=[w[0] for w in WEBHOOKS])
async def test_raw_body_and_signature_headers_pass_unchanged(h, path, rpc, field, filled, sig_headers, body):
    content_type = "application/json; charset=utf-8"
    r = await h.client.post(path, content=body, headers={**sig_headers, "content-type": content_type,
                                                         "x-request-id": "wh-1"})
    assert r.status_code == 200, r.text
    call = h.fakes.last(rpc)
    http_body = getattr(call.request, field)
    assert http_body.data == body  # byte for byte
    assert http_body.content_type == content_type
    for key, value in sig_headers.items():
        assert call.metadata[key] == value
    for key, value in filled.items():
        assert getattr(call.request, key) == value
    # the gateway's own service token, never the caller's
    principal = TokenVerifier(SECRET).verify_header(call.metadata["authorization"])
    assert principal.is_service and principal.sub == "service:gateway"
    assert call.metadata["x-request-id"] == "wh-1"


async def test_a_callers_bearer_token_is_not_forwarded_to_a_webhook(h):
    driver = bearer("mallory")
    await h.client.post("/v1/stripe/webhooks", content=b"{}", headers={**driver, "stripe-signature": "t=1"})
    call = h.fakes.last("HandleStripeWebhook")
    assert call.metadata["authorization"] != driver["authorization"]
    assert TokenVerifier(SECRET).verify_header(call.metadata["authorization"]).is_service


async def test_query_strings_cannot_steer_a_webhook(h):
    await h.client.post("/v1/clo/fidel/webhooks/transaction.auth?endpoint=fidel/webhook&event_type=card.linked",
                        content=b"{}", headers={"x-fidel-signature": "s"})
    call = h.fakes.last("HandleFidelWebhook")
    assert call.request.endpoint == "" and call.request.event_type == "transaction.auth"
    await h.client.post("/v1/clo/fidel/webhook?event_type=transaction.refund", content=b"{}")
    assert h.fakes.last("HandleFidelWebhook").request.event_type == ""


async def test_unrelated_headers_are_not_forwarded(h):
    await h.client.post("/v1/stripe/webhooks", content=b"{}",
                        headers={"stripe-signature": "t=1", "cookie": "access_token=x", "x-other": "1"})
    md = h.fakes.last("HandleStripeWebhook").metadata
    assert "cookie" not in md and "x-other" not in md and md["stripe-signature"] == "t=1"


async def test_a_signature_header_that_is_not_ascii_is_a_400_not_a_500(h):
    r = await h.client.post("/v1/stripe/webhooks", content=b"{}",
                            headers={"stripe-signature": "t=1,v1=\u00e9".encode("utf-8")})
    assert r.status_code == 400 and "stripe-signature" in r.json()["detail"]
    assert not h.fakes.calls


async def test_the_services_reply_and_errors_come_back_as_json(h):
    reply = struct_pb2.Struct()
    reply.update({"status": "ignored", "reason": "mock_mode"})
    h.fakes.answers["HandleStripeWebhook"] = wallet_pb2.HandleStripeWebhookResponse(reply=reply)
    r = await h.client.post("/v1/wallet/stripe/webhook", content=b"{}", headers={"stripe-signature": "t=1"})
    assert r.status_code == 200 and r.json() == {"status": "ignored", "reason": "mock_mode"}

    h.fakes.answers["HandleFidelWebhook"] = Fail(grpc.StatusCode.INVALID_ARGUMENT, "Invalid webhook signature")
    r = await h.client.post("/v1/clo/fidel/webhooks/transaction.auth", content=b"{}")
    assert r.status_code == 400 and r.json() == {"detail": "Invalid webhook signature"}

    h.fakes.answers["IngestFleetTelemetry"] = Fail(grpc.StatusCode.UNAUTHENTICATED, "Invalid signature")
    r = await h.client.post("/v1/webhooks/tesla/telemetry", content=b"{}")
    assert r.status_code == 401


async def test_webhooks_need_no_bearer_token(h):
    r = await h.client.post("/v1/webhooks/tesla/telemetry", content=b'{"vin":"5YJ"}',
                            headers={"x-telemetry-signature": "ab"})
    assert r.status_code == 200
