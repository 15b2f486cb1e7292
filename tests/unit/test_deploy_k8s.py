"""deploy/k8s, rendered offline (tests/unit/deploy_kustomize.py, ADR 0061) and validated with the
Kubernetes OpenAPI schemas bundled in ``kubernetes-validate``; then cross-checked: selectors, ports,
probes, ConfigMaps and Secrets, HPA/PDB targets, NetworkPolicies against who calls whom, and the
settings each pod would start with."""
from __future__ import annotations

import copy
import importlib
import pathlib
import re

import kubernetes_validate
import pytest
import yaml

from tests.unit.deploy_kustomize import KustomizeError, build, strategic_merge
from tests.unit.test_deploy_compose import known_env_vars

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
VARIANTS = ("base", "overlays/production")
# Native sidecars (init containers with restartPolicy: Always) need 1.29+; check the oldest we
# support and a current release.
K8S_VERSIONS = ("1.29.0", "1.33.0")
CONTEXTS = ("telemetry", "incentives", "wallet", "clo")
APPS = (*CONTEXTS, "gateway")
NAME = "app.kubernetes.io/name"

render_envoy = importlib.import_module("scripts.render_envoy")


@pytest.fixture(scope="module", params=VARIANTS)
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, build(K8S / request.param)


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(d: dict) -> dict:
    return d["spec"]["template"]["spec"]


def containers(d: dict) -> list[dict]:
    spec = pod_spec(d)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def workloads(docs: list[dict]) -> dict[str, dict]:
    return {**by_kind(docs, "Deployment"), **by_kind(docs, "Job")}


