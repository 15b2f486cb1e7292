"""Wallet rules without I/O: fees, limits, check order, ledger plans, the payout state machine."""
from __future__ import annotations

import datetime as dt

import pytest

from kit import errors
from services.wallet.domain import wallet as rules
from services.wallet.domain.wallet import LimitUsage, Wallet, WithdrawalPolicy

P = WithdrawalPolicy()
READY = Wallet("d", balance_cents=50_000, stripe_account_id="acct_1", stripe_account_mode="test", payout_ready=True)


@pytest.mark.parametrize("amount,fee", [(1, 25), (100, 25), (1999, 29), (2000, 0), (10_000_000, 0), (400, 26)])
def test_fee_is_fixed_plus_bps_below_the_threshold(amount, fee):
    assert P.fee(amount) == fee


def test_dollars_formatting():
    assert rules.dollars(2000) == "$20.00" and rules.dollars(5) == "$0.05" and rules.dollars(100_000) == "$1000.00"


@pytest.mark.parametrize("amount", [0, -1, 10_000_001])
def test_amount_range(amount):
    with pytest.raises(errors.InvalidArgument, match="amount_cents must be between 1 and 10000000"):
        rules.check_withdrawal(READY, amount, P, LimitUsage(0, 0), live=True)


def check(wallet, amount, usage=LimitUsage(0, 0), live=True, policy=P):
    with pytest.raises(errors.FailedPrecondition) as exc:
        rules.check_withdrawal(wallet, amount, policy, usage, live=live)
    return exc.value.message


def test_check_order_and_texts():
    assert check(None, 2500) == "No wallet found"
    assert check(READY, 1999) == "Minimum withdrawal is $20.00"
    assert check(Wallet("d", balance_cents=2400, stripe_account_id="a", payout_ready=True), 2500) == "Insufficient balance"
    low = WithdrawalPolicy(min_cents=100)
    poor = Wallet("d", balance_cents=500, stripe_account_id="a", stripe_account_mode="test", payout_ready=True)
    assert check(poor, 500, policy=low) == "Insufficient balance to cover $0.26 processing fee"
    assert check(Wallet("d", balance_cents=5000), 2500) == "Payout account not set up"
    mock_acct = Wallet("d", balance_cents=5000, stripe_account_id="acct_mock_1", stripe_account_mode="mock")
    assert check(mock_acct, 2500, live=True) == "Payout account not set up"
    assert rules.check_withdrawal(mock_acct, 2500, P, LimitUsage(0, 0), live=False) == 0
    not_ready = Wallet("d", balance_cents=5000, stripe_account_id="acct_1", stripe_account_mode="test")
    assert check(not_ready, 2500) == "Payout account onboarding not complete"
    assert check(READY, 2500, LimitUsage(3, 0)) == "Maximum 3 withdrawals per day"
    assert check(READY, 2500, LimitUsage(2, 97_501)) == "Weekly withdrawal limit of $1000.00 exceeded"
    assert rules.check_withdrawal(READY, 2500, P, LimitUsage(2, 97_500), live=True) == 0  # equal allowed


def test_can_withdraw_counts_fee_account_and_limits():
    assert rules.can_withdraw(READY, P, LimitUsage(0, 0), live=True)
    assert not rules.can_withdraw(READY, P, LimitUsage(3, 0), live=True)
    assert not rules.can_withdraw(READY, P, LimitUsage(0, 98_001), live=True)
    assert not rules.can_withdraw(Wallet("d", balance_cents=1999, stripe_account_id="a", payout_ready=True), P, live=True)
    assert not rules.can_withdraw(Wallet("d", balance_cents=50_000), P, live=False)
    low = WithdrawalPolicy(min_cents=100)
    w = Wallet("d", balance_cents=100, stripe_account_id="acct_mock_x", stripe_account_mode="mock")
    assert not rules.can_withdraw(w, low, live=False)  # 100 + fee(100) = 125 > 100


def test_payout_ready_needs_every_condition():
    ok = dict(payouts_enabled=True, transfers_capability="active", disabled_reason=None, past_due_count=0)
    assert rules.payout_ready(**ok)
    for change in ({"payouts_enabled": False}, {"transfers_capability": "pending"},
                   {"disabled_reason": "requirements.past_due"}, {"past_due_count": 1}):
        assert not rules.payout_ready(**{**ok, **change})


