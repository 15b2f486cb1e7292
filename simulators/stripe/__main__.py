"""``python -m simulators.stripe``: the fake Stripe server (port 8780, ``FAKE_STRIPE_PORT``).

The real ``stripe`` SDK reaches it through ``STRIPE_API_BASE`` (see ``simulators/stripe/app.py``)."""
from __future__ import annotations

from simulators.base import serve
from simulators.stripe.app import build_app

app = build_app()

if __name__ == "__main__":
    serve(app, "FAKE_STRIPE_PORT", 8780)
