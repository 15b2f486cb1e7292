"""The image's entrypoint run in the image's file layout (no Docker engine here).

The runtime stage's COPY instructions are replayed into a scratch /app, and the ENTRYPOINT runs
there with the Dockerfile's ENV: ``migrate`` (so the Alembic files are in the image), ``serve wallet``
(a gRPC service), ``serve gateway``, and the bare HEALTHCHECK command for each."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from cli.stack import free_port
from tests.unit.test_deploy_image import ROOT, copy_args, stages

pytestmark = pytest.mark.e2e


def image_layout(dest: pathlib.Path) -> tuple[pathlib.Path, dict[str, str], list[str]]:
    """Replay the runtime stage: COPY sources (ignoring --from stages: the virtualenv is this one),
    WORKDIR, ENV; return the work dir, the environment and the entrypoint."""
    workdir, env, entry = dest, {}, []
    for ins in stages()[-1][1]:
        if ins["instruction"] == "WORKDIR":
            workdir = dest / ins["value"].lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif ins["instruction"] == "COPY":
            flags, sources, target = copy_args(ins["value"])
            if "from" in flags:
                continue
            for src in sources:
                to = (workdir / target) if not target.startswith("/") else dest / target.lstrip("/")
                shutil.copytree(ROOT / src, to, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif ins["instruction"] == "ENV":
            for pair in ins["value"].split():
                k, _, v = pair.partition("=")
                env[k] = v
        elif ins["instruction"] == "ENTRYPOINT":
            entry = json.loads(ins["value"])
    return workdir, env, entry


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("image")
    workdir, image_env, entry = image_layout(tmp)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL") and k != "PYTHONPATH"}
    env.update({k: v for k, v in image_env.items() if k != "PATH"})
    # Paths inside the image, mapped into the scratch dir.
    env.update({"PYTHONPATH": str(workdir), "NERAVA_DATA_DIR": str(tmp / "data"),
                "NERAVA_RUN_DIR": str(tmp / "run"), "ENV": "test", "METRICS_PORT": "0"})
    cmd = [sys.executable if entry[0] == "python" else entry[0], *entry[1:]]
    return workdir, env, cmd


def run(image, *args, extra=None, **kw):
    workdir, env, cmd = image
    return subprocess.run([*cmd, *args], cwd=workdir, env={**env, **(extra or {})}, capture_output=True,
                          text=True, timeout=60, **kw)


def test_code_is_imported_from_the_image_layout(image):
    workdir, env, _ = image
    out = subprocess.run([sys.executable, "-c", "import kit, services.wallet, nerava; print(kit.__file__)"],
                         cwd=workdir, env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(workdir))


def test_migrate_serve_and_healthcheck(image):
    workdir, env, cmd = image
    res = run(image, "migrate")
    assert res.returncode == 0, res.stderr
    assert {f"migrated {s}" for s in ("telemetry", "incentives", "wallet", "clo")} <= set(res.stdout.splitlines())

    for name, port_env in (("wallet", "GRPC_PORT"), ("gateway", "NERAVA_GATEWAY_PORT")):
        port = free_port()
        extra = {port_env: str(port), "NERAVA_RUN_DIR": str(workdir.parent / f"run-{name}")}
        proc = subprocess.Popen([*cmd, "serve", name], cwd=workdir, env={**env, **extra},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                hc = run(image, "healthcheck", extra=extra)  # bare: the role recorded by serve
                if hc.returncode == 0 or proc.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, proc.stdout.read()
            assert hc.returncode == 0, hc.stdout + hc.stderr
            assert name in hc.stdout
            assert (workdir.parent / f"run-{name}" / "serving").read_text() == name
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(20)
        # uvicorn (the gateway) re-raises SIGTERM after its graceful shutdown: -15 is a clean stop too
        assert code in (0, -signal.SIGTERM), f"{name} did not stop cleanly on SIGTERM ({code})"
        hc = run(image, "healthcheck", extra=extra)
        assert hc.returncode == 1, "healthcheck must fail once the process is gone"
