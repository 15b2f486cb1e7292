"""Live payouts (ENABLE_STRIPE_PAYOUTS=true): claim under the breaker, Stripe call with no DB lock
held, outcome in its own transaction; the read-first resolver; the hourly job; reconciliation.

Every state change is ``UPDATE … WHERE state IN (allowed)`` after locking the wallet row, in the same
transaction as its journal and outbox rows; a change the state does not allow is a recorded no-op."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import errors
from services.wallet import metrics
from services.wallet.adapters import stripe_gateway as sg
from services.wallet.adapters.repository import new_id
from services.wallet.adapters.tables import (
    journals, payouts, postings, reconciliation_runs, wallets,
)
from services.wallet.app.usecases import WalletUseCases
from services.wallet.domain import wallet as rules

log = logging.getLogger("wallet.payouts")

HELD_STATES = ("pending", "processing", "unknown", "transferred", "reversing")


@dataclasses.dataclass
class JobSummary:
    stuck_marked_unknown: int = 0
    unknown_resolved: int = 0
    pending_sent: int = 0
    pending_deferred: int = 0
    bank_payouts_created: int = 0
    bank_payouts_refreshed: int = 0
    reversals_retried: int = 0
    expired: int = 0
    needs_attention: int = 0


class PayoutEngine:
    def __init__(self, uc: WalletUseCases, provider: sg.PayoutProvider) -> None:
        self.uc, self.provider = uc, provider
        self.db, self.repo, self.clock, self.config = uc.db, uc.repo, uc.clock, uc.config

    # ---- breaker -------------------------------------------------------------------------------
    async def _admit(self, conn: AsyncConnection, amount: int, now: dt.datetime) -> bool:
        b = await self.repo.breaker(conn, lock=True)
        cfg = self.config
        if b.state == "open":
            if b.reason == "failures" and b.open_until is not None and b.open_until <= now:
                await self.repo.set_breaker(conn, now, state="half_open", changed_by="system")
            else:
                return False
        count, total, _ = await self.repo.attempt_window(
            conn, now - dt.timedelta(seconds=cfg.payout_breaker_window_seconds), now - dt.timedelta(seconds=300))
        reason = None
        if count + 1 > cfg.payout_breaker_max_count:
            reason = "volume_count"
        elif total + amount > cfg.payout_breaker_max_amount_cents:
            reason = "volume_amount"
        if reason:
            await self.repo.set_breaker(conn, now, state="open", reason=reason, open_until=None, changed_by="system")
            await self.uc.event(conn, "PayoutBreakerChanged", f"breaker:{new_id()}", {"state": "open", "reason": reason})
            return False
        return True

    async def _after_outcome(self, conn: AsyncConnection, ok: bool, now: dt.datetime) -> None:
        b = await self.repo.breaker(conn, lock=True)
        if ok:
            if b.state == "half_open":
                await self.repo.set_breaker(conn, now, state="closed", reason="recovered", open_until=None,
                                            changed_by="system")
            return
        if b.state == "half_open":
            trip = True
        else:
            _, _, failures = await self.repo.attempt_window(conn, now, now - dt.timedelta(seconds=300))
            trip = b.state == "closed" and failures >= self.config.payout_breaker_failures
        if trip:
            await self.repo.set_breaker(conn, now, state="open", reason="failures",
                                        open_until=now + dt.timedelta(seconds=600), changed_by="system")
            await self.uc.event(conn, "PayoutBreakerChanged", f"breaker:{new_id()}", {"state": "open", "reason": "failures"})

    # ---- one payout ----------------------------------------------------------------------------
    async def execute(self, payout_id: str) -> str | None:
        """Claim (breaker) → Transfer.create → outcome → bank payout. Returns a note for the driver."""
        now = self.clock.now()

        async def claim(conn: AsyncConnection):
            row = await self.repo.payout(conn, payout_id)
            if row is None or row.state != "pending" or row.mock:
                return None
            if not await self._admit(conn, row.amount_cents, now):
                return "paused"
            if not await self.repo.transition(conn, payout_id, rules.allowed_from("claim"), "processing", now,
                                              attempt_started_at=now):
                return None
            await self.repo.add_attempt(conn, payout_id=payout_id, attempt=row.attempt,
                                        stripe_idempotency_key=f"nerava-payout-{payout_id}-transfer-{row.attempt}",
                                        amount_cents=row.amount_cents, started_at=now)
            return row

        row = await self.uc.tx(claim)
        if row == "paused":
            return "Payouts are temporarily paused; your withdrawal is queued"
        if row is None:
            return None
        return await self._send(row)

    async def _send(self, row) -> str | None:
        try:
            tr = await self.provider.create_transfer(payout_id=row.id, driver_id=row.driver_id, attempt=row.attempt,
                                                     amount=row.amount_cents, destination=row.destination_account)
        except sg.NotExecuted as exc:
            await self._not_executed(row, exc)
            return "Your withdrawal is queued and will be retried"
        except sg.Permanent as exc:
            await self._fail(row, "permanent_error", exc.code, exc.safe, attempt_outcome="permanent")
            return None
        except sg.Unknown as exc:
            await self._unknown(row, exc.code)
            return None
        await self._transferred(row.id, tr["id"], attempt=row.attempt)
        await self.bank_payout(row.id)
        return None

    async def _not_executed(self, row, exc: sg.StripeProblem) -> None:
        now = self.clock.now()

        async def work(conn: AsyncConnection) -> None:
            await self.repo.finish_attempt(conn, row.id, row.attempt, "retryable", exc.code, now)
            await self.repo.transition(conn, row.id, rules.allowed_from("not_executed"), "pending", now,
                                       attempt=row.attempt + 1)

        await self.uc.tx(work)

    async def _unknown(self, row, code: str) -> None:
        now = self.clock.now()

        async def work(conn: AsyncConnection) -> None:
            await self.repo.finish_attempt(conn, row.id, row.attempt, "unknown", code, now)
            await self.repo.transition(conn, row.id, rules.allowed_from("no_answer"), "unknown", now)
            await self._after_outcome(conn, False, now)

        await self.uc.tx(work)

    async def _transferred(self, payout_id: str, transfer_id: str, *, attempt: int | None = None,
                           reconciled: bool = False, conn: AsyncConnection | None = None) -> bool:
        now = self.clock.now()

        async def work(c: AsyncConnection) -> bool:
            extra = {"reconciled_at": now} if reconciled else {}
            ok = await self.repo.transition(c, payout_id, rules.allowed_from("transfer_created"), "transferred", now,
                                            stripe_transfer_id=transfer_id, **extra)
            if attempt is not None:
                await self.repo.finish_attempt(c, payout_id, attempt, "success", None, now)
                await self._after_outcome(c, True, now)
            return ok

        if conn is not None:
            return await work(conn)
        return await self.uc.tx(work)

    async def _refund(self, conn: AsyncConnection, row, now: dt.datetime, wallet=None) -> int:
        """Return what is still held (or paid out) + the fee to the driver once (key
        `payout_reversal:<id>`). `row` is the payout as it was before its final transition, so
        amounts already returned by partial transfer reversals are not returned twice."""
        key = f"payout_reversal:{row.id}"
        if await self.repo.journal_by_key(conn, key) is not None:
            return 0
        amount = row.amount_cents - row.amount_reversed_cents
        if amount <= 0:
            return 0
        wallet = wallet or await self.repo.lock(conn, row.driver_id)
        paid = await self.repo.journal_by_key(conn, f"paid:{row.id}") is not None
        plan = rules.plan_refund(wallet, amount, row.fee_cents,
                                 from_account="platform_payouts_out" if paid else rules.PENDING)
        await self.repo.post(conn, wallet, plan, key=key, kind="refund", now=now,
                             withdrawn_delta=-amount if paid else 0, reference_type="payout",
                             reference_id=row.id, description="Withdrawal returned")
        return amount + row.fee_cents

    async def _fail(self, row, event: str, code: str, reason: str | None, *, attempt_outcome: str | None = None,
                    **extra) -> bool:
        now = self.clock.now()

        async def work(conn: AsyncConnection) -> bool:
            wallet = await self.repo.lock(conn, row.driver_id)
            if attempt_outcome:
                await self.repo.finish_attempt(conn, row.id, row.attempt, attempt_outcome, code, now)
            before = await self.repo.payout(conn, row.id)
            ok = await self.repo.transition(conn, row.id, rules.allowed_from(event), "failed", now,
                                            failure_code=code[:64], failure_reason=rules.sanitise_reason(reason),
                                            failed_at=now, **extra)
            if not ok:
                return False
            refunded = await self._refund(conn, before, now, wallet)
            await self.uc.event(conn, "PayoutFailed", f"failed:{row.id}", {
                "payout_id": row.id, "driver_id": row.driver_id, "failure_code": code, "refunded_cents": refunded})
            if attempt_outcome:
                await self._after_outcome(conn, False, now)
            return True

        return await self.uc.tx(work)

    async def mark_paid(self, payout_id: str, conn: AsyncConnection) -> bool:
        now = self.clock.now()
        row = await self.repo.payout(conn, payout_id)
        wallet = await self.repo.lock(conn, row.driver_id)
        if not await self.repo.transition(conn, payout_id, rules.allowed_from("bank_paid"), "paid", now, paid_at=now):
            return False
        await self.repo.post(conn, wallet, rules.plan_paid(row.amount_cents), key=f"paid:{payout_id}", kind="paid",
                             now=now, withdrawn_delta=row.amount_cents, reference_type="payout",
                             reference_id=payout_id, description="Withdrawal paid")
        await self.uc.event(conn, "PayoutPaid", f"paid:{payout_id}", {
            "payout_id": payout_id, "driver_id": row.driver_id, "amount_cents": row.amount_cents, "mock": False})
        return True

    async def bank_payout(self, payout_id: str) -> bool:
        async with self.db.read() as conn:
            row = await self.repo.payout(conn, payout_id)
        if row is None or row.state != "transferred" or row.stripe_payout_id:
            return False
        try:
            po = await self.provider.create_bank_payout(payout_id=payout_id, account=row.destination_account,
                                                        amount=row.amount_cents)
        except sg.StripeProblem as exc:
            log.warning("bank payout not created; the job retries", extra={"payout_id": payout_id, "code": exc.code})
            return False
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.execute(sa.update(payouts).where(payouts.c.id == payout_id, payouts.c.stripe_payout_id.is_(None))
                               .values(stripe_payout_id=po["id"], stripe_payout_status=po.get("status"), updated_at=now))
        return True

    async def start_reversal(self, payout_id: str, code: str, reason: str | None, conn: AsyncConnection) -> bool:
        now = self.clock.now()
        row = await self.repo.payout(conn, payout_id)
        await self.repo.lock(conn, row.driver_id)
        return await self.repo.transition(conn, payout_id, rules.allowed_from("bank_failed"), "reversing", now,
                                          failure_code=(code or "payout_failed")[:64],
                                          failure_reason=rules.sanitise_reason(reason))

    async def reverse(self, payout_id: str) -> str:
        """Reverse the full transfer of a `reversing` payout; success → failed + one refund."""
        async with self.db.read() as conn:
            row = await self.repo.payout(conn, payout_id)
        if row is None or row.state != "reversing" or not row.stripe_transfer_id:
            return "not_needed"
        try:
            rev = await self.provider.reverse_transfer(payout_id=payout_id, transfer_id=row.stripe_transfer_id)
        except sg.StripeProblem as exc:
            log.warning("transfer reversal failed; the job retries", extra={"payout_id": payout_id, "code": exc.code})
            return "reversal_started"
        ok = await self._fail(row, "reversal_succeeded", row.failure_code or "payout_failed", row.failure_reason,
                              stripe_reversal_id=rev.get("id"), amount_reversed_cents=row.amount_cents)
        return "marked_failed" if ok else "already_processed"

    async def apply_transfer_reversals(self, row, transfer: dict, conn: AsyncConnection) -> str | None:
        """`transfer.reversed`/`.updated`: book each new `trr_…` once (journal
        `transfer_reversal:<trr>`): pending −R, available +R; the one that completes the reversal
        also refunds the fee and fails the payout. On a paid payout: a finding, no credit."""
        now = self.clock.now()
        wallet = await self.repo.lock(conn, row.driver_id)
        row = await self.repo.payout(conn, row.id)
        remote = int(transfer.get("amount_reversed") or 0)
        if remote <= row.amount_reversed_cents:
            return None
        if row.state == "paid":
            await self.repo.add_finding(conn, now, "reversal_after_paid", payout_id=row.id, driver_id=row.driver_id,
                                        stripe_object_id=transfer.get("id"), local=row.amount_reversed_cents,
                                        remote=remote)
            return None
        if row.state not in ("transferred", "processing", "unknown", "reversing"):
            return None
        reversals = sorted((transfer.get("reversals") or {}).get("data") or [], key=lambda r: (r.get("created", 0), r["id"]))
        if not reversals:  # no list given: one synthetic reversal for the growth, keyed by the total
            reversals = [{"id": f"{transfer.get('id')}:{remote}", "amount": remote - row.amount_reversed_cents}]
        action = None
        reversed_total = row.amount_reversed_cents
        for rev in reversals:
            key = f"transfer_reversal:{rev['id']}"
            amount = min(int(rev.get("amount") or 0), row.amount_cents - reversed_total)
            if amount <= 0 or await self.repo.journal_by_key(conn, key) is not None:
                continue
            completes = reversed_total + amount >= row.amount_cents
            fee = row.fee_cents if completes else 0
            _, wallet, _ = await self.repo.post(conn, wallet, rules.plan_refund(wallet, amount, fee), key=key,
                                                kind="transfer_reversal", now=now, reference_type="payout",
                                                reference_id=row.id, description="Transfer reversed")
            reversed_total += amount
            await self.repo.update_payout(conn, row.id, now, amount_reversed_cents=reversed_total,
                                          stripe_reversal_id=rev["id"])
            action = "status_updated"
            if completes:
                await self.repo.transition(conn, row.id, frozenset({"transferred", "processing", "unknown", "reversing"}),
                                           "failed", now, failure_code=row.failure_code or "transfer_reversed",
                                           failure_reason=row.failure_reason or "The transfer was reversed",
                                           failed_at=now)
                await self.uc.event(conn, "PayoutFailed", f"failed:{row.id}", {
                    "payout_id": row.id, "driver_id": row.driver_id, "failure_code": "transfer_reversed",
                    "refunded_cents": row.amount_cents + row.fee_cents})
                action = "marked_failed"
        return action

    # ---- read-first resolver -------------------------------------------------------------------
    async def resolve(self, payout_id: str, *, raise_unavailable: bool = False) -> str:
        async with self.db.read() as conn:
            row = await self.repo.payout(conn, payout_id)
        if row is None:
            raise errors.NotFound("Payout not found")
        if row.state == "reversing":
            return await self.reverse(payout_id)
        if row.state == "transferred":
            if not row.stripe_payout_id:
                return "bank_payout_created" if await self.bank_payout(payout_id) else "no_change"
            return await self._refresh_bank(row)
        if row.state not in ("processing", "unknown"):
            return "not_needed"
        now = self.clock.now()
        if row.state == "processing":
            started = row.attempt_started_at or row.updated_at
            if started > now - dt.timedelta(seconds=self.config.payout_stuck_seconds):
                return "no_change"
            async with self.db.transaction() as conn:
                await self.repo.transition(conn, payout_id, rules.allowed_from("no_answer"), "unknown", now)
        try:
            found = await self.provider.list_transfers(transfer_group=f"payout_{payout_id}")
        except sg.StripeProblem:
            if raise_unavailable:
                raise errors.Unavailable("Stripe cannot be reached; the payout is unchanged") from None
            return "no_change"
        found = [t for t in found if (t.get("metadata") or {}).get("payout_id", payout_id) == payout_id]
        if len(found) == 1:
            ok = await self._transferred(payout_id, found[0]["id"], reconciled=True)
            await self.bank_payout(payout_id)
            return "marked_transferred" if ok else "no_change"
        if len(found) > 1:
            async with self.db.transaction() as conn:
                await self.repo.add_finding(conn, now, "duplicate_transfers", payout_id=payout_id,
                                            driver_id=row.driver_id, details={"transfers": [t["id"] for t in found]})
                await self.uc.event(conn, "PayoutNeedsAttention", f"attention:{payout_id}:duplicates",
                                    {"payout_id": payout_id, "reason": "duplicate_transfers"})
            return "no_change"
        started = row.attempt_started_at or row.updated_at
        if started > now - dt.timedelta(seconds=self.config.payout_unknown_grace_seconds):
            return "no_change"
        current = await self._reload(payout_id)
        ok = await self._fail(current, "no_transfer_confirmed", "no_transfer_confirmed",
                              "The transfer was not executed", no_transfer_confirmed=True, reconciled_at=now)
        return "marked_failed" if ok else "no_change"

    async def _reload(self, payout_id: str):
        async with self.db.read() as conn:
            return await self.repo.payout(conn, payout_id)

    async def _refresh_bank(self, row) -> str:
        try:
            po = await self.provider.retrieve_bank_payout(account=row.destination_account,
                                                          bank_payout_id=row.stripe_payout_id)
        except sg.StripeProblem:
            return "no_change"
        status = po.get("status")
        if status == "paid":
            async with self.db.transaction() as conn:
                ok = await self.mark_paid(row.id, conn)
            return "marked_paid" if ok else "no_change"
        if status in ("failed", "canceled"):
            async with self.db.transaction() as conn:
                await self.start_reversal(row.id, po.get("failure_code") or status, po.get("failure_message"), conn)
            return await self.reverse(row.id)
        return "no_change"

    # ---- the hourly job ------------------------------------------------------------------------
    async def run_job(self) -> JobSummary:
        s = JobSummary()
        now = self.clock.now()
        cfg = self.config
        async with self.db.read() as conn:
            stuck = await self.repo.payouts_in(conn, ("processing",))
        for row in stuck:
            started = row.attempt_started_at or row.updated_at
            if started <= now - dt.timedelta(seconds=cfg.payout_stuck_seconds):
                async with self.db.transaction() as conn:
                    if await self.repo.transition(conn, row.id, rules.allowed_from("no_answer"), "unknown", now):
                        s.stuck_marked_unknown += 1
        async with self.db.read() as conn:
            unknown = await self.repo.payouts_in(conn, ("unknown",))
        for row in unknown:
            action = await self.resolve(row.id)
            if action in ("marked_transferred", "marked_failed"):
                s.unknown_resolved += 1
            elif (row.attempt_started_at or row.updated_at) < now - dt.timedelta(hours=cfg.payout_unknown_alert_hours):
                s.needs_attention += 1
                async with self.db.transaction() as conn:
                    await self.uc.event(conn, "PayoutNeedsAttention", f"attention:{row.id}:unknown_too_long",
                                        {"payout_id": row.id, "reason": "unknown_too_long"})
        async with self.db.read() as conn:
            pending = await self.repo.payouts_in(conn, ("pending",))
        for row in pending:
            if row.created_at <= now - dt.timedelta(hours=cfg.payout_max_pending_hours):
                if await self._fail(row, "expired", "expired", "The withdrawal could not be sent in time"):
                    s.expired += 1
                continue
            await self.execute(row.id)
            current = await self._reload(row.id)
            if current.state == "pending":
                s.pending_deferred += 1
            else:
                s.pending_sent += 1
        async with self.db.read() as conn:
            transferred = await self.repo.payouts_in(conn, ("transferred",))
        for row in transferred:
            if not row.stripe_payout_id:
                if await self.bank_payout(row.id):
                    s.bank_payouts_created += 1
            elif row.updated_at <= now - dt.timedelta(days=1):
                await self._refresh_bank(row)
                s.bank_payouts_refreshed += 1
        async with self.db.read() as conn:
            reversing = await self.repo.payouts_in(conn, ("reversing",))
        for row in reversing:
            s.reversals_retried += 1
            await self.reverse(row.id)
        async with self.db.read() as conn:
            metrics.UNKNOWN_PAYOUTS.set((await conn.execute(sa.select(sa.func.count()).select_from(payouts).where(
                payouts.c.state == "unknown"))).scalar_one())
            metrics.DEBT_CENTS.set((await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(wallets.c.debt_cents), 0))
                                                       )).scalar_one())
        return s

    # ---- daily reconciliation (reports; never fixes money) -------------------------------------
    async def reconcile(self, *, with_stripe: bool = True) -> str:
        now = self.clock.now()
        start = now - dt.timedelta(days=self.config.recon_lookback_days)
        run_id = new_id()
        async with self.db.transaction() as conn:
            await conn.execute(sa.insert(reconciliation_runs).values(
                id=run_id, window_start=start, window_end=now, started_at=now, status="running"))
        findings: list[tuple[str, dict]] = []
        async with self.db.read() as conn:
            findings += await internal_findings(conn)
            local = list(await conn.execute(sa.select(payouts).where(payouts.c.created_at >= start,
                                                                      payouts.c.mock.is_(False))))
        transfers: list[dict] = []
        if with_stripe:
            transfers = await self.provider.list_transfers(created_gte=int(start.timestamp()))
            by_id = {r.stripe_transfer_id: r for r in local if r.stripe_transfer_id}
            by_pid = {r.id: r for r in local}
            seen = set()
            for t in transfers:
                pid = (t.get("metadata") or {}).get("payout_id")
                row = by_id.get(t["id"]) or by_pid.get(pid or "")
                if row is None:
                    findings.append(("missing_local", {"stripe_object_id": t["id"], "remote": t.get("amount")}))
                    continue
                seen.add(row.id)
                base = {"payout_id": row.id, "driver_id": row.driver_id, "stripe_object_id": t["id"],
                        "local": row.amount_cents, "remote": t.get("amount")}
                if t.get("amount") != row.amount_cents:
                    findings.append(("amount_mismatch", base))
                if t.get("currency") != "usd":
                    findings.append(("currency_mismatch", {**base, "details": {"currency": t.get("currency")}}))
                if row.destination_account and t.get("destination") != row.destination_account:
                    findings.append(("destination_mismatch", {**base, "details": {
                        "local": row.destination_account, "remote": t.get("destination")}}))
                if row.state == "failed" and not t.get("reversed"):
                    findings.append(("state_mismatch", {**base, "details": {"state": row.state}}))
                if (t.get("amount_reversed") or 0) != row.amount_reversed_cents and row.state != "failed":
                    findings.append(("reversal_mismatch", {**base, "details": {
                        "remote_reversed": t.get("amount_reversed"), "local_reversed": row.amount_reversed_cents}}))
            for row in local:
                if row.stripe_transfer_id and row.id not in seen:
                    findings.append(("missing_remote", {"payout_id": row.id, "driver_id": row.driver_id,
                                                        "stripe_object_id": row.stripe_transfer_id,
                                                        "local": row.amount_cents}))
        internal_ok = not any(k in INTERNAL_KINDS for k, _ in findings)
        async with self.db.transaction() as conn:
            for kind, f in findings:
                metrics.RECON_FINDINGS.labels(kind).inc()
                await self.repo.add_finding(conn, now, kind, run_id=run_id, payout_id=f.get("payout_id"),
                                            driver_id=f.get("driver_id"), stripe_object_id=f.get("stripe_object_id"),
                                            local=f.get("local"), remote=f.get("remote"), details=f.get("details"))
            if findings:
                await self.uc.event(conn, "ReconciliationDriftDetected", f"drift:{run_id}",
                                    {"run_id": run_id, "findings": len(findings)})
            await conn.execute(sa.update(reconciliation_runs).where(reconciliation_runs.c.id == run_id).values(
                finished_at=self.clock.now(), status="completed", transfers_checked=len(transfers),
                payouts_checked=len(local), findings_count=len(findings), internal_checks_ok=internal_ok))
        return run_id


INTERNAL_KINDS = ("balance_drift", "ledger_imbalance", "journal_imbalance", "pending_drift")


async def internal_findings(conn: AsyncConnection) -> list[tuple[str, dict]]:
    """The ledger invariants: each materialised balance = Σ its postings; every journal and the
    whole ledger sum to zero; pending = Σ held payouts."""
    out: list[tuple[str, dict]] = []
    p, w = postings.c, wallets.c
    sums = {}
    for row in await conn.execute(sa.select(p.wallet_id, p.account, sa.func.sum(p.amount_cents))
                                  .where(p.wallet_id.is_not(None)).group_by(p.wallet_id, p.account)):
        sums[(row[0], row[1])] = int(row[2])
    held = {r[0]: int(r[1]) for r in await conn.execute(
        sa.select(payouts.c.driver_id, sa.func.sum(payouts.c.amount_cents - payouts.c.amount_reversed_cents))
        .where(payouts.c.state.in_(("pending", "processing", "unknown", "transferred")))
        .group_by(payouts.c.driver_id))}
    reversing_unpaid = {r[0]: int(r[1]) for r in await conn.execute(
        sa.select(payouts.c.driver_id, sa.func.sum(payouts.c.amount_cents - payouts.c.amount_reversed_cents))
        .where(payouts.c.state == "reversing", ~sa.exists().where(
            journals.c.idempotency_key == sa.literal("paid:") + payouts.c.id)).group_by(payouts.c.driver_id))}
    for row in await conn.execute(sa.select(w.driver_id, w.balance_cents, w.pending_balance_cents, w.debt_cents)):
        avail, pend = sums.get((row.driver_id, "available"), 0), sums.get((row.driver_id, "pending"), 0)
        debt = -sums.get((row.driver_id, "debt"), 0)
        if (avail, pend, debt) != (row.balance_cents, row.pending_balance_cents, row.debt_cents):
            out.append(("balance_drift", {"driver_id": row.driver_id, "details": {
                "stored": [row.balance_cents, row.pending_balance_cents, row.debt_cents], "postings": [avail, pend, debt]}}))
        expected_pending = held.get(row.driver_id, 0) + reversing_unpaid.get(row.driver_id, 0)
        if pend != expected_pending:
            out.append(("pending_drift", {"driver_id": row.driver_id, "local": pend, "remote": expected_pending}))
    total = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(p.amount_cents), 0)))).scalar_one()
    if int(total) != 0:
        out.append(("ledger_imbalance", {"details": {"sum": int(total)}}))
    for row in await conn.execute(sa.select(p.journal_id, sa.func.sum(p.amount_cents)).group_by(p.journal_id)
                                  .having(sa.func.sum(p.amount_cents) != 0)):
        out.append(("journal_imbalance", {"details": {"journal_id": row[0], "sum": int(row[1])}}))
    return out
