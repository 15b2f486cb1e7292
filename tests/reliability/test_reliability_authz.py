"""Authorization matrix against the real processes:

- every REST endpoint (the contract table, tests/contract/endpoints.py) × {no token, expired, wrong
  audience, wrong issuer, bad signature, unknown role only} → 401 unless the endpoint is public;
- every REST endpoint × {driver, other driver, sponsor, other sponsor, merchant, admin} → the expected
  status class (admin-only → 403 for everyone else, sponsor endpoints → 403 for drivers/merchants),
  never a 5xx, and NO response to another principal contains the owner's identifiers;
- real resources of owner A (session, card, CLO transaction, campaign, wallet) are invisible to and
  untouchable by B (404 / 403), and unchanged afterwards;
- every gRPC method called directly without a token (or with an expired / wrong-audience one) →
  UNAUTHENTICATED, except the spec's public RPCs (T3, T7, T8)."""
from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import httpx
import jwt
import pytest
from google.protobuf import message_factory

from kit import auth
from nerava.clo.v1 import clo_pb2
from nerava.incentives.v1 import incentives_pb2
from nerava.telemetry.v1 import telemetry_pb2
from nerava.wallet.v1 import wallet_pb2
from tests.contract.endpoints import ENDPOINTS
from tests.e2e.conftest import SECRET
from tests.reliability.conftest import bearer, uid, wait_for
from tests.reliability.flows import (Fidel, Tesla, charge_session, connect_tesla, ensure_offer, funded_campaign,
                                     link_card)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

USER_ENDPOINTS = [e for e in ENDPOINTS if e.auth == "user"]
# rest-api.md "auth: admin" (W12–W14, I14, I15, C8) and clo.md (C6: admin, mock mode only)
ADMIN_ONLY = {"W12", "W13", "W13/api", "W14", "W14/api", "I14", "I15", "C6", "C8"}
# "auth: any signed-in user", non-admins see their own only (an empty page for a stranger)
ANY_USER = {"I2", "I2/admin", "I12", "I13"}
CREATE_CAMPAIGN = {"I3", "I3/admin"}                      # auth: sponsor
READ_CAMPAIGN = {"I4", "I10", "I11"}                      # any user, owner only → 404 for the rest
ACT_ON_CAMPAIGN = {"I5", "I6", "I7", "I8", "I9"}          # sponsor owner → others 403 (role) / 404 (owner)
OWNED_BY_ID = {"T14", "T17", "C3"}                        # a driver's session / card by id → 404 for others


def expected(eid: str, who: str) -> int | None:
    """The status each principal must get for endpoint ``eid`` aimed at owner A's resources
    (None: any non-5xx answer about the caller's own data is fine, checked for leaks instead)."""
    is_driver, is_sponsor = "driver" in who, "sponsor" in who
    if eid in ADMIN_ONLY:
        return 403
    if eid in ANY_USER:
        return 200
    if eid in CREATE_CAMPAIGN:
        return 200 if is_sponsor else 403
    if eid in READ_CAMPAIGN:
        return 404
    if eid in ACT_ON_CAMPAIGN:
        return 404 if is_sponsor else 403
    if not is_driver:  # every other endpoint is a driver's (T*, W1–W8, C1–C5, I1)
        return 403
    if eid in OWNED_BY_ID:
        return 404
    return None
PUBLIC_RPCS = {"HandleTeslaCallback", "CreateTeslaLoginUrl", "TeslaLogin"}


def claims_token(**over) -> str:
    now = int(time.time())
    claims = {"iss": auth.ISSUER, "aud": auth.AUDIENCE, "sub": "drv-x", "roles": ["driver"], "iat": now,
              "exp": now + 600}
    claims.update(over)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, algorithm="HS256")


BAD_TOKENS = {
    "expired": claims_token(exp=int(time.time()) - 120, iat=int(time.time()) - 4000),
    "wrong audience": claims_token(aud="someone-else"),
    "wrong issuer": claims_token(iss="evil"),
    "bad signature": jwt.encode({"iss": auth.ISSUER, "aud": auth.AUDIENCE, "sub": "drv-x", "roles": ["admin"],
                                 "exp": int(time.time()) + 600}, "not-the-secret-" * 3, algorithm="HS256"),
    "alg none": jwt.encode({"iss": auth.ISSUER, "aud": auth.AUDIENCE, "sub": "drv-x", "roles": ["admin"],
                            "exp": int(time.time()) + 600}, None, algorithm="none"),
    "garbage": "not.a.jwt",
}


