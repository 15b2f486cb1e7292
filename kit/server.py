"""``grpc.aio`` server bootstrap shared by every service: reflection, standard health, keepalive,
the kit interceptor, a /metrics port, background tasks, and graceful shutdown on SIGTERM/SIGINT
(health NOT_SERVING first, then stop with a grace period)."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Collection, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kit.auth import TokenVerifier
from kit.interceptors import KitServerInterceptor
from kit.metrics import serve_metrics

log = logging.getLogger("kit.server")

KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 11 * 1024 * 1024),
]


@dataclasses.dataclass
class ServiceSpec:
    """What a service hands to the bootstrap."""

    name: str                       # "wallet"
    full_names: Sequence[str]       # ("nerava.wallet.v1.WalletService",)
    register: Callable[[grpc.aio.Server], None]
    port: int
    jwt_secret: str
    public_methods: Collection[str] = ()
    metrics_port: int = 0
    grace_s: float = 5.0
    bind_host: str = "0.0.0.0"
    # Long-running coroutines (outbox dispatcher, jobs); cancelled on shutdown.
    background: Sequence[Callable[[], Awaitable[None]]] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()


async def serve(spec: ServiceSpec, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    server = grpc.aio.server(
        interceptors=[KitServerInterceptor(TokenVerifier(spec.jwt_secret), spec.public_methods)],
        options=KEEPALIVE_OPTIONS,
    )
    spec.register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*spec.full_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME),
        server,
    )
    bound = server.add_insecure_port(f"{spec.bind_host}:{spec.port}")
    if bound == 0:
        raise SystemExit(f"{spec.name}: cannot listen on port {spec.port}")
    await server.start()
    for name in ("", *spec.full_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    metrics_port = serve_metrics(spec.metrics_port)
    log.info("serving", extra={"service": spec.name, "grpc_port": bound, "metrics_port": metrics_port})

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    tasks = [asyncio.create_task(fn(), name=getattr(fn, "__name__", "background")) for fn in spec.background]
    stopper = asyncio.create_task(stop.wait())
    watch = {stopper, *tasks}
    while True:
        done, _ = await asyncio.wait(watch, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            break
        for task in done:  # a background task must not die silently
            watch.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("background task failed", exc_info=task.exception(),
                          extra={"task": task.get_name()})

    log.info("shutting down", extra={"service": spec.name, "grace_s": spec.grace_s})
    await health_servicer.enter_graceful_shutdown()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.stop(spec.grace_s)
    for fn in spec.on_stop:
        await fn()
    log.info("stopped", extra={"service": spec.name})


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run a process's main coroutine on uvloop when available."""
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency, but keep asyncio as fallback
        asyncio.run(main())


def port_from_env(context: str, default: int) -> int:
    """A service's gRPC port: ``GRPC_PORT``, else ``NERAVA_<CONTEXT>_PORT``, else the default."""
    for key in ("GRPC_PORT", f"NERAVA_{context.upper()}_PORT"):
        value = os.environ.get(key)
        if value:
            try:
                return int(value)
            except ValueError:
                raise SystemExit(f"{key} must be a port number, got {value!r}") from None
    return default
