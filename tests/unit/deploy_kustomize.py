"""A small, strict kustomize renderer for the validation tests (ADR 0061).

The ``kustomize`` binary is not a dependency of this repository, so the tests render deploy/k8s
themselves. Only the kustomization features deploy/ uses are implemented, with kustomize's
semantics; any other field is an error, so a manifest cannot silently rely on something this
renderer ignores:

- ``resources`` (files and directories), ``components`` (``kind: Component``);
- ``configMapGenerator`` with ``literals``/``files`` (``key=path``) and ``behavior``
  create/merge/replace; a content-hash name suffix, and references to the ConfigMap rewritten;
- ``patches``: strategic merge (lists merged by their Kubernetes merge key) or JSON 6902
  (add/replace/remove), from ``path`` or inline ``patch``, with an optional ``target`` (kind, name);
- ``images`` (newName, newTag), ``namespace``, ``labels`` (pairs, includeSelectors,
  includeTemplates).

The hash suffix differs from kustomize's own (the algorithm is not reproduced); what matters — a
suffix that changes with the content and every reference following it — is the same.
"""
from __future__ import annotations

import copy
import hashlib
import json
import pathlib
from typing import Any

import yaml

KNOWN_FIELDS = {"apiVersion", "kind", "resources", "components", "namespace", "labels", "images",
                "configMapGenerator", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "PriorityClass"}
# Kubernetes strategic-merge keys of the lists deploy/ patches.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
              "volumeMounts": "mountPath", "ports": "containerPort"}
GENERATED = "x-generated-from"  # internal marker: the ConfigMap's name before the hash suffix


class KustomizeError(Exception):
    pass


def load_docs(path: pathlib.Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def strategic_merge(base: Any, patch: Any, field: str | None = None) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = strategic_merge(base[k], v, k) if k in base else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list) and field in MERGE_KEYS:
        key = MERGE_KEYS[field]
        out = [copy.deepcopy(x) for x in base]
        added = []
        for item in patch:
            match = next((i for i, x in enumerate(out) if x.get(key) == item.get(key)), None)
            if match is None:
                added.append(copy.deepcopy(item))
            else:
                out[match] = strategic_merge(out[match], item, None)
        return added + out  # kustomize puts the patch's new items first
    return copy.deepcopy(patch)


def json6902(doc: dict, ops: list[dict]) -> dict:
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(idx, copy.deepcopy(op["value"]))
            elif kind == "replace":
                parent[idx] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[idx]
            else:
                raise KustomizeError(f"unsupported JSON patch op {kind}")
            continue
        if kind in ("add", "replace"):
            if kind == "replace" and last not in parent:
                raise KustomizeError(f"JSON patch replace: {op['path']} does not exist")
            parent[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[last]
        else:
            raise KustomizeError(f"unsupported JSON patch op {kind}")
    return doc


def _key(doc: dict) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def _generate(root: pathlib.Path, gen: dict) -> dict:
    data: dict[str, str] = {}
    for lit in gen.get("literals", []):
        k, _, v = lit.partition("=")
        data[k] = v
    for f in gen.get("files", []):
        k, _, p = f.partition("=") if "=" in f else (pathlib.Path(f).name, "", f)
        path = (root / p).resolve()
        if root.resolve() not in path.parents:
            raise KustomizeError(f"{f}: files must be inside the kustomization directory {root}")
        data[k] = path.read_text()
    unknown = set(gen) - {"name", "literals", "files", "behavior"}
    if unknown:
        raise KustomizeError(f"configMapGenerator fields not supported: {unknown}")
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"], GENERATED: gen["name"]},
            "data": data}


def _targets(doc: dict, target: dict | None) -> bool:
    if not target:
        return True
    unknown = set(target) - {"kind", "name"}
    if unknown:
        raise KustomizeError(f"patch target fields not supported: {unknown}")
    return all(doc.get("kind") == target[k] if k == "kind" else doc["metadata"]["name"] == target[k]
               for k in target)


