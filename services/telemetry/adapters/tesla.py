"""Tesla Fleet API and OAuth over httpx (telemetry spec §3.6–§3.8, §7).

Small interface, typed failures: the use cases decide what a 408/429/421/401 means for a poll."""
from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
SCOPES = "openid offline_access user_data vehicle_device_data vehicle_location vehicle_charging_cmds"
POLL_ENDPOINTS = "charge_state;drive_state;location_data;vehicle_config"


class TeslaError(Exception):
    """Any failed Tesla call; ``status`` 0 means no HTTP answer (timeout, connection error)."""

    def __init__(self, status: int, error: str = "", retry_after_s: float | None = None,
                 sent: bool = True) -> None:
        super().__init__(f"tesla {status} {error}".strip())
        self.status, self.error, self.retry_after_s, self.sent = status, error, retry_after_s, sent

    @property
    def asleep(self) -> bool:
        return self.status == 408

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def unauthorized(self) -> bool:
        return self.status == 401

    @property
    def vehicle_unavailable(self) -> bool:
        return self.status in (403, 404, 405, 412)

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status >= 500


@dataclasses.dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    id_token: str | None
    expires_in: int


def _retry_after(resp: httpx.Response, now: dt.datetime) -> float | None:
    value = resp.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, (when - now).total_seconds())
            except (TypeError, ValueError):
                pass
    reset = resp.headers.get("ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset))
        except ValueError:
            return None
    return None


class TeslaClient:
    def __init__(self, *, client_id: str, client_secret: str, auth_base: str, token_base: str,
                 fleet_base, http: httpx.AsyncClient | None = None) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.auth_base, self.token_base = auth_base.rstrip("/"), token_base.rstrip("/")
        self.fleet_base = fleet_base  # region -> base URL
        self.http = http or httpx.AsyncClient(timeout=TIMEOUT, verify=True)

    async def close(self) -> None:
        await self.http.aclose()

    # ---------------------------------------------------------------- OAuth
    def authorize_url(self, *, state: str, challenge: str, nonce: str, redirect_uri: str,
                      login_hint: str | None = None) -> str:
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
                  "scope": SCOPES, "state": state, "code_challenge": challenge,
                  "code_challenge_method": "S256", "nonce": nonce, "prompt_missing_scopes": "true"}
        if login_hint:
            params["login_hint"] = login_hint
        return str(httpx.URL(f"{self.auth_base}/oauth2/v3/authorize", params=params))

    async def _token(self, form: dict[str, str]) -> TokenSet:
        try:
            resp = await self.http.post(f"{self.token_base}/oauth2/v3/token", data=form)
        except httpx.HTTPError:
            raise TeslaError(0, "unreachable", sent=False) from None
        if resp.status_code != 200:
            error = ""
            try:
                error = str(resp.json().get("error", ""))
            except ValueError:
                pass
            raise TeslaError(resp.status_code, error)
        body = resp.json()
        return TokenSet(body["access_token"], body.get("refresh_token"), body.get("id_token"),
                        int(body.get("expires_in") or 3600))

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> TokenSet:
        return await self._token({"grant_type": "authorization_code", "client_id": self.client_id,
                                  "client_secret": self.client_secret, "code": code,
                                  "code_verifier": verifier, "redirect_uri": redirect_uri,
                                  "audience": self.fleet_base("na")})

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token({"grant_type": "refresh_token", "client_id": self.client_id,
                                  "refresh_token": refresh_token})

    async def jwks(self) -> dict[str, Any]:
        try:
            resp = await self.http.get(f"{self.auth_base}/oauth2/v3/thirdparty/keys")
        except httpx.HTTPError:
            raise TeslaError(0, "unreachable", sent=False) from None
        if resp.status_code != 200:
            raise TeslaError(resp.status_code)
        return resp.json()

    # ---------------------------------------------------------------- Fleet API
    async def _call(self, method: str, region: str, path: str, access_token: str,
                    params: dict[str, str] | None = None, json: Any = None, now: dt.datetime | None = None) -> Any:
        url = f"{self.fleet_base(region)}/api/1{path}"
        try:
            resp = await self.http.request(method, url, params=params, json=json,
                                           headers={"Authorization": f"Bearer {access_token}"})
        except httpx.HTTPError:
            raise TeslaError(0, "unreachable", sent=False) from None
        if resp.status_code == 200:
            return resp.json().get("response")
        error = ""
        try:
            error = str(resp.json().get("error") or "")
        except ValueError:
            pass
        raise TeslaError(resp.status_code, error,
                         _retry_after(resp, now or dt.datetime.now(dt.timezone.utc)) if resp.status_code == 429 else None)

    async def user_region(self, access_token: str, region: str = "na") -> str:
        body = await self._call("GET", region, "/users/region", access_token)
        return str(body["region"]).lower()

    async def list_vehicles(self, access_token: str, region: str) -> list[dict[str, Any]]:
        return list(await self._call("GET", region, "/vehicles", access_token) or [])

    async def vehicle_data(self, access_token: str, region: str, vehicle_id: str,
                           endpoints: str = POLL_ENDPOINTS, now: dt.datetime | None = None) -> dict[str, Any]:
        return await self._call("GET", region, f"/vehicles/{vehicle_id}/vehicle_data", access_token,
                                params={"endpoints": endpoints}, now=now)

    async def wake_up(self, access_token: str, region: str, vehicle_id: str) -> dict[str, Any]:
        return await self._call("POST", region, f"/vehicles/{vehicle_id}/wake_up", access_token)

    async def fleet_telemetry_config(self, access_token: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", region, "/vehicles/fleet_telemetry_config", access_token, json=body)
