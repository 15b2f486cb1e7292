"""The gateway application: REST/JSON in, gRPC to the owning service, JSON out."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import pathlib
import time
from typing import Any

import grpc
import orjson
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from gateway import codec, pan_guard
from gateway.docs import docs_routes
from gateway.edge import API_CSP, SECURITY_HEADERS, Edge, ascii_header_value, clean_request_id
from gateway.ratelimit import RateLimiter
from gateway.routes import Route, Router, routes_for
from kit import errors
from kit.access import PUBLIC_METHODS, WEBHOOK_HEADER_PREFIXES
from kit.auth import ServiceTokenSource, TokenVerifier
from kit.clients import CHANNEL_OPTIONS
from kit.context import new_request_id, request_id_var
from kit.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024
SIGN_IN_REQUIRED = {"error": "unauthorized", "message": "Sign in required"}


@dataclasses.dataclass
class Upstream:
    name: str              # "wallet"
    addr: str              # "localhost:50053"
    services: list         # ServiceDescriptors served there


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, detail: Any, request_id: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    h = dict(headers or {})
    if request_id:
        h["x-request-id"] = request_id
    return JSONResponse({"detail": detail}, status_code=status, headers=h)


@dataclasses.dataclass
class Bound:
    """A route with its upstream callable and message classes, prepared at start-up."""

    route: Route
    call: grpc.aio.UnaryUnaryMultiCallable
    request_cls: type[Message]
    public: bool
    webhook_field: str  # the HttpBody field of a webhook RPC, else ""
    has_request_id: bool
    update_mask: bool  # the request has a FieldMask ``update_mask`` filled from the body's keys


def _is_httpbody(desc: Descriptor, field: str) -> bool:
    f = desc.fields_by_name.get(field)
    return bool(f and f.message_type and f.message_type.full_name == "google.api.HttpBody")


def _convert(field: FieldDescriptor, raw: str) -> Any:
    t = field.type
    if t in (FieldDescriptor.TYPE_STRING,):
        return raw
    if t == FieldDescriptor.TYPE_BOOL:
        low = raw.lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise ValueError(raw)
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return float(raw)
    if t == FieldDescriptor.TYPE_ENUM:
        v = field.enum_type.values_by_name.get(raw)
        if v is None:
            v = field.enum_type.values_by_number.get(int(raw))
        if v is None:
            raise ValueError(raw)
        return v.number
    if t == FieldDescriptor.TYPE_BYTES:
        return raw.encode()
    value = int(raw)
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32) and not (
            -2**31 <= value < 2**31):
        raise ValueError(raw)
    return value


def set_param(msg: Message, path: str, values: list[str]) -> bool:
    """Set a (possibly nested) field from URL text; False when the field does not exist."""
    parts = path.split(".")
    target = msg
    for part in parts[:-1]:
        f = target.DESCRIPTOR.fields_by_name.get(part)
        if f is None or f.message_type is None or codec._is_repeated(f):
            return False
        target = getattr(target, part)
    f = target.DESCRIPTOR.fields_by_name.get(parts[-1])
    if f is None:
        return False
    if f.message_type is not None:
        wrapped = f.message_type.full_name
        if wrapped in codec._WRAPPERS:
            value_field = f.message_type.fields_by_name["value"]
            getattr(target, f.name).value = _convert(value_field, values[-1])
            return True
        if wrapped == "google.protobuf.Timestamp":
            getattr(target, f.name).FromJsonString(codec._fix_ts(values[-1]))
            return True
        return False
    if codec._is_repeated(f):
        container = getattr(target, f.name)
        for v in values:
            container.append(_convert(f, v))
    else:
        setattr(target, f.name, _convert(f, values[-1]))
    return True


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request body, or None as soon as it exceeds ``limit`` (declared or streamed: a chunked
    upload without Content-Length is cut off at the limit, never buffered whole)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class Gateway:
    def __init__(self, upstreams: list[Upstream], jwt_secret: str, *, timeout_s: float = 5.0,
                 ready_timeout_s: float = 1.0, rate_limiter: RateLimiter | None = None) -> None:
        self.upstreams = upstreams
        self.rate_limiter = rate_limiter
        self.verifier = TokenVerifier(jwt_secret)
        self.service_tokens = ServiceTokenSource(jwt_secret, "gateway")
        self.timeout_s = timeout_s
        self.ready_timeout_s = ready_timeout_s
        self.channels: dict[str, grpc.aio.Channel] = {}
        self.bound: dict[Route, Bound] = {}
        routes: list[Route] = []
        self._prepared: list[tuple[Upstream, Route]] = []
        for up in upstreams:
            for svc in up.services:
                for r in routes_for(svc):
                    routes.append(r)
                    self._prepared.append((up, r))
        self.router = Router(routes)
        self._metric_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def start(self) -> None:
        for up, r in self._prepared:
            ch = self.channels.get(up.name)
            if ch is None:
                ch = self.channels[up.name] = grpc.aio.insecure_channel(up.addr, options=CHANNEL_OPTIONS)
            req_cls = message_factory.GetMessageClass(r.method.input_type)
            resp_cls = message_factory.GetMessageClass(r.method.output_type)
            call = ch.unary_unary(r.full_method, request_serializer=req_cls.SerializeToString,
                                  response_deserializer=resp_cls.FromString)
            webhook = r.body if r.body and r.body != "*" and _is_httpbody(r.method.input_type, r.body) else ""
            fields = r.method.input_type.fields_by_name
            mask = fields.get("update_mask")
            self.bound[r] = Bound(r, call, req_cls, r.full_method in PUBLIC_METHODS, webhook,
                                  "request_id" in fields,
                                  bool(mask and mask.message_type
                                       and mask.message_type.full_name == "google.protobuf.FieldMask"))

    async def stop(self) -> None:
        for ch in self.channels.values():
            await ch.close()

    # --- health -------------------------------------------------------------------------------
    async def readiness(self) -> dict[str, str]:
        async def check(name: str, ch: grpc.aio.Channel) -> tuple[str, str]:
            try:
                resp = await health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=self.ready_timeout_s)
                return name, health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
            except grpc.aio.AioRpcError as exc:
                return name, f"UNAVAILABLE ({exc.code().name})"

        results = await asyncio.gather(*(check(n, c) for n, c in self.channels.items()))
        return dict(results)

    # --- the REST → gRPC path -----------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        rid = clean_request_id(request.headers.get("x-request-id")) or new_request_id()
        token = request_id_var.set(rid)
        route_label = "unmatched"
        status = 500
        try:
            if self.rate_limiter is not None:
                decision = self.rate_limiter.check(self.client_key(request), request.url.path)
                if not decision.allowed:
                    status = 429
                    return error_response(429, f"Rate limit exceeded ({decision.limit} per client and path); "
                                               f"retry in {decision.retry_after_header} s", rid,
                                          {"retry-after": decision.retry_after_header})
            if request.method == "OPTIONS":  # not a CORS preflight (the CORS middleware answers those)
                allowed = self.router.allowed_methods(request.url.path)
                status = 204 if allowed else 404
                if not allowed:
                    return error_response(404, "Not Found", rid)
                return Response(status_code=204, headers={"allow": ", ".join([*allowed, "OPTIONS"]),
                                                          "x-request-id": rid})
            route, variables, exists = self.router.match(request.method, request.url.path)
            if route is None:
                if request.method == "HEAD":
                    route, variables, exists = self.router.match("GET", request.url.path)
                if route is None:
                    if exists:
                        status = 405
                        allow = ", ".join(self.router.allowed_methods(request.url.path))
                        return error_response(405, "Method Not Allowed", rid, {"allow": allow})
                    status = 404
                    return error_response(404, "Not Found", rid)
            route_label = route.template
            resp = await self._dispatch(self.bound[route], variables, request, rid)
            status = resp.status_code
            return resp
        finally:
            key = (route_label, request.method, status)
            children = self._metric_children.get(key)
            if children is None:  # prometheus' labels() is a locked lookup: bind once per key
                children = (HTTP_REQUESTS.labels(route_label, request.method, str(status)),
                            HTTP_LATENCY.labels(route_label, request.method))
                if len(self._metric_children) < 4096:
                    self._metric_children[key] = children
            children[0].inc()
            children[1].observe(time.perf_counter() - started)
            request_id_var.reset(token)

    def client_key(self, request: Request) -> str:
        """Who a rate limit counts: the verified JWT ``sub``, else the client IP (REST spec §0)."""
        authorization = request.headers.get("authorization")
        if not authorization:
            cookie = request.cookies.get("access_token")
            authorization = f"Bearer {cookie}" if cookie else None
        if authorization:
            try:
                return "sub:" + self.verifier.verify_header(authorization).sub
            except errors.Unauthenticated:
                pass
        return "ip:" + (request.client.host if request.client else "unknown")

    async def _dispatch(self, b: Bound, variables: dict[str, str], request: Request, rid: str) -> Response:
        headers = request.headers
        metadata: list[tuple[str, str]] = [("x-request-id", rid)]
        authorization = headers.get("authorization")
        if not authorization:
            cookie = request.cookies.get("access_token")
            if cookie:
                authorization = f"Bearer {cookie}"
        if b.webhook_field:
            metadata.append(("authorization", self.service_tokens.authorization()))
            for key, value in headers.items():
                if key.startswith(WEBHOOK_HEADER_PREFIXES):
                    if not ascii_header_value(value):
                        return error_response(400, f"Invalid {key} header", rid)
                    metadata.append((key, value))
        elif b.public:
            if authorization:
                if not ascii_header_value(authorization):
                    return error_response(401, {"error": "unauthorized", "message": "Invalid token"}, rid,
                                          {"www-authenticate": "Bearer"})
                metadata.append(("authorization", authorization))
        else:
            try:
                self.verifier.verify_header(authorization)
            except errors.Unauthenticated as exc:
                detail = SIGN_IN_REQUIRED if exc.reason == "TOKEN_MISSING" else {
                    "error": "unauthorized", "message": exc.message}
                return error_response(401, detail, rid, {"www-authenticate": "Bearer"})
            metadata.append(("authorization", authorization))

        body = b""
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            body = await read_body(request)
            if body is None:
                return error_response(413, "Request body too large", rid)

        if pan_guard.applies(request.url.path) and pan_guard.violates(
                request.url.path, request.query_params.multi_items(), body):
            pan_guard.REJECTIONS.inc()
            return error_response(400, pan_guard.SENSITIVE_DATA_MESSAGE, rid)

        msg = b.request_cls()
        route = b.route
        try:
            if b.webhook_field:
                hb = getattr(msg, b.webhook_field)
                hb.content_type = headers.get("content-type", "")
                hb.data = body
            elif route.body and body.strip():
                try:
                    obj = orjson.loads(body)
                except orjson.JSONDecodeError:
                    return error_response(400, "Malformed JSON body", rid)
                if route.body == "*":
                    codec.from_json_obj(obj, msg)
                    if b.update_mask and isinstance(obj, dict) and not msg.update_mask.paths:
                        msg.update_mask.paths.extend(codec.mask_paths(obj, msg.DESCRIPTOR))
                else:
                    codec.from_json_obj(obj, msg, route.body)
            for field_path, value in variables.items():
                if not set_param(msg, field_path, [value]):
                    return error_response(400, f"Invalid path parameter {field_path}", rid)
            # webhooks: the provider's URL is fixed, a query string must not steer the handler
            if request.query_params and route.body != "*" and not b.webhook_field:
                bound_fields = set(variables)
                for key in request.query_params.keys():
                    if key in bound_fields or (route.body and key.split(".")[0] == route.body):
                        continue
                    set_param(msg, key, request.query_params.getlist(key))
        except codec.DecodeError as exc:
            return error_response(400, str(exc), rid)
        except (ValueError, TypeError) as exc:
            return error_response(400, f"Invalid parameter value: {exc}", rid)
        if b.has_request_id and not msg.request_id:
            key = headers.get("idempotency-key")
            if key:
                msg.request_id = key

        try:
            call = b.call(msg, timeout=self.timeout_s, metadata=tuple(metadata))
            response = await call
            trailing = await call.trailing_metadata()
        except grpc.aio.AioRpcError as exc:
            return self._grpc_error(exc, rid)

        out_headers = {"x-request-id": rid}
        status = 200
        for key, value in trailing or ():
            if key == "x-http-status":
                status = int(value)
            elif key == "location":
                out_headers["location"] = value
        content = codec.to_json_obj(response, route.response_body)
        return JSONResponse(content, status_code=status, headers=out_headers)

    def _grpc_error(self, exc: grpc.aio.AioRpcError, rid: str) -> Response:
        code = exc.code()
        info = errors.error_info_from_trailers(exc.trailing_metadata())
        status = errors.HTTP_STATUS.get(code, 500)
        detail: Any = exc.details() or code.name
        headers: dict[str, str] = {}
        if info is not None:
            if "http_status" in info.metadata:
                try:
                    status = int(info.metadata["http_status"])
                except ValueError:
                    pass
            if "detail_json" in info.metadata:
                try:
                    detail = json.loads(info.metadata["detail_json"])
                except ValueError:
                    pass
            if "retry_after" in info.metadata:
                headers["retry-after"] = info.metadata["retry_after"]
        if code == grpc.StatusCode.UNAVAILABLE and info is None:
            detail = "Service temporarily unavailable"
        elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
            detail = "Upstream timed out"
        elif status >= 500 and code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNIMPLEMENTED):
            status, detail = 500, "Internal server error"
        elif code == grpc.StatusCode.UNIMPLEMENTED:
            detail = "Not implemented yet"
        if code == grpc.StatusCode.UNAUTHENTICATED and info is not None and "http_status" not in info.metadata:
            detail = {"error": "unauthorized", "message": exc.details() or "Sign in required"}
        return error_response(status, detail, rid, headers)


def build_app(gw: Gateway, *, cors_origins: list[str] | None = None,
              cors_origin_regex: str | None = None, docs_dir: pathlib.Path | None = None) -> Edge:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        states = await gw.readiness()
        ready = all(s == "SERVING" for s in states.values())
        body = {"status": "ready" if ready else "not_ready", "upstreams": states}
        if not ready:
            body["detail"] = "Upstream services are not all serving"
        return JSONResponse(body, status_code=200 if ready else 503)

    openapi_doc: list[bytes] = []

    async def openapi(_: Request) -> Response:
        if not openapi_doc:  # built once, on first use
            from gateway.openapi import document

            openapi_doc.append(orjson.dumps(document(gw.router.routes)))
        return Response(openapi_doc[0], media_type="application/json")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    routes = [
        StarletteRoute("/healthz", healthz, methods=["GET"]),
        StarletteRoute("/readyz", readyz, methods=["GET"]),
        StarletteRoute("/openapi.json", openapi, methods=["GET"]),
        *docs_routes(docs_dir),
        StarletteRoute("/{path:path}", gw.handle, methods=methods + ["OPTIONS"]),
    ]

    async def lifespan(app):
        await gw.start()
        yield
        await gw.stop()

    async def http_error(request: Request, exc: HTTPException) -> Response:
        # Starlette's own 404/405 (paths no route pattern can match, e.g. with a newline) as JSON
        return error_response(exc.status_code, exc.detail, clean_request_id(request.headers.get("x-request-id")),
                              dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled gateway error", exc_info=exc)
        return error_response(500, "Internal server error", clean_request_id(request.headers.get("x-request-id")),
                              {**SECURITY_HEADERS, "content-security-policy": API_CSP})

    from contextlib import asynccontextmanager

    site = Starlette(routes=routes, lifespan=asynccontextmanager(lifespan),
                     exception_handlers={HTTPException: http_error, Exception: unexpected})
    return Edge(ApiFastPath(gw, site), allow_origins=cors_origins or [], allow_origin_regex=cors_origin_regex,
                allow_credentials=True, allow_methods=methods + ["OPTIONS"],
                allow_headers=["authorization", "content-type", "idempotency-key", "x-request-id"],
                expose_headers=["x-request-id", "retry-after"])


API_PREFIXES = ("/v1/", "/api/")


class ApiFastPath:
    """REST API paths go straight to ``Gateway.handle``, which routes them itself; the rest (health,
    OpenAPI, the docs page, lifespan) is the Starlette app's. Starlette's router, endpoint wrapper and
    exception middlewares would add nothing to an API call but their cost (P1, docs/performance.md);
    an unexpected error still becomes the same JSON 500."""

    def __init__(self, gw: Gateway, site: Starlette) -> None:
        self.gw, self.site = gw, site

    async def __call__(self, scope, receive, send) -> None:
        # a path with a newline is no API route: the site's router answers it with its JSON 404
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES) or "\n" in scope["path"]:
            await self.site(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.gw.handle(request)
        except Exception as exc:  # noqa: BLE001 — the API's one place unexpected errors become a 500
            log.exception("unhandled gateway error", exc_info=exc)
            response = error_response(500, "Internal server error",
                                      clean_request_id(request.headers.get("x-request-id")))
        await response(scope, receive, send)
