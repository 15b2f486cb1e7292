"""JSON ⇄ protobuf exactly as the web apps read it (REST spec §0).

- proto field names (snake_case); int32/int64 as JSON numbers;
- a field with presence (``optional`` scalar, message) that is unset → ``null``; repeated → ``[]``;
- ``google.protobuf.Timestamp`` → naive UTC ISO-8601 (``datetime.isoformat()``, no offset);
- ``Struct``/``Value``/``ListValue`` → plain JSON; wrappers → their value or ``null``.
Encoders are compiled once per message type. Decoding uses ``json_format.ParseDict`` after
normalising what the apps send that protojson does not accept (naive timestamps).
"""
from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_EPOCH = dt.datetime(1970, 1, 1)
_WRAPPERS = {
    "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
}

_NUMERIC = frozenset({
    FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
})

_NUMERIC_WRAPPERS = frozenset(w for w in _WRAPPERS if "Bool" not in w and "String" not in w and "Bytes" not in w)

Encoder = Callable[[Message], Any]
_cache: dict[str, Encoder] = {}


def format_timestamp(seconds: int, nanos: int) -> str:
    return (_EPOCH + dt.timedelta(seconds=seconds, microseconds=nanos // 1000)).isoformat()


def _value_to_py(v) -> Any:
    kind = v.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "struct_value":
        return {k: _value_to_py(x) for k, x in v.struct_value.fields.items()}
    if kind == "list_value":
        return [_value_to_py(x) for x in v.list_value.values]
    if kind == "number_value":
        n = v.number_value
        return int(n) if n.is_integer() and abs(n) < 2**53 else n
    return getattr(v, kind)


def _special(full_name: str) -> Encoder | None:
    if full_name == "google.protobuf.Timestamp":
        return lambda m: format_timestamp(m.seconds, m.nanos)
    if full_name == "google.protobuf.Struct":
        return lambda m: {k: _value_to_py(x) for k, x in m.fields.items()}
    if full_name == "google.protobuf.Value":
        return _value_to_py
    if full_name == "google.protobuf.ListValue":
        return lambda m: [_value_to_py(x) for x in m.values]
    if full_name in _WRAPPERS:
        return lambda m: m.value
    if full_name == "google.protobuf.Duration":
        return lambda m: f"{m.seconds + m.nanos / 1e9:g}s"
    if full_name == "google.protobuf.Empty":
        return lambda m: {}
    return None


def _scalar(field: FieldDescriptor) -> Callable[[Any], Any]:
    if field.type == FieldDescriptor.TYPE_BYTES:
        return lambda v: base64.b64encode(v).decode()
    if field.type == FieldDescriptor.TYPE_ENUM:
        values = {v.number: v.name for v in field.enum_type.values}
        return lambda v: values.get(v, v)
    return lambda v: v


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf ≥ 5 has FieldDescriptor.is_repeated; older versions only the label
    rep = getattr(field, "is_repeated", None)
    if rep is not None:
        return rep() if callable(rep) else bool(rep)
    return field.label == FieldDescriptor.LABEL_REPEATED


def encoder(desc: Descriptor) -> Encoder:
    cached = _cache.get(desc.full_name)
    if cached is not None:
        return cached
    special = _special(desc.full_name)
    if special is not None:
        _cache[desc.full_name] = special
        return special

    plan: list[tuple[str, str, Callable]] = []

    def encode(msg: Message) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, kind, conv in plan:
            if kind == "scalar":
                out[name] = conv(getattr(msg, name))
            elif kind == "presence":
                out[name] = conv(getattr(msg, name)) if msg.HasField(name) else None
            elif kind == "repeated":
                out[name] = [conv(v) for v in getattr(msg, name)]
            else:  # map
                out[name] = {str(k): conv(v) for k, v in getattr(msg, name).items()}
        return out

    _cache[desc.full_name] = encode  # before recursion: self-referencing messages
    for f in desc.fields:
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            value_field = f.message_type.fields_by_name["value"]
            conv = encoder(value_field.message_type) if value_field.message_type else _scalar(value_field)
            plan.append((f.name, "map", conv))
        elif _is_repeated(f):
            conv = encoder(f.message_type) if f.message_type else _scalar(f)
            plan.append((f.name, "repeated", conv))
        elif f.message_type is not None:
            plan.append((f.name, "presence", encoder(f.message_type)))
        elif f.has_presence:
            plan.append((f.name, "presence", _scalar(f)))
        else:
            plan.append((f.name, "scalar", _scalar(f)))
    return encode


def to_json_obj(msg: Message, field: str = "") -> Any:
    """The JSON value of ``msg`` (or of its ``response_body`` field)."""
    out = encoder(msg.DESCRIPTOR)(msg)
    return out[field] if field else out


def mask_paths(obj: dict[str, Any], desc: Descriptor, prefix: str = "") -> list[str]:
    """FieldMask paths for the keys present in a JSON body (grpc-gateway's PATCH behaviour):
    a key naming a non-null message field contributes its own keys (``rules.time_start``), so a
    partial nested object updates only what it names; ``null`` means "clear this field"."""
    paths: list[str] = []
    for key, value in obj.items():
        f = desc.fields_by_name.get(key)
        if f is None or key in ("update_mask", "request_id"):
            continue
        path = f"{prefix}{key}"
        if (f.message_type is not None and isinstance(value, dict) and not _is_repeated(f)
                and f.message_type.full_name not in _WRAPPERS
                and not f.message_type.full_name.startswith("google.protobuf.")):
            nested = mask_paths(value, f.message_type, path + ".")
            paths.extend(nested or [path])
        else:
            paths.append(path)
    return paths


class DecodeError(ValueError):
    pass


class _FieldPlan:
    """What ``_normalise`` needs to know about one field, computed once per message type (reading
    descriptor attributes through the protobuf C layer on every request showed up in profiles)."""

    __slots__ = ("numeric", "repeated", "message", "is_map", "plain", "timestamp")

    def __init__(self, f: FieldDescriptor) -> None:
        mt = f.message_type
        self.numeric = f.type in _NUMERIC or (mt is not None and mt.full_name in _NUMERIC_WRAPPERS)
        self.repeated = _is_repeated(f)
        self.message = mt
        self.is_map = bool(mt is not None and mt.GetOptions().map_entry)
        self.plain = mt is not None and (self.is_map or not mt.full_name.startswith("google."))
        self.timestamp = mt is not None and mt.full_name == "google.protobuf.Timestamp"


_plans: dict[str, dict[str, _FieldPlan]] = {}


def _plan(desc: Descriptor) -> dict[str, _FieldPlan]:
    plan = _plans.get(desc.full_name)
    if plan is None:
        plan = _plans[desc.full_name] = {f.name: _FieldPlan(f) for f in desc.fields}
    return plan


def _normalise(obj: Any, desc: Descriptor) -> Any:
    """Adapt app JSON to protojson: naive ISO timestamps get ``Z``; recurse into messages."""
    if not isinstance(obj, dict):
        return obj
    plan = _plan(desc)
    out = dict(obj)
    for key, value in obj.items():
        f = plan.get(key)
        if f is None or value is None:
            continue
        if f.numeric and (isinstance(value, bool) or (
                isinstance(value, list) and any(isinstance(v, bool) for v in value))):
            # protobuf's parser would read true/false as 1/0
            raise DecodeError(f"Invalid request: {key} must be a number, not a boolean")
        if f.message is None:
            if f.repeated and not isinstance(value, list):
                raise DecodeError(f"Invalid request: {key} must be an array")
            continue
        if f.repeated and not f.is_map and not isinstance(value, list):
            raise DecodeError(f"Invalid request: {key} must be an array")
        items = value if f.repeated and not f.is_map else [value]
        if f.plain and any(v is not None and not isinstance(v, dict) for v in items):
            # protobuf's parser would iterate a string's characters as (ignored) keys
            raise DecodeError(f"Invalid request: {key} must be an object")
        if f.timestamp:
            if f.repeated and isinstance(value, list):
                out[key] = [_fix_ts(v) for v in value]
            else:
                out[key] = _fix_ts(value)
        elif f.is_map:
            continue
        elif f.repeated and isinstance(value, list):
            out[key] = [_normalise(v, f.message) for v in value]
        else:
            out[key] = _normalise(value, f.message)
    return out


def _fix_ts(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    s = value.strip()
    if "T" not in s and len(s) == 10:
        s += "T00:00:00"
    tail = s[10:]
    if not (s.endswith("Z") or "+" in tail or "-" in tail):
        s += "Z"
    return s


def from_json_obj(obj: Any, msg: Message, field: str = "") -> None:
    """Fill ``msg`` (or one of its fields) from decoded JSON; raises DecodeError on wrong types."""
    desc = msg.DESCRIPTOR
    try:
        if field:
            f = desc.fields_by_name[field]
            if f.message_type is None:
                json_format.ParseDict({field: obj}, msg, ignore_unknown_fields=True)
            else:
                json_format.ParseDict(_normalise(obj, f.message_type), getattr(msg, field),
                                      ignore_unknown_fields=True)
            return
        if not isinstance(obj, dict):
            raise DecodeError("Request body must be a JSON object")
        if not _set_flat(obj, msg, desc):
            json_format.ParseDict(_normalise(obj, desc), msg, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise DecodeError(_clean_parse_error(str(exc))) from None


_FLAT_DOUBLE, _FLAT_STRING = 1, 2
_flat_plans: dict[str, dict[str, tuple[str, int]]] = {}
_MAX_EXACT_INT = 2 ** 53


def _flat_plan(desc: Descriptor) -> dict[str, tuple[str, int]]:
    """JSON key (field name and json_name) → (field, kind) for the singular double and string fields
    that no other field shares a oneof with."""
    plan = _flat_plans.get(desc.full_name)
    if plan is None:
        plan = {}
        for f in desc.fields:
            kind = {FieldDescriptor.TYPE_DOUBLE: _FLAT_DOUBLE, FieldDescriptor.TYPE_STRING: _FLAT_STRING}.get(f.type)
            oneof = f.containing_oneof
            if kind is None or _is_repeated(f) or (oneof is not None and len(oneof.fields) > 1):
                continue
            plan[f.name] = plan[f.json_name] = (f.name, kind)
        _flat_plans[desc.full_name] = plan
    return plan


def _set_flat(obj: dict, msg: Message, desc: Descriptor) -> bool:
    """Fill a flat body (the poll's ``{"lat": …, "lng": …}``) straight into its double and string
    fields, as ``ParseDict`` would (null = not set); return False, having set nothing, for anything
    else — another field type, an unknown key, a bool or a string for a number, a huge integer — so
    that ``ParseDict`` decides and words the error. The protobuf parser's per-field machinery was
    ≈ 5 % of the gateway's CPU on the poll path (P1, docs/performance.md)."""
    plan = _flat_plan(desc)
    assign = []
    seen = set()
    for key, value in obj.items():
        entry = plan.get(key)
        if entry is None or entry[0] in seen:
            return False
        seen.add(entry[0])
        if value is None:
            continue
        t = type(value)
        if entry[1] == _FLAT_DOUBLE:
            if not ((t is float and math.isfinite(value))
                    or (t is int and -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT)):
                return False
        elif t is not str:
            return False
        assign.append((entry[0], value))
    for name, value in assign:
        setattr(msg, name, value)
    return True


def _clean_parse_error(text: str) -> str:
    # "Failed to parse amount_cents field: invalid literal ..." → keep it short and useful
    return "Invalid request: " + text.split("\n")[0][:300]
