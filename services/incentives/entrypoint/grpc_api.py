"""gRPC entrypoint: protobuf ⇄ domain only."""
from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from kit import errors
from kit.interceptors import current_principal
from nerava.incentives.v1 import incentives_pb2 as pb
from nerava.incentives.v1 import incentives_pb2_grpc
from services.incentives.app.usecases import IncentivesUseCases
from services.incentives.domain.campaigns import Campaign
from services.incentives.domain.rules import Session

_RULE_LISTS = ("charger_ids", "charger_networks", "zone_ids", "days_of_week", "connector_types",
               "driver_allowlist")
_CAP_FIELDS = (("per_day", "max_grants_per_driver_per_day"), ("per_week", "max_grants_per_driver_per_week"),
               ("per_campaign", "max_grants_per_driver_per_campaign"),
               ("per_charger", "max_grants_per_driver_per_charger"))


def _opt(msg: Message, name: str) -> Any:
    return getattr(msg, name) if msg.HasField(name) else None


def _repeated(f) -> bool:
    rep = getattr(f, "is_repeated", None)
    if rep is not None:
        return rep() if callable(rep) else bool(rep)
    return f.label == f.LABEL_REPEATED  # protobuf < 5


def _present(msg: Message) -> dict[str, Any]:
    """The fields of a message that are set: optional scalars by presence, lists when non-empty."""
    out: dict[str, Any] = {}
    for f in msg.DESCRIPTOR.fields:
        if _repeated(f):
            values = list(getattr(msg, f.name))
            if values:
                out[f.name] = values
        elif f.has_presence:
            if msg.HasField(f.name):
                out[f.name] = getattr(msg, f.name)
        else:
            out[f.name] = getattr(msg, f.name)
    return out


def _field_value(msg: Message, name: str) -> Any:
    f = msg.DESCRIPTOR.fields_by_name[name]
    if _repeated(f):
        return list(getattr(msg, name))
    if f.message_type is not None:
        return _present(getattr(msg, name)) if msg.HasField(name) else {}
    if f.has_presence:
        return _opt(msg, name)
    return getattr(msg, name)


def _ts(target, value: dt.datetime | None) -> None:
    if value is not None:
        target.FromDatetime(value)


def campaign_to_pb(c: Campaign, now: dt.datetime | None = None) -> pb.Campaign:
    out = pb.Campaign(
        id=c.id, sponsor_name=c.sponsor_name, name=c.name, campaign_type=c.campaign_type,
        status=c.effective_status(now) if now is not None else c.status, priority=c.priority,
        budget_cents=c.budget_cents, spent_cents=c.spent_cents, cost_per_session_cents=c.cost_per_session_cents,
        sessions_granted=c.sessions_granted, start_date=c.start_date, auto_renew=c.auto_renew,
        funding_status=c.funding_status, time_zone=c.time_zone,
    )
    for name in ("sponsor_email", "sponsor_logo_url", "sponsor_type", "description", "max_sessions",
                 "auto_renew_budget_cents", "end_date", "gross_funding_cents", "platform_fee_cents"):
        value = getattr(c, name)
        if value is not None:
            setattr(out, name, value)
    for cap, field in _CAP_FIELDS:
        if c.caps.get(cap) is not None:
            setattr(out, field, int(c.caps[cap]))
    rules = dict(c.rules)
    rules.setdefault("min_duration_minutes", 15)
    for key, value in rules.items():
        if value is None or key not in pb.CampaignRules.DESCRIPTOR.fields_by_name:
            continue
        if key in _RULE_LISTS:
            getattr(out.rules, key).extend(value)
        else:
            setattr(out.rules, key, value)
    out.rules.SetInParent()
    _ts(out.created_at, c.created_at)
    _ts(out.updated_at, c.updated_at)
    _ts(out.funded_at, c.funded_at)
    return out


def grant_to_pb(g: dict[str, Any]) -> pb.Grant:
    out = pb.Grant(id=g["id"], session_event_id=g["session_id"], campaign_id=g["campaign_id"],
                   driver_user_id=g["driver_id"], amount_cents=g["amount_cents"], status=g["status"])
    _ts(out.granted_at, g["granted_at"])
    _ts(out.created_at, g["created_at"])
    if g.get("charger_id") is not None:
        out.charger_id = g["charger_id"]
    if g.get("duration_minutes") is not None:
        out.duration_minutes = g["duration_minutes"]
    return out