def pod_labels(d: dict) -> dict:
    return d["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict, labels: dict) -> bool:
    for k, v in selector.get("matchLabels", {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions", []):
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
        if expr["operator"] not in ("In",):
            raise AssertionError(f"selector operator {expr['operator']} not checked by this test")
    return True


def declared_ports(d: dict) -> dict[str | int, int]:
    out: dict[str | int, int] = {}
    for c in containers(d):
        for p in c.get("ports", []):
            out[p["containerPort"]] = p["containerPort"]
            if "name" in p:
                out[p["name"]] = p["containerPort"]
    return out


def app(d: dict) -> dict:
    return next(c for c in pod_spec(d)["containers"] if c["name"] == "app")


def envoy_sidecar(d: dict) -> dict:
    return next(c for c in pod_spec(d).get("initContainers", []) if c["name"] == "envoy")


def env_of(c: dict) -> dict[str, dict]:
    return {e["name"]: e for e in c.get("env", [])}


# ---- schema validation ------------------------------------------------------------------------

@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_manifest_is_valid_for_kubernetes(rendered, version):
    _, docs = rendered
    assert len(docs) > 30
    for d in docs:
        kubernetes_validate.validate(d, version, strict=True)


def test_the_validator_rejects_broken_manifests():
    """Negative control: the schema check above is not vacuous."""
    dep = by_kind(build(K8S / "base"), "Deployment")["wallet"]
    typo = copy.deepcopy(dep)
    pod_spec(typo)["containers"][0]["readinesProbe"] = {"grpc": {"port": 50053}}
    wrong_type = copy.deepcopy(dep)
    pod_spec(wrong_type)["containers"][0]["ports"][0]["containerPort"] = "fifty"
    for bad in (typo, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(bad, K8S_VERSIONS[-1], strict=True)


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplacements: []\n")
    with pytest.raises(KustomizeError, match="replacements"):
        build(tmp_path)
    merged = strategic_merge({"containers": [{"name": "a", "image": "x"}]},
                             {"containers": [{"name": "a", "image": "y"}, {"name": "b"}]})
    assert merged == {"containers": [{"name": "b"}, {"name": "a", "image": "y"}]}


# ---- structure --------------------------------------------------------------------------------

def test_each_process_has_its_objects(rendered):
    _, docs = rendered
    for name in APPS:
        for kind in ("ServiceAccount", "Deployment", "Service", "HorizontalPodAutoscaler",
                     "PodDisruptionBudget", "NetworkPolicy"):
            assert name in by_kind(docs, kind), f"{kind} {name} missing"
        assert f"{name}-config" in {n.rsplit("-", 1)[0] for n in by_kind(docs, "ConfigMap")}
    assert "default-deny" in by_kind(docs, "NetworkPolicy")
    assert "nerava" in by_kind(docs, "Namespace")
    ns = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert ns == {"nerava"}


def test_every_pod_has_the_envoy_sidecar_and_runs_hardened(rendered):
    _, docs = rendered
    for name, d in by_kind(docs, "Deployment").items():
        sc = envoy_sidecar(d)
        assert sc["restartPolicy"] == "Always", "Envoy must be a native sidecar"
        assert "replicas" not in d["spec"], "the HPA owns the replica count"
        assert app(d)["args"] == ["serve", name]
        spec = pod_spec(d)
        assert spec["securityContext"]["runAsNonRoot"] and spec["automountServiceAccountToken"] is False
        assert spec["serviceAccountName"] in by_kind(docs, "ServiceAccount")
    for d in workloads(docs).values():
        for c in containers(d):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
            assert sc["capabilities"]["drop"] == ["ALL"] and sc["runAsUser"] != 0
            assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
            assert c["resources"]["limits"]["memory"]


def test_probes_point_at_declared_ports(rendered):
    _, docs = rendered
    for name, d in by_kind(docs, "Deployment").items():
        for c in containers(d):
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            numbers = set(ports.values())
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = c.get(kind)
                assert probe, f"{name}/{c['name']} has no {kind}"
                (mech,) = [k for k in ("grpc", "httpGet", "tcpSocket") if k in probe]
                port = probe[mech]["port"]
                assert port in numbers or port in ports, f"{name}/{c['name']} {kind} → undeclared port {port}"
                if c["name"] == "app" and name in CONTEXTS:
                    # gRPC probes (grpc.health.v1) straight at the app's gRPC port
                    assert mech == "grpc" and port == int(env_of(c)["GRPC_PORT"]["value"])


def test_services_select_pods_and_target_declared_ports(rendered):
    _, docs = rendered
    deps = by_kind(docs, "Deployment")
    for name, svc in by_kind(docs, "Service").items():
        matched = [d for d in deps.values() if selects({"matchLabels": svc["spec"]["selector"]}, pod_labels(d))]
        assert [m["metadata"]["name"] for m in matched] == [name]
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] in declared_ports(matched[0]), f"Service {name} targets {p['targetPort']}"
            assert declared_ports(matched[0])[p["targetPort"]] == render_envoy.INBOUND_PORT, \
                "traffic enters through the Envoy sidecar"
        if name in CONTEXTS:
            assert svc["spec"]["clusterIP"] == "None", "peers' Envoys balance over pods (headless)"
            assert svc["spec"]["ports"][0]["port"] == render_envoy.INBOUND_PORT


def test_hpa_and_pdb_target_existing_deployments(rendered):
    _, docs = rendered
    deps = by_kind(docs, "Deployment")
    for name, hpa in by_kind(docs, "HorizontalPodAutoscaler").items():
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment" and ref["name"] in deps and ref["apiVersion"] == "apps/v1"
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        for c in containers(deps[ref["name"]]):
            assert c["resources"]["requests"]["cpu"], "CPU utilisation needs CPU requests"
    for name, pdb in by_kind(docs, "PodDisruptionBudget").items():
        matched = [n for n, d in deps.items() if selects(pdb["spec"]["selector"], pod_labels(d))]
        assert matched == [name]


def test_configmaps_and_secrets_referenced_exist(rendered):
    _, docs = rendered
    cms = by_kind(docs, "ConfigMap")
    documented = documented_secrets()
    for name, d in workloads(docs).items():
        spec = pod_spec(d)
        for v in spec.get("volumes", []):
            if "configMap" in v:
                assert v["configMap"]["name"] in cms, f"{name}: volume ConfigMap {v['configMap']['name']} missing"
            if "secret" in v:
                assert (v["secret"]["secretName"], None) in documented, f"{name}: Secret {v['secret']['secretName']} undocumented"
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for c in containers(d):
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes
            for ef in c.get("envFrom", []):
                assert ef["configMapRef"]["name"] in cms, f"{name}: envFrom {ef['configMapRef']['name']} missing"
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert (ref["name"], ref["key"]) in documented, f"{name}: Secret {ref['name']}/{ref['key']} undocumented"


def documented_secrets() -> set[tuple[str, str | None]]:
    """Secrets are not in the repository: docs/deploy.md says how to create each one. Every
    (name, key) a manifest references must be created by a ``kubectl -n nerava create secret
    generic`` command there (``${name}`` expands over an enclosing ``for name in ...; do`` loop)."""
    text = (ROOT / "docs" / "deploy.md").read_text().replace("\\\n", " ")
    out: set[tuple[str, str | None]] = set()
    loop: list[str] = []
    for line in text.splitlines():
        m = re.search(r"for name in ([\w ]+); do", line)
        if m:
            loop = m.group(1).split()
        m = re.search(r"kubectl -n nerava create secret generic (\S+)(.*)", line)
        if not m:
            continue
        keys = re.findall(r"--from-(?:literal|file)=([\w.-]+)=", m.group(2))
        names = [m.group(1).replace("${name}", n) for n in loop] if "${name}" in m.group(1) else [m.group(1)]
        for name in names:
            out.add((name, None))
            out.update((name, k) for k in keys)
    return out


def test_secret_documentation_is_parsed():
    secrets = documented_secrets()
    assert ("nerava-jwt", "secret") in secrets and ("wallet-db", "url") in secrets
    assert ("clo-envoy-tls", "tls.key") in secrets


def test_env_vars_are_read_by_the_processes(rendered):
    _, docs = rendered
    known = known_env_vars()
    for name, cm in by_kind(docs, "ConfigMap").items():
        if name.startswith("envoy-"):
            continue
        assert set(cm["data"]) <= known, f"ConfigMap {name}: {set(cm['data']) - known}"
    for name, d in workloads(docs).items():
        for c in containers(d):
            if c["name"] == "envoy":
                continue
            assert set(env_of(c)) <= known, f"{name}: {set(env_of(c)) - known}"


def secret_stand_in(var: str) -> str:
    from cryptography.fernet import Fernet

    if var.endswith("_DATABASE_URL"):
        return "postgresql://nerava:pw@db:5432/x"
    if var == "TOKEN_ENCRYPTION_KEYS":
        return Fernet.generate_key().decode()
    if var == "STRIPE_SECRET_KEY":
        return "sk_live_" + "s" * 40
    return "s" * 48


def pod_environment(docs: list[dict], d: dict, c: dict) -> dict[str, str]:
    cms = by_kind(docs, "ConfigMap")
    env: dict[str, str] = {}
    for ef in c.get("envFrom", []):
        env.update(cms[ef["configMapRef"]["name"]]["data"])
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        else:  # a Secret: a stand-in value of the right shape
            env[e["name"]] = secret_stand_in(e["name"])
    return env


def test_each_pod_passes_its_start_up_settings_validation(rendered, monkeypatch):
    """Load each process's settings class with the pod's environment (ConfigMaps + env, Secrets as
    stand-ins): production must not trip the mock-mode or development-secret refusals."""
    from gateway.__main__ import GatewayConfig
    from kit.service import ServiceConfig
    from kit.settings import load

    variant, docs = rendered
    for name, d in by_kind(docs, "Deployment").items():
        env = pod_environment(docs, d, app(d))
        with monkeypatch.context() as m:
            for k in list(__import__("os").environ):
                if k in known_env_vars():
                    m.delenv(k)
            for k, v in env.items():
                m.setenv(k, v)
            if name == "gateway":
                cfg = load(GatewayConfig)
            else:
                mod = importlib.import_module(f"services.{name}.config")
                cls = next(c for c in vars(mod).values()
                           if isinstance(c, type) and issubclass(c, ServiceConfig) and c is not ServiceConfig)
                cfg = load(cls)
                assert cfg.database_url().startswith("postgresql+asyncpg://")
            assert cfg.env == ("production" if variant.endswith("production") else "development")


def test_the_envoy_configmap_matches_the_pod(rendered):
    variant, docs = rendered
    cms = by_kind(docs, "ConfigMap")
    mtls = variant.endswith("production")
    for name, d in by_kind(docs, "Deployment").items():
        vol = next(v for v in pod_spec(d)["volumes"] if v["name"] == "envoy-config")
        text = cms[vol["configMap"]["name"]]["data"]["envoy.yaml"]
        assert text == render_envoy.render(name, mtls=mtls)
        boot = yaml.safe_load(text)
        mount = next(m for m in envoy_sidecar(d)["volumeMounts"] if m["name"] == "envoy-config")
        assert envoy_sidecar(d)["args"][envoy_sidecar(d)["args"].index("-c") + 1] == mount["mountPath"] + "/envoy.yaml"
        local = next(c for c in boot["static_resources"]["clusters"] if c["name"] == "local_app")
        app_port = local["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"]
        assert app_port == declared_ports(d)["app"]
        listeners = {l["name"]: l["address"]["socket_address"]["port_value"] for l in boot["static_resources"]["listeners"]}
        assert listeners["inbound"] == declared_ports(d)["inbound"]
        assert listeners["ready"] == declared_ports(d)["envoy-ready"]
        # the app reaches each peer through an outbound listener of its sidecar
        for key, e in env_of(app(d)).items():
            if key.endswith("_GRPC_ADDR"):
                peer = key.removesuffix("_GRPC_ADDR").lower()
                assert e["value"] == f"127.0.0.1:{listeners[f'outbound_{peer}']}"
        assert {k.removesuffix("_GRPC_ADDR").lower() for k in env_of(app(d)) if k.endswith("_GRPC_ADDR")} \
            == set(render_envoy.PEERS[name])
        if mtls:
            tls = next(m for m in envoy_sidecar(d)["volumeMounts"] if m["name"] == "envoy-tls")
            assert tls["mountPath"] == render_envoy.TLS_DIR
            assert "DownstreamTlsContext" in text or name == "gateway"
            assert "UpstreamTlsContext" in text


def test_network_policies_allow_exactly_the_calls_envoy_makes(rendered):
    _, docs = rendered
    deps = by_kind(docs, "Deployment")
    pols = by_kind(docs, "NetworkPolicy")
    assert pols["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

    def allowed(src: str, dst: str, port: int) -> bool:
        egress = any(
            selects(pols[src]["spec"]["podSelector"], pod_labels(deps[src]))
            and any(p["port"] == port for p in rule.get("ports", []))
            and any("podSelector" in to and selects(to["podSelector"], pod_labels(deps[dst])) for to in rule.get("to", []))
            for rule in pols[src]["spec"].get("egress", []))
        ingress = any(
            any(p["port"] == port for p in rule.get("ports", []))
            and ("from" not in rule or any("podSelector" in f and selects(f["podSelector"], pod_labels(deps[src]))
                                           for f in rule["from"]))
            for rule in pols[dst]["spec"].get("ingress", []))
        return egress and ingress

    for src in APPS:
        for dst in CONTEXTS:
            expected = dst in render_envoy.PEERS[src]
            assert allowed(src, dst, render_envoy.INBOUND_PORT) == expected, f"{src} → {dst}"
    for name, pol in pols.items():
        if name == "default-deny":
            continue
        targets = [d for d in workloads(docs).values() if selects(pol["spec"]["podSelector"], pod_labels(d))]
        assert targets, f"NetworkPolicy {name} selects no pod"
        for rule in pol["spec"].get("ingress", []):
            for p in rule.get("ports", []):
                assert all(p["port"] in declared_ports(t) for t in targets), f"{name}: ingress port {p['port']} not declared"


def test_migration_job(rendered):
    _, docs = rendered
    job = by_kind(docs, "Job")["nerava-migrate"]
    spec = pod_spec(job)
    (c,) = spec["containers"]
    assert c["args"] == ["migrate"] and spec["restartPolicy"] == "Never"
    assert {f"{x.upper()}_DATABASE_URL" for x in CONTEXTS} <= set(env_of(c))
    assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["activeDeadlineSeconds"] > 0
    app_images = {app(d)["image"] for d in by_kind(docs, "Deployment").values()}
    assert app_images == {c["image"]}, "migrations and services run the same image"
    pol = by_kind(docs, "NetworkPolicy")["nerava-migrate"]
    assert selects(pol["spec"]["podSelector"], pod_labels(job))


def test_production_overlay(rendered):
    variant, docs = rendered
    if not variant.endswith("production"):
        assert {app(d)["image"] for d in by_kind(docs, "Deployment").values()} == {"nerava:dev"}
        return
    images = {app(d)["image"] for d in by_kind(docs, "Deployment").values()}
    assert len(images) == 1 and ":" in images.pop()
    assert all(h["spec"]["minReplicas"] >= 3 for h in by_kind(docs, "HorizontalPodAutoscaler").values())
    tele = app(by_kind(docs, "Deployment")["telemetry"])
    assert tele["resources"]["requests"]["cpu"] == "1"
