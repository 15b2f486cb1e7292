"""gateway.edge.Edge: one layer with Starlette's CORS policy and the security headers. Each case is
compared with Starlette's own CORSMiddleware answering the same request (the headers Edge adds on
top must be exactly the security headers), so the fast header path cannot drift from the library."""
from __future__ import annotations

import pytest
from starlette.middleware.cors import CORSMiddleware

from gateway.edge import API_CSP, SECURITY_HEADERS, Edge

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
POLICY = dict(allow_origins=["https://app.nerava.network"], allow_origin_regex=r"https://.*\.preview\.nerava\.network",
              allow_credentials=True, allow_methods=METHODS,
              allow_headers=["authorization", "content-type", "idempotency-key", "x-request-id"],
              expose_headers=["x-request-id", "retry-after"])
SECURITY = {**SECURITY_HEADERS, "content-security-policy": API_CSP}


def make_inner(extra: list[tuple[bytes, bytes]]):
    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), *extra]})
        await send({"type": "http.response.body", "body": b"{}"})
    return inner


async def call(app, method: str, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]]]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/v1/x", "query_string": b"",
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    await app(scope, receive, send)
    start = sent[0]
    return start["status"], sorted((k.decode().lower(), v.decode()) for k, v in start["headers"])


CASES = [
    ("POST", {"origin": "https://app.nerava.network"}, []),
    ("POST", {"origin": "https://evil.example"}, []),
    ("POST", {"origin": "https://pr-1.preview.nerava.network"}, []),
    ("GET", {}, []),
    ("GET", {"origin": "https://app.nerava.network"}, [(b"vary", b"Accept-Encoding")]),
    ("GET", {"origin": "https://app.nerava.network"}, [(b"access-control-allow-origin", b"*")]),
    ("OPTIONS", {"origin": "https://app.nerava.network", "access-control-request-method": "POST",
                 "access-control-request-headers": "authorization, content-type"}, []),
    ("OPTIONS", {"origin": "https://evil.example", "access-control-request-method": "POST"}, []),
    ("OPTIONS", {"origin": "https://app.nerava.network", "access-control-request-method": "TRACE"}, []),
    ("OPTIONS", {"origin": "https://app.nerava.network"}, []),  # not a preflight: the app answers
]


@pytest.mark.parametrize("method,headers,extra", CASES)
async def test_edge_answers_like_starlette_cors_plus_the_security_headers(method, headers, extra):
    status, got = await call(Edge(make_inner(extra), **POLICY), method, headers)
    ref_status, ref = await call(CORSMiddleware(make_inner(extra), **POLICY), method, headers)
    assert status == ref_status
    assert sorted(set(got) - set(ref)) == sorted(SECURITY.items())
    assert set(ref) <= set(got) and len(got) == len(ref) + len(SECURITY)


async def test_a_response_with_its_own_csp_keeps_it():
    inner = make_inner([(b"content-security-policy", b"default-src 'self'")])
    _, got = await call(Edge(inner, **POLICY), "GET", {})
    assert [v for k, v in got if k == "content-security-policy"] == ["default-src 'self'"]
