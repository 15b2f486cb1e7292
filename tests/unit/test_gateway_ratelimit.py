import pytest

from gateway.ratelimit import DEFAULT_RULES, Limit, RateLimiter, Rules, parse_limit


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def limiter(rules: str = DEFAULT_RULES, **kw):
    clock = Clock()
    return RateLimiter(Rules.parse(rules), clock=clock, **kw), clock


@pytest.mark.parametrize("path,expected", [
    ("/v1/auth/tesla/login", Limit(5, 60)),
    ("/v1/auth/tesla/login/", Limit(5, 60)),
    ("/v1/auth/tesla/status", Limit(10, 60)),
    ("/v1/auth/tesla/codes", Limit(10, 60)),
    ("/v1/stripe/create_checkout_session", Limit(30, 60)),
    ("/v1/nova/grant", Limit(30, 60)),
    ("/v1/wallet/balance", Limit(120, 60)),
    ("/v1/charging-sessions/poll", Limit(120, 60)),
    ("/nope", Limit(120, 60)),
    # provider webhooks are exempt (wallet spec §4; Fidel and Fleet Telemetry likewise)
    ("/v1/stripe/webhooks", None), ("/v1/stripe/webhook", None), ("/v1/wallet/stripe/webhook", None),
    ("/v1/clo/fidel/webhook", None), ("/v1/clo/fidel/webhooks/transaction.auth", None),
    ("/v1/webhooks/tesla/telemetry", None), ("/v1/wallet/dwolla/webhook", None),
])
def test_default_rules_are_the_rest_spec(path, expected):
    assert Rules.parse(DEFAULT_RULES).limit_for(path) == expected


def test_burst_of_n_then_refused_with_exact_retry_after():
    rl, clock = limiter("/v1/auth/tesla/login=5/minute,*=unlimited")
    assert [rl.check("ip:1", "/v1/auth/tesla/login").allowed for _ in range(5)] == [True] * 5
    refused = rl.check("ip:1", "/v1/auth/tesla/login")
    assert not refused.allowed and refused.retry_after_s == pytest.approx(12.0)
    assert refused.retry_after_header == "12"
    clock.t += 11.9
    assert not rl.check("ip:1", "/v1/auth/tesla/login").allowed  # refusals are not counted…
    clock.t += 0.1
    assert rl.check("ip:1", "/v1/auth/tesla/login").allowed      # …so one slot is back after 12 s
    assert not rl.check("ip:1", "/v1/auth/tesla/login").allowed


def test_sustained_rate_is_n_per_period():
    rl, clock = limiter("*=10/minute")
    allowed = 0
    for _ in range(600):  # 10 minutes, one attempt per second
        allowed += rl.check("sub:a", "/x").allowed
        clock.t += 1
    assert 100 <= allowed <= 110  # 10 per minute for 10 minutes, plus the initial burst


def test_clients_and_paths_are_counted_separately_and_trailing_slash_is_the_same_path():
    rl, _ = limiter("*=2/minute")
    assert rl.check("ip:1", "/v1/campaigns/").allowed and rl.check("ip:1", "/v1/campaigns").allowed
    assert not rl.check("ip:1", "/v1/campaigns").allowed
    assert rl.check("ip:2", "/v1/campaigns").allowed
    assert rl.check("ip:1", "/v1/wallet/balance").allowed


def test_exempt_paths_are_never_refused_and_keep_no_state():
    rl, _ = limiter(DEFAULT_RULES)
    assert all(rl.check("ip:1", "/v1/stripe/webhooks").allowed for _ in range(1000))
    assert len(rl) == 0


def test_idle_buckets_are_pruned():
    rl, clock = limiter("*=5/minute", prune_at=10)
    for i in range(9):
        rl.check(f"ip:{i}", "/x")
    clock.t += 60  # every bucket is full again
    rl.check("ip:new", "/x")
    assert len(rl) == 1


@pytest.mark.parametrize("text,expected", [
    ("5/minute", Limit(5, 60)), ("10/min", Limit(10, 60)), ("30/5m", Limit(30, 300)),
    ("2/second", Limit(2, 1)), ("100/hour", Limit(100, 3600)), ("unlimited", None), ("off", None),
])
def test_parse_limit(text, expected):
    assert parse_limit(text) == expected


@pytest.mark.parametrize("rules", ["x=5/minute", "/a=five/minute", "/a=5/fortnight", "/a=0/minute", "/a"])
def test_bad_rules_fail_fast(rules):
    with pytest.raises(ValueError):
        Rules.parse(rules)


def test_the_gateway_config_rejects_bad_rules(monkeypatch, capsys):
    from gateway.__main__ import GatewayConfig
    from kit.settings import load

    monkeypatch.setenv("GATEWAY_RATE_LIMITS", "/v1/auth/*=lots")
    with pytest.raises(SystemExit):
        load(GatewayConfig)
    assert "GATEWAY_RATE_LIMITS" in capsys.readouterr().err
