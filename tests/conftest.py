"""Shared fixtures. PostgreSQL policy: in CI (``CI=true``) an unreachable server FAILS the run;
elsewhere the PostgreSQL tests are skipped with a loud reason."""
from __future__ import annotations

import os
import uuid
import warnings

import asyncpg
import pytest

PG_HOST = os.environ.get("NERAVA_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NERAVA_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("NERAVA_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("NERAVA_TEST_PG_DB", "test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def _pg_reachable() -> str | None:
    try:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB,
                                     timeout=3)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


_pg_error: str | None | bool = False


async def pg_unreachable_reason() -> str | None:
    global _pg_error
    if _pg_error is False:
        _pg_error = await _pg_reachable()
    return _pg_error  # type: ignore[return-value]


async def require_postgres() -> None:
    reason = await pg_unreachable_reason()
    if reason is None:
        return
    msg = (f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable ({reason}). Start it with: "
           "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
    if IN_CI:
        pytest.fail("CI requires PostgreSQL: " + msg, pytrace=False)
    warnings.warn("SKIPPING POSTGRESQL TESTS: " + msg, stacklevel=2)
    pytest.skip("!!! PostgreSQL tests skipped (not in CI): " + msg)


async def create_database(prefix: str = "nerava_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def pg_url(name: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path):
    """A fresh, empty database URL on each backend (SQLite file; PostgreSQL database)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    await require_postgres()
    name = await create_database()
    try:
        yield pg_url(name)
    finally:
        await drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_factory(request, tmp_path):
    """Makes fresh, empty databases on each backend (one per call), dropped afterwards."""
    created: list[str] = []
    if request.param == "postgres":
        await require_postgres()

    async def make(label: str) -> str:
        if request.param == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / (label + '.db')}"
        name = await create_database(f"nerava_test_{label}")
        created.append(name)
        return pg_url(name)

    try:
        yield make
    finally:
        for name in created:
            await drop_database(name)
