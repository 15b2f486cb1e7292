"""Incentives use cases: open a unit of work, load, apply the domain rules, save, and add outbox
events in the SAME transaction."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import errors
from kit import outbox as kout
from kit.auth import Principal
from kit.clock import Clock, SystemClock
from kit.db import Database
from services.incentives.adapters import metrics as m
from services.incentives.adapters import tables as t
from services.incentives.adapters.nova_ledger import NovaLedger
from services.incentives.adapters.peers import ChargerDirectory, StaticChargers
from services.incentives.adapters.repository import (
    CampaignRepository, DriverRepository, GrantRepository, SessionRepository, advisory_key)
from services.incentives.domain import campaigns as dc
from services.incentives.domain import index as idx
from services.incentives.domain import nova, reputation
from services.incentives.domain.campaigns import Campaign
from services.incentives.domain.rules import (
    DEFAULT_BLOCKING_FLAGS, Session, Targeting, cap_buckets, failing_cap, first_failing_rule, gate)
from services.incentives.domain.timezones import DEFAULT_TIME_ZONE, validate_zone, zone

log = logging.getLogger("incentives.usecases")

SPONSOR_REQUIRED = "Sponsor or admin access required"
ADMIN_REQUIRED = "Required role: admin"
MAX_RETRIES = 3
FUNDING_COMPLETED = "checkout.session.completed"
FUNDING_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
FUNDING_ASYNC_FAILED = "checkout.session.async_payment_failed"
FUNDING_EXPIRED = "checkout.session.expired"
FUNDING_TYPES = (FUNDING_COMPLETED, FUNDING_ASYNC_SUCCEEDED, FUNDING_ASYNC_FAILED, FUNDING_EXPIRED)


def require_uuid(value: str, field: str) -> str:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise errors.InvalidArgument(f"{field} must be a UUID") from None
    return value


def require_sponsor(caller: Principal) -> None:
    if not caller.has_any("sponsor", "admin"):
        raise errors.PermissionDenied(SPONSOR_REQUIRED, reason="SPONSOR_REQUIRED")


def require_admin(caller: Principal) -> None:
    if not caller.is_admin:
        raise errors.PermissionDenied(ADMIN_REQUIRED, reason="ADMIN_REQUIRED")


def require_service(caller: Principal, *, admin_ok: bool = False) -> None:
    if not (caller.is_service or (admin_ok and caller.is_admin)):
        raise errors.PermissionDenied("Service access required" + (" (or admin)" if admin_ok else ""),
                                      reason="SERVICE_REQUIRED")


def _owned(camp: Campaign | None, caller: Principal) -> Campaign:
    if camp is None or (not caller.is_admin and camp.owner_id != caller.sub):
        raise errors.NotFound("Campaign not found", reason="CAMPAIGN_NOT_FOUND")
    return camp


def _transient(exc: BaseException) -> bool:
    """A serialization failure, a deadlock or a unique race: the transaction is retried."""
    if isinstance(exc, sa_exc.IntegrityError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        code = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(
            getattr(getattr(exc, "orig", None), "__cause__", None), "sqlstate", None)
        return code in ("40001", "40P01")
    return False


@dataclasses.dataclass(frozen=True)
class EvalOutcome:
    outcome: str
    reason: str | None = None
    grant: dict[str, Any] | None = None
    candidates_examined: int = 0
    replayed: bool = False


@dataclasses.dataclass(frozen=True)
class Budget:
    budget_cents: int
    spent_cents: int
    remaining_cents: int
    pct_used: float
    sessions_granted: int
    max_sessions: int | None


class IncentivesUseCases:
    def __init__(self, db: Database, clock: Clock | None = None, *, platform_fee_bps: int = 2000,
                 chargers: ChargerDirectory | None = None,
                 blocking_flags: frozenset[str] = DEFAULT_BLOCKING_FLAGS,
                 env: str = "development", default_driver_time_zone: str = DEFAULT_TIME_ZONE) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.platform_fee_bps = platform_fee_bps
        self.chargers: ChargerDirectory = chargers or StaticChargers()
        self.blocking_flags = blocking_flags
        self.env = env
        self.default_driver_time_zone = default_driver_time_zone
        self.campaigns = CampaignRepository(db)
        self.grants = GrantRepository()
        self.sessions = SessionRepository()
        self.drivers = DriverRepository(db)
        self.nova = NovaLedger(db)
        self.on_commit_events: list[Any] = []  # e.g. the dispatcher's wake()
        self.checkout: Any = None  # a CheckoutGateway in live mode; None = mock funding
        self.console_url = "http://localhost:3000"

    def _events_committed(self) -> None:
        for cb in self.on_commit_events:
            cb()

    async def _event(self, conn: AsyncConnection, topic: str, key: str, payload: dict[str, Any]) -> None:
        await kout.add_event(conn, t.outbox_table, self.db, topic=topic, key=key, payload=payload,
                             now=self.clock.now())

    # --------------------------------------------------------------------------------------------
    # Campaigns (I2–I11, cancel)
    # --------------------------------------------------------------------------------------------

    async def list_campaigns(self, caller: Principal, *, status: str | None, sponsor_name: str | None,
                             limit: int | None, offset: int | None) -> tuple[list[Campaign], int]:
        q = dc.campaign_query(caller_id=caller.sub, is_admin=caller.is_admin, status=status,
                              sponsor_name=sponsor_name, limit=limit, offset=offset)
        async with self.db.read() as conn:
            return await self.campaigns.list(conn, q)

    def _targets(self, camp: Campaign) -> tuple[str, list[str]]:
        return idx.primary_targets(camp.rules, camp.time_zone, now=self.clock.now(),
                                   starts_at=camp.starts_at, ends_at=camp.ends_at)

    async def create_campaign(self, caller: Principal, values: Mapping[str, Any], request_id: str | None) -> Campaign:
        require_sponsor(caller)
        owner = caller.sub
        if values.get("owner_id"):
            if not caller.is_admin:
                raise errors.PermissionDenied("Only an admin can set owner_id", reason="ADMIN_REQUIRED")
            owner = str(values["owner_id"]).strip()
        now = self.clock.now()
        camp = dc.new_campaign(values, campaign_id=str(uuid.uuid4()), owner_id=owner, now=now,
                               request_id=request_id)
        dim, keys = self._targets(camp)
        camp = dataclasses.replace(camp, index_dimension=dim)
        try:
            async with self.db.transaction() as conn:
                if request_id:
                    existing = await self.campaigns.by_request(conn, owner, request_id)
                    if existing is not None:
                        return existing
                await self.campaigns.insert(conn, camp)
                await self.campaigns.set_targets(conn, camp, dim, keys)
                await self.campaigns.history(conn, camp.id, None, "draft", caller.sub, None, now)
        except sa_exc.IntegrityError:
            if not request_id:
                raise
            async with self.db.read() as conn:
                existing = await self.campaigns.by_request(conn, owner, request_id)
            if existing is None:
                raise
            return existing
        return camp

    async def get_campaign(self, caller: Principal, campaign_id: str) -> Campaign:
        require_uuid(campaign_id, "campaign_id")
        async with self.db.read() as conn:
            return _owned(await self.campaigns.get(conn, campaign_id), caller)

    async def update_campaign(self, caller: Principal, campaign_id: str, paths: Sequence[str],
                              values: Mapping[str, Any]) -> Campaign:
        require_sponsor(caller)
        require_uuid(campaign_id, "campaign_id")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            camp = _owned(await self.campaigns.get(conn, campaign_id, for_update=True), caller)
            updated = dc.apply_update(camp, paths, values, is_admin=caller.is_admin, now=now)
            if updated is camp:
                return camp
            if (updated.rules, updated.time_zone, updated.starts_at, updated.ends_at, updated.priority) != (
                    camp.rules, camp.time_zone, camp.starts_at, camp.ends_at, camp.priority):
                dim, keys = self._targets(updated)
                updated = dataclasses.replace(updated, index_dimension=dim)
                await self.campaigns.set_targets(conn, updated, dim, keys)
            await self.campaigns.save(conn, updated)
            return dataclasses.replace(updated, version=updated.version + 1)

    async def _transition(self, caller: Principal, campaign_id: str, check, change, *,
                          reason: str | None = None, request_id: str | None = None, op: str = "") -> Campaign:
        require_sponsor(caller)
        require_uuid(campaign_id, "campaign_id")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            camp = _owned(await self.campaigns.get(conn, campaign_id, for_update=True), caller)
            if request_id:
                # a replay of the same key returns the campaign instead of failing the guard again
                key = f"campaign:{op}:{campaign_id}:{caller.sub}:{request_id}"[:200]
                if not await kout.Inbox(self.db, t.inbox_table).claim(conn, key, now):
                    return camp
            check(camp, now)
            values = change(camp, now)
            await self.campaigns.set_status(conn, camp.id, **values, updated_at=now, version=camp.version + 1)
            await self.campaigns.history(conn, camp.id, camp.status, values["status"], caller.sub, reason, now)
            return await self.campaigns.get(conn, camp.id)  # type: ignore[return-value]

    async def activate_campaign(self, caller: Principal, campaign_id: str, request_id: str | None = None) -> Campaign:
        return await self._transition(caller, campaign_id, dc.check_activate, lambda c, now: {"status": "active"},
                                      request_id=request_id, op="activate")

    async def pause_campaign(self, caller: Principal, campaign_id: str, reason: str | None,
                             request_id: str | None = None) -> Campaign:
        reason = dc.check_reason(reason)
        return await self._transition(caller, campaign_id, dc.check_pause, lambda c, now: {
            "status": "paused", "paused_at": now, "pause_reason": reason}, reason=reason,
            request_id=request_id, op="pause")

    async def resume_campaign(self, caller: Principal, campaign_id: str, request_id: str | None = None) -> Campaign:
        return await self._transition(caller, campaign_id, dc.check_resume, lambda c, now: {"status": "active"},
                                      request_id=request_id, op="resume")

    async def cancel_campaign(self, caller: Principal, campaign_id: str, reason: str | None,
                              request_id: str | None = None) -> tuple[Campaign, int]:
        reason = dc.check_reason(reason)
        camp = await self._transition(caller, campaign_id, dc.check_cancel, lambda c, now: {
            "status": "canceled", "canceled_at": now, "cancel_reason": reason}, reason=reason,
            request_id=request_id, op="cancel")
        return camp, max(0, camp.budget_cents - camp.spent_cents)

    async def list_campaign_grants(self, caller: Principal, campaign_id: str, limit: int | None,
                                   offset: int | None) -> tuple[list[Any], int]:
        require_uuid(campaign_id, "campaign_id")
        lim, off = dc.page(limit, offset)
        async with self.db.read() as conn:
            _owned(await self.campaigns.get(conn, campaign_id), caller)
            return await self.grants.list_for_campaign(conn, campaign_id, lim, off)

    async def get_campaign_budget(self, caller: Principal, campaign_id: str) -> Budget:
        camp = await self.get_campaign(caller, campaign_id)
        return Budget(camp.budget_cents, camp.spent_cents, camp.budget_cents - camp.spent_cents,
                      dc.pct_used(camp.budget_cents, camp.spent_cents), camp.sessions_granted, camp.max_sessions)

    async def inspect_campaign(self, caller: Principal, campaign_id: str) -> Campaign:
        require_admin(caller)
        return await self.get_campaign(caller, campaign_id)

    async def sweep_completed(self) -> list[str]:
        """The 60 s sweeper: active/paused/exhausted → completed once ``ends_at`` + 120 min passed."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            done = await self.campaigns.complete_ended(conn, now - dc.COMPLETION_GRACE, now)
            for cid in done:
                await self.campaigns.history(conn, cid, None, "completed", "system:sweeper", "ended", now)
        return done

    # --------------------------------------------------------------------------------------------
    # Funding (I7, ApplyCampaignFunding; spec §5, §7)
    # --------------------------------------------------------------------------------------------

    async def create_campaign_checkout(self, caller: Principal, campaign_id: str) -> dict[str, Any]:
        require_sponsor(caller)
        camp = await self.get_campaign(caller, campaign_id)
        if camp.status != "draft":
            raise errors.FailedPrecondition("Only draft campaigns can be funded via checkout")
        if camp.funding_status == "funded":
            raise errors.FailedPrecondition("Campaign is already funded")
        if self.checkout is None:
            return await self.fund_mock(caller, campaign_id)
        return await self._live_checkout(camp)

    async def fund_mock(self, caller: Principal, campaign_id: str) -> dict[str, Any]:
        """Mock mode: funds at once through the same funding use case, without auto-activation."""
        require_sponsor(caller)
        camp = await self.get_campaign(caller, campaign_id)
        gross = camp.budget_cents
        fee, net = dc.platform_fee(gross, self.platform_fee_bps)
        session_id = f"cs_mock_{uuid.uuid4().hex}"
        result = await self._apply_funding(f"evt_mock_{uuid.uuid4().hex}", FUNDING_COMPLETED, {
            "id": session_id, "status": "complete", "payment_status": "paid", "amount_total": gross,
            "currency": "usd", "client_reference_id": camp.id,
            "metadata": {"type": "campaign_funding", "campaign_id": camp.id, "gross_amount_cents": str(gross),
                         "platform_fee_cents": str(fee), "net_reward_cents": str(net),
                         "platform_fee_bps": str(self.platform_fee_bps)}}, auto_activate=False)
        if result["result"] != "funded":
            raise errors.FailedPrecondition(f"Campaign could not be funded ({result['result']})")
        return {"checkout_url": None, "session_id": session_id, "status": "funded",
                "message": "Campaign funded (mock mode, no payment taken). Activate it to start."}

    async def _live_checkout(self, camp: Campaign) -> dict[str, Any]:
        from services.incentives.adapters.stripe_checkout import CheckoutError
        if camp.budget_cents < 50:
            raise errors.FailedPrecondition("Checkout needs a budget of at least 50 cents")
        try:
            if camp.funding_status == "pending" and camp.stripe_checkout_session_id:
                current = await self.checkout.retrieve(camp.stripe_checkout_session_id)
                if current.status == "open":
                    return {"checkout_url": None, "session_id": current.id, "status": "already_pending",
                            "message": "A checkout for this campaign is already pending; complete or let it expire."}
                if current.status == "complete" and current.payment_status == "paid":
                    await self._apply_funding(f"evt_reconcile_{current.id}", FUNDING_COMPLETED,
                                              _session_dict(current))
                    raise errors.FailedPrecondition("Campaign is already funded")
            gross = camp.budget_cents
            fee, net = dc.platform_fee(gross, self.platform_fee_bps)
            attempt = camp.checkout_attempt + 1
            now = self.clock.now()
            line_items = [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": amount,
                                                          "product_data": {"name": label}}}
                          for label, amount in ((f"Campaign rewards: {camp.name}", net), ("Nerava platform fee", fee))
                          if amount > 0]
            base = self.console_url.rstrip("/")
            params = {
                "mode": "payment", "line_items": line_items, "client_reference_id": camp.id,
                "success_url": f"{base}/campaigns/{camp.id}?funded=true",
                "cancel_url": f"{base}/campaigns/{camp.id}?funded=false",
                "expires_at": int((now + dt.timedelta(minutes=60)).timestamp()),
                "metadata": {"type": "campaign_funding", "campaign_id": camp.id, "gross_amount_cents": str(gross),
                             "platform_fee_cents": str(fee), "net_reward_cents": str(net),
                             "platform_fee_bps": str(self.platform_fee_bps)}}
            created = await self.checkout.create(params=params, idempotency_key=f"campaign_checkout_{camp.id}_{attempt}")
        except CheckoutError as exc:
            raise errors.Unavailable(f"Failed to create checkout: {exc.code}", reason="CHECKOUT_FAILED") from None
        c = t.campaigns
        async with self.db.transaction() as conn:
            await conn.execute(sa.update(c).where(
                c.c.id == camp.id, c.c.checkout_attempt == camp.checkout_attempt, c.c.status == "draft",
                c.c.funding_status.in_(("unfunded", "pending")),
            ).values(checkout_attempt=attempt, stripe_checkout_session_id=created.id, funding_status="pending",
                     updated_at=self.clock.now()))
        return {"checkout_url": created.url, "session_id": created.id, "status": None, "message": None}

    async def apply_campaign_funding(self, caller: Principal, event_id: str, event_type: str,
                                     session: Mapping[str, Any]) -> dict[str, Any]:
        require_service(caller)
        if not event_id:
            raise errors.InvalidArgument("stripe_event_id is required")
        for attempt in range(MAX_RETRIES + 1):
            try:
                result = await self._apply_funding(event_id, event_type, session)
                m.FUNDING_RESULTS.labels(result["result"]).inc()
                return result
            except sa_exc.DBAPIError as exc:
                if not _transient(exc) or attempt == MAX_RETRIES:
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.05))
        raise AssertionError("unreachable")

    async def _apply_funding(self, event_id: str, event_type: str, session: Mapping[str, Any], *,
                             auto_activate: bool = True) -> dict[str, Any]:
        f = t.campaign_fundings
        now = self.clock.now()
        md = dict(session.get("metadata") or {})
        checkout_id = session.get("id") or None
        async with self.db.transaction() as conn:
            claimed = await self.db.insert_ignore(conn, f, {
                "id": str(uuid.uuid4()), "stripe_event_id": event_id, "event_type": event_type,
                "checkout_session_id": checkout_id, "state": "processing", "created_at": now},
                index_elements=["stripe_event_id"])
            if not claimed:
                row = (await conn.execute(sa.select(f.c.result).where(f.c.stripe_event_id == event_id))).one()
                return {**(row.result or {"result": "ignored"}), "replayed": True}
            result = await self._funding_effect(conn, event_type, session, md, now, auto_activate)
            state = "applied" if result["result"] == "funded" and not result.get("replayed") else result["result"]
            await conn.execute(sa.update(f).where(f.c.stripe_event_id == event_id).values(
                state=state, campaign_id=result.get("campaign_id"), result=result,
                gross_cents=result.get("gross_funding_cents"), fee_cents=result.get("platform_fee_cents"),
                net_cents=result.get("net_funding_cents"), fee_bps=self.platform_fee_bps if state == "applied" else None))
            return result

    async def _funding_effect(self, conn: AsyncConnection, event_type: str, session: Mapping[str, Any],
                              md: Mapping[str, Any], now: dt.datetime, auto_activate: bool) -> dict[str, Any]:
        def out(result: str, camp: Campaign | None = None, **extra: Any) -> dict[str, Any]:
            base: dict[str, Any] = {"result": result, "campaign_id": camp.id if camp else campaign_id,
                                    "funding_status": camp.funding_status if camp else None,
                                    "campaign_status": camp.status if camp else None, "activated": False,
                                    "replayed": False}
            base.update(extra)
            return base

        campaign_id = str(md.get("campaign_id") or session.get("client_reference_id") or "") or None
        if md.get("type") != "campaign_funding" or event_type not in FUNDING_TYPES:
            return out("ignored")
        try:
            uuid.UUID(campaign_id or "")
        except ValueError:
            return out("needs_review")
        camp = await self.campaigns.get(conn, campaign_id, for_update=True)  # type: ignore[arg-type]
        if camp is None:
            return out("needs_review")
        checkout_id = session.get("id")
        if event_type in (FUNDING_EXPIRED, FUNDING_ASYNC_FAILED):
            if camp.funding_status == "pending" and camp.stripe_checkout_session_id == checkout_id:
                await self.campaigns.set_status(conn, camp.id, funding_status="unfunded", updated_at=now)
                return out("unfunded", dataclasses.replace(camp, funding_status="unfunded"))
            return out("ignored", camp)
        if event_type == FUNDING_COMPLETED and session.get("payment_status") not in ("paid", "no_payment_required"):
            return out("pending", camp)
        gross = int(session.get("amount_total") or 0)
        expected = md.get("gross_amount_cents")
        if (session.get("currency") or "").lower() != "usd" or gross <= 0 or (
                expected not in (None, "") and str(expected) != str(gross)):
            log.error("campaign funding amount mismatch", extra={"campaign_id": camp.id, "amount_total": gross,
                                                                 "expected": expected})
            return out("amount_mismatch", camp)
        if camp.funding_status == "funded":
            if camp.stripe_checkout_session_id == checkout_id:
                return out("funded", camp, replayed=True, gross_funding_cents=camp.gross_funding_cents,
                           platform_fee_cents=camp.platform_fee_cents, net_funding_cents=camp.budget_cents)
            return out("needs_refund", camp)
        if camp.status == "canceled":
            return out("needs_refund", camp)
        fee, net = dc.platform_fee(gross, self.platform_fee_bps)
        funded = dataclasses.replace(camp, funding_status="funded", budget_cents=net, gross_funding_cents=gross,
                                     platform_fee_cents=fee, platform_fee_bps=self.platform_fee_bps, funded_at=now,
                                     stripe_checkout_session_id=checkout_id)
        activated = auto_activate and dc.can_auto_activate(funded, now)
        values = {"funding_status": "funded", "budget_cents": net, "gross_funding_cents": gross,
                  "platform_fee_cents": fee, "platform_fee_bps": self.platform_fee_bps, "funded_at": now,
                  "stripe_checkout_session_id": checkout_id, "updated_at": now, "version": camp.version + 1}
        if activated:
            values["status"] = "active"
            funded = dataclasses.replace(funded, status="active")
        await self.campaigns.set_status(conn, camp.id, **values)
        if activated:
            await self.campaigns.history(conn, camp.id, "draft", "active", "system:funding", "funded", now)
        return out("funded", funded, activated=activated, gross_funding_cents=gross, platform_fee_cents=fee,
                   net_funding_cents=net)

    # --------------------------------------------------------------------------------------------
    # The engine (IngestSessionEnded, §3.4–§3.7)
    # --------------------------------------------------------------------------------------------

    async def ingest_session_ended(self, caller: Principal, s: Session) -> EvalOutcome:
        require_service(caller)
        return await self.evaluate(s)

    async def evaluate(self, s: Session) -> EvalOutcome:
        require_uuid(s.session_id, "session_id")
        if not s.driver_id:
            raise errors.InvalidArgument("driver_id is required")
        if s.driver_time_zone:
            try:
                validate_zone(s.driver_time_zone, "driver_time_zone")
            except errors.InvalidArgument:
                s = dataclasses.replace(s, driver_time_zone=None)
        started = time.perf_counter()
        for attempt in range(MAX_RETRIES + 1):
            try:
                out = await self._evaluate_once(s)
            except sa_exc.DBAPIError as exc:
                if not _transient(exc) or attempt == MAX_RETRIES:
                    if _transient(exc):
                        raise errors.Aborted("Evaluation conflicted; retry", reason="RETRY") from None
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
                continue
            if not out.replayed:
                m.EVALUATIONS.labels(out.outcome, out.reason or "").inc()
                m.CANDIDATES.observe(out.candidates_examined)
                m.ENGINE_SECONDS.observe(time.perf_counter() - started)
                if out.grant is not None:
                    m.GRANTS.labels(out.grant["reward_destination"]).inc()
                    self._events_committed()
            return out
        raise AssertionError("unreachable")

    async def _stored_outcome(self, conn: AsyncConnection, row) -> EvalOutcome:
        grant = None
        if row.grant_id:
            g = await self.grants.get(conn, row.grant_id)
            if g is not None:
                grant = dict(g._mapping)
        return EvalOutcome(row.outcome, row.reason, grant, row.candidates_examined, replayed=True)

    async def _evaluate_once(self, s: Session) -> EvalOutcome:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if self.db.is_postgres:
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(advisory_key("driver:" + s.driver_id))))
            stored = await self.sessions.get(conn, s.session_id)
            if stored is not None:
                return await self._stored_outcome(conn, stored)
            if s.driver_email or s.driver_time_zone:
                await self.drivers.remember(conn, s.driver_id, now, email=s.driver_email,
                                            time_zone=s.driver_time_zone)
            outcome = await self._decide(conn, s, now)
            await self.sessions.insert(conn, {
                "session_id": s.session_id, "driver_id": s.driver_id, "session_start": s.session_start,
                "duration_minutes": s.duration, "outcome": outcome.outcome, "reason": outcome.reason,
                "grant_id": outcome.grant["id"] if outcome.grant else None,
                "candidates_examined": outcome.candidates_examined, "event": session_json(s),
                "evaluated_at": now})
            if reputation.earns_session_bonus(outcome.grant is not None, s.duration, s.quality_score):
                await self.drivers.add_points(conn, s.driver_id, source_type="session", source_id=s.session_id,
                                              points=reputation.SESSION_BONUS, now=now)
            return outcome

    async def _decide(self, conn: AsyncConnection, s: Session, now: dt.datetime) -> EvalOutcome:
        failed_gate = gate(s, self.blocking_flags)
        if failed_gate is not None:
            return EvalOutcome("ineligible", failed_gate)
        ctx = _DriverContext(self, conn, s)
        passed_any = False
        examined = 0
        async for camp in self.campaigns.iter_candidates(conn, idx.session_keys(s), s.session_start):
            examined += 1
            if await self._first_failure(conn, camp, s, ctx) is not None:
                continue
            passed_any = True
            spent = await self.campaigns.try_spend(conn, camp.id, now)
            if spent is None:
                m.BUDGET_RACES.inc()
                log.info("budget race lost; trying the next candidate", extra={"campaign_id": camp.id})
                continue
            grant = await self._grant(conn, camp, spent, s, now)
            return EvalOutcome("granted", None, grant, examined)
        return EvalOutcome("budget_exhausted" if passed_any else "no_match", None, None, examined)

    async def match(self, s: Session) -> tuple[str | None, int]:
        """Read-only: the campaign the engine would pay for ``s`` now (ignoring budget races) and
        the number of candidates examined. Used by the benchmark."""
        if gate(s, self.blocking_flags) is not None:
            return None, 0
        async with self.db.read() as conn:
            ctx = _DriverContext(self, conn, s)
            examined = 0
            async for camp in self.campaigns.iter_candidates(conn, idx.session_keys(s), s.session_start):
                examined += 1
                if await self._first_failure(conn, camp, s, ctx) is None:
                    return camp.id, examined
            return None, examined

    async def _first_failure(self, conn: AsyncConnection, camp: Campaign, s: Session,
                             ctx: "_DriverContext") -> tuple[str, str] | None:
        rules = camp.rules
        count = await ctx.session_count() if (rules.get("driver_session_count_min") is not None
                                              or rules.get("driver_session_count_max") is not None) else None
        email = await ctx.email() if rules.get("driver_allowlist") else None
        fail = first_failing_rule(rules, _targeting(camp), s, session_count=count, email=email)
        if fail is not None:
            return fail
        if camp.caps:
            day, week = cap_buckets(s.session_start, camp.time_zone)
            counts = await self.grants.cap_counts(conn, camp.id, s.driver_id, day, week, s.charger_id)
            cap = failing_cap(camp.caps, counts, s.charger_id is not None)
            if cap is not None:
                return cap, f"{cap} reached"
        return None

    async def _grant(self, conn: AsyncConnection, camp: Campaign, spent, s: Session, now: dt.datetime) -> dict[str, Any]:
        grant_id = str(uuid.uuid4())
        amount = int(spent.cost_per_session_cents)
        day, week = cap_buckets(s.session_start, camp.time_zone)
        destination = "partner_managed" if s.partner_id else "nerava_wallet"
        key = f"campaign_{camp.id}_session_{s.session_id}"
        row = {"id": grant_id, "campaign_id": camp.id, "driver_id": s.driver_id, "session_id": s.session_id,
               "idempotency_key": key, "amount_cents": amount, "currency": "usd", "status": "granted",
               "reward_destination": destination, "charger_id": s.charger_id, "duration_minutes": s.duration,
               "session_start": s.session_start, "local_day": day, "local_week": week,
               "partner_id": s.partner_id, "granted_at": now, "created_at": now}
        await self.grants.insert(conn, row)
        if destination == "nerava_wallet":
            await self.nova.post(conn, type="campaign_grant", amount=amount, now=now, key=key,
                                 driver_id=s.driver_id, session_id=s.session_id, reference=grant_id,
                                 legs=[(nova.ISSUANCE, -amount), (nova.driver_account(s.driver_id), amount)])
            await self._event(conn, "GrantCreated", f"grant:{grant_id}", {
                "grant_id": grant_id, "campaign_id": camp.id, "campaign_name": spent.name,
                "sponsor_name": spent.sponsor_name, "driver_id": s.driver_id, "session_id": s.session_id,
                "amount_cents": amount, "currency": "usd", "granted_at": now.isoformat()})
        await self._event(conn, "GrantStatusChanged", f"{grant_id}:granted", {
            "grant_id": grant_id, "session_id": s.session_id, "campaign_id": camp.id, "amount_cents": amount,
            "status": "granted", "granted_at": now.isoformat()})
        if spent.status == "exhausted":
            await self.campaigns.history(conn, camp.id, "active", "exhausted", "system:engine", "budget", now)
        row["campaign_name"], row["sponsor_name"] = spent.name, spent.sponsor_name
        return row

    # --------------------------------------------------------------------------------------------
    # Clawback, grants, explain
    # --------------------------------------------------------------------------------------------

    async def clawback_grant(self, caller: Principal, grant_id: str, reason: str) -> tuple[bool, dict[str, Any]]:
        require_service(caller, admin_ok=True)
        require_uuid(grant_id, "grant_id")
        reason = (reason or "").strip()
        if not reason:
            raise errors.InvalidArgument("reason is required")
        dc.check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            clawed = await self.grants.claw(conn, grant_id, reason=reason, actor=caller.sub, now=now)
            if clawed is None:
                existing = await self.grants.get(conn, grant_id)
                if existing is None:
                    raise errors.NotFound("Grant not found", reason="GRANT_NOT_FOUND")
                return False, dict(existing._mapping)
            g = dict(clawed._mapping)
            await self.campaigns.refund(conn, g["campaign_id"], g["amount_cents"], now)
            if g["reward_destination"] == "nerava_wallet":
                taken = await self.nova.reverse_up_to(conn, driver_id=g["driver_id"], amount=g["amount_cents"],
                                                      key=f"campaign_grant_reversal:{grant_id}", reverses=None,
                                                      session_id=g["session_id"], now=now)
                g["nova_reversed"], g["nova_shortfall"] = taken, g["amount_cents"] - taken
                await conn.execute(sa.update(t.incentive_grants).where(t.incentive_grants.c.id == grant_id)
                                   .values(nova_reversed=taken, nova_shortfall=g["nova_shortfall"]))
                await self._event(conn, "GrantClawedBack", f"grant_clawback:{grant_id}", {
                    "grant_id": grant_id, "campaign_id": g["campaign_id"], "driver_id": g["driver_id"],
                    "amount_cents": g["amount_cents"], "reason": reason, "clawed_back_at": now.isoformat(),
                    "original_key": f"grant:{grant_id}"})
            await self._event(conn, "GrantStatusChanged", f"{grant_id}:clawed_back", {
                "grant_id": grant_id, "session_id": g["session_id"], "campaign_id": g["campaign_id"],
                "amount_cents": g["amount_cents"], "status": "clawed_back",
                "granted_at": g["granted_at"].isoformat()})
        self._events_committed()
        m.CLAWBACKS.inc()
        return True, g

    async def batch_get_grants(self, caller: Principal, grant_ids: Sequence[str],
                               session_ids: Sequence[str]) -> list[dict[str, Any]]:
        require_service(caller, admin_ok=True)
        if len(grant_ids) + len(session_ids) > 100:
            raise errors.InvalidArgument("at most 100 ids in total")
        for gid in grant_ids:
            require_uuid(gid, "grant_ids")
        for sid in session_ids:
            require_uuid(sid, "session_ids")
        async with self.db.read() as conn:
            rows = [dict(r._mapping) for r in await self.grants.batch(conn, list(grant_ids), list(session_ids))]
        by_id = {r["id"]: r for r in rows}
        by_session = {r["session_id"]: r for r in rows}
        out, seen = [], set()
        for r in [by_id.get(x) for x in grant_ids] + [by_session.get(x) for x in session_ids]:
            if r is not None and r["id"] not in seen:
                seen.add(r["id"])
                out.append(r)
        return out

    async def campaign_names(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        ids = list(set(ids))
        if not ids:
            return {}
        c = t.campaigns
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(c.c.id, c.c.name, c.c.sponsor_name).where(c.c.id.in_(ids)))
            return {r.id: (r.name, r.sponsor_name) for r in rows}

    async def explain_session(self, caller: Principal, session_id: str) -> tuple[Any, EvalOutcome, list[dict[str, Any]]]:
        require_admin(caller)
        async with self.db.read() as conn:
            row = await self.sessions.get(conn, session_id)
            if row is None:
                raise errors.NotFound("Session not found", reason="SESSION_NOT_FOUND")
            stored = await self._stored_outcome(conn, row)
            s = session_from_json(row.event)
            ctx = _DriverContext(self, conn, s)
            out = []
            for camp in await self.campaigns.candidates(conn, idx.session_keys(s), s.session_start):
                fail = await self._first_failure(conn, camp, s, ctx)
                out.append({"campaign_id": camp.id, "campaign_name": camp.name, "priority": camp.priority,
                            "passed": fail is None, "failed_rule": fail[0] if fail else None,
                            "detail": fail[1] if fail else None})
        return row, stored, out

    # --------------------------------------------------------------------------------------------
    # Driver reads: I1, reward hints, reputation
    # --------------------------------------------------------------------------------------------

    async def list_driver_active_campaigns(self, caller: Principal, *, lat: float | None, lng: float | None,
                                           charger_id: str | None) -> list[tuple[Campaign, bool]]:
        if not caller.has("driver"):
            raise errors.PermissionDenied("Driver access required", reason="DRIVER_REQUIRED")
        if (lat is None) != (lng is None):
            raise errors.InvalidArgument("lat and lng must be given together")
        now = self.clock.now()
        charger = await self.chargers.get(charger_id) if charger_id else None
        probe = Session(
            session_id="", driver_id=caller.sub, session_start=now, charger_id=charger_id,
            charger_network=charger.network_name if charger else None,
            zone_id=charger.zone_id if charger else None,
            lat=lat if lat is not None else (charger.lat if charger else None),
            lng=lng if lng is not None else (charger.lng if charger else None))
        async with self.db.read() as conn:
            camps = await self._active_now(conn, now)
            ctx = _DriverContext(self, conn, probe, email=caller.email, count_offset=1)
            out = []
            for camp in camps:
                if not _location_matches(camp.rules, probe):
                    continue
                allow = camp.rules.get("driver_allowlist")
                if allow:
                    listed = {a.casefold() for a in allow}
                    email = caller.email or await ctx.email()
                    if caller.sub.casefold() not in listed and (not email or email.casefold() not in listed):
                        continue
                out.append((camp, await self._eligible_now(conn, camp, probe, ctx)))
        return out

    async def _active_now(self, conn: AsyncConnection, now: dt.datetime) -> list[Campaign]:
        c = t.campaigns
        rows = await conn.execute(sa.select(c).where(
            c.c.status == "active", c.c.starts_at <= now, sa.or_(c.c.ends_at.is_(None), c.c.ends_at > now),
            c.c.budget_cents - c.c.spent_cents >= c.c.cost_per_session_cents,
            sa.or_(c.c.max_sessions.is_(None), c.c.sessions_granted < c.c.max_sessions),
        ).order_by(c.c.priority, c.c.created_at, c.c.id).limit(500))
        from services.incentives.adapters.repository import to_campaign
        return [to_campaign(r) for r in rows]

    async def _eligible_now(self, conn: AsyncConnection, camp: Campaign, probe: Session, ctx: "_DriverContext") -> bool:
        rules = {k: camp.rules.get(k) for k in ("time_start", "time_end", "days_of_week",
                                                "driver_session_count_min", "driver_session_count_max")
                 if camp.rules.get(k) is not None}
        rules["min_duration_minutes"] = 0
        count = await ctx.session_count() if ("driver_session_count_min" in rules
                                              or "driver_session_count_max" in rules) else None
        fake = dataclasses.replace(probe, duration_minutes=0, partner_id=None)
        if first_failing_rule(rules, _targeting(camp), fake, session_count=count, check_window=False) is not None:
            return False
        if camp.caps:
            day, week = cap_buckets(probe.session_start, camp.time_zone)
            counts = await self.grants.cap_counts(conn, camp.id, probe.driver_id, day, week, probe.charger_id)
            if failing_cap(camp.caps, counts, probe.charger_id is not None) is not None:
                return False
        return True

    async def rewards_for_chargers(self, caller: Principal, chargers: Sequence[Mapping[str, Any]],
                                   driver_id: str | None, driver_email: str | None) -> list[tuple[str, Campaign | None]]:
        require_service(caller, admin_ok=True)
        if len(chargers) > 500:
            raise errors.InvalidArgument("at most 500 chargers")
        now = self.clock.now()
        out = []
        async with self.db.read() as conn:
            for ch in chargers:
                probe = Session(session_id="", driver_id=driver_id or "", session_start=now,
                                charger_id=ch["charger_id"], charger_network=ch.get("network_name"),
                                zone_id=ch.get("zone_id"), lat=ch.get("lat"), lng=ch.get("lng"))
                keys = idx.session_keys(probe)  # time-indexed campaigns: judged at the current hour
                best = None
                for camp in await self.campaigns.candidates(conn, keys, now):
                    if not _location_matches(camp.rules, probe):
                        continue
                    allow = camp.rules.get("driver_allowlist")
                    if allow:
                        listed = {a.casefold() for a in allow}
                        if not ((driver_id and driver_id.casefold() in listed)
                                or (driver_email and driver_email.casefold() in listed)):
                            continue
                    if best is None or camp.cost_per_session_cents > best.cost_per_session_cents:
                        best = camp
                out.append((ch["charger_id"], best))
        return out

    async def get_reputation(self, caller: Principal) -> reputation.Reputation:
        if not caller.has("driver"):
            raise errors.PermissionDenied("Driver access required", reason="DRIVER_REQUIRED")
        now = self.clock.now()
        async with self.db.read() as conn:
            row = await self.drivers.get(conn, caller.sub)
            tz_name = (row.time_zone if row is not None and row.time_zone else None) or self.default_driver_time_zone
            tz = zone(tz_name)
            starts = await self.sessions.starts_since(conn, caller.sub, now - dt.timedelta(days=367))
        today = now.astimezone(tz).date()
        dates = {s.astimezone(tz).date() for s in starts if (today - s.astimezone(tz).date()).days <= 366}
        return reputation.tier_of(row.points if row is not None else 0, reputation.streak(dates, today))

    # --------------------------------------------------------------------------------------------
    # Nova (I14, I15, redeem, balance, merchants)
    # --------------------------------------------------------------------------------------------

    async def _nova_tx(self, fn):
        for attempt in range(MAX_RETRIES + 1):
            try:
                return await fn()
            except sa_exc.DBAPIError as exc:
                if not _transient(exc) or attempt == MAX_RETRIES:
                    raise
                await asyncio.sleep(random.uniform(0.002, 0.02))
        raise AssertionError("unreachable")

    async def grant_nova(self, caller: Principal, *, driver_id: str, session_id: str, amount: int,
                         key: str | None) -> tuple[str, int, bool]:
        require_admin(caller)
        driver_id = (driver_id or "").strip()
        if not driver_id:
            raise errors.InvalidArgument("driver_user_id is required")
        require_uuid(session_id, "charging_session_id")
        nova.check_amount(amount)
        key = (key or "").strip() or f"driver_earn:{driver_id}:{session_id}"
        now = self.clock.now()

        async def run():
            async with self.db.transaction() as conn:
                posted = await self.nova.post(conn, type="driver_earn", amount=amount, now=now, key=key,
                                              driver_id=driver_id, session_id=session_id,
                                              legs=[(nova.ISSUANCE, -amount), (nova.driver_account(driver_id), amount)])
                if not posted.idempotent:
                    await self.drivers.add_points(conn, driver_id, source_type="nova_driver_earn",
                                                  source_id=posted.transaction_id, points=amount, now=now)
                return posted.transaction_id, await self.nova.balance(conn, nova.driver_account(driver_id)), posted.idempotent
        return await self._nova_tx(run)

    async def admin_grant_nova(self, caller: Principal, *, target: str, amount: int, reason: str,
                               driver_id: str | None, merchant_id: str | None, key: str | None) -> dict[str, Any]:
        require_admin(caller)
        key = (key or "").strip() or None
        if key is None and self.env != "development":
            raise errors.InvalidArgument("idempotency_key is required")
        if target not in ("driver", "merchant"):
            raise errors.InvalidArgument("target must be 'driver' or 'merchant'")
        nova.check_amount(amount)
        if not (reason or "").strip():
            raise errors.InvalidArgument("reason is required")
        if target == "driver" and not (driver_id or "").strip():
            raise errors.InvalidArgument("driver_user_id is required when target is 'driver'")
        if target == "merchant" and not (merchant_id or "").strip():
            raise errors.InvalidArgument("merchant_id is required when target is 'merchant'")
        account = nova.driver_account(driver_id) if target == "driver" else nova.merchant_account(merchant_id or "")
        now = self.clock.now()

        async def run():
            async with self.db.transaction() as conn:
                posted = await self.nova.post(
                    conn, type="admin_grant", amount=amount, now=now, key=key,
                    driver_id=driver_id if target == "driver" else None,
                    merchant_id=merchant_id if target == "merchant" else None, reference=reason.strip(),
                    legs=[(nova.ISSUANCE, -amount), (account, amount)])
                return {"transaction_id": posted.transaction_id, "target": target, "amount": amount,
                        "driver_user_id": driver_id if target == "driver" else None,
                        "merchant_id": merchant_id if target == "merchant" else None,
                        "idempotent": posted.idempotent}
        return await self._nova_tx(run)

    async def redeem_nova(self, caller: Principal, *, merchant_id: str, amount: int, key: str,
                          session_id: str | None, reference: str | None) -> tuple[str, int, bool]:
        if not caller.has("driver"):
            raise errors.PermissionDenied("Driver access required", reason="DRIVER_REQUIRED")
        nova.check_amount(amount)
        key = (key or "").strip()
        if not key:
            raise errors.InvalidArgument("idempotency_key is required")
        driver = nova.driver_account(caller.sub)
        now = self.clock.now()

        async def run():
            async with self.db.transaction() as conn:
                existing = (await conn.execute(sa.select(t.nova_transactions.c.id).where(
                    t.nova_transactions.c.idempotency_key == key))).first()
                if existing is None:
                    m = (await conn.execute(sa.select(t.nova_merchants.c.status).where(
                        t.nova_merchants.c.merchant_id == merchant_id))).first()
                    if m is None or m.status != "active":
                        raise errors.FailedPrecondition("Merchant not found or not active")
                    if not await self.nova.account_exists(conn, driver):
                        raise errors.FailedPrecondition("Driver wallet not found")
                posted = await self.nova.post(conn, type="driver_redeem", amount=amount, now=now, key=key,
                                              driver_id=caller.sub, merchant_id=merchant_id, session_id=session_id,
                                              reference=reference,
                                              legs=[(driver, -amount), (nova.merchant_account(merchant_id), amount)])
                return posted.transaction_id, await self.nova.balance(conn, driver), posted.idempotent
        return await self._nova_tx(run)

    async def nova_balance(self, caller: Principal, driver_id: str) -> int:
        require_service(caller, admin_ok=True)
        async with self.db.read() as conn:
            return await self.nova.balance(conn, nova.driver_account(driver_id))

    async def upsert_merchant(self, caller: Principal, merchant_id: str, name: str, status: str) -> tuple[dict[str, Any], bool]:
        require_service(caller, admin_ok=True)
        merchant_id, name, status = (merchant_id or "").strip(), (name or "").strip(), (status or "active")
        if not merchant_id or not name:
            raise errors.InvalidArgument("merchant_id and name are required")
        if status not in ("active", "inactive"):
            raise errors.InvalidArgument("status must be 'active' or 'inactive'")
        now = self.clock.now()
        m = t.nova_merchants
        async with self.db.transaction() as conn:
            created = await self.db.insert_ignore(conn, m, {"merchant_id": merchant_id, "name": name, "status": status,
                                                            "created_at": now, "updated_at": now},
                                                  index_elements=["merchant_id"])
            if not created:
                await conn.execute(sa.update(m).where(m.c.merchant_id == merchant_id)
                                   .values(name=name, status=status, updated_at=now))
            row = (await conn.execute(sa.select(m).where(m.c.merchant_id == merchant_id))).one()
            bal = await self.nova.balance(conn, nova.merchant_account(merchant_id))
        return {**dict(row._mapping), "balance": bal}, created

    # --------------------------------------------------------------------------------------------
    # Reconcile (read-only)
    # --------------------------------------------------------------------------------------------

    async def reconcile(self, caller: Principal, campaign_ids: Sequence[str]) -> dict[str, Any]:
        require_admin(caller)
        c, g = t.campaigns, t.incentive_grants
        a, e = t.nova_accounts, t.nova_entries
        async with self.db.read() as conn:
            sums = (sa.select(g.c.campaign_id, sa.func.coalesce(sa.func.sum(g.c.amount_cents), 0).label("s"),
                              sa.func.count().label("n"))
                    .where(g.c.status == "granted").group_by(g.c.campaign_id).subquery())
            stmt = sa.select(c.c.id, c.c.spent_cents, c.c.sessions_granted, sums.c.s, sums.c.n).select_from(
                c.outerjoin(sums, sums.c.campaign_id == c.c.id))
            if campaign_ids:
                stmt = stmt.where(c.c.id.in_(list(campaign_ids)))
            rows = list(await conn.execute(stmt))
            drifts = [{"campaign_id": r.id, "spent_cents": int(r.spent_cents), "granted_sum_cents": int(r.s or 0),
                       "sessions_granted": int(r.sessions_granted), "granted_count": int(r.n or 0)}
                      for r in rows if int(r.spent_cents) != int(r.s or 0) or int(r.sessions_granted) != int(r.n or 0)]
            esum = (sa.select(e.c.account, sa.func.sum(e.c.delta).label("s")).group_by(e.c.account).subquery())
            accs = list(await conn.execute(sa.select(a.c.account, a.c.kind, a.c.balance, esum.c.s).select_from(
                a.outerjoin(esum, esum.c.account == a.c.account))))
            nova_drifts = [{"account": r.account, "balance": int(r.balance), "entries_sum": int(r.s or 0)}
                           for r in accs if r.kind != "system" and int(r.balance) != int(r.s or 0)]
            unbalanced = [r.transaction_id for r in await conn.execute(
                sa.select(e.c.transaction_id).group_by(e.c.transaction_id).having(sa.func.sum(e.c.delta) != 0))]
            total = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(e.c.delta), 0)))).scalar_one()
        return {"campaigns_checked": len(rows), "campaign_drifts": drifts, "nova_accounts_checked": len(accs),
                "nova_drifts": nova_drifts, "unbalanced_transaction_ids": unbalanced,
                "ledger_balanced": int(total) == 0, "checked_at": self.clock.now()}


