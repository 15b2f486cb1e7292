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
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time",
                                  "description": "naive UTC ISO-8601, e.g. 2026-11-22T12:56:28.010284"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Duration": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    "google.api.HttpBody": {"type": "string", "description": "raw request body"},
}


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
    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, desc: Descriptor) -> dict[str, Any]:
        if desc.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[desc.full_name])
        if desc.full_name in codec._WRAPPERS:
            return self.field_schema(desc.fields_by_name["value"])
        if desc.full_name not in self.components:
            self.components[desc.full_name] = {}  # placeholder for recursion
            props = {}
            required = []
            for f in desc.fields:
                schema = self.field(f)
                comment = _comments().get(f"{desc.full_name}.{f.name}")
                if comment:
                    schema = {**schema, "description": comment}
                props[f.name] = schema
                required.append(f.name)
            body: dict[str, Any] = {"type": "object", "properties": props, "required": required}
            comment = _comments().get(desc.full_name)
            if comment:
                body["description"] = comment
            self.components[desc.full_name] = body
        return {"$ref": f"#/components/schemas/{desc.full_name}"}

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
            return {"oneOf": [inner, {"type": "null"}]} if "$ref" in inner else {
                **inner, "type": [inner.get("type", "object"), "null"]} if "type" in inner else inner
        return inner


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
        if r.body != "*":
            for f in req.fields:
                if f.name in bound or f.name == r.body:
                    continue
                if f.message_type is not None and f.message_type.full_name not in codec._WRAPPERS \
                        and f.message_type.full_name != "google.protobuf.Timestamp":
                    continue
                params.append({"name": f.name, "in": "query", "required": False,
                               "schema": schemas.field(f)})
        if params:
            op["parameters"] = params
        if r.body == "*":
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": schemas.ref(req)}}}
        elif r.body:
            f = req.fields_by_name[r.body]
            ctype = "application/octet-stream" if _webhook(r) else "application/json"
            op["requestBody"] = {"required": True, "content": {ctype: {"schema": schemas.field(f)}}}
        paths.setdefault(openapi_path, {})[method] = op
    components = {"schemas": {**schemas.components, "Error": {
        "type": "object", "properties": {"detail": {}}, "required": ["detail"]}},
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}
    return {"openapi": "3.1.0", "info": {"title": title, "version": version}, "paths": paths,
            "components": components}


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
