"""The kit's server bootstrap and upstream client, in process on SQLite."""
from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cli.stack import free_port
from kit import auth, migrations, server
from kit.clients import Upstream
from kit.clock import SystemClock
from kit.db import Database
from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from services.wallet.app.usecases import WalletUseCases
from services.wallet.config import WalletConfig
from services.wallet.entrypoint.grpc_api import WalletApi

SECRET = "integration-secret-0123456789-abcdefghijkl"


@pytest.fixture
async def wallet_server(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'wallet.db'}"
    await asyncio.to_thread(migrations.upgrade, "wallet", url)
    db = Database(url)
    api = WalletApi(WalletUseCases(db, SystemClock(), WalletConfig()))
    port = free_port()
    stop = asyncio.Event()
    spec = server.ServiceSpec(
        name="wallet", full_names=("nerava.wallet.v1.WalletService",),
        register=lambda s: wallet_pb2_grpc.add_WalletServiceServicer_to_server(api, s),
        port=port, jwt_secret=SECRET, grace_s=1, bind_host="127.0.0.1")
    task = asyncio.create_task(server.serve(spec, stop))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        for _ in range(100):
            try:
                await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.05)
    yield port, stop, task
    stop.set()
    await task
    await db.dispose()


async def test_service_token_and_user_token_through_the_upstream_client(wallet_server):
    port, _, _ = wallet_server
    up = Upstream("wallet", f"127.0.0.1:{port}", wallet_pb2_grpc.WalletServiceStub,
                  tokens=auth.ServiceTokenSource(SECRET, "incentives"))
    try:
        # a service token is authenticated but is not a driver: the use case refuses it
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await up.call("GetBalance", wallet_pb2.GetBalanceRequest(), idempotent=True)
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        user = f"Bearer {auth.mint(SECRET, 'driver-x', ['driver'])}"
        resp = await up.call("GetBalance", wallet_pb2.GetBalanceRequest(), authorization=user)
        assert resp.available_cents == 0 and resp.minimum_withdrawal_cents == 2000
    finally:
        await up.close()


async def test_a_dead_upstream_fails_within_the_deadline_even_with_retries():
    up = Upstream("nowhere", f"127.0.0.1:{free_port()}", wallet_pb2_grpc.WalletServiceStub)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await up.call("GetBalance", wallet_pb2.GetBalanceRequest(), idempotent=True, timeout_s=1.0)
        assert exc.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        assert loop.time() - started < 1.5
    finally:
        await up.close()


async def test_graceful_shutdown_reports_not_serving_then_stops(wallet_server):
    port, stop, task = wallet_server
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        assert (await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)).status == \
            health_pb2.HealthCheckResponse.SERVING
        stop.set()
        await asyncio.wait_for(task, 5)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
