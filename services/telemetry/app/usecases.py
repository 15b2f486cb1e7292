"""Telemetry use cases."""
from __future__ import annotations

from kit.db import Database
from services.telemetry.adapters.repository import ConnectionRepository
from services.telemetry.domain.connection import TeslaStatus


class TelemetryUseCases:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.connections = ConnectionRepository()

    async def tesla_status(self, driver_id: str) -> TeslaStatus:
        """T1 from stored state (the live battery read joins with the Fleet API client)."""
        async with self.db.read() as conn:
            return await self.connections.status(conn, driver_id)
