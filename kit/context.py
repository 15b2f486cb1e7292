"""Per-request context carried through a process: request id and the caller (contextvars)."""
from __future__ import annotations

import contextvars
import uuid_utils

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def new_request_id() -> str:
    """A time-ordered UUIDv7 in hex: unique, sortable in logs, and ≈ 10× cheaper than ``uuid4``."""
    return uuid_utils.uuid7().hex


def current_request_id() -> str | None:
    return request_id_var.get()

# The authenticated caller of the current RPC (set by the kit interceptor).
principal_var: contextvars.ContextVar[object | None] = contextvars.ContextVar("principal", default=None)
# Trailing metadata a handler wants sent (merged by the interceptor with x-request-id).
trailers_var: contextvars.ContextVar[list[tuple[str, str]] | None] = contextvars.ContextVar(
    "trailers", default=None
)


def add_trailer(key: str, value: str) -> None:
    """Ask for a trailing metadata entry on the current RPC (e.g. ``x-http-status``)."""
    trailers = trailers_var.get()
    if trailers is not None:
        trailers.append((key, value))