def grant_record(g: dict[str, Any], names: dict[str, tuple[str, str]]) -> pb.GrantRecord:
    name, sponsor = names.get(g["campaign_id"], (g.get("campaign_name") or "", g.get("sponsor_name") or ""))
    out = pb.GrantRecord(
        grant_id=g["id"], campaign_id=g["campaign_id"], campaign_name=name, sponsor_name=sponsor,
        driver_id=g["driver_id"], session_id=g["session_id"], amount_cents=g["amount_cents"],
        currency=g.get("currency") or "usd", status=g["status"], reward_destination=g["reward_destination"],
        idempotency_key=g["idempotency_key"], local_day=g["local_day"])
    for name_ in ("charger_id", "duration_minutes", "clawback_reason", "clawback_actor", "nova_reversed",
                  "nova_shortfall", "partner_id"):
        if g.get(name_) is not None:
            setattr(out, name_, g[name_])
    _ts(out.session_start, g.get("session_start"))
    _ts(out.granted_at, g.get("granted_at"))
    _ts(out.created_at, g.get("created_at"))
    _ts(out.clawed_back_at, g.get("clawed_back_at"))
    return out


def session_grant(g: dict[str, Any] | None) -> pb.SessionGrant | None:
    if not g:
        return None
    out = pb.SessionGrant(grant_id=g["id"], campaign_id=g["campaign_id"], amount_cents=g["amount_cents"],
                          status=g["status"])
    _ts(out.granted_at, g["granted_at"])
    return out


def session_from_pb(r: pb.IngestSessionEndedRequest) -> Session:
    if not r.HasField("session_start"):
        raise errors.InvalidArgument("session_start is required")
    return Session(
        session_id=r.session_id, driver_id=r.driver_id,
        session_start=r.session_start.ToDatetime(tzinfo=dt.timezone.utc),
        session_end=r.session_end.ToDatetime(tzinfo=dt.timezone.utc) if r.HasField("session_end") else None,
        duration_minutes=_opt(r, "duration_minutes"), charger_id=_opt(r, "charger_id") or None,
        charger_network=_opt(r, "charger_network"), zone_id=_opt(r, "zone_id") or None,
        connector_type=_opt(r, "connector_type"), lat=_opt(r, "lat"), lng=_opt(r, "lng"),
        max_power_kw=_opt(r, "max_power_kw"), last_power_kw=_opt(r, "last_power_kw"), verified=r.verified,
        quality_score=_opt(r, "quality_score"), ended_reason=_opt(r, "ended_reason"),
        fraud_flags=tuple(r.fraud_flags), driver_completed_session_count=_opt(r, "driver_completed_session_count"),
        driver_email=_opt(r, "driver_email"), driver_time_zone=_opt(r, "driver_time_zone"),
        partner_id=_opt(r, "partner_id"), partner_trust_tier=_opt(r, "partner_trust_tier"))