class _DriverContext:
    """Lazily loaded per-driver facts for one evaluation (session count, e-mail)."""

    def __init__(self, uc: IncentivesUseCases, conn: AsyncConnection, s: Session, *, email: str | None = None,
                 count_offset: int = 1) -> None:
        self.uc, self.conn, self.s = uc, conn, s
        self._email = email or s.driver_email
        self._email_loaded = self._email is not None
        self._count: int | None = s.driver_completed_session_count
        self._offset = count_offset

    async def session_count(self) -> int:
        if self._count is None:
            # this session is not recorded yet: count the earlier ones and add it
            self._count = await self.uc.sessions.count_started_before(self.conn, self.s.driver_id,
                                                                      self.s.session_start) + self._offset
        return self._count

    async def email(self) -> str | None:
        if not self._email_loaded:
            row = await self.uc.drivers.get(self.conn, self.s.driver_id)
            self._email = row.email if row is not None else None
            self._email_loaded = True
        return self._email


def _targeting(camp: Campaign) -> Targeting:
    return Targeting(time_zone=camp.time_zone, starts_at=camp.starts_at or camp.created_at, ends_at=camp.ends_at,
                     allow_partner_sessions=camp.allow_partner_sessions, partner_ids=camp.partner_ids,
                     max_partner_trust_tier=camp.max_partner_trust_tier)


