"""``python -m services.wallet``: the wallet's composition root."""
from __future__ import annotations

from kit import service
from kit.clock import SystemClock
from kit.db import Database
from services.wallet.adapters.tables import job_leases, outbox_table
from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from services.wallet.app.usecases import WalletUseCases
from services.wallet.config import WalletConfig
from services.wallet.domain.wallet import WithdrawalPolicy
from services.wallet.entrypoint.grpc_api import WalletApi

FULL_NAME = wallet_pb2.DESCRIPTOR.services_by_name["WalletService"].full_name


async def compose(config: WalletConfig, db: Database) -> service.Wiring:
    policy = WithdrawalPolicy(config.withdrawal_min_cents, config.withdrawal_fee_threshold_cents)
    api = WalletApi(WalletUseCases(db, SystemClock(), policy))
    return service.Wiring(register=lambda s: wallet_pb2_grpc.add_WalletServiceServicer_to_server(api, s),
                          full_names=(FULL_NAME,),
        outbox_table=outbox_table, job_leases=job_leases)


if __name__ == "__main__":
    service.run("wallet", WalletConfig, compose)
