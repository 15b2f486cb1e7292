"""OpenAPI 3.1 generated from the same descriptors and http rules that build the routes.

Comments come from the descriptor set with source info that ``make gen`` writes
(``nerava/descriptors.binpb``); schemas follow the gateway's JSON encoding (``codec``).
"""
from __future__ import annotations

import functools
import pathlib
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway import codec
from gateway.routes import Route
from kit.access import PUBLIC_METHODS

DESCRIPTOR_SET = pathlib.Path(__file__).resolve().parent.parent / "nerava" / "descriptors.binpb"

_SCALARS = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"}, FieldDescriptor.TYPE_FLOAT: {"type": "number"},
    FieldDescriptor.TYPE_INT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer"}, FieldDescriptor.TYPE_FIXED64: {"type": "integer"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer"}, FieldDescriptor.TYPE_SFIXED64: {"type": "integer"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"}, FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
# What the gateway writes (codec.format_timestamp): naive UTC, no offset (REST spec §0 rule 5).
NAIVE_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "pattern": NAIVE_TIMESTAMP,
                                  "description": "naive UTC ISO-8601, e.g. 2026-11-22T12:56:28.010284"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Duration": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    "google.api.HttpBody": {"type": "string", "description": "raw request body"},
    "google.protobuf.FieldMask": {"type": "string",
                                  "description": "comma-separated field paths; when omitted, the body's keys"},
}
# What the gateway accepts (codec._fix_ts): ISO-8601 with or without an offset (naive = UTC), or a date.
_INPUT_TIMESTAMP = {"type": "string", "description": "ISO-8601 date-time (naive = UTC) or date"}


@functools.lru_cache(maxsize=1)
def _comments() -> dict[str, str]:
    """Leading comments by element: ``pkg.Service.Method``, ``pkg.Message``, ``pkg.Message.field``."""
    out: dict[str, str] = {}
    if not DESCRIPTOR_SET.exists():
        return out
    fds = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    for f in fds.file:
        if not f.package.startswith("nerava."):
            continue
        locs = {tuple(loc.path): loc.leading_comments.strip() for loc in f.source_code_info.location
                if loc.leading_comments}
        for si, svc in enumerate(f.service):
            for mi, m in enumerate(svc.method):
                c = locs.get((6, si, 2, mi))
                if c:
                    out[f"{f.package}.{svc.name}.{m.name}"] = c

        def walk(msgs, prefix_path, prefix_name):
            for i, m in enumerate(msgs):
                path = (*prefix_path, i)
                name = f"{prefix_name}.{m.name}"
                if locs.get(path):
                    out[name] = locs[path]
                for fi, fld in enumerate(m.field):
                    c = locs.get((*path, 2, fi))
                    if c:
                        out[f"{name}.{fld.name}"] = c
                walk(m.nested_type, (*path, 3), name)

        walk(f.message_type, (4,), f.package)
    return out


