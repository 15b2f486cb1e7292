"""Telemetry persistence."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.telemetry.adapters.tables import tesla_connections as tc
from services.telemetry.adapters.tables import vehicles as v
from services.telemetry.domain.connection import TeslaStatus, VehicleSummary

_STATUS = (
    sa.select(tc.c.id, v.c.display_name, v.c.model, v.c.year, v.c.color, v.c.vin, v.c.last_battery_level)
    .select_from(tc.outerjoin(v, sa.and_(v.c.connection_id == tc.c.id, v.c.selected)))
)


class ConnectionRepository:
    async def status(self, conn: AsyncConnection, driver_id: str) -> TeslaStatus:
        row = (await conn.execute(_STATUS.where(tc.c.driver_id == driver_id, tc.c.status == "active"))).first()
        if row is None:
            return TeslaStatus(connected=False)
        vehicle = None
        if row.vin is not None or row.display_name is not None:
            vehicle = VehicleSummary(row.display_name, row.model, row.year, row.color, row.vin,
                                     row.last_battery_level)
        return TeslaStatus(connected=True, vehicle=vehicle)
