"""Edge hygiene shared by every gateway response: security headers, request ids, client identity."""
from __future__ import annotations

import functools
import re

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

# Answers are JSON: nothing may load from them, nobody may frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The docs page runs only the scripts and styles the gateway itself serves (no CDN, no inline code).
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")


def clean_request_id(value: str | None) -> str | None:
    """A caller's ``x-request-id`` when it is safe to log and to send as gRPC metadata, else None."""
    if value and _REQUEST_ID.match(value):
        return value
    return None


def ascii_header_value(value: str) -> bool:
    """gRPC metadata values must be printable ASCII; anything else would fail the upstream call."""
    return value.isascii() and all(32 <= ord(c) < 127 for c in value)


_RAW_SECURITY_HEADERS = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
_RAW_CSP = (b"content-security-policy", API_CSP.encode("latin-1"))


class Edge(CORSMiddleware):
    """The gateway's one edge layer: CORS and the security headers on every HTTP response (errors
    and preflights included); a response that sets its own ``content-security-policy`` (the docs
    page) keeps it.

    The CORS policy is Starlette's (``CORSMiddleware``: its origin matching and its preflight
    answers, unchanged). What this class replaces is only the per-response header work of the two
    middlewares it used to be (``SecurityHeaders`` around ``CORSMiddleware``): one ``send`` wrapper
    instead of two, on the raw ASGI header list instead of ``MutableHeaders`` — the same headers,
    at about a third of the cost on the poll hot path (docs/performance.md, P1)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = None
        preflight = False
        for key, value in scope["headers"]:
            if key == b"origin":
                if origin is None:
                    origin = value.decode("latin-1")
            elif key == b"access-control-request-method":
                preflight = True
        if origin is not None and preflight and scope["method"] == "OPTIONS":
            response = self.preflight_response(request_headers=Headers(scope=scope))
            await response(scope, receive, self._sender(send, None, cors=False))
            return
        await self.app(scope, receive, self._sender(send, origin, cors=True))

    def _sender(self, send: Send, origin: str | None, *, cors: bool) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                if cors:
                    headers = self._cors_headers(headers, origin)
                present = {k.lower() for k, _ in headers}
                for raw in _RAW_SECURITY_HEADERS:
                    if raw[0] not in present:
                        headers.append(raw)
                if _RAW_CSP[0] not in present:
                    headers.append(_RAW_CSP)
                message["headers"] = headers
            await send(message)

        return send_with_headers

    def _cors_headers(self, headers: list[tuple[bytes, bytes]], origin: str | None) -> list[tuple[bytes, bytes]]:
        """What ``CORSMiddleware.send`` does to a simple (non-preflight) response, on raw headers:
        with an ``Origin``, the simple headers; an allowed origin mirrored back; ``Vary: Origin``."""
        replace: dict[bytes, bytes] = {}
        if origin is not None:
            replace.update(self._raw_simple)
            explicit = ((self.allow_all_origins and self.allow_credentials)
                        or (not self.allow_all_origins and self.is_allowed_origin(origin=origin)))
            if explicit:
                replace[b"access-control-allow-origin"] = origin.encode("latin-1")
        vary = [v for k, v in headers if k.lower() == b"vary"]
        replace[b"vary"] = b", ".join([*vary, b"Origin"])
        kept = [(k, v) for k, v in headers if k.lower() not in replace]
        return kept + list(replace.items())

    @functools.cached_property
    def _raw_simple(self) -> dict[bytes, bytes]:
        return {k.lower().encode("latin-1"): v.encode("latin-1") for k, v in self.simple_headers.items()}
