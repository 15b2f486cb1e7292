"""SQLAlchemy 2 async engine and unit of work for PostgreSQL (asyncpg) and SQLite (aiosqlite).

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout; write
transactions start with ``BEGIN IMMEDIATE`` and are serialised inside the process, so concurrent
writers queue instead of failing with "database is locked". PostgreSQL uses a connection pool.
Use cases work with SQLAlchemy Core on an ``AsyncConnection``: one transaction per unit of work.
"""
from __future__ import annotations

import asyncio
import contextlib
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import datetime as _dt

import sqlalchemy as sa
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000
_UTC = _dt.timezone.utc


def default_url(data_dir: pathlib.Path | str, service: str) -> str:
    path = pathlib.Path(data_dir).resolve() / f"{service}.db"
    return f"sqlite+aiosqlite:///{path}"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``sqlite://`` URLs and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://"):]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    return url


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database URL {parsed.render_as_string(hide_password=True)}")
        self.is_sqlite = self.dialect == "sqlite"
        self.is_postgres = self.dialect == "postgresql"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                pathlib.Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                self.url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_async_engine(
                self.url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                pool_recycle=1800,
            )
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._pool_size = pool_size
        self._driver_pool: Any = None  # asyncpg pool behind driver_connection(), opened on first use
        self._driver_pool_lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A unit of work: one write transaction, committed on success, rolled back on error."""
        if self._write_lock is not None:
            async with self._write_lock:
                async with self.engine.begin() as conn:
                    yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only unit of work (no write lock on SQLite; a snapshot per statement)."""
        async with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = await conn.execution_options(nerava_sqlite_begin="DEFERRED")
            yield conn
            await conn.rollback()

    @contextlib.asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """PostgreSQL: a bare asyncpg connection, outside any transaction, for one-round-trip hot paths.

        A single statement (or a function call) runs as its own transaction: no BEGIN/COMMIT, no
        SQLAlchemy statement compilation, and no reset query when the connection goes back (the
        pool only rolls back a transaction left open, which a single statement never leaves). The
        connections come from a small asyncpg pool of their own (at most ``pool_size``), created on
        first use and closed by ``dispose()``. Do not change session state (SET, LISTEN, advisory
        session locks) on these connections."""
        if not self.is_postgres:
            raise RuntimeError("driver_connection() is for PostgreSQL")
        pool = self._driver_pool or await self._open_driver_pool()
        async with pool.acquire() as conn:
            yield conn

    async def _open_driver_pool(self) -> Any:
        import asyncpg

        async with self._driver_pool_lock:
            if self._driver_pool is None:
                dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
                self._driver_pool = await asyncpg.create_pool(
                    dsn, min_size=0, max_size=self._pool_size, reset=_no_session_reset,
                    max_inactive_connection_lifetime=300)
        return self._driver_pool

    async def dispose(self) -> None:
        if self._driver_pool is not None:
            pool, self._driver_pool = self._driver_pool, None
            await pool.close()
        await self.engine.dispose()

    def insert(self, table: Table):
        """A dialect-specific INSERT supporting ``on_conflict_do_nothing`` / ``do_update``."""
        return (postgresql.insert if self.is_postgres else sqlite.insert)(table)

    async def insert_ignore(self, conn: AsyncConnection, table: Table, values: dict[str, Any],
                            index_elements: list[str] | None = None) -> bool:
        """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted."""
        stmt = self.insert(table).values(**values).on_conflict_do_nothing(index_elements=index_elements)
        result = await conn.execute(stmt)
        return result.rowcount == 1


async def _no_session_reset(conn: Any) -> None:
    """driver_connection() users run single statements in autocommit and change no session state, so
    the pool skips asyncpg's reset query (one round trip per release); an open transaction is still
    rolled back by the pool before this is called."""


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):  # pragma: no cover
        mode = conn.get_execution_options().get("nerava_sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


class UTCDateTime(sa.types.TypeDecorator):
    """An instant: stored as UTC (``timestamptz`` on PostgreSQL, ISO text on SQLite) and always
    read back as an aware UTC datetime, whatever the backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(_UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=_UTC)
        return value.astimezone(_UTC)
