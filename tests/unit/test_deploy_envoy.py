"""deploy/envoy: every sidecar config is a valid ``envoy.config.bootstrap.v3.Bootstrap`` (Envoy's
own protos from ``xds-protos``), matches its renderer, and carries the policy of ADR 0062."""
from __future__ import annotations

import importlib
import pathlib
import re

import pytest
import yaml
from google.api import annotations_pb2
from google.protobuf import any_pb2, descriptor_pb2, json_format

# Envoy's bootstrap and every extension the configs name in a typed_config (they must be
# registered in the descriptor pool for json_format to resolve the Any fields).
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.extensions.access_loggers.stream.v3 import stream_pb2 as _stream  # noqa: F401
from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2 as _router  # noqa: F401
from envoy.extensions.filters.network.http_connection_manager.v3 import http_connection_manager_pb2 as hcm_pb2
from envoy.extensions.retry.host.previous_hosts.v3 import previous_hosts_pb2 as _prev  # noqa: F401
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENVOY = ROOT / "deploy" / "envoy"
render_envoy = importlib.import_module("scripts.render_envoy")
FILES = sorted(ENVOY.glob("*.yaml")) + sorted((ENVOY / "mtls").glob("*.yaml"))
CONFIGS = [p for p in FILES if p.name != "kustomization.yaml"]
MUTATING_VERBS = {"post", "put", "patch", "delete"}


def parse(path: pathlib.Path) -> bootstrap_pb2.Bootstrap:
    return json_format.ParseDict(yaml.safe_load(path.read_text()), bootstrap_pb2.Bootstrap())


def unpack(msg: any_pb2.Any, cls):
    out = cls()
    assert msg.Unpack(out), f"{msg.type_url} is not {cls.DESCRIPTOR.full_name}"
    return out


def hcm(listener) -> hcm_pb2.HttpConnectionManager:
    (chain,) = listener.filter_chains
    (f,) = chain.filters
    return unpack(f.typed_config, hcm_pb2.HttpConnectionManager)


def methods() -> dict[str, dict[str, str | None]]:
    """service full name → {method name: HTTP verb of its google.api.http binding or None}."""
    fds = descriptor_pb2.FileDescriptorSet.FromString((ROOT / "nerava" / "descriptors.binpb").read_bytes())
    out: dict[str, dict[str, str | None]] = {}
    for f in fds.file:
        for s in f.service:
            out[f"{f.package}.{s.name}"] = {
                m.name: m.options.Extensions[annotations_pb2.http].WhichOneof("pattern") for m in s.method}
    return out


def test_there_is_a_plain_and_an_mtls_config_per_process():
    names = set(render_envoy.PEERS)
    assert {p.stem for p in CONFIGS if p.parent == ENVOY} == names
    assert {p.stem for p in CONFIGS if p.parent.name == "mtls"} == names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ENVOY)))
def test_config_is_a_valid_bootstrap(path):
    boot = parse(path)
    assert boot.admin.address.socket_address.address == "127.0.0.1", "admin only on localhost"
    names = [l.name for l in boot.static_resources.listeners]
    assert len(names) == len(set(names))
    ports = [l.address.socket_address.port_value for l in boot.static_resources.listeners]
    assert len(ports) == len(set(ports)) and boot.admin.address.socket_address.port_value not in ports
    clusters = {c.name for c in boot.static_resources.clusters}
    for listener in boot.static_resources.listeners:
        for vh in hcm(listener).route_config.virtual_hosts:
            for r in vh.routes:
                assert r.route.cluster in clusters, f"{listener.name} routes to unknown cluster {r.route.cluster}"


def test_unknown_fields_and_unregistered_types_are_rejected():
    """Negative controls: the conversion above is strict."""
    doc = yaml.safe_load((ENVOY / "wallet.yaml").read_text())
    doc["static_resources"]["clusters"][0]["conect_timeout"] = "1s"
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(doc, bootstrap_pb2.Bootstrap())
    doc = yaml.safe_load((ENVOY / "wallet.yaml").read_text())
    doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["@type"] = \
        "type.googleapis.com/envoy.extensions.filters.network.not_a_filter.v3.Nope"
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(doc, bootstrap_pb2.Bootstrap())


def test_committed_configs_match_the_renderer():
    assert render_envoy.main(["--check"]) == 0, "run scripts/render_envoy.py and commit"
    for path, text in render_envoy.files().items():
        assert path.read_text() == text


