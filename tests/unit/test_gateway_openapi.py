"""/openapi.json: a valid OpenAPI 3.1 document generated from the protos, with the JSON shapes the
gateway really writes."""
import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from gateway.openapi import NAIVE_TIMESTAMP, document
from gateway.routes import routes_for
from kit.access import PUBLIC_METHODS
from tests.gateway_fakes import CONTEXTS


@pytest.fixture(scope="module")
def doc():
    routes = [r for pb2, _, svc in CONTEXTS.values() for r in routes_for(pb2.DESCRIPTOR.services_by_name[svc])]
    return document(routes)


def schema(doc, ref_or_schema):
    ref = ref_or_schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else ref_or_schema


def response(doc, path, method="get"):
    return doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]


def test_the_document_is_valid_openapi_3_1(doc):
    validate(doc)
    assert list(OpenAPIV31SpecValidator(doc).iter_errors()) == []
    assert doc["openapi"] == "3.1.0"


def test_bearer_auth_scheme_and_which_operations_need_it(doc):
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"]}
    assert doc["paths"]["/v1/wallet/balance"]["get"]["security"] == [{"bearerAuth": []}]
    assert "401" in doc["paths"]["/v1/wallet/balance"]["get"]["responses"]
    assert doc["paths"]["/v1/auth/tesla/callback"]["get"]["security"] == []      # public (T3)
    assert doc["paths"]["/v1/stripe/webhooks"]["post"]["security"] == []         # webhook: signature
    public = {p for p, item in doc["paths"].items() for op in item.values() if op["security"] == []}
    assert len(public) == len(PUBLIC_METHODS) + 7  # 3 public RPC paths + 7 webhook paths


def test_property_names_are_snake_case_everywhere(doc):
    bad = [f"{name}.{prop}" for name, s in doc["components"]["schemas"].items()
           for prop in s.get("properties", {}) if not re.fullmatch(r"[a-z][a-z0-9_]*", prop)]
    assert bad == []


def test_cents_and_counts_are_json_integers_and_optional_cents_are_nullable(doc):
    bal = schema(doc, response(doc, "/v1/wallet/balance"))
    assert bal["properties"]["available_cents"]["type"] == "integer"
    assert bal["properties"]["available_cents"]["format"] == "int32"
    assert set(bal["required"]) == set(bal["properties"])  # every key is always present
    budget = schema(doc, response(doc, "/v1/campaigns/{campaign_id}/budget"))
    assert budget["properties"]["max_sessions"]["type"] == ["integer", "null"]
    for name, s in doc["components"]["schemas"].items():
        for prop, p in s.get("properties", {}).items():
            if prop.endswith("_cents"):
                types = p.get("type") if isinstance(p.get("type"), list) else [p.get("type")]
                assert "integer" in types, f"{name}.{prop} is {p}"


def test_nullable_fields_arrays_and_timestamps(doc):
    status = schema(doc, response(doc, "/v1/auth/tesla/status"))
    assert status["properties"]["battery_level"]["type"] == ["integer", "null"]
    assert status["properties"]["connected"]["type"] == "boolean"
    ledger = schema(doc, response(doc, "/v1/wallet/ledger"))
    entries = ledger["properties"]["entries"]
    assert entries["type"] == "array" and "$ref" in entries["items"]
    entry = schema(doc, entries["items"])
    assert entry["properties"]["created_at"]["type"] == ["string", "null"]
    assert entry["properties"]["created_at"]["pattern"] == NAIVE_TIMESTAMP
    assert re.match(NAIVE_TIMESTAMP, "2026-11-22T12:56:28.010284")
    assert not re.match(NAIVE_TIMESTAMP, "2026-11-22T12:56:28+00:00")


def test_nullable_enums_admit_null(doc):
    for name, s in doc["components"]["schemas"].items():
        for prop, p in s.get("properties", {}).items():
            if "enum" in p and isinstance(p.get("type"), list):
                assert None in p["enum"], f"{name}.{prop}"


def test_bare_array_response_for_ev_codes(doc):
    codes = response(doc, "/v1/auth/tesla/codes")
    assert codes["type"] == "array"
    item = schema(doc, codes["items"])
    assert set(item["properties"]) == {"code", "merchant_name", "expires_at", "status"}


def test_request_bodies_are_optional_keys_and_bodiless_posts_are_allowed(doc):
    op = doc["paths"]["/v1/wallet/withdraw"]["post"]
    body = schema(doc, op["requestBody"]["content"]["application/json"]["schema"])
    assert "required" not in body and "amount_cents" in body["properties"]
    assert op["requestBody"]["required"] is False
    activate = doc["paths"]["/v1/campaigns/{campaign_id}/activate"]["post"]
    assert activate.get("requestBody", {}).get("required", False) is False


def test_query_parameter_bodies_are_documented_as_query_parameters(doc):
    op = doc["paths"]["/v1/wallet/admin/credit"]["post"]
    params = {p["name"]: p for p in op["parameters"]}
    assert {"driver_id", "amount_cents", "reference_type", "description"} <= set(params)
    assert all(p["in"] == "query" for p in params.values())
    assert params["amount_cents"]["schema"]["type"] == "integer"


def test_webhooks_take_raw_bytes_and_no_query_parameters(doc):
    for path in ("/v1/stripe/webhooks", "/v1/clo/fidel/webhooks/{event_type}", "/v1/webhooks/tesla/telemetry"):
        op = doc["paths"][path]["post"]
        assert list(op["requestBody"]["content"]) == ["*/*"]
        assert all(p["in"] == "path" for p in op.get("parameters", []))
        assert "429" not in op["responses"]  # exempt from the edge limits


def test_descriptions_come_from_the_proto_comments(doc):
    op = doc["paths"]["/v1/auth/tesla/codes"]["get"]
    assert "T6" in op["description"]
    assert schema(doc, response(doc, "/v1/auth/tesla/codes")["items"]).get("description")


def test_every_spec_endpoint_is_documented(doc):
    for path in ("/v1/wallet/balance", "/v1/wallet/ledger", "/v1/wallet/history", "/v1/wallet/withdraw",
                 "/v1/wallet/withdraw/fee", "/v1/campaigns/", "/v1/charging-sessions/", "/v1/clo/cards",
                 "/v1/auth/tesla/codes", "/api/v1/admin/users/{user_id}/wallet"):
        assert path in doc["paths"], path
