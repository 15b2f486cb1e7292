"""The one server interceptor chain of every service: request id, auth, error mapping, structured
logs and metrics — done in a single wrapper per RPC to keep the hot path short."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection

import grpc

from kit import errors
from kit.auth import Principal, TokenVerifier
from kit.context import new_request_id, principal_var, request_id_var, trailers_var
from kit.metrics import RPC_HANDLED, RPC_LATENCY

log = logging.getLogger("kit.rpc")

# Codes that describe a caller's mistake: logged at INFO, not as errors.
_CLIENT_CODES = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.ABORTED, grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.OUT_OF_RANGE,
})


class KitServerInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every unary RPC of the ``nerava.*`` services.

    - ``x-request-id``: taken from the caller or created; returned in trailing metadata.
    - auth: a valid bearer JWT is required unless the method is in ``public_methods``
      (full names, ``/nerava.telemetry.v1.TelemetryService/TeslaLogin``); the caller is in
      ``kit.context.principal_var``. Role and ownership checks belong to the use cases.
    - errors: ``DomainError`` → its gRPC status (with ``google.rpc.ErrorInfo``); anything unexpected
      → INTERNAL "Internal server error" (the exception is logged, never sent).
    - logs and metrics by service, method and code.
    """

    def __init__(self, verifier: TokenVerifier, public_methods: Collection[str] = ()) -> None:
        self._verifier = verifier
        self._public = frozenset(public_methods)
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails):
        method = details.method
        cached = self._wrapped.get(method)
        if cached is not None:
            return cached
        handler = await continuation(details)
        if handler is None or not method.startswith("/nerava.") or handler.unary_unary is None:
            return handler
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = wrapped
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        inner = handler.unary_unary
        _, service, name = method.split("/")
        public = method in self._public
        verifier = self._verifier
        handled = {code: RPC_HANDLED.labels(service, name, code.name) for code in grpc.StatusCode}
        latency = RPC_LATENCY.labels(service, name)

        async def call(request, context: grpc.aio.ServicerContext):
            started = time.perf_counter()
            metadata = context.invocation_metadata() or ()
            rid = None
            authorization = None
            for key, value in metadata:
                if key == "x-request-id":
                    rid = value
                elif key == "authorization":
                    authorization = value
            rid = rid or new_request_id()
            rid_token = request_id_var.set(rid)
            trailers: list[tuple[str, str]] = [("x-request-id", rid)]
            trailers_token = trailers_var.set(trailers)
            principal_token = None
            code = grpc.StatusCode.OK
            try:
                principal: Principal | None = None
                if authorization or not public:
                    try:
                        principal = verifier.verify_header(authorization)
                    except errors.Unauthenticated:
                        if not public:
                            raise
                principal_token = principal_var.set(principal)
                return await inner(request, context)
            except errors.DomainError as exc:
                code = exc.code
                context.set_trailing_metadata(tuple(trailers))
                await context.abort_with_status(exc.to_status())
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except NotImplementedError:  # the generated servicer base for RPCs not built yet
                code = grpc.StatusCode.UNIMPLEMENTED
                context.set_trailing_metadata(tuple(trailers))
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not implemented yet")
            except Exception:  # noqa: BLE001 — the one place unexpected errors become INTERNAL
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error", extra={"rpc": method})
                context.set_trailing_metadata(tuple(trailers))
                await context.abort(grpc.StatusCode.INTERNAL, "Internal server error")
            finally:
                if code is grpc.StatusCode.OK:
                    context.set_trailing_metadata(tuple(trailers))
                elapsed = time.perf_counter() - started
                handled[code].inc()
                latency.observe(elapsed)
                if code is not grpc.StatusCode.OK:
                    level = logging.INFO if code in _CLIENT_CODES else logging.ERROR
                    log.log(level, "rpc failed", extra={"rpc": method, "code": code.name,
                                                        "ms": round(elapsed * 1000, 2)})
                elif log.isEnabledFor(logging.DEBUG):
                    log.debug("rpc ok", extra={"rpc": method, "ms": round(elapsed * 1000, 2)})
                if principal_token is not None:
                    principal_var.reset(principal_token)
                trailers_var.reset(trailers_token)
                request_id_var.reset(rid_token)

        return grpc.unary_unary_rpc_method_handler(
            call,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def current_principal() -> Principal:
    principal = principal_var.get()
    if principal is None:
        raise errors.Unauthenticated("Sign in required", reason="TOKEN_MISSING")
    return principal  # type: ignore[return-value]


def require_roles(*roles: str, message: str = "Permission denied") -> Principal:
    """The caller, if it has one of ``roles``; otherwise PERMISSION_DENIED with ``message``."""
    principal = current_principal()
    if not principal.has_any(*roles):
        raise errors.PermissionDenied(message, reason="ROLE_REQUIRED")
    return principal