def test_retries_only_on_reads_whose_methods_exist_and_are_not_mutating():
    svc_methods = methods()
    for name, peers in render_envoy.PEERS.items():
        boot = parse(ENVOY / f"{name}.yaml")
        outbound = {l.name: l for l in boot.static_resources.listeners if l.name.startswith("outbound_")}
        assert set(outbound) == {f"outbound_{p}" for p in peers}
        for peer in peers:
            full = render_envoy.SERVICES[peer][0]
            routes = list(hcm(outbound[f"outbound_{peer}"]).route_config.virtual_hosts[0].routes)
            assert [r.name for r in routes] == ["reads", "health", "writes"]
            reads, health, writes = routes
            rx = re.compile(reads.match.safe_regex.regex)
            retried = {m for m in svc_methods[full] if rx.fullmatch(f"/{full}/{m}")}
            assert retried, f"{peer}: the read route matches no method"
            for m in retried:
                assert svc_methods[full][m] not in MUTATING_VERBS, f"{full}/{m} is retried but bound to a mutating verb"
                assert m.startswith(render_envoy.READ_METHOD_PREFIXES)
            for m, verb in svc_methods[full].items():
                if verb in MUTATING_VERBS:
                    assert m not in retried
            assert not rx.fullmatch(f"/{full}/Credit") and not rx.fullmatch(f"/other.Service/GetX")
            assert health.match.path == "/grpc.health.v1.Health/Check"
            for r in (reads, health):
                rp = r.route.retry_policy
                assert set(rp.retry_on.split(",")) == {"unavailable", "connect-failure", "refused-stream"}
                assert 1 <= rp.num_retries.value <= 3 and rp.per_try_timeout.ToMilliseconds() > 0
                assert r.route.timeout.ToMilliseconds() >= rp.per_try_timeout.ToMilliseconds()
            assert writes.match.prefix == "/" and not writes.route.HasField("retry_policy")
            for r in (reads, writes):
                assert r.route.timeout.ToMilliseconds() > 0
                assert r.route.max_stream_duration.grpc_timeout_header_max.ToSeconds() > 0


def test_peer_clusters_have_circuit_breaking_outlier_detection_and_health_checks():
    for name, peers in render_envoy.PEERS.items():
        boot = parse(ENVOY / f"{name}.yaml")
        clusters = {c.name: c for c in boot.static_resources.clusters}
        for peer in peers:
            c = clusters[peer]
            ep = c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
            assert (ep.address, ep.port_value) == (peer, render_envoy.INBOUND_PORT)
            (th,) = c.circuit_breakers.thresholds
            assert th.max_connections.value and th.max_pending_requests.value and th.max_requests.value
            assert th.retry_budget.budget_percent.value > 0
            od = c.outlier_detection
            assert od.consecutive_5xx.value and od.base_ejection_time.seconds and 0 < od.max_ejection_percent.value <= 50
            (hc,) = c.health_checks
            assert hc.HasField("grpc_health_check")
            opts = unpack(c.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"],
                          http_protocol_options_pb2.HttpProtocolOptions)
            assert opts.explicit_http_config.HasField("http2_protocol_options")
            assert c.connect_timeout.ToMilliseconds() > 0
        local = clusters["local_app"]
        ep = local.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
        port = 8080 if name == "gateway" else render_envoy.SERVICES[name][1]
        assert (ep.address, ep.port_value) == ("127.0.0.1", port)
        assert local.circuit_breakers.thresholds[0].max_requests.value


def test_inbound_is_rate_limited_and_times_out():
    for name in render_envoy.PEERS:
        boot = parse(ENVOY / f"{name}.yaml")
        inbound = next(l for l in boot.static_resources.listeners if l.name == "inbound")
        assert inbound.address.socket_address.port_value == render_envoy.INBOUND_PORT
        manager = hcm(inbound)
        assert [f.name for f in manager.http_filters] == ["envoy.filters.http.local_ratelimit", "envoy.filters.http.router"]
        rl = unpack(manager.http_filters[0].typed_config, local_rate_limit_pb2.LocalRateLimit)
        assert rl.token_bucket.max_tokens == render_envoy.RATE_LIMIT_RPS[name]
        assert rl.filter_enforced.default_value.numerator == 100 and rl.rate_limited_as_resource_exhausted
        (route,) = manager.route_config.virtual_hosts[0].routes
        assert route.route.cluster == "local_app" and route.route.timeout.seconds > 0
        assert manager.request_headers_timeout.seconds > 0 and manager.stream_idle_timeout.seconds > 0
        ready = next(l for l in boot.static_resources.listeners if l.name == "ready")
        assert ready.address.socket_address.port_value == render_envoy.READY_PORT
        (r,) = hcm(ready).route_config.virtual_hosts[0].routes
        assert r.match.path == "/ready" and r.route.cluster == "envoy_admin"


def test_mtls_variant_requires_and_presents_certificates():
    for name, peers in render_envoy.PEERS.items():
        plain, mtls = parse(ENVOY / f"{name}.yaml"), parse(ENVOY / "mtls" / f"{name}.yaml")
        inbound = next(l for l in mtls.static_resources.listeners if l.name == "inbound")
        if name == "gateway":
            assert not inbound.filter_chains[0].HasField("transport_socket")
        else:
            ctx = unpack(inbound.filter_chains[0].transport_socket.typed_config, tls_pb2.DownstreamTlsContext)
            assert ctx.require_client_certificate.value
            assert ctx.common_tls_context.validation_context.trusted_ca.filename.startswith(render_envoy.TLS_DIR)
        clusters = {c.name: c for c in mtls.static_resources.clusters}
        for peer in peers:
            up = unpack(clusters[peer].transport_socket.typed_config, tls_pb2.UpstreamTlsContext)
            assert up.sni == peer and up.common_tls_context.tls_certificates[0].private_key.filename
            assert [m.matcher.exact for m in up.common_tls_context.validation_context.match_typed_subject_alt_names] == [peer]
        assert not any(c.HasField("transport_socket") for c in plain.static_resources.clusters)
