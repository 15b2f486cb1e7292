"""The P1 baseline: a bare Starlette endpoint → reused grpc.aio channel → echo service → JSON.

This is the gateway's shape with nothing of ours in it (no auth, no routing table, no codec, no
database), run on the same server settings as the gateway (uvicorn + uvloop + httptools; grpc.aio on
uvloop). ``python -m bench.echo_hop server --port P`` and ``python -m bench.echo_hop front --port P
--upstream 127.0.0.1:Q`` start the two processes.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib

import grpc
from google.protobuf import json_format, struct_pb2

METHOD = "/bench.Echo/Echo"


async def serve_echo(port: int) -> None:
    async def echo(request: struct_pb2.Struct, _context) -> struct_pb2.Struct:
        return request

    handler = grpc.method_handlers_generic_handler("bench.Echo", {
        "Echo": grpc.unary_unary_rpc_method_handler(
            echo, request_deserializer=struct_pb2.Struct.FromString,
            response_serializer=struct_pb2.Struct.SerializeToString)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def front_app(upstream: str):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        channel = grpc.aio.insecure_channel(upstream)
        state["call"] = channel.unary_unary(METHOD, request_serializer=struct_pb2.Struct.SerializeToString,
                                            response_deserializer=struct_pb2.Struct.FromString)
        yield
        await channel.close()

    async def endpoint(request: Request) -> Response:
        msg = struct_pb2.Struct()
        body = await request.body()
        if body:
            json_format.Parse(body, msg)
        reply = await state["call"](msg, timeout=5)
        return Response(json_format.MessageToJson(reply, indent=None), media_type="application/json")

    return Starlette(routes=[Route("/echo", endpoint, methods=["GET", "POST"])], lifespan=lifespan)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "front"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", default="")
    a = p.parse_args()
    if a.role == "server":
        import uvloop
        uvloop.install()
        asyncio.run(serve_echo(a.port))
    else:
        import uvicorn
        uvicorn.run(front_app(a.upstream), host="127.0.0.1", port=a.port, loop="uvloop", http="httptools",
                    log_config=None, access_log=False)


if __name__ == "__main__":
    main()
