"""The wallet's start-up guard (§3): production refuses mock payouts unless allowed; live payouts
need a key, and in production a live key, webhook secrets and no API override."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.wallet.config import WalletConfig

SECRET = "x" * 40


def cfg(**env):
    return WalletConfig(**{"NERAVA_JWT_SECRET": SECRET, **env})


def test_defaults_are_mock_mode_with_the_spec_numbers():
    c = cfg()
    assert not c.live and c.withdrawal_min_cents == 2000 and c.withdrawal_max_per_day == 3
    assert c.withdrawal_max_per_week_cents == 100_000 and c.admin_credit_max_cents == 50_000


def test_production_refuses_mock_unless_explicitly_allowed():
    with pytest.raises(ValidationError, match="ENABLE_STRIPE_PAYOUTS"):
        cfg(ENV="production")
    assert not cfg(ENV="production", ALLOW_MOCK_PAYOUTS_IN_PRODUCTION="true").live


def test_live_needs_a_key_anywhere():
    with pytest.raises(ValidationError, match="STRIPE_SECRET_KEY"):
        cfg(ENABLE_STRIPE_PAYOUTS="true")
    assert cfg(ENABLE_STRIPE_PAYOUTS="true", STRIPE_SECRET_KEY="sk_test_1").live


@pytest.mark.parametrize("env,match", [
    ({"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec"}, "sk_live_"),
    ({"STRIPE_SECRET_KEY": "sk_live_1"}, "WEBHOOK_SECRET"),
    ({"STRIPE_SECRET_KEY": "sk_live_1", "STRIPE_WEBHOOK_SECRET": "whsec", "STRIPE_API_BASE": "http://x"}, "STRIPE_API_BASE"),
    ({"STRIPE_SECRET_KEY": "sk_live_1", "STRIPE_WEBHOOK_SECRET": "whsec", "STRIPE_WEBHOOK_ALLOW_UNSIGNED": "true"},
     "UNSIGNED"),
])
def test_production_live_guard(env, match):
    with pytest.raises(ValidationError, match=match):
        cfg(ENV="production", ENABLE_STRIPE_PAYOUTS="true", **env)


def test_production_live_ok_and_test_key_override():
    assert cfg(ENV="production", ENABLE_STRIPE_PAYOUTS="true", STRIPE_SECRET_KEY="sk_live_1",
               STRIPE_PAYOUT_WEBHOOK_SECRET="whsec").live
    assert cfg(ENV="production", ENABLE_STRIPE_PAYOUTS="true", STRIPE_SECRET_KEY="sk_test_1",
               STRIPE_WEBHOOK_SECRET="whsec", STRIPE_ALLOW_TEST_KEY_IN_PRODUCTION="true").live
