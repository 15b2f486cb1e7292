"""Tesla access tokens: exactly one refresher per connection, rotated refresh token persisted before
use, lost races never deactivate (telemetry spec §3.7)."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

from kit.db import Database
from services.telemetry.adapters.crypto import TokenCipher
from services.telemetry.adapters.repository import ConnectionWrites, TelemetryRepository
from services.telemetry.adapters.tesla import TeslaClient, TeslaError

log = logging.getLogger("telemetry.tokens")
REFRESH_BUFFER = dt.timedelta(minutes=5)


class TokenExpired(Exception):
    """Tesla refused the refresh token: the connection needs re-consent (`reauth_required`)."""


class TeslaDown(Exception):
    """Tesla did not answer the refresh (5xx/timeout): nothing about the connection changed."""


def needs_refresh(expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    return expires_at is None or expires_at - REFRESH_BUFFER <= now


class TokenService:
    def __init__(self, db: Database, repo: TelemetryRepository, writes: ConnectionWrites, cipher: TokenCipher,
                 tesla: TeslaClient, clock, wait_s: float = 10.0) -> None:
        self.db, self.repo, self.writes, self.cipher, self.tesla, self.clock = db, repo, writes, cipher, tesla, clock
        self.wait_s = wait_s

    async def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:
        """A usable access token for the connection, refreshing it (once, cluster-wide) if needed."""
        async with self.db.read() as conn:
            row = await self.repo.connection(conn, connection_id)
        if row is None or row["status"] == "disconnected" or not row["access_token_enc"]:
            raise TokenExpired()
        if row["status"] != "active":
            raise TokenExpired()
        if not force_refresh and not needs_refresh(row["access_expires_at"], self.clock.now()):
            return self.cipher.decrypt(row["access_token_enc"])
        return await self._refresh(row)

    async def _refresh(self, row: dict) -> str:
        owner = uuid.uuid4().hex
        version = row["token_version"]
        deadline = asyncio.get_running_loop().time() + self.wait_s
        while True:
            now = self.clock.now()
            async with self.db.transaction() as conn:
                won = await self.writes.take_refresh_lease(conn, row["id"], version, owner, now)
            if won:
                return await self._rotate(row["id"], version, row["refresh_token_enc"], owner)
            # someone else is refreshing: wait for the new version
            async with self.db.read() as conn:
                cur = await self.repo.connection(conn, row["id"])
            if cur is None or cur["status"] != "active":
                raise TokenExpired()
            if cur["token_version"] != version:
                return self.cipher.decrypt(cur["access_token_enc"])
            if asyncio.get_running_loop().time() > deadline:
                raise TeslaDown()
            await asyncio.sleep(0.05)

    async def _rotate(self, connection_id: str, version: int, refresh_enc: str | None, owner: str) -> str:
        if not refresh_enc:
            async with self.db.transaction() as conn:
                await self.writes.mark_reauth(conn, connection_id, version, self.clock.now())
            raise TokenExpired()
        try:
            tokens = await self.tesla.refresh(self.cipher.decrypt(refresh_enc))
        except TeslaError as exc:
            if exc.transient or exc.status == 429:
                async with self.db.transaction() as conn:
                    await self.writes.release_refresh_lease(conn, connection_id, owner)
                raise TeslaDown() from None
            # refused: a lost race is not a refusal — re-read before deactivating
            async with self.db.transaction() as conn:
                cur = await self.repo.connection(conn, connection_id)
                if cur is not None and cur["token_version"] != version and cur["status"] == "active":
                    return self.cipher.decrypt(cur["access_token_enc"])
                await self.writes.mark_reauth(conn, connection_id, version, self.clock.now())
            log.warning("tesla refresh refused; connection needs re-consent",
                        extra={"connection_id": connection_id, "tesla_status": exc.status})
            raise TokenExpired() from None
        now = self.clock.now()
        values = {"access_token_enc": self.cipher.encrypt(tokens.access_token),
                  "access_expires_at": now + dt.timedelta(seconds=tokens.expires_in or 3600)}
        if tokens.refresh_token:  # rotated: the old one is dead at Tesla already
            values["refresh_token_enc"] = self.cipher.encrypt(tokens.refresh_token)
        async with self.db.transaction() as conn:  # committed BEFORE the new token is used
            stored = await self.writes.store_rotation(conn, connection_id, version, owner, values, now)
        if not stored:
            log.error("token rotation could not be stored (lease lost)", extra={"connection_id": connection_id})
            raise TeslaDown()
        return tokens.access_token
