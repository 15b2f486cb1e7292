"""``python -m services.telemetry``: the telemetry composition root."""
from __future__ import annotations

from kit import service
from kit.db import Database
from services.telemetry.adapters.tables import job_leases, outbox_table
from nerava.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc
from services.telemetry.app.usecases import TelemetryUseCases
from services.telemetry.config import TelemetryConfig
from services.telemetry.entrypoint.grpc_api import TelemetryApi

FULL_NAME = telemetry_pb2.DESCRIPTOR.services_by_name["TelemetryService"].full_name


async def compose(config: TelemetryConfig, db: Database) -> service.Wiring:
    api = TelemetryApi(TelemetryUseCases(db))
    return service.Wiring(
        register=lambda s: telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server(api, s),
        full_names=(FULL_NAME,),
        outbox_table=outbox_table, job_leases=job_leases)


if __name__ == "__main__":
    service.run("telemetry", TelemetryConfig, compose)
