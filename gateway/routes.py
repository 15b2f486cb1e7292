"""Routes built at start-up from the ``google.api.http`` annotations of the service descriptors.

Supports the http rule grammar the contracts use: literal segments, ``{field}`` (one segment),
``{field=literal/segments}``, ``{field=*}``, ``{field=**}`` and nested field paths ``{a.b}``;
``body`` (``*``, a field, or none), ``response_body`` and ``additional_bindings``. Both
trailing-slash forms of every path are served. Literal paths win over templated ones (and are
reserved: a literal path never binds a template variable of another method), then the template
with more literal segments.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@dataclasses.dataclass(frozen=True)
class Route:
    http_method: str           # "GET"
    template: str              # "/v1/campaigns/{campaign_id}"
    method: MethodDescriptor   # the RPC
    body: str                  # "*", a field name, or ""
    response_body: str         # "" or a field name
    regex: re.Pattern | None   # None for literal paths
    variables: tuple[str, ...]  # field paths bound from the URL
    literal_segments: int

    @property
    def full_method(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"


_VAR = re.compile(r"\{([a-zA-Z0-9_.]+)(?:=([^}]*))?\}")


def _compile(template: str) -> tuple[re.Pattern | None, tuple[str, ...], int]:
    path, _, verb = template.partition(":") if ":" in template.rsplit("/", 1)[-1] else (template, "", "")
    if "{" not in path:
        return None, (), path.count("/")
    pattern, variables, pos = [], [], 0
    literal_segments = 0
    for m in _VAR.finditer(path):
        lit = path[pos:m.start()]
        pattern.append(re.escape(lit))
        literal_segments += len([s for s in lit.split("/") if s])
        field, sub = m.group(1), m.group(2)
        variables.append(field)
        group = f"v{len(variables) - 1}"
        if sub is None or sub == "*":
            pattern.append(f"(?P<{group}>[^/]+)")
        elif sub == "**":
            pattern.append(f"(?P<{group}>.+)")
        else:
            parts = []
            for seg in sub.split("/"):
                if seg == "*":
                    parts.append("[^/]+")
                elif seg == "**":
                    parts.append(".+")
                else:
                    parts.append(re.escape(seg))
                    literal_segments += 1
            pattern.append(f"(?P<{group}>{'/'.join(parts)})")
        pos = m.end()
    tail = path[pos:]
    pattern.append(re.escape(tail))
    literal_segments += len([s for s in tail.split("/") if s])
    if verb:
        pattern.append(re.escape(":" + verb))
    return re.compile("^" + "".join(pattern) + "$"), tuple(variables), literal_segments


def _rules(rule: http_pb2.HttpRule) -> Iterable[http_pb2.HttpRule]:
    yield rule
    for extra in rule.additional_bindings:
        yield from _rules(extra)


def routes_for(service: ServiceDescriptor) -> list[Route]:
    out: list[Route] = []
    for method in service.methods:
        opts = method.GetOptions()
        if not opts.HasExtension(annotations_pb2.http):
            continue
        top = opts.Extensions[annotations_pb2.http]
        for rule in _rules(top):
            kind = rule.WhichOneof("pattern")
            if kind is None:
                continue
            if kind == "custom":
                verb, template = rule.custom.kind.upper(), rule.custom.path
            else:
                verb, template = kind.upper(), getattr(rule, kind)
            regex, variables, lits = _compile(template)
            out.append(Route(verb, template, method, rule.body, rule.response_body or top.response_body,
                             regex, variables, lits))
    return out


def normalise_path(path: str) -> str:
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        self._literal: dict[tuple[str, str], Route] = {}
        self._templated: dict[str, list[Route]] = {}
        for r in self.routes:
            if r.regex is None:
                key = (r.http_method, normalise_path(r.template))
                if key in self._literal:
                    raise ValueError(f"duplicate route {r.http_method} {r.template}: "
                                     f"{self._literal[key].full_method} and {r.full_method}")
                self._literal[key] = r
            else:
                self._templated.setdefault(r.http_method, []).append(r)
        for lst in self._templated.values():
            lst.sort(key=lambda r: -r.literal_segments)
        self._known_paths = {p for _, p in self._literal}

    def match(self, http_method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path variables, path_exists_for_other_method)."""
        path = normalise_path(path)
        r = self._literal.get((http_method, path))
        if r is not None:
            return r, {}, True
        if path in self._known_paths:
            # a literal path is reserved: `GET /v1/charging-sessions/poll` is a 405, not session "poll"
            return None, {}, True
        for r in self._templated.get(http_method, ()):
            m = r.regex.match(path) or r.regex.match(path + "/")
            if m:
                return r, {r.variables[int(k[1:])]: v for k, v in m.groupdict().items()}, True
        other = path in self._known_paths or any(
            r.regex.match(path) for lst in self._templated.values() for r in lst)
        return None, {}, other

    def allowed_methods(self, path: str) -> list[str]:
        """The HTTP methods served at ``path`` (the ``Allow`` header of a 405)."""
        path = normalise_path(path)
        methods = {m for (m, p) in self._literal if p == path}
        for method, lst in ({} if methods else self._templated).items():
            if any(r.regex.match(path) or r.regex.match(path + "/") for r in lst):
                methods.add(method)
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)
