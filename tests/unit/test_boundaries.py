"""Architecture rules as a test: services share only the kit and the generated contracts."""
from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVICES = ("telemetry", "incentives", "wallet", "clo")


def imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_no_service_imports_another_service():
    bad = []
    for svc in SERVICES:
        for path in (ROOT / "services" / svc).rglob("*.py"):
            for mod in imports(path):
                for other in SERVICES:
                    if other != svc and (mod == f"services.{other}" or mod.startswith(f"services.{other}.")):
                        bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert bad == []


def test_kit_and_gateway_import_no_service_code():
    bad = [f"{p.relative_to(ROOT)} imports {m}" for folder in ("kit", "gateway")
           for p in (ROOT / folder).rglob("*.py") for m in imports(p) if m.startswith("services")]
    assert bad == []


def test_domain_rules_have_no_grpc_or_sql():
    bad = []
    for svc in SERVICES:
        for path in (ROOT / "services" / svc / "domain").rglob("*.py"):
            for mod in imports(path):
                if mod.split(".")[0] in ("grpc", "sqlalchemy", "nerava", "httpx", "stripe"):
                    bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert bad == []


def test_every_service_has_the_same_shape():
    for svc in SERVICES:
        base = ROOT / "services" / svc
        for part in ("domain", "app", "adapters", "entrypoint", "migrations/versions", "config.py",
                     "__main__.py", "adapters/tables.py", "migrations/env.py"):
            assert (base / part).exists(), f"services/{svc}/{part} is missing"


def test_the_adr_index_lists_every_adr():
    import importlib

    adr_index = importlib.import_module("scripts.adr_index")
    assert adr_index.main(["--check"]) == 0, "run .venv/bin/python scripts/adr_index.py"
