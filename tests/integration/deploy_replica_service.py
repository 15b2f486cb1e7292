"""``python -m tests.integration.deploy_replica_service <context>``: a service process for the
multi-replica test — the service's real composition root (``services/<context>/__main__.compose``:
its gRPC API, its outbox dispatcher, its jobs) run by the kit's real runner, plus one probe job.

The probe job records what the job runner guarantees, in tables the test created beforehand:
- ``probe_state.running``: incremented at the start of a run and decremented at the end, so
  ``max_running`` > 1 would mean two replicas ran the job at the same time;
- ``probe_units``: one unit of work claimed per run (``FOR UPDATE SKIP LOCKED``), counted, so a unit
  done twice shows as ``done_count`` 2;
- ``probe_runs``: which process did which unit. A replica that is ``PROBE_LEAD`` units ahead of
  the others lets them take turns, so finishing every unit proves both replicas ran the job.
"""
from __future__ import annotations

import asyncio
import importlib
import os
import sys

import sqlalchemy as sa

from kit import jobs, service

PROBE_JOB = "deploy.replica_probe"
PROBE_LEAD = 3


def probe_job(db) -> jobs.Job:
    pid = os.getpid()

    async def run() -> None:
        async with db.transaction() as c:
            # Only count runs while work is left: a run cut short by the test's SIGTERM (after the
            # last unit) can leave ``running`` at 1 without touching ``max_running``.
            if not (await c.execute(sa.text("SELECT count(*) FROM probe_units WHERE done_count = 0"))).scalar():
                return
            await c.execute(sa.text(
                "UPDATE probe_state SET running = running + 1, "
                "max_running = GREATEST(max_running, running + 1) WHERE id = 1"))
        try:
            async with db.transaction() as c:
                mine = (await c.execute(sa.text("SELECT count(*) FROM probe_runs WHERE pid = :p"), {"p": pid})).scalar()
                others = (await c.execute(sa.text("SELECT count(*) FROM probe_runs WHERE pid <> :p"), {"p": pid})).scalar()
                if mine - others >= PROBE_LEAD:
                    return
                unit = (await c.execute(sa.text(
                    "UPDATE probe_units SET done_count = done_count + 1, done_by = :p WHERE id = ("
                    " SELECT id FROM probe_units WHERE done_count = 0 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                    " RETURNING id"), {"p": pid})).scalar()
                if unit is not None:
                    await c.execute(sa.text("INSERT INTO probe_runs (pid, unit) VALUES (:p, :u)"), {"p": pid, "u": unit})
            # hold the job's lock a little longer: a second replica running now would show in max_running
            await asyncio.sleep(0.02)
        finally:
            async with db.transaction() as c:
                await c.execute(sa.text("UPDATE probe_state SET running = running - 1 WHERE id = 1"))

    return jobs.Job(name=PROBE_JOB, interval_s=0.02, run=run, lease_s=30)


def main(context: str) -> None:
    root = importlib.import_module(f"services.{context}.__main__")
    config_mod = importlib.import_module(f"services.{context}.config")
    config_cls = next(c for c in vars(config_mod).values() if isinstance(c, type)
                      and issubclass(c, service.ServiceConfig) and c is not service.ServiceConfig
                      and c.__module__ == config_mod.__name__)

    async def compose(config, db):
        wiring = await root.compose(config, db)
        wiring.jobs = [*wiring.jobs, probe_job(db)]
        return wiring

    service.run(context, config_cls, compose)


if __name__ == "__main__":
    main(sys.argv[1])
