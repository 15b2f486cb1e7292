"""``python -m simulators.fidel``: the Fidel simulator (port 8790, ``FIDEL_SIM_PORT``).

See ``simulators/fidel/app.py`` and docs/services/clo.md for the API and the control knobs."""
from __future__ import annotations

from simulators.base import serve
from simulators.fidel.app import build_app

app = build_app()

if __name__ == "__main__":
    serve(app, "FIDEL_SIM_PORT", 8790)
