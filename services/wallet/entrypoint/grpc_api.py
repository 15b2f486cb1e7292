"""gRPC entrypoint: protobuf ⇄ domain only; access checks from the JWT; errors from the kit."""
from __future__ import annotations

import grpc

from kit.interceptors import require_roles
from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from services.wallet.app.usecases import WalletUseCases


class WalletApi(wallet_pb2_grpc.WalletServiceServicer):
    def __init__(self, usecases: WalletUseCases) -> None:
        self.uc = usecases

    async def GetBalance(self, request: wallet_pb2.GetBalanceRequest, context: grpc.aio.ServicerContext):
        caller = require_roles("driver", message="Driver access required")
        view = await self.uc.get_balance(caller.sub)
        w = view.wallet
        return wallet_pb2.GetBalanceResponse(
            available_cents=w.balance_cents, pending_cents=w.pending_balance_cents,
            total_earned_cents=w.total_earned_cents, total_withdrawn_cents=w.total_withdrawn_cents,
            can_withdraw=view.can_withdraw, minimum_withdrawal_cents=view.policy.min_cents,
            fee_threshold_cents=view.policy.fee_threshold_cents,
            stripe_onboarding_complete=w.payout_ready, debt_cents=w.debt_cents,
            payout_provider="stripe", bank_verified=w.payout_ready,
        )
