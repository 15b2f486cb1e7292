"""Stripe webhooks W9–W11 (§5.2): verify the signature over the raw bytes with the real SDK, then
de-duplicate by event id in the effect's transaction. Current event names only."""
from __future__ import annotations

import json
import logging
import time

import stripe
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import errors
from services.wallet import metrics
from services.wallet.adapters import stripe_gateway as sg
from services.wallet.app.payouts import PayoutEngine
from services.wallet.app.usecases import WalletUseCases

log = logging.getLogger("wallet.webhooks")

W9, W10, W11 = "wallet/stripe/webhook", "stripe/webhooks", "stripe/webhook"
CHECKOUT_TYPES = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                  "checkout.session.async_payment_failed", "checkout.session.expired")
SESSION_FIELDS = ("id", "status", "payment_status", "amount_total", "currency", "payment_intent",
                  "client_reference_id", "metadata")


class StripeWebhooks:
    def __init__(self, uc: WalletUseCases, engine: PayoutEngine | None) -> None:
        self.uc, self.engine = uc, engine
        self.config, self.repo, self.clock, self.db = uc.config, uc.repo, uc.clock, uc.db

    def _secrets(self, endpoint: str) -> list[str]:
        cfg = self.config
        if endpoint == W9:
            raw = cfg.stripe_payout_webhook_secret or cfg.stripe_webhook_secret
        elif endpoint in (W10, W11):
            raw = cfg.stripe_webhook_secret
        else:
            raise errors.InvalidArgument(f"Unknown webhook endpoint {endpoint!r}")
        return [s.strip() for s in (raw or "").split(",") if s.strip()]

    def verify(self, endpoint: str, body: bytes, signature: str | None) -> dict:
        secrets = self._secrets(endpoint)
        if not secrets:
            if not (self.config.is_development and self.config.stripe_webhook_allow_unsigned):
                raise errors.Unavailable("Webhook secret not configured", detail={
                    "status": "error", "reason": "webhook_secret_not_configured"})
        else:
            if not signature:
                raise errors.InvalidArgument("Missing webhook signature")
            tolerance = self.config.stripe_webhook_tolerance_seconds
            try:
                ts = int(dict(p.split("=", 1) for p in signature.split(",") if "=" in p).get("t", "x"))
            except ValueError:
                raise errors.InvalidArgument("Invalid signature") from None
            if ts > time.time() + tolerance:
                metrics.SIGNATURE_FAILURES.inc()
                raise errors.InvalidArgument("Invalid signature")
            verified = False
            for secret in secrets:
                try:
                    stripe.Webhook.construct_event(body, signature, secret, tolerance)
                    verified = True
                    break
                except stripe.SignatureVerificationError:
                    continue
                except ValueError:
                    raise errors.InvalidArgument("Invalid payload") from None
            if not verified:
                metrics.SIGNATURE_FAILURES.inc()
                raise errors.InvalidArgument("Invalid signature")
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise errors.InvalidArgument("Invalid payload") from None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str) \
                or not isinstance(event.get("data"), dict):
            raise errors.InvalidArgument("Invalid payload")
        return event

    async def handle(self, endpoint: str, body: bytes, signature: str | None) -> dict:
        event = self.verify(endpoint, body, signature)
        result = await self._apply(endpoint, event)
        metrics.WEBHOOK_EVENTS.labels(event["type"][:64], result.get("action") or result.get("status", "")).inc()
        return shape(endpoint, event["type"], result)

    async def _apply(self, endpoint: str, event: dict) -> dict:
        etype = event["type"]
        obj = event["data"].get("object") or {}
        if etype in CHECKOUT_TYPES:
            if (obj.get("metadata") or {}).get("type") == "campaign_funding" and endpoint in (W10, W11):
                return await self._relay_funding(event, obj)
            return {"status": "ignored", "event_type": etype}
        if not self.uc.live or self.engine is None:
            return {"status": "ignored", "reason": "mock_mode"}
        key_live = (self.config.stripe_secret_key or "").startswith("sk_live_")
        if bool(event.get("livemode")) != key_live:
            return {"status": "ignored", "reason": "livemode_mismatch"}
        if etype == "account.updated":
            return await self._account_updated(event, obj)
        if etype in ("transfer.created", "transfer.updated", "transfer.reversed"):
            return await self._transfer_event(event, obj)
        if etype.startswith("payout."):
            return await self._payout_event(event, obj)
        return {"status": "ignored", "event_type": etype}

    async def _claimed(self, conn: AsyncConnection, event: dict) -> bool:
        return await self.repo.claim_event(conn, event, self.clock.now())

    async def _duplicate(self, event_id: str) -> dict:
        async with self.db.read() as conn:
            row = await self.repo.event(conn, event_id)
        out = {"status": "already_processed"}
        if row is not None and row.payout_id:
            out["payout_id"] = row.payout_id
        return out

    async def _relay_funding(self, event: dict, obj: dict) -> dict:
        session = {k: obj.get(k) for k in SESSION_FIELDS}
        async with self.db.transaction() as conn:
            if not await self._claimed(conn, event):
                return await self._duplicate(event["id"])
            await self.uc.event(conn, "CampaignFundingReceived", event["id"], {
                "stripe_event_id": event["id"], "type": event["type"], "session": session})
            await self.repo.set_event_outcome(conn, event["id"], "relayed", None)
        self.uc.on_commit()
        return {"status": "success", "action": "relayed", "handler": "campaign_funding"}

    async def _account_updated(self, event: dict, obj: dict) -> dict:
        account_id = event.get("account") or obj.get("id")
        if not account_id:
            return {"status": "ignored", "reason": "no_account"}
        fresh = None
        try:
            fresh = await self.engine.provider.retrieve_account(account_id)
        except sg.StripeProblem:
            fresh = None
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await self._claimed(conn, event):
                return await self._duplicate(event["id"])
            wallet = await self.repo.wallet_by_account(conn, account_id)
            if wallet is None:
                await self.repo.set_event_outcome(conn, event["id"], "not_ours", None)
                return {"status": "ignored", "reason": "account_not_ours"}
            if fresh is None:
                synced = wallet.account_synced_at
                if synced is not None and int(event.get("created") or 0) < synced.timestamp():
                    await self.repo.set_event_outcome(conn, event["id"], "stale", None)
                    return {"status": "already_processed", "wallet_id": wallet.driver_id}
                fresh = sg.account_state(obj if obj.get("id") else {**obj, "id": account_id})
            await self.uc.store_account(fresh, now, conn)
            after = await self.repo.get(conn, wallet.driver_id)
            await self.repo.set_event_outcome(conn, event["id"], "applied", None)
        action = "onboarding_complete" if after.payout_ready else "status_updated"
        return {"status": "success", "wallet_id": wallet.driver_id, "action": action}

    async def _match(self, conn: AsyncConnection, obj: dict, id_column: str):
        pid = (obj.get("metadata") or {}).get("payout_id")
        if pid:
            row = await self.repo.payout(conn, pid)
            if row is not None:
                return row
        group = obj.get("transfer_group") or ""
        if group.startswith("payout_"):
            row = await self.repo.payout(conn, group[len("payout_"):])
            if row is not None:
                return row
        if obj.get("id"):
            return await self.repo.payout_by(conn, id_column, obj["id"])
        return None

    async def _transfer_event(self, event: dict, obj: dict) -> dict:
        etype = event["type"]
        now = self.clock.now()
        late = None
        async with self.db.transaction() as conn:
            if not await self._claimed(conn, event):
                return await self._duplicate(event["id"])
            row = await self._match(conn, obj, "stripe_transfer_id")
            if row is None:
                await self.repo.set_event_outcome(conn, event["id"], "not_ours", None)
                return {"status": "ignored", "reason": "transfer_not_ours"}
            await self.repo.lock(conn, row.driver_id)
            row = await self.repo.payout(conn, row.id)
            result = {"status": "already_processed", "payout_id": row.id}
            if etype == "transfer.created":
                mismatch = (obj.get("amount") != row.amount_cents or obj.get("currency") != "usd"
                            or (row.destination_account and obj.get("destination") != row.destination_account))
                if mismatch:
                    await self.repo.add_finding(conn, now, "amount_mismatch" if obj.get("amount") != row.amount_cents
                                                else "destination_mismatch", payout_id=row.id, driver_id=row.driver_id,
                                                stripe_object_id=obj.get("id"), local=row.amount_cents,
                                                remote=obj.get("amount"))
                elif row.state == "failed":
                    await self.repo.add_finding(conn, now, "late_transfer", payout_id=row.id, driver_id=row.driver_id,
                                                stripe_object_id=obj.get("id"), local=row.amount_cents,
                                                remote=obj.get("amount"))
                    await self.uc.event(conn, "PayoutNeedsAttention", f"attention:{row.id}:late_transfer",
                                        {"payout_id": row.id, "reason": "late_transfer"})
                    late = (row.id, obj.get("id"))
                    result = {"status": "success", "payout_id": row.id, "action": "late_transfer_reversal"}
                elif await self.engine._transferred(row.id, obj["id"], conn=conn):
                    result = {"status": "success", "payout_id": row.id, "action": "marked_transferred"}
            elif etype in ("transfer.reversed", "transfer.updated"):
                action = await self.engine.apply_transfer_reversals(row, obj, conn)
                if action is not None:
                    result = {"status": "success", "payout_id": row.id, "action": action}
            await self.repo.set_event_outcome(conn, event["id"], result.get("action", result["status"]), row.id)
        self.uc.on_commit()
        if late is not None:
            try:
                await self.engine.provider.reverse_transfer(payout_id=late[0], transfer_id=late[1],
                                                            key_suffix="late-reversal")
            except sg.StripeProblem:
                log.error("late transfer reversal failed", extra={"payout_id": late[0]})
        elif result.get("action") == "marked_transferred":
            await self.engine.bank_payout(row.id)
        return result

    async def _payout_event(self, event: dict, obj: dict) -> dict:
        etype = event["type"]
        if not event.get("account"):
            return {"status": "ignored", "reason": "payout_not_ours"}
        reverse_after = False
        async with self.db.transaction() as conn:
            if not await self._claimed(conn, event):
                return await self._duplicate(event["id"])
            row = await self._match(conn, obj, "stripe_payout_id")
            if row is None:
                await self.repo.set_event_outcome(conn, event["id"], "not_ours", None)
                return {"status": "ignored", "reason": "payout_not_ours"}
            result = {"status": "already_processed", "payout_id": row.id}
            if etype == "payout.paid":
                if await self.engine.mark_paid(row.id, conn):
                    result = {"status": "success", "payout_id": row.id, "action": "marked_paid"}
            elif etype in ("payout.failed", "payout.canceled"):
                if await self.engine.start_reversal(row.id, obj.get("failure_code") or etype.split(".")[1],
                                                    obj.get("failure_message"), conn):
                    reverse_after = True
                    result = {"status": "success", "payout_id": row.id, "action": "reversal_started"}
            else:
                await self.repo.update_payout(conn, row.id, self.clock.now(), stripe_payout_status=obj.get("status"))
                result = {"status": "success", "payout_id": row.id, "action": "status_updated"}
            await self.repo.set_event_outcome(conn, event["id"], result.get("action", result["status"]), row.id)
        self.uc.on_commit()
        if reverse_after:
            action = await self.engine.reverse(row.id)
            if action == "marked_failed":
                result["action"] = "marked_failed"
        return result


def shape(endpoint: str, event_type: str, result: dict) -> dict:
    if endpoint == W9:
        out = {k: v for k, v in result.items() if k != "handler"}
        if out.get("status") == "ignored" and "reason" not in out:
            out["event_type"] = event_type
        return out
    handled = result.get("status") == "success"
    out = {"event_type": event_type, "handled": handled}
    if result.get("handler"):
        out["handler"] = result["handler"]
    for k in ("status", "reason", "payout_id", "wallet_id", "action"):
        if k in result and not (k == "status" and handled):
            out[k] = result[k]
    if endpoint == W10:
        return {"received": True, **out}
    if not handled and result.get("status") == "ignored":
        out["message"] = f"Event type acknowledged: {event_type}"
    return {"ok": True, **out}
