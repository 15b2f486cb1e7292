"""gRPC entrypoint: protobuf ⇄ domain only."""
from __future__ import annotations

import grpc

from kit.interceptors import require_roles
from nerava.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc
from services.telemetry.app.usecases import TelemetryUseCases
from services.telemetry.domain.connection import vin_for_display


class TelemetryApi(telemetry_pb2_grpc.TelemetryServiceServicer):
    def __init__(self, usecases: TelemetryUseCases) -> None:
        self.uc = usecases

    async def GetTeslaStatus(self, request, context: grpc.aio.ServicerContext):
        caller = require_roles("driver", message="Driver access required")
        status = await self.uc.tesla_status(caller.sub)
        resp = telemetry_pb2.GetTeslaStatusResponse(connected=status.connected)
        v = status.vehicle
        if v is not None:
            for name, value in (("vehicle_name", v.display_name), ("vehicle_model", v.model),
                                ("vehicle_year", v.year), ("exterior_color", v.color),
                                ("battery_level", v.battery_level), ("vin", vin_for_display(v.vin))):
                if value is not None:
                    setattr(resp, name, value)
        return resp
