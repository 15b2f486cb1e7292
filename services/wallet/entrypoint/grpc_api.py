"""gRPC entrypoint: protobuf ⇄ domain only; access checks from the JWT; errors from the kit."""
from __future__ import annotations

import datetime as dt
import json

from kit import errors
from kit.context import add_trailer
from kit.interceptors import require_roles
from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from services.wallet.app.payouts import PayoutEngine
from services.wallet.app.usecases import WalletUseCases, rest_status
from services.wallet.app.webhooks import StripeWebhooks
from services.wallet.domain.wallet import request_hash
from services.wallet.adapters.tables import reconciliation_findings, reconciliation_runs

DRIVER = "Driver access required"


def _ts(field, value: dt.datetime | None) -> None:
    if value is not None:
        field.FromDatetime(value)


def _replayed(flag: bool) -> None:
    if flag:
        add_trailer("idempotent-replayed", "true")


def payout_detail(row) -> wallet_pb2.PayoutDetail:
    pb = wallet_pb2.PayoutDetail(
        id=row.id, driver_id=row.driver_id, amount_cents=row.amount_cents, fee_cents=row.fee_cents,
        state=row.state, status=rest_status(row.state), attempt=row.attempt, mock=row.mock,
        amount_reversed_cents=row.amount_reversed_cents, no_transfer_confirmed=row.no_transfer_confirmed)
    for name in ("request_id", "destination_account", "stripe_transfer_id", "stripe_payout_id",
                 "stripe_reversal_id", "failure_code", "failure_reason"):
        if getattr(row, name) is not None:
            setattr(pb, name, getattr(row, name))
    for name in ("created_at", "updated_at", "paid_at", "failed_at", "reconciled_at"):
        _ts(getattr(pb, name), getattr(row, name))
    return pb


