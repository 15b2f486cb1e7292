"""gRPC entrypoint: protobuf ⇄ domain only."""
from __future__ import annotations

import grpc

from kit.interceptors import current_principal
from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from services.incentives.app.usecases import IncentivesUseCases
from services.incentives.domain.campaigns import Campaign

_RULE_LISTS = ("charger_ids", "charger_networks", "zone_ids", "days_of_week", "connector_types",
               "driver_allowlist")


def campaign_to_pb(c: Campaign) -> incentives_pb2.Campaign:
    pb = incentives_pb2.Campaign(
        id=c.id, sponsor_name=c.sponsor_name, name=c.name, campaign_type=c.campaign_type,
        status=c.status, priority=c.priority, budget_cents=c.budget_cents, spent_cents=c.spent_cents,
        cost_per_session_cents=c.cost_per_session_cents, sessions_granted=c.sessions_granted,
        start_date=c.start_date, auto_renew=c.auto_renew, funding_status=c.funding_status,
        time_zone=c.time_zone,
    )
    for name in ("sponsor_email", "sponsor_logo_url", "sponsor_type", "description", "max_sessions",
                 "auto_renew_budget_cents", "end_date", "gross_funding_cents", "platform_fee_cents"):
        value = getattr(c, name)
        if value is not None:
            setattr(pb, name, value)
    for cap, field in (("per_day", "max_grants_per_driver_per_day"), ("per_week", "max_grants_per_driver_per_week"),
                       ("per_campaign", "max_grants_per_driver_per_campaign"),
                       ("per_charger", "max_grants_per_driver_per_charger")):
        if c.caps.get(cap) is not None:
            setattr(pb, field, int(c.caps[cap]))
    rules = dict(c.rules)
    rules.setdefault("min_duration_minutes", 15)
    for key, value in rules.items():
        if value is None or key not in incentives_pb2.CampaignRules.DESCRIPTOR.fields_by_name:
            continue
        if key in _RULE_LISTS:
            getattr(pb.rules, key).extend(value)
        else:
            setattr(pb.rules, key, value)
    pb.created_at.FromDatetime(c.created_at)
    pb.updated_at.FromDatetime(c.updated_at)
    if c.funded_at is not None:
        pb.funded_at.FromDatetime(c.funded_at)
    return pb


class IncentivesApi(incentives_pb2_grpc.IncentivesServiceServicer):
    def __init__(self, usecases: IncentivesUseCases) -> None:
        self.uc = usecases

    async def ListCampaigns(self, request: incentives_pb2.ListCampaignsRequest, context: grpc.aio.ServicerContext):
        caller = current_principal()  # I2: any signed-in user; non-admins see their own
        opt = lambda name: getattr(request, name) if request.HasField(name) else None  # noqa: E731
        campaigns, total = await self.uc.list_campaigns(
            caller, status=opt("status"), sponsor_name=opt("sponsor_name"), limit=opt("limit"),
            offset=opt("offset"))
        return incentives_pb2.ListCampaignsResponse(
            campaigns=[campaign_to_pb(c) for c in campaigns], count=len(campaigns), total=total)
