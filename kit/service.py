"""What every service's ``__main__`` shares: settings, logging, database, the gRPC server."""
from __future__ import annotations

import dataclasses
from typing import ClassVar
from collections.abc import Awaitable, Callable, Collection, Sequence

import grpc
from pydantic import Field, model_validator

import sqlalchemy as sa

from kit import db as kdb
from kit import jobs as kjobs
from kit import logs, server
from kit import outbox as kout
from kit.access import PUBLIC_METHODS
from kit.settings import METRICS_PORTS, PORTS, BaseConfig, load, refuse_mock_in_production


class ServiceConfig(BaseConfig):
    """Settings of a service process; a service subclasses it and names its database URL field."""

    metrics_port: int | None = Field(None, alias="METRICS_PORT")
    grace_s: float = Field(5.0, alias="SHUTDOWN_GRACE_S", ge=0)

    # Subclasses declare ``db_url: str | None = Field(None, alias="<CONTEXT>_DATABASE_URL")``.
    db_url: str | None = None
    context: str = ""

    # The service's mock-mode switch (ARCHITECTURE §8): (mode field, its env name, is the mode
    # "on" = live, allow field, its env name). Production refuses mock unless explicitly allowed.
    mock_switch: ClassVar[tuple[str, str, bool, str, str] | None] = None

    @model_validator(mode="after")
    def _no_silent_mock_in_production(self):
        if self.mock_switch is not None:
            field, flag, live_when, allow_field, allow_flag = self.mock_switch
            refuse_mock_in_production(self, mock=getattr(self, field) != live_when, flag=flag,
                                      allow=getattr(self, allow_field), allow_flag=allow_flag)
        return self

    def database_url(self) -> str:
        """The service's own database; SQLite in the data dir unless a URL is configured."""
        return kdb.normalise_url(self.db_url) if self.db_url else kdb.default_url(self.data_dir, self.context)


@dataclasses.dataclass
class Wiring:
    """What a service's composition root returns to the runner."""

    register: Callable[[grpc.aio.Server], None]
    full_names: Sequence[str]
    background: Sequence[Callable[[], Awaitable[None]]] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()
    # The transactional outbox of this service and its delivery handlers (topic → handler).
    outbox_table: sa.Table | None = None
    outbox_handlers: dict[str, kout.Handler] = dataclasses.field(default_factory=dict)
    # Periodic jobs, safe with several replicas (kit.jobs).
    job_leases: sa.Table | None = None
    jobs: Sequence[kjobs.Job] = ()
    dispatcher: kout.OutboxDispatcher | None = None

    def background_tasks(self, database: kdb.Database) -> list[Callable[[], Awaitable[None]]]:
        tasks = list(self.background)
        if self.outbox_table is not None:
            if self.dispatcher is None:
                self.dispatcher = kout.OutboxDispatcher(database, self.outbox_table, self.outbox_handlers)
            tasks.append(self.dispatcher.run_forever)
        if self.jobs:
            if self.job_leases is None:
                raise ValueError("jobs need the job_leases table")
            tasks.append(kjobs.JobRunner(database, self.job_leases, list(self.jobs)).run_forever)
        return tasks


def run(name: str, config_cls: type[ServiceConfig],
        compose: Callable[[ServiceConfig, kdb.Database], Awaitable[Wiring]]) -> None:
    """Load and validate settings (fail fast), then serve until SIGTERM/SIGINT."""
    config = load(config_cls)
    log = logs.setup(name, config.log_level)

    async def main() -> None:
        database = kdb.Database(config.database_url())
        wiring = await compose(config, database)

        async def close_db() -> None:
            await database.dispose()

        spec = server.ServiceSpec(
            name=name, full_names=wiring.full_names, register=wiring.register,
            port=server.port_from_env(name, PORTS[name]), jwt_secret=config.jwt_secret,
            public_methods=_public_for(wiring.full_names),
            metrics_port=config.metrics_port if config.metrics_port is not None else METRICS_PORTS[name],
            grace_s=config.grace_s, background=wiring.background_tasks(database),
            on_stop=(*wiring.on_stop, close_db),
        )
        await server.serve(spec)

    log.info("starting", extra={"env": config.env})
    server.run(main)


def _public_for(full_names: Collection[str]) -> frozenset[str]:
    return frozenset(m for m in PUBLIC_METHODS if m.split("/")[1] in full_names)

