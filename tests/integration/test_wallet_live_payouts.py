"""Live mode (ENABLE_STRIPE_PAYOUTS=true) against the fake Stripe server with the real SDK, on SQLite
and PostgreSQL: Express onboarding gating, transfers + bank payouts, the UNKNOWN state and the
read-first resolver, 5xx/429/permanent errors, webhooks (signatures, replay, order), one refund."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa
import stripe

from kit import errors
from kit.clock import ManualClock
from services.wallet.adapters.tables import outbox_table, payouts, stripe_events
from tests.integration.fake_stripe_support import FakeStripe
from tests.integration.wallet_support import T0, assert_ledger_invariant, make_env

KEY = "sk_test_nerava_live_tests"
W9, W10 = "wallet/stripe/webhook", "stripe/webhooks"
SECRETS = {W9: "whsec_payout_test", W10: "whsec_platform_test"}


@pytest.fixture(scope="module")
def fake():
    f = FakeStripe().start()
    yield f
    f.stop()


class Env:
    pass


@pytest.fixture
async def env(database_url, fake):
    await fake.ctl("POST", "/reset")
    await fake.ctl("POST", "/events/hold", {"hold": True})
    clock = ManualClock(T0)
    db, uc, engine, hooks = await make_env(
        database_url, clock, ENABLE_STRIPE_PAYOUTS="true", STRIPE_SECRET_KEY=KEY, STRIPE_API_BASE=fake.base,
        STRIPE_TIMEOUT_SECONDS="1", STRIPE_MAX_NETWORK_RETRIES="2",
        STRIPE_PAYOUT_WEBHOOK_SECRET=SECRETS[W9], STRIPE_WEBHOOK_SECRET=SECRETS[W10])
    e = Env()
    e.db, e.uc, e.engine, e.hooks, e.clock, e.fake = db, uc, engine, hooks, clock, fake
    try:
        yield e
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()


async def ready_driver(e, driver="d1", funds=20_000):
    await e.uc.credit(idempotency_key=f"grant:{driver}", driver_id=driver, amount_cents=funds,
                      reference_type="campaign_grant", reference_id=driver)
    out = await e.uc.create_stripe_account(driver, "driver@example.com")
    assert out["status"] == "created" and out["stripe_account_id"].startswith("acct_")
    assert (await e.uc.create_stripe_account(driver, None))["status"] == "existing"
    with pytest.raises(errors.FailedPrecondition, match="Payout account onboarding not complete"):
        await e.uc.request_withdrawal(driver, 2500)
    await e.fake.ctl("POST", f"/accounts/{out['stripe_account_id']}/complete_onboarding")
    status = await e.uc.account_status(driver)
    assert status["onboarding_complete"] and status["payouts_enabled"]
    return out["stripe_account_id"]


async def events(e, type_=None):
    evs = (await e.fake.ctl("GET", "/events"))["events"]
    return [ev for ev in evs if type_ is None or ev["type"] == type_]


async def send(e, ev, endpoint=W9, secret=None, header=None):
    body = json.dumps(ev).encode()
    sig = header if header is not None else stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret or SECRETS[endpoint])
    return await e.hooks.handle(endpoint, body, sig)


async def balances(e, driver="d1"):
    w = (await e.uc.get_balance(driver)).wallet
    return w.balance_cents, w.pending_balance_cents, w.total_withdrawn_cents


async def transfers_for(e, payout_id):
    state = await e.fake.ctl("GET", "/state")
    return [t for t in state["transfers"].values() if t.get("transfer_group") == f"payout_{payout_id}"]


async def test_withdrawal_transfers_then_paid_after_the_webhook(env):
    e = env
    acct = await ready_driver(e)
    out = await e.uc.request_withdrawal("d1", 2500, "w1")
    row = out["payout"]
    assert row.state == "transferred" and row.stripe_transfer_id.startswith("tr_") and row.stripe_payout_id
    assert await balances(e) == (17_500, 2500, 0)
    reqs = (await e.fake.ctl("GET", "/requests"))["requests"]
    keys = [r["key"] for r in reqs if r["method"] == "POST" and r["path"] in ("/v1/transfers", "/v1/payouts")]
    assert keys == [f"nerava-payout-{row.id}-transfer-1", f"nerava-payout-{row.id}-bank"]
    bank = [r for r in reqs if r["path"] == "/v1/payouts"][0]
    assert bank["stripe_account"] == acct
    tr_created = (await events(e, "transfer.created"))[0]
    assert (await send(e, tr_created))["status"] == "already_processed"  # already transferred
    await e.fake.ctl("POST", f"/payouts/{row.stripe_payout_id}/advance", {"status": "paid"})
    paid = (await events(e, "payout.paid"))[0]
    assert await send(e, paid) == {"status": "success", "payout_id": row.id, "action": "marked_paid"}
    assert (await send(e, paid))["status"] == "already_processed"  # replay: one effect
    assert await balances(e) == (17_500, 0, 2500)
    # the client retrying its withdraw gets the same payout in its current state
    again = await e.uc.request_withdrawal("d1", 2500, "w1")
    assert again["replayed"] and again["payout"].state == "paid"


async def test_timeout_is_unknown_then_resolved_read_first_without_double_pay(env):
    e = env
    await ready_driver(e)
    await e.fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": "hang", "count": 3,
                                         "delay_s": 2})
    out = await e.uc.request_withdrawal("d1", 3000, "t1")
    row = out["payout"]
    assert row.state == "unknown" and out["payout"].stripe_transfer_id is None
    assert await balances(e) == (17_000, 3000, 0)  # funds stay held: never a blind refund
    assert await e.engine.resolve(row.id) == "marked_transferred"
    assert len(await transfers_for(e, row.id)) == 1
    async with e.db.read() as conn:
        r = (await conn.execute(sa.select(payouts).where(payouts.c.id == row.id))).first()
    assert r.state == "transferred" and r.reconciled_at is not None and r.stripe_payout_id


async def test_dropped_request_fails_only_after_the_grace_period(env):
    e = env
    await ready_driver(e)
    await e.fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": "drop", "count": 3,
                                         "delay_s": 2})
    row = (await e.uc.request_withdrawal("d1", 3000, "d1"))["payout"]
    assert row.state == "unknown"
    assert await e.engine.resolve(row.id) == "no_change"  # inside PAYOUT_UNKNOWN_GRACE_SECONDS
    e.clock.advance(seconds=121)
    assert await e.engine.resolve(row.id) == "marked_failed"
    assert await e.engine.resolve(row.id) == "not_needed"
    assert await balances(e) == (20_000, 0, 0)  # refunded once
    assert await transfers_for(e, row.id) == []


async def test_500_then_success_with_the_same_key(env):
    e = env
    await ready_driver(e)
    await e.fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": "500", "count": 1})
    row = (await e.uc.request_withdrawal("d1", 2500, "r1"))["payout"]
    assert row.state == "transferred"
    posts = [r for r in (await e.fake.ctl("GET", "/requests?path=/v1/transfers"))["requests"] if r["method"] == "POST"]
    assert [r["status"] for r in posts] == [500, 200] and len({r["key"] for r in posts}) == 1
    assert len(await transfers_for(e, row.id)) == 1


async def test_429_requeues_with_a_new_attempt_and_the_job_sends_it(env):
    e = env
    await ready_driver(e)
    await e.fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": "429", "count": 1})
    out = await e.uc.request_withdrawal("d1", 2500, "q1")
    assert out["payout"].state == "pending" and out["payout"].attempt == 2 and out["message"]
    summary = await e.engine.run_job()
    assert summary.pending_sent == 1
    async with e.db.read() as conn:
        r = (await conn.execute(sa.select(payouts))).first()
    assert r.state == "transferred"
    keys = [x["key"] for x in (await e.fake.ctl("GET", "/requests?path=/v1/transfers"))["requests"]]
    assert keys == [f"nerava-payout-{r.id}-transfer-1", f"nerava-payout-{r.id}-transfer-2"]


async def test_permanent_error_refunds_then_answers_payout_failed_and_replays_it(env):
    e = env
    acct = await ready_driver(e)
    await e.fake.ctl("POST", f"/accounts/{acct}/update", {"capabilities": {"transfers": "inactive"}})
    with pytest.raises(errors.FailedPrecondition, match="Payout failed: transfers are not enabled"):
        await e.uc.request_withdrawal("d1", 2500, "p1")
    assert await balances(e) == (20_000, 0, 0)
    with pytest.raises(errors.FailedPrecondition, match="Payout failed"):
        await e.uc.request_withdrawal("d1", 2500, "p1")
    # account.updated (re-fetched) clears readiness
    upd = (await events(e, "account.updated"))[-1]
    reply = await send(e, upd)
    assert reply["action"] == "status_updated" and reply["wallet_id"] == "d1"
    assert not (await e.uc.account_status("d1"))["onboarding_complete"]


async def test_bank_payout_failed_reverses_once_and_never_regresses(env):
    e = env
    await ready_driver(e)
    row = (await e.uc.request_withdrawal("d1", 4000, "f1"))["payout"]
    await e.fake.ctl("POST", f"/payouts/{row.stripe_payout_id}/advance", {"status": "failed"})
    failed = (await events(e, "payout.failed"))[0]
    reply = await send(e, failed)
    assert reply == {"status": "success", "payout_id": row.id, "action": "marked_failed"}
    assert await balances(e) == (20_000, 0, 0)
    assert (await send(e, failed))["status"] == "already_processed"
    reversed_ev = (await events(e, "transfer.reversed"))[0]
    assert (await send(e, reversed_ev))["status"] == "already_processed"   # no second refund
    paid_late = dict(failed, id="evt_forged_paid_after_failed", type="payout.paid")
    assert (await send(e, paid_late))["status"] == "already_processed"    # failed never becomes paid
    assert await balances(e) == (20_000, 0, 0)


async def test_out_of_order_paid_before_transfer_created(env):
    e = env
    await ready_driver(e)
    row = (await e.uc.request_withdrawal("d1", 2500, "o1"))["payout"]
    await e.fake.ctl("POST", f"/payouts/{row.stripe_payout_id}/advance", {"status": "paid"})
    assert (await send(e, (await events(e, "payout.paid"))[0]))["action"] == "marked_paid"
    assert (await send(e, (await events(e, "transfer.created"))[0]))["status"] == "already_processed"
    async with e.db.read() as conn:
        assert (await conn.execute(sa.select(payouts.c.state))).scalar_one() == "paid"


async def test_bad_signatures_are_rejected_and_nothing_is_recorded(env):
    e = env
    await ready_driver(e)
    ev = (await events(e, "account.updated"))[0]
    body = json.dumps(ev).encode()
    good = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRETS[W9])
    stale = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRETS[W9], timestamp=int(time.time()) - 600)
    future = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRETS[W9], timestamp=int(time.time()) + 600)
    cases = {"Missing webhook signature": "", "Invalid signature": good.replace("v1=", "v0=")}
    for detail, header in cases.items():
        with pytest.raises(errors.InvalidArgument, match=detail):
            await e.hooks.handle(W9, body, header)
    for header in (stale, future, stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_wrong")):
        with pytest.raises(errors.InvalidArgument, match="Invalid signature"):
            await e.hooks.handle(W9, body, header)
    with pytest.raises(errors.InvalidArgument, match="Invalid signature"):  # tampered body
        await e.hooks.handle(W9, body.replace(b"account.updated", b"account.updatex"), good)
    with pytest.raises(errors.InvalidArgument, match="Invalid payload"):
        bad = b"not json"
        await e.hooks.handle(W9, bad, stripe.WebhookSignature.generate_signature_header(bad.decode(), SECRETS[W9]))
    async with e.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(stripe_events))).scalar_one() == 0
    # the W10 secret does not open W9
    with pytest.raises(errors.InvalidArgument):
        await e.hooks.handle(W9, body, stripe.WebhookSignature.generate_signature_header(body.decode(), SECRETS[W10]))


async def test_campaign_funding_is_relayed_once_through_the_outbox(env):
    e = env
    ev = {"id": "evt_fund_1", "object": "event", "type": "checkout.session.completed", "livemode": False,
          "created": 1, "data": {"object": {"id": "cs_1", "object": "checkout.session", "status": "complete",
                                            "payment_status": "paid", "amount_total": 50_000, "currency": "usd",
                                            "metadata": {"type": "campaign_funding", "campaign_id": "c1"}}}}
    reply = await send(e, ev, W10)
    assert reply["received"] and reply["handled"] and reply["handler"] == "campaign_funding"
    again = await send(e, ev, W10)
    assert again["received"] and not again["handled"] and again["status"] == "already_processed"
    async with e.db.read() as conn:
        rows = list(await conn.execute(sa.select(outbox_table).where(outbox_table.c.topic == "CampaignFundingReceived")))
    assert len(rows) == 1 and rows[0].key == "evt_fund_1"
    assert json.loads(rows[0].payload)["session"]["amount_total"] == 50_000


async def test_breaker_volume_trip_queues_withdrawals(database_url, fake):
    await fake.ctl("POST", "/reset")
    await fake.ctl("POST", "/events/hold", {"hold": True})
    db, uc, engine, hooks = await make_env(
        database_url, ManualClock(T0), ENABLE_STRIPE_PAYOUTS="true", STRIPE_SECRET_KEY=KEY, STRIPE_API_BASE=fake.base,
        STRIPE_TIMEOUT_SECONDS="1", PAYOUT_BREAKER_MAX_COUNT="1", STRIPE_WEBHOOK_SECRET="whsec_x")
    try:
        e = Env()
        e.db, e.uc, e.engine, e.hooks, e.fake = db, uc, engine, hooks, fake
        await ready_driver(e)
        assert (await uc.request_withdrawal("d1", 2500, "b1"))["payout"].state == "transferred"
        second = await uc.request_withdrawal("d1", 2600, "b2")
        assert second["payout"].state == "pending"
        assert second["message"] == "Payouts are temporarily paused; your withdrawal is queued"
        async with db.read() as conn:
            b = await uc.repo.breaker(conn)
        assert (b.state, b.reason) == ("open", "volume_count")
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()


async def test_missing_secret_fails_closed_outside_development(database_url):
    db, uc, engine, hooks = await make_env(database_url, ManualClock(T0))
    try:
        with pytest.raises(errors.Unavailable) as exc:
            await hooks.handle(W10, b"{}", "t=1,v1=x")
        assert exc.value.detail == {"status": "error", "reason": "webhook_secret_not_configured"}
        with pytest.raises(errors.InvalidArgument):
            await hooks.handle("nope", b"{}", "t=1,v1=x")
    finally:
        await db.dispose()


async def test_concurrent_duplicate_deliveries_apply_once(env):
    e = env
    await ready_driver(e)
    row = (await e.uc.request_withdrawal("d1", 2500, "c1"))["payout"]
    await e.fake.ctl("POST", f"/payouts/{row.stripe_payout_id}/advance", {"status": "paid"})
    paid = (await events(e, "payout.paid"))[0]
    replies = await asyncio.gather(*(send(e, paid) for _ in range(5)), return_exceptions=True)
    ok = [r for r in replies if isinstance(r, dict)]
    assert sum(1 for r in ok if r.get("action") == "marked_paid") == 1
    assert all(r.get("status") in ("success", "already_processed") for r in ok)
    assert await balances(e) == (17_500, 0, 2500)


async def test_job_marks_stuck_processing_unknown_resolves_it_and_expires_old_pending(env):
    e = env
    await ready_driver(e)
    row = (await e.uc.request_withdrawal("d1", 2500, "s1"))["payout"]
    # simulate a crash between the claim and the outcome: processing, with the transfer made at Stripe
    async with e.db.transaction() as conn:
        await conn.execute(sa.update(payouts).where(payouts.c.id == row.id).values(
            state="processing", stripe_transfer_id=None, stripe_payout_id=None))
    e.clock.advance(seconds=301)
    s = await e.engine.run_job()
    assert s.stuck_marked_unknown == 1 and s.unknown_resolved == 1
    async with e.db.read() as conn:
        r = (await conn.execute(sa.select(payouts).where(payouts.c.id == row.id))).first()
    assert r.state == "transferred" and r.stripe_transfer_id == row.stripe_transfer_id
    assert len(await transfers_for(e, row.id)) == 1  # resolved by reading, never re-sent
    # a payout queued behind an open breaker expires after PAYOUT_MAX_PENDING_HOURS, refunded once
    async with e.db.transaction() as conn:
        await e.uc.repo.set_breaker(conn, e.clock.now(), state="open", reason="admin", changed_by="test")
    queued = (await e.uc.request_withdrawal("d1", 3000, "s2"))["payout"]
    assert queued.state == "pending"
    e.clock.advance(hours=73)
    s = await e.engine.run_job()
    assert s.expired == 1
    assert (await balances(e))[0] == 20_000 - 2500


async def test_reconciliation_reports_drift_and_fixes_nothing(env):
    e = env
    acct = await ready_driver(e)
    ok = (await e.uc.request_withdrawal("d1", 2500, "r1"))["payout"]
    other = (await e.uc.request_withdrawal("d1", 2600, "r2"))["payout"]
    before = await balances(e)
    await e.fake.ctl("POST", "/drift", {"create": {"amount": 999, "destination": acct, "currency": "usd",
                                                    "metadata": {"payout_id": "not-ours"}}})
    await e.fake.ctl("POST", "/drift", {"alter": {"id": ok.stripe_transfer_id, "amount": 2400, "currency": "eur",
                                                   "destination": "acct_other"}})
    await e.fake.ctl("POST", "/drift", {"delete": other.stripe_transfer_id, "alter": {"id": ok.stripe_transfer_id}})
    run_id = await e.engine.reconcile()
    from services.wallet.adapters.tables import reconciliation_findings, reconciliation_runs
    async with e.db.read() as conn:
        kinds = {r.kind for r in await conn.execute(sa.select(reconciliation_findings).where(
            reconciliation_findings.c.run_id == run_id))}
        run = (await conn.execute(sa.select(reconciliation_runs))).first()
    assert {"missing_local", "amount_mismatch", "currency_mismatch", "destination_mismatch", "missing_remote"} <= kinds
    assert run.internal_checks_ok and run.findings_count == len(kinds) and run.status == "completed"
    assert await balances(e) == before  # reports only


async def test_w9_in_mock_mode_verifies_then_ignores(database_url):
    db, uc, engine, hooks = await make_env(database_url, ManualClock(T0), STRIPE_WEBHOOK_SECRET="whsec_m")
    try:
        ev = {"id": "evt_m", "object": "event", "type": "payout.paid", "livemode": False, "account": "acct_1",
              "data": {"object": {"id": "po_1"}}}
        body = json.dumps(ev).encode()
        with pytest.raises(errors.InvalidArgument):
            await hooks.handle(W9, body, "t=1,v1=00")
        sig = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_m")
        assert await hooks.handle(W9, body, sig) == {"status": "ignored", "reason": "mock_mode"}
        w11 = await hooks.handle("stripe/webhook", body, sig)
        assert w11["ok"] is True and w11["handled"] is False
    finally:
        await db.dispose()


async def test_breaker_failure_trip_recovers_through_half_open(database_url, fake):
    await fake.ctl("POST", "/reset")
    await fake.ctl("POST", "/events/hold", {"hold": True})
    clock = ManualClock(T0)
    db, uc, engine, hooks = await make_env(
        database_url, clock, ENABLE_STRIPE_PAYOUTS="true", STRIPE_SECRET_KEY=KEY, STRIPE_API_BASE=fake.base,
        STRIPE_TIMEOUT_SECONDS="1", STRIPE_MAX_NETWORK_RETRIES="0", PAYOUT_BREAKER_FAILURES="2",
        STRIPE_WEBHOOK_SECRET="whsec_x")
    try:
        e = Env()
        e.db, e.uc, e.engine, e.hooks, e.fake, e.clock = db, uc, engine, hooks, fake, clock
        await ready_driver(e, funds=50_000)
        await fake.ctl("POST", "/faults", {"method": "POST", "path": "/v1/transfers", "kind": "drop", "count": 2,
                                           "delay_s": 2})
        assert (await uc.request_withdrawal("d1", 2000, "f1"))["payout"].state == "unknown"
        assert (await uc.request_withdrawal("d1", 2100, "f2"))["payout"].state == "unknown"
        async with db.read() as conn:
            b = await uc.repo.breaker(conn)
        assert (b.state, b.reason) == ("open", "failures") and b.open_until == T0 + dt.timedelta(seconds=600)
        queued = await uc.request_withdrawal("d1", 2200, "f3")
        assert queued["payout"].state == "pending" and queued["message"].startswith("Payouts are temporarily paused")
        clock.advance(seconds=601)
        summary = await engine.run_job()  # resolves both unknowns (none found → failed, refunded), sends f3
        assert summary.unknown_resolved == 2 and summary.pending_sent == 1
        async with db.read() as conn:
            b = await uc.repo.breaker(conn)
            states = sorted(r.state for r in await conn.execute(sa.select(payouts.c.state)))
        assert (b.state, b.reason) == ("closed", "recovered")
        assert states == ["failed", "failed", "transferred"]
        assert (await uc.get_balance("d1")).wallet.balance_cents == 50_000 - 2200
        await assert_ledger_invariant(db)
    finally:
        await db.dispose()


async def test_partial_transfer_reversals_credit_each_reversal_once(env):
    e = env
    await ready_driver(e)
    row = (await e.uc.request_withdrawal("d1", 5000, "pr1"))["payout"]
    # the bank payout already moved the money out of the connected account: give it funds to reverse
    state = await e.fake.ctl("GET", "/state")
    await e.fake.ctl("POST", "/balance", {"connected": {row.destination_account: 5000}})
    assert state["transfers"][row.stripe_transfer_id]["amount"] == 5000
    client = stripe.StripeClient(KEY, base_addresses={"api": e.fake.base})
    await client.v1.transfers.reversals.create_async(row.stripe_transfer_id, params={"amount": 1500})
    first = (await events(e, "transfer.reversed"))[-1]
    assert (await send(e, first))["action"] == "status_updated"
    assert (await send(e, first))["status"] == "already_processed"
    assert await balances(e) == (15_000 + 1500, 3500, 0)
    await client.v1.transfers.reversals.create_async(row.stripe_transfer_id)  # the remainder
    second = (await events(e, "transfer.reversed"))[-1]
    assert (await send(e, second))["action"] == "marked_failed"
    assert await balances(e) == (20_000, 0, 0)
    async with e.db.read() as conn:
        r = (await conn.execute(sa.select(payouts).where(payouts.c.id == row.id))).first()
    assert r.state == "failed" and r.amount_reversed_cents == 5000


async def test_account_updated_uses_the_snapshot_only_when_newer_if_stripe_is_down(env):
    e = env
    acct = await ready_driver(e)
    snapshot = {"id": acct, "object": "account", "payouts_enabled": False, "charges_enabled": False,
                "details_submitted": True, "capabilities": {"transfers": "active"},
                "requirements": {"disabled_reason": None, "past_due": []}}
    base = {"object": "event", "type": "account.updated", "livemode": False, "account": acct,
            "data": {"object": snapshot}}
    await e.fake.ctl("POST", "/faults", {"method": "GET", "path": f"/v1/accounts/{acct}", "kind": "500", "count": 6})
    stale = {**base, "id": "evt_stale", "created": int(T0.timestamp()) - 100}
    assert (await send(e, stale))["status"] == "already_processed"
    assert (await e.uc.get_balance("d1")).onboarding_complete  # a stale event cannot regress readiness
    newer = {**base, "id": "evt_newer", "created": int(T0.timestamp()) + 100}
    assert (await send(e, newer))["action"] == "status_updated"
    assert not (await e.uc.get_balance("d1")).onboarding_complete