class WalletApi(wallet_pb2_grpc.WalletServiceServicer):
    def __init__(self, usecases: WalletUseCases, engine: PayoutEngine | None = None,
                 webhooks: StripeWebhooks | None = None, nova=None) -> None:
        self.uc = usecases
        self.engine = engine
        self.webhooks = webhooks or StripeWebhooks(usecases, engine)
        self.nova = nova  # async (driver_id) -> int | None

    # ---- driver ------------------------------------------------------------------------------
    async def GetBalance(self, request, context):
        caller = require_roles("driver", message=DRIVER)
        view = await self.uc.get_balance(caller.sub)
        w = view.wallet
        return wallet_pb2.GetBalanceResponse(
            available_cents=w.balance_cents, pending_cents=w.pending_balance_cents,
            total_earned_cents=w.total_earned_cents, total_withdrawn_cents=w.total_withdrawn_cents,
            can_withdraw=view.can_withdraw, minimum_withdrawal_cents=view.policy.min_cents,
            fee_threshold_cents=view.policy.fee_threshold_cents,
            stripe_onboarding_complete=view.onboarding_complete, debt_cents=w.debt_cents,
            payout_provider="stripe", bank_verified=view.onboarding_complete,
        )

    async def ListLedgerEntries(self, request, context):
        caller = require_roles("driver", message=DRIVER)
        rows = await self.uc.list_ledger(caller.sub, request.limit if request.HasField("limit") else None,
                                         request.offset if request.HasField("offset") else None)
        resp = wallet_pb2.ListLedgerEntriesResponse(count=len(rows))
        for r in rows:
            e = resp.entries.add(id=str(r.id), amount_cents=r.amount_cents, balance_after_cents=r.balance_after_cents,
                                 transaction_type=r.transaction_type or "")
            if r.description is not None:
                e.description = r.description
            _ts(e.created_at, r.created_at)
            if r.reference_type == "campaign_grant":
                if r.campaign_name is not None:
                    e.campaign_name = r.campaign_name
                if r.sponsor_name is not None:
                    e.sponsor_name = r.sponsor_name
        return resp

    async def ListPayouts(self, request, context):
        caller = require_roles("driver", message=DRIVER)
        rows = await self.uc.list_payouts(caller.sub, request.limit if request.HasField("limit") else None)
        resp = wallet_pb2.ListPayoutsResponse()
        for r in rows:
            p = resp.payouts.add(id=r.id, amount_cents=r.amount_cents, status=rest_status(r.state))
            _ts(p.created_at, r.created_at)
            _ts(p.paid_at, r.paid_at)
            if r.failure_reason is not None and r.state in ("failed", "reversing"):
                p.failure_reason = r.failure_reason
        return resp

    async def RequestWithdrawal(self, request, context):
        caller = require_roles("driver", message=DRIVER)
        out = await self.uc.request_withdrawal(caller.sub, request.amount_cents, request.request_id)
        _replayed(out["replayed"] and bool(request.request_id))
        row = out["payout"]
        resp = wallet_pb2.RequestWithdrawalResponse(
            payout_id=row.id, status=rest_status(row.state), amount_cents=row.amount_cents,
            fee_cents=row.fee_cents, payout_state=row.state)
        if row.mock:
            resp.mock = True
        if row.stripe_transfer_id:
            resp.transfer_id = row.stripe_transfer_id
            resp.stripe_transfer_id = row.stripe_transfer_id
        if out["message"]:
            resp.message = out["message"]
        return resp

    async def GetWithdrawalFee(self, request, context):
        require_roles("driver", message=DRIVER)
        fee = self.uc.withdrawal_fee(request.amount_cents)
        return wallet_pb2.GetWithdrawalFeeResponse(amount_cents=request.amount_cents, fee_cents=fee,
                                                   net_cents=request.amount_cents)

    async def CreateStripeAccount(self, request, context):
        caller = require_roles("driver", message=DRIVER)
        out, replayed = await self.uc.once(
            "CreateStripeAccount", caller.sub, request.request_id, request_hash(request.email),
            lambda: self.uc.create_stripe_account(caller.sub, request.email or caller.email))
        _replayed(replayed)
        return wallet_pb2.CreateStripeAccountResponse(**out)

    async def CreateAccountLink(self, request, context):
        caller = require_roles("driver", message=DRIVER)

        async def link() -> dict:
            url, expires = await self.uc.create_account_link(caller.sub, request.return_url, request.refresh_url)
            return {"url": url, "expires_at": expires.timestamp()}

        out, replayed = await self.uc.once("CreateAccountLink", caller.sub, request.request_id,
                                           request_hash(request.return_url, request.refresh_url), link)
        _replayed(replayed)
        resp = wallet_pb2.CreateAccountLinkResponse(url=out["url"])
        _ts(resp.expires_at, dt.datetime.fromtimestamp(out["expires_at"], dt.timezone.utc))
        return resp

    async def GetStripeAccountStatus(self, request, context):
        caller = require_roles("driver", message=DRIVER)
        return wallet_pb2.GetStripeAccountStatusResponse(**await self.uc.account_status(caller.sub))

    # ---- webhooks ----------------------------------------------------------------------------
    async def HandleStripeWebhook(self, request, context):
        require_roles("service", message="Service access required")
        signature = None
        for key, value in context.invocation_metadata() or ():
            if key == "stripe-signature":
                signature = value
        signature = signature or request.stripe_signature or None
        reply = await self.webhooks.handle(request.endpoint, bytes(request.body.data), signature)
        resp = wallet_pb2.HandleStripeWebhookResponse()
        resp.reply.update(reply)
        return resp

    async def HandleDwollaWebhook(self, request, context):
        require_roles("service", message="Service access required")
        return wallet_pb2.HandleDwollaWebhookResponse(status="ignored", reason="dwolla_disabled")

    # ---- admin -------------------------------------------------------------------------------
    async def AdminCredit(self, request, context):
        caller = require_roles("admin", message="Admin access required")
        out = await self.uc.admin_credit(
            admin=caller.sub, driver_id=request.driver_id, amount_cents=request.amount_cents,
            reference_type=request.reference_type if request.HasField("reference_type") else None,
            description=request.description if request.HasField("description") else None,
            request_id=request.request_id)
        _replayed(out["replayed"])
        return wallet_pb2.AdminCreditResponse(new_balance_cents=out["new_balance_cents"],
                                              ledger_id=out["ledger_id"] or "")

    async def AdminGetWallet(self, request, context):
        require_roles("admin", message="Required role: admin")
        wallet, rows = await self.uc.admin_get_wallet(request.user_id)
        resp = wallet_pb2.AdminGetWalletResponse(user_id=wallet.driver_id, balance_cents=wallet.balance_cents)
        if self.nova is not None:
            nova = await self.nova(wallet.driver_id)
            if nova is not None:
                resp.nova_balance = nova
        for r in rows:
            t = resp.transactions.add(id=str(r.id), cents=r.amount_cents, reason=r.transaction_type or "")
            t.meta.update({"reference_type": r.reference_type, "reference_id": r.reference_id,
                           "journal_id": r.journal_id})
            _ts(t.created_at, r.created_at)
        return resp

    async def AdminAdjustWallet(self, request, context):
        caller = require_roles("admin", message="Required role: admin")
        out = await self.uc.admin_adjust(admin=caller.sub, user_id=request.user_id,
                                         amount_cents=request.amount_cents, reason=request.reason,
                                         request_id=request.request_id)
        _replayed(out["replayed"])
        return wallet_pb2.AdminAdjustWalletResponse(
            success=True, user_id=request.user_id, amount_cents=request.amount_cents,
            before_balance_cents=out["before_balance_cents"], after_balance_cents=out["after_balance_cents"])

    # ---- service-to-service ------------------------------------------------------------------
    async def Credit(self, request, context):
        caller = require_roles("service", message="Service access required")
        out = await self.uc.credit(
            idempotency_key=request.idempotency_key, driver_id=request.driver_id,
            amount_cents=request.amount_cents, reference_type=request.reference_type,
            reference_id=request.reference_id,
            campaign_name=request.campaign_name if request.HasField("campaign_name") else None,
            sponsor_name=request.sponsor_name if request.HasField("sponsor_name") else None,
            merchant_name=request.merchant_name if request.HasField("merchant_name") else None,
            created_by=caller.sub)
        _replayed(out["replayed"])
        return wallet_pb2.CreditResponse(journal_id=out["journal_id"], balance_after_cents=out["balance_after_cents"],
                                         debt_repaid_cents=out["debt_repaid_cents"], replayed=out["replayed"])

    async def Clawback(self, request, context):
        caller = require_roles("service", message="Service access required")
        out = await self.uc.clawback(
            idempotency_key=request.idempotency_key, driver_id=request.driver_id,
            amount_cents=request.amount_cents, reference_type=request.reference_type,
            reference_id=request.reference_id, original_key=request.original_key,
            reason=request.reason if request.HasField("reason") else None, created_by=caller.sub)
        _replayed(out["replayed"])
        return wallet_pb2.ClawbackResponse(journal_id=out["journal_id"], balance_after_cents=out["balance_after_cents"],
                                           applied_cents=out["applied_cents"], debt_added_cents=out["debt_added_cents"],
                                           replayed=out["replayed"])

    # ---- admin operations (gRPC only) --------------------------------------------------------
    def _need_engine(self) -> PayoutEngine:
        if self.engine is None:
            raise errors.FailedPrecondition("Live payouts are disabled (ENABLE_STRIPE_PAYOUTS=false)")
        return self.engine

    async def ReconcilePayout(self, request, context):
        require_roles("admin", message="Admin access required")
        async with self.uc.db.read() as conn:
            row = await self.uc.repo.payout(conn, request.payout_id)
        if row is None:
            raise errors.NotFound("Payout not found")
        action = "not_needed"
        if row.state in ("processing", "unknown", "transferred", "reversing") and not row.mock:
            action = await self._need_engine().resolve(request.payout_id, raise_unavailable=True)
        async with self.uc.db.read() as conn:
            row = await self.uc.repo.payout(conn, request.payout_id)
        return wallet_pb2.ReconcilePayoutResponse(action=action, payout=payout_detail(row))

    async def ListReconciliationFindings(self, request, context):
        import sqlalchemy as sa

        require_roles("admin", message="Admin access required")
        limit = request.limit if request.HasField("limit") else 50
        offset = request.offset if request.HasField("offset") else 0
        if limit < 0 or offset < 0:
            raise errors.InvalidArgument("limit and offset must not be negative")
        f = reconciliation_findings.c
        stmt = sa.select(reconciliation_findings)
        async with self.uc.db.read() as conn:
            if request.HasField("run_id"):
                if (await conn.execute(sa.select(reconciliation_runs.c.id).where(
                        reconciliation_runs.c.id == request.run_id))).first() is None:
                    raise errors.NotFound("Reconciliation run not found")
                stmt = stmt.where(f.run_id == request.run_id)
            if request.HasField("kind"):
                stmt = stmt.where(f.kind == request.kind)
            if request.HasField("payout_id"):
                stmt = stmt.where(f.payout_id == request.payout_id)
            if not request.include_resolved:
                stmt = stmt.where(f.resolved_at.is_(None))
            rows = list(await conn.execute(stmt.order_by(f.created_at.desc()).limit(min(limit, 200)).offset(offset)))
            latest = (await conn.execute(sa.select(reconciliation_runs).order_by(
                reconciliation_runs.c.started_at.desc()).limit(1))).first()
        resp = wallet_pb2.ListReconciliationFindingsResponse()
        for r in rows:
            pb = resp.findings.add(id=r.id, kind=r.kind)
            for name in ("run_id", "payout_id", "driver_id", "stripe_object_id", "local_amount_cents",
                         "remote_amount_cents", "resolved_by"):
                if getattr(r, name) is not None:
                    setattr(pb, name, getattr(r, name))
            pb.details.update(json.loads(r.details or "{}"))
            _ts(pb.created_at, r.created_at)
            _ts(pb.resolved_at, r.resolved_at)
        if latest is not None:
            _run_pb(resp.latest_run, latest)
        return resp

    async def _breaker_pb(self) -> wallet_pb2.PayoutBreaker:
        cfg = self.uc.config
        now = self.uc.clock.now()
        async with self.uc.db.read() as conn:
            b = await self.uc.repo.breaker(conn)
            count, amount, failures = await self.uc.repo.attempt_window(
                conn, now - dt.timedelta(seconds=cfg.payout_breaker_window_seconds), now - dt.timedelta(seconds=300))
        pb = wallet_pb2.PayoutBreaker(state=b.state, reason=b.reason, changed_by=b.changed_by, window_count=count,
                                      window_amount_cents=amount, recent_failures=failures,
                                      max_count=cfg.payout_breaker_max_count,
                                      max_amount_cents=cfg.payout_breaker_max_amount_cents,
                                      failure_threshold=cfg.payout_breaker_failures)
        _ts(pb.open_until, b.open_until)
        _ts(pb.changed_at, b.changed_at)
        return pb

    async def GetPayoutBreaker(self, request, context):
        require_roles("admin", message="Admin access required")
        return wallet_pb2.GetPayoutBreakerResponse(breaker=await self._breaker_pb())

    async def SetPayoutBreaker(self, request, context):
        caller = require_roles("admin", message="Admin access required")
        if request.state not in ("open", "closed"):
            raise errors.InvalidArgument('state must be "open" or "closed"')
        if len(request.reason) > 500:
            raise errors.InvalidArgument("reason must be at most 500 characters")
        now = self.uc.clock.now()

        async def work(conn):
            b = await self.uc.repo.breaker(conn, lock=True)
            if b.state == request.state:
                return
            await self.uc.repo.set_breaker(conn, now, state=request.state, reason="admin", open_until=None,
                                           changed_by=caller.sub)
            await self.uc.repo.audit(conn, admin_sub=caller.sub, action=f"breaker_{request.state}",
                                     reason=request.reason or None, request_id=request.request_id or None,
                                     created_at=now)
            await self.uc.event(conn, "PayoutBreakerChanged", f"breaker:{now.timestamp()}:{request.state}",
                                {"state": request.state, "by": caller.sub, "reason": request.reason})

        await self.uc.tx(work)
        return wallet_pb2.SetPayoutBreakerResponse(breaker=await self._breaker_pb())

    async def RunPayoutJob(self, request, context):
        require_roles("admin", message="Admin access required")
        job = request.job or "payout"
        if job not in ("payout", "reconciliation"):
            raise errors.InvalidArgument('job must be "payout" or "reconciliation"')
        engine = self._need_engine()
        resp = wallet_pb2.RunPayoutJobResponse(job=job)
        if job == "payout":
            s = await engine.run_job()
            resp.payout_job.CopyFrom(wallet_pb2.PayoutJobSummary(**s.__dict__))
        else:
            import sqlalchemy as sa

            run_id = await engine.reconcile()
            async with self.uc.db.read() as conn:
                row = (await conn.execute(sa.select(reconciliation_runs).where(
                    reconciliation_runs.c.id == run_id))).first()
            _run_pb(resp.reconciliation, row)
        return resp


def _run_pb(pb, row) -> None:
    pb.id = row.id
    pb.status = row.status
    pb.transfers_checked = row.transfers_checked
    pb.payouts_checked = row.payouts_checked
    pb.findings_count = row.findings_count
    pb.internal_checks_ok = row.internal_checks_ok
    for name in ("window_start", "window_end", "started_at", "finished_at"):
        _ts(getattr(pb, name), getattr(row, name))