def request(client: httpx.Client | httpx.AsyncClient, e, headers: dict[str, str], path: str | None = None):
    kw = {"headers": headers, "params": e.query}
    if e.json is not None:
        kw["json"] = e.json
    return client.request(e.method, path or e.path, **kw)


async def test_every_user_endpoint_refuses_missing_and_invalid_tokens(rstack):
    async with httpx.AsyncClient(base_url=rstack.gw(), timeout=30) as client:
        cases = [(e, name, {"Authorization": f"Bearer {tok}"} if tok else {})
                 for e in USER_ENDPOINTS for name, tok in [("no token", None), *BAD_TOKENS.items()]]
        rs = await asyncio.gather(*(request(client, e, h) for e, _, h in cases))
    wrong = [(e.id, name, r.status_code, r.text[:80]) for (e, name, _), r in zip(cases, rs) if r.status_code != 401]
    assert wrong == []
    assert len(cases) >= 50 * 7


@pytest.fixture(scope="module")
def owner(rstack):
    """Owner A's real resources: a Tesla session, a linked card with a credited CLO transaction, a funded
    active campaign with one grant, and a wallet with money in it."""
    gw = httpx.Client(base_url=rstack.gw(), timeout=30)
    tesla, fidel = Tesla(rstack), Fidel(rstack)
    tesla.freeze()
    ensure_offer(gw)
    driver, sponsor = uid("drv-owner"), uid("spn-owner")
    camp = funded_campaign(gw, sponsor, cost=600, gross=6000, drivers=[driver])
    account, vin = tesla.account_with_vehicle()
    connect_tesla(gw, tesla, driver, account)
    sid = charge_session(gw, tesla, driver, vin, minutes=20)["session_id"]
    fidel_card, card_id = link_card(gw, fidel, driver)
    tid = fidel.auth(fidel_card, 20.0)
    fidel.clear(tid)
    assert wait_for(lambda: gw.get("/v1/wallet/balance", headers=bearer(driver)).json()["available_cents"] == 850)
    yield {"gw": gw, "driver": driver, "sponsor": sponsor, "campaign": camp, "session": sid, "card": card_id,
           "fidel_card": fidel_card, "tx": tid, "vin": vin}
    gw.close()


def principals(owner) -> dict[str, dict[str, str]]:
    return {"other driver": bearer(uid("drv-b")), "other sponsor": bearer(uid("spn-b"), "sponsor"),
            "merchant": bearer(uid("mer"), "merchant"), "driver+sponsor": bearer(uid("ds"), "driver", "sponsor")}


def _owner_markers(owner) -> list[str]:
    return [owner["driver"], owner["sponsor"], owner["campaign"]["id"], owner["session"], owner["card"],
            owner["fidel_card"], owner["tx"], owner["vin"], owner["vin"][-4:] + '"']


def _with_owner_ids(e, owner) -> str:
    """The endpoint's path aimed at owner A's resources."""
    path = e.path.replace("camp-1", owner["campaign"]["id"]).replace("sess-1", owner["session"])
    path = path.replace("sess-2", owner["session"]).replace("card-1", owner["card"])
    return path.replace("usr-1", owner["driver"])


async def test_role_matrix_and_no_cross_owner_data(rstack, owner):
    """Every user endpoint, aimed at owner A's resources, for every other principal: the expected
    status class, never a 5xx, never one of A's identifiers in the body."""
    outcomes: dict[tuple[str, str], int] = {}
    leaks = []
    async with httpx.AsyncClient(base_url=rstack.gw(), timeout=60) as client:
        for who, headers in principals(owner).items():
            for e in USER_ENDPOINTS:
                r = await request(client, e, {**headers, "Idempotency-Key": uuid.uuid4().hex},
                                  _with_owner_ids(e, owner))
                outcomes[(e.id, who)] = r.status_code
                text = r.text
                for marker in _owner_markers(owner):
                    if marker in text and not (e.id in ("T1", "T9") and marker.endswith('"')):
                        leaks.append((e.id, who, marker, text[:120]))
    server_errors = {k: v for k, v in outcomes.items() if v >= 500 and k[0] not in ("T10",)}
    assert server_errors == {}
    assert leaks == []
    unexpected = {(eid, who): (status, expected(eid, who)) for (eid, who), status in outcomes.items()
                  if expected(eid, who) is not None and status != expected(eid, who)}
    assert unexpected == {}
    assert outcomes[("T10", "other driver")] == 503  # push telemetry is off: a stated 503, not a crash


