"""Fidel API client (httpx) behind a small interface, plus an in-memory fake for tests.

Reads Fidel's `{items:[…], status}` envelope; retries GET and DELETE only. Never logs card data or
the secret key (the key travels only in the `Fidel-Key` header)."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import secrets
from typing import Protocol

import httpx

from services.clo.domain.cards import ProviderCard

log = logging.getLogger("clo.fidel")


class ProviderUnavailable(Exception):
    """Fidel (or the simulator) could not be reached or failed; nothing was stored."""


@dataclasses.dataclass(frozen=True)
class EnrollmentSession:
    session_token: str
    program_id: str
    expires_at: dt.datetime


class FidelClient(Protocol):
    async def get_card(self, fidel_card_id: str) -> ProviderCard | None: ...
    async def delete_card(self, fidel_card_id: str) -> None: ...
    async def create_sdk_session(self, metadata_id: str) -> EnrollmentSession: ...
    async def list_transactions(self) -> list[dict]: ...


def card_from_json(obj: dict) -> ProviderCard:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    last4 = str(obj.get("lastNumbers") or "")[-4:]
    return ProviderCard(
        fidel_card_id=str(obj.get("id")), program_id=str(obj.get("programId") or ""),
        metadata_id=meta.get("id") if isinstance(meta.get("id"), str) else None,
        last4=last4.rjust(4, "0") if last4 else "0000", scheme=str(obj.get("scheme") or "unknown"),
        expiry_month=int(obj.get("expMonth") or 1), expiry_year=int(obj.get("expYear") or 1970),
    )


class HttpFidelClient:
    def __init__(self, base_url: str, api_key: str, program_id: str, *, timeout_s: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.program_id = program_id
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s,
                                         headers={"Fidel-Key": api_key}, transport=transport)

    async def _request(self, method: str, path: str, *, json: dict | None = None,
                       retry: bool = False) -> httpx.Response:
        attempts = 3 if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                resp = await self._client.request(method, path, json=json)
            except httpx.HTTPError as exc:
                if attempt == attempts:
                    log.warning("fidel call failed", extra={"method": method, "error": type(exc).__name__})
                    raise ProviderUnavailable(type(exc).__name__) from None
                await asyncio.sleep(0.1 * attempt)
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                if attempt == attempts:
                    raise ProviderUnavailable(f"status {resp.status_code}")
                await asyncio.sleep(0.1 * attempt)
                continue
            return resp
        raise ProviderUnavailable("unreachable")

    @staticmethod
    def _item(resp: httpx.Response) -> dict:
        body = resp.json()
        items = body.get("items") if isinstance(body, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return items[0]
        if isinstance(body, dict) and "id" in body:
            return body
        raise ProviderUnavailable("unexpected response envelope")

    async def get_card(self, fidel_card_id: str) -> ProviderCard | None:
        resp = await self._request("GET", f"/cards/{fidel_card_id}", retry=True)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise ProviderUnavailable(f"status {resp.status_code}")
        return card_from_json(self._item(resp))

    async def delete_card(self, fidel_card_id: str) -> None:
        resp = await self._request("DELETE", f"/cards/{fidel_card_id}", retry=True)
        if resp.status_code not in (200, 204, 404):
            raise ProviderUnavailable(f"status {resp.status_code}")

    async def create_sdk_session(self, metadata_id: str) -> EnrollmentSession:
        resp = await self._request("POST", "/sdk/sessions", json={"metadataId": metadata_id})
        if resp.status_code not in (200, 201):
            raise ProviderUnavailable(f"status {resp.status_code}")
        item = self._item(resp) if "items" in resp.json() else resp.json()
        token = item.get("sessionToken")
        if not isinstance(token, str) or not token:
            raise ProviderUnavailable("no session token")
        return EnrollmentSession(token, str(item.get("programId") or self.program_id),
                                 dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=20))

    async def list_transactions(self) -> list[dict]:
        """`GET /programs/{pid}/transactions` (the reconciliation job's source)."""
        resp = await self._request("GET", f"/programs/{self.program_id}/transactions", retry=True)
        if resp.status_code != 200:
            raise ProviderUnavailable(f"status {resp.status_code}")
        items = resp.json().get("items") if isinstance(resp.json(), dict) else None
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    async def close(self) -> None:
        await self._client.aclose()


class FakeFidelClient:
    """In-memory Fidel for unit and integration tests."""

    def __init__(self, program_id: str = "prog_sim") -> None:
        self.program_id = program_id
        self.cards: dict[str, ProviderCard] = {}
        self.deleted: list[str] = []
        self.transactions: list[dict] = []
        self.down = False

    def add(self, card: ProviderCard) -> None:
        self.cards[card.fidel_card_id] = card

    async def get_card(self, fidel_card_id: str) -> ProviderCard | None:
        if self.down:
            raise ProviderUnavailable("down")
        return self.cards.get(fidel_card_id)

    async def delete_card(self, fidel_card_id: str) -> None:
        if self.down:
            raise ProviderUnavailable("down")
        self.cards.pop(fidel_card_id, None)
        self.deleted.append(fidel_card_id)

    async def create_sdk_session(self, metadata_id: str) -> EnrollmentSession:
        if self.down:
            raise ProviderUnavailable("down")
        return EnrollmentSession(f"mock_session_{secrets.token_hex(8)}", self.program_id,
                                 dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=20))

    async def list_transactions(self) -> list[dict]:
        if self.down:
            raise ProviderUnavailable("down")
        return list(self.transactions)
