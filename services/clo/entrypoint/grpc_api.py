"""gRPC entrypoint: protobuf ⇄ domain only."""
from __future__ import annotations

import grpc

from kit.interceptors import require_roles
from nerava.clo.v1 import clo_pb2, clo_pb2_grpc
from services.clo.app.usecases import CloUseCases
from services.clo.domain.cards import brand


class CloApi(clo_pb2_grpc.CloServiceServicer):
    def __init__(self, usecases: CloUseCases) -> None:
        self.uc = usecases

    async def ListCards(self, request, context: grpc.aio.ServicerContext):
        caller = require_roles("driver", message="Driver access required")
        resp = clo_pb2.ListCardsResponse()
        for c in await self.uc.list_cards(caller.sub):
            card = resp.cards.add(id=c.card_id, last4=c.last4, brand=brand(c.scheme),
                                  expiry_month=c.expiry_month, expiry_year=c.expiry_year,
                                  fidel_card_id=c.fidel_card_id)
            card.linked_at.FromDatetime(c.linked_at)
        return resp