def test_limit_windows_are_utc_day_and_rolling_week():
    now = dt.datetime(2026, 11, 22, 0, 30, tzinfo=dt.timezone.utc)
    assert rules.utc_day_start(now) == dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
    assert rules.week_start(now) == now - dt.timedelta(days=7)


def _sum(plan):
    return sum(p.amount_cents for p in plan.postings)


def test_credit_repays_debt_first_and_balances():
    plan = rules.plan_credit(Wallet("d", debt_cents=300), 1000, "platform_incentives")
    assert _sum(plan) == 0 and plan.debt_repaid_cents == 300
    assert plan.delta("available") == 700 and plan.delta("debt") == 300
    types = [p.transaction_type for p in plan.postings if p.account == "available"]
    assert types == ["credit", "debt_repayment"]
    small = rules.plan_credit(Wallet("d", debt_cents=5000), 1000, "platform_clo")
    assert small.delta("available") == 0 and small.debt_repaid_cents == 1000


def test_clawback_beyond_balance_becomes_debt():
    plan = rules.plan_clawback(Wallet("d", balance_cents=400), 1000, "platform_incentives")
    assert _sum(plan) == 0 and plan.delta("available") == -400 and plan.delta("debt") == -600
    assert plan.debt_added_cents == 600
    assert rules.plan_clawback(Wallet("d", balance_cents=400), 0, "x").postings == ()


def test_hold_paid_refund_plans_balance():
    hold = rules.plan_hold(1500, 28)
    assert _sum(hold) == 0 and hold.delta("available") == -1528 and hold.delta("pending") == 1500
    assert [p.transaction_type for p in hold.postings if p.account == "available"] == ["withdrawal", "fee"]
    assert _sum(rules.plan_paid(1500)) == 0
    refund = rules.plan_refund(Wallet("d"), 1500, 28)
    assert _sum(refund) == 0 and refund.delta("available") == 1528 and refund.delta("pending") == -1500
    after_paid = rules.plan_refund(Wallet("d", debt_cents=100), 1500, 0, from_account="platform_payouts_out")
    assert after_paid.delta("pending") == 0 and after_paid.delta("available") == 1400 and _sum(after_paid) == 0


ALL_EVENTS = list(rules.TRANSITIONS)


@pytest.mark.parametrize("state", rules.STATES)
@pytest.mark.parametrize("event", ALL_EVENTS)
def test_every_transition_and_every_forbidden_one(state, event):
    expected = {
        ("pending", "claim"): "processing", ("pending", "mock_paid"): "paid",
        ("processing", "not_executed"): "pending", ("processing", "no_answer"): "unknown",
        ("pending", "transfer_created"): "transferred", ("processing", "transfer_created"): "transferred",
        ("unknown", "transfer_created"): "transferred",
        ("pending", "bank_paid"): "paid", ("processing", "bank_paid"): "paid", ("unknown", "bank_paid"): "paid",
        ("transferred", "bank_paid"): "paid",
        ("processing", "bank_failed"): "reversing", ("unknown", "bank_failed"): "reversing",
        ("transferred", "bank_failed"): "reversing", ("paid", "bank_failed"): "reversing",
        ("processing", "permanent_error"): "failed", ("unknown", "no_transfer_confirmed"): "failed",
        ("reversing", "reversal_succeeded"): "failed", ("transferred", "fully_reversed"): "failed",
        ("pending", "expired"): "failed",
    }.get((state, event))
    assert rules.next_state(state, event) == expected


def test_terminal_and_never_paid_again():
    assert all(rules.next_state("failed", e) is None for e in ALL_EVENTS)
    assert rules.next_state("reversing", "bank_paid") is None


def test_rest_status_projection():
    assert {s: rules.REST_STATUS[s] for s in rules.STATES} == {
        "pending": "pending", "processing": "processing", "unknown": "processing", "transferred": "processing",
        "paid": "paid", "reversing": "processing", "failed": "failed"}


def test_failure_reason_is_sanitised_and_truncated():
    assert rules.sanitise_reason("key sk_test_abc123 bad\nline") == "key [redacted] bad line"
    assert len(rules.sanitise_reason("x" * 900)) == 500
