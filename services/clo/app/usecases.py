"""CLO use cases."""
from __future__ import annotations

from kit.db import Database
from services.clo.adapters.repository import CardRepository
from services.clo.domain.cards import Card


class CloUseCases:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.cards = CardRepository()

    async def list_cards(self, driver_id: str) -> list[Card]:
        async with self.db.read() as conn:
            return await self.cards.list_active(conn, driver_id)
