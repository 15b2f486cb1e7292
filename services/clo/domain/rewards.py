"""The reward state machine (clo.md §2) and the clawback arithmetic (§3.8). Pure rules."""
from __future__ import annotations

import dataclasses

NEW, PENDING, QUALIFIED, AVAILABLE = "new", "pending", "qualified", "available"
REJECTED, FAILED, REVERSED = "rejected", "failed", "reversed"
PARTIALLY_CLAWED_BACK, CLAWED_BACK = "partially_clawed_back", "clawed_back"

STATES = (NEW, PENDING, QUALIFIED, AVAILABLE, REJECTED, FAILED, REVERSED, PARTIALLY_CLAWED_BACK,
          CLAWED_BACK)
# States whose reward is live for the per-card limit.
LIVE = (PENDING, QUALIFIED, AVAILABLE, PARTIALLY_CLAWED_BACK)
# A clearing may (re-)evaluate from these states.
CLEARABLE = (NEW, PENDING, FAILED, REJECTED)
# Money has moved (a credit was emitted).
CREDITED = (AVAILABLE, PARTIALLY_CLAWED_BACK, CLAWED_BACK)
# Budget is reserved in these states.
RESERVING = (PENDING, QUALIFIED, AVAILABLE, PARTIALLY_CLAWED_BACK, CLAWED_BACK)


class IllegalTransition(Exception):
    pass


# (from, trigger) → allowed targets
_TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    (NEW, "auth"): (PENDING, REJECTED),
    (NEW, "clearing"): (QUALIFIED, AVAILABLE, REJECTED),
    (PENDING, "clearing"): (QUALIFIED, AVAILABLE, REJECTED),
    (FAILED, "clearing"): (QUALIFIED, AVAILABLE),
    (REJECTED, "clearing"): (QUALIFIED, AVAILABLE),
    (PENDING, "expire"): (FAILED,),
    (QUALIFIED, "expire"): (FAILED,),
    (QUALIFIED, "release"): (AVAILABLE,),
    (PENDING, "session_failed"): (REJECTED,),
    (QUALIFIED, "session_failed"): (REJECTED,),
    (PENDING, "full_refund"): (REVERSED,),
    (QUALIFIED, "full_refund"): (REVERSED,),
    (FAILED, "full_refund"): (REVERSED,),
    (REJECTED, "full_refund"): (REVERSED,),
    (AVAILABLE, "partial_refund"): (PARTIALLY_CLAWED_BACK,),
    (PARTIALLY_CLAWED_BACK, "partial_refund"): (PARTIALLY_CLAWED_BACK,),
    (AVAILABLE, "full_refund"): (CLAWED_BACK,),
    (PARTIALLY_CLAWED_BACK, "full_refund"): (CLAWED_BACK,),
}


def transition(state: str, trigger: str, target: str) -> str:
    if target not in _TRANSITIONS.get((state, trigger), ()):
        raise IllegalTransition(f"{state} --{trigger}--> {target}")
    return target


def rest_status(state: str, session_check: str) -> str:
    if state in (REJECTED, FAILED):
        return "rejected"
    if state in (PENDING, QUALIFIED):
        return "pending" if session_check == "deferred" else "eligible"
    if state in (AVAILABLE, PARTIALLY_CLAWED_BACK):
        return "credited"
    if state in (REVERSED, CLAWED_BACK):
        return "refunded"
    return "pending"


@dataclasses.dataclass(frozen=True)
class Clawback:
    amount_cents: int          # to claw back now (≥ 0)
    total_clawed_cents: int    # clawed back so far, after this refund
    full: bool                 # the refunds reach the credited base


def clawback(*, credited_cents: int, base_cents: int, refunded_after_cents: int,
             clawed_back_cents: int) -> Clawback:
    """Each refund claws back floor(credited × refunded / base) − clawed_back, never < 0, where
    ``refunded`` is what was refunded after the credit, capped at ``base`` (the net amount the
    credit was computed on). A full refund recovers exactly ``credited``."""
    if base_cents <= 0:
        return Clawback(0, clawed_back_cents, True)
    refunded = min(max(refunded_after_cents, 0), base_cents)
    target = credited_cents * refunded // base_cents
    amount = max(0, target - clawed_back_cents)
    total = min(credited_cents, clawed_back_cents + amount)
    return Clawback(total - clawed_back_cents, total, refunded >= base_cents)


def reduced_reward(reward_cents: int, base_cents: int, refunded_cents: int) -> int:
    """While qualified, a partial refund reduces the reward: floor(reward × (base − refunded) / base)."""
    if base_cents <= 0:
        return 0
    remaining = max(0, base_cents - min(refunded_cents, base_cents))
    return reward_cents * remaining // base_cents
