"""``python -m services.clo``: the CLO composition root."""
from __future__ import annotations

from kit import service
from kit.db import Database
from services.clo.adapters.tables import job_leases, outbox_table
from nerava.clo.v1 import clo_pb2, clo_pb2_grpc
from services.clo.app.usecases import CloUseCases
from services.clo.config import CloConfig
from services.clo.entrypoint.grpc_api import CloApi

FULL_NAME = clo_pb2.DESCRIPTOR.services_by_name["CloService"].full_name


async def compose(config: CloConfig, db: Database) -> service.Wiring:
    api = CloApi(CloUseCases(db))
    return service.Wiring(register=lambda s: clo_pb2_grpc.add_CloServiceServicer_to_server(api, s),
                          full_names=(FULL_NAME,),
        outbox_table=outbox_table, job_leases=job_leases)


if __name__ == "__main__":
    service.run("clo", CloConfig, compose)
