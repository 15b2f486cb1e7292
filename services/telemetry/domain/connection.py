"""Tesla connection rules as plain Python."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class VehicleSummary:
    display_name: str | None
    model: str | None
    year: int | None
    color: str | None
    vin: str | None
    battery_level: int | None = None


@dataclasses.dataclass(frozen=True)
class TeslaStatus:
    connected: bool
    vehicle: VehicleSummary | None = None


def vin_for_display(vin: str | None) -> str | None:
    """T1 shows only the last four characters of a VIN (never the full VIN)."""
    return vin[-4:] if vin else None
