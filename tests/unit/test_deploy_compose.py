"""deploy/compose.yaml, checked by parsing (no Docker engine here): every service, port, env var,
volume and dependency is consistent with the code, the image and the Envoy sidecar configs."""
from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from cli import ops
from kit.settings import METRICS_PORTS, PORTS

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CONTEXTS = ("telemetry", "incentives", "wallet", "clo")
APPS = (*CONTEXTS, "gateway")
ENVOY_INBOUND = 10000
VALID_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def envoy(name: str) -> dict:
    return yaml.safe_load((DEPLOY / "envoy" / f"{name}.yaml").read_text())


def known_env_vars() -> set[str]:
    """Every variable the processes read: the settings classes' aliases plus the few read directly."""
    import importlib

    from gateway.__main__ import GatewayConfig
    from kit.service import ServiceConfig

    classes = [GatewayConfig, ServiceConfig]
    for ctx in CONTEXTS:
        mod = importlib.import_module(f"services.{ctx}.config")
        classes += [c for c in vars(mod).values() if isinstance(c, type) and issubclass(c, ServiceConfig)]
    names = {f.alias for cls in classes for f in cls.model_fields.values() if f.alias}
    for cls in classes:  # AliasChoices("NEW_NAME", "OLD_NAME"): every choice is read
        for f in cls.model_fields.values():
            choices = getattr(f.validation_alias, "choices", None) or []
            names |= {c for c in choices if isinstance(c, str)}
    # read with os.environ: kit/server.py, simulators/, cli/ops.py, kit/settings.upstream_addr users
    names |= {"GRPC_PORT", "SIMULATOR_HOST", "TESLA_SIM_PORT", "FAKE_STRIPE_PORT", "FIDEL_SIM_PORT",
              "NERAVA_RUN_DIR"}
    return names


def depends(svc: dict) -> dict[str, str]:
    dep = svc.get("depends_on", {})
    if isinstance(dep, list):
        return {d: "service_started" for d in dep}
    return {k: v.get("condition", "service_started") for k, v in dep.items()}


def published(svc: dict) -> list[tuple[str, int]]:
    out = []
    for p in svc.get("ports", []):
        host, container = str(p).rsplit(":", 1)
        out.append((host, int(container)))
    return out


def host_port(spec: str) -> int:
    m = re.fullmatch(r"\$\{[A-Z_]+:-(\d+)\}|(\d+)", spec)
    assert m, f"host port {spec!r} must be a number or ${{VAR:-number}}"
    return int(m.group(1) or m.group(2))


def test_expected_services_exist(services):
    assert {"postgres", "migrate", *APPS, *(f"{a}-envoy" for a in APPS)} <= set(services)


def test_every_dependency_exists_with_a_valid_condition(services):
    for name, svc in services.items():
        for target, cond in depends(svc).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert cond in VALID_CONDITIONS, f"{name} → {target}: {cond}"
            if cond == "service_healthy":
                hc = services[target].get("healthcheck", {})
                assert hc and not hc.get("disable"), f"{name} waits for {target} healthy, which has no healthcheck"
            if cond == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} must be one-shot"
    # no cycles
    seen: dict[str, int] = {}

    def visit(n: str) -> None:
        assert seen.get(n) != 1, f"dependency cycle through {n}"
        if seen.get(n) == 2:
            return
        seen[n] = 1
        for t in depends(services[n]):
            visit(t)
        seen[n] = 2

    for n in services:
        visit(n)


def test_migrations_are_a_one_shot_step_before_every_service(services):
    mig = services["migrate"]
    assert mig["command"] == ["migrate"] and mig["restart"] == "no"
    assert depends(mig) == {"postgres": "service_healthy"}
    for ctx in CONTEXTS:
        assert depends(services[ctx]).get("migrate") == "service_completed_successfully"
        assert mig["environment"][f"{ctx.upper()}_DATABASE_URL"] == services[ctx]["environment"][f"{ctx.upper()}_DATABASE_URL"]


def test_each_service_owns_a_database_that_init_sql_creates(services):
    created = set(re.findall(r"CREATE DATABASE (\w+);", (DEPLOY / "postgres" / "init.sql").read_text()))
    mounts = services["postgres"]["volumes"]
    assert "./postgres/init.sql:/docker-entrypoint-initdb.d/10-databases.sql:ro" in mounts
    urls = {}
    for ctx in CONTEXTS:
        env = services[ctx]["environment"]
        url = env[f"{ctx.upper()}_DATABASE_URL"]
        m = re.fullmatch(r"postgresql://(\w+):\$\{POSTGRES_PASSWORD:-\w+\}@postgres:5432/(\w+)", url)
        assert m, url
        assert m.group(1) == services["postgres"]["environment"]["POSTGRES_USER"]
        urls[ctx] = m.group(2)
        # no service is given another service's database
        assert not [k for k in env if k.endswith("_DATABASE_URL") and k != f"{ctx.upper()}_DATABASE_URL"]
    assert set(urls.values()) == created and len(set(urls.values())) == 4


