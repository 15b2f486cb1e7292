"""Wallet rules as plain Python (no gRPC, no SQL): money math, limits, ledger plans, readiness."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re

from kit import errors

AMOUNT_MAX_CENTS = 10_000_000
DRIVER_ID_MAX = 64
REFERENCE_TYPE_RE = re.compile(r"^[a-z_]{1,30}$")

# Source account of a credit / clawback by reference type (wallet §5.1).
CREDIT_SOURCES = {"campaign_grant": "platform_incentives", "clo_reward": "platform_clo"}
CLAWBACK_SOURCES = {"campaign_grant": "platform_incentives", "clo_refund": "platform_clo",
                    "clo_reward": "platform_clo"}

AVAILABLE, PENDING, DEBT = "available", "pending", "debt"
DRIVER_ACCOUNTS = (AVAILABLE, PENDING, DEBT)


@dataclasses.dataclass(frozen=True)
class Wallet:
    driver_id: str
    balance_cents: int = 0
    pending_balance_cents: int = 0
    total_earned_cents: int = 0
    total_withdrawn_cents: int = 0
    debt_cents: int = 0
    payout_ready: bool = False
    posting_seq: int = 0
    stripe_account_id: str | None = None
    stripe_account_mode: str | None = None
    payouts_enabled: bool = False
    charges_enabled: bool = False
    details_submitted: bool = False
    account_synced_at: dt.datetime | None = None

    def has_account(self, live: bool) -> bool:
        """Mock mode: any account. Live mode: a non-mock account (mock accounts count as none)."""
        if self.stripe_account_id is None:
            return False
        return self.stripe_account_mode != "mock" if live else True

    def onboarding_complete(self, live: bool) -> bool:
        if not self.has_account(live):
            return False
        return True if not live and self.stripe_account_mode == "mock" else self.payout_ready


@dataclasses.dataclass(frozen=True)
class WithdrawalPolicy:
    min_cents: int = 2000
    fee_threshold_cents: int = 2000
    fee_fixed_cents: int = 25
    fee_bps: int = 25
    max_per_day: int = 3
    max_per_week_cents: int = 100_000

    def fee(self, amount_cents: int) -> int:
        if amount_cents >= self.fee_threshold_cents:
            return 0
        return self.fee_fixed_cents + (amount_cents * self.fee_bps) // 10_000

    @property
    def min_message(self) -> str:
        return f"Minimum withdrawal is {dollars(self.min_cents)}"


def dollars(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


def check_amount(amount_cents: int, *, name: str = "amount_cents", maximum: int = AMOUNT_MAX_CENTS) -> None:
    if not isinstance(amount_cents, int) or amount_cents < 1 or amount_cents > maximum:
        raise errors.InvalidArgument(f"{name} must be between 1 and {maximum}")


@dataclasses.dataclass(frozen=True)
class LimitUsage:
    """What the driver already used: payouts created today (UTC) and Σ amount in the last 7 days,
    both counting every state but `failed`."""
    today_count: int
    week_amount_cents: int


def utc_day_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def week_start(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=7)


def check_withdrawal(wallet: Wallet | None, amount_cents: int, policy: WithdrawalPolicy,
                     usage: LimitUsage, *, live: bool) -> int:
    """The §3 checks in their order; returns the fee. Raises FailedPrecondition with the rule's text."""
    check_amount(amount_cents)
    if wallet is None:
        raise errors.FailedPrecondition("No wallet found")
    if amount_cents < policy.min_cents:
        raise errors.FailedPrecondition(policy.min_message)
    fee = policy.fee(amount_cents)
    if wallet.balance_cents < amount_cents:
        raise errors.FailedPrecondition("Insufficient balance")
    if wallet.balance_cents < amount_cents + fee:
        raise errors.FailedPrecondition(f"Insufficient balance to cover {dollars(fee)} processing fee")
    if not wallet.has_account(live):
        raise errors.FailedPrecondition("Payout account not set up")
    if live and not wallet.payout_ready:
        raise errors.FailedPrecondition("Payout account onboarding not complete")
    if usage.today_count >= policy.max_per_day:
        raise errors.FailedPrecondition(f"Maximum {policy.max_per_day} withdrawals per day")
    if usage.week_amount_cents + amount_cents > policy.max_per_week_cents:
        raise errors.FailedPrecondition(
            f"Weekly withdrawal limit of {dollars(policy.max_per_week_cents)} exceeded")
    return fee


def can_withdraw(wallet: Wallet, policy: WithdrawalPolicy, usage: LimitUsage | None = None,
                 *, live: bool = False) -> bool:
    """W1: account ok ∧ balance ≥ min + fee(min) ∧ today < max ∧ week remaining ≥ min."""
    usage = usage or LimitUsage(0, 0)
    return (wallet.onboarding_complete(live)
            and wallet.balance_cents >= policy.min_cents + policy.fee(policy.min_cents)
            and usage.today_count < policy.max_per_day
            and policy.max_per_week_cents - usage.week_amount_cents >= policy.min_cents)


def payout_ready(*, payouts_enabled: bool, transfers_capability: str | None,
                 disabled_reason: str | None, past_due_count: int) -> bool:
    return (payouts_enabled and transfers_capability == "active" and not disabled_reason
            and past_due_count == 0)