def _location_matches(rules: Mapping[str, Any], probe: Session) -> bool:
    """I1 and reward hints: the engine's location predicates (charger ids, network, zone, geo)."""
    names = ("charger_ids", "charger_networks", "zone_ids") if probe.charger_id else ()
    only = {k: rules.get(k) for k in (*names, "geo_center_lat", "geo_center_lng", "geo_radius_m")
            if rules.get(k) is not None}
    if not only:
        return True
    only["min_duration_minutes"] = 0
    fake = dataclasses.replace(probe, duration_minutes=0)
    far = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return first_failing_rule(only, Targeting("UTC", far, None), fake, check_window=False) is None


_SESSION_TS = ("session_start", "session_end")


def _session_dict(info: Any) -> dict[str, Any]:
    return {"id": info.id, "status": info.status, "payment_status": info.payment_status,
            "amount_total": info.amount_total, "currency": info.currency, "payment_intent": info.payment_intent,
            "client_reference_id": info.client_reference_id, "metadata": dict(info.metadata)}


def session_json(s: Session) -> dict[str, Any]:
    out = dataclasses.asdict(s)
    for k in _SESSION_TS:
        if out[k] is not None:
            out[k] = out[k].isoformat()
    out["fraud_flags"] = list(s.fraud_flags)
    return out


def session_from_json(data: Mapping[str, Any]) -> Session:
    d = dict(data)
    for k in _SESSION_TS:
        if d.get(k):
            d[k] = dt.datetime.fromisoformat(d[k])
    d["fraud_flags"] = tuple(d.get("fraud_flags") or ())
    return Session(**d)
