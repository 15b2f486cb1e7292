"""The Envoy edge (deploy/envoy/edge/edge.yaml): grpc_json_transcoder from the same descriptor set the
Python gateway routes from, parsed strictly into Envoy's own config protos (xds-protos)."""
from __future__ import annotations

import copy

import pytest
import yaml
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.grpc_json_transcoder.v3 import transcoder_pb2
from google.protobuf import json_format

from tests.unit.test_deploy_envoy import ENVOY, ROOT, hcm, methods, unpack

EDGE = ENVOY / "edge" / "edge.yaml"


def edge_doc() -> dict:
    return yaml.safe_load(EDGE.read_text())


def edge() -> bootstrap_pb2.Bootstrap:
    return json_format.ParseDict(edge_doc(), bootstrap_pb2.Bootstrap())


def edge_hcm():
    (listener,) = [x for x in edge().static_resources.listeners if x.name == "edge"]
    return hcm(listener)


def test_edge_is_a_valid_bootstrap_whose_routes_reach_known_clusters():
    boot = edge()
    clusters = {c.name for c in boot.static_resources.clusters}
    for vh in edge_hcm().route_config.virtual_hosts:
        for r in vh.routes:
            assert r.route.cluster in clusters


def test_cors_runs_first_then_the_transcoder_then_the_router():
    names = [f.name for f in edge_hcm().http_filters]
    assert names == ["envoy.filters.http.cors", "envoy.filters.http.grpc_json_transcoder",
                     "envoy.filters.http.router"]
    (vh,) = edge_hcm().route_config.virtual_hosts
    policy = unpack(vh.typed_per_filter_config["envoy.filters.http.cors"], cors_pb2.CorsPolicy)
    assert policy.allow_credentials.value is True
    assert [m.safe_regex.regex for m in policy.allow_origin_string_match]


def test_transcoder_uses_the_descriptor_set_and_prints_like_the_apps_read():
    f = next(f for f in edge_hcm().http_filters if f.name == "envoy.filters.http.grpc_json_transcoder")
    t = unpack(f.typed_config, transcoder_pb2.GrpcJsonTranscoder)
    # the services it transcodes are exactly the ones in nerava/descriptors.binpb
    assert set(t.services) == {s for s in methods() if s.startswith("nerava.")}
    assert t.proto_descriptor.endswith("descriptors.binpb") and (ROOT / "nerava" / "descriptors.binpb").exists()
    assert t.print_options.preserve_proto_field_names, "snake_case JSON keys, as the REST apps read"
    assert t.print_options.always_print_primitive_fields and not t.print_options.always_print_enums_as_ints
    assert t.convert_grpc_status, "a gRPC error becomes its HTTP status with the status message"
    assert t.request_validation_options.reject_unknown_method
    assert t.request_validation_options.reject_unknown_query_parameters
    assert t.max_request_body_size.value == 10 * 1024 * 1024


def test_every_service_has_a_route_to_its_own_cluster():
    (vh,) = edge_hcm().route_config.virtual_hosts
    prefixes = {r.match.prefix: r.route.cluster for r in vh.routes}
    for full in (s for s in methods() if s.startswith("nerava.")):
        ctx = full.split(".")[1]
        assert prefixes[f"/{full}/"] == ctx


@pytest.mark.parametrize("mutate", [
    lambda d: d["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    ["http_filters"][1]["typed_config"].__setitem__("print_option", {}),          # misspelt field
    lambda d: d["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    ["http_filters"][1]["typed_config"].__setitem__("convert_grpc_status", "yes-please"),  # wrong type
])
def test_a_wrong_field_name_or_type_fails_the_parse(mutate):
    doc = copy.deepcopy(edge_doc())
    mutate(doc)
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(doc, bootstrap_pb2.Bootstrap())
