"""CLO use cases: open a unit of work, load, apply the domain rules, save, and add outbox events in
the SAME transaction. External calls (Fidel, telemetry) happen before the write transaction; no
lock is held during them."""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import errors
from kit import outbox as kout
from kit.clock import Clock, SystemClock
from kit.db import Database
from prometheus_client import Counter, Gauge, Histogram
from services.clo.adapters.fidel import FidelClient, ProviderUnavailable
from services.clo.adapters.repository import (CardRepository, InboxRepository, MappingRepository,
                                              OfferRepository, RefundRepository, TransactionRepository,
                                              Tx, add_audit)
from services.clo.adapters.tables import cards, outbox_table, transactions
from services.clo.adapters.telemetry import SessionFinder, SessionLookupUnavailable
from services.clo.config import CloConfig
from services.clo.domain import offers as doffers
from services.clo.domain import payloads, rewards
from services.clo.domain import signature as dsig
from services.clo.domain.cards import Card, brand, expired, valid_fidel_card_id
from services.clo.domain.offers import Offer, OfferInvalid, Outcome, SessionVerdict
from services.clo.domain.sessions import ChargingSession, SessionPolicy, verdict, window_for

log = logging.getLogger("clo")
UTC = dt.timezone.utc
MAX_WEBHOOK_BYTES = 1024 * 1024

WEBHOOKS = Counter("clo_webhooks_total", "Fidel webhooks by event type and outcome", ["event_type", "outcome"])
SIGNATURE_FAILURES = Counter("clo_webhook_signature_failures_total", "Refused webhook signatures", ["cause"])
UNVERIFIED = Counter("clo_webhook_unverified_total", "Webhooks accepted unverified (development only)")
REWARDS = Counter("clo_rewards_total", "Reward state changes", ["state"])
CLAWBACK_CENTS = Counter("clo_clawback_cents_total", "Cents clawed back")
AUTH_TO_CLEAR = Histogram("clo_auth_to_clear_seconds", "Time from a transaction's auth to its clearing",
                          buckets=(60, 600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400))
LIABILITY = Gauge("clo_reward_liability_cents", "Reward cents by reward state", ["state"])
OUTBOX_OLDEST = Gauge("clo_outbox_oldest_pending_seconds", "Age of the oldest undelivered outbox event")
SESSION_CHECKS = Counter("clo_session_check_total", "Charging-session checks", ["result"])


def reply(status: str, **fields: Any) -> dict[str, Any]:
    out = {"status": status}
    out.update({k: v for k, v in fields.items() if v is not None})
    return out


@dataclasses.dataclass(frozen=True)
class LinkResult:
    card: Card
    status: str


@dataclasses.dataclass(frozen=True)
class SessionLookup:
    """What the session check found before the write transaction."""

    sessions: list[ChargingSession] | None  # None = telemetry unavailable
    explicit_id: str | None = None


