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


def test_cached_header_still_expires():
    header = "Bearer " + auth.mint(SECRET, "x", ["driver"], ttl_s=1, now=time.time())
    v = auth.TokenVerifier(SECRET)
    assert v.verify_header(header).sub == "x"
    assert v.verify_header(header).sub == "x"  # served from the header cache
    time.sleep(1.1)
    with pytest.raises(errors.Unauthenticated) as exc:
        v.verify_header(header)
    assert exc.value.reason == "TOKEN_EXPIRED"
    with pytest.raises(errors.Unauthenticated):  # and the entry is gone, not re-served
        v.verify_header(header)


def test_header_cache_is_per_exact_token():
    v = auth.TokenVerifier(SECRET)
    alice = "Bearer " + auth.mint(SECRET, "alice", ["driver"])
    bob = "Bearer " + auth.mint(SECRET, "bob", ["admin"])
    assert v.verify_header(alice).sub == "alice"
    assert v.verify_header(bob).sub == "bob" and v.verify_header(bob).roles == {"admin"}
    assert v.verify_header(alice).sub == "alice" and v.verify_header(alice).roles == {"driver"}
    # a tampered token (alice's claims, bob's signature) is never served from either entry
    a_head, a_claims, _ = alice.removeprefix("Bearer ").split(".")
    forged = f"Bearer {a_head}.{a_claims}.{bob.split('.')[2]}"
    with pytest.raises(errors.Unauthenticated) as exc:
        v.verify_header(forged)
    assert exc.value.reason == "TOKEN_INVALID"
    # a token signed with another secret stays rejected however often it is presented
    other = "Bearer " + auth.mint("another-secret-0123456789-abcdefghijklmn", "alice", ["admin"])
    for _ in range(2):
        with pytest.raises(errors.Unauthenticated):
            v.verify_header(other)


def test_header_cache_keeps_the_scheme_rules():
    v = auth.TokenVerifier(SECRET)
    token = auth.mint(SECRET, "x", ["driver"])
    assert v.verify_header(f"bearer  {token} ").sub == "x"  # the scheme is case-insensitive, spaces trimmed
    assert v.verify(token).sub == "x"
    for bad in (token, f"Basic {token}", f"Token {token}"):  # a cached token does not make these valid
        with pytest.raises(errors.Unauthenticated) as exc:
            v.verify_header(bad)
        assert exc.value.reason == "TOKEN_MISSING"
