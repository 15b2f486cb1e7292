"""The real gateway process (``python -m gateway``, uvicorn + httptools) on its own: the /docs page
in headless Chromium, and the edge over real HTTP (limits, client IPs, chunked bodies, headers)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

import httpx
import pytest

from cli.stack import free_port
from gateway.edge import DOCS_CSP
from kit.settings import DEV_JWT_SECRET
from tests.gateway_fakes import bearer

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "NERAVA_GATEWAY_PORT": str(port), "NERAVA_GATEWAY_HOST": "127.0.0.1",
           "METRICS_PORT": "0", "ENV": "test", "NERAVA_JWT_SECRET": DEV_JWT_SECRET,
           "GATEWAY_RATE_LIMIT_ENABLED": "true",
           "GATEWAY_RATE_LIMITS": "/v1/auth/tesla/login=3/minute,*=unlimited",
           # nothing listens there: the upstream RPCs fail fast, the edge is what is tested
           **{f"{c}_GRPC_ADDR": f"127.0.0.1:{free_port()}" for c in ("TELEMETRY", "INCENTIVES", "WALLET", "CLO")},
           "GATEWAY_UPSTREAM_TIMEOUT_S": "1"}
    log = open(tmp_path_factory.mktemp("gw") / "gateway.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail("gateway did not start:\n" + log.read()[-3000:])
        time.sleep(0.1)
    yield base
    proc.terminate()
    # uvicorn shuts down gracefully, then re-raises SIGTERM (exit status -15)
    assert proc.wait(timeout=15) in (0, -15)


def test_docs_page_renders_the_wallet_endpoints_in_headless_chromium(gateway):
    assert CHROMIUM, "chromium is missing: `make browser` installs the Debian package"
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}",
             "--virtual-time-budget=20000", "--dump-dom", gateway + "/docs"],
            capture_output=True, text=True, timeout=90)
    dom = run.stdout
    assert run.returncode == 0, run.stderr[-3000:]
    for path in ("/v1/wallet/balance", "/v1/wallet/ledger", "/v1/wallet/withdraw",
                 "/v1/wallet/stripe/account-link", "/v1/wallet/stripe/webhook"):
        assert path in dom, f"{path} not rendered"
    assert "opblock-summary" in dom  # rendered by Swagger UI, not just present in a script
    assert "Nerava API" in dom
    # the page loads only the gateway's own assets: a blocked script, style or fetch would be logged
    assert "Content Security Policy" not in run.stderr, [
        line for line in run.stderr.splitlines() if "Content Security Policy" in line][:3]


def test_docs_assets_come_from_the_gateway_with_a_strict_csp(gateway):
    page = httpx.get(gateway + "/docs")
    assert page.status_code == 200 and page.headers["content-security-policy"] == DOCS_CSP
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    js = httpx.get(gateway + "/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert httpx.get(gateway + "/docs/assets/package.json").status_code == 404
    assert httpx.get(gateway + "/docs/assets/..%2F..%2Fpackage.json").status_code == 404


def test_rate_limit_over_http_uses_the_forwarded_client_ip_from_a_trusted_proxy(gateway):
    url = gateway + "/v1/auth/tesla/login"
    a = {"x-forwarded-for": "198.51.100.1"}
    statuses = [httpx.post(url, json={}, headers=a).status_code for _ in range(4)]
    assert statuses[:3] == [503, 503, 503] and statuses[3] == 429  # upstream down; then limited
    r = httpx.post(url, json={}, headers=a)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and r.json()["detail"]
    # another client behind the same (trusted, loopback) proxy has its own budget
    assert httpx.post(url, json={}, headers={"x-forwarded-for": "198.51.100.2"}).status_code == 503


def test_chunked_upload_over_10_mb_is_cut_off_with_413(gateway):
    def chunks():
        for _ in range(48):  # 12 MB
            yield b" " * (256 * 1024)

    r = httpx.post(gateway + "/v1/wallet/withdraw", content=chunks(),
                   headers={**bearer(), "content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.json() == {"detail": "Request body too large"}
    assert r.headers["x-content-type-options"] == "nosniff"


def test_security_headers_and_request_id_over_http(gateway):
    r = httpx.get(gateway + "/v1/wallet/balance", headers={"x-request-id": "e2e-rid-1"})
    assert r.status_code == 401 and r.headers["x-request-id"] == "e2e-rid-1"
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