class CloUseCases:
    def __init__(self, db: Database, config: CloConfig | None = None, *, fidel: FidelClient | None = None,
                 sessions: SessionFinder | None = None, clock: Clock | None = None) -> None:
        self.db = db
        self.config = config or CloConfig()
        self.fidel = fidel
        self.finder = sessions
        self.clock = clock or SystemClock()
        self.cards = CardRepository()
        self.offers = OfferRepository()
        self.mappings = MappingRepository(db)
        self.txs = TransactionRepository()
        self.refunds = RefundRepository()
        self.inbox = InboxRepository(db)
        self.policy = SessionPolicy(self.config.session_window_before_min,
                                    self.config.session_window_after_min,
                                    self.config.session_open_assumed_minutes)
        self.on_commit_events: list = []  # callbacks (e.g. the dispatcher's wake) after events commit

    def _events_committed(self) -> None:
        for cb in self.on_commit_events:
            cb()

    async def _event(self, conn: AsyncConnection, topic: str, key: str, payload: dict) -> None:
        await kout.add_event(conn, outbox_table, self.db, topic=topic, key=key, payload=payload,
                             now=self.clock.now())

    # =============================================================================================
    # Cards
    # =============================================================================================

    async def list_cards(self, driver_id: str) -> list[Card]:
        async with self.db.read() as conn:
            return await self.cards.list_active(conn, driver_id)

    async def link_card(self, driver_id: str, fidel_card_id: str) -> LinkResult:
        if not valid_fidel_card_id(fidel_card_id):
            raise errors.InvalidArgument("Invalid fidel_card_id", reason="INVALID_FIDEL_CARD_ID")
        if self.fidel is None:
            raise errors.Unavailable("Card provider unavailable", reason="PROVIDER_UNAVAILABLE")
        try:
            pc = await self.fidel.get_card(fidel_card_id)
        except ProviderUnavailable:
            raise errors.Unavailable("Card provider unavailable", reason="PROVIDER_UNAVAILABLE") from None
        if pc is None:
            raise errors.NotFound("Card not found at provider", reason="CARD_NOT_FOUND_AT_PROVIDER")
        if pc.metadata_id != driver_id:
            raise errors.PermissionDenied("Card was not enrolled by this account",
                                          reason="CARD_NOT_ENROLLED_BY_CALLER")
        if pc.program_id != self.config.program_id():
            raise errors.FailedPrecondition("Card is not enrolled in this program", reason="CARD_WRONG_PROGRAM")
        now = self.clock.now()
        if expired(pc.expiry_month, pc.expiry_year, now.date()):
            raise errors.FailedPrecondition("Card has expired", reason="CARD_EXPIRED")
        try:
            async with self.db.transaction() as conn:
                outcome = await self._upsert_card(conn, driver_id, pc, now, confirmed=True)
        except sa.exc.IntegrityError:
            # lost a race on the partial unique index: the other link committed first
            async with self.db.read() as conn:
                row = await self.cards.active_by_fidel(conn, fidel_card_id)
            if row is None or row.driver_id != driver_id:
                raise errors.AlreadyExists("Card is linked to another account",
                                           reason="CARD_LINKED_TO_OTHER_ACCOUNT") from None
            return LinkResult(_card(row), "already_linked")
        if outcome in ("card_owned_by_other_driver",):
            raise errors.AlreadyExists("Card is linked to another account", reason="CARD_LINKED_TO_OTHER_ACCOUNT")
        if outcome == "card_limit_reached":
            n = self.config.max_cards_per_driver
            raise errors.FailedPrecondition(f"Card limit reached ({n})", reason="CARD_LIMIT_REACHED")
        status, card = outcome
        return LinkResult(card, status)

    async def _upsert_card(self, conn: AsyncConnection, driver_id: str, pc, now: dt.datetime,
                           *, confirmed: bool):
        """Dedup by Fidel card id (clo.md §3.1). Returns (status, Card) or an ignore reason."""
        row = await self.cards.active_by_fidel(conn, pc.fidel_card_id)
        if row is not None:
            if row.driver_id != driver_id:
                return "card_owned_by_other_driver"
            if confirmed and not row.confirmed:
                await conn.execute(sa.update(cards).where(cards.c.card_id == row.card_id).values(confirmed=True))
                return "linked", _card(row)
            return "already_linked", _card(row)
        if await self.cards.count_active(conn, driver_id) >= self.config.max_cards_per_driver:
            return "card_limit_reached"
        values = {"last4": pc.last4, "scheme": brand(pc.scheme), "expiry_month": pc.expiry_month,
                  "expiry_year": pc.expiry_year, "active": True, "linked_at": now, "unlinked_at": None,
                  "confirmed": confirmed}
        old = await self.cards.own_inactive(conn, driver_id, pc.fidel_card_id)
        if old is not None:
            await conn.execute(sa.update(cards).where(cards.c.card_id == old.card_id).values(**values))
            card_id = old.card_id
        else:
            card_id = str(uuid.uuid4())
            await conn.execute(sa.insert(cards).values(card_id=card_id, driver_id=driver_id,
                                                       fidel_card_id=pc.fidel_card_id, version=0, **values))
        return "linked", _card(await self.cards.row(conn, card_id))

    async def unlink_card(self, caller_sub: str, is_admin: bool, card_id: str) -> str:
        async with self.db.transaction() as conn:
            row = await self.cards.row(conn, card_id)
            if row is None or (row.driver_id != caller_sub and not is_admin):
                raise errors.NotFound("Card not found", reason="CARD_NOT_FOUND")
            if row.active:
                now = self.clock.now()
                await conn.execute(sa.update(cards).where(cards.c.card_id == card_id, cards.c.active)
                                   .values(active=False, unlinked_at=now, version=cards.c.version + 1))
                await self._event(conn, "FidelCardDelete", f"fidel_card_delete:{card_id}:{uuid.uuid4().hex}",
                                  {"card_id": card_id, "fidel_card_id": row.fidel_card_id})
                await add_audit(conn, caller_sub, "card.unlink", card_id, now)
        self._events_committed()
        return card_id

    async def create_enrollment_session(self, driver_id: str):
        if self.fidel is None:
            raise errors.Unavailable("Card provider unavailable", reason="PROVIDER_UNAVAILABLE")
        try:
            return await self.fidel.create_sdk_session(driver_id)
        except ProviderUnavailable:
            raise errors.Unavailable("Card provider unavailable", reason="PROVIDER_UNAVAILABLE") from None

    async def deliver_card_delete(self, _key: str, payload: dict) -> None:
        """Outbox handler of `fidel.card.delete`: retried until Fidel answers success or 404."""
        if self.fidel is None:
            raise ProviderUnavailable("no client")
        await self.fidel.delete_card(payload["fidel_card_id"])

    # =============================================================================================
    # Offers and mappings
    # =============================================================================================

    async def create_offer(self, caller: str, is_admin: bool, offer: Offer) -> Offer:
        if not is_admin and offer.merchant_id != caller:
            raise errors.PermissionDenied("Merchants may only manage their own offers", reason="MERCHANT_NOT_OWN")
        if offer.request_id:
            async with self.db.read() as conn:
                found = await self.offers.by_request(conn, caller, offer.request_id)
            if found is not None:
                return found
        approval = self.config.merchant_offer_approval and not is_admin
        active = offer.active
        if approval and active:
            raise errors.InvalidArgument("active: only an admin can activate merchant offers", reason="INVALID_OFFER")
        now = self.clock.now()
        offer = dataclasses.replace(offer, offer_id=str(uuid.uuid4()), created_by=caller, created_at=now,
                                    updated_at=now, version=1, budget_reserved_cents=0)
        try:
            offer = doffers.validate(offer, max_reward_cents=self.config.max_reward_cents)
        except OfferInvalid as exc:
            raise errors.InvalidArgument(str(exc), reason="INVALID_OFFER") from None
        try:
            async with self.db.transaction() as conn:
                await self.offers.insert(conn, offer)
                await add_audit(conn, caller, "offer.create", offer.offer_id, now)
        except sa.exc.IntegrityError:
            async with self.db.read() as conn:
                found = await self.offers.by_request(conn, caller, offer.request_id or "")
            if found is None:
                raise
            return found
        return offer

    async def list_offers(self, caller: str, is_admin: bool, merchant_id: str, active: bool | None,
                          limit: int | None, page_token: str) -> tuple[list[Offer], str | None]:
        if not is_admin:
            if merchant_id and merchant_id != caller:
                raise errors.PermissionDenied("Merchants may only manage their own offers", reason="MERCHANT_NOT_OWN")
            merchant_id = caller
        size = _limit(limit)
        after = _decode_token(page_token)
        async with self.db.read() as conn:
            rows = await self.offers.list(conn, merchant_id=merchant_id or None, active=active,
                                          limit=size + 1, after=after)
        nxt = _encode_token(rows[size - 1].created_at, rows[size - 1].offer_id) if len(rows) > size else None
        return rows[:size], nxt

    async def update_offer(self, caller: str, is_admin: bool, offer_id: str, changes: dict[str, Any],
                           clear: list[str], version: int | None, request_id: str) -> Offer:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await self.offers.lock_for_update(conn, offer_id, self.db.is_postgres)
            current = await self.offers.get(conn, offer_id)
            if current is None or (not is_admin and current.merchant_id != caller):
                raise errors.NotFound("Offer not found", reason="OFFER_NOT_FOUND")
            request_key = f"{caller}:{request_id}" if request_id else None
            if request_key and current.last_request_id == request_key:
                return current
            if version is not None and version != current.version:
                raise errors.Aborted("Offer was modified; reload and retry", reason="VERSION_CONFLICT")
            for name in clear:
                if name not in doffers.CLEARABLE:
                    raise errors.InvalidArgument(f"clear_fields: {name} cannot be cleared"[:120],
                                                 reason="INVALID_OFFER")
                if name in changes:
                    raise errors.InvalidArgument(f"{name} is both set and listed in clear_fields",
                                                 reason="INVALID_OFFER")
            if (changes.get("active") is True and not current.active and not is_admin
                    and self.config.merchant_offer_approval):
                raise errors.InvalidArgument("active: only an admin can activate merchant offers",
                                             reason="INVALID_OFFER")
            merged = dataclasses.replace(current, **changes)
            for name in clear:
                merged = dataclasses.replace(merged, **{name: () if name == "days_of_week" else None})
            try:
                merged = doffers.validate(merged, max_reward_cents=self.config.max_reward_cents)
            except OfferInvalid as exc:
                raise errors.InvalidArgument(str(exc), reason="INVALID_OFFER") from None
            if current.budget_cents is None and merged.budget_cents is not None:
                # the counter was not kept while unlimited: count the live reservations now (the row
                # lock above waited for in-flight reservations holding a share lock)
                reserved = await self.offers.live_reserved(conn, offer_id)
                await self.offers.set_reserved(conn, offer_id, reserved)
                current = dataclasses.replace(current, budget_reserved_cents=reserved)
            if merged.budget_cents is not None and merged.budget_cents < current.budget_reserved_cents:
                raise errors.InvalidArgument("budget_cents is below the amount already reserved",
                                             reason="BUDGET_BELOW_RESERVED")
            if not await self.offers.update(conn, merged, current.version, request_key, now):
                latest = await self.offers.get(conn, offer_id)
                if latest is not None and merged.budget_cents is not None and \
                        merged.budget_cents < latest.budget_reserved_cents:
                    raise errors.InvalidArgument("budget_cents is below the amount already reserved",
                                                 reason="BUDGET_BELOW_RESERVED")
                raise errors.Aborted("Offer was modified; reload and retry", reason="VERSION_CONFLICT")
            await add_audit(conn, caller, "offer.update", offer_id, now)
            return await self.offers.get(conn, offer_id)  # type: ignore[return-value]

    async def upsert_mapping(self, caller: str, kind: str, external_id: str, merchant_id: str,
                             time_zone: str | None):
        if kind not in ("location", "mid", "brand"):
            raise errors.InvalidArgument("Invalid kind", reason="INVALID_KIND")
        if not external_id or len(external_id) > 128:
            raise errors.InvalidArgument("external_id must be 1-128 characters")
        if not merchant_id or len(merchant_id) > 64:
            raise errors.InvalidArgument("merchant_id must be 1-64 characters")
        if time_zone is not None and not payloads.is_valid_zone(time_zone):
            raise errors.InvalidArgument("Invalid time_zone", reason="INVALID_TIME_ZONE")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            row, created = await self.mappings.upsert(conn, kind, external_id, merchant_id, time_zone, now)
            await add_audit(conn, caller, "mapping.upsert", f"{kind}:{external_id}"[:200], now)
        return row, created

    # =============================================================================================
    # Transactions: listing
    # =============================================================================================

    async def list_transactions(self, caller: str, is_admin: bool, driver_id: str, limit: int | None,
                                page_token: str) -> tuple[list[Tx], str | None]:
        if driver_id and driver_id != caller and not is_admin:
            raise errors.PermissionDenied("Admin access required", reason="ADMIN_REQUIRED")
        size = _limit(limit)
        after = _decode_token(page_token)
        async with self.db.read() as conn:
            rows = await self.txs.list_for_driver(conn, driver_id or caller, size + 1, after)
        nxt = _encode_token(rows[size - 1].created_at, rows[size - 1].id) if len(rows) > size else None
        return rows[:size], nxt

    # =============================================================================================
    # Evaluation (clo.md §3.4–§3.6)
    # =============================================================================================

    async def _resolve(self, conn: AsyncConnection, ftx: payloads.FidelTransaction) -> tuple[str | None, str]:
        """(merchant_id, time zone name): location mapping, MID, brand, location metadata."""
        merchant_id = None
        tz_name = None
        keys = [(k, v) for k, v in (("location", ftx.location_id), ("mid", ftx.mid), ("brand", ftx.brand_id)) if v]
        found = await self.mappings.many(conn, keys)
        for key in keys:  # first match wins: location, then MID, then brand
            m = found.get(key)
            if m is not None:
                merchant_id = m.merchant_id
                if key[0] == "location":
                    tz_name = m.time_zone
                break
        if merchant_id is None:
            merchant_id = ftx.location_merchant_id
        if not tz_name or not payloads.is_valid_zone(tz_name):
            tz_name = ftx.location_timezone if payloads.is_valid_zone(ftx.location_timezone or "") \
                else self.config.default_time_zone
        return merchant_id, tz_name

    async def _lookup_sessions(self, driver_id: str, t: dt.datetime, offers: list[Offer],
                               explicit_id: str | None) -> SessionLookup | None:
        """One telemetry call before the write transaction, or None when no check applies."""
        if explicit_id is not None:
            t1, t2 = t - dt.timedelta(days=30), t + dt.timedelta(days=30)
        else:
            required = [o for o in offers if o.session_policy == "required"]
            if not required:
                return None
            windows = [window_for(o, self.policy) for o in required]
            t1 = t - dt.timedelta(minutes=max(a for _, a in windows))
            t2 = t + dt.timedelta(minutes=max(b for b, _ in windows))
        if self.finder is None:
            SESSION_CHECKS.labels("deferred").inc()
            return SessionLookup(None, explicit_id)
        try:
            found = await self.finder.find(driver_id, t1, t2, explicit_id)
        except SessionLookupUnavailable:
            SESSION_CHECKS.labels("deferred").inc()
            return SessionLookup(None, explicit_id)
        return SessionLookup(found, explicit_id)

    def _session_fn(self, lookup: SessionLookup | None, t: dt.datetime):
        if lookup is None:
            return None

        def for_offer(offer: Offer) -> SessionVerdict | None:
            if lookup.explicit_id is None and offer.session_policy != "required":
                return None
            before, after = window_for(offer, self.policy)
            return verdict(lookup.sessions, t, before, after, self.policy, lookup.explicit_id)

        return for_offer

    async def _select(self, conn: AsyncConnection, *, card_id: str, amount: int, merchant_id: str | None,
                      local_time: dt.datetime, instant: dt.datetime, lookup: SessionLookup | None,
                      preferred: str | None = None, exclude_tx: str | None = None) -> Outcome:
        """Evaluate and reserve the budget atomically; a failed reservation drops that offer."""
        excluded: set[str] = set()
        while True:
            offers = await self.offers.active_for_merchant(conn, merchant_id) if merchant_id else []
            counts = await self.txs.live_counts(conn, card_id, [o.offer_id for o in offers], exclude_tx)
            outcome = doffers.evaluate(
                amount_cents=amount, merchant_id=merchant_id, offers=offers, local_time=local_time,
                card_rewards=counts, global_min_cents=self.config.min_eligible_spend_cents,
                session_for=self._session_fn(lookup, instant), excluded=frozenset(excluded),
                preferred_offer_id=preferred)
            if lookup is not None and outcome.offer is not None:
                SESSION_CHECKS.labels("deferred" if outcome.session_deferred else
                                      ("failed" if outcome.code in ("outside_session_window", "session_not_owned")
                                       else "passed")).inc()
            if not outcome.eligible:
                if excluded and outcome.code in ("no_active_offer",):
                    return Outcome("budget_exhausted", doffers.REASONS["budget_exhausted"])
                return outcome
            assert outcome.offer is not None and outcome.reward_cents is not None
            if await self.offers.reserve(conn, outcome.offer.offer_id, outcome.reward_cents,
                                         unlimited=outcome.offer.budget_cents is None,
                                         is_postgres=self.db.is_postgres):
                return outcome
            excluded.add(outcome.offer.offer_id)

    def _hold_days(self, offer: Offer | None) -> int:
        if offer is not None and offer.return_period_days is not None:
            return offer.return_period_days
        return self.config.reward_hold_days

    async def _become_available(self, conn: AsyncConnection, tx: Tx, values: dict[str, Any],
                                now: dt.datetime) -> None:
        """Add the credit bookkeeping and the `RewardAvailable` event (same transaction)."""
        reward = values.get("reward_cents", tx.reward_cents) or 0
        refunded = values.get("refunded_amount_cents", tx.refunded_amount_cents)
        gross = values.get("cleared_amount_cents", tx.cleared_amount_cents) or tx.gross_cents
        values.update(reward_state=rewards.AVAILABLE, credited_cents=reward,
                      credit_base_cents=max(0, gross - refunded), refunded_at_credit_cents=refunded,
                      available_at=values.get("available_at") or now)
        if reward > 0:
            await self._event(conn, "RewardAvailable", f"clo_reward:{tx.id}", {
                "clo_transaction_id": tx.id, "driver_id": tx.driver_id, "amount_cents": reward,
                "merchant_id": values.get("merchant_id", tx.merchant_id),
                "merchant_name": tx.merchant_name or values.get("merchant_id", tx.merchant_id),
                "offer_id": values.get("offer_id", tx.offer_id), "external_id": tx.external_id,
                "occurred_at": now.isoformat()})
        REWARDS.labels(rewards.AVAILABLE).inc()

    async def _clear(self, conn: AsyncConnection, tx: Tx, *, cleared: int, local_time: dt.datetime,
                     lookup: SessionLookup | None, now: dt.datetime) -> Tx | None:
        """Clearing of an existing row in pending/failed/rejected (or a fresh `new` row).
        Returns the updated row, or None when the clearing is ignored."""
        if tx.reward_state not in rewards.CLEARABLE:
            return None
        net = max(0, cleared - tx.refunded_amount_cents)
        # re-evaluate on the net cleared amount; release what the auth reserved first
        await self.offers.release(conn, tx.offer_id, tx.reserved_cents)
        outcome = await self._select(conn, card_id=tx.card_id, amount=net, merchant_id=tx.merchant_id,
                                     local_time=local_time, instant=tx.transaction_time, lookup=lookup,
                                     preferred=tx.offer_id, exclude_tx=tx.id)
        values: dict[str, Any] = {"cleared_amount_cents": cleared, "amount_cents": cleared,
                                  "processed_at": now, "updated_at": now,
                                  "eligibility_code": outcome.code, "eligibility_reason": outcome.reason}
        if not outcome.eligible:
            if tx.reward_state in (rewards.NEW, rewards.PENDING):
                values.update(reward_state=rewards.REJECTED, reward_cents=None, reserved_cents=0,
                              session_check=_session_state(outcome, lookup))
                REWARDS.labels(rewards.REJECTED).inc()
                return await self.txs.transition(conn, tx, values)
            values.update(reserved_cents=0)
            await self.txs.transition(conn, tx, values)
            return None
        assert outcome.offer is not None
        reward = outcome.reward_cents or 0
        hold = self._hold_days(outcome.offer)
        values.update(offer_id=outcome.offer.offer_id, reward_cents=reward, reserved_cents=reward,
                      reward_base_cents=net, base_reward_cents=reward,
                      refunded_at_eval_cents=tx.refunded_amount_cents,
                      session_check=_session_state(outcome, lookup),
                      charging_session_id=outcome.session_id or tx.charging_session_id,
                      available_at=now + dt.timedelta(days=hold))
        if hold == 0 and not outcome.session_deferred:
            await self._become_available(conn, tx, values, now)
        else:
            values["reward_state"] = rewards.QUALIFIED
            REWARDS.labels(rewards.QUALIFIED).inc()
        updated = await self.txs.transition(conn, tx, values)
        if updated is None:
            raise _Conflict()
        return updated

    # =============================================================================================
    # Fidel webhooks (clo.md §3.9, §3.10)
    # =============================================================================================

    def verify_webhook(self, hook_key: str, body: bytes, signature: str | None, timestamp: str | None) -> None:
        secrets = self.config.secrets_for(hook_key)
        if not secrets:
            if self.config.is_development:
                UNVERIFIED.inc()
                log.warning("fidel webhook accepted unverified (no secret, ENV=development)",
                            extra={"hook": hook_key})
                return
            raise errors.Unavailable("Webhook verification not configured", reason="WEBHOOK_NOT_CONFIGURED")
        try:
            dsig.verify(secrets=secrets, body=body, url=self.config.registered_url(hook_key),
                        signature=signature, timestamp=timestamp,
                        now_ms=int(self.clock.now().timestamp() * 1000),
                        tolerance_s=self.config.fidel_webhook_tolerance_s)
        except dsig.SignatureError as exc:
            SIGNATURE_FAILURES.labels(exc.cause).inc()
            log.info("fidel webhook signature refused", extra={"hook": hook_key, "cause": exc.cause})
            raise errors.InvalidArgument("Invalid webhook signature", reason="INVALID_SIGNATURE") from None

    async def handle_webhook(self, event_type: str, endpoint: str, body: bytes, signature: str | None,
                             timestamp: str | None) -> dict[str, Any]:
        if endpoint not in ("", "fidel/webhook"):
            raise errors.NotFound("Not found", reason="UNKNOWN_EVENT_TYPE")
        legacy = endpoint == "fidel/webhook"
        if not legacy and event_type not in payloads.FIDEL_EVENTS:
            raise errors.NotFound("Not found", reason="UNKNOWN_EVENT_TYPE")
        if len(body) > MAX_WEBHOOK_BYTES:
            raise errors.ResourceExhausted("Payload too large", reason="PAYLOAD_TOO_LARGE", http_status=413)
        if legacy and self.config.mock:
            return reply("ignored", reason="mock_mode")
        self.verify_webhook("legacy" if legacy else event_type, body, signature, timestamp)
        try:
            result = await self._process(event_type, legacy, body)
        except (sa.exc.DBAPIError, ConnectionError, OSError, TimeoutError):  # deadlock, lock timeout, DB down
            log.warning("fidel webhook transient failure", exc_info=True)
            raise errors.Unavailable("Temporarily unavailable; retry", reason="TRANSIENT") from None
        WEBHOOKS.labels(event_type or "legacy", result.get("status", "")).inc()
        return result

    async def _process(self, event_type: str, legacy: bool, body: bytes) -> dict[str, Any]:
        try:
            obj = payloads.loads(body)
        except payloads.PayloadError as exc:
            return reply("ignored", reason=exc.reason)
        if legacy:
            if not isinstance(obj, dict) or not isinstance(obj.get("event"), str) \
                    or not isinstance(obj.get("transaction"), dict):
                return reply("ignored", reason="unknown_envelope")
            event_type = obj["event"]
            if event_type not in payloads.LEGACY_HANDLED:
                return reply("ignored", event_type=event_type[:64])
            obj = obj["transaction"]
        elif event_type not in payloads.HANDLED:
            return reply("ignored", event_type=event_type)
        if event_type == "card.linked":
            return await self._card_linked(obj, body)
        try:
            ftx = payloads.parse_transaction(obj, legacy=legacy)
        except payloads.PayloadError as exc:
            return reply("ignored", reason=exc.reason)
        if ftx.currency != "USD":
            return reply("ignored", reason="unsupported_currency")
        if abs(ftx.amount_cents) > self.config.max_transaction_cents:
            return reply("ignored", reason="amount_out_of_range")
        for attempt in range(3):
            try:
                if event_type == "transaction.refund" or (event_type == "transaction.clearing"
                                                          and ftx.amount_cents < 0):
                    return await self._refund(event_type, ftx, body)
                return await self._auth_or_clearing(event_type, ftx, body)
            except (sa.exc.IntegrityError, _Conflict):
                # a concurrent delivery won a unique insert or a conditional transition: reload
                if attempt == 2:
                    raise errors.Unavailable("Temporarily unavailable; retry", reason="TRANSIENT") from None
        raise AssertionError("unreachable")

    async def _duplicate_reply(self, conn: AsyncConnection, event_type: str, external_id: str) -> dict:
        tx = await self.txs.by_external(conn, external_id)
        if event_type == "transaction.auth":
            return reply("duplicate", transaction_id=tx.id if tx else None)
        if event_type == "transaction.clearing":
            return reply("ignored", reason="not_eligible_or_already_processed",
                         transaction_id=tx.id if tx else None)
        stored = await self.inbox.outcome(conn, event_type, external_id)
        return stored if stored is not None else reply("ignored", reason="already_processed")

    async def _card_linked(self, obj: Any, body: bytes) -> dict[str, Any]:
        from services.clo.adapters.fidel import card_from_json

        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not valid_fidel_card_id(obj["id"]):
            return reply("ignored", reason="invalid_payload")
        pc = card_from_json(obj)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await self.inbox.claim(conn, "card.linked", pc.fidel_card_id, body, now):
                stored = await self.inbox.outcome(conn, "card.linked", pc.fidel_card_id)
                return stored or reply("ignored", reason="already_processed")
            if pc.program_id != self.config.program_id():
                result = reply("ignored", reason="wrong_program")
            elif not pc.metadata_id:
                result = reply("ignored", reason="no_driver_metadata")
            else:
                outcome = await self._upsert_card(conn, pc.metadata_id, pc, now, confirmed=False)
                if outcome == "card_owned_by_other_driver":
                    result = reply("ignored", reason="card_owned_by_other_driver")
                elif outcome == "card_limit_reached":
                    result = reply("ignored", reason="card_limit_reached")
                else:
                    result = reply(outcome[0], card_id=outcome[1].card_id)
            await self.inbox.record(conn, "card.linked", pc.fidel_card_id, result)
        return result

    async def _auth_or_clearing(self, event_type: str, ftx: payloads.FidelTransaction, body: bytes) -> dict:
        now = self.clock.now()
        # reads and the telemetry call happen before the write transaction
        async with self.db.read() as conn:
            existing = await self.txs.by_external(conn, ftx.external_id)
            card_row = (await self.cards.row(conn, existing.card_id) if existing is not None
                        else (await self.cards.active_by_fidel(conn, ftx.card_id) if ftx.card_id else None))
            merchant_id, tz_name = await self._resolve(conn, ftx)
            if existing is not None:
                merchant_id = existing.merchant_id  # the auth's resolution stands
            offers = await self.offers.session_required_for_merchant(conn, merchant_id) if merchant_id else []
        if card_row is None:
            async with self.db.transaction() as conn:
                if await self.inbox.claim(conn, event_type, ftx.external_id, body, now):
                    result = reply("ignored", reason="card_not_enrolled")
                    await self.inbox.record(conn, event_type, ftx.external_id, result)
                    return result
                return await self._duplicate_reply(conn, event_type, ftx.external_id)
        tz = payloads.zone(tz_name) or payloads.zone("UTC")
        if existing is not None:  # the purchase instant is the auth's
            instant = existing.transaction_time
            local = payloads.utc_to_local(instant, tz)
        elif ftx.local_datetime is not None:
            instant = payloads.local_to_utc(ftx.local_datetime, tz)
            local = ftx.local_datetime
        else:
            instant = now
            local = payloads.utc_to_local(instant, tz)
        lookup = await self._lookup_sessions(card_row.driver_id, instant, offers, None)
        amount = abs(ftx.amount_cents)
        async with self.db.transaction() as conn:
            if not await self.inbox.claim(conn, event_type, ftx.external_id, body, now):
                return await self._duplicate_reply(conn, event_type, ftx.external_id)
            card = await self.cards.lock(conn, card_row.card_id, active_only=existing is None)
            if card is None:
                result = reply("ignored", reason="card_not_enrolled")
            else:
                tx = await self.txs.by_external(conn, ftx.external_id)
                if event_type == "transaction.auth":
                    result = await self._auth(conn, tx, card, ftx, merchant_id, amount, instant, local,
                                              lookup, now)
                else:
                    result = await self._clearing(conn, tx, card, ftx, merchant_id, amount, instant,
                                                  local, lookup, now)
            await self.inbox.record(conn, event_type, ftx.external_id, result)
        self._events_committed()
        return result

    def _new_row(self, *, card, ftx: payloads.FidelTransaction | None, external_id: str,
                 merchant_id: str | None, merchant_name: str | None, instant: dt.datetime,
                 local: dt.datetime, now: dt.datetime) -> Tx:
        return Tx(id=str(uuid.uuid4()), external_id=external_id, driver_id=card.driver_id,
                  card_id=card.card_id, merchant_id=merchant_id, merchant_name=merchant_name,
                  offer_id=None, auth_amount_cents=None, cleared_amount_cents=None, amount_cents=0,
                  refunded_amount_cents=0, reward_base_cents=0, base_reward_cents=0,
                  refunded_at_eval_cents=0, credit_base_cents=0, refunded_at_credit_cents=0,
                  transaction_time=instant, local_time=local.strftime("%Y-%m-%dT%H:%M:%S"),
                  reward_state=rewards.NEW, reward_cents=None, reserved_cents=0, credited_cents=0,
                  clawed_back_cents=0, eligibility_code=None, eligibility_reason=None,
                  session_check="not_required", charging_session_id=None, available_at=None,
                  processed_at=None, created_at=now, updated_at=now, version=0)

    async def _insert_new(self, conn: AsyncConnection, tx: Tx) -> None:
        values = dataclasses.asdict(tx)
        await self.txs.insert(conn, values)

    async def _auth(self, conn, tx: Tx | None, card, ftx, merchant_id, amount, instant, local, lookup, now) -> dict:
        if tx is not None:
            return reply("duplicate", transaction_id=tx.id)
        outcome = await self._select(conn, card_id=card.card_id, amount=amount, merchant_id=merchant_id,
                                     local_time=local, instant=instant, lookup=lookup)
        row = self._new_row(card=card, ftx=ftx, external_id=ftx.external_id, merchant_id=merchant_id,
                            merchant_name=ftx.brand_name, instant=instant, local=local, now=now)
        # `new` → pending/rejected in the insert itself (the row never exists in `new`); UNIQUE
        # external_id makes a concurrent second insert fail and reload as a duplicate
        values: dict[str, Any] = {"auth_amount_cents": amount, "amount_cents": amount, "processed_at": now,
                                  "eligibility_code": outcome.code, "eligibility_reason": outcome.reason,
                                  "session_check": _session_state(outcome, lookup), "version": 1}
        if outcome.eligible:
            assert outcome.offer is not None
            values.update(reward_state=rewards.transition(rewards.NEW, "auth", rewards.PENDING),
                          offer_id=outcome.offer.offer_id, reward_cents=outcome.reward_cents,
                          reserved_cents=outcome.reward_cents, reward_base_cents=amount,
                          base_reward_cents=outcome.reward_cents, charging_session_id=outcome.session_id)
        else:
            values.update(reward_state=rewards.REJECTED)
        REWARDS.labels(values["reward_state"]).inc()
        tx = dataclasses.replace(row, **values)
        await self._insert_new(conn, tx)
        return self._tx_reply(tx)

    async def _clearing(self, conn, tx: Tx | None, card, ftx, merchant_id, amount, instant, local, lookup,
                        now) -> dict:
        if tx is None:
            if not card.active:
                return reply("ignored", reason="card_not_enrolled")
            tx = self._new_row(card=card, ftx=ftx, external_id=ftx.external_id, merchant_id=merchant_id,
                               merchant_name=ftx.brand_name, instant=instant, local=local, now=now)
            await self._insert_new(conn, tx)
        elif tx.auth_amount_cents is not None and tx.cleared_amount_cents is None:
            AUTH_TO_CLEAR.observe(max(0.0, (now - tx.created_at).total_seconds()))
        updated = await self._clear(conn, tx, cleared=amount, local_time=local, lookup=lookup, now=now)
        if updated is None or updated.reward_state in (rewards.REJECTED, rewards.FAILED) and \
                tx.reward_state in (rewards.REJECTED, rewards.FAILED):
            return reply("ignored", reason="not_eligible_or_already_processed", transaction_id=tx.id)
        return self._tx_reply(updated)

    @staticmethod
    def _tx_reply(tx: Tx) -> dict:
        rejected = tx.reward_state in (rewards.REJECTED, rewards.FAILED)
        return reply(tx.status, transaction_id=tx.id, reward_cents=None if rejected else tx.reward_cents,
                     reason=tx.eligibility_reason, reward_state=tx.reward_state,
                     eligibility_code=tx.eligibility_code, charging_session_id=tx.charging_session_id)

    # ---------------------------------------------------------------------------------------------
    # Refunds (clo.md §3.7, §3.8)
    # ---------------------------------------------------------------------------------------------

    async def _refund(self, event_type: str, ftx: payloads.FidelTransaction, body: bytes) -> dict:
        now = self.clock.now()
        async with self.db.read() as conn:
            if await self.refunds.exists(conn, ftx.external_id):
                original = None
                already = True
            else:
                already = False
                original = await self._match_refund(conn, ftx, now)
        async with self.db.transaction() as conn:
            if not await self.inbox.claim(conn, event_type, ftx.external_id, body, now):
                stored = await self.inbox.outcome(conn, event_type, ftx.external_id)
                return stored if stored is not None and stored.get("status") == "ignored" \
                    else reply("ignored", reason="already_processed")
            if already:
                result = reply("ignored", reason="already_processed")
            elif isinstance(original, str):
                result = reply("ignored", reason=original)
            else:
                result = await self._apply_refund(conn, original, ftx, now)
            await self.inbox.record(conn, event_type, ftx.external_id, result)
        self._events_committed()
        return result

    async def _match_refund(self, conn: AsyncConnection, ftx: payloads.FidelTransaction, now: dt.datetime):
        """The original transaction, or the ignore reason."""
        if ftx.original_transaction_id:
            tx = await self.txs.by_external(conn, ftx.original_transaction_id)
            return tx if tx is not None else "original_transaction_not_found"
        card = None
        if ftx.card_id:
            card = (await conn.execute(sa.select(cards).where(cards.c.fidel_card_id == ftx.card_id)
                                       .order_by(cards.c.active.desc(), cards.c.linked_at.desc()).limit(1))).first()
        if card is None:
            return "unmatched_refund"
        merchant_id, tz_name = await self._resolve(conn, ftx)
        when = now
        if ftx.local_datetime is not None:
            when = payloads.local_to_utc(ftx.local_datetime, payloads.zone(tz_name) or payloads.zone("UTC"))
        since = when - dt.timedelta(days=self.config.refund_match_days)
        amount = abs(ftx.amount_cents)
        found = [t for t in await self.txs.refund_candidates(conn, card.card_id, merchant_id, when, since)
                 if t.gross_cents - t.refunded_amount_cents > 0
                 and (not ftx.amount_present or amount <= t.gross_cents - t.refunded_amount_cents)]
        return found[0] if len(found) == 1 else "unmatched_refund"

    async def _apply_refund(self, conn: AsyncConnection, original: Tx, ftx: payloads.FidelTransaction,
                            now: dt.datetime) -> dict:
        await self.cards.lock(conn, original.card_id, active_only=False)
        if await self.refunds.exists(conn, ftx.external_id):
            return reply("ignored", reason="already_processed")
        tx = await self.txs.get(conn, original.id)
        assert tx is not None
        remaining = max(0, tx.gross_cents - tx.refunded_amount_cents)
        amount = abs(ftx.amount_cents) if ftx.amount_present else remaining
        refund_id = str(uuid.uuid4())
        refunded = tx.refunded_amount_cents + amount
        gross = tx.gross_cents
        values: dict[str, Any] = {"refunded_amount_cents": refunded, "updated_at": now}
        clawback_cents = 0
        money_moved = tx.reward_state in rewards.CREDITED
        state = tx.reward_state
        if state in (rewards.PENDING, rewards.QUALIFIED, rewards.FAILED, rewards.REJECTED):
            if refunded >= gross:
                values.update(reward_state=rewards.REVERSED, reserved_cents=0)
                await self.offers.release(conn, tx.offer_id, tx.reserved_cents)
                REWARDS.labels(rewards.REVERSED).inc()
            elif state == rewards.QUALIFIED:
                new_reward = rewards.reduced_reward(tx.base_reward_cents, tx.reward_base_cents,
                                                    refunded - tx.refunded_at_eval_cents)
                await self.offers.release(conn, tx.offer_id, tx.reserved_cents - new_reward)
                values.update(reward_cents=new_reward, reserved_cents=new_reward)
        elif state in (rewards.AVAILABLE, rewards.PARTIALLY_CLAWED_BACK):
            cb = rewards.clawback(credited_cents=tx.credited_cents, base_cents=tx.credit_base_cents,
                                  refunded_after_cents=refunded - tx.refunded_at_credit_cents,
                                  clawed_back_cents=tx.clawed_back_cents)
            clawback_cents = cb.amount_cents
            full = cb.full or refunded >= gross
            if full and cb.total_clawed_cents < tx.credited_cents:
                clawback_cents += tx.credited_cents - cb.total_clawed_cents
            total = tx.clawed_back_cents + clawback_cents
            values.update(clawed_back_cents=total,
                          reward_state=rewards.CLAWED_BACK if full else rewards.PARTIALLY_CLAWED_BACK)
            REWARDS.labels(values["reward_state"]).inc()
            if clawback_cents > 0:
                CLAWBACK_CENTS.inc(clawback_cents)
                await self._event(conn, "RewardClawback", f"clo_clawback:{refund_id}", {
                    "refund_id": refund_id, "clo_transaction_id": tx.id,
                    "refund_external_id": ftx.external_id, "driver_id": tx.driver_id,
                    "amount_cents": clawback_cents, "original_key": f"clo_reward:{tx.id}",
                    "occurred_at": now.isoformat()})
        await self.refunds.insert(conn, {
            "id": refund_id, "external_id": ftx.external_id, "transaction_id": tx.id, "amount_cents": amount,
            "matched_by": "original_id" if ftx.original_transaction_id else "heuristic",
            "clawback_cents": clawback_cents, "created_at": now})
        after = await self.txs.transition(conn, tx, values)
        if after is None:
            raise _Conflict()
        if money_moved:
            return reply("refunded", transaction_id=tx.id, clawback_cents=clawback_cents, refund_id=refund_id,
                         reward_state=after.reward_state)
        return reply("refunded", transaction_id=tx.id, no_clawback=True, refund_id=refund_id,
                     reward_state=after.reward_state)

    # =============================================================================================
    # C6: manual verification (admin, mock only)
    # =============================================================================================

    async def verify_transaction(self, caller: str, *, card_id: str, amount_cents: int, merchant_id: str,
                                 merchant_name: str | None, transaction_time: str | None,
                                 charging_session_id: str | None, location_id: str | None,
                                 external_id: str | None, request_id: str) -> dict:
        if not self.config.mock:
            raise errors.FailedPrecondition("Manual verification is only available in mock mode",
                                            reason="MOCK_MODE_ONLY")
        if amount_cents < 1 or amount_cents > self.config.max_transaction_cents:
            raise errors.InvalidArgument("Invalid amount_cents")
        if not _is_uuid(card_id):
            raise errors.InvalidArgument("Invalid card_id")
        if not merchant_id or len(merchant_id) > 64:
            raise errors.InvalidArgument("Invalid merchant_id")
        for name, value in (("location_id", location_id), ("external_id", external_id),
                            ("charging_session_id", charging_session_id)):
            if value is not None and (not value or len(value) > 128 or not value.isprintable()):
                raise errors.InvalidArgument(f"Invalid {name}")
        now = self.clock.now()
        instant = _parse_instant(transaction_time, now)
        external_id = external_id or (f"manual-{request_id}" if request_id else f"manual-{uuid.uuid4()}")
        async with self.db.read() as conn:
            card = await self.cards.row(conn, card_id)
            if card is None or not card.active:
                return reply("rejected", reason="card_not_found", eligibility_code="card_not_found")
            if card.driver_id == caller:
                raise errors.PermissionDenied("Cannot verify a transaction on your own card",
                                              reason="SELF_VERIFICATION")
            existing = await self.txs.by_external(conn, external_id)
            if existing is not None:
                return reply("duplicate", transaction_id=existing.id)
            tz_name = self.config.default_time_zone
            if location_id:
                m = await self.mappings.get(conn, "location", location_id)
                if m is not None and m.time_zone:
                    tz_name = m.time_zone
            offers = await self.offers.session_required_for_merchant(conn, merchant_id)
        local = payloads.utc_to_local(instant, payloads.zone(tz_name) or payloads.zone("UTC"))
        lookup = await self._lookup_sessions(card.driver_id, instant, offers, charging_session_id)
        try:
            async with self.db.transaction() as conn:
                locked = await self.cards.lock(conn, card_id, active_only=True)
                if locked is None:
                    return reply("rejected", reason="card_not_found", eligibility_code="card_not_found")
                dup = await self.txs.by_external(conn, external_id)
                if dup is not None:
                    return reply("duplicate", transaction_id=dup.id)
                row = self._new_row(card=locked, ftx=None, external_id=external_id, merchant_id=merchant_id,
                                    merchant_name=merchant_name, instant=instant, local=local, now=now)
                row = dataclasses.replace(row, auth_amount_cents=amount_cents, amount_cents=amount_cents)
                await self._insert_new(conn, row)
                await add_audit(conn, caller, "transaction.verify", row.id, now)
                tx = await self._clear(conn, row, cleared=amount_cents, local_time=local, lookup=lookup, now=now)
        except sa.exc.IntegrityError:
            async with self.db.read() as conn:
                existing = await self.txs.by_external(conn, external_id)
            return reply("duplicate", transaction_id=existing.id if existing else None)
        self._events_committed()
        assert tx is not None
        if tx.reward_state == rewards.AVAILABLE:
            return reply("credited", transaction_id=tx.id, reward_cents=tx.reward_cents, mock=True,
                         reward_state=tx.reward_state, eligibility_code=tx.eligibility_code,
                         charging_session_id=tx.charging_session_id)
        out = self._tx_reply(tx)
        out["mock"] = True
        return out

    # =============================================================================================
    # Jobs (every 60 s; safe across replicas: SKIP LOCKED on PostgreSQL, one worker on SQLite)
    # =============================================================================================

    async def _each_due(self, where, fn, limit: int = 100) -> int:
        done = 0
        async with self.db.transaction() as conn:
            ids = await self.txs.due_ids(conn, where, limit, self.db.is_postgres)
            for tx_id in ids:
                tx = await self.txs.get(conn, tx_id)
                if tx is not None and await fn(conn, tx):
                    done += 1
        if done:
            self._events_committed()
        return done

    async def expire_auths(self) -> int:
        """`pending` (or `qualified` with a deferred session check) older than the expiry → failed."""
        now = self.clock.now()
        cutoff = now - dt.timedelta(days=self.config.auth_expiry_days)
        t = transactions.c
        where = sa.and_(t.transaction_time < cutoff, sa.or_(
            t.reward_state == rewards.PENDING,
            sa.and_(t.reward_state == rewards.QUALIFIED, t.session_check == "deferred")))

        async def expire(conn, tx: Tx) -> bool:
            await self.offers.release(conn, tx.offer_id, tx.reserved_cents)
            REWARDS.labels(rewards.FAILED).inc()
            return await self.txs.transition(conn, tx, {"reward_state": rewards.FAILED, "reserved_cents": 0,
                                                        "updated_at": now})

        return await self._each_due(where, expire)

    async def release_holds(self) -> int:
        now = self.clock.now()
        t = transactions.c
        where = sa.and_(t.reward_state == rewards.QUALIFIED, t.available_at <= now,
                        t.session_check != "deferred")

        async def release(conn, tx: Tx) -> bool:
            values: dict[str, Any] = {"updated_at": now}
            await self._become_available(conn, tx, values, now)
            return await self.txs.transition(conn, tx, values)

        return await self._each_due(where, release)

    async def recheck_sessions(self) -> int:
        now = self.clock.now()
        t = transactions.c
        async with self.db.read() as conn:
            rows = [Tx.from_row(r) for r in await conn.execute(sa.select(transactions).where(
                t.session_check == "deferred", t.reward_state.in_((rewards.PENDING, rewards.QUALIFIED)))
                .limit(100))]
            offers = {}
            for tx in rows:
                if tx.offer_id and tx.offer_id not in offers:
                    offers[tx.offer_id] = await self.offers.get(conn, tx.offer_id)
        changed = 0
        for tx in rows:
            offer = offers.get(tx.offer_id)
            lookup = await self._lookup_sessions(tx.driver_id, tx.transaction_time, [offer] if offer else [], None)
            if lookup is None or lookup.sessions is None:
                continue
            before, after = window_for(offer, self.policy)
            v = verdict(lookup.sessions, tx.transaction_time, before, after, self.policy)
            async with self.db.transaction() as conn:
                current = await self.txs.get(conn, tx.id)
                if current is None or current.session_check != "deferred":
                    continue
                if v.code is None:
                    values = {"session_check": "passed", "charging_session_id": v.session_id, "updated_at": now}
                else:
                    await self.offers.release(conn, current.offer_id, current.reserved_cents)
                    values = {"session_check": "failed", "reward_state": rewards.REJECTED, "reserved_cents": 0,
                              "reward_cents": None, "eligibility_code": v.code,
                              "eligibility_reason": doffers.REASONS[v.code], "updated_at": now}
                if await self.txs.transition(conn, current, values):
                    changed += 1
        if changed:
            await self.release_holds()
        return changed

    async def refresh_metrics(self) -> None:
        """Gauges that need a query: reward liability by state, age of the oldest pending event."""
        t = transactions.c
        o = outbox_table.c
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(t.reward_state, sa.func.coalesce(sa.func.sum(
                t.reward_cents - t.clawed_back_cents), 0)).group_by(t.reward_state))
            by_state = {r[0]: int(r[1]) for r in rows}
            oldest = (await conn.execute(sa.select(sa.func.min(o.created_at)).where(
                o.delivered_at.is_(None), o.dead_at.is_(None)))).scalar()
        for state in rewards.STATES:
            LIABILITY.labels(state).set(by_state.get(state, 0))
        if isinstance(oldest, str):  # SQLite aggregate over the UTC text column
            oldest = dt.datetime.fromisoformat(oldest).replace(tzinfo=UTC)
        OUTBOX_OLDEST.set((self.clock.now() - oldest).total_seconds() if oldest is not None else 0)

    async def reconcile(self) -> dict[str, int]:
        """Daily reconciliation (clo.md §9): list the program's transactions at Fidel and feed the
        ones CLO never received to the same handlers (auth, clearing, refund). Idempotent: what is
        already known is skipped, and a late webhook for a fed event replies as a duplicate."""
        if self.fidel is None:
            return {}
        try:
            items = await self.fidel.list_transactions()
        except ProviderUnavailable:
            log.warning("reconciliation skipped: provider unavailable")
            return {}
        fed: dict[str, int] = {}
        for item in items:
            try:
                ftx = payloads.parse_transaction(payloads.loads(json.dumps(item).encode()))
            except payloads.PayloadError:
                continue
            async with self.db.read() as conn:
                known = await self.txs.by_external(conn, ftx.external_id)
                refund_known = await self.refunds.exists(conn, ftx.external_id)
            if ftx.amount_cents < 0:
                event = None if refund_known else "transaction.refund"
            elif known is None:
                event = "transaction.clearing" if ftx.cleared else "transaction.auth"
            elif ftx.cleared and known.cleared_amount_cents is None:
                event = "transaction.clearing"
            else:
                event = None
            if event is None:
                continue
            result = await self._process(event, False, json.dumps(item, separators=(",", ":")).encode())
            fed[event] = fed.get(event, 0) + 1
            log.info("reconciliation fed a missing event", extra={"event_type": event,
                                                                  "status": result.get("status")})
        return fed

    async def purge_inbox(self) -> int:
        cutoff = self.clock.now() - dt.timedelta(days=self.config.webhook_retention_days)
        async with self.db.transaction() as conn:
            return await self.inbox.purge(conn, cutoff)


