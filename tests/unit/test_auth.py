import time

import pytest

from kit import auth, errors

SECRET = "unit-test-secret-0123456789-abcdefghijkl"


def test_mint_and_verify_round_trip():
    token = auth.mint(SECRET, "driver-1", ["driver", "admin"], email="d@example.com")
    p = auth.TokenVerifier(SECRET).verify(token)
    assert p.sub == "driver-1" and p.roles == {"driver", "admin"} and p.email == "d@example.com"
    assert p.is_admin and not p.is_service


@pytest.mark.parametrize("mutate", ["secret", "expired", "audience", "issuer"])
def test_bad_tokens_are_unauthenticated(mutate):
    import jwt

    now = int(time.time())
    claims = {"iss": "nerava", "aud": "nerava-api", "sub": "x", "roles": ["driver"], "exp": now + 60}
    secret = SECRET
    if mutate == "secret":
        secret = "another-secret-0123456789-abcdefghijklmn"
    elif mutate == "expired":
        claims["exp"] = now - 10
    elif mutate == "audience":
        claims["aud"] = "someone-else"
    elif mutate == "issuer":
        claims["iss"] = "evil"
    token = jwt.encode(claims, secret, algorithm="HS256")
    with pytest.raises(errors.Unauthenticated) as exc:
        auth.TokenVerifier(SECRET).verify(token)
    assert exc.value.reason in ("TOKEN_EXPIRED", "TOKEN_INVALID")


def test_alg_none_is_rejected():
    import jwt

    token = jwt.encode({"iss": "nerava", "aud": "nerava-api", "sub": "x", "roles": ["admin"],
                        "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(errors.Unauthenticated):
        auth.TokenVerifier(SECRET).verify(token)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "token"])
def test_missing_or_malformed_header(header):
    with pytest.raises(errors.Unauthenticated) as exc:
        auth.TokenVerifier(SECRET).verify_header(header)
    assert exc.value.reason == "TOKEN_MISSING"


def test_unknown_roles_are_dropped_and_cannot_be_minted():
    import jwt

    token = jwt.encode({"iss": "nerava", "aud": "nerava-api", "sub": "x", "roles": ["driver", "root"],
                        "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert auth.TokenVerifier(SECRET).verify(token).roles == {"driver"}
    with pytest.raises(ValueError):
        auth.mint(SECRET, "x", ["root"])


def test_cached_token_still_expires():
    token = auth.mint(SECRET, "x", ["driver"], ttl_s=1, now=time.time())
    v = auth.TokenVerifier(SECRET)
    v.verify(token)
    time.sleep(1.1)
    with pytest.raises(errors.Unauthenticated):
        v.verify(token)


def test_service_tokens_are_short_lived_and_reused():
    src = auth.ServiceTokenSource(SECRET, "wallet", ttl_s=300)
    t1, t2 = src.token(), src.token()
    assert t1 == t2
    p = auth.TokenVerifier(SECRET).verify(t1)
    assert p.roles == {"service"} and p.sub == "service:wallet"
