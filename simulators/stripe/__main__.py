"""``python -m simulators.stripe``: the stripe stand-in (port 8780, ``FAKE_STRIPE_PORT``).

Only the process and its health endpoint exist so far; the full stand-in
is built with its context's issue."""
from __future__ import annotations

from starlette.applications import Starlette

from simulators.base import health_route, serve
from simulators.stripe import checkout

app = Starlette(routes=[health_route("stripe"), *checkout.ROUTES])

if __name__ == "__main__":
    serve(app, "FAKE_STRIPE_PORT", 8780)