def request_hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# Ledger plans: what a business event posts. Pure; the repository writes them under the wallet lock.
# --------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Posting:
    account: str              # driver account (available/pending/debt) or a platform account
    amount_cents: int         # signed
    transaction_type: str | None = None   # W2 row type for `available` postings

    @property
    def is_driver(self) -> bool:
        return self.account in DRIVER_ACCOUNTS


@dataclasses.dataclass(frozen=True)
class Plan:
    postings: tuple[Posting, ...]
    debt_repaid_cents: int = 0
    debt_added_cents: int = 0
    applied_cents: int = 0

    def delta(self, account: str) -> int:
        return sum(p.amount_cents for p in self.postings if p.account == account)


def _into_available(amount: int, debt: int, tx_type: str) -> tuple[list[Posting], int]:
    """Every credit to `available` repays debt first (§2.1)."""
    out = [Posting(AVAILABLE, amount, tx_type)]
    repaid = min(amount, debt)
    if repaid:
        out += [Posting(AVAILABLE, -repaid, "debt_repayment"), Posting(DEBT, repaid)]
    return out, repaid


def plan_credit(wallet: Wallet, amount: int, source: str) -> Plan:
    into, repaid = _into_available(amount, wallet.debt_cents, "credit")
    return Plan((Posting(source, -amount), *into), debt_repaid_cents=repaid, applied_cents=amount)


def plan_clawback(wallet: Wallet, amount: int, source: str) -> Plan:
    take = min(amount, wallet.balance_cents)
    rest = amount - take
    postings = []
    if take:
        postings.append(Posting(AVAILABLE, -take, "debit"))
    if rest:
        postings.append(Posting(DEBT, -rest))
    if amount:
        postings.append(Posting(source, amount))
    return Plan(tuple(postings), debt_added_cents=rest, applied_cents=amount)


def plan_hold(amount: int, fee: int) -> Plan:
    postings = [Posting(AVAILABLE, -amount, "withdrawal")]
    if fee:
        postings.append(Posting(AVAILABLE, -fee, "fee"))
    postings.append(Posting(PENDING, amount))
    if fee:
        postings.append(Posting("platform_fees", fee))
    return Plan(tuple(postings))


def plan_paid(amount: int) -> Plan:
    return Plan((Posting(PENDING, -amount), Posting("platform_payouts_out", amount)))


def plan_refund(wallet: Wallet, amount: int, fee: int, *, from_account: str = PENDING) -> Plan:
    """Funds return to the driver (held amount + its fee); repays debt first."""
    into, repaid = _into_available(amount + fee, wallet.debt_cents, "reversal")
    postings = [Posting(from_account, -amount)]
    if fee:
        postings.append(Posting("platform_fees", -fee))
    return Plan((*postings, *into), debt_repaid_cents=repaid, applied_cents=amount + fee)


def check_balanced(plan: Plan) -> None:
    if sum(p.amount_cents for p in plan.postings) != 0:
        raise AssertionError(f"unbalanced journal: {plan.postings}")


# --------------------------------------------------------------------------------------------------
# Payout state machine (§2.2)
# --------------------------------------------------------------------------------------------------

STATES = ("pending", "processing", "unknown", "transferred", "paid", "reversing", "failed")
REST_STATUS = {"pending": "pending", "processing": "processing", "unknown": "processing",
               "transferred": "processing", "reversing": "processing", "paid": "paid",
               "failed": "failed"}

# event → the states it may move a payout out of, and the target
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "claim": (frozenset({"pending"}), "processing"),
    "mock_paid": (frozenset({"pending"}), "paid"),
    "not_executed": (frozenset({"processing"}), "pending"),
    "no_answer": (frozenset({"processing"}), "unknown"),
    "transfer_created": (frozenset({"pending", "processing", "unknown"}), "transferred"),
    "bank_paid": (frozenset({"pending", "processing", "unknown", "transferred"}), "paid"),
    "bank_failed": (frozenset({"processing", "unknown", "transferred", "paid"}), "reversing"),
    "permanent_error": (frozenset({"processing"}), "failed"),
    "no_transfer_confirmed": (frozenset({"unknown"}), "failed"),
    "reversal_succeeded": (frozenset({"reversing"}), "failed"),
    "fully_reversed": (frozenset({"transferred"}), "failed"),
    "expired": (frozenset({"pending"}), "failed"),
}


def next_state(current: str, event: str) -> str | None:
    """The target state, or None when the event does not apply in `current` (a recorded no-op)."""
    allowed, target = TRANSITIONS[event]
    return target if current in allowed else None


def allowed_from(event: str) -> frozenset[str]:
    return TRANSITIONS[event][0]


def sanitise_reason(text: str | None, limit: int = 500) -> str | None:
    if text is None:
        return None
    cleaned = re.sub(r"(sk|rk|pk)_(live|test)_[A-Za-z0-9]+", "[redacted]", str(text))
    cleaned = re.sub(r"[\x00-\x1f\x7f]", " ", cleaned).strip()
    return cleaned[:limit] or None
