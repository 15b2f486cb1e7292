"""Prometheus metrics: RPC count, latency and errors by method and code; an HTTP /metrics port."""
from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, start_http_server

log = logging.getLogger(__name__)

RPC_HANDLED = Counter(
    "grpc_server_handled_total", "RPCs completed, by service, method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
RPC_LATENCY = Histogram(
    "grpc_server_handling_seconds", "RPC handling latency.", ["grpc_service", "grpc_method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_REQUESTS = Counter(
    "http_requests_total", "Gateway HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "Gateway HTTP request latency.", ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_DELIVERED = Counter("outbox_delivered_total", "Outbox events delivered.", ["topic"])
OUTBOX_FAILED = Counter("outbox_delivery_failures_total", "Outbox delivery attempts that failed.", ["topic"])
JOB_RUNS = Counter("job_runs_total", "Background job runs.", ["job", "outcome"])


def serve_metrics(port: int) -> int:
    """Start the /metrics HTTP endpoint; port 0 disables it. Returns the port."""
    if port <= 0:
        return 0
    try:
        start_http_server(port, addr="0.0.0.0")
    except OSError as exc:
        log.warning("metrics port unavailable", extra={"port": port, "error": str(exc)})
        return 0
    return port
