"""gRPC entrypoint: protobuf ⇄ domain only; roles from the JWT; errors from the kit."""
from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import Message

from kit import errors
from kit.interceptors import current_principal, require_roles
from kit.sensitive import SENSITIVE_DATA_MESSAGE, SENSITIVE_DATA_REJECTIONS, contains_pan
from nerava.clo.v1 import clo_pb2, clo_pb2_grpc
from services.clo.app.usecases import CloUseCases
from services.clo.domain.cards import brand
from services.clo.domain.offers import Offer, OfferInvalid, format_local, parse_local, percent_to_bps

ADMIN_REQUIRED = "Admin access required"


def _repeated(field) -> bool:
    rep = getattr(field, "is_repeated", None)  # protobuf ≥ 5; older versions only have the label
    if rep is not None:
        return rep() if callable(rep) else bool(rep)
    return field.label == field.LABEL_REPEATED


def guard(msg: Message) -> None:
    """The service's half of the PAN guard (clo.md §3.2): scan every string field, at any depth."""
    for field, value in msg.ListFields():
        if field.type == field.TYPE_STRING:
            values = value if _repeated(field) else [value]
            if any(contains_pan(v) for v in values):
                SENSITIVE_DATA_REJECTIONS.inc()
                raise errors.InvalidArgument(SENSITIVE_DATA_MESSAGE, reason="SENSITIVE_DATA")
        elif field.type == field.TYPE_MESSAGE and field.message_type.full_name != "google.api.HttpBody":
            for sub in (value if _repeated(field) else [value]):
                if isinstance(sub, Message):
                    guard(sub)


def _opt(msg: Message, name: str) -> Any:
    return getattr(msg, name) if msg.HasField(name) else None


def _offer_pb(o: Offer) -> clo_pb2.Offer:
    pb = clo_pb2.Offer(
        offer_id=o.offer_id, merchant_id=o.merchant_id, min_spend_cents=o.min_spend_cents,
        reward_cents=o.reward_cents, reward_type=o.reward_type, days_of_week=list(o.days_of_week),
        budget_reserved_cents=o.budget_reserved_cents, session_policy=o.session_policy, active=o.active,
        created_by=o.created_by, version=o.version)
    for name in ("reward_bps", "max_reward_cents", "max_rewards_per_card", "budget_cents",
                 "session_window_before_minutes", "session_window_after_minutes", "return_period_days"):
        value = getattr(o, name)
        if value is not None:
            setattr(pb, name, value)
    if o.valid_from is not None:
        pb.valid_from = format_local(o.valid_from)
    if o.valid_until is not None:
        pb.valid_until = format_local(o.valid_until)
    if o.created_at:
        pb.created_at.FromDatetime(o.created_at)
    if o.updated_at:
        pb.updated_at.FromDatetime(o.updated_at)
    return pb


def _reward_fields(req: Message, *, create: bool) -> dict[str, Any]:
    """reward_cents / reward_percent / reward_bps → the offer's reward fields (exactly one kind)."""
    out: dict[str, Any] = {}
    percent, bps = _opt(req, "reward_percent"), _opt(req, "reward_bps")
    if percent is not None and bps is not None:
        raise OfferInvalid("reward_percent and reward_bps are mutually exclusive")
    if percent is not None:
        out["reward_bps"] = percent_to_bps("reward_percent", percent)
    elif bps is not None:
        if bps < 1 or bps > 10_000:
            raise OfferInvalid("reward_bps must be between 1 and 10000")
        out["reward_bps"] = bps
    cents = _opt(req, "reward_cents")
    if cents is not None:
        out["reward_cents"] = cents
    elif create or "reward_bps" in out:
        out["reward_cents"] = 0
    return out