class _Conflict(Exception):
    """A conditional transition lost a race; the caller reloads and retries."""


def _session_state(outcome: Outcome, lookup: SessionLookup | None) -> str:
    if lookup is None:
        return "not_required"
    if outcome.session_deferred:
        return "deferred"
    if outcome.code in ("outside_session_window", "session_not_owned"):
        return "failed"
    if outcome.eligible and outcome.session_id:
        return "passed"
    return "not_required"


def _card(row) -> Card:
    return Card(row.card_id, row.driver_id, row.fidel_card_id, row.last4, row.scheme, row.expiry_month,
                row.expiry_year, row.linked_at, row.active)


def _limit(limit: int | None) -> int:
    if limit is None:
        return 50
    if limit < 1 or limit > 100:
        raise errors.InvalidArgument("limit must be between 1 and 100", reason="INVALID_LIMIT")
    return limit


def _encode_token(created_at: dt.datetime, ident: str) -> str:
    raw = f"{created_at.astimezone(UTC).isoformat()}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str) -> tuple[dt.datetime, str] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        when, ident = raw.split("|", 1)
        value = dt.datetime.fromisoformat(when)
        if value.tzinfo is None or not ident:
            raise ValueError
        return value, ident
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidArgument("Invalid page_token", reason="INVALID_PAGE_TOKEN") from None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def _parse_instant(text: str | None, now: dt.datetime) -> dt.datetime:
    """C6 `transaction_time`: Z/offset = instant; naive = UTC; absent = now; >5 min ahead → 400."""
    if text is None or text == "":
        return now
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidArgument("Invalid transaction_time") from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value > now + dt.timedelta(minutes=5):
        raise errors.InvalidArgument("Invalid transaction_time")
    return value


