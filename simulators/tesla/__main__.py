"""``python -m simulators.tesla``: the Tesla Fleet API stand-in (port 8765, ``TESLA_SIM_PORT``).

OAuth (authorize with PKCE, rotating refresh tokens, RS256 id_token + JWKS), regional Fleet API
(vehicles, vehicle_data, wake_up, fleet_telemetry_config), the error behaviour (401/403/404/405/408/
421/429), a vehicle model on a virtual clock and the ``/_sim`` control API (telemetry spec §7).
Seeds the demo account and VIN unless ``TESLA_SIM_SEED=none``."""
from __future__ import annotations

from simulators.base import serve
from simulators.tesla.app import build_app

app = build_app()

if __name__ == "__main__":
    serve(app, "TESLA_SIM_PORT", 8765)
