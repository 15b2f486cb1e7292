"""Contract tests per REST endpoint (table: tests/contract/endpoints.py), through the real gateway
against fake gRPC servicers: the gateway's translation is tested per endpoint, independently of the
services being built. For each endpoint:

- the app's request (path, query, body, headers) reaches the right RPC with the right fields;
- a fully populated reply renders the keys, types and timestamp format the app reads;
- an empty reply renders ``null`` (never 0 or "") for nullable values and ``[]`` for arrays;
- both trailing-slash forms are served; every reply matches the /openapi.json response schema.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from jsonschema import Draft202012Validator

from gateway import codec
from tests.contract.endpoints import (ANY, BODILESS_POSTS, BOOL, ENDPOINTS, INT, NUM, OBJ, STR, TS, Endpoint,
                                      Opt)
from tests.gateway_fakes import bearer, start_harness

NAIVE_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")
BY_ID = {e.id: e for e in ENDPOINTS}
WHEN = dt.datetime(2026, 11, 22, 12, 56, 28, 10284, tzinfo=dt.timezone.utc)


# --- representative replies --------------------------------------------------------------------

def populate(msg: Message, depth: int = 0) -> Message:
    """Every field set to a representative non-default value (one element per repeated field)."""
    for f in msg.DESCRIPTOR.fields:
        if f.message_type is not None:
            name = f.message_type.full_name
            if f.message_type.GetOptions().map_entry:
                continue
            if name in ("google.api.HttpBody", "google.protobuf.FieldMask") or depth > 4:
                continue
            target = getattr(msg, f.name).add() if codec._is_repeated(f) else getattr(msg, f.name)
            if name == "google.protobuf.Timestamp":
                target.FromDatetime(WHEN)
            elif name == "google.protobuf.Struct":
                target.update({"status": "ok", "n": 3, "nested": {"a": [1, "x", None]}})
            elif name in codec._WRAPPERS:
                target.value = _scalar(target.DESCRIPTOR.fields_by_name["value"])
            else:
                populate(target, depth + 1)
        elif codec._is_repeated(f):
            getattr(msg, f.name).append(_scalar(f))
        else:
            setattr(msg, f.name, _scalar(f))
    return msg


def _scalar(f: FieldDescriptor) -> Any:
    t = f.type
    if t == FieldDescriptor.TYPE_STRING:
        return f"{f.name}-\u00e9"
    if t == FieldDescriptor.TYPE_BOOL:
        return True
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return 12.5
    if t == FieldDescriptor.TYPE_ENUM:
        return f.enum_type.values[-1].number
    if t == FieldDescriptor.TYPE_BYTES:
        return b"\x01"
    return 1234


def reply_class(rpc: str):
    from tests.gateway_fakes import CONTEXTS

    for pb2, _, svc in CONTEXTS.values():
        m = pb2.DESCRIPTOR.services_by_name[svc].methods_by_name.get(rpc)
        if m is not None:
            return message_factory.GetMessageClass(m.output_type)
    raise KeyError(rpc)


# --- shape checks ------------------------------------------------------------------------------

def check(value: Any, shape: Any, where: str = "$", *, empty: bool = False) -> list[str]:
    """Mismatches between ``value`` and ``shape``; ``empty``: the reply was an empty message."""
    errs: list[str] = []
    if isinstance(shape, Opt):
        if value is None:
            return errs
        if empty and not isinstance(shape.shape, (list, dict)):
            return [f"{where}: nullable and unset, so must be null, got {value!r}"]
        return check(value, shape.shape, where, empty=empty)
    if shape == ANY:
        return errs
    if value is None:
        if empty and (shape in (TS, OBJ) or isinstance(shape, dict)):
            return errs  # an unset message field (Timestamp, Struct, object) is null: the service sets it
        return [f"{where}: must not be null"]
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {type(value).__name__}"]
        if empty and value:
            errs.append(f"{where}: expected [] for an empty reply")
        for i, item in enumerate(value):
            errs += check(item, shape[0], f"{where}[{i}]", empty=empty)
        return errs
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        for key, sub in shape.items():
            if key not in value:
                errs.append(f"{where}.{key}: missing")
            else:
                errs += check(value[key], sub, f"{where}.{key}", empty=empty)
        return errs
    ok = {
        INT: isinstance(value, int) and not isinstance(value, bool),
        NUM: isinstance(value, (int, float)) and not isinstance(value, bool),
        STR: isinstance(value, str),
        BOOL: isinstance(value, bool),
        TS: isinstance(value, str) and bool(NAIVE_TS.match(value)),
        OBJ: isinstance(value, dict),
    }[shape]
    if not ok:
        errs.append(f"{where}: expected {shape}, got {value!r}")
    return errs


def sent_value(msg: Message, path: str) -> Any:
    value: Any = msg
    for part in path.split("."):
        value = getattr(value, part)
    return list(value) if hasattr(value, "__len__") and not isinstance(value, (str, bytes)) else value


# --- the harness -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def h():
    harness = await start_harness()
    yield harness
    await harness.close()


@pytest.fixture(scope="module")
async def openapi(h):
    return (await h.client.get("/openapi.json")).json()


@pytest.fixture(autouse=True)
def fresh(h):
    h.fakes.calls.clear()
    h.fakes.answers.clear()
    h.fakes.trailers.clear()


def request_kwargs(e: Endpoint, *, path: str | None = None) -> dict[str, Any]:
    headers = dict(e.headers or {})
    if e.auth == "user":
        headers.update(bearer("drv-1", "driver", "sponsor", "admin"))
    kw: dict[str, Any] = {"method": e.method, "url": path or e.path, "headers": headers}
    if e.query:
        kw["params"] = e.query
    if e.json is not None:
        kw["json"] = e.json
    return kw


def response_schema(openapi: dict, e: Endpoint, path: str) -> dict | None:
    from gateway.routes import normalise_path

    for template, item in openapi["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(normalise_path(template))) + "$"
        op = item.get(e.method.lower())
        if op and re.match(pattern, normalise_path(path)) and op["summary"] == e.rpc:
            return op["responses"]["200"]["content"]["application/json"]["schema"]
    return None


def assert_matches_openapi(openapi: dict, e: Endpoint, body: Any) -> None:
    schema = response_schema(openapi, e, e.path)
    assert schema is not None, f"{e.id}: {e.method} {e.path} is not in /openapi.json"
    validator = Draft202012Validator({**schema, "components": openapi["components"]})
    errors = [f"{list(err.absolute_path)}: {err.message}" for err in validator.iter_errors(body)]
    assert errors == [], f"{e.id} reply violates its OpenAPI schema: {errors[:5]}"


# --- the tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("e", ENDPOINTS, ids=[e.id for e in ENDPOINTS])
async def test_request_translation_and_populated_reply(h, openapi, e: Endpoint):
    h.fakes.answers[e.rpc] = populate(reply_class(e.rpc)())
    if e.trailers:
        h.fakes.trailers[e.rpc] = e.trailers
    r = await h.client.request(**request_kwargs(e))
    assert r.status_code == e.status, f"{e.id}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/json")
    call = h.fakes.last(e.rpc)
    for path, expected in (e.sent or {}).items():
        got = sent_value(call.request, path)
        assert got == pytest.approx(expected) if isinstance(expected, float) else got == expected, \
            f"{e.id}: the RPC received {path}={got!r}, expected {expected!r}"
    body = r.json()
    errs = check(body, e.expect)
    assert errs == [], f"{e.id}: {errs}"
    if isinstance(e.expect, list):
        assert isinstance(body, list) and body, f"{e.id}: expected a bare, non-empty JSON array"
    assert_matches_openapi(openapi, e, body)
    if e.id == "T3":
        assert r.headers["location"] == "https://app.nerava.network/tesla-connected?success=true"


@pytest.mark.parametrize("e", ENDPOINTS, ids=[e.id for e in ENDPOINTS])
async def test_empty_reply_renders_nulls_and_empty_arrays(h, openapi, e: Endpoint):
    r = await h.client.request(**request_kwargs(e))
    assert r.status_code == 200, f"{e.id}: {r.status_code} {r.text[:300]}"
    body = r.json()
    assert check(body, e.expect, empty=True) == [], f"{e.id}: {check(body, e.expect, empty=True)}"
    assert_matches_openapi(openapi, e, body)


@pytest.mark.parametrize("e", ENDPOINTS, ids=[e.id for e in ENDPOINTS])
async def test_both_trailing_slash_forms_reach_the_same_rpc(h, e: Endpoint):
    other = e.path[:-1] if e.path.endswith("/") else e.path + "/"
    for path in (e.path, other):
        h.fakes.calls.clear()
        r = await h.client.request(**request_kwargs(e, path=path))
        assert r.status_code in (200, e.status), f"{e.id} {path}: {r.status_code} {r.text[:200]}"
        assert [c.method for c in h.fakes.calls] == [e.rpc]


@pytest.mark.parametrize("e", [e for e in ENDPOINTS if e.auth == "user"], ids=lambda e: e.id)
async def test_signed_in_endpoints_answer_401_without_a_token(h, e: Endpoint):
    kw = request_kwargs(e)
    kw["headers"].pop("authorization")
    r = await h.client.request(**kw)
    assert r.status_code == 401
    assert r.json() == {"detail": {"error": "unauthorized", "message": "Sign in required"}}
    assert not h.fakes.calls


@pytest.mark.parametrize("eid", BODILESS_POSTS)
@pytest.mark.parametrize("body", [None, b"", b"{}", b"  \n"], ids=["absent", "empty", "braces", "blank"])
async def test_bodiless_posts_with_a_json_content_type(h, eid, body):
    e = BY_ID[eid]
    headers = {**bearer(), "content-type": "application/json"}
    r = await h.client.request(e.method, e.path, params=e.query, content=body, headers=headers)
    assert r.status_code == 200, f"{eid}: {r.status_code} {r.text[:200]}"
    assert h.fakes.last(e.rpc)


async def test_poll_without_location_sends_no_coordinates_and_with_nulls_too(h):
    for body in (None, {"lat": None, "lng": None}):
        await h.client.post("/v1/charging-sessions/poll", json=body, headers=bearer())
        req = h.fakes.last("PollChargingSession").request
        assert not req.HasField("lat") and not req.HasField("lng")
    await h.client.post("/v1/charging-sessions/poll", json={"lat": 0.0, "lng": 0.0}, headers=bearer())
    req = h.fakes.last("PollChargingSession").request
    assert req.HasField("lat") and req.lat == 0.0  # a real 0 is kept apart from "absent"


async def test_repeated_query_parameters(h):
    await h.client.get("/v1/campaigns/utilization/chargers?charger_ids=a&charger_ids=b", headers=bearer())
    assert list(h.fakes.last("GetChargerUtilization").request.charger_ids) == ["a", "b"]


async def test_ev_codes_empty_is_a_bare_empty_array(h):
    r = await h.client.get("/v1/auth/tesla/codes", headers=bearer())
    assert r.status_code == 200 and r.json() == [] and r.text == "[]"


async def test_timestamps_have_no_offset_and_keep_microseconds(h):
    h.fakes.answers["ListEvCodes"] = populate(reply_class("ListEvCodes")())
    r = await h.client.get("/v1/auth/tesla/codes", headers=bearer())
    assert r.json()[0]["expires_at"] == "2026-11-22T12:56:28.010284"


def test_the_table_covers_every_endpoint_in_scope():
    ids = {e.id.split("/")[0] for e in ENDPOINTS}
    expected = ({f"T{i}" for i in range(1, 19)} | {f"I{i}" for i in range(1, 16)}
                | {f"W{i}" for i in range(1, 20)} - {"W15", "W16", "W17", "W18"} | {f"C{i}" for i in range(1, 9)})
    assert ids == expected
