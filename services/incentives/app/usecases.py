"""Incentives use cases."""
from __future__ import annotations

from kit.auth import Principal
from kit.db import Database
from services.incentives.adapters.repository import CampaignRepository
from services.incentives.domain.campaigns import Campaign, campaign_query


class IncentivesUseCases:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.campaigns = CampaignRepository()

    async def list_campaigns(self, caller: Principal, *, status: str | None, sponsor_name: str | None,
                             limit: int | None, offset: int | None) -> tuple[list[Campaign], int]:
        q = campaign_query(caller_id=caller.sub, is_admin=caller.is_admin, status=status,
                           sponsor_name=sponsor_name, limit=limit, offset=offset)
        async with self.db.read() as conn:
            return await self.campaigns.list(conn, q)
