"""Edge hygiene shared by every gateway response: security headers, request ids, client identity."""
from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class SecurityHeaders:
    """Adds the security headers to every HTTP response (errors and CORS preflights included);
    a response that sets its own ``content-security-policy`` (the docs page) keeps it.

    Works on the raw ASGI header list (names are lower-case bytes there): one pass to see what the
    response already has, then append — the per-request cost matters on the poll hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                present = {k.lower() for k, _ in headers}
                for raw in _RAW_SECURITY_HEADERS:
                    if raw[0] not in present:
                        headers.append(raw)
                if _RAW_CSP[0] not in present:
                    headers.append(_RAW_CSP)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
