"""The walking skeleton through real processes: REST via the gateway, gRPC directly."""
from __future__ import annotations

import time

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from tests.e2e.conftest import token

pytestmark = pytest.mark.e2e


def get(base_url, path, tok=None, **kw):
    headers = kw.pop("headers", {})
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    return httpx.get(base_url + path, headers=headers, timeout=10, **kw)


def post(base_url, path, tok=None, **kw):
    headers = kw.pop("headers", {})
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    return httpx.post(base_url + path, headers=headers, timeout=10, **kw)


def test_health_and_readiness(base_url):
    assert get(base_url, "/healthz").json() == {"status": "ok"}
    r = get(base_url, "/readyz")
    assert r.status_code == 200
    assert r.json()["upstreams"] == {s: "SERVING" for s in ("telemetry", "incentives", "wallet", "clo")}


def test_wallet_balance_is_created_with_zeros(base_url):
    r = get(base_url, "/v1/wallet/balance", token("driver-e2e-1"))
    assert r.status_code == 200, r.text
    assert r.json() == {"available_cents": 0, "pending_cents": 0, "total_earned_cents": 0,
                        "total_withdrawn_cents": 0, "can_withdraw": False,
                        "minimum_withdrawal_cents": 2000, "fee_threshold_cents": 2000,
                        "stripe_onboarding_complete": False, "debt_cents": 0,
                        "payout_provider": "stripe", "bank_verified": False}
    assert r.headers["content-type"].startswith("application/json")


def test_one_real_rpc_per_service(base_url):
    driver, sponsor = token("driver-e2e-2"), token("sponsor-e2e-1", "sponsor")
    assert get(base_url, "/v1/auth/tesla/status", driver).json() == {
        "connected": False, "vehicle_name": None, "vehicle_model": None, "vehicle_year": None,
        "exterior_color": None, "battery_level": None, "vin": None}
    assert get(base_url, "/v1/campaigns/", sponsor).json() == {"campaigns": [], "count": 0, "total": 0}
    assert get(base_url, "/v1/campaigns", sponsor).json()["campaigns"] == []  # no-slash form too
    assert get(base_url, "/v1/clo/cards", driver).json() == {"cards": []}


def test_auth_failures(base_url):
    r = get(base_url, "/v1/wallet/balance")
    assert r.status_code == 401 and r.json() == {"detail": {"error": "unauthorized", "message": "Sign in required"}}
    expired = token("d", ttl_s=-10)
    r = get(base_url, "/v1/wallet/balance", expired)
    assert r.status_code == 401 and r.json()["detail"]["message"] == "Token expired"
    r = get(base_url, "/v1/wallet/balance", "not-a-jwt")
    assert r.status_code == 401
    r = get(base_url, "/v1/wallet/balance", headers={"Cookie": f"access_token={token('cookie-user')}"})
    assert r.status_code == 200  # the apps may send the token as a cookie
    r = get(base_url, "/v1/wallet/balance", token("sponsor-only", "sponsor"))
    assert r.status_code == 403 and r.json() == {"detail": "Driver access required"}


def test_bad_input_is_a_4xx_with_detail(base_url):
    sponsor = token("sponsor-e2e-2", "sponsor")
    r = get(base_url, "/v1/campaigns/?limit=500", sponsor)
    assert r.status_code == 400 and "limit" in r.json()["detail"]
    r = get(base_url, "/v1/campaigns/?limit=abc", sponsor)
    assert r.status_code == 400 and r.json()["detail"]
    r = post(base_url, "/v1/wallet/withdraw", token("d3"), content=b"{not json",
             headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json() == {"detail": "Malformed JSON body"}
    r = post(base_url, "/v1/wallet/withdraw", token("d3"), json={"amount_cents": "lots"})
    assert r.status_code == 400 and "amount_cents" in r.json()["detail"]
    r = get(base_url, "/v1/nothing-here", token("d3"))
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = httpx.delete(base_url + "/v1/wallet/balance", headers={"Authorization": f"Bearer {token('d3')}"})
    assert r.status_code == 405 and r.json()["detail"]
    r = post(base_url, "/v1/wallet/withdraw", token("d3"), content=b"x" * (10 * 1024 * 1024 + 1))
    assert r.status_code == 413 and r.json()["detail"]


def test_bodiless_json_post_reaches_the_service(base_url):
    # a bodiless POST with a JSON content type is accepted and reaches the service (T13 is built:
    # a business failure is a 200 with `error`, telemetry §3.2)
    r = post(base_url, "/v1/charging-sessions/poll", token("d4"), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["error"] == "no_tesla_connection"


def test_request_id_is_echoed_and_generated(base_url):
    r = get(base_url, "/v1/wallet/balance", token("d5"), headers={"x-request-id": "rid-123"})
    assert r.headers["x-request-id"] == "rid-123"
    assert len(get(base_url, "/v1/wallet/balance", token("d5")).headers["x-request-id"]) >= 16


def test_openapi_is_generated_from_the_protos(base_url):
    doc = get(base_url, "/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "get" in doc["paths"]["/v1/wallet/balance"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/v1/stripe/webhooks" in doc["paths"]  # literal-variable bindings documented as paths


def test_grpc_directly_needs_a_token_and_has_reflection_and_health(stack):
    addr = f"127.0.0.1:{stack.ports.services['wallet']}"
    with grpc.insecure_channel(addr) as ch:
        stub = wallet_pb2_grpc.WalletServiceStub(ch)
        with pytest.raises(grpc.RpcError) as exc:
            stub.GetBalance(wallet_pb2.GetBalanceRequest(), timeout=5)
        assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
        resp, call = stub.GetBalance.with_call(
            wallet_pb2.GetBalanceRequest(), timeout=5,
            metadata=(("authorization", f"Bearer {token('grpc-driver')}"), ("x-request-id", "g-1")))
        assert resp.minimum_withdrawal_cents == 2000
        assert ("x-request-id", "g-1") in tuple(call.trailing_metadata())
        with pytest.raises(grpc.RpcError) as exc:
            stub.GetBalance(wallet_pb2.GetBalanceRequest(), timeout=5,
                            metadata=(("authorization", f"Bearer {token('s', 'sponsor')}"),))
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        health = health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service="nerava.wallet.v1.WalletService"), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(ch)
        responses = list(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                   timeout=5))
        names = {s.name for s in responses[0].list_services_response.service}
        assert {"nerava.wallet.v1.WalletService", "grpc.health.v1.Health"} <= names


def test_upstream_down_is_a_fast_503_and_readiness_reports_it(stack, base_url):
    stack.stop_one("clo")
    try:
        started = time.monotonic()
        r = get(base_url, "/v1/clo/cards", token("d6"))
        assert r.status_code == 503 and r.json()["detail"]
        assert time.monotonic() - started < 4  # within the deadline, never a hang
        ready = get(base_url, "/readyz")
        assert ready.status_code == 503 and ready.json()["upstreams"]["clo"].startswith("UNAVAILABLE")
    finally:
        stack.start_one("clo")
        stack.wait_healthy(["clo"], 30)
    deadline = time.monotonic() + 5  # the gateway reconnects by itself (reconnect backoff ≤ 2 s)
    while (status := get(base_url, "/v1/clo/cards", token("d6")).status_code) == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 200


def test_graceful_shutdown_exits_zero(stack):
    code = stack.stop_one("incentives")
    stack.start_one("incentives")
    stack.wait_healthy(["incentives"], 30)
    assert code == 0
