"""The fake Stripe server driven by the REAL stripe SDK: wire format, idempotency replay, faults,
list filters, Connect flows and webhook signatures that ``stripe.Webhook.construct_event`` accepts."""
from __future__ import annotations

import json
import threading
import time

import uvicorn
import pytest
import stripe

from cli.stack import free_port
from simulators.stripe.app import parse_params, signature_header
from tests.integration.fake_stripe_support import FakeStripe

KEY = "sk_test_nerava_fake"


@pytest.fixture(scope="module")
def fake():
    f = FakeStripe().start()
    yield f
    f.stop()


@pytest.fixture
async def client(fake):
    await fake.ctl("POST", "/reset")
    await fake.ctl("POST", "/events/hold", {"hold": True})
    return stripe.StripeClient(KEY, base_addresses={"api": fake.base}, max_network_retries=2,
                               http_client=stripe.HTTPXClient(timeout=2))


async def onboarded_account(client, fake):
    acct = await client.v1.accounts.create_async(params={
        "type": "express", "country": "US", "capabilities": {"transfers": {"requested": True}},
        "metadata": {"driver_id": "d1"}}, options={"idempotency_key": "nerava-account-d1"})
    assert acct.capabilities["transfers"] == "pending" and not acct.payouts_enabled
    await fake.ctl("POST", f"/accounts/{acct.id}/complete_onboarding")
    return acct


def test_bracket_params_parse_both_encodings():
    assert parse_params("capabilities[transfers][requested]=true&expand[0]=a&metadata[x]=1") == {
        "capabilities": {"transfers": {"requested": "true"}}, "expand": ["a"], "metadata": {"x": "1"}}
    assert parse_params("created%5Bgte%5D=5&limit=3") == {"created": {"gte": "5"}, "limit": "3"}


async def test_auth_is_required(fake):
    bad = stripe.StripeClient("sk_live_nope", base_addresses={"api": fake.base})
    with pytest.raises(stripe.AuthenticationError):
        await bad.v1.balance.retrieve_async()


async def test_connect_transfer_reversal_payout_flow(client, fake):
    acct = await onboarded_account(client, fake)
    again = await client.v1.accounts.create_async(params={
        "type": "express", "country": "US", "capabilities": {"transfers": {"requested": True}},
        "metadata": {"driver_id": "d1"}}, options={"idempotency_key": "nerava-account-d1"})
    assert again.id == acct.id  # idempotent replay
    link = await client.v1.account_links.create_async(params={
        "account": acct.id, "type": "account_onboarding", "refresh_url": "https://a/r", "return_url": "https://a/x"})
    assert link.expires_at == link.created + 300 and f"/connect/setup/{acct.id}/" in link.url
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.account_links.create_async(params={
            "account": acct.id, "type": "account_update", "refresh_url": "https://a/r", "return_url": "https://a/x"})
    tr = await client.v1.transfers.create_async(params={
        "amount": 2500, "currency": "usd", "destination": acct.id, "transfer_group": "payout_p1",
        "metadata": {"payout_id": "p1"}}, options={"idempotency_key": "nerava-payout-p1-transfer-1"})
    assert tr.amount == 2500 and tr.destination == acct.id
    listed = await client.v1.transfers.list_async(params={"transfer_group": "payout_p1"})
    assert [t.id for t in listed.data] == [tr.id]
    none = await client.v1.transfers.list_async(params={"transfer_group": "payout_other"})
    assert none.data == []
    po = await client.v1.payouts.create_async(params={"amount": 2500, "currency": "usd", "metadata": {"payout_id": "p1"}},
                                           options={"idempotency_key": "nerava-payout-p1-bank",
                                                    "stripe_account": acct.id})
    assert po.status == "pending" and po.automatic is False
    bal = await client.v1.balance.retrieve_async(options={"stripe_account": acct.id})
    assert bal.available[0].amount == 0
    await fake.ctl("POST", f"/payouts/{po.id}/advance", {"status": "failed"})
    rev = await client.v1.transfers.reversals.create_async(tr.id, params={"metadata": {"payout_id": "p1"}},
                                                        options={"idempotency_key": "nerava-payout-p1-reversal"})
    assert rev.amount == 2500
    after = await client.v1.transfers.retrieve_async(tr.id)
    assert after.reversed and after.amount_reversed == 2500
    types = [e["type"] for e in (await fake.ctl("GET", "/events"))["events"]]
    assert types == ["account.updated", "transfer.created", "payout.created", "payout.failed", "transfer.reversed"]


