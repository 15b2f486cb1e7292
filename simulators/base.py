"""What the simulators share: a Starlette app served by uvicorn on its configured port."""
from __future__ import annotations

import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def health_route(name: str) -> Route:
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "simulator": name})

    return Route("/_sim/health", health, methods=["GET"])


def serve(app: Starlette, port_env: str, default_port: int) -> None:
    port = int(os.environ.get(port_env, default_port))
    uvicorn.run(app, host=os.environ.get("SIMULATOR_HOST", "127.0.0.1"), port=port, log_config=None,
                access_log=False)