class CloApi(clo_pb2_grpc.CloServiceServicer):
    def __init__(self, usecases: CloUseCases) -> None:
        self.uc = usecases

    # ---- cards -------------------------------------------------------------------------------
    async def ListCards(self, request, context: grpc.aio.ServicerContext):
        caller = require_roles("driver", message="Driver access required")
        resp = clo_pb2.ListCardsResponse()
        for c in await self.uc.list_cards(caller.sub):
            card = resp.cards.add(id=c.card_id, last4=c.last4, brand=brand(c.scheme),
                                  expiry_month=c.expiry_month, expiry_year=c.expiry_year,
                                  fidel_card_id=c.fidel_card_id)
            card.linked_at.FromDatetime(c.linked_at)
        return resp

    async def LinkCard(self, request, context):
        caller = require_roles("driver", message="Driver access required")
        guard(request)
        result = await self.uc.link_card(caller.sub, request.fidel_card_id)
        c = result.card
        resp = clo_pb2.LinkCardResponse(card_id=c.card_id, status=result.status, last4=c.last4,
                                        brand=brand(c.scheme), fidel_card_id=c.fidel_card_id,
                                        expiry_month=c.expiry_month, expiry_year=c.expiry_year)
        resp.linked_at.FromDatetime(c.linked_at)
        if self.uc.config.mock:
            resp.mock = True
        return resp

    async def UnlinkCard(self, request, context):
        caller = require_roles("driver", "admin", message="Driver access required")
        guard(request)
        card_id = await self.uc.unlink_card(caller.sub, caller.is_admin, request.card_id)
        return clo_pb2.UnlinkCardResponse(status="unlinked", card_id=card_id)

    async def CreateEnrollmentSession(self, request, context):
        caller = require_roles("driver", message="Driver access required")
        session = await self.uc.create_enrollment_session(caller.sub)
        resp = clo_pb2.CreateEnrollmentSessionResponse(session_token=session.session_token,
                                                       program_id=self.uc.config.program_id(),
                                                       metadata_id=caller.sub)
        resp.expires_at.FromDatetime(session.expires_at)
        if self.uc.config.fidel_sdk_key:
            resp.sdk_key = self.uc.config.fidel_sdk_key
        if self.uc.config.mock:
            resp.mock = True
        return resp

    # ---- transactions ------------------------------------------------------------------------
    async def ListTransactions(self, request, context):
        caller = require_roles("driver", "admin", message=ADMIN_REQUIRED)
        guard(request)
        rows, nxt = await self.uc.list_transactions(caller.sub, caller.is_admin, request.driver_id,
                                                    _opt(request, "limit"), request.page_token)
        resp = clo_pb2.ListTransactionsResponse()
        for t in rows:
            pb = resp.transactions.add(
                id=t.id, amount_cents=t.amount_cents, status=t.status, reward_state=t.reward_state,
                clawback_cents=t.clawed_back_cents, card_id=t.card_id, external_id=t.external_id,
                refunded_amount_cents=t.refunded_amount_cents, credited_cents=t.credited_cents,
                session_check=t.session_check, driver_id=t.driver_id)
            rejected = t.reward_state in ("rejected", "failed")
            for name, value in (("merchant_name", t.merchant_name), ("eligibility_reason", t.eligibility_reason),
                                ("eligibility_code", t.eligibility_code), ("merchant_id", t.merchant_id),
                                ("charging_session_id", t.charging_session_id), ("offer_id", t.offer_id),
                                ("auth_amount_cents", t.auth_amount_cents),
                                ("cleared_amount_cents", t.cleared_amount_cents), ("local_time", t.local_time),
                                ("reward_cents", None if rejected else t.reward_cents)):
                if value is not None:
                    setattr(pb, name, value)
            pb.transaction_time.FromDatetime(t.transaction_time)
            pb.created_at.FromDatetime(t.created_at)
            if t.available_at is not None and t.reward_state in ("qualified", "available",
                                                                 "partially_clawed_back", "clawed_back"):
                pb.available_at.FromDatetime(t.available_at)
        if nxt:
            resp.next_page_token = nxt
        return resp

    async def VerifyTransaction(self, request, context):
        caller = current_principal()
        if not caller.is_admin:
            raise errors.PermissionDenied(ADMIN_REQUIRED, reason="ADMIN_REQUIRED")
        if not self.uc.config.mock:
            raise errors.FailedPrecondition("Manual verification is only available in mock mode",
                                            reason="MOCK_MODE_ONLY")
        guard(request)
        out = await self.uc.verify_transaction(
            caller.sub, card_id=request.card_id, amount_cents=request.amount_cents,
            merchant_id=request.merchant_id, merchant_name=_opt(request, "merchant_name"),
            transaction_time=_opt(request, "transaction_time"),
            charging_session_id=_opt(request, "charging_session_id"),
            location_id=_opt(request, "location_id"), external_id=_opt(request, "external_id"),
            request_id=request.request_id)
        return _build(clo_pb2.VerifyTransactionResponse, out)

    # ---- webhooks ----------------------------------------------------------------------------
    async def HandleFidelWebhook(self, request, context):
        caller = current_principal()
        if not caller.is_service:
            raise errors.PermissionDenied("Service access required", reason="ROLE_REQUIRED")
        md = {k: v for k, v in (context.invocation_metadata() or ())}
        out = await self.uc.handle_webhook(request.event_type, request.endpoint, bytes(request.body.data),
                                           md.get("x-fidel-signature"), md.get("x-fidel-timestamp"))
        return _build(clo_pb2.HandleFidelWebhookResponse, out)

    # ---- offers and mappings -----------------------------------------------------------------
    def _offer_caller(self):
        caller = current_principal()
        if not caller.has_any("admin", "merchant"):
            raise errors.PermissionDenied(ADMIN_REQUIRED, reason="ADMIN_REQUIRED")
        return caller

    async def CreateOffer(self, request, context):
        caller = self._offer_caller()
        if not caller.is_admin and request.merchant_id != caller.sub:
            raise errors.PermissionDenied("Merchants may only manage their own offers", reason="MERCHANT_NOT_OWN")
        guard(request)
        try:
            fields = _reward_fields(request, create=True)
            offer = Offer(
                offer_id="", merchant_id=request.merchant_id, min_spend_cents=request.min_spend_cents,
                max_reward_cents=_opt(request, "max_reward_cents"), days_of_week=tuple(request.days_of_week),
                valid_from=parse_local("valid_from", request.valid_from) if request.HasField("valid_from") else None,
                valid_until=parse_local("valid_until", request.valid_until) if request.HasField("valid_until") else None,
                max_rewards_per_card=_opt(request, "max_rewards_per_card"),
                budget_cents=_opt(request, "budget_cents"),
                session_policy=request.session_policy or "not_required",
                session_window_before_minutes=_opt(request, "session_window_before_minutes"),
                session_window_after_minutes=_opt(request, "session_window_after_minutes"),
                return_period_days=_opt(request, "return_period_days"),
                active=_opt(request, "active") if request.HasField("active") else (
                    caller.is_admin or not self.uc.config.merchant_offer_approval),
                request_id=request.request_id or None, **fields)
        except OfferInvalid as exc:
            raise errors.InvalidArgument(str(exc), reason="INVALID_OFFER") from None
        created = await self.uc.create_offer(caller.sub, caller.is_admin, offer)
        return clo_pb2.CreateOfferResponse(offer=_offer_pb(created))

    async def ListOffers(self, request, context):
        caller = self._offer_caller()
        guard(request)
        rows, nxt = await self.uc.list_offers(caller.sub, caller.is_admin, request.merchant_id,
                                              _opt(request, "active"), _opt(request, "limit"), request.page_token)
        resp = clo_pb2.ListOffersResponse(offers=[_offer_pb(o) for o in rows])
        if nxt:
            resp.next_page_token = nxt
        return resp

    async def UpdateOffer(self, request, context):
        caller = self._offer_caller()
        guard(request)
        changes: dict[str, Any] = {}
        try:
            changes.update(_reward_fields(request, create=False))
            for name in ("max_reward_cents", "min_spend_cents", "max_rewards_per_card", "budget_cents",
                         "session_policy", "session_window_before_minutes", "session_window_after_minutes",
                         "return_period_days", "active"):
                if request.HasField(name):
                    changes[name] = getattr(request, name)
            for name in ("valid_from", "valid_until"):
                if request.HasField(name):
                    changes[name] = parse_local(name, getattr(request, name))
            if request.days_of_week:
                changes["days_of_week"] = tuple(request.days_of_week)
        except OfferInvalid as exc:
            raise errors.InvalidArgument(str(exc), reason="INVALID_OFFER") from None
        clear = list(request.clear_fields)
        updated = await self.uc.update_offer(caller.sub, caller.is_admin, request.offer_id, changes, clear,
                                             _opt(request, "version"), request.request_id)
        return clo_pb2.UpdateOfferResponse(offer=_offer_pb(updated))

    async def UpsertMerchantMapping(self, request, context):
        caller = require_roles("admin", message=ADMIN_REQUIRED)
        guard(request)
        row, created = await self.uc.upsert_mapping(caller.sub, request.kind, request.external_id,
                                                    request.merchant_id, _opt(request, "time_zone"))
        m = clo_pb2.MerchantMapping(kind=row.kind, external_id=row.external_id, merchant_id=row.merchant_id)
        if row.time_zone:
            m.time_zone = row.time_zone
        m.created_at.FromDatetime(row.created_at)
        m.updated_at.FromDatetime(row.updated_at)
        return clo_pb2.UpsertMerchantMappingResponse(mapping=m, created=created)


def _build(cls, out: dict[str, Any]):
    """A reply message from the use case's dict (keys the message does not have are dropped)."""
    names = cls.DESCRIPTOR.fields_by_name
    return cls(**{k: v for k, v in out.items() if k in names and v is not None})
