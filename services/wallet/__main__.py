"""``python -m services.wallet``: the wallet's composition root."""
from __future__ import annotations

import logging

import grpc

from kit import jobs, service
from kit.auth import ServiceTokenSource
from kit.clients import Upstream
from kit.clock import SystemClock
from kit.db import Database
from kit.outbox import PermanentDeliveryError
from kit.settings import upstream_addr
from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from services.wallet import metrics
from services.wallet.adapters.stripe_gateway import StripePayouts
from services.wallet.adapters.tables import job_leases, outbox_table
from services.wallet.app.payouts import PayoutEngine
from services.wallet.app.usecases import WalletUseCases
from services.wallet.app.webhooks import StripeWebhooks
from services.wallet.config import WalletConfig
from services.wallet.entrypoint.grpc_api import WalletApi

FULL_NAME = wallet_pb2.DESCRIPTOR.services_by_name["WalletService"].full_name
log = logging.getLogger("wallet")

# Events nobody consumes yet (notifications, analytics): delivered to the log so they never pile up.
INFORMATIONAL = ("WalletCredited", "WalletDebited", "PayoutRequested", "PayoutPaid", "PayoutFailed",
                 "PayoutNeedsAttention", "StripeAccountUpdated", "ReconciliationDriftDetected",
                 "PayoutBreakerChanged")


def build(config: WalletConfig, db: Database, clock=None):
    clock = clock or SystemClock()
    provider = None
    if config.live:
        provider = StripePayouts(config.stripe_secret_key, api_base=config.stripe_api_base,
                                 api_version=config.stripe_api_version, timeout_s=config.stripe_timeout_seconds,
                                 max_network_retries=config.stripe_max_network_retries)
    uc = WalletUseCases(db, clock, config, provider)
    engine = PayoutEngine(uc, provider) if provider is not None else None
    uc.engine = engine
    return uc, engine, StripeWebhooks(uc, engine)


async def compose(config: WalletConfig, db: Database) -> service.Wiring:
    uc, engine, webhooks = build(config, db)
    metrics.PAYOUT_MODE.labels("live" if config.live else "mock").set(1)
    if config.env == "production" and not config.live:
        log.warning("production runs payouts in MOCK mode (ALLOW_MOCK_PAYOUTS_IN_PRODUCTION=true)")
    tokens = ServiceTokenSource(config.jwt_secret, "wallet")
    incentives = Upstream("incentives", upstream_addr(config.incentives_addr, "incentives"),
                          incentives_pb2_grpc.IncentivesServiceStub, tokens)

    async def nova(driver_id: str) -> int | None:
        try:
            resp = await incentives.call("GetNovaBalance", incentives_pb2.GetNovaBalanceRequest(driver_id=driver_id),
                                         timeout_s=1.0, idempotent=True)
            return resp.balance
        except grpc.aio.AioRpcError:
            return None

    async def funding(key: str, payload: dict) -> None:
        s = payload["session"]
        session = incentives_pb2.CheckoutSession()
        for name in ("id", "status", "payment_status", "currency", "payment_intent", "client_reference_id"):
            if s.get(name) is not None and name in session.DESCRIPTOR.fields_by_name:
                setattr(session, name, str(s[name]))
        if s.get("amount_total") is not None and "amount_total" in session.DESCRIPTOR.fields_by_name:
            session.amount_total = int(s["amount_total"])
        if s.get("metadata") and "metadata" in session.DESCRIPTOR.fields_by_name:
            session.metadata.update({k: str(v) for k, v in s["metadata"].items()})
        try:
            await incentives.call("ApplyCampaignFunding", incentives_pb2.ApplyCampaignFundingRequest(
                stripe_event_id=payload["stripe_event_id"], type=payload["type"], session=session),
                timeout_s=5.0, idempotent=True)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
                raise PermanentDeliveryError(exc.details()) from exc
            raise

    async def informational(key: str, payload: dict) -> None:
        log.info("wallet event", extra={"event_key": key})

    handlers = {topic: informational for topic in INFORMATIONAL}
    handlers["CampaignFundingReceived"] = funding
    api = WalletApi(uc, engine, webhooks, nova=nova)
    wiring = service.Wiring(register=lambda s: wallet_pb2_grpc.add_WalletServiceServicer_to_server(api, s),
                            full_names=(FULL_NAME,), outbox_table=outbox_table, outbox_handlers=handlers,
                            job_leases=job_leases, on_stop=(incentives.close,))
    uc.on_commit = lambda: wiring.dispatcher.wake() if wiring.dispatcher is not None else None
    async def prune_job() -> None:
        await uc.prune_idempotency()

    wiring.jobs = (jobs.Job("wallet_idempotency_prune", 3600, prune_job),)
    if engine is not None:
        async def payout_job() -> None:
            await engine.run_job()

        async def reconciliation_job() -> None:
            if uc.clock.now().hour == config.recon_hour_utc:
                await engine.reconcile()

        wiring.jobs = (*wiring.jobs, jobs.Job("wallet_payout_job", config.payout_job_interval_seconds, payout_job),
                       jobs.Job("wallet_reconciliation", 3600, reconciliation_job, lease_s=1800))
    return wiring


if __name__ == "__main__":
    service.run("wallet", WalletConfig, compose)
