"""Schemathesis against /openapi.json: a bounded number of generated requests per operation through
the real gateway (uvicorn, over HTTP) in front of fake gRPC servicers. No 5xx, and no response that
violates the documented schema, whatever the client sends."""
from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings

from cli.stack import free_port
from gateway.app import Gateway, Upstream, build_app
from tests.gateway_fakes import CONTEXTS, SECRET, FakeUpstreams, bearer

MAX_EXAMPLES = 5  # per operation (plus schemathesis' coverage cases); bounded to keep `make test` quick


@pytest.fixture(scope="module")
def gateway_url():
    port = free_port()
    ready = threading.Event()
    box: dict = {}

    async def main() -> None:
        fakes = FakeUpstreams()
        await fakes.start()
        upstreams = [Upstream(n, fakes.addr, [pb2.DESCRIPTOR.services_by_name[svc]])
                     for n, (pb2, _, svc) in CONTEXTS.items()]
        app = build_app(Gateway(upstreams, SECRET, timeout_s=5.0))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                               access_log=False, lifespan="on"))
        box["server"] = server
        ready.set()
        await server.serve()
        await fakes.stop()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(10)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.05)
    yield url
    box["server"].should_exit = True
    thread.join(10)


def _document() -> dict:
    # the same document /openapi.json serves (checked below), loaded at collection time
    from gateway.openapi import document
    from gateway.routes import routes_for

    return document([r for pb2, _, svc in CONTEXTS.values()
                     for r in routes_for(pb2.DESCRIPTOR.services_by_name[svc])])


schema = schemathesis.openapi.from_dict(_document())
AUTH = bearer("fuzz-driver", "driver", "sponsor", "admin")


@schema.auth()
class BearerToken:
    """A valid token for the operations that need one (schemathesis also tries them without)."""

    def get(self, case, context):
        return AUTH["authorization"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": data}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_responses_match_the_schema(case, gateway_url):
    case.call_and_validate(base_url=gateway_url)


def test_the_fuzzed_document_is_the_served_one(gateway_url):
    assert httpx.get(gateway_url + "/openapi.json").json() == _document()
