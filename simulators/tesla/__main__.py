"""``python -m simulators.tesla``: the tesla stand-in (port 8765, ``TESLA_SIM_PORT``).

Only the process and its health endpoint exist so far; the full stand-in
is built with its context's issue."""
from __future__ import annotations

from starlette.applications import Starlette

from simulators.base import health_route, serve

app = Starlette(routes=[health_route("tesla")])

if __name__ == "__main__":
    serve(app, "TESLA_SIM_PORT", 8765)
