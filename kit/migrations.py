"""Alembic per service: each service keeps its migrations in ``services/<name>/migrations`` and its
``env.py`` calls ``run_env(metadata)``; ``upgrade(name, url)`` applies them programmatically."""
from __future__ import annotations

import asyncio
import pathlib

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine

from kit.db import normalise_url

SERVICES_DIR = pathlib.Path(__file__).resolve().parent.parent / "services"


def config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    cfg.set_main_option("version_table", "alembic_version")
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Synchronous; from async code call it with ``asyncio.to_thread``."""
    command.upgrade(config(service, url), revision)


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    is_sqlite = url.startswith("sqlite")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          render_as_batch=is_sqlite)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=is_sqlite,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        if is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as conn:
                await conn.run_sync(do_run)
                await conn.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
