"""Periodic background jobs that are safe with several replicas running.

Each run of a job holds an exclusive lock for that job name: a PostgreSQL advisory transaction
lock (``pg_try_advisory_xact_lock``) or, on SQLite, a lease row updated conditionally. A replica
that cannot take the lock skips that run; the work inside a job must still claim its units of work
(conditional updates, ``FOR UPDATE SKIP LOCKED``) so that every unit is done once.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable

import sqlalchemy as sa

from kit.clock import Clock, SystemClock
from kit.db import Database, UTCDateTime
from kit.metrics import JOB_RUNS

log = logging.getLogger("kit.jobs")


def define_tables(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "job_leases", metadata,
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("owner", sa.String(64)),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("last_run_at", UTCDateTime()),
    )


@dataclasses.dataclass
class Job:
    name: str
    interval_s: float
    run: Callable[[], Awaitable[object]]
    lease_s: float = 300.0


def _lock_id(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class JobRunner:
    def __init__(self, db: Database, leases: sa.Table, jobs: list[Job], *, clock: Clock | None = None,
                 owner: str | None = None) -> None:
        self.db, self.leases, self.jobs = db, leases, jobs
        self.clock = clock or SystemClock()
        self.owner = owner or uuid.uuid4().hex

    async def run_job_once(self, job: Job) -> bool:
        """Run ``job`` if no other replica is running it; True when it ran here."""
        if self.db.is_postgres:
            async with self.db.engine.connect() as conn:
                async with conn.begin():
                    got = (await conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(_lock_id(job.name))))).scalar()
                    if not got:
                        JOB_RUNS.labels(job.name, "skipped").inc()
                        return False
                    await self._run(job)
                    return True
        if not await self._take_lease(job):
            JOB_RUNS.labels(job.name, "skipped").inc()
            return False
        try:
            await self._run(job)
        finally:
            async with self.db.transaction() as conn:
                await conn.execute(sa.update(self.leases).where(
                    self.leases.c.name == job.name, self.leases.c.owner == self.owner
                ).values(lease_until=None, last_run_at=self.clock.now()))
        return True

    async def _take_lease(self, job: Job) -> bool:
        t = self.leases
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await self.db.insert_ignore(conn, t, {"name": job.name}, index_elements=["name"])
            res = await conn.execute(sa.update(t).where(
                t.c.name == job.name, sa.or_(t.c.lease_until.is_(None), t.c.lease_until < now)
            ).values(owner=self.owner, lease_until=now + dt.timedelta(seconds=job.lease_s)))
            return res.rowcount == 1

    async def _run(self, job: Job) -> None:
        try:
            await job.run()
            JOB_RUNS.labels(job.name, "ok").inc()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 — a failing job is logged and retried next interval
            JOB_RUNS.labels(job.name, "error").inc()
            log.exception("job failed", extra={"job": job.name})

    async def run_forever(self) -> None:
        async def loop(job: Job) -> None:
            while True:
                await self.run_job_once(job)
                await asyncio.sleep(job.interval_s)

        await asyncio.gather(*(loop(j) for j in self.jobs))
