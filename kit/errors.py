"""Typed domain errors and their one mapping to gRPC status codes (with google.rpc details).

Use cases raise these; the kit's interceptor turns them into a gRPC status whose message becomes
the REST ``detail``. ``http_status`` (sent as ``google.rpc.ErrorInfo`` metadata) lets a service ask
the gateway for a REST status other than the default mapping, where a spec table requires it.
"""
from __future__ import annotations

import json
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "nerava.network"


class DomainError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        http_status: int | None = None,
        detail: Any = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.http_status = http_status
        # An object detail for REST (e.g. {"status":"error","reason":...}); JSON-encoded in metadata.
        self.detail = detail
        self.metadata = dict(metadata or {})

    def to_status(self) -> grpc.Status:
        meta = dict(self.metadata)
        if self.http_status is not None:
            meta["http_status"] = str(self.http_status)
        if self.detail is not None:
            meta["detail_json"] = json.dumps(self.detail, separators=(",", ":"))
        info = error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=meta)
        detail = any_pb2.Any()
        detail.Pack(info)
        status = status_pb2.Status(code=self.code.value[0], message=self.message, details=[detail])
        return rpc_status.to_status(status)


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class Aborted(DomainError):
    code = grpc.StatusCode.ABORTED
    default_reason = "ABORTED"


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(DomainError):
    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"


# gRPC code -> REST status: the one mapping for all services (ARCHITECTURE §3).
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def error_info_from_trailers(trailing_metadata) -> error_details_pb2.ErrorInfo | None:
    """Extract the ErrorInfo a service attached (``grpc-status-details-bin``), if any."""
    if not trailing_metadata:
        return None
    for key, value in trailing_metadata:
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for d in status.details:
                if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    d.Unpack(info)
                    return info
    return None


__all__ = [
    "DomainError", "InvalidArgument", "FailedPrecondition", "NotFound", "AlreadyExists", "Aborted",
    "PermissionDenied", "Unauthenticated", "ResourceExhausted", "Unavailable", "HTTP_STATUS",
    "error_info_from_trailers", "code_pb2",
]