async def test_transfer_errors_are_stripe_shaped(client, fake):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        await client.v1.transfers.create_async(params={"amount": 100, "currency": "usd", "destination": "acct_nope"})
    assert exc.value.code == "account_invalid" and exc.value.http_status == 400
    acct = await client.v1.accounts.create_async(params={"type": "express", "capabilities": {"transfers": {"requested": True}}})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        await client.v1.transfers.create_async(params={"amount": 100, "currency": "usd", "destination": acct.id})
    assert exc.value.code == "transfers_not_allowed"
    await fake.ctl("POST", f"/accounts/{acct.id}/complete_onboarding")
    await fake.ctl("POST", "/balance", {"platform": 50})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        await client.v1.transfers.create_async(params={"amount": 100, "currency": "usd", "destination": acct.id})
    assert exc.value.code == "balance_insufficient"


async def test_idempotency_replay_conflict_and_faults(client, fake):
    acct = await onboarded_account(client, fake)
    params = {"amount": 700, "currency": "usd", "destination": acct.id, "transfer_group": "payout_p2"}
    # commit_then_500: the SDK retries with the same key and gets the committed transfer replayed
    await fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": "commit_then_500"})
    tr = await client.v1.transfers.create_async(params=params, options={"idempotency_key": "k-p2"})
    listed = await client.v1.transfers.list_async(params={"transfer_group": "payout_p2"})
    assert [t.id for t in listed.data] == [tr.id]
    reqs = (await fake.ctl("GET", "/requests?path=/v1/transfers"))["requests"]
    assert [r["status"] for r in reqs if r["method"] == "POST"] == [500, 200]
    with pytest.raises(stripe.IdempotencyError):
        await client.v1.transfers.create_async(params={**params, "amount": 701}, options={"idempotency_key": "k-p2"})
    # 429 is not retried by the SDK and executes nothing
    await fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": "429"})
    with pytest.raises(stripe.RateLimitError):
        await client.v1.transfers.create_async(params={**params, "transfer_group": "payout_p3"},
                                            options={"idempotency_key": "k-p3"})
    assert (await client.v1.transfers.list_async(params={"transfer_group": "payout_p3"})).data == []
    # a hang longer than the client timeout is a connection error (the transfer did happen)
    await fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": "hang", "count": 3,
                                       "delay_s": 3})
    with pytest.raises(stripe.APIConnectionError):
        await client.v1.transfers.create_async(params={**params, "transfer_group": "payout_p4"},
                                            options={"idempotency_key": "k-p4"})
    assert len((await client.v1.transfers.list_async(params={"transfer_group": "payout_p4"})).data) == 1


async def test_list_pagination_and_created_filters(client, fake):
    acct = await onboarded_account(client, fake)
    ids = [(await client.v1.transfers.create_async(params={"amount": 10 + i, "currency": "usd",
                                                         "destination": acct.id})).id for i in range(5)]
    page = await client.v1.transfers.list_async(params={"limit": 2})
    assert page.has_more and len(page.data) == 2
    every = [t.id async for t in page.auto_paging_iter()]
    assert sorted(every) == sorted(ids)
    recent = await client.v1.transfers.list_async(params={"created": {"gte": 0}, "limit": 100})
    assert len(recent.data) == 5


async def test_webhook_signatures_are_stripes_scheme(fake):
    body = json.dumps({"id": "evt_1", "object": "event", "type": "x", "data": {"object": {}}}).encode()
    header = signature_header(body, ["whsec_a", "whsec_b"])
    assert header.count("v1=") == 2
    for secret in ("whsec_a", "whsec_b"):
        assert stripe.Webhook.construct_event(body, header, secret, 300)["id"] == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_wrong", 300)
    stale = (await fake.ctl("POST", "/sign", {"payload": body.decode(), "secret": "whsec_a", "offset_s": -600}))["header"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, stale, "whsec_a", 300)


async def test_events_are_delivered_signed_to_registered_endpoints(fake, client):
    received: list = []
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hook(request):
        received.append((await request.body(), request.headers["stripe-signature"]))
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        time.sleep(0.3)
        await fake.ctl("POST", "/webhooks", {"url": f"http://127.0.0.1:{port}/hook", "secrets": ["whsec_c"],
                                             "connect": True})
        await fake.ctl("POST", "/events/hold", {"hold": False})
        acct = await client.v1.accounts.create_async(params={"type": "express"})
        await fake.ctl("POST", f"/accounts/{acct.id}/complete_onboarding")
        for _ in range(50):
            if received:
                break
            time.sleep(0.05)
        body, sig = received[0]
        ev = stripe.Webhook.construct_event(body, sig, "whsec_c", 300)
        assert ev["type"] == "account.updated" and ev["account"] == acct.id
        assert ev["data"]["previous_attributes"]["payouts_enabled"] is False
    finally:
        server.should_exit = True
        t.join(5)
