"""An in-process gateway in front of fake gRPC upstreams, for gateway tests independent of the
services: one ``grpc.aio`` server implements the four generated servicer base classes; every RPC
records what it received (request message and metadata) and answers what the test configured."""
from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

import grpc
import httpx
from google.protobuf.message import Message

from gateway.app import Gateway, Upstream, build_app
from gateway.ratelimit import RateLimiter
from kit import auth
from kit.settings import DEV_JWT_SECRET
from nerava.clo.v1 import clo_pb2, clo_pb2_grpc
from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc
from nerava.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc
from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc

SECRET = DEV_JWT_SECRET

CONTEXTS = {
    "telemetry": (telemetry_pb2, telemetry_pb2_grpc, "TelemetryService"),
    "incentives": (incentives_pb2, incentives_pb2_grpc, "IncentivesService"),
    "wallet": (wallet_pb2, wallet_pb2_grpc, "WalletService"),
    "clo": (clo_pb2, clo_pb2_grpc, "CloService"),
}


def token(sub: str = "driver-1", *roles: str) -> str:
    return auth.mint(SECRET, sub, roles or ("driver",), ttl_s=3600)


def bearer(sub: str = "driver-1", *roles: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token(sub, *roles)}"}


@dataclasses.dataclass
class Call:
    method: str               # "GetBalance"
    request: Message
    metadata: dict[str, str]


@dataclasses.dataclass
class Fail:
    code: grpc.StatusCode
    details: str
    trailers: tuple = ()


Answer = Message | Fail | Callable[[Message], Message]


class FakeUpstreams:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.answers: dict[str, Answer] = {}
        self.trailers: dict[str, tuple] = {}
        self.server: grpc.aio.Server | None = None
        self.addr = ""

    def last(self, method: str) -> Call:
        for call in reversed(self.calls):
            if call.method == method:
                return call
        raise AssertionError(f"{method} was not called; calls: {[c.method for c in self.calls]}")

    def _servicer(self, pb2, pb2_grpc, service: str):
        base = getattr(pb2_grpc, f"{service}Servicer")
        desc = pb2.DESCRIPTOR.services_by_name[service]
        fake = self

        def handler(name: str, response_cls):
            async def rpc(self, request, context):
                fake.calls.append(Call(name, request, dict(context.invocation_metadata())))
                answer = fake.answers.get(name)
                if isinstance(answer, Fail):
                    if answer.trailers:
                        context.set_trailing_metadata(answer.trailers)
                    await context.abort(answer.code, answer.details)
                if name in fake.trailers:
                    context.set_trailing_metadata(fake.trailers[name])
                if answer is None:
                    return response_cls()
                return answer(request) if callable(answer) else answer
            return rpc

        from google.protobuf import message_factory

        methods = {m.name: handler(m.name, message_factory.GetMessageClass(m.output_type))
                   for m in desc.methods}
        return type(f"Fake{service}", (base,), methods)()

    async def start(self) -> None:
        self.server = grpc.aio.server()
        for pb2, pb2_grpc, service in CONTEXTS.values():
            getattr(pb2_grpc, f"add_{service}Servicer_to_server")(self._servicer(pb2, pb2_grpc, service),
                                                                   self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.addr = f"127.0.0.1:{port}"
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)


@dataclasses.dataclass
class Harness:
    fakes: FakeUpstreams
    gateway: Gateway
    app: Any
    client: httpx.AsyncClient

    def client_from(self, ip: str, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
        """Another client of the same gateway, seen from ``ip``."""
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40001),
                                        raise_app_exceptions=raise_app_exceptions)
        return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")

    async def close(self) -> None:
        await self.client.aclose()
        await self.gateway.stop()
        await self.fakes.stop()


async def start_harness(*, rate_limiter: RateLimiter | None = None, client_ip: str = "203.0.113.7",
                        cors_origins: list[str] | None = None, cors_origin_regex: str | None = None,
                        docs_dir: pathlib.Path | None = None, **gateway_kw: Any) -> Harness:
    fakes = FakeUpstreams()
    await fakes.start()
    upstreams = [Upstream(name, fakes.addr, [pb2.DESCRIPTOR.services_by_name[svc]])
                 for name, (pb2, _, svc) in CONTEXTS.items()]
    gw = Gateway(upstreams, SECRET, timeout_s=5.0, rate_limiter=rate_limiter, **gateway_kw)
    await gw.start()
    app = build_app(gw, cors_origins=cors_origins, cors_origin_regex=cors_origin_regex, docs_dir=docs_dir)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(client_ip, 40000)),
                               base_url="http://gateway.test")
    return Harness(fakes, gw, app, client)