def _pod_specs(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return [spec["template"]["spec"]]
    if doc["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if doc["kind"] == "Pod":
        return [spec]
    return []


def _containers(pod: dict) -> list[dict]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def build(directory: pathlib.Path, *, _component: bool = False, _acc: list[dict] | None = None) -> list[dict]:
    """Render a kustomization directory: the list of resources, with generated names final."""
    docs = _build(pathlib.Path(directory), component=_component, acc=_acc)
    return _finalise(docs)


def _build(root: pathlib.Path, *, component: bool = False, acc: list[dict] | None = None) -> list[dict]:
    kfile = root / "kustomization.yaml"
    if not kfile.exists():
        raise KustomizeError(f"{root}: no kustomization.yaml")
    k = yaml.safe_load(kfile.read_text())
    unknown = set(k) - KNOWN_FIELDS
    if unknown:
        raise KustomizeError(f"{kfile}: fields not supported by the test renderer: {sorted(unknown)}")
    expected_kind = "Component" if component else "Kustomization"
    if k.get("kind", "Kustomization") != expected_kind:
        raise KustomizeError(f"{kfile}: kind {k.get('kind')} where {expected_kind} was expected")

    docs: list[dict] = list(acc or [])
    for res in k.get("resources", []):
        path = (root / res)
        if path.is_dir():
            docs += _build(path)
        elif path.is_file():
            docs += load_docs(path)
        else:
            raise KustomizeError(f"{kfile}: resource {res} does not exist")
    seen = set()
    for d in docs:
        if _key(d) in seen:
            raise KustomizeError(f"{kfile}: duplicate resource {_key(d)}")
        seen.add(_key(d))

    for comp in k.get("components", []):
        docs = _build((root / comp), component=True, acc=docs)

    for gen in k.get("configMapGenerator", []):
        new = _generate(root, gen)
        behavior = gen.get("behavior", "create")
        existing = [i for i, d in enumerate(docs) if d["kind"] == "ConfigMap" and d["metadata"]["name"] == gen["name"]]
        if behavior == "create":
            if existing:
                raise KustomizeError(f"{kfile}: ConfigMap {gen['name']} already exists (use behavior merge/replace)")
            docs.append(new)
        elif behavior in ("merge", "replace"):
            if not existing:
                raise KustomizeError(f"{kfile}: ConfigMap {gen['name']} to {behavior} does not exist")
            i = existing[0]
            if behavior == "merge":
                docs[i] = {**docs[i], "data": {**docs[i].get("data", {}), **new["data"]}}
            else:
                docs[i] = {**docs[i], "data": new["data"]}
        else:
            raise KustomizeError(f"{kfile}: behavior {behavior}")

    for p in k.get("patches", []):
        unknown = set(p) - {"path", "patch", "target"}
        if unknown:
            raise KustomizeError(f"{kfile}: patch fields not supported: {unknown}")
        body = yaml.safe_load((root / p["path"]).read_text() if "path" in p else p["patch"])
        target = p.get("target")
        hits = 0
        for i, d in enumerate(docs):
            if isinstance(body, list):  # JSON 6902
                if target is None:
                    raise KustomizeError(f"{kfile}: a JSON 6902 patch needs a target")
                if _targets(d, target):
                    docs[i], hits = json6902(d, body), hits + 1
            else:
                if (_targets(d, target) and d["kind"] == body["kind"]
                        and (target is not None or d["metadata"]["name"] == body["metadata"]["name"])):
                    docs[i], hits = strategic_merge(d, {kk: vv for kk, vv in body.items() if kk != "metadata"}), hits + 1
        if hits == 0:
            raise KustomizeError(f"{kfile}: patch {p.get('path', '(inline)')} matched no resource")

    for img in k.get("images", []):
        for d in docs:
            for pod in _pod_specs(d):
                for c in _containers(pod):
                    name, _, tag = c["image"].partition(":")
                    if name == img["name"]:
                        c["image"] = f"{img.get('newName', name)}:{img.get('newTag', tag or 'latest')}"

    if "namespace" in k:
        for d in docs:
            if d["kind"] not in CLUSTER_SCOPED:
                d["metadata"]["namespace"] = k["namespace"]

    for lab in k.get("labels", []):
        unknown = set(lab) - {"pairs", "includeSelectors", "includeTemplates"}
        if unknown or lab.get("includeSelectors"):
            raise KustomizeError(f"{kfile}: labels options not supported: {unknown or 'includeSelectors'}")
        for d in docs:
            d["metadata"].setdefault("labels", {}).update(lab["pairs"])
            if lab.get("includeTemplates") and _pod_specs(d):
                d["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(lab["pairs"])
    return docs


def _finalise(docs: list[dict]) -> list[dict]:
    """Suffix generated ConfigMaps with a content hash and rewrite the references to them."""
    docs = copy.deepcopy(docs)
    renames: dict[str, str] = {}
    for d in docs:
        orig = d["metadata"].pop(GENERATED, None)
        if orig is not None and d["kind"] == "ConfigMap":
            digest = hashlib.sha256(json.dumps(d["data"], sort_keys=True).encode()).hexdigest()[:10]
            d["metadata"]["name"] = renames[orig] = f"{orig}-{digest}"
    for d in docs:
        for pod in _pod_specs(d):
            for v in pod.get("volumes", []):
                if "configMap" in v and v["configMap"]["name"] in renames:
                    v["configMap"]["name"] = renames[v["configMap"]["name"]]
            for c in _containers(pod):
                for ef in c.get("envFrom", []):
                    if "configMapRef" in ef and ef["configMapRef"]["name"] in renames:
                        ef["configMapRef"]["name"] = renames[ef["configMapRef"]["name"]]
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("configMapKeyRef")
                    if ref and ref["name"] in renames:
                        ref["name"] = renames[ref["name"]]
    return docs
