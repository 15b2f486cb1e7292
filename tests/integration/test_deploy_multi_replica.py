"""Multi-replica safety on PostgreSQL, with real processes (ADR 0063).

For each service, two replicas run against one PostgreSQL database (the service's own):
- outbox: ``python -m services.<ctx>`` ×2. Events are written to the service's ``outbox`` table
  while both dispatchers are held on a table lock, so their claims race when it is released; a
  trigger records every claim and every final state per row, and holds back the first final state
  until a second dispatcher has claimed work (so both replicas provably take part). Every event must be
  claimed once and finished once, by the replica that claimed it.
- jobs: the service's real composition root plus a probe job
  (tests/integration/deploy_replica_service.py) ×2: the job never runs on both replicas at once,
  every unit is done once, and both replicas took turns.
The events use a topic no service handles, so each is parked after exactly one delivery attempt —
the observable "did it once" that needs no service-specific RPC."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import asyncpg
import pytest

from cli import ops
from cli.stack import free_port
from kit import migrations
from kit.settings import DEV_JWT_SECRET
from tests.conftest import PG_HOST, PG_PORT, PG_USER, create_database, drop_database, pg_url, require_postgres

pytestmark = pytest.mark.postgres

CONTEXTS = ("telemetry", "incentives", "wallet", "clo")
EVENTS = 200
UNITS = 24
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

AUDIT_SQL = """
CREATE TABLE outbox_audit (
    seq bigserial PRIMARY KEY, outbox_id bigint NOT NULL, event text NOT NULL, owner text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION outbox_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.lease_owner IS NOT NULL AND NEW.lease_until IS NOT NULL
     AND (OLD.lease_until IS NULL OR OLD.lease_owner IS DISTINCT FROM NEW.lease_owner
          OR OLD.lease_until IS DISTINCT FROM NEW.lease_until) THEN
    INSERT INTO outbox_audit (outbox_id, event, owner) VALUES (NEW.id, 'claim', NEW.lease_owner);
  END IF;
  IF (NEW.dead_at IS NOT NULL AND OLD.dead_at IS NULL)
     OR (NEW.delivered_at IS NOT NULL AND OLD.delivered_at IS NULL) THEN
    -- barrier: nothing finishes before a second dispatcher has claimed work (bounded: 30 s)
    FOR i IN 1..600 LOOP
      EXIT WHEN EXISTS (SELECT 1 FROM outbox_audit WHERE event = 'claim' AND owner <> NEW.lease_owner);
      PERFORM pg_sleep(0.05);
    END LOOP;
    INSERT INTO outbox_audit (outbox_id, event, owner)
    VALUES (NEW.id, CASE WHEN NEW.dead_at IS NOT NULL THEN 'dead' ELSE 'delivered' END, NEW.lease_owner);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER outbox_audit BEFORE UPDATE ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_audit_fn();
"""

PROBE_SQL = f"""
CREATE TABLE probe_state (id int PRIMARY KEY, running int NOT NULL, max_running int NOT NULL);
INSERT INTO probe_state VALUES (1, 0, 0);
CREATE TABLE probe_units (id int PRIMARY KEY, done_count int NOT NULL DEFAULT 0, done_by int);
INSERT INTO probe_units (id) SELECT g FROM generate_series(1, {UNITS}) g;
CREATE TABLE probe_runs (seq bigserial PRIMARY KEY, pid int NOT NULL, unit int NOT NULL);
"""


async def connect(name: str) -> asyncpg.Connection:
    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name)


class Replicas:
    """Two replicas of one service process on free ports, sharing one database."""

    def __init__(self, context: str, module: list[str], url: str, log_dir) -> None:
        self.context, self.module, self.url, self.log_dir = context, module, url, log_dir
        self.procs: list[tuple[subprocess.Popen, int]] = []

    def start(self, n: int = 2) -> None:
        from cryptography.fernet import Fernet

        env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        env.setdefault("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())  # replicas share one key
        for i in range(n):
            port = free_port()
            env_i = {**env, "ENV": "test", "NERAVA_JWT_SECRET": DEV_JWT_SECRET, "GRPC_PORT": str(port),
                     "METRICS_PORT": "0", f"{self.context.upper()}_DATABASE_URL": self.url,
                     "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
            log = open(self.log_dir / f"{self.context}-{len(self.procs)}.log", "wb")  # noqa: SIM115
            proc = subprocess.Popen([sys.executable, "-m", *self.module], env=env_i, cwd=ROOT,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.procs.append((proc, port))
        deadline = time.monotonic() + 60
        for proc, port in self.procs:
            while True:
                assert proc.poll() is None, f"{self.context} replica exited: {self.logs()}"
                ok, _ = ops.check(self.context, {"GRPC_PORT": str(port)}, timeout_s=1)
                if ok:
                    break
                assert time.monotonic() < deadline, f"{self.context} replica not healthy: {self.logs()}"
                time.sleep(0.1)

    def alive(self) -> bool:
        return all(p.poll() is None for p, _ in self.procs)

    def logs(self) -> str:
        return "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-2000:]}"
                         for f in sorted(self.log_dir.glob(f"{self.context}-*.log")))

    def stop(self) -> list[int]:
        codes = []
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self.procs:
            try:
                codes.append(proc.wait(20))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes


@pytest.fixture
async def service_db():
    await require_postgres()
    created = []

    async def make(context: str) -> tuple[str, str]:
        name = await create_database(f"nerava_test_replica_{context}")
        created.append(name)
        await asyncio.to_thread(migrations.upgrade, context, pg_url(name))
        return name, pg_url(name)

    try:
        yield make
    finally:
        for name in created:
            await drop_database(name)


async def wait_until(check, what: str, replicas: Replicas, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert replicas.alive(), f"a replica died while waiting for {what}: {replicas.logs()}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}: {replicas.logs()}"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("context", CONTEXTS)
async def test_outbox_events_are_handled_once_across_two_replicas(context, service_db, tmp_path):
    name, url = await service_db(context)
    conn = await connect(name)
    try:
        await conn.execute(AUDIT_SQL)
        replicas = Replicas(context, [f"services.{context}"], url, tmp_path)
        try:
            await asyncio.to_thread(replicas.start)
            # Line both dispatchers up on the same rows at the same instant: write the events
            # under an exclusive table lock, wait until both replicas' claim queries are blocked
            # on it, then commit, so their claims race for real.
            async with conn.transaction():
                await conn.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
                await conn.execute(
                    "INSERT INTO outbox (topic, key, payload, created_at, available_at, attempts) "
                    "SELECT 'deploy.replica_probe', 'probe:' || g, '{}', now(), now(), 0 "
                    "FROM generate_series(1, $1) g", EVENTS)

                async def both_waiting() -> bool:
                    return await conn.fetchval(
                        "SELECT count(DISTINCT pid) FROM pg_locks WHERE relation = 'outbox'::regclass "
                        "AND NOT granted") >= 2

                await wait_until(both_waiting, "both dispatchers to wait for the outbox", replicas)

            async def finished() -> bool:
                return await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL") == 0

            await wait_until(finished, "every event to be handled", replicas)
            assert replicas.alive()
        finally:
            codes = await asyncio.to_thread(replicas.stop)
        assert codes == [0, 0], replicas.logs()

        rows = await conn.fetch("SELECT id, attempts, dead_at, delivered_at, lease_owner FROM outbox")
        assert len(rows) == EVENTS
        # one delivery attempt each (no handler: parked after the first, never tried again)
        assert {r["attempts"] for r in rows} == {1}
        assert all(r["dead_at"] is not None for r in rows)
        audit = await conn.fetch("SELECT outbox_id, event, owner FROM outbox_audit ORDER BY seq")
        claims: dict[int, list[str]] = {}
        finals: dict[int, list[str]] = {}
        for a in audit:
            (claims if a["event"] == "claim" else finals).setdefault(a["outbox_id"], []).append(a["owner"])
        ids = {r["id"] for r in rows}
        assert set(claims) == ids and set(finals) == ids
        doubles = {i: o for i, o in claims.items() if len(o) != 1}
        assert not doubles, f"{len(doubles)} events claimed more than once, e.g. {next(iter(doubles.items()))}"
        assert all(len(o) == 1 and o == claims[i] for i, o in finals.items()), "finished by a replica that did not claim it"
        owners = {o[0] for o in claims.values()}
        assert len(owners) == 2, f"both replicas must have dispatched (owners: {owners})"
    finally:
        await conn.close()


@pytest.mark.parametrize("context", CONTEXTS)
async def test_jobs_run_on_one_replica_at_a_time_and_units_once(context, service_db, tmp_path):
    name, url = await service_db(context)
    conn = await connect(name)
    try:
        await conn.execute(PROBE_SQL)
        replicas = Replicas(context, ["tests.integration.deploy_replica_service", context], url, tmp_path)
        try:
            await asyncio.to_thread(replicas.start)

            async def finished() -> bool:
                return await conn.fetchval("SELECT count(*) FROM probe_units WHERE done_count = 0") == 0

            await wait_until(finished, "every unit to be done", replicas)
        finally:
            codes = await asyncio.to_thread(replicas.stop)
        assert codes == [0, 0], replicas.logs()

        state = await conn.fetchrow("SELECT max_running FROM probe_state")
        assert state["max_running"] == 1, "the job ran on two replicas at the same time"
        units = await conn.fetch("SELECT id, done_count FROM probe_units")
        assert {u["done_count"] for u in units} == {1} and len(units) == UNITS
        runs = await conn.fetch("SELECT pid, unit FROM probe_runs")
        assert sorted(r["unit"] for r in runs) == list(range(1, UNITS + 1))
        pids = {r["pid"] for r in runs}
        assert pids == {p.pid for p, _ in replicas.procs}, "both replicas took turns running the job"
    finally:
        await conn.close()
