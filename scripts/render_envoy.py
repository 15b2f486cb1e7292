"""Render the Envoy sidecar configs in deploy/envoy/ (one bootstrap per process; plain and mTLS).

    .venv/bin/python scripts/render_envoy.py          # rewrite deploy/envoy/*.yaml
    .venv/bin/python scripts/render_envoy.py --check  # exit 1 if a committed file differs

Every pod (and every compose service) has the same layout, so the files differ only in names,
the app port, the peers and the rate limit:

    0.0.0.0:10000  inbound   → 127.0.0.1:<app port>   (local rate limit; TLS with --mtls)
    0.0.0.0:15021  /ready    → Envoy admin /ready     (the sidecar's readiness probe)
    127.0.0.1:1505x outbound → <peer>:10000           (one listener per peer the process calls:
                                                       timeouts, retries for reads only, circuit
                                                       breaking, outlier detection, gRPC health checks)
    127.0.0.1:9901 admin

The peers follow ARCHITECTURE §11 (who calls whom). The app reaches a peer at
``<PEER>_GRPC_ADDR=127.0.0.1:<outbound port>``. tests/unit/test_deploy_envoy.py converts every file
into ``envoy.config.bootstrap.v3.Bootstrap`` and re-renders to catch drift.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "deploy" / "envoy"

SERVICES = {  # context → (gRPC package.Service, app gRPC port)
    "telemetry": ("nerava.telemetry.v1.TelemetryService", 50051),
    "incentives": ("nerava.incentives.v1.IncentivesService", 50052),
    "wallet": ("nerava.wallet.v1.WalletService", 50053),
    "clo": ("nerava.clo.v1.CloService", 50054),
}
GATEWAY_PORT = 8080
INBOUND_PORT = 10000
READY_PORT = 15021
ADMIN_PORT = 9901
OUTBOUND_PORTS = {"telemetry": 15051, "incentives": 15052, "wallet": 15053, "clo": 15054}

# Who calls whom (ARCHITECTURE §11: outbox deliveries and synchronous reads).
PEERS = {
    "gateway": ["telemetry", "incentives", "wallet", "clo"],
    "telemetry": ["incentives"],
    "incentives": ["telemetry", "wallet"],
    "wallet": ["incentives"],
    "clo": ["wallet", "telemetry"],
}
# Requests per second per pod admitted by the inbound local rate limit (token bucket, 1 s fill).
# Telemetry takes the polling traffic (ARCHITECTURE §9: ~17k polls/s at peak across replicas).
RATE_LIMIT_RPS = {"gateway": 2000, "telemetry": 2000, "incentives": 1000, "wallet": 500, "clo": 500}

# Reads: the only methods whose retries are safe whatever the server did (RPC names are
# verb-first; tests check the set against the descriptors: none of them is bound to a mutating
# HTTP verb). The standard health check is a read too.
READ_METHOD_PREFIXES = ("Get", "List", "Find", "BatchGet")

TLS_DIR = "/etc/envoy/tls"
TYPE = "@type"


def read_route_regex(full_service: str) -> str:
    escaped = full_service.replace(".", r"\.")
    return rf"^/{escaped}/({'|'.join(READ_METHOD_PREFIXES)})[A-Za-z0-9]*$"


def _addr(host: str, port: int) -> dict:
    return {"socket_address": {"address": host, "port_value": port}}


def _http2_options() -> dict:
    return {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        TYPE: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {
            "max_concurrent_streams": 1000,
            "connection_keepalive": {"interval": "30s", "timeout": "5s"},
        }},
    }}


def _access_log() -> list[dict]:
    return [{"name": "envoy.access_loggers.stdout", "typed_config": {
        TYPE: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
        "log_format": {"json_format": {
            "time": "%START_TIME%", "method": "%REQ(:PATH)%", "status": "%RESPONSE_CODE%",
            "grpc_status": "%GRPC_STATUS(NUMBER)%", "flags": "%RESPONSE_FLAGS%",
            "duration_ms": "%DURATION%", "upstream": "%UPSTREAM_HOST%",
            "request_id": "%REQ(X-REQUEST-ID)%",
        }},
    }}]


def _hcm(stat_prefix: str, route_config: dict, http_filters: list[dict], *, grpc: bool) -> dict:
    hcm = {
        TYPE: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": stat_prefix,
        "codec_type": "AUTO",
        "route_config": route_config,
        "http_filters": [*http_filters, {"name": "envoy.filters.http.router", "typed_config": {
            TYPE: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
        "access_log": _access_log(),
        "common_http_protocol_options": {"idle_timeout": "300s"},
        "stream_idle_timeout": "300s",
        "request_headers_timeout": "10s",
        "use_remote_address": False,
        "generate_request_id": True,
        "preserve_external_request_id": True,
    }
    if grpc:
        hcm["http2_protocol_options"] = {"max_concurrent_streams": 1000}
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}


def _local_rate_limit(stat_prefix: str, rps: int) -> dict:
    return {"name": "envoy.filters.http.local_ratelimit", "typed_config": {
        TYPE: "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "stat_prefix": stat_prefix,
        "token_bucket": {"max_tokens": rps, "tokens_per_fill": rps, "fill_interval": "1s"},
        "filter_enabled": {"runtime_key": "local_rate_limit_enabled",
                           "default_value": {"numerator": 100, "denominator": "HUNDRED"}},
        "filter_enforced": {"runtime_key": "local_rate_limit_enforced",
                            "default_value": {"numerator": 100, "denominator": "HUNDRED"}},
        # gRPC callers see RESOURCE_EXHAUSTED (→ REST 429 at the gateway), not UNAVAILABLE
        "rate_limited_as_resource_exhausted": True,
        "response_headers_to_add": [{"append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                     "header": {"key": "x-local-rate-limit", "value": "true"}}],
    }}


def _tls_certs() -> dict:
    return {"tls_certificates": [{
        "certificate_chain": {"filename": f"{TLS_DIR}/tls.crt"},
        "private_key": {"filename": f"{TLS_DIR}/tls.key"},
    }], "validation_context": {"trusted_ca": {"filename": f"{TLS_DIR}/ca.crt"}}}


def _downstream_tls() -> dict:
    return {"name": "envoy.transport_sockets.tls", "typed_config": {
        TYPE: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "require_client_certificate": True,
        "common_tls_context": {**_tls_certs(), "alpn_protocols": ["h2"]},
    }}


def _upstream_tls(peer: str) -> dict:
    ctx = _tls_certs()
    ctx["validation_context"]["match_typed_subject_alt_names"] = [
        {"san_type": "DNS", "matcher": {"exact": peer}}]
    return {"name": "envoy.transport_sockets.tls", "typed_config": {
        TYPE: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "sni": peer,
        "common_tls_context": {**ctx, "alpn_protocols": ["h2"]},
    }}


def inbound_listener(name: str, mtls: bool) -> dict:
    is_gateway = name == "gateway"
    route = {"prefix": "/"}
    action = {"cluster": "local_app", "timeout": "15s"}
    if not is_gateway:
        # the caller's grpc-timeout header sets the deadline (up to 15 s)
        action["max_stream_duration"] = {"grpc_timeout_header_max": "15s"}
    chain = {"filters": [_hcm(f"inbound_{name}", {
        "name": "inbound", "virtual_hosts": [{"name": "local_app", "domains": ["*"],
                                              "routes": [{"match": route, "route": action}]}],
    }, [_local_rate_limit(f"inbound_{name}_rl", RATE_LIMIT_RPS[name])], grpc=not is_gateway)]}
    if mtls and not is_gateway:  # the gateway's inbound is the public HTTP edge (TLS ends at the LB)
        chain["transport_socket"] = _downstream_tls()
    return {"name": "inbound", "address": _addr("0.0.0.0", INBOUND_PORT), "filter_chains": [chain]}


def ready_listener() -> dict:
    return {"name": "ready", "address": _addr("0.0.0.0", READY_PORT), "filter_chains": [{"filters": [
        {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
            TYPE: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "ready",
            "route_config": {"name": "ready", "virtual_hosts": [{"name": "ready", "domains": ["*"], "routes": [
                {"match": {"path": "/ready"}, "route": {"cluster": "envoy_admin", "timeout": "2s"}}]}]},
            "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                TYPE: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
        }}]}]}


def outbound_listener(peer: str) -> dict:
    full = SERVICES[peer][0]
    retry = {
        "retry_on": "unavailable,connect-failure,refused-stream",
        "num_retries": 2,
        "per_try_timeout": "2s",
        "retry_back_off": {"base_interval": "0.025s", "max_interval": "0.25s"},
        "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts", "typed_config": {
            TYPE: "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"}}],
        "host_selection_retry_max_attempts": 3,
    }
    stream = {"grpc_timeout_header_max": "30s"}
    routes = [
        {"name": "reads", "match": {"safe_regex": {"regex": read_route_regex(full)}},
         "route": {"cluster": peer, "timeout": "5s", "max_stream_duration": stream, "retry_policy": retry}},
        {"name": "health", "match": {"path": "/grpc.health.v1.Health/Check"},
         "route": {"cluster": peer, "timeout": "2s", "retry_policy": retry}},
        # everything else mutates: no retries here (the kit's outbox retries with its idempotency key)
        {"name": "writes", "match": {"prefix": "/"},
         "route": {"cluster": peer, "timeout": "10s", "max_stream_duration": stream}},
    ]
    return {"name": f"outbound_{peer}", "address": _addr("127.0.0.1", OUTBOUND_PORTS[peer]),
            "filter_chains": [{"filters": [_hcm(f"outbound_{peer}", {
                "name": f"outbound_{peer}",
                "virtual_hosts": [{"name": peer, "domains": ["*"], "routes": routes}],
            }, [], grpc=True)]}]}


def local_cluster(name: str) -> dict:
    port = GATEWAY_PORT if name == "gateway" else SERVICES[name][1]
    cluster = {
        "name": "local_app", "type": "STATIC", "connect_timeout": "1s",
        "load_assignment": {"cluster_name": "local_app", "endpoints": [
            {"lb_endpoints": [{"endpoint": {"address": _addr("127.0.0.1", port)}}]}]},
        # protects the app process: excess requests queue in Envoy, then fail fast (503)
        "circuit_breakers": {"thresholds": [{"priority": "DEFAULT", "max_connections": 1024,
                                             "max_pending_requests": 1024, "max_requests": 1024,
                                             "max_retries": 3}]},
    }
    if name != "gateway":
        cluster["typed_extension_protocol_options"] = _http2_options()
    return cluster


def peer_cluster(peer: str, mtls: bool) -> dict:
    cluster = {
        "name": peer, "type": "STRICT_DNS", "dns_lookup_family": "V4_ONLY", "dns_refresh_rate": "5s",
        "respect_dns_ttl": True, "connect_timeout": "1s", "lb_policy": "LEAST_REQUEST",
        "load_assignment": {"cluster_name": peer, "endpoints": [
            {"lb_endpoints": [{"endpoint": {"address": _addr(peer, INBOUND_PORT)}}]}]},
        "typed_extension_protocol_options": _http2_options(),
        "circuit_breakers": {"thresholds": [
            {"priority": "DEFAULT", "max_connections": 512, "max_pending_requests": 256,
             "max_requests": 512, "max_retries": 16,
             "retry_budget": {"budget_percent": {"value": 20.0}, "min_retry_concurrency": 3}},
        ]},
        "outlier_detection": {
            "consecutive_5xx": 5, "consecutive_gateway_failure": 3, "interval": "5s",
            "base_ejection_time": "30s", "max_ejection_percent": 50,
            "enforcing_consecutive_5xx": 100, "enforcing_consecutive_gateway_failure": 100,
            "split_external_local_origin_errors": True, "consecutive_local_origin_failure": 3,
        },
        "health_checks": [{"timeout": "1s", "interval": "5s", "unhealthy_threshold": 2,
                           "healthy_threshold": 1, "no_traffic_interval": "30s",
                           "grpc_health_check": {"service_name": ""}}],
        "common_lb_config": {"healthy_panic_threshold": {"value": 25.0}},
    }
    if mtls:
        cluster["transport_socket"] = _upstream_tls(peer)
    return cluster


def admin_cluster() -> dict:
    return {"name": "envoy_admin", "type": "STATIC", "connect_timeout": "0.25s",
            "load_assignment": {"cluster_name": "envoy_admin", "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": _addr("127.0.0.1", ADMIN_PORT)}}]}]}}


def bootstrap(name: str, mtls: bool = False) -> dict:
    return {
        "node": {"id": f"{name}-sidecar", "cluster": name},
        "admin": {"address": _addr("127.0.0.1", ADMIN_PORT)},
        "static_resources": {
            "listeners": [inbound_listener(name, mtls), ready_listener(),
                          *(outbound_listener(p) for p in PEERS[name])],
            "clusters": [local_cluster(name), admin_cluster(), *(peer_cluster(p, mtls) for p in PEERS[name])],
        },
        "layered_runtime": {"layers": [{"name": "static", "static_layer": {
            "overload.global_downstream_max_connections": 10000}}]},
    }


# --------------------------------------------------------------------------------------------------
# The edge alternative to gateway/: Envoy's gRPC-JSON transcoder driven by the same descriptor set
# ---------------------------------------------------------------------------------------------------

EDGE_PORT = 8080
DESCRIPTORS = "/etc/envoy/descriptors.binpb"  # nerava/descriptors.binpb, mounted (compose/k8s ConfigMap)
CORS_ORIGIN_REGEX = r"^https://(app|console|admin|merchant|link)\.nerava\.network$"


def _cors_policy() -> dict:
    return {TYPE: "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
            "allow_origin_string_match": [{"safe_regex": {"regex": CORS_ORIGIN_REGEX}}],
            "allow_methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
            "allow_headers": "authorization, content-type, idempotency-key, x-request-id",
            "expose_headers": "x-request-id, retry-after",
            "allow_credentials": True, "max_age": "600"}


def edge_bootstrap() -> dict:
    """The edge listener: CORS first, then the transcoder (snake_case JSON, every field printed,
    gRPC status → HTTP status, unknown methods and query parameters rejected), then the router to the
    four services' inbound sidecars. JWTs are still checked by every service's interceptor."""
    transcoder = {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": {
        TYPE: "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
        "proto_descriptor": DESCRIPTORS,
        "services": [full for full, _ in SERVICES.values()],
        "print_options": {"add_whitespace": False, "always_print_primitive_fields": True,
                          "always_print_enums_as_ints": False, "preserve_proto_field_names": True},
        "convert_grpc_status": True,
        "request_validation_options": {"reject_unknown_method": True, "reject_unknown_query_parameters": True},
        "max_request_body_size": 10 * 1024 * 1024,
    }}
    cors = {"name": "envoy.filters.http.cors", "typed_config": {
        TYPE: "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}
    routes = [{"match": {"prefix": f"/{full}/"}, "route": {"cluster": ctx, "timeout": "15s"}}
              for ctx, (full, _) in SERVICES.items()]
    hcm = _hcm("edge", {"name": "edge", "virtual_hosts": [{
        "name": "edge", "domains": ["*"], "routes": routes,
        "typed_per_filter_config": {"envoy.filters.http.cors": _cors_policy()},
    }]}, [cors, transcoder], grpc=False)
    hcm["typed_config"]["use_remote_address"] = True
    return {
        "node": {"id": "edge", "cluster": "edge"},
        "admin": {"address": _addr("127.0.0.1", ADMIN_PORT)},
        "static_resources": {
            "listeners": [{"name": "edge", "address": _addr("0.0.0.0", EDGE_PORT), "filter_chains": [
                {"filters": [hcm]}]}, ready_listener()],
            "clusters": [admin_cluster(), *(peer_cluster(ctx, False) for ctx in SERVICES)],
        },
    }


def render(name: str, mtls: bool = False) -> str:
    variant = " (mTLS: certificates in /etc/envoy/tls)" if mtls else ""
    head = (f"# Envoy sidecar of {name}{variant}.\n"
            "# GENERATED by scripts/render_envoy.py — edit the script, then re-run it. Do not edit.\n")
    return head + yaml.safe_dump(bootstrap(name, mtls), sort_keys=False, width=120)


def files() -> dict[pathlib.Path, str]:
    out = {}
    for name in PEERS:
        out[OUT / f"{name}.yaml"] = render(name)
        out[OUT / "mtls" / f"{name}.yaml"] = render(name, mtls=True)
    out[OUT / "edge" / "edge.yaml"] = (
        "# Envoy edge: REST/JSON → gRPC with grpc_json_transcoder from nerava/descriptors.binpb — the same\n"
        "# contract the Python gateway routes from (an alternative to gateway/, see docs/deploy.md).\n"
        "# GENERATED by scripts/render_envoy.py — edit the script, then re-run it. Do not edit.\n"
        + yaml.safe_dump(edge_bootstrap(), sort_keys=False, width=120))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if a committed file differs")
    args = ap.parse_args(argv)
    stale = []
    for path, text in files().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print("stale Envoy configs (run scripts/render_envoy.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
