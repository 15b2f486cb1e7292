"""CLO over real gRPC in process: roles, the PAN guard, webhook metadata, and the outbound adapters
(wallet outbox handlers through kit.clients.Upstream; telemetry session lookup and its policy)."""
from __future__ import annotations

import asyncio
import datetime as dt


import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cli.stack import free_port
from kit import auth, migrations, server
from kit.clients import Upstream
from kit.db import Database
from kit.outbox import OutboxDispatcher, PermanentDeliveryError
from nerava.clo.v1 import clo_pb2, clo_pb2_grpc
from nerava.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc
from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from services.clo.adapters.fidel import FakeFidelClient
from services.clo.adapters.tables import outbox_table
from services.clo.adapters.telemetry import GrpcSessionFinder, SessionLookupUnavailable
from services.clo.adapters.wallet import wallet_handlers
from services.clo.app.usecases import CloUseCases
from services.clo.config import CloConfig
from services.clo.domain import signature
from services.clo.domain.cards import ProviderCard
from services.clo.entrypoint.grpc_api import CloApi

SECRET = "integration-secret-0123456789-abcdefghijkl"
WH = "wh-grpc-secret"
UTC = dt.timezone.utc


async def _serve(name, full_name, register):
    port = free_port()
    stop = asyncio.Event()
    spec = server.ServiceSpec(name=name, full_names=(full_name,), register=register, port=port,
                              jwt_secret=SECRET, grace_s=0.5, bind_host="127.0.0.1")
    task = asyncio.create_task(server.serve(spec, stop))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        for _ in range(100):
            try:
                await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.05)
    return port, stop, task


@pytest.fixture
async def clo(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'clo.db'}"
    await asyncio.to_thread(migrations.upgrade, "clo", url)
    db = Database(url)
    fidel = FakeFidelClient()
    uc = CloUseCases(db, CloConfig(ENV="test", FIDEL_WEBHOOK_SECRET=WH), fidel=fidel)
    port, stop, task = await _serve("clo", "nerava.clo.v1.CloService",
                                    lambda s: clo_pb2_grpc.add_CloServiceServicer_to_server(CloApi(uc), s))
    ch = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield clo_pb2_grpc.CloServiceStub(ch), uc
    await ch.close()
    stop.set()
    await task
    await db.dispose()


def md(sub, *roles, extra=()):
    return (("authorization", f"Bearer {auth.mint(SECRET, sub, roles)}"), *extra)


