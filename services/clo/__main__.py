"""``python -m services.clo``: the CLO composition root."""
from __future__ import annotations

from kit import service
from kit.auth import ServiceTokenSource
from kit.clients import Upstream
from kit.db import Database
from kit.jobs import Job
from nerava.clo.v1 import clo_pb2, clo_pb2_grpc
from nerava.telemetry.v1 import telemetry_pb2_grpc
from nerava.wallet.v1 import wallet_pb2_grpc
from services.clo.adapters.fidel import HttpFidelClient
from services.clo.adapters.tables import job_leases, outbox_table
from services.clo.adapters.telemetry import GrpcSessionFinder
from services.clo.adapters.wallet import wallet_handlers
from services.clo.app.usecases import CloUseCases
from services.clo.config import CloConfig
from services.clo.entrypoint.grpc_api import CloApi

FULL_NAME = clo_pb2.DESCRIPTOR.services_by_name["CloService"].full_name


async def compose(config: CloConfig, db: Database) -> service.Wiring:
    tokens = ServiceTokenSource(config.jwt_secret, "clo")
    wallet = Upstream("wallet", config.wallet_grpc_addr, wallet_pb2_grpc.WalletServiceStub, tokens)
    telemetry = Upstream("telemetry", config.telemetry_grpc_addr, telemetry_pb2_grpc.TelemetryServiceStub,
                         tokens, default_timeout_s=config.telemetry_deadline_ms / 1000)
    fidel = HttpFidelClient(config.api_url(), config.api_key(), config.program_id())
    uc = CloUseCases(db, config, fidel=fidel,
                     sessions=GrpcSessionFinder(telemetry, config.telemetry_deadline_ms / 1000))
    api = CloApi(uc)
    handlers = dict(wallet_handlers(wallet))
    handlers["FidelCardDelete"] = uc.deliver_card_delete
    every = config.job_interval_s
    jobs = [
        Job("clo.expire_auths", every, uc.expire_auths),
        Job("clo.release_holds", every, uc.release_holds),
        Job("clo.recheck_sessions", max(every, 300.0) if every >= 60 else every, uc.recheck_sessions),
        Job("clo.purge_inbox", every, uc.purge_inbox),
        Job("clo.metrics", every, uc.refresh_metrics),
        Job("clo.reconcile", 86_400.0, uc.reconcile, lease_s=3600.0),
    ]
    wiring = service.Wiring(
        register=lambda s: clo_pb2_grpc.add_CloServiceServicer_to_server(api, s), full_names=(FULL_NAME,),
        outbox_table=outbox_table, outbox_handlers=handlers, job_leases=job_leases, jobs=jobs,
        on_stop=(wallet.close, telemetry.close, fidel.close))
    uc.on_commit_events.append(lambda: wiring.dispatcher.wake() if wiring.dispatcher else None)
    return wiring


if __name__ == "__main__":
    service.run("clo", CloConfig, compose)
