"""``python -m services.incentives``: the incentives composition root."""
from __future__ import annotations

from kit import service
from kit.db import Database
from services.incentives.adapters.tables import job_leases, outbox_table
from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from services.incentives.app.usecases import IncentivesUseCases
from services.incentives.config import IncentivesConfig
from services.incentives.entrypoint.grpc_api import IncentivesApi

FULL_NAME = incentives_pb2.DESCRIPTOR.services_by_name["IncentivesService"].full_name


async def compose(config: IncentivesConfig, db: Database) -> service.Wiring:
    api = IncentivesApi(IncentivesUseCases(db))
    return service.Wiring(
        register=lambda s: incentives_pb2_grpc.add_IncentivesServiceServicer_to_server(api, s),
        full_names=(FULL_NAME,),
        outbox_table=outbox_table, job_leases=job_leases)


if __name__ == "__main__":
    service.run("incentives", IncentivesConfig, compose)