class _Schemas:
    """Component schemas in two flavours. Output (responses): every key is present (``required``),
    fields with presence may be ``null``. Input (request bodies, ``<name>.Input``): every key is
    optional and may be ``null`` (= not given), unknown keys are ignored, timestamps may carry an
    offset."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}
        self.input = False

    def ref(self, desc: Descriptor, *, input: bool | None = None) -> dict[str, Any]:
        if input is not None and input != self.input:
            saved, self.input = self.input, input
            try:
                return self.ref(desc)
            finally:
                self.input = saved
        if desc.full_name == "google.protobuf.Timestamp" and self.input:
            return dict(_INPUT_TIMESTAMP)
        if desc.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[desc.full_name])
        if desc.full_name in codec._WRAPPERS:
            return self.field_schema(desc.fields_by_name["value"])
        name = desc.full_name + (".Input" if self.input else "")
        if name not in self.components:
            self.components[name] = {}  # placeholder for recursion
            props = {}
            for f in desc.fields:
                schema = self.field(f)
                if self.input:  # the gateway reads null as "not given" (protojson)
                    schema = nullable(schema)
                comment = _comments().get(f"{desc.full_name}.{f.name}")
                if comment:
                    schema = {**schema, "description": comment}
                props[f.name] = schema
            body: dict[str, Any] = {"type": "object", "properties": props}
            if not self.input:
                body["required"] = [f.name for f in desc.fields]
            comment = _comments().get(desc.full_name)
            if comment:
                body["description"] = comment
            self.components[name] = body
        return {"$ref": f"#/components/schemas/{name}"}

    def field_schema(self, f: FieldDescriptor) -> dict[str, Any]:
        if f.message_type is not None:
            return self.ref(f.message_type)
        if f.type == FieldDescriptor.TYPE_ENUM:
            return {"type": "string", "enum": [v.name for v in f.enum_type.values]}
        return dict(_SCALARS[f.type])

    def field(self, f: FieldDescriptor) -> dict[str, Any]:
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            return {"type": "object",
                    "additionalProperties": self.field_schema(f.message_type.fields_by_name["value"])}
        if codec._is_repeated(f):
            return {"type": "array", "items": self.field_schema(f)}
        inner = self.field_schema(f)
        if f.message_type is not None or f.has_presence:
            return nullable(inner)
        return inner


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    if "oneOf" in schema:
        return schema if {"type": "null"} in schema["oneOf"] else {"oneOf": [*schema["oneOf"], {"type": "null"}]}
    if "type" not in schema:
        return schema  # already accepts anything
    if isinstance(schema["type"], list):
        return schema  # already nullable
    out = {**schema, "type": [schema["type"], "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def document(routes: list[Route], title: str = "Nerava API", version: str = "1.0.0") -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for r in routes:
        openapi_path, params = _path_and_params(r)
        method = r.http_method.lower()
        req = r.method.input_type
        op: dict[str, Any] = {
            "operationId": _operation_id(seen, r),
            "tags": [r.method.containing_service.full_name.split(".")[1]],
            "summary": r.method.name,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": _response_schema(schemas, r)}}},
                "default": {"description": "Error", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        comment = _comments().get(f"{r.method.containing_service.full_name}.{r.method.name}")
        if comment:
            op["description"] = comment
        if r.full_method not in PUBLIC_METHODS and not _webhook(r):
            op["security"] = [{"bearerAuth": []}]
        else:
            op["security"] = []
        bound = set(r.variables)
        if r.body != "*" and not _webhook(r):  # a webhook's query string is ignored
            for f in req.fields:
                if f.name in bound or f.name == r.body:
                    continue
                if f.message_type is not None and f.message_type.full_name not in codec._WRAPPERS \
                        and f.message_type.full_name != "google.protobuf.Timestamp":
                    continue
                params.append({"name": f.name, "in": "query", "required": False,
                               "schema": schemas.field(f) if codec._is_repeated(f) else
                               schemas.field_schema(f) if f.message_type is None else
                               schemas.ref(f.message_type, input=True)})
        if params:
            op["parameters"] = params
        if r.body == "*":
            op["requestBody"] = {"required": False, "content": {"application/json": {
                "schema": schemas.ref(req, input=True)}}}
        elif r.body:
            f = req.fields_by_name[r.body]
            if _webhook(r):
                op["requestBody"] = {"required": False, "content": {"*/*": {"schema": {
                    "description": "the provider's raw bytes (any content), passed on unchanged"}}}}
            else:
                schemas.input = True
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": schemas.field(f)}}}
                schemas.input = False
        if op["security"]:
            op["responses"]["401"] = {"description": "Missing or invalid bearer token", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        if not _webhook(r):
            op["responses"]["429"] = {
                "description": "Rate limited (per client and path)",
                "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        paths.setdefault(openapi_path, {})[method] = op
    components = {"schemas": {**schemas.components, "Error": {
        "type": "object", "properties": {"detail": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
        "required": ["detail"]}},
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "HS256 JWT (iss nerava, aud nerava-api); also read from the access_token cookie"}}}
    info = {"title": title, "version": version, "description": DESCRIPTION}
    return {"openapi": "3.1.0", "info": info, "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "paths": paths, "components": components}


DESCRIPTION = """Generated from the `google.api.http` annotations and comments of the gRPC contracts
(protos/nerava/*/v1). JSON as the web apps read it: snake_case keys, cents and counts as numbers,
`null` for missing values, `[]` for empty lists, timestamps as naive UTC ISO-8601 (no offset).
Every path is served with and without a trailing slash. Errors are `{"detail": ...}`."""


def _operation_id(seen: dict[str, int], r: Route) -> str:
    base = f"{r.method.containing_service.name}_{r.method.name}"
    n = seen.get(base, 0)
    seen[base] = n + 1
    return base if n == 0 else f"{base}_{n + 1}"


def _webhook(r: Route) -> bool:
    f = r.method.input_type.fields_by_name.get(r.body) if r.body and r.body != "*" else None
    return bool(f and f.message_type and f.message_type.full_name == "google.api.HttpBody")


def _path_and_params(r: Route) -> tuple[str, list[dict[str, Any]]]:
    import re

    params: list[dict[str, Any]] = []

    def repl(m):
        name, sub = m.group(1), m.group(2)
        if sub and "*" not in sub:
            return sub  # a literal binding: document the literal path
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
        return "{" + name + "}"

    return re.sub(r"\{([a-zA-Z0-9_.]+)(?:=([^}]*))?\}", repl, r.template), params


def _response_schema(schemas: _Schemas, r: Route) -> dict[str, Any]:
    out = r.method.output_type
    if r.response_body:
        return schemas.field(out.fields_by_name[r.response_body])
    return schemas.ref(out)
