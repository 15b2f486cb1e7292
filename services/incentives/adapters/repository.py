"""Incentives persistence."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.incentives.adapters.tables import campaigns as c
from services.incentives.domain.campaigns import Campaign, CampaignQuery

_FIELDS = [f.name for f in Campaign.__dataclass_fields__.values()]


def _to_domain(row) -> Campaign:
    data = {name: getattr(row, name) for name in _FIELDS}
    return Campaign(**data)


class CampaignRepository:
    async def list(self, conn: AsyncConnection, q: CampaignQuery) -> tuple[list[Campaign], int]:
        where = []
        if q.owner_id is not None:
            where.append(c.c.owner_id == q.owner_id)
        if q.status is not None:
            where.append(c.c.status == q.status)
        if q.sponsor_name is not None:
            where.append(sa.func.lower(c.c.sponsor_name) == q.sponsor_name.lower())
        rows = await conn.execute(sa.select(c).where(*where)
                                  .order_by(c.c.created_at.desc(), c.c.id.desc())
                                  .limit(q.limit).offset(q.offset))
        total = (await conn.execute(sa.select(sa.func.count()).select_from(c).where(*where))).scalar_one()
        return [_to_domain(r) for r in rows], int(total)
