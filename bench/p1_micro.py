"""In-process microbenchmark of telemetry's P1 work: one dedup-hit ``PollChargingSession`` RPC.

``python -m bench.p1_micro [--calls 20000] [--reps 4] [--profile]`` builds the real use cases on a
scratch SQLite database with the Tesla simulator in-process (the integration tests' harness), connects
a driver, plugs the car in and opens a session, so every following poll is a dedup hit answered from
the in-process cache. It then times, in CPU µs per call (``time.process_time``, the parts alternated
``--reps`` times):

- ``decode``: ``PollChargingSessionRequest.FromString`` of the gateway's request bytes;
- ``servicer``: ``TelemetryApi.PollChargingSession`` (the use case on a cache hit and the answer
  message), with the caller already in the context;
- ``rpc``: the kit interceptor's wrapped handler around it (metadata, JWT, context variables,
  trailers, metrics) with a stub ``ServicerContext``;
- ``encode``: ``SerializeToString`` of the answer.

Only our own code is measured: grpc.aio's server and the event loop are not (see ``bench.p1_poll``
for the whole hop). ``--profile`` prints a cProfile of ``rpc`` instead.

``python -m bench.p1_micro hop [--calls 20000] [--reps 4] [--tree DIR ...]`` measures the gRPC hop
instead: a telemetry server process (the same harness, served by ``kit.server.serve``: kit
interceptor, health, reflection; no background jobs) and ``bench.echo_hop``'s echo server, each
loaded by a grpc.aio client in this process (32 concurrent calls, the gateway's metadata) and the
server's CPU per call read from ``/proc``, alternated. Each ``--tree DIR[#VARIANT]`` (a copy of this
repository, e.g. ``git archive <commit> | tar -x -C DIR``) adds a telemetry server run from that
tree's code; each ``--variant`` a server variant of this tree (experiments, see ``serve_async``).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import tempfile
import time

import grpc

from kit.auth import TokenVerifier, mint
from kit.interceptors import KitServerInterceptor
from nerava.telemetry.v1 import telemetry_pb2 as pb
from services.telemetry.entrypoint.grpc_api import TelemetryApi

SECRET = "bench-secret-" + "x" * 32
METHOD = "/nerava.telemetry.v1.TelemetryService/PollChargingSession"
DRIVER = "driver-bench"
LAT, LNG = 30.3979, -97.7044


class StubContext:
    """The parts of ``grpc.aio.ServicerContext`` the kit interceptor uses on a successful call."""

    def __init__(self, metadata) -> None:
        self._md = metadata
        self.trailing = None

    def invocation_metadata(self):
        return self._md

    def set_trailing_metadata(self, md) -> None:
        self.trailing = md

    def code(self):
        return None


async def setup(tmp: str, cache_max_s: float = 30):
    from tests.integration.telemetry_harness import VIN, make_harness

    h = await make_harness(f"sqlite+aiosqlite:///{tmp}/bench.db", POLL_CACHE_MAX_S=cache_max_s, JWT_SECRET=SECRET)
    await h.connect(DRIVER)
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
    await h.advance(31)
    first = await h.uc.poll(DRIVER, LAT, LNG)
    assert first["session_active"] and first["cached"] is False, first
    second = await h.uc.poll(DRIVER, LAT, LNG)
    assert second["cached"] is True, second
    h.uc.sessions.clock.ttl_s = 3600  # as in the P1 figure (TESLA_SIM_CLOCK_TTL_S): no clock read per poll
    return h


async def main_async(a) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = await setup(tmp)
        api = TelemetryApi(h.uc)
        token = mint(SECRET, DRIVER, ["driver"])
        interceptor = KitServerInterceptor(TokenVerifier(SECRET))
        base = grpc.unary_unary_rpc_method_handler(api.PollChargingSession,
                                                   request_deserializer=pb.PollChargingSessionRequest.FromString,
                                                   response_serializer=pb.PollChargingSessionResponse.SerializeToString)

        async def continuation(_details):
            return base

        class Details:
            method = METHOD

        handler = await interceptor.intercept_service(continuation, Details())
        wrapped = handler.unary_unary
        metadata = (("authorization", f"Bearer {token}"), ("x-request-id", "0" * 32),
                    ("user-agent", "grpc-python-asyncio/1.85"))
        raw = pb.PollChargingSessionRequest(lat=LAT, lng=LNG).SerializeToString()
        request = pb.PollChargingSessionRequest.FromString(raw)
        ctx = StubContext(metadata)

        # the answer must be a dedup hit from the cache (and stay one for the whole run)
        resp = await wrapped(request, ctx)
        assert resp.session_active and resp.cached, resp
        hits_before = h.uc.poll_cache.hits
        print("answer:", resp.SerializeToString().hex(), "trailers:", ctx.trailing)

        from kit.context import principal_var
        principal_var.set(TokenVerifier(SECRET).verify(token))

        async def run_servicer(n: int) -> None:
            for _ in range(n):
                await api.PollChargingSession(request, ctx)

        async def run_rpc(n: int) -> None:
            for _ in range(n):
                await wrapped(request, ctx)

        async def run_decode(n: int) -> None:
            f = pb.PollChargingSessionRequest.FromString
            for _ in range(n):
                f(raw)

        async def run_encode(n: int) -> None:
            for _ in range(n):
                resp.SerializeToString()

        parts = {"decode": run_decode, "servicer": run_servicer, "rpc": run_rpc, "encode": run_encode}
        if a.profile:
            prof = cProfile.Profile()
            prof.enable()
            await run_rpc(a.calls)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
            return
        for fn in parts.values():
            await fn(500)  # warm up
        results: dict[str, list[float]] = {k: [] for k in parts}
        for _ in range(a.reps):
            for name, fn in parts.items():
                t0 = time.process_time()
                await fn(a.calls)
                results[name].append((time.process_time() - t0) / a.calls * 1e6)
        assert h.uc.poll_cache.hits - hits_before >= a.calls * a.reps * 2, "a poll missed the cache"
        for name, xs in results.items():
            print(f"{name:9s} median {statistics.median(xs):7.2f} µs  "
                  f"(min {min(xs):.2f}, max {max(xs):.2f}; {a.reps} reps × {a.calls})")
        await h.close()


async def serve_async(port: int, variant: str) -> None:
    """A telemetry server for ``hop``. Variants (experiments, combinable with ``-``): ``fixed`` answers
    a pre-built message (grpc.aio and the kit interceptor without our servicer); ``burnN`` adds N
    rounds of synthetic Python work to ``fixed`` (its in-loop cost is printed: compare it with what it
    adds in the server); ``noint`` serves without the kit interceptor (the caller set once for every
    RPC); ``max3`` uses the service's default ``POLL_CACHE_MAX_S`` (3 s) instead of 30 s."""
    from kit import logs, server
    from kit.context import principal_var
    from nerava.telemetry.v1 import telemetry_pb2_grpc

    logs.setup("telemetry", "WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        h = await setup(tmp, 3 if "max3" in variant else 30)
        api = TelemetryApi(h.uc)
        full = pb.DESCRIPTOR.services_by_name["TelemetryService"].full_name
        register = lambda s: telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server(api, s)  # noqa: E731
        if "fixed" in variant:
            burn_n = int(variant.split("burn")[1].split("-")[0]) if "burn" in variant else 0
            burn_d = {f"k{i}": i for i in range(30)}

            def burn() -> None:  # synthetic Python work: dict copies and lookups
                for _ in range(burn_n):
                    d = dict(burn_d)
                    d.get("k3"), d.get("k9"), d.pop("k1")

            async def fixed(request, context):
                burn()
                return answer

            if burn_n:
                t0 = time.process_time()
                for _ in range(2000):
                    burn()
                print(f"burn{burn_n}: {(time.process_time() - t0) / 2000 * 1e6:.1f} µs in a loop", flush=True)
            token = principal_var.set(TokenVerifier(SECRET).verify(mint(SECRET, DRIVER, ["driver"])))
            answer = await api.PollChargingSession(pb.PollChargingSessionRequest(lat=LAT, lng=LNG), None)
            principal_var.reset(token)
            generic = grpc.method_handlers_generic_handler(full, {
                "PollChargingSession": grpc.unary_unary_rpc_method_handler(
                    fixed, request_deserializer=pb.PollChargingSessionRequest.FromString,
                    response_serializer=pb.PollChargingSessionResponse.SerializeToString)})
            register = lambda s: s.add_generic_rpc_handlers((generic,))  # noqa: E731
        if "noint" in variant:
            principal_var.set(TokenVerifier(SECRET).verify(mint(SECRET, DRIVER, ["driver"])))
            make = grpc.aio.server
            grpc.aio.server = lambda interceptors=None, **kw: make(**kw)  # type: ignore[assignment]
        spec = server.ServiceSpec(name="telemetry", full_names=(full,), port=port, jwt_secret=SECRET,
                                  register=register, bind_host="127.0.0.1")
        await server.serve(spec)


async def load(port: int, calls: int, echo: bool, concurrency: int = 32) -> None:
    from google.protobuf import struct_pb2

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        if echo:
            msg = struct_pb2.Struct()
            msg.update({"lat": LAT, "lng": LNG})
            call = channel.unary_unary("/bench.Echo/Echo", request_serializer=struct_pb2.Struct.SerializeToString,
                                       response_deserializer=struct_pb2.Struct.FromString)
            md = None
        else:
            msg = pb.PollChargingSessionRequest(lat=LAT, lng=LNG)
            call = channel.unary_unary(METHOD, request_serializer=pb.PollChargingSessionRequest.SerializeToString,
                                       response_deserializer=pb.PollChargingSessionResponse.FromString)
            md = (("x-request-id", "0" * 32), ("authorization", f"Bearer {mint(SECRET, DRIVER, ['driver'])}"))
        left = calls

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                c = call(msg, timeout=5, metadata=md)
                reply = await c
                if not echo:
                    await c.trailing_metadata()
                    assert reply.cached

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def hop(a) -> None:
    import os
    import pathlib
    import shutil
    import subprocess
    import sys

    import uvloop

    from bench.harness import ROOT, cpu_seconds, wait_tcp
    from cli.stack import free_port, stop_process

    servers = {}
    try:
        port = free_port()
        servers["echo"] = (subprocess.Popen([sys.executable, "-m", "bench.echo_hop", "server", "--port", str(port)],
                                            cwd=ROOT), port, True)
        for label, tree, variant in [("telemetry", str(ROOT), "full"),
                                     *[(f"telemetry@{t}", t.split("#")[0], (t.split("#") + ["full"])[1])
                                       for t in a.tree],
                                     *[(f"telemetry {v}", str(ROOT), v) for v in a.variant]]:
            if pathlib.Path(tree).resolve() != ROOT:
                shutil.copy(__file__, pathlib.Path(tree) / "bench" / "p1_micro.py")
            port = free_port()
            env = {**os.environ, "PYTHONPATH": tree}
            servers[label] = (subprocess.Popen([sys.executable, "-m", "bench.p1_micro", "serve", "--port", str(port),
                                                "--variant", variant], cwd=tree, env=env), port, False)
        for _proc, port, _echo in servers.values():
            wait_tcp(port, timeout_s=60)
        results: dict[str, list[float]] = {k: [] for k in servers}
        for proc, port, echo in servers.values():
            uvloop.run(load(port, 1000, echo))  # warm up
        for _ in range(a.reps):
            for label, (proc, port, echo) in servers.items():
                before = cpu_seconds([proc.pid])
                uvloop.run(load(port, a.calls, echo))
                results[label].append((cpu_seconds([proc.pid]) - before) / a.calls * 1e6)
        for label, xs in results.items():
            print(f"{label:30s} server CPU median {statistics.median(xs):6.1f} µs/call  "
                  f"({', '.join(f'{x:.1f}' for x in xs)})")
    finally:
        for proc, _port, _echo in servers.values():
            stop_process(proc)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.p1_micro", description=__doc__)
    p.add_argument("mode", nargs="?", choices=["parts", "hop", "serve"], default="parts")
    p.add_argument("--calls", type=int, default=20_000)
    p.add_argument("--reps", type=int, default=4)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tree", action="append", default=[], help="hop: also run telemetry from this checkout")
    p.add_argument("--variant", action="append", default=[],
                   help="hop: also run a telemetry server variant (fixed, fixed-burn20, noint, max3; see serve_async)")
    a = p.parse_args()
    if a.mode == "hop":
        hop(a)
        return
    import uvloop
    uvloop.run(serve_async(a.port, a.variant[0] if a.variant else "full") if a.mode == "serve" else main_async(a))


if __name__ == "__main__":
    main()
