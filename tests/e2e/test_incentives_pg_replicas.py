"""Spec §10 on PostgreSQL with two incentives processes over real gRPC: 300 concurrent
``IngestSessionEnded`` calls for distinct sessions against a budget for exactly 10 grants."""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cli.stack import free_port
from kit import migrations
from kit.db import Database
from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from services.incentives.app.usecases import IncentivesUseCases
from tests.conftest import create_database, drop_database, pg_url, require_postgres
from tests.e2e.conftest import SECRET, token
from tests.integration.incentives_helpers import ADMIN, SPONSOR, campaign_values

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _healthy(port: int) -> bool:
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            return health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1
    except grpc.RpcError:
        return False


async def test_two_replicas_never_overrun_a_budget(tmp_path):
    await require_postgres()
    name = await create_database("nerava_test_inc_replicas")
    url = pg_url(name)
    procs: list[subprocess.Popen] = []
    try:
        await asyncio.to_thread(migrations.upgrade, "incentives", url)
        db = Database(url)
        uc = IncentivesUseCases(db)  # PLATFORM_FEE_BPS 2000: gross 1250 → net 1000 = 10 × 100
        camp = await uc.create_campaign(SPONSOR, campaign_values(budget_cents=1250, cost_per_session_cents=100,
                                                                 start_date="2026-01-01"), None)
        await uc.fund_mock(SPONSOR, camp.id)
        await uc.activate_campaign(SPONSOR, camp.id)
        ports = [free_port(), free_port()]
        env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        env.update({"INCENTIVES_DATABASE_URL": url, "NERAVA_JWT_SECRET": SECRET, "ENV": "test",
                    "METRICS_PORT": "0", "WALLET_GRPC_ADDR": "127.0.0.1:9", "TELEMETRY_GRPC_ADDR": "127.0.0.1:9",
                    "LOG_LEVEL": "WARNING"})
        for port in ports:
            procs.append(subprocess.Popen([sys.executable, "-m", "services.incentives"], env={**env, "GRPC_PORT": str(port)},
                                          stdout=open(tmp_path / f"inc-{port}.log", "wb"), stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30
        while not all(_healthy(p) for p in ports):
            assert time.monotonic() < deadline, "replicas did not become healthy"
            assert all(p.poll() is None for p in procs), "a replica exited"
            await asyncio.sleep(0.2)

        md = (("authorization", f"Bearer {token('service:telemetry', 'service')}"),)
        start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{p}") for p in ports]
        stubs = [incentives_pb2_grpc.IncentivesServiceStub(ch) for ch in channels]

        async def one(i: int):
            req = incentives_pb2.IngestSessionEndedRequest(
                session_id=str(uuid.uuid4()), driver_id=f"driver-{i}", duration_minutes=30, charger_id="ch-1",
                verified=True, quality_score=90)
            req.session_start.FromDatetime(start)
            req.session_end.FromDatetime(start + dt.timedelta(minutes=30))
            return await stubs[i % 2].IngestSessionEnded(req, metadata=md, timeout=60)

        try:
            results = await asyncio.gather(*(one(i) for i in range(300)))
        finally:
            for ch in channels:
                await ch.close()
        assert sum(r.outcome == "granted" for r in results) == 10
        after = await uc.get_campaign(SPONSOR, camp.id)
        assert (after.spent_cents, after.sessions_granted, after.status) == (1000, 10, "exhausted")
        report = await uc.reconcile(ADMIN, [])
        assert report["campaign_drifts"] == [] and report["ledger_balanced"]
        await db.dispose()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        await drop_database(name)
