"""CLO persistence."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.clo.adapters.tables import cards
from services.clo.domain.cards import Card


class CardRepository:
    async def list_active(self, conn: AsyncConnection, driver_id: str) -> list[Card]:
        rows = await conn.execute(
            sa.select(cards).where(cards.c.driver_id == driver_id, cards.c.active)
            .order_by(cards.c.linked_at.desc(), cards.c.card_id))
        return [Card(r.card_id, r.driver_id, r.fidel_card_id, r.last4, r.scheme, r.expiry_month,
                     r.expiry_year, r.linked_at, r.active) for r in rows]
