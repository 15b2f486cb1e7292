"""Wallet use cases: open a unit of work, load (and lock), apply rules, save (+ outbox in the same
transaction). Every balance change happens under the wallet row lock."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import errors, outbox
from kit.clock import Clock
from kit.db import Database
from services.wallet.adapters import stripe_gateway as sg
from services.wallet.adapters.repository import WalletRepository, new_id
from services.wallet.adapters.tables import outbox_table
from services.wallet.config import WalletConfig
from services.wallet.domain import wallet as rules
from services.wallet.domain.wallet import (
    CLAWBACK_SOURCES, CREDIT_SOURCES, REST_STATUS, LimitUsage, Wallet, WithdrawalPolicy,
)

log = logging.getLogger("wallet")
T = TypeVar("T")

CONFLICT = "Idempotency key conflict: reused with different parameters"
PAUSED = "Payouts are temporarily paused; your withdrawal is queued"


@dataclasses.dataclass(frozen=True)
class BalanceView:
    wallet: Wallet
    policy: WithdrawalPolicy
    can_withdraw: bool
    onboarding_complete: bool


def policy_from(config: WalletConfig) -> WithdrawalPolicy:
    return WithdrawalPolicy(
        min_cents=config.withdrawal_min_cents, fee_threshold_cents=config.withdrawal_fee_threshold_cents,
        fee_fixed_cents=config.withdrawal_fee_fixed_cents, fee_bps=config.withdrawal_fee_bps,
        max_per_day=config.withdrawal_max_per_day, max_per_week_cents=config.withdrawal_max_per_week_cents)


def _text(value: str | None, name: str, maximum: int, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise errors.InvalidArgument(f"{name} is required")
        return None
    if len(value) > maximum:
        raise errors.InvalidArgument(f"{name} must be at most {maximum} characters")
    return value


class WalletUseCases:
    def __init__(self, db: Database, clock: Clock, config: WalletConfig | WithdrawalPolicy,
                 provider: sg.PayoutProvider | None = None) -> None:
        if isinstance(config, WithdrawalPolicy):  # the walking skeleton's signature (mock mode)
            policy = config
            config = WalletConfig(WITHDRAWAL_MIN_CENTS=policy.min_cents,
                                  WITHDRAWAL_FEE_THRESHOLD_CENTS=policy.fee_threshold_cents,
                                  ENABLE_STRIPE_PAYOUTS=False)
        self.db, self.clock, self.config = db, clock, config
        self.policy = policy_from(config)
        self.repo = WalletRepository(db, credit_batch_max=config.credit_batch_max,
                                     credit_batches_in_flight=config.credit_batches_in_flight)
        self.provider = provider
        self.live = config.live
        # set by the composition root: live payout execution (services.wallet.app.payouts)
        self.engine: Any = None
        self.on_commit: Callable[[], None] = lambda: None

    # ---- helpers -------------------------------------------------------------------------------
    async def tx(self, work: Callable[[AsyncConnection], Awaitable[T]], attempts: int = 3) -> T:
        """One unit of work; a unique-constraint race (a concurrent twin) is retried, and the retry
        then sees the twin's committed row and replays it."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.db.transaction() as conn:
                    result = await work(conn)
                self.on_commit()
                return result
            except sa.exc.IntegrityError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    async def event(self, conn: AsyncConnection, topic: str, key: str, payload: dict) -> None:
        await outbox.add_event(conn, outbox_table, self.db, topic=topic, key=key, payload=payload,
                               now=self.clock.now())

    async def once(self, rpc: str, caller: str, request_id: str, request_hash: str,
                   fn: Callable[[], Awaitable[dict]]) -> tuple[dict, bool]:
        """Client idempotency for RPCs without a natural key: same (rpc, caller, request_id) and
        hash → the stored result; another hash → 409. The wrapped effects are themselves idempotent
        (conditional stores), so a crash between effect and record is harmless."""
        if not request_id:
            return await fn(), False
        _text(request_id, "request_id", 200)
        scope = f"{rpc}:{caller}"
        async with self.db.read() as conn:
            rec = await self.repo.idem_get(conn, scope, request_id)
        if rec is None:
            result = await fn()
            try:
                async with self.db.transaction() as conn:
                    await self.repo.idem_put(conn, scope, request_id, request_hash, result, self.clock.now())
                return result, False
            except sa.exc.IntegrityError:
                async with self.db.read() as conn:
                    rec = await self.repo.idem_get(conn, scope, request_id)
        if rec.request_hash != request_hash:
            raise errors.AlreadyExists(CONFLICT)
        return json.loads(rec.response), True

    async def prune_idempotency(self) -> int:
        from services.wallet.adapters.tables import idempotency_records as ir
        cutoff = self.clock.now() - dt.timedelta(hours=self.config.idempotency_ttl_hours)
        async with self.db.transaction() as conn:
            res = await conn.execute(sa.delete(ir).where(ir.c.created_at < cutoff))
        return res.rowcount or 0

    @staticmethod
    def _replay(journal, request_hash: str) -> dict:
        if journal.request_hash != request_hash:
            raise errors.AlreadyExists(CONFLICT)
        return {**json.loads(journal.result), "replayed": True}

    # ---- reads (W1–W3, W5) ---------------------------------------------------------------------
    async def get_balance(self, driver_id: str) -> BalanceView:
        """W1: the wallet is created on first use (concurrent first reads create one row)."""
        now = self.clock.now()
        async with self.db.read() as conn:
            wallet = await self.repo.get(conn, driver_id)
            usage = await self.repo.limit_usage(conn, driver_id, now) if wallet else LimitUsage(0, 0)
        if wallet is None:
            async with self.db.transaction() as conn:
                await self.repo.create_if_absent(conn, driver_id, now)
                wallet = await self.repo.get(conn, driver_id)
        assert wallet is not None
        return BalanceView(wallet, self.policy, rules.can_withdraw(wallet, self.policy, usage, live=self.live),
                           wallet.onboarding_complete(self.live))

    async def list_ledger(self, driver_id: str, limit: int | None, offset: int | None) -> list:
        limit = 50 if limit is None else limit
        offset = 0 if offset is None else offset
        if limit < 0:
            raise errors.InvalidArgument("limit must not be negative")
        if offset < 0 or offset > 10_000:
            raise errors.InvalidArgument("offset must be between 0 and 10000")
        async with self.db.read() as conn:
            return await self.repo.ledger_page(conn, driver_id, min(limit, 200), offset)

    async def list_payouts(self, driver_id: str, limit: int | None) -> list:
        limit = 20 if limit is None else limit
        if limit < 0:
            raise errors.InvalidArgument("limit must not be negative")
        async with self.db.read() as conn:
            return await self.repo.list_payouts(conn, driver_id, min(limit, 100))

    def withdrawal_fee(self, amount_cents: int) -> int:
        if amount_cents < 1:
            raise errors.InvalidArgument("amount_cents must be at least 1")
        rules.check_amount(amount_cents)
        return self.policy.fee(amount_cents)

    # ---- credits and clawbacks (service producers) ---------------------------------------------
    async def credit(self, *, idempotency_key: str, driver_id: str, amount_cents: int, reference_type: str,
                     reference_id: str, campaign_name: str | None = None, sponsor_name: str | None = None,
                     merchant_name: str | None = None, created_by: str | None = None) -> dict:
        _text(idempotency_key, "idempotency_key", 200)
        _text(driver_id, "driver_id", rules.DRIVER_ID_MAX)
        _text(reference_id, "reference_id", 128)
        source = CREDIT_SOURCES.get(reference_type)
        if source is None:
            raise errors.InvalidArgument(f"reference_type must be one of {', '.join(sorted(CREDIT_SOURCES))}")
        rules.check_amount(amount_cents, maximum=self.config.credit_max_cents)
        h = rules.request_hash(driver_id, amount_cents, "credit", reference_type, reference_id)
        if reference_type == "campaign_grant":
            description = f"Earned from {campaign_name}" if campaign_name else "Campaign reward"
        else:
            description = f"Reward from {merchant_name}" if merchant_name else "Card-linked offer reward"
        now = self.clock.now()
        if self.db.is_postgres:
            return await self._credit_pg(idempotency_key=idempotency_key, request_hash=h, driver_id=driver_id,
                                         amount_cents=amount_cents, source=source, reference_type=reference_type,
                                         reference_id=reference_id, description=description[:500],
                                         campaign_name=(campaign_name or None) and campaign_name[:200],
                                         sponsor_name=(sponsor_name or None) and sponsor_name[:200],
                                         created_by=created_by, now=now)
        attempts = 0

        async def work(conn: AsyncConnection) -> dict:
            nonlocal attempts
            attempts += 1
            wallet = await self.repo.lock(conn, driver_id, create=True, now=now)
            j = await self.repo.journal_by_key(conn, idempotency_key)
            if j is not None:
                return self._replay(j, h)
            # the partial UNIQUE (reference_type, reference_id) index guards the first try; after a
            # unique violation, tell a reused reference (409) from a concurrent twin (replayed above)
            if attempts > 1 and await self.repo.credit_by_reference(conn, reference_type, reference_id) is not None:
                raise errors.AlreadyExists(f"{reference_type} {reference_id} was already credited under another key")
            plan = rules.plan_credit(wallet, amount_cents, source)
            jid = new_id()
            result = {"journal_id": jid, "balance_after_cents": wallet.balance_cents + plan.delta(rules.AVAILABLE),
                      "debt_repaid_cents": plan.debt_repaid_cents}
            await self.repo.post(conn, wallet, plan, key=idempotency_key, kind="credit", now=now, request_hash=h,
                                 journal_id=jid, earned_delta=amount_cents, result=result,
                                 reference_type=reference_type, reference_id=reference_id,
                                 description=description[:500], campaign_name=(campaign_name or None) and campaign_name[:200],
                                 sponsor_name=(sponsor_name or None) and sponsor_name[:200], created_by=created_by)
            await self.event(conn, "WalletCredited", f"credit:{jid}", {
                "journal_id": jid, "driver_id": driver_id, "amount_cents": amount_cents,
                "reference_type": reference_type, "reference_id": reference_id})
            return {**result, "replayed": False}

        return await self.tx(work)

    async def _credit_pg(self, *, idempotency_key: str, request_hash: str, driver_id: str, amount_cents: int,
                         source: str, reference_type: str, reference_id: str, description: str,
                         campaign_name: str | None, sponsor_name: str | None, created_by: str | None,
                         now: dt.datetime, attempts: int = 3) -> dict:
        """PostgreSQL: the same credit in one round trip (the ``wallet_credit`` function, ADR 0075).

        Same rules as the portable path: replay on the key (another hash → 409), one credit per
        reference, debt repaid first, journal + postings + balance + outbox in one transaction."""
        for _ in range(attempts):
            jid = new_id()
            out = await self.repo.credit_pg(
                key=idempotency_key, request_hash=request_hash, driver_id=driver_id, amount_cents=amount_cents,
                source=source, reference_type=reference_type, reference_id=reference_id, description=description,
                campaign_name=campaign_name, sponsor_name=sponsor_name, created_by=created_by, journal_id=jid,
                now=now, event_topic="WalletCredited", event_key=f"credit:{jid}",
                event_payload={"journal_id": jid, "driver_id": driver_id, "amount_cents": amount_cents,
                               "reference_type": reference_type, "reference_id": reference_id})
            outcome = out["outcome"]
            if outcome == "race":
                continue
            if outcome == "replay":
                if out["request_hash"] != request_hash:
                    raise errors.AlreadyExists(CONFLICT)
                return {**json.loads(out["result"]), "replayed": True}
            if outcome == "reference_taken":
                raise errors.AlreadyExists(f"{reference_type} {reference_id} was already credited under another key")
            assert outcome == "credited", outcome
            self.on_commit()
            return {"journal_id": jid, "balance_after_cents": out["balance_after_cents"],
                    "debt_repaid_cents": out["debt_repaid_cents"], "replayed": False}
        raise errors.Aborted("Credit kept racing a concurrent twin; retry")

    async def clawback(self, *, idempotency_key: str, driver_id: str, amount_cents: int, reference_type: str,
                       reference_id: str, original_key: str, reason: str | None = None,
                       created_by: str | None = None) -> dict:
        _text(idempotency_key, "idempotency_key", 200)
        _text(driver_id, "driver_id", rules.DRIVER_ID_MAX)
        _text(reference_id, "reference_id", 128)
        _text(original_key, "original_key", 200)
        source = CLAWBACK_SOURCES.get(reference_type)
        if source is None:
            raise errors.InvalidArgument(f"reference_type must be one of {', '.join(sorted(CLAWBACK_SOURCES))}")
        rules.check_amount(amount_cents, maximum=self.config.credit_max_cents)
        h = rules.request_hash(driver_id, amount_cents, "clawback", reference_type, reference_id)
        now = self.clock.now()

        async def work(conn: AsyncConnection) -> dict:
            wallet = await self.repo.lock(conn, driver_id, create=True, now=now)
            j = await self.repo.journal_by_key(conn, idempotency_key)
            if j is not None:
                return self._replay(j, h)
            applied = amount_cents
            original = await self.repo.journal_by_key(conn, original_key)
            if original is not None and original.kind == "credit" and original.driver_id == driver_id:
                remaining = original.amount_cents - await self.repo.clawed_back(conn, original_key)
                applied = max(0, min(amount_cents, remaining))
            plan = rules.plan_clawback(wallet, applied, source)
            description = f"Clawback of {original_key}" + (f": {reason}" if reason else "")
            if plan.debt_added_cents:
                description += f" ({rules.dollars(plan.debt_added_cents)} moved to debt)"
            jid = new_id()
            result = {"journal_id": jid, "balance_after_cents": wallet.balance_cents + plan.delta(rules.AVAILABLE),
                      "applied_cents": applied, "debt_added_cents": plan.debt_added_cents}
            await self.repo.post(conn, wallet, plan, key=idempotency_key, kind="clawback", now=now,
                                 request_hash=h, journal_id=jid, amount_cents=applied, earned_delta=-applied,
                                 result=result, reference_type=reference_type, reference_id=reference_id,
                                 original_key=original_key, description=description[:500], created_by=created_by)
            if applied:
                await self.event(conn, "WalletDebited", f"clawback:{jid}", {
                    "journal_id": jid, "driver_id": driver_id, "amount_cents": applied,
                    "debt_added_cents": plan.debt_added_cents})
            return {**result, "replayed": False}

        return await self.tx(work)

    # ---- admin money (W12, W14) ----------------------------------------------------------------
    async def admin_credit(self, *, admin: str, driver_id: str, amount_cents: int, reference_type: str | None,
                           description: str | None, request_id: str = "") -> dict:
        _text(driver_id, "driver_id", rules.DRIVER_ID_MAX)
        if not isinstance(amount_cents, int) or not 1 <= amount_cents <= self.config.admin_credit_max_cents:
            raise errors.InvalidArgument(
                f"amount_cents must be between 1 and {self.config.admin_credit_max_cents}")
        reference_type = reference_type if reference_type is not None else "bonus"
        if not rules.REFERENCE_TYPE_RE.match(reference_type):
            raise errors.InvalidArgument("reference_type must match ^[a-z_]{1,30}$")
        description = description if description is not None else "Admin credit"
        _text(description, "description", 500, required=False)
        return await self._admin_money(admin=admin, driver_id=driver_id, amount=amount_cents, action="credit",
                                       reference_type=reference_type, description=description,
                                       request_id=request_id, must_exist=False)

    async def admin_adjust(self, *, admin: str, user_id: str, amount_cents: int, reason: str,
                           request_id: str = "") -> dict:
        _text(user_id, "user_id", rules.DRIVER_ID_MAX)
        limit = self.config.admin_credit_max_cents
        if not isinstance(amount_cents, int) or amount_cents == 0 or abs(amount_cents) > limit:
            raise errors.InvalidArgument(f"amount_cents must be non-zero and at most {limit} in absolute value")
        _text(reason, "reason", 500)
        return await self._admin_money(admin=admin, driver_id=user_id, amount=amount_cents, action="adjust",
                                       reference_type="admin_adjust", description=reason,
                                       request_id=request_id, must_exist=True)

    async def _admin_money(self, *, admin: str, driver_id: str, amount: int, action: str, reference_type: str,
                           description: str, request_id: str, must_exist: bool) -> dict:
        if driver_id == admin:
            raise errors.InvalidArgument("Admins cannot credit or adjust their own wallet")
        _text(request_id, "request_id", 200, required=False)
        h = rules.request_hash(admin, driver_id, amount, action, reference_type, description)
        now = self.clock.now()
        key = f"admin_{action}:{admin}:{request_id}" if request_id else f"admin_{action}:{new_id()}"

        async def work(conn: AsyncConnection) -> dict:
            await self.repo.advisory_lock(conn, f"admin_credit:{admin}")
            if request_id:
                j = await self.repo.journal_by_key(conn, key)
                if j is not None:
                    return self._replay(j, h)
            else:
                recent = await self.repo.audit_recent(conn, admin, h, now - dt.timedelta(seconds=600))
                if recent is not None and recent.result:
                    return {**json.loads(recent.result), "replayed": True}
            if amount > 0:
                used = await self.repo.admin_credited_since(conn, admin, rules.utc_day_start(now))
                if used + amount > self.config.admin_credit_daily_cap_cents:
                    raise errors.InvalidArgument(
                        f"Daily admin credit cap of {rules.dollars(self.config.admin_credit_daily_cap_cents)} exceeded")
            wallet = await self.repo.lock(conn, driver_id, create=not must_exist, now=now)
            if wallet is None:
                raise errors.NotFound(f"User {driver_id} not found")
            if amount > 0:
                plan = rules.plan_credit(wallet, amount, "platform_admin")
                kind, earned = "admin_credit", amount
            else:
                plan = rules.plan_clawback(wallet, -amount, "platform_admin")
                kind, earned = "admin_debit", amount
            jid = new_id()
            after = wallet.balance_cents + plan.delta(rules.AVAILABLE)
            result = {"journal_id": jid, "before_balance_cents": wallet.balance_cents,
                      "after_balance_cents": after, "new_balance_cents": after,
                      "ledger_id": None, "debt_added_cents": plan.debt_added_cents}
            _, _, rows = await self.repo.post(conn, wallet, plan, key=key, kind=kind, now=now, request_hash=h,
                                              journal_id=jid, amount_cents=abs(amount), earned_delta=earned,
                                              reference_type=reference_type, description=description[:500],
                                              created_by=admin)
            first_available = next((r for r in rows if r["account"] == rules.AVAILABLE), None)
            if first_available is not None:
                result["ledger_id"] = await self.repo.posting_id(conn, driver_id, first_available["seq"])
            await self.repo.set_journal_result(conn, jid, result)
            await self.repo.audit(conn, admin_sub=admin, action=action, driver_id=driver_id, amount_cents=amount,
                                  reason=description[:500], request_id=request_id or None, request_hash=h,
                                  result=result, created_at=now)
            topic = "WalletCredited" if amount > 0 else "WalletDebited"
            await self.event(conn, topic, f"{kind}:{jid}", {"journal_id": jid, "driver_id": driver_id,
                                                            "amount_cents": abs(amount), "admin": admin})
            return {**result, "replayed": False}

        return await self.tx(work)

    async def admin_get_wallet(self, user_id: str, limit: int = 50) -> tuple[Wallet, list]:
        async with self.db.read() as conn:
            wallet = await self.repo.get(conn, user_id)
            if wallet is None:
                raise errors.NotFound(f"User {user_id} not found")
            rows = await self.repo.ledger_page(conn, user_id, limit, 0)
        return wallet, rows

    # ---- withdrawals (W4) ----------------------------------------------------------------------
    async def request_withdrawal(self, driver_id: str, amount_cents: int, request_id: str = "") -> dict:
        rules.check_amount(amount_cents)
        _text(request_id, "request_id", 200, required=False)
        now = self.clock.now()
        live = self.live

        async def work(conn: AsyncConnection) -> tuple[str, bool]:
            wallet = await self.repo.lock(conn, driver_id)
            if request_id:
                existing = await self.repo.payout_by_request(conn, driver_id, request_id)
                if existing is not None:
                    if existing.amount_cents != amount_cents:
                        raise errors.AlreadyExists(CONFLICT)
                    return existing.id, True
            if wallet is None:
                raise errors.FailedPrecondition("No wallet found")
            if not request_id and self.config.withdraw_dedup_window_seconds:
                since = now - dt.timedelta(seconds=self.config.withdraw_dedup_window_seconds)
                twin = await self.repo.recent_same_amount(conn, driver_id, amount_cents, since)
                if twin is not None:
                    return twin.id, True
            usage = await self.repo.limit_usage(conn, driver_id, now)
            fee = rules.check_withdrawal(wallet, amount_cents, self.policy, usage, live=live)
            pid = new_id()
            await self.repo.insert_payout(conn, id=pid, driver_id=driver_id, amount_cents=amount_cents,
                                          fee_cents=fee, state="pending", attempt=1, mock=not live,
                                          request_id=request_id or None,
                                          destination_account=wallet.stripe_account_id,
                                          created_at=now, updated_at=now)
            _, wallet, _ = await self.repo.post(conn, wallet, rules.plan_hold(amount_cents, fee), key=f"hold:{pid}",
                                                kind="hold", now=now, amount_cents=amount_cents + fee,
                                                reference_type="payout", reference_id=pid,
                                                description="Withdrawal")
            await self.event(conn, "PayoutRequested", f"requested:{pid}", {
                "payout_id": pid, "driver_id": driver_id, "amount_cents": amount_cents, "fee_cents": fee,
                "mock": not live})
            if not live:
                await self.repo.post(conn, wallet, rules.plan_paid(amount_cents), key=f"paid:{pid}", kind="paid",
                                     now=now, withdrawn_delta=amount_cents, reference_type="payout",
                                     reference_id=pid, description="Withdrawal paid (mock)")
                ok = await self.repo.transition(conn, pid, rules.allowed_from("mock_paid"), "paid", now,
                                                stripe_transfer_id=f"tr_mock_{secrets.token_hex(8)}", paid_at=now)
                assert ok
                await self.event(conn, "PayoutPaid", f"paid:{pid}", {
                    "payout_id": pid, "driver_id": driver_id, "amount_cents": amount_cents, "mock": True})
            return pid, False

        payout_id, replayed = await self.tx(work)
        message = None
        if live and not replayed and self.engine is not None:
            message = await self.engine.execute(payout_id)
        async with self.db.read() as conn:
            row = await self.repo.payout(conn, payout_id)
        if row.state == "failed" and row.failure_code and row.stripe_transfer_id is None \
                and row.failure_code not in ("expired", "no_transfer_confirmed"):
            raise errors.FailedPrecondition(f"Payout failed: {row.failure_reason or 'rejected'}")
        if row.state == "pending" and message is None and live:
            message = PAUSED if await self._breaker_open() else None
        return {"payout": row, "message": message, "replayed": replayed}

    async def _breaker_open(self) -> bool:
        async with self.db.read() as conn:
            b = await self.repo.breaker(conn)
        return b is not None and b.state != "closed"

    # ---- Stripe Express account (W6–W8) --------------------------------------------------------
    async def create_stripe_account(self, driver_id: str, email: str | None) -> dict:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await self.repo.create_if_absent(conn, driver_id, now)
            wallet = await self.repo.get(conn, driver_id)
        assert wallet is not None
        if wallet.has_account(self.live):
            return {"stripe_account_id": wallet.stripe_account_id, "status": "existing",
                    "onboarding_complete": wallet.onboarding_complete(self.live)}
        if not self.live:
            account_id = f"acct_mock_{secrets.token_hex(8)}"
            async with self.db.transaction() as conn:
                stored = await self.repo.set_account_if_none(
                    conn, driver_id, account_id, "mock", now, payout_ready=True, payouts_enabled=True,
                    details_submitted=True, transfers_capability="active", account_synced_at=now)
                wallet = await self.repo.get(conn, driver_id)
            if not stored:
                return {"stripe_account_id": wallet.stripe_account_id, "status": "existing",
                        "onboarding_complete": wallet.onboarding_complete(self.live)}
            return {"stripe_account_id": account_id, "status": "mock_created", "onboarding_complete": True}
        assert self.provider is not None
        try:
            acct = await self.provider.create_account(driver_id, email or None)
        except sg.StripeProblem as exc:
            raise errors.FailedPrecondition(f"Failed to create payout account: {exc.safe}") from None
        mode = "live" if (self.config.stripe_secret_key or "").startswith("sk_live_") else "test"
        ready = rules.payout_ready(payouts_enabled=acct.payouts_enabled, transfers_capability=acct.transfers_capability,
                                   disabled_reason=acct.disabled_reason, past_due_count=acct.past_due_count)
        async with self.db.transaction() as conn:
            stored = await self.repo.set_account_if_none(
                conn, driver_id, acct.id, mode, now, payout_ready=ready, payouts_enabled=acct.payouts_enabled,
                charges_enabled=acct.charges_enabled, details_submitted=acct.details_submitted,
                transfers_capability=acct.transfers_capability, disabled_reason=acct.disabled_reason,
                past_due_count=acct.past_due_count, account_synced_at=now)
            wallet = await self.repo.get(conn, driver_id)
        status = "created" if stored else "existing"
        return {"stripe_account_id": wallet.stripe_account_id, "status": status,
                "onboarding_complete": wallet.onboarding_complete(self.live)}

    def _check_url(self, url: str, name: str) -> None:
        if not url:
            raise errors.InvalidArgument(f"{name} is required")
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
        local = host in ("localhost", "127.0.0.1")
        if parts.scheme == "https" or (parts.scheme == "http" and local and self.config.env != "production"):
            pass
        else:
            raise errors.InvalidArgument(f"{name} must be an absolute https URL")
        allowed = self.config.allowed_link_hosts()
        if host not in allowed and not any(host.endswith("." + h) for h in allowed):
            raise errors.InvalidArgument(f"{name} host is not allowed")

    async def create_account_link(self, driver_id: str, return_url: str, refresh_url: str) -> tuple[str, dt.datetime]:
        self._check_url(return_url, "return_url")
        self._check_url(refresh_url, "refresh_url")
        async with self.db.read() as conn:
            wallet = await self.repo.get(conn, driver_id)
        if wallet is None or not wallet.has_account(self.live):
            raise errors.FailedPrecondition("Driver must have a Stripe account first")
        if wallet.stripe_account_mode == "mock":
            sep = "&" if "?" in return_url else "?"
            return f"{return_url}{sep}mock_onboarding=complete", self.clock.now() + dt.timedelta(seconds=300)
        assert self.provider is not None
        try:
            url, expires = await self.provider.create_account_link(wallet.stripe_account_id, refresh_url, return_url)
        except sg.StripeProblem as exc:
            raise errors.FailedPrecondition(f"Failed to create account link: {exc.safe}") from None
        return url, dt.datetime.fromtimestamp(expires, dt.timezone.utc)

    async def account_status(self, driver_id: str) -> dict:
        async with self.db.read() as conn:
            wallet = await self.repo.get(conn, driver_id)
        if wallet is None or wallet.stripe_account_id is None:
            return {"onboarding_complete": False, "has_account": False}
        if self.live and wallet.stripe_account_mode != "mock" and self.provider is not None:
            try:
                acct = await self.provider.retrieve_account(wallet.stripe_account_id)
            except sg.StripeProblem:
                acct = None
            if acct is not None:
                await self.store_account(acct, self.clock.now())
                async with self.db.read() as conn:
                    wallet = await self.repo.get(conn, driver_id)
        return {"onboarding_complete": wallet.onboarding_complete(self.live), "has_account": True,
                "details_submitted": wallet.details_submitted, "charges_enabled": wallet.charges_enabled,
                "payouts_enabled": wallet.payouts_enabled}

    async def store_account(self, acct: sg.AccountState, now: dt.datetime,
                            conn: AsyncConnection | None = None) -> Wallet | None:
        """Store Stripe's current flags in both directions (readiness can be lost)."""
        ready = rules.payout_ready(payouts_enabled=acct.payouts_enabled, transfers_capability=acct.transfers_capability,
                                   disabled_reason=acct.disabled_reason, past_due_count=acct.past_due_count)

        async def work(c: AsyncConnection) -> Wallet | None:
            wallet = await self.repo.wallet_by_account(c, acct.id)
            if wallet is None:
                return None
            await self.repo.update_account(
                c, wallet.driver_id, now, payout_ready=ready, payouts_enabled=acct.payouts_enabled,
                charges_enabled=acct.charges_enabled, details_submitted=acct.details_submitted,
                transfers_capability=acct.transfers_capability, disabled_reason=acct.disabled_reason,
                past_due_count=acct.past_due_count, account_synced_at=now)
            if ready != wallet.payout_ready:
                await self.event(c, "StripeAccountUpdated", f"account:{acct.id}:{now.timestamp()}", {
                    "driver_id": wallet.driver_id, "account": acct.id, "payout_ready": ready})
            return wallet

        if conn is not None:
            return await work(conn)
        async with self.db.transaction() as c:
            return await work(c)


def rest_status(state: str) -> str:
    return REST_STATUS[state]