class IncentivesApi(incentives_pb2_grpc.IncentivesServiceServicer):
    def __init__(self, usecases: IncentivesUseCases) -> None:
        self.uc = usecases

    def _c(self, c: Campaign) -> pb.Campaign:
        return campaign_to_pb(c, self.uc.clock.now())

    # ---- campaigns ------------------------------------------------------------------------------

    async def ListCampaigns(self, request: pb.ListCampaignsRequest, context: grpc.aio.ServicerContext):
        caller = current_principal()  # I2: any signed-in user; non-admins see their own
        campaigns, total = await self.uc.list_campaigns(
            caller, status=_opt(request, "status"), sponsor_name=_opt(request, "sponsor_name"),
            limit=_opt(request, "limit"), offset=_opt(request, "offset"))
        return pb.ListCampaignsResponse(campaigns=[self._c(c) for c in campaigns], count=len(campaigns), total=total)

    async def CreateCampaign(self, request: pb.CreateCampaignRequest, context):
        values = _present(request)
        values["rules"] = _present(request.rules) if request.HasField("rules") else {}
        values["caps"] = _present(request.caps) if request.HasField("caps") else {}
        values.pop("request_id", None)
        camp = await self.uc.create_campaign(current_principal(), values, request.request_id or None)
        return pb.CreateCampaignResponse(campaign=self._c(camp))

    async def GetCampaign(self, request: pb.GetCampaignRequest, context):
        return pb.GetCampaignResponse(campaign=self._c(await self.uc.get_campaign(current_principal(), request.campaign_id)))

    async def UpdateCampaign(self, request: pb.UpdateCampaignRequest, context):
        paths = list(request.update_mask.paths)
        values: dict[str, Any] = {}
        for path in paths:
            top, _, sub = path.partition(".")
            if top in ("campaign_id", "update_mask", "request_id"):
                continue  # the path parameter / envelope echoed in a body: not an edit
            if top not in request.DESCRIPTOR.fields_by_name:
                raise errors.InvalidArgument(f"unknown update_mask path '{path}'")
            if top in ("rules", "caps"):
                nested = getattr(request, top)
                bucket = values.setdefault(top, {})
                if sub:
                    if sub not in nested.DESCRIPTOR.fields_by_name:
                        raise errors.InvalidArgument(f"unknown update_mask path '{path}'")
                    bucket[sub] = _field_value(nested, sub)
                else:
                    bucket.update(_present(nested))
            else:
                values[top] = _field_value(request, top)
        paths = [p for p in paths if p.partition(".")[0] not in ("campaign_id", "update_mask", "request_id")]
        camp = await self.uc.update_campaign(current_principal(), request.campaign_id, paths, values)
        return pb.UpdateCampaignResponse(campaign=self._c(camp))

    async def ActivateCampaign(self, request: pb.ActivateCampaignRequest, context):
        camp = await self.uc.activate_campaign(current_principal(), request.campaign_id, request.request_id or None)
        return pb.ActivateCampaignResponse(campaign=self._c(camp))

    async def PauseCampaign(self, request: pb.PauseCampaignRequest, context):
        camp = await self.uc.pause_campaign(current_principal(), request.campaign_id, _opt(request, "reason"),
                                            request.request_id or None)
        return pb.PauseCampaignResponse(campaign=self._c(camp))

    async def ResumeCampaign(self, request: pb.ResumeCampaignRequest, context):
        camp = await self.uc.resume_campaign(current_principal(), request.campaign_id, request.request_id or None)
        return pb.ResumeCampaignResponse(campaign=self._c(camp))

    async def CancelCampaign(self, request: pb.CancelCampaignRequest, context):
        camp, unspent = await self.uc.cancel_campaign(current_principal(), request.campaign_id, _opt(request, "reason"),
                                                      request.request_id or None)
        return pb.CancelCampaignResponse(campaign=self._c(camp), unspent_cents=unspent)

    async def CreateCampaignCheckout(self, request: pb.CreateCampaignCheckoutRequest, context):
        r = await self.uc.create_campaign_checkout(current_principal(), request.campaign_id)
        out = pb.CreateCampaignCheckoutResponse(session_id=r["session_id"])
        for name in ("checkout_url", "status", "message"):
            if r.get(name) is not None:
                setattr(out, name, r[name])
        return out

    async def ApplyCampaignFunding(self, request: pb.ApplyCampaignFundingRequest, context):
        s = request.session
        session = {"id": s.id, "status": s.status, "payment_status": s.payment_status,
                   "amount_total": s.amount_total, "currency": s.currency,
                   "payment_intent": _opt(s, "payment_intent"), "client_reference_id": _opt(s, "client_reference_id"),
                   "metadata": json_format.MessageToDict(s.metadata) if s.HasField("metadata") else {}}
        r = await self.uc.apply_campaign_funding(current_principal(), request.stripe_event_id, request.type, session)
        out = pb.ApplyCampaignFundingResponse(result=r["result"], activated=bool(r.get("activated")),
                                              replayed=bool(r.get("replayed")))
        for name in ("campaign_id", "funding_status", "campaign_status", "gross_funding_cents",
                     "platform_fee_cents", "net_funding_cents"):
            if r.get(name) is not None:
                setattr(out, name, r[name])
        return out

    async def ListCampaignGrants(self, request: pb.ListCampaignGrantsRequest, context):
        rows, total = await self.uc.list_campaign_grants(current_principal(), request.campaign_id,
                                                         _opt(request, "limit"), _opt(request, "offset"))
        return pb.ListCampaignGrantsResponse(grants=[grant_to_pb(dict(r._mapping)) for r in rows], total=total,
                                             count=len(rows))

    async def GetCampaignBudget(self, request: pb.GetCampaignBudgetRequest, context):
        b = await self.uc.get_campaign_budget(current_principal(), request.campaign_id)
        out = pb.GetCampaignBudgetResponse(budget_cents=b.budget_cents, spent_cents=b.spent_cents,
                                           remaining_cents=b.remaining_cents, pct_used=b.pct_used,
                                           sessions_granted=b.sessions_granted)
        if b.max_sessions is not None:
            out.max_sessions = b.max_sessions
        return out

    async def InspectCampaign(self, request: pb.InspectCampaignRequest, context):
        c = await self.uc.inspect_campaign(current_principal(), request.campaign_id)
        i = pb.CampaignInternals(owner_id=c.owner_id, allow_partner_sessions=c.allow_partner_sessions,
                                 partner_ids=c.partner_ids, checkout_attempt=c.checkout_attempt,
                                 index_dimension=c.index_dimension)
        for name in ("max_partner_trust_tier", "stripe_checkout_session_id", "platform_fee_bps", "pause_reason",
                     "cancel_reason", "completion_reason"):
            if getattr(c, name) is not None:
                setattr(i, name, getattr(c, name))
        for name in ("starts_at", "ends_at", "paused_at", "canceled_at", "completed_at"):
            _ts(getattr(i, name), getattr(c, name))
        return pb.InspectCampaignResponse(campaign=self._c(c), internals=i)

    # ---- engine, grants -------------------------------------------------------------------------

    async def IngestSessionEnded(self, request: pb.IngestSessionEndedRequest, context):
        out = await self.uc.ingest_session_ended(current_principal(), session_from_pb(request))
        resp = pb.IngestSessionEndedResponse(outcome=out.outcome)
        if out.reason is not None:
            resp.reason = out.reason
        sg = session_grant(out.grant)
        if sg is not None:
            resp.grant.CopyFrom(sg)
        return resp

    async def ClawbackGrant(self, request: pb.ClawbackGrantRequest, context):
        changed, g = await self.uc.clawback_grant(current_principal(), request.grant_id, request.reason)
        names = await self.uc.campaign_names([g["campaign_id"]])
        return pb.ClawbackGrantResponse(changed=changed, grant=grant_record(g, names))

    async def BatchGetGrants(self, request: pb.BatchGetGrantsRequest, context):
        rows = await self.uc.batch_get_grants(current_principal(), list(request.grant_ids), list(request.session_ids))
        names = await self.uc.campaign_names(r["campaign_id"] for r in rows)
        return pb.BatchGetGrantsResponse(grants=[grant_record(r, names) for r in rows])

    async def ExplainSession(self, request: pb.ExplainSessionRequest, context):
        row, stored, cands = await self.uc.explain_session(current_principal(), request.session_id)
        out = pb.ExplainSessionResponse(session_id=row.session_id, driver_id=row.driver_id, outcome=stored.outcome,
                                        candidates_examined=stored.candidates_examined)
        if stored.reason is not None:
            out.reason = stored.reason
        sg = session_grant(stored.grant)
        if sg is not None:
            out.grant.CopyFrom(sg)
        _ts(out.evaluated_at, row.evaluated_at)
        for c in cands:
            e = out.candidates.add(campaign_id=c["campaign_id"], campaign_name=c["campaign_name"],
                                   priority=c["priority"], passed=c["passed"])
            if c["failed_rule"] is not None:
                e.failed_rule = c["failed_rule"]
                e.detail = c["detail"]
        return out

    # ---- driver ---------------------------------------------------------------------------------

    async def ListDriverActiveCampaigns(self, request: pb.ListDriverActiveCampaignsRequest, context):
        rows = await self.uc.list_driver_active_campaigns(
            current_principal(), lat=_opt(request, "lat"), lng=_opt(request, "lng"),
            charger_id=_opt(request, "charger_id") or None)
        out = pb.ListDriverActiveCampaignsResponse()
        for c, eligible in rows:
            d = out.campaigns.add(id=c.id, name=c.name, sponsor_name=c.sponsor_name,
                                  reward_cents=c.cost_per_session_cents, campaign_type=c.campaign_type,
                                  eligible=eligible)
            for name in ("sponsor_logo_url", "description", "end_date"):
                if getattr(c, name) is not None:
                    setattr(d, name, getattr(c, name))
        return out

    async def ListCampaignRewardsForChargers(self, request: pb.ListCampaignRewardsForChargersRequest, context):
        chargers = [{"charger_id": q.charger_id, "network_name": _opt(q, "network_name"),
                     "zone_id": _opt(q, "zone_id"), "lat": _opt(q, "lat"), "lng": _opt(q, "lng")}
                    for q in request.chargers]
        rows = await self.uc.rewards_for_chargers(current_principal(), chargers, _opt(request, "driver_id"),
                                                  _opt(request, "driver_email"))
        out = pb.ListCampaignRewardsForChargersResponse()
        for charger_id, camp in rows:
            r = out.rewards.add(charger_id=charger_id)
            if camp is not None:
                r.campaign_reward_cents = camp.cost_per_session_cents
                r.campaign_id = camp.id
        return out

    async def GetReputation(self, request: pb.GetReputationRequest, context):
        r = await self.uc.get_reputation(current_principal())
        out = pb.GetReputationResponse(points=r.points, tier=r.tier, tier_color=r.tier_color,
                                       progress_to_next=r.progress_to_next, streak_days=r.streak_days)
        if r.next_tier is not None:
            out.next_tier = r.next_tier
            out.points_to_next = r.points_to_next or 0
        return out

    # ---- nova -----------------------------------------------------------------------------------

    async def GrantNova(self, request: pb.GrantNovaRequest, context):
        tid, balance, replay = await self.uc.grant_nova(
            current_principal(), driver_id=request.driver_user_id, session_id=request.charging_session_id,
            amount=request.amount, key=_opt(request, "idempotency_key"))
        return pb.GrantNovaResponse(transaction_id=tid, driver_balance=balance, idempotent=replay)

    async def AdminGrantNova(self, request: pb.AdminGrantNovaRequest, context):
        r = await self.uc.admin_grant_nova(
            current_principal(), target=request.target, amount=request.amount, reason=request.reason,
            driver_id=_opt(request, "driver_user_id"), merchant_id=_opt(request, "merchant_id"),
            key=_opt(request, "idempotency_key"))
        out = pb.AdminGrantNovaResponse(success=True, transaction_id=r["transaction_id"], target=r["target"],
                                        amount=r["amount"], idempotent=r["idempotent"])
        if r["driver_user_id"] is not None:
            out.driver_user_id = r["driver_user_id"]
        if r["merchant_id"] is not None:
            out.merchant_id = r["merchant_id"]
        return out

    async def RedeemNova(self, request: pb.RedeemNovaRequest, context):
        tid, balance, replay = await self.uc.redeem_nova(
            current_principal(), merchant_id=request.merchant_id, amount=request.amount,
            key=request.idempotency_key, session_id=_opt(request, "session_id"),
            reference=_opt(request, "reference"))
        return pb.RedeemNovaResponse(transaction_id=tid, driver_balance=balance, merchant_id=request.merchant_id,
                                     amount=request.amount, idempotent=replay)

    async def GetNovaBalance(self, request: pb.GetNovaBalanceRequest, context):
        balance = await self.uc.nova_balance(current_principal(), request.driver_id)
        return pb.GetNovaBalanceResponse(driver_id=request.driver_id, balance=balance)

    async def UpsertNovaMerchant(self, request: pb.UpsertNovaMerchantRequest, context):
        m, created = await self.uc.upsert_merchant(current_principal(), request.merchant_id, request.name,
                                                   request.status)
        merchant = pb.NovaMerchant(merchant_id=m["merchant_id"], name=m["name"], status=m["status"],
                                   balance=m["balance"])
        _ts(merchant.created_at, m["created_at"])
        _ts(merchant.updated_at, m["updated_at"])
        return pb.UpsertNovaMerchantResponse(merchant=merchant, created=created)

    async def ReconcileIncentives(self, request: pb.ReconcileIncentivesRequest, context):
        r = await self.uc.reconcile(current_principal(), list(request.campaign_ids))
        out = pb.ReconcileIncentivesResponse(
            campaigns_checked=r["campaigns_checked"], nova_accounts_checked=r["nova_accounts_checked"],
            unbalanced_transaction_ids=r["unbalanced_transaction_ids"], ledger_balanced=r["ledger_balanced"])
        for d in r["campaign_drifts"]:
            out.campaign_drifts.add(**d)
        for d in r["nova_drifts"]:
            out.nova_drifts.add(**d)
        _ts(out.checked_at, r["checked_at"])
        return out


__all__ = ["IncentivesApi", "campaign_to_pb"]
