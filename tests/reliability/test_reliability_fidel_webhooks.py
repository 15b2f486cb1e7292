"""Hostile Fidel webhooks through the gateway (signed independently with the documented scheme):
forged, stale, future, signed for another URL, tampered, oversized → 400 / 413 with nothing stored;
replayed → processed once; reordered (clearing before auth, auth after refund, clearing replayed after
refund) → one reward, one clawback, state never regresses."""
from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa

from tests.reliability.conftest import FIDEL_SECRET, bearer, uid, wait_for, wallet_balance_row, wallet_invariants
from tests.reliability.flows import Fidel, ensure_offer, ledger, link_card, wait_balance
from tests.reliability.signing import compact, fidel_headers, fidel_transaction

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def gw(rstack):
    with httpx.Client(base_url=rstack.gw(), timeout=30) as c:
        ensure_offer(c)
        yield c


def hook_url(rstack, event: str) -> str:
    return rstack.gw() + f"/v1/clo/fidel/webhooks/{event}"


def send(rstack, event: str, tx: dict, *, secret: str = FIDEL_SECRET, ts_ms: int | None = None,
         sign_url: str | None = None, body: bytes | None = None) -> httpx.Response:
    url = hook_url(rstack, event)
    raw = body if body is not None else compact(tx)
    return httpx.post(url, content=raw, timeout=30,
                      headers=fidel_headers(secret, compact(tx) if body is None else raw, sign_url or url, ts_ms))


async def stored(dbs, external_id: str) -> tuple[int, int]:
    async with dbs["clo"].read() as conn:
        inbox = (await conn.execute(sa.text("SELECT count(*) FROM clo_webhook_inbox WHERE external_id = :e"),
                                    {"e": external_id})).scalar_one()
        txs = (await conn.execute(sa.text("SELECT count(*) FROM clo_transactions WHERE external_id = :e"),
                                  {"e": external_id})).scalar_one()
    return inbox, txs


async def test_forged_stale_tampered_and_oversized_are_refused_with_nothing_stored(rstack, dbs, gw):
    fidel = Fidel(rstack)
    driver = uid("drv-hostile")
    fidel_card, _ = link_card(gw, fidel, driver)
    tx = fidel_transaction(fidel_card, 2000)
    now_ms = int(time.time() * 1000)
    refused = {
        "forged": send(rstack, "transaction.auth", tx, secret="attacker-secret"),
        "stale (301 s)": send(rstack, "transaction.auth", tx, ts_ms=now_ms - 301_000),
        "future (301 s)": send(rstack, "transaction.auth", tx, ts_ms=now_ms + 301_000),
        "signed for another URL": send(rstack, "transaction.auth", tx,
                                       sign_url=hook_url(rstack, "transaction.clearing")),
        "tampered body": httpx.post(hook_url(rstack, "transaction.auth"),
                                    content=compact({**tx, "amount": 2000.0}), timeout=30,
                                    headers=fidel_headers(FIDEL_SECRET, compact(tx), hook_url(rstack, "transaction.auth"))),
        "no signature": httpx.post(hook_url(rstack, "transaction.auth"), content=compact(tx), timeout=30,
                                   headers={"content-type": "application/json"}),
        "non-numeric timestamp": httpx.post(hook_url(rstack, "transaction.auth"), content=compact(tx), timeout=30,
                                            headers={**fidel_headers(FIDEL_SECRET, compact(tx),
                                                                     hook_url(rstack, "transaction.auth")),
                                                     "x-fidel-timestamp": "yesterday"}),
    }
    for name, r in refused.items():
        assert r.status_code == 400, (name, r.status_code, r.text)
        assert r.json() == {"detail": "Invalid webhook signature"}, (name, r.text)
    # oversized: the service's 1 MiB limit (signed correctly) and the gateway's 10 MB limit
    padded = {**tx, "pad": "x" * (1024 * 1024 + 10)}
    r = send(rstack, "transaction.auth", padded)
    assert r.status_code == 413, r.text
    huge = compact({**tx, "pad": "x" * (11 * 1024 * 1024)})
    r = httpx.post(hook_url(rstack, "transaction.auth"), content=huge, timeout=60,
                   headers=fidel_headers(FIDEL_SECRET, huge, hook_url(rstack, "transaction.auth")))
    assert r.status_code == 413
    assert await stored(dbs, tx["id"]) == (0, 0)
    assert gw.get("/v1/clo/transactions", headers=bearer(driver)).json()["transactions"] == []


async def test_replayed_and_reordered_webhooks_reward_once_and_never_regress(rstack, dbs, gw):
    fidel = Fidel(rstack)
    driver = uid("drv-reorder")
    fidel_card, _ = link_card(gw, fidel, driver)
    auth = fidel_transaction(fidel_card, 2000)
    clearing = {**auth, "auth": True, "cleared": True}

    # reordered: the clearing arrives first (evaluated as if authorised), then replayed, then the late auth
    for _ in range(3):
        r = send(rstack, "transaction.clearing", clearing)
        assert r.status_code == 200, r.text
    r = send(rstack, "transaction.auth", auth)
    assert r.status_code == 200 and r.json()["status"] in ("duplicate", "ignored"), r.text
    [row] = gw.get("/v1/clo/transactions", headers=bearer(driver)).json()["transactions"]
    assert (row["status"], row["reward_cents"]) == ("credited", 250)
    wait_balance(gw, driver, 250)

    # refund (matched to the original), replayed twice
    refund = fidel_transaction(fidel_card, -2000, auth=False, cleared=True, originalTransactionId=auth["id"])
    for _ in range(3):
        r = send(rstack, "transaction.refund", refund)
        assert r.status_code == 200, r.text
    wait_balance(gw, driver, 0)
    # the original clearing and auth replayed after the refund: nothing is paid again
    assert send(rstack, "transaction.clearing", clearing).status_code == 200
    assert send(rstack, "transaction.auth", auth).status_code == 200
    [row] = gw.get("/v1/clo/transactions", headers=bearer(driver)).json()["transactions"]
    assert row["reward_state"] in ("clawed_back", "reversed"), row  # not revived by the replays
    assert wait_for(lambda: sorted(e["amount_cents"] for e in ledger(gw, driver)) == [-250, 250]), ledger(gw, driver)
    assert await wallet_balance_row(dbs["wallet"], driver) == (0, 0, 0, 0)
    async with dbs["clo"].read() as conn:
        refunds = (await conn.execute(sa.text("SELECT count(*) FROM clo_refunds WHERE external_id = :e"),
                                      {"e": refund["id"]})).scalar_one()
    assert refunds == 1
    await wallet_invariants(dbs["wallet"])
