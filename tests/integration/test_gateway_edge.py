"""The gateway's edge behaviour in process, in front of fake gRPC upstreams: rate limits, security
headers, CORS, body limits, request ids, bad input."""
import pytest

from gateway.__main__ import DEFAULT_CORS_REGEX
from gateway.edge import API_CSP
from gateway.ratelimit import DEFAULT_RULES, RateLimiter, Rules
from nerava.wallet.v1 import wallet_pb2
from tests.gateway_fakes import bearer, start_harness

SECURITY = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
async def h():
    clock = Clock()
    harness = await start_harness(rate_limiter=RateLimiter(Rules.parse(DEFAULT_RULES), clock=clock),
                                  cors_origin_regex=DEFAULT_CORS_REGEX)
    harness.clock = clock
    yield harness
    await harness.close()


@pytest.fixture(autouse=True)
def fresh(h):
    h.fakes.calls.clear()
    h.fakes.answers.clear()
    h.clock.t += 3600  # every bucket is full again


# --- rate limits (REST spec §0) ----------------------------------------------------------------

async def test_anonymous_clients_are_limited_per_ip_and_path_with_429_detail_and_retry_after(h):
    for _ in range(5):
        r = await h.client.post("/v1/auth/tesla/login", json={"code": "c", "state": "s"})
        assert r.status_code == 200
    r = await h.client.post("/v1/auth/tesla/login", json={"code": "c", "state": "s"})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "12"  # 5/minute: the next slot is 12 s away
    assert isinstance(r.json()["detail"], str) and "Rate limit" in r.json()["detail"]
    assert r.headers["x-request-id"]
    assert len([c for c in h.fakes.calls if c.method == "TeslaLogin"]) == 5  # refused never reach upstream
    # the trailing-slash form is the same path; another IP has its own budget
    assert (await h.client.post("/v1/auth/tesla/login/", json={})).status_code == 429
    async with h.client_from("198.51.100.9") as other:
        assert (await other.post("/v1/auth/tesla/login", json={})).status_code == 200
    h.clock.t += 12
    assert (await h.client.post("/v1/auth/tesla/login", json={})).status_code == 200


