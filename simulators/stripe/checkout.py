"""Checkout Session endpoints of the fake Stripe server (owned by the incentives context).

Placeholder: the incentives engineer adds the Checkout routes here. ``ROUTES`` is a list of
Starlette routes that ``simulators.stripe.app.build_app`` mounts."""
from __future__ import annotations

ROUTES: list = []
