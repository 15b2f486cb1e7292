"""JWT bearer tokens (HS256): verification for the gateway and every service, and minting for the
CLI (development tokens) and for service-to-service calls (short-lived ``service`` tokens)."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable

import jwt

from kit import errors

ISSUER = "nerava"
AUDIENCE = "nerava-api"
ALGORITHM = "HS256"
ROLES = frozenset({"driver", "sponsor", "merchant", "admin", "service"})
SERVICE_TOKEN_TTL_S = 300


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    roles: frozenset[str]
    email: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles

    def has_any(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_service(self) -> bool:
        return "service" in self.roles


def mint(secret: str, sub: str, roles: Iterable[str], *, ttl_s: int = 7 * 24 * 3600,
         email: str | None = None, now: float | None = None) -> str:
    roles = list(roles)
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    issued = int(now if now is not None else time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "roles": roles, "iat": issued,
              "exp": issued + ttl_s}
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class TokenVerifier:
    """Verifies bearer tokens; caches recent successes so the hot path decodes each token once.

    A cached success is only served while the token's ``exp`` is in the future; the caches are keyed
    by the exact token and, for :meth:`verify_header`, by the exact ``Authorization`` value it came
    in (which saves parsing the header again on every call)."""

    def __init__(self, secret: str, cache_size: int = 4096) -> None:
        self._secret = secret
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._headers: dict[str, tuple[Principal, float]] = {}
        self._cache_size = cache_size

    def _hit(self, cache: dict[str, tuple[Principal, float]], key: str | None) -> Principal | None:
        """A cached success for ``key`` while its token has not expired; an expired one is dropped."""
        hit = cache.get(key)  # type: ignore[arg-type]
        if hit is None:
            return None
        if hit[1] > time.time():
            return hit[0]
        cache.pop(key, None)  # type: ignore[arg-type]
        return None

    def _remember(self, cache: dict[str, tuple[Principal, float]], key: str, entry: tuple[Principal, float]) -> None:
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[key] = entry

    def verify(self, token: str) -> Principal:
        principal = self._hit(self._cache, token)
        if principal is not None:
            return principal
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise errors.Unauthenticated("Token expired", reason="TOKEN_EXPIRED") from None
        except jwt.PyJWTError:
            raise errors.Unauthenticated("Invalid token", reason="TOKEN_INVALID") from None
        sub = claims.get("sub")
        roles = claims.get("roles", [])
        if not isinstance(sub, str) or not sub or not isinstance(roles, list):
            raise errors.Unauthenticated("Invalid token", reason="TOKEN_INVALID")
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        principal = Principal(sub=sub, roles=frozenset(r for r in roles if r in ROLES), email=email)
        self._remember(self._cache, token, (principal, float(claims["exp"])))
        return principal

    def verify_header(self, authorization: str | None) -> Principal:
        principal = self._hit(self._headers, authorization)
        if principal is not None:
            return principal
        if not authorization:
            raise errors.Unauthenticated("Sign in required", reason="TOKEN_MISSING")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise errors.Unauthenticated("Sign in required", reason="TOKEN_MISSING")
        principal = self.verify(token)
        entry = self._cache.get(token)  # what verify() just cached for this token
        if entry is not None and entry[0] is principal:
            self._remember(self._headers, authorization, entry)
        return principal


class ServiceTokenSource:
    """Short-lived ``service`` tokens for calls to other services, re-minted before they expire."""

    def __init__(self, secret: str, service_name: str, ttl_s: int = SERVICE_TOKEN_TTL_S) -> None:
        self._secret = secret
        self._sub = f"service:{service_name}"
        self._ttl = ttl_s
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self) -> str:
        now = time.time()
        if self._token is None or now >= self._renew_at:
            self._token = mint(self._secret, self._sub, ["service"], ttl_s=self._ttl, now=now)
            self._renew_at = now + self._ttl / 2
        return self._token

    def authorization(self) -> str:
        return f"Bearer {self.token()}"
