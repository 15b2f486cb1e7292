"""``python -m services.incentives``: the incentives composition root."""
from __future__ import annotations

import json

from kit import jobs, service
from kit.auth import ServiceTokenSource
from kit.clients import Upstream
from kit.clock import SystemClock
from kit.db import Database
from kit.outbox import OutboxDispatcher
from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from nerava.telemetry.v1 import telemetry_pb2_grpc
from nerava.wallet.v1 import wallet_pb2_grpc
from services.incentives.adapters.peers import TelemetryChargers, outbox_handlers
from services.incentives.adapters.tables import job_leases, outbox_table
from services.incentives.app.usecases import IncentivesUseCases
from services.incentives.config import IncentivesConfig
from services.incentives.domain import rules
from services.incentives.entrypoint.grpc_api import IncentivesApi

FULL_NAME = incentives_pb2.DESCRIPTOR.services_by_name["IncentivesService"].full_name


async def compose(config: IncentivesConfig, db: Database) -> service.Wiring:
    if config.network_aliases.strip():
        rules.configure_aliases(json.loads(config.network_aliases))
    tokens = ServiceTokenSource(config.jwt_secret, "incentives")
    wallet = Upstream("wallet", config.wallet_addr(), wallet_pb2_grpc.WalletServiceStub, tokens)
    telemetry = Upstream("telemetry", config.telemetry_addr(), telemetry_pb2_grpc.TelemetryServiceStub, tokens)
    uc = IncentivesUseCases(db, SystemClock(), platform_fee_bps=config.platform_fee_bps,
                            chargers=TelemetryChargers(telemetry), blocking_flags=config.blocking_flags(),
                            env=config.env, default_driver_time_zone=config.default_driver_time_zone)
    from services.incentives.adapters.stripe_checkout import checkout_gateway
    uc.checkout = checkout_gateway(config)
    uc.console_url = config.console_url
    dispatcher = OutboxDispatcher(db, outbox_table, outbox_handlers(wallet, telemetry))
    uc.on_commit_events.append(dispatcher.wake)
    api = IncentivesApi(uc)

    async def sweep() -> None:
        await uc.sweep_completed()

    async def close() -> None:
        await wallet.close()
        await telemetry.close()

    return service.Wiring(
        register=lambda s: incentives_pb2_grpc.add_IncentivesServiceServicer_to_server(api, s),
        full_names=(FULL_NAME,), outbox_table=outbox_table, outbox_handlers=dispatcher.handlers,
        dispatcher=dispatcher, job_leases=job_leases,
        jobs=[jobs.Job("incentives.campaign_sweeper", config.sweeper_interval_s, sweep, lease_s=120)],
        on_stop=(close,))


if __name__ == "__main__":
    service.run("incentives", IncentivesConfig, compose)