async def code_of(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await call
    return exc.value.code(), exc.value.details()


async def test_roles_guard_and_self_verification(clo):
    stub, uc = clo
    uc.fidel.add(ProviderCard("fc_1", "prog_sim", "d1", "4242", "visa", 12, 2030))
    link = await stub.LinkCard(clo_pb2.LinkCardRequest(fidel_card_id="fc_1"), metadata=md("d1", "driver"))
    assert (link.status, link.mock) == ("linked", True)
    assert await code_of(stub.LinkCard(clo_pb2.LinkCardRequest(fidel_card_id="4111 1111 1111 1111"),
                                       metadata=md("d1", "driver"))) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Card numbers and security codes must not be sent; link cards through the Fidel SDK")
    verify = clo_pb2.VerifyTransactionRequest(card_id=link.card_id, amount_cents=2000, merchant_id="m-1")
    assert await code_of(stub.VerifyTransaction(verify, metadata=md("d1", "driver"))) == (
        grpc.StatusCode.PERMISSION_DENIED, "Admin access required")
    assert await code_of(stub.VerifyTransaction(verify, metadata=md("d1", "driver", "admin"))) == (
        grpc.StatusCode.PERMISSION_DENIED, "Cannot verify a transaction on your own card")
    assert await code_of(stub.CreateOffer(clo_pb2.CreateOfferRequest(merchant_id="m-1", reward_cents=100),
                                          metadata=md("d1", "driver"))) == (
        grpc.StatusCode.PERMISSION_DENIED, "Admin access required")
    assert await code_of(stub.CreateOffer(clo_pb2.CreateOfferRequest(merchant_id="m-2", reward_cents=100),
                                          metadata=md("m-1", "merchant"))) == (
        grpc.StatusCode.PERMISSION_DENIED, "Merchants may only manage their own offers")
    code, detail = await code_of(stub.CreateOffer(clo_pb2.CreateOfferRequest(merchant_id="m-1", reward_percent=0),
                                                  metadata=md("a1", "admin")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "reward_percent" in detail
    offer = (await stub.CreateOffer(clo_pb2.CreateOfferRequest(merchant_id="m-1", reward_percent=5,
                                                               max_reward_cents=400, days_of_week=[1, 1, 3]),
                                    metadata=md("a1", "admin"))).offer
    assert (offer.reward_type, offer.reward_bps, offer.reward_cents, list(offer.days_of_week), offer.active) == \
        ("percentage", 500, 0, [1, 3], True)
    code, detail = await code_of(stub.CreateOffer(clo_pb2.CreateOfferRequest(
        merchant_id="m-1", reward_cents=100, valid_from="2026-01-01T10:00:00Z"), metadata=md("a1", "admin")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "valid_from" in detail
    upd = await stub.UpdateOffer(clo_pb2.UpdateOfferRequest(offer_id=offer.offer_id, reward_cents=200,
                                                            clear_fields=["reward_bps", "max_reward_cents", "days_of_week"]),
                                 metadata=md("a1", "admin"))
    assert (upd.offer.reward_type, upd.offer.reward_cents, upd.offer.HasField("reward_bps")) == ("fixed", 200, False)
    ok = await stub.VerifyTransaction(verify, metadata=md("a1", "admin"))
    assert (ok.status, ok.reward_cents, ok.mock) == ("credited", 200, True)
    txs = await stub.ListTransactions(clo_pb2.ListTransactionsRequest(), metadata=md("d1", "driver"))
    assert [(t.status, t.reward_cents, t.driver_id) for t in txs.transactions] == [("credited", 200, "d1")]
    assert await code_of(stub.ListTransactions(clo_pb2.ListTransactionsRequest(driver_id="d2"),
                                               metadata=md("d1", "driver"))) == (
        grpc.StatusCode.PERMISSION_DENIED, "Admin access required")
    assert (await code_of(stub.ListTransactions(clo_pb2.ListTransactionsRequest(limit=101),
                                                metadata=md("d1", "driver"))))[0] == grpc.StatusCode.INVALID_ARGUMENT


async def test_webhook_rpc_reads_signature_metadata_and_needs_a_service_token(clo):
    stub, uc = clo
    body = b'{"id":"t1","amount":10}'
    ts = str(int(dt.datetime.now(UTC).timestamp() * 1000))
    sig = signature.sign(WH, body, uc.config.registered_url("transaction.auth"), ts)
    req = clo_pb2.HandleFidelWebhookRequest(event_type="transaction.auth")
    req.body.data = body
    headers = (("x-fidel-signature", sig), ("x-fidel-timestamp", ts))
    resp = await stub.HandleFidelWebhook(req, metadata=md("service:gateway", "service", extra=headers))
    assert (resp.status, resp.reason) == ("ignored", "card_not_enrolled")
    assert (await code_of(stub.HandleFidelWebhook(req, metadata=md("d1", "driver", extra=headers))))[0] == \
        grpc.StatusCode.PERMISSION_DENIED
    bad = (("x-fidel-signature", sig), ("x-fidel-timestamp", str(int(ts) + 1)))
    assert await code_of(stub.HandleFidelWebhook(req, metadata=md("service:gateway", "service", extra=bad))) == (
        grpc.StatusCode.INVALID_ARGUMENT, "Invalid webhook signature")


class FakeWallet(wallet_pb2_grpc.WalletServiceServicer):
    def __init__(self):
        self.calls = []
        self.reject = False

    async def Credit(self, request, context):
        if self.reject:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, "key reused")
        self.calls.append(("Credit", request.idempotency_key, request.amount_cents, request.reference_type,
                           request.reference_id, request.merchant_name))
        return wallet_pb2.CreditResponse(journal_id="j1")

    async def Clawback(self, request, context):
        self.calls.append(("Clawback", request.idempotency_key, request.amount_cents, request.reference_type,
                           request.reference_id, request.original_key))
        return wallet_pb2.ClawbackResponse(journal_id="j2")


async def test_outbox_events_reach_the_wallet_with_their_keys(tmp_path):
    wallet = FakeWallet()
    port, stop, task = await _serve("wallet", "nerava.wallet.v1.WalletService",
                                    lambda s: wallet_pb2_grpc.add_WalletServiceServicer_to_server(wallet, s))
    url = f"sqlite+aiosqlite:///{tmp_path / 'clo.db'}"
    await asyncio.to_thread(migrations.upgrade, "clo", url)
    db = Database(url)
    up = Upstream("wallet", f"127.0.0.1:{port}", wallet_pb2_grpc.WalletServiceStub,
                  auth.ServiceTokenSource(SECRET, "clo"))
    try:
        handlers = wallet_handlers(up)
        from kit.outbox import add_event
        now = dt.datetime.now(UTC)
        async with db.transaction() as conn:
            await add_event(conn, outbox_table, db, topic="RewardAvailable", key="clo_reward:tx1", now=now,
                            payload={"clo_transaction_id": "tx1", "driver_id": "d1", "amount_cents": 125,
                                     "merchant_name": "Cafe"})
            await add_event(conn, outbox_table, db, topic="RewardClawback", key="clo_clawback:r1", now=now,
                            payload={"refund_id": "r1", "clo_transaction_id": "tx1", "driver_id": "d1",
                                     "amount_cents": 40, "original_key": "clo_reward:tx1"})
        res = await OutboxDispatcher(db, outbox_table, handlers).run_once()
        assert res.delivered == 2
        assert wallet.calls == [("Credit", "clo_reward:tx1", 125, "clo_reward", "tx1", "Cafe"),
                                ("Clawback", "clo_clawback:r1", 40, "clo_refund", "r1", "clo_reward:tx1")]
        wallet.reject = True
        with pytest.raises(PermanentDeliveryError):
            await handlers["RewardAvailable"]("clo_reward:tx2", {"clo_transaction_id": "tx2", "driver_id": "d1",
                                                                 "amount_cents": 1})
    finally:
        await up.close()
        stop.set()
        await task
        await db.dispose()


class Telemetry(telemetry_pb2_grpc.TelemetryServiceServicer):
    async def FindOverlappingSessions(self, request, context):
        resp = telemetry_pb2.FindOverlappingSessionsResponse()
        s = resp.sessions.add(session_id="s1")
        s.session_start.FromDatetime(request.t1.ToDatetime())
        return resp


class UnimplementedTelemetry(telemetry_pb2_grpc.TelemetryServiceServicer):
    pass


@pytest.mark.parametrize("impl", [Telemetry, UnimplementedTelemetry])
async def test_session_finder_over_grpc_and_deferral(impl):
    port, stop, task = await _serve("telemetry", "nerava.telemetry.v1.TelemetryService",
                                    lambda s: telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server(impl(), s))
    up = Upstream("telemetry", f"127.0.0.1:{port}", telemetry_pb2_grpc.TelemetryServiceStub,
                  auth.ServiceTokenSource(SECRET, "clo"))
    finder = GrpcSessionFinder(up, 2.0)
    t = dt.datetime(2026, 3, 4, 12, tzinfo=UTC)
    try:
        if impl is Telemetry:
            found = await finder.find("d1", t, t + dt.timedelta(hours=1))
            assert [(s.session_id, s.start, s.end) for s in found] == [("s1", t, None)]
        else:
            with pytest.raises(SessionLookupUnavailable):
                await finder.find("d1", t, t + dt.timedelta(hours=1))
    finally:
        await up.close()
        stop.set()
        await task


async def test_unreachable_telemetry_defers():
    up = Upstream("telemetry", f"127.0.0.1:{free_port()}", telemetry_pb2_grpc.TelemetryServiceStub,
                  auth.ServiceTokenSource(SECRET, "clo"))
    try:
        with pytest.raises(SessionLookupUnavailable):
            await GrpcSessionFinder(up, 0.5).find("d1", dt.datetime.now(UTC), dt.datetime.now(UTC))
    finally:
        await up.close()



