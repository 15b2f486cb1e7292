"""deploy/Dockerfile and .dockerignore, checked by parsing (no Docker engine here).

What a build would catch is checked statically: stages and their references, the non-root user,
every COPY source present in the repository and not excluded from the build context, an entrypoint
module that exists, and a dependency list that leaves out only what no runtime code imports.
tests/e2e/test_deploy_image_entrypoint.py runs the entrypoint in the image's file layout."""
from __future__ import annotations

import ast
import json
import pathlib
import re
import shlex
import tomllib

import pytest
from dockerfile_parse import DockerfileParser

from cli import ops
from cli.main import main as nerava

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
RUNTIME_PACKAGES = ("kit", "services", "gateway", "simulators", "cli", "nerava")


def instructions() -> list[dict]:
    return [i for i in DockerfileParser(path=str(DOCKERFILE)).structure if i["instruction"] != "COMMENT"]


def stages() -> list[tuple[str | None, list[dict]]]:
    out: list[tuple[str | None, list[dict]]] = []
    for ins in instructions():
        if ins["instruction"] == "FROM":
            parts = ins["value"].split()
            name = parts[2] if len(parts) == 3 and parts[1].lower() == "as" else None
            out.append((name, []))
        elif out:
            out[-1][1].append(ins)
    return out


def copy_args(value: str) -> tuple[dict[str, str], list[str], str]:
    words = shlex.split(value)
    flags = {}
    while words and words[0].startswith("--"):
        k, _, v = words.pop(0)[2:].partition("=")
        flags[k] = v
    return flags, words[:-1], words[-1]


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(rel: str, patterns: list[str]) -> bool:
    """Docker's rules: patterns are relative to the context root (``**`` spans directories), a
    match on a directory covers everything below it, ``!`` re-includes, the last match wins."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pat in patterns:
        neg = pat.startswith("!")
        rx = _pattern_regex((pat[1:] if neg else pat).strip("/"))
        if any(rx.fullmatch(pre) for pre in prefixes):
            result = not neg
    return result


def test_multi_stage_and_stage_references():
    st = stages()
    assert len(st) >= 2, "the image must be multi-stage"
    names = [n for n, _ in st]
    assert names[-1] == "runtime"
    for i, (_, body) in enumerate(st):
        for ins in body:
            if ins["instruction"] == "COPY":
                flags, _, _ = copy_args(ins["value"])
                if "from" in flags:
                    assert flags["from"] in names[:i], f"COPY --from={flags['from']} names no earlier stage"


def test_runtime_runs_as_a_non_root_user():
    _, body = stages()[-1]
    users = [ins["value"].strip() for ins in body if ins["instruction"] == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user.isdigit() and int(user) >= 1000
    # nothing after USER needs root (no package installs as the runtime user)
    after = body[[i for i, ins in enumerate(body) if ins["instruction"] == "USER"][-1]:]
    assert not any(ins["instruction"] == "RUN" for ins in after)


def test_every_copy_source_exists_and_is_in_the_build_context():
    patterns = dockerignore_patterns()
    copied = set()
    for _, body in stages():
        for ins in body:
            if ins["instruction"] not in ("COPY", "ADD"):
                continue
            assert ins["instruction"] == "COPY", "use COPY, not ADD"
            flags, sources, _ = copy_args(ins["value"])
            if "from" in flags:
                continue
            for src in sources:
                path = ROOT / src
                assert path.exists(), f"COPY source {src} does not exist"
                assert not ignored(src.rstrip("/"), patterns), f"COPY source {src} is excluded by .dockerignore"
                copied.add(src.rstrip("/").split("/")[0])
    assert set(RUNTIME_PACKAGES) <= copied, "the image must contain every runtime package (and nerava/)"
    assert (ROOT / "nerava" / "descriptors.binpb").exists(), "generated code (descriptor set) missing"


def test_dockerignore_keeps_secrets_and_local_state_out():
    patterns = dockerignore_patterns()
    for rel in (".git", ".venv", "var", "tests", ".env", "prod.env", "services/wallet/__pycache__",
                "kit/__pycache__/db.cpython-311.pyc", "wallet.db"):
        assert ignored(rel, patterns), f"{rel} should not be sent to the build"
    for rel in ("kit/db.py", "services/wallet/migrations/env.py", "nerava/descriptors.binpb", "pyproject.toml"):
        assert not ignored(rel, patterns), f"{rel} must be in the build context"


def test_entrypoint_healthcheck_and_cmd_run_the_nerava_cli():
    body = stages()[-1][1]
    by = {ins["instruction"]: ins["value"] for ins in body}
    entry = json.loads(by["ENTRYPOINT"])
    assert entry == ["python", "-m", "cli.main"], "exec form, the nerava CLI"
    assert (ROOT / "cli" / "main.py").exists()
    assert "__main__" in (ROOT / "cli" / "main.py").read_text()
    hc = by["HEALTHCHECK"]
    assert "CMD" in hc and json.loads(hc.split("CMD", 1)[1].strip())[-1] == "healthcheck"
    assert json.loads(by["CMD"]) == ["--help"]
    with pytest.raises(SystemExit) as exc:
        nerava(["--help"])
    assert exc.value.code == 0


def test_image_dependencies_leave_out_only_code_generation():
    """The build stage installs pyproject's dependencies except grpcio-tools; prove no runtime module
    imports grpc_tools, so leaving it out cannot break a process."""
    run = [ins["value"] for ins in stages()[0][1] if ins["instruction"] == "RUN" and "tomllib" in ins["value"]]
    assert run and "grpcio-tools" in run[0]
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("grpcio-tools") for d in deps)
    for pkg in RUNTIME_PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                assert not any(n.split(".")[0] == "grpc_tools" for n in names), f"{path} imports grpc_tools"


def test_exposed_ports_are_the_default_ports():
    from kit.settings import METRICS_PORTS, PORTS
    from cli.stack import SIMULATORS

    body = stages()[-1][1]
    exposed = {int(p) for ins in body if ins["instruction"] == "EXPOSE" for p in ins["value"].split()}
    assert exposed == {*PORTS.values(), *METRICS_PORTS.values(), *(d for _, d in SIMULATORS.values())}


def test_serve_execs_the_same_module_nerava_up_starts(tmp_path, monkeypatch):
    from cli.stack import Ports, Stack

    monkeypatch.setenv("NERAVA_RUN_DIR", str(tmp_path))
    stack = Stack(ports=Ports.free(), data_dir=tmp_path)
    for name in ops.ROLES:
        calls = []
        assert ops.serve(name, execv=lambda exe, argv: calls.append(argv)) == 0
        assert calls[0][1:] == stack.command(name)[1:]
        assert (tmp_path / "serving").read_text() == name
    assert ops.serve("nope", execv=lambda *a: pytest.fail("must not exec")) == 2


def test_healthcheck_without_a_recorded_role_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NERAVA_RUN_DIR", str(tmp_path / "empty"))
    assert ops.healthcheck(None) == 1
    assert "no process recorded" in capsys.readouterr().err


def test_healthcheck_reports_a_process_that_is_not_listening(tmp_path, monkeypatch):
    from cli.stack import free_port

    port = free_port()
    monkeypatch.setenv("GRPC_PORT", str(port))
    ok, detail = ops.check("wallet", timeout_s=0.5)
    assert not ok and "UNAVAILABLE" in detail
    monkeypatch.setenv("NERAVA_GATEWAY_PORT", str(port))
    ok, detail = ops.check("gateway", timeout_s=0.5)
    assert not ok and "ConnectError" in detail