async def test_signed_in_clients_are_limited_per_sub_not_per_ip(h):
    for _ in range(10):
        assert (await h.client.get("/v1/auth/tesla/status", headers=bearer("d-1"))).status_code == 200
    assert (await h.client.get("/v1/auth/tesla/status", headers=bearer("d-1"))).status_code == 429
    # the same driver from another IP shares the budget…
    async with h.client_from("198.51.100.10") as other:
        assert (await other.get("/v1/auth/tesla/status", headers=bearer("d-1"))).status_code == 429
    # …a different driver behind the same IP (NAT) does not
    assert (await h.client.get("/v1/auth/tesla/status", headers=bearer("d-2"))).status_code == 200
    # an invalid token does not buy a fresh budget: it counts against the IP, and answers 401
    r = await h.client.get("/v1/auth/tesla/status", headers={"authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_default_limit_is_120_per_minute_and_webhooks_are_exempt(h):
    statuses = [(await h.client.get("/v1/wallet/balance", headers=bearer("d-3"))).status_code
                for _ in range(121)]
    assert statuses[:120] == [200] * 120 and statuses[120] == 429
    for _ in range(40):
        r = await h.client.post("/v1/stripe/webhooks", content=b"{}", headers={"stripe-signature": "t=1"})
        assert r.status_code == 200
    statuses = [(await h.client.get("/v1/stripe/anything")).status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429  # /v1/stripe/* 30/min, unknown paths too


async def test_limits_off_when_the_gateway_has_no_limiter():
    h = await start_harness(rate_limiter=None)
    try:
        for _ in range(8):
            assert (await h.client.post("/v1/auth/tesla/login", json={})).status_code == 200
    finally:
        await h.close()


# --- security headers --------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,kwargs,status", [
    ("GET", "/v1/wallet/balance", {"headers": bearer()}, 200),
    ("GET", "/v1/wallet/balance", {}, 401),
    ("GET", "/v1/nope", {}, 404),
    ("DELETE", "/v1/wallet/balance", {"headers": bearer()}, 405),
    ("GET", "/healthz", {}, 200),
    ("GET", "/openapi.json", {}, 200),
    ("OPTIONS", "/v1/wallet/balance", {"headers": {"origin": "https://app.nerava.network",
                                                   "access-control-request-method": "GET"}}, 200),
])
async def test_security_headers_on_every_response(h, method, path, kwargs, status):
    r = await h.client.request(method, path, **kwargs)
    assert r.status_code == status
    for key, value in SECURITY.items():
        assert r.headers.get(key) == value, key
    assert r.headers["content-security-policy"] == API_CSP


async def test_an_unexpected_gateway_error_is_a_json_500_with_security_headers(h, monkeypatch):
    async def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(h.gateway, "_dispatch", boom)
    async with h.client_from("203.0.113.50", raise_app_exceptions=False) as client:
        r = await client.get("/v1/wallet/balance", headers=bearer())
    assert r.status_code == 500 and r.json() == {"detail": "Internal server error"}
    assert "secret" not in r.text
    assert r.headers["x-frame-options"] == "DENY" and r.headers["content-security-policy"] == API_CSP


# --- CORS (REST spec §0) -----------------------------------------------------------------------

@pytest.mark.parametrize("origin,allowed", [
    ("https://app.nerava.network", True), ("https://console.nerava.network", True),
    ("https://admin.nerava.network", True), ("https://merchant.nerava.network", True),
    ("https://link.nerava.network", True), ("http://localhost:5173", True), ("http://127.0.0.1:3000", True),
    ("https://evil.example", False), ("https://app.nerava.network.evil.example", False),
    ("http://app.nerava.network", False), ("https://nerava.network", False),
])
async def test_cors_allowlist(h, origin, allowed):
    pre = await h.client.options("/v1/wallet/withdraw", headers={
        "origin": origin, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,idempotency-key"})
    r = await h.client.get("/v1/wallet/balance", headers={**bearer(), "origin": origin})
    if allowed:
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == origin
        assert pre.headers["access-control-allow-credentials"] == "true"
        assert r.headers["access-control-allow-origin"] == origin
        assert "x-request-id" in r.headers["access-control-expose-headers"]
    else:
        assert pre.status_code == 400
        assert "access-control-allow-origin" not in r.headers


async def test_cors_origins_from_configuration():
    h = await start_harness(cors_origins=["https://partner.example"], cors_origin_regex=None)
    try:
        r = await h.client.get("/v1/wallet/balance", headers={**bearer(), "origin": "https://partner.example"})
        assert r.headers["access-control-allow-origin"] == "https://partner.example"
        r = await h.client.get("/v1/wallet/balance", headers={**bearer(), "origin": "https://app.nerava.network"})
        assert "access-control-allow-origin" not in r.headers
    finally:
        await h.close()


# --- body size ---------------------------------------------------------------------------------

async def test_declared_body_over_10_mb_is_413(h):
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    r = await h.client.post("/v1/wallet/withdraw", content=body,
                            headers={**bearer(), "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"] == "Request body too large"
    assert not h.fakes.calls


async def test_streamed_body_without_content_length_is_cut_off_at_10_mb(h):
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(64):  # up to 16 MB in 256 KB chunks
            sent += 256 * 1024
            yield b" " * (256 * 1024)

    r = await h.client.post("/v1/stripe/webhooks", content=chunks(),
                            headers={"stripe-signature": "t=1", "content-type": "application/json"})
    assert r.status_code == 413
    assert sent <= 10 * 1024 * 1024 + 512 * 1024  # stopped reading right after the limit
    assert not h.fakes.calls


async def test_streamed_body_under_the_limit_passes(h):
    async def chunks():
        yield b'{"amount_cents":'
        yield b" 2500}"

    r = await h.client.post("/v1/wallet/withdraw", content=chunks(),
                            headers={**bearer(), "content-type": "application/json"})
    assert r.status_code == 200
    assert h.fakes.last("RequestWithdrawal").request.amount_cents == 2500


# --- request ids -------------------------------------------------------------------------------

async def test_request_id_is_echoed_and_forwarded_to_the_service(h):
    r = await h.client.get("/v1/wallet/balance", headers={**bearer(), "x-request-id": "req-abc.123"})
    assert r.headers["x-request-id"] == "req-abc.123"
    assert h.fakes.last("GetBalance").metadata["x-request-id"] == "req-abc.123"


@pytest.mark.parametrize("given", [None, "", "x" * 200, "bad id with spaces", "caf\u00e9"])
async def test_missing_or_unsafe_request_ids_are_replaced(h, given):
    headers = bearer()
    if given is not None:
        headers["x-request-id"] = given.encode("utf-8")  # raw bytes on the wire
    r = await h.client.get("/v1/wallet/balance", headers=headers)
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    assert rid and rid != given and len(rid) <= 128
    assert h.fakes.last("GetBalance").metadata["x-request-id"] == rid


async def test_error_responses_carry_the_request_id(h):
    r = await h.client.get("/v1/nope", headers={"x-request-id": "rid-404"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "rid-404"
    r = await h.client.get("/v1/wallet/balance", headers={"x-request-id": "rid-401"})
    assert r.status_code == 401 and r.headers["x-request-id"] == "rid-401"


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body,needle", [
    (b'{"amount_cents": "lots"}', "amount_cents"),
    (b'{"amount_cents": 1.5}', "amount_cents"),
    (b'{"amount_cents": 99999999999}', "amount_cents"),
    (b"[1, 2]", "JSON object"),
    (b'{"amount_cents": true}', "amount_cents must be a number"),
    (b"{not json", "Malformed JSON"),
])
async def test_wrong_types_and_malformed_json_are_400_with_detail(h, body, needle):
    r = await h.client.post("/v1/wallet/withdraw", content=body,
                            headers={**bearer(), "content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert needle in r.json()["detail"]
    assert not h.fakes.calls


@pytest.mark.parametrize("body,needle", [
    ({"name": "x", "caps": "AAA"}, "caps must be an object"),
    ({"name": "x", "rules": [1]}, "rules must be an object"),
    ({"name": "x", "partner_ids": "p1"}, "partner_ids must be an array"),
    ({"name": "x", "rules": {"charger_ids": "c1"}}, "charger_ids must be an array"),
])
async def test_objects_and_arrays_of_the_wrong_kind_are_400(h, body, needle):
    r = await h.client.post("/v1/campaigns/", json=body, headers=bearer())
    assert r.status_code == 400 and needle in r.json()["detail"]
    assert not h.fakes.calls


async def test_unknown_json_fields_are_ignored_like_the_monolith(h):
    # pydantic (the monolith) ignored extra keys and the apps send some (e.g. console create fields)
    r = await h.client.post("/v1/wallet/withdraw", json={"amount_cents": 2500, "note": "x"}, headers=bearer())
    assert r.status_code == 200
    assert h.fakes.last("RequestWithdrawal").request.amount_cents == 2500


@pytest.mark.parametrize("path", ["/v1/wallet/ledger?limit=abc", "/v1/wallet/ledger?limit=99999999999"])
async def test_bad_query_parameters_are_400(h, path):
    r = await h.client.get(path, headers=bearer())
    assert r.status_code == 400 and "detail" in r.json()


async def test_unknown_path_404_wrong_method_405_with_detail(h):
    r = await h.client.get("/v1/does/not/exist")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = await h.client.put("/v1/wallet/balance", headers=bearer())
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["allow"] == "GET, HEAD"
    r = await h.client.delete("/v1/campaigns/c-1", headers=bearer())
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, PUT"


async def test_missing_and_invalid_tokens_are_401_with_detail_object(h):
    r = await h.client.get("/v1/wallet/balance")
    assert r.status_code == 401
    assert r.json() == {"detail": {"error": "unauthorized", "message": "Sign in required"}}
    assert r.headers["www-authenticate"] == "Bearer"
    r = await h.client.get("/v1/wallet/balance", headers={"authorization": "Bearer abc.def.ghi"})
    assert r.status_code == 401 and r.json()["detail"]["error"] == "unauthorized"
    assert not h.fakes.calls


async def test_the_access_token_cookie_is_accepted(h):
    from tests.gateway_fakes import token

    h.fakes.answers["GetBalance"] = wallet_pb2.GetBalanceResponse(available_cents=7)
    jwt = token("cookie-user")
    r = await h.client.get("/v1/wallet/balance", headers={"cookie": f"access_token={jwt}"})
    assert r.status_code == 200 and r.json()["available_cents"] == 7
    assert h.fakes.last("GetBalance").metadata["authorization"] == f"Bearer {jwt}"


async def test_paths_no_route_can_match_are_a_json_404(h):
    r = await h.client.post("/v1/campaigns/a%0Ab/pause", headers=bearer())
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    assert r.headers["content-type"].startswith("application/json")


async def test_options_without_cors_lists_the_allowed_methods(h):
    r = await h.client.options("/v1/campaigns/c-1")
    assert r.status_code == 204 and r.headers["allow"] == "GET, HEAD, PUT, OPTIONS"
    assert (await h.client.options("/v1/nope")).status_code == 404