def test_apps_use_the_image_entrypoint_and_known_env_vars(services):
    known = known_env_vars()
    for name, svc in services.items():
        if svc.get("image", "").startswith("${NERAVA_IMAGE"):
            assert svc["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
            assert (DEPLOY / ".." / svc["build"]["dockerfile"]).exists()
            cmd = svc["command"]
            assert cmd == ["migrate"] or (cmd[0] == "serve" and cmd[1] in ops.ROLES), cmd
            unknown = set(svc.get("environment", {})) - known
            assert not unknown, f"{name} sets variables no process reads: {unknown}"


def test_jwt_secret_comes_from_the_environment_and_is_required(services):
    for name in (*APPS, "migrate"):
        value = services[name]["environment"]["NERAVA_JWT_SECRET"]
        assert re.fullmatch(r"\$\{NERAVA_JWT_SECRET:\?.+\}", value), f"{name}: must be ${{NERAVA_JWT_SECRET:?...}}"


def test_service_ports_env_and_sidecar_agree(services):
    for ctx in CONTEXTS:
        env = services[ctx]["environment"]
        assert int(env["GRPC_PORT"]) == PORTS[ctx]
        assert int(env["METRICS_PORT"]) == METRICS_PORTS[ctx]
        cfg = envoy(ctx)
        local = next(c for c in cfg["static_resources"]["clusters"] if c["name"] == "local_app")
        app_port = local["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"]
        assert app_port == int(env["GRPC_PORT"]), f"{ctx}: Envoy inbound does not reach the app's GRPC_PORT"
        hc = services[ctx]["healthcheck"]["test"]
        assert hc == ["CMD", "python", "-m", "cli.main", "healthcheck", ctx]
    gw = services["gateway"]["environment"]
    assert int(gw["NERAVA_GATEWAY_PORT"]) == PORTS["gateway"]


def test_peer_addresses_point_at_the_sidecars_outbound_listeners(services):
    for app in APPS:
        env = services[app]["environment"]
        listeners = {l["address"]["socket_address"]["port_value"]: l for l in envoy(app)["static_resources"]["listeners"]
                     if l["address"]["socket_address"]["address"] == "127.0.0.1"}
        addrs = {k: v for k, v in env.items() if k.endswith("_GRPC_ADDR")}
        if app == "gateway":
            assert set(addrs) == {f"{c.upper()}_GRPC_ADDR" for c in CONTEXTS}
        for key, value in addrs.items():
            peer = key.removesuffix("_GRPC_ADDR").lower()
            host, port = value.split(":")
            assert host == "127.0.0.1" and int(port) in listeners, f"{app}: {key} has no Envoy outbound listener"
            assert listeners[int(port)]["name"] == f"outbound_{peer}"
            # ... whose cluster goes to the peer's inbound Envoy by its compose service name
            cluster = next(c for c in envoy(app)["static_resources"]["clusters"] if c["name"] == peer)
            sa = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
            assert sa["address"] in services and sa["port_value"] == ENVOY_INBOUND


def test_sidecars_share_the_apps_network_and_mount_existing_configs(services):
    for app in APPS:
        sc = services[f"{app}-envoy"]
        assert sc["network_mode"] == f"service:{app}"
        assert depends(sc) == {app: "service_started"}
        assert "ports" not in sc, "ports of a shared network namespace are published on the app"
        (mount,) = sc["volumes"]
        src, dst, mode = mount.split(":")
        assert (DEPLOY / src).resolve() == (DEPLOY / "envoy" / f"{app}.yaml").resolve() and (DEPLOY / src).exists()
        assert dst == sc["command"][sc["command"].index("-c") + 1] and mode == "ro"
        assert sc["healthcheck"]["test"][-1].count("15021") == 1
        # the app publishes the sidecar's inbound port (never the app port directly)
        assert (published(services[app])[0][1]) == ENVOY_INBOUND


def test_host_ports_do_not_collide_and_container_ports_are_listened_on(services):
    seen: dict[int, str] = {}
    for name, svc in services.items():
        for host, container in published(svc):
            hp = host_port(host)
            assert hp not in seen, f"host port {hp} used by {seen.get(hp)} and {name}"
            seen[hp] = name
            if name in APPS:
                env = svc["environment"]
                assert container in (ENVOY_INBOUND, int(env["METRICS_PORT"])), f"{name} publishes {container}"


def test_volumes_are_declared_and_bind_mounts_exist(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith((".", "/")):
                assert (DEPLOY / src).exists(), f"{name}: bind mount {src} does not exist"
            else:
                assert src in declared, f"{name}: volume {src} is not declared"


def test_long_running_services_have_health_checks(services):
    for name, svc in services.items():
        if name == "migrate":
            assert svc["healthcheck"] == {"disable": True}
            continue
        hc = svc.get("healthcheck")
        assert hc and hc["test"][0] == "CMD" and not hc.get("disable"), f"{name} needs a healthcheck"


def test_gateway_waits_for_healthy_services_and_sidecars(services):
    deps = depends(services["gateway"])
    for ctx in CONTEXTS:
        assert deps[ctx] == "service_healthy" and deps[f"{ctx}-envoy"] == "service_healthy"