async def test_owner_resources_unchanged_and_visible_to_owner_and_admin(rstack, owner):
    gw, driver, sponsor = owner["gw"], owner["driver"], owner["sponsor"]
    camp = gw.get(f"/v1/campaigns/{owner['campaign']['id']}", headers=bearer(sponsor, "sponsor")).json()["campaign"]
    assert (camp["status"], camp["name"], camp["spent_cents"]) == ("active", owner["campaign"]["name"], 600)
    assert gw.get(f"/v1/campaigns/{camp['id']}", headers=bearer("ops", "admin")).status_code == 200
    s = gw.get(f"/v1/charging-sessions/{owner['session']}", headers=bearer(driver)).json()["session"]
    assert s["id"] == owner["session"] and s["ended_reason"] == "unplugged"
    assert [c["id"] for c in gw.get("/v1/clo/cards", headers=bearer(driver)).json()["cards"]] == [owner["card"]]
    [tx] = gw.get("/v1/clo/transactions", headers=bearer(driver)).json()["transactions"]
    assert tx["status"] == "credited"
    # another driver asking for A's transactions by id gets nothing of A's
    r = gw.get(f"/v1/clo/transactions?driver_id={driver}", headers=bearer(uid("drv-c")))
    assert r.status_code in (200, 403) and owner["tx"] not in r.text and owner["card"] not in r.text
    admin_view = gw.get(f"/v1/clo/transactions?driver_id={driver}", headers=bearer("ops", "admin"))
    assert admin_view.status_code == 200 and owner["tx"] in admin_view.text
    bal = gw.get("/v1/wallet/balance", headers=bearer(driver)).json()
    assert bal["available_cents"] == 850  # nothing the matrix sent moved A's money
    w = gw.get(f"/v1/admin/users/{driver}/wallet", headers=bearer("ops", "admin"))
    assert w.status_code == 200 and w.json()["balance_cents"] == 850, w.text


def _all_methods():
    for module in (telemetry_pb2, incentives_pb2, wallet_pb2, clo_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            ctx = service.full_name.split(".")[1]
            for m in service.methods:
                yield ctx, service.full_name, m


def test_every_grpc_method_without_a_valid_token_is_unauthenticated(rstack):
    methods = list(_all_methods())
    assert len(methods) >= 81
    wrong = []
    for md_name, md in [("none", ()), ("expired", (("authorization", f"Bearer {BAD_TOKENS['expired']}"),)),
                        ("wrong audience", (("authorization", f"Bearer {BAD_TOKENS['wrong audience']}"),))]:
        channels = {}
        try:
            for ctx, full, m in methods:
                ch = channels.setdefault(ctx, grpc.insecure_channel(rstack.grpc_addr(ctx)))
                req_cls = message_factory.GetMessageClass(m.input_type)
                resp_cls = message_factory.GetMessageClass(m.output_type)
                call = ch.unary_unary(f"/{full}/{m.name}", request_serializer=req_cls.SerializeToString,
                                      response_deserializer=resp_cls.FromString)
                try:
                    call(req_cls(), timeout=10, metadata=md)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as exc:
                    code = exc.code()
                if m.name in PUBLIC_RPCS:
                    if code == grpc.StatusCode.UNAUTHENTICATED:
                        wrong.append((md_name, m.name, "public RPC refused"))
                elif code != grpc.StatusCode.UNAUTHENTICATED:
                    wrong.append((md_name, m.name, code.name))
        finally:
            for ch in channels.values():
                ch.close()
    assert wrong == []
