"""``python -m services.telemetry``: the telemetry composition root."""
from __future__ import annotations

import asyncio
import logging
import pathlib

from google.protobuf import json_format

from kit import jobs as kjobs
from kit import outbox as kout
from kit import service
from kit.auth import ServiceTokenSource
from kit.clients import Upstream
from kit.db import Database
from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from nerava.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc
from services.telemetry.adapters.crypto import TokenCipher
from services.telemetry.adapters.simclock import SimulatorClock, SystemSleepClock
from services.telemetry.adapters.tables import job_leases, outbox_table
from services.telemetry.adapters.tesla import TeslaClient
from services.telemetry.app.push import PushSettings, build_consumer
from services.telemetry.app.sessions import TOPIC_SESSION_ENDED, Budget
from services.telemetry.app.usecases import Settings, TelemetryUseCases
from services.telemetry.config import TelemetryConfig
from services.telemetry.domain.sessions import Rules
from services.telemetry.entrypoint.grpc_api import TelemetryApi, from_ts

FULL_NAME = telemetry_pb2.DESCRIPTOR.services_by_name["TelemetryService"].full_name
DEMO_SEED = pathlib.Path(__file__).parent / "seed" / "chargers.json"
log = logging.getLogger("telemetry")


def build_usecases(config: TelemetryConfig, db: Database, clock=None, http=None) -> TelemetryUseCases:
    """The use cases with their adapters (``clock``/``http`` injectable for in-process tests)."""
    clock = clock or (SimulatorClock(config.tesla_simulator_url, config.sim_clock_ttl_s)
                      if config.tesla_mock_mode else SystemSleepClock())
    tesla = TeslaClient(client_id=config.tesla_client_id, client_secret=config.tesla_client_secret,
                        auth_base=config.auth_base(), token_base=config.token_base(), fleet_base=config.fleet_base,
                        http=http)
    rules = Rules(dedup_s=config.dedup_s, stale_minutes=config.stale_minutes,
                  pause_grace_minutes=config.pause_grace_minutes, reopen_window_minutes=config.reopen_window_minutes,
                  max_session_hours=config.max_session_hours, charging_poll_s=config.charging_poll_s,
                  charging_sparse_gap_s=config.charging_sparse_gap_s, scheduler_tick_s=config.scheduler_interval_s,
                  trail_min_interval_s=config.trail_min_interval_s)
    budget = Budget(config.data_budget_per_day, config.data_budget_reserved, config.wake_budget_per_day)
    settings = Settings(client_id=config.tesla_client_id, api_base_url=config.api_base_url,
                        driver_app_url=config.driver_app_url, jwt_secret=config.jwt_secret,
                        webhook_enabled=config.telemetry_webhook_enabled,
                        telemetry_hostname=config.telemetry_hostname, telemetry_ca=config.telemetry_ca,
                        push_enabled=config.push_enabled, telemetry_hmac_secret=config.tesla_telemetry_hmac_secret)
    push = PushSettings(end_hold_s=config.push_end_hold_s, gap_minutes=config.push_gap_minutes)
    return TelemetryUseCases(db, clock=clock, cipher=TokenCipher(config.token_encryption_keys), tesla=tesla,
                             settings=settings, rules=rules, budget=budget, vin_hash_key=config.vin_hash_key,
                             wake_retry_s=config.wake_retry_s, push=push,
                             poll_cache_max_s=config.poll_cache_max_s)


def session_ended_handler(uc: TelemetryUseCases, incentives: Upstream):
    """Deliver ``SessionEnded`` to incentives (key = session id) and record a granted outcome."""

    async def handle(key: str, payload: dict) -> None:
        req = json_format.ParseDict(payload, incentives_pb2.IngestSessionEndedRequest(), ignore_unknown_fields=True)
        resp = await incentives.call("IngestSessionEnded", req, timeout_s=2.0, idempotent=True)
        if resp.outcome == "granted" and resp.HasField("grant"):
            g = resp.grant
            await uc.apply_grant_status(g.grant_id, key, g.campaign_id, g.amount_cents, g.status or "granted",
                                        from_ts(g.granted_at) if g.HasField("granted_at") else None)

    return handle


def dispatch_now_fn(uc: TelemetryUseCases, dispatcher: kout.OutboxDispatcher):
    async def dispatch_now(session_id: str) -> tuple[bool, int]:
        try:
            await asyncio.wait_for(dispatcher.run_once(only_key=session_id), timeout=2.0)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 — the outbox retries later
            return False, 0
        async with uc.db.read() as conn:
            inc = await uc.repo.incentive(conn, session_id)
        if inc is not None and inc["status"] == "granted":
            return True, int(inc["amount_cents"])
        return False, 0

    return dispatch_now


async def compose(config: TelemetryConfig, db: Database) -> service.Wiring:
    uc = build_usecases(config, db)
    seed = config.chargers_seed_file or (str(DEMO_SEED) if config.tesla_mock_mode else None)
    if seed:
        n = await uc.seed_chargers(seed)
        log.info("chargers seeded", extra={"count": n})
    incentives = Upstream("incentives", config.incentives_grpc_addr, incentives_pb2_grpc.IncentivesServiceStub,
                          ServiceTokenSource(config.jwt_secret, "telemetry"))
    dispatcher = kout.OutboxDispatcher(db, outbox_table, {TOPIC_SESSION_ENDED: session_ended_handler(uc, incentives)},
                                       clock=uc.clock)
    uc.set_dispatch_now(dispatch_now_fn(uc, dispatcher))
    every = config.job_interval_s
    tick = config.scheduler_interval_s
    jobs = [kjobs.Job("telemetry.scheduler", tick, uc.sessions.scheduler_tick, lease_s=max(tick * 2, 60)),
            kjobs.Job("telemetry.stale_closer", every, uc.sessions.close_stale, lease_s=every * 2),
            kjobs.Job("telemetry.settle", every, uc.sessions.settle, lease_s=every * 2),
            kjobs.Job("telemetry.expiry", 300, uc.expire, lease_s=600)]
    background = []
    if isinstance(uc.clock, SimulatorClock):
        background.append(uc.clock.run_sync_loop)
    consumer = build_consumer(config, uc.push) if config.nats_url else None
    if config.push_enabled:
        jobs.append(kjobs.Job("telemetry.push_finalize", every, uc.push.finalize, lease_s=every * 2))
    if consumer is not None:
        background.append(consumer.run_forever)
        log.info("fleet telemetry push on: consuming NATS JetStream", extra={"stream": config.nats_stream})
    api = TelemetryApi(uc)

    async def close() -> None:
        if consumer is not None:
            await consumer.close()
        await uc.tesla.close()
        await incentives.close()

    return service.Wiring(
        register=lambda s: telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server(api, s),
        full_names=(FULL_NAME,), background=background, on_stop=(close,),
        outbox_table=outbox_table, job_leases=job_leases, jobs=jobs, dispatcher=dispatcher)


if __name__ == "__main__":
    service.run("telemetry", TelemetryConfig, compose)
