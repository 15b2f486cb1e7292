"""Stripe errors decide the payout transition: not executed, permanent, or unknown (never a refund)."""
from __future__ import annotations

import stripe

from services.wallet.adapters import stripe_gateway as sg
from services.wallet.app.webhooks import shape


def err(cls, status, code=None):
    if cls is stripe.InvalidRequestError:
        return cls("m", None, http_status=status, code=code)
    return cls("m", http_status=status, code=code)


def test_classification():
    assert isinstance(sg.classify(stripe.APIConnectionError("timeout")), sg.Unknown)
    assert isinstance(sg.classify(err(stripe.APIError, 500)), sg.Unknown)
    assert isinstance(sg.classify(err(stripe.IdempotencyError, 400)), sg.Unknown)
    assert isinstance(sg.classify(err(stripe.InvalidRequestError, 409, "idempotency_key_in_use")), sg.Unknown)
    assert isinstance(sg.classify(err(stripe.RateLimitError, 429)), sg.NotExecuted)
    assert isinstance(sg.classify(err(stripe.AuthenticationError, 401)), sg.NotExecuted)
    assert isinstance(sg.classify(err(stripe.InvalidRequestError, 400, "balance_insufficient")), sg.NotExecuted)
    for code in ("account_invalid", "transfers_not_allowed", "amount_too_small"):
        p = sg.classify(err(stripe.InvalidRequestError, 400, code))
        assert isinstance(p, sg.Permanent) and p.code == code and "sk_" not in p.safe
    assert isinstance(sg.classify(RuntimeError("boom")), sg.Unknown)


def test_account_state_and_readiness_inputs():
    a = sg.account_state({"id": "acct_1", "payouts_enabled": True, "charges_enabled": False,
                          "details_submitted": True, "capabilities": {"transfers": "active"},
                          "requirements": {"disabled_reason": None, "past_due": ["x"]}})
    assert (a.transfers_capability, a.past_due_count, a.disabled_reason) == ("active", 1, None)


def test_reply_shapes_per_endpoint():
    res = {"status": "success", "payout_id": "p", "action": "marked_paid"}
    assert shape("wallet/stripe/webhook", "payout.paid", res) == res
    assert shape("stripe/webhooks", "payout.paid", res) == {"received": True, "event_type": "payout.paid",
                                                            "handled": True, "payout_id": "p", "action": "marked_paid"}
    ign = shape("stripe/webhook", "customer.created", {"status": "ignored", "event_type": "customer.created"})
    assert ign["ok"] is True and ign["message"] == "Event type acknowledged: customer.created"
    assert shape("wallet/stripe/webhook", "x.y", {"status": "ignored"}) == {"status": "ignored", "event_type": "x.y"}
