"""Channels to upstream services: one channel per upstream, a deadline on every call, retries
only for idempotent calls on UNAVAILABLE, the caller's request id propagated, and a short-lived
``service`` token (or the end user's forwarded token) on every call."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from kit.auth import ServiceTokenSource
from kit.context import current_request_id

CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 11 * 1024 * 1024),
    ("grpc.enable_retries", 0),  # retries are decided here, per call
    # reconnect quickly after an upstream restarts (default backoff grows to 120 s)
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
]

R = TypeVar("R")


class Upstream:
    """One upstream service: a reused channel and its stub."""

    def __init__(self, name: str, addr: str, stub_cls: Callable[[grpc.aio.Channel], Any],
                 tokens: ServiceTokenSource | None = None, default_timeout_s: float = 2.0) -> None:
        self.name, self.addr = name, addr
        self.channel = grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS)
        self.stub = stub_cls(self.channel)
        self.tokens = tokens
        self.default_timeout_s = default_timeout_s

    def metadata(self, authorization: str | None = None, extra: tuple = ()) -> tuple:
        md: list[tuple[str, str]] = []
        auth = authorization or (self.tokens.authorization() if self.tokens else None)
        if auth:
            md.append(("authorization", auth))
        rid = current_request_id()
        if rid:
            md.append(("x-request-id", rid))
        md.extend(extra)
        return tuple(md)

    async def call(self, method_name: str, request: Any, *, timeout_s: float | None = None,
                   idempotent: bool = False, authorization: str | None = None,
                   extra_metadata: tuple = (), attempts: int = 3) -> Any:
        method = getattr(self.stub, method_name)
        timeout = timeout_s if timeout_s is not None else self.default_timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        md = self.metadata(authorization, extra_metadata)
        tries = attempts if idempotent else 1
        for attempt in range(1, tries + 1):
            remaining = deadline - loop.time()
            try:
                return await method(request, timeout=max(remaining, 0.001), metadata=md)
            except grpc.aio.AioRpcError as exc:
                if (not idempotent or attempt == tries or exc.code() != grpc.StatusCode.UNAVAILABLE):
                    raise
                backoff = min(0.05 * (2 ** (attempt - 1)), 0.5) * (0.5 + random.random())
                if loop.time() + backoff >= deadline:
                    raise
                await asyncio.sleep(backoff)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.channel.close()
