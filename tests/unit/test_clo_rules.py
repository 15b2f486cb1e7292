"""CLO rules without I/O: signature, reward arithmetic, selection, schedules, state machine, guard."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from kit.sensitive import contains_pan, find_sensitive
from services.clo.domain import offers as O
from services.clo.domain import payloads, rewards
from services.clo.domain import signature as S
from services.clo.domain.sessions import ChargingSession, SessionPolicy, verdict

UTC = dt.timezone.utc
VECTOR = dict(secret="wh_test_secret", url="https://api.nerava.example/v1/clo/fidel/webhooks/transaction.auth",
              timestamp="1767225600000", body=b'{"id":"t1","amount":10}')


# ---- signature (clo.md §3.9) -------------------------------------------------------------------

def test_signature_test_vector():
    v = VECTOR
    assert S.inner_signature(v["secret"], v["body"], v["url"], v["timestamp"]) == \
        "7kotzOrS+H2mjKSJWXvgT8x4GwppxUL2SUXyx5M5tdo="
    assert S.sign(v["secret"], v["body"], v["url"], v["timestamp"]) == \
        "znqVarhZ03YwavTBrztT2DK5AUtps+1l0xPMw/EDexU="


def _verify(**over):
    v = dict(secrets=["wh_test_secret"], body=VECTOR["body"], url=VECTOR["url"],
             signature="znqVarhZ03YwavTBrztT2DK5AUtps+1l0xPMw/EDexU=", timestamp=VECTOR["timestamp"],
             now_ms=1767225600000 + 1000)
    v.update(over)
    S.verify(**v)


def test_signature_accepts_the_vector_and_a_rotated_secret_list():
    _verify()
    _verify(secrets=["old-secret", "wh_test_secret"])


@pytest.mark.parametrize("over,cause", [
    ({"body": b'{"id":"t1","amount":11}'}, "mismatch"),                       # tampered body
    ({"body": b'{"amount":10,"id":"t1"}'}, "mismatch"),                       # re-serialised JSON
    ({"url": VECTOR["url"].replace("auth", "clearing")}, "mismatch"),         # wrong URL
    ({"secrets": ["other"]}, "mismatch"),
    ({"now_ms": 1767225600000 + 301_000}, "timestamp_stale"),
    ({"now_ms": 1767225600000 - 301_000}, "timestamp_future"),
    ({"timestamp": "1767225600.5"}, "timestamp_not_numeric"),
    ({"signature": None}, "missing_signature"),
    ({"timestamp": None}, "missing_timestamp"),
])
def test_signature_failures(over, cause):
    with pytest.raises(S.SignatureError) as err:
        _verify(**over)
    assert err.value.cause == cause


def test_signature_window_edges_are_inclusive():
    _verify(now_ms=1767225600000 + 300_000)
    _verify(now_ms=1767225600000 - 300_000)


# ---- reward arithmetic -------------------------------------------------------------------------

def offer(**kw) -> O.Offer:
    base = dict(offer_id="o1", merchant_id="m1", reward_cents=100, created_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    base.update(kw)
    return O.Offer(**base)


@pytest.mark.parametrize("bps,cap,amount,expected", [
    (500, None, 1999, 99),      # 5 % of 19.99 = 99.95 → floor 99
    (250, None, 1001, 25),      # 25.025 → 25
    (1000, 300, 5000, 300),     # capped
    (10000, None, 700, 700),    # 100 % never exceeds the amount
    (1, None, 9999, 0),         # 0.9999 → 0
])
def test_percentage_reward_floors_and_caps(bps, cap, amount, expected):
    assert O.compute_reward(offer(reward_cents=0, reward_bps=bps, max_reward_cents=cap), amount) == expected


def test_fixed_reward_never_exceeds_amount():
    assert O.compute_reward(offer(reward_cents=800), 600) == 600
    assert O.compute_reward(offer(reward_cents=300), 600) == 300


def test_amounts_are_decimal_half_up():
    assert payloads.to_cents(payloads.loads(b'{"a":19.99}')["a"]) == 1999
    assert payloads.to_cents(payloads.loads(b'{"a":0.005}')["a"]) == 1
    assert payloads.to_cents(payloads.loads(b'{"a":-12.345}')["a"]) == -1235
    assert payloads.to_cents(10) == 1000


@pytest.mark.parametrize("kw,field", [
    ({"reward_cents": 0}, "reward_cents"),
    ({"reward_cents": 10001}, "reward_cents"),
    ({"reward_cents": 0, "reward_bps": 0}, "reward_bps"),
    ({"reward_cents": 5, "reward_bps": 500}, "reward_cents"),
    ({"max_reward_cents": 50}, "max_reward_cents"),
    ({"days_of_week": (7,)}, "days_of_week"),
    ({"valid_from": dt.datetime(2026, 2, 1), "valid_until": dt.datetime(2026, 1, 1)}, "valid_from"),
    ({"session_policy": "maybe"}, "session_policy"),
    ({"return_period_days": 61}, "return_period_days"),
    ({"budget_cents": 0}, "budget_cents"),
    ({"merchant_id": ""}, "merchant_id"),
])
def test_offer_validation_names_the_field(kw, field):
    with pytest.raises(O.OfferInvalid) as err:
        O.validate(offer(**kw))
    assert field in str(err.value)


def test_percent_zero_is_an_error_and_local_times_refuse_offsets():
    with pytest.raises(O.OfferInvalid):
        O.percent_to_bps("reward_percent", 0)
    assert O.percent_to_bps("reward_percent", 5) == 500
    for bad in ("2026-01-01T10:00Z", "2026-01-01T10:00:00+01:00", "2026-01-01"):
        with pytest.raises(O.OfferInvalid):
            O.parse_local("valid_from", bad)
    assert O.parse_local("valid_from", "2026-01-01T10:00") == dt.datetime(2026, 1, 1, 10, 0)


# ---- selection ---------------------------------------------------------------------------------

def evaluate(offers, amount=2000, local=dt.datetime(2026, 3, 4, 12, 0), **kw):
    return O.evaluate(amount_cents=amount, merchant_id="m1", offers=offers, local_time=local,
                      card_rewards=kw.pop("card_rewards", {}), global_min_cents=500, **kw)


def test_highest_reward_wins_then_newest_then_lowest_id():
    old = dt.datetime(2026, 1, 1, tzinfo=UTC)
    new = dt.datetime(2026, 2, 1, tzinfo=UTC)
    a = offer(offer_id="a", reward_cents=100, created_at=new)
    b = offer(offer_id="b", reward_cents=0, reward_bps=1000, created_at=old)   # 10 % of 2000 = 200
    assert evaluate([a, b]).offer.offer_id == "b"
    c = offer(offer_id="c", reward_cents=200, created_at=new)
    assert evaluate([a, b, c]).offer.offer_id == "c"  # same reward: newest wins
    d = offer(offer_id="d", reward_cents=200, created_at=new)
    assert evaluate([d, c]).offer.offer_id == "c"  # same reward and time: lowest id
    assert evaluate([a, b, c]).reward_cents == 200


def test_failure_reason_is_that_of_the_offer_that_would_pay_most():
    big = offer(offer_id="big", reward_cents=900, min_spend_cents=5000)
    small = offer(offer_id="small", reward_cents=100, days_of_week=(0,))  # Sundays only
    out = evaluate([big, small])
    assert (out.code, out.reason) == ("below_offer_minimum", "Below offer minimum of $50.00")
    assert evaluate([small], amount=2000).code == "offer_wrong_day"


def test_global_floor_unknown_merchant_and_no_offer():
    assert evaluate([offer()], amount=499).reason == "Below minimum spend of $5.00"
    assert O.evaluate(amount_cents=900, merchant_id=None, offers=[], local_time=dt.datetime(2026, 1, 1),
                      card_rewards={}, global_min_cents=500).code == "merchant_unknown"
    assert evaluate([offer(active=False)]).code == "no_active_offer"


def test_per_card_limit_and_budget():
    assert evaluate([offer(max_rewards_per_card=1)], card_rewards={"o1": 1}).code == "card_limit_reached"
    assert evaluate([offer(budget_cents=150, budget_reserved_cents=100)]).code == "budget_exhausted"
    assert evaluate([offer(budget_cents=200, budget_reserved_cents=100)]).eligible


# ---- schedules in the location's time zone -----------------------------------------------------

def test_fidel_local_time_is_converted_with_the_zone_and_weekday_is_local():
    chicago = payloads.zone("America/Chicago")
    local = dt.datetime(2026, 3, 7, 23, 30)  # Saturday night in Chicago = Sunday 05:30 UTC
    instant = payloads.local_to_utc(local, chicago)
    assert instant == dt.datetime(2026, 3, 8, 5, 30, tzinfo=UTC)
    saturday_only = offer(days_of_week=(6,))
    assert evaluate([saturday_only], local=local).eligible
    assert evaluate([saturday_only], local=payloads.utc_to_local(instant, payloads.zone("UTC"))).code == \
        "offer_wrong_day"


def test_dst_ambiguity_resolves_with_fold_0():
    ny = payloads.zone("America/New_York")
    # 2026-11-01 01:30 happens twice in New York; fold=0 is the first (EDT, UTC-4)
    assert payloads.local_to_utc(dt.datetime(2026, 11, 1, 1, 30), ny) == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_offer_window_bounds_are_inclusive_local_times():
    o = offer(valid_from=dt.datetime(2026, 3, 4, 9, 0), valid_until=dt.datetime(2026, 3, 4, 17, 0))
    assert evaluate([o], local=dt.datetime(2026, 3, 4, 9, 0)).eligible
    assert evaluate([o], local=dt.datetime(2026, 3, 4, 17, 0)).eligible
    assert evaluate([o], local=dt.datetime(2026, 3, 4, 8, 59, 59)).code == "offer_not_started"
    assert evaluate([o], local=dt.datetime(2026, 3, 4, 17, 0, 1)).code == "offer_expired"


# ---- sessions ----------------------------------------------------------------------------------

def test_session_window_rule_and_open_sessions():
    p = SessionPolicy()
    start = dt.datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    closed = ChargingSession("s1", start, start + dt.timedelta(hours=1))
    t_ok = start + dt.timedelta(hours=1, minutes=180)
    assert verdict([closed], t_ok, 30, 180, p).session_id == "s1"
    assert verdict([closed], t_ok + dt.timedelta(seconds=1), 30, 180, p).code == "outside_session_window"
    assert verdict([closed], start - dt.timedelta(minutes=30), 30, 180, p).code is None
    open_ = ChargingSession("s2", start, None)  # end' = start + 180 min
    assert verdict([open_], start + dt.timedelta(minutes=360), 30, 180, p).code is None
    assert verdict([open_], start + dt.timedelta(minutes=361), 30, 180, p).code == "outside_session_window"
    assert verdict([], start, 30, 180, p, explicit_id="s9").code == "session_not_owned"
    assert verdict(None, start, 30, 180, p).deferred


def test_required_offer_fails_outside_window():
    out = evaluate([offer(session_policy="required")],
                   session_for=lambda o: O.SessionVerdict("outside_session_window"))
    assert out.reason == "Transaction not within charging session window"


# ---- state machine and clawback arithmetic -----------------------------------------------------

def test_state_machine_allows_only_the_spec_transitions():
    assert rewards.transition("new", "auth", "pending") == "pending"
    assert rewards.transition("pending", "clearing", "available") == "available"
    assert rewards.transition("failed", "clearing", "qualified") == "qualified"
    for state, trigger, target in [("available", "clearing", "available"), ("reversed", "full_refund", "reversed"),
                                   ("clawed_back", "partial_refund", "partially_clawed_back"),
                                   ("available", "expire", "failed"), ("rejected", "auth", "pending")]:
        with pytest.raises(rewards.IllegalTransition):
            rewards.transition(state, trigger, target)


@pytest.mark.parametrize("state,check,status", [
    ("rejected", "not_required", "rejected"), ("failed", "not_required", "rejected"),
    ("pending", "deferred", "pending"), ("qualified", "deferred", "pending"),
    ("pending", "passed", "eligible"), ("qualified", "not_required", "eligible"),
    ("available", "passed", "credited"), ("partially_clawed_back", "not_required", "credited"),
    ("reversed", "not_required", "refunded"), ("clawed_back", "not_required", "refunded"),
])
def test_rest_status_mapping(state, check, status):
    assert rewards.rest_status(state, check) == status


def test_proportional_clawback():
    first = rewards.clawback(credited_cents=100, base_cents=3000, refunded_after_cents=1000, clawed_back_cents=0)
    assert (first.amount_cents, first.full) == (33, False)
    second = rewards.clawback(credited_cents=100, base_cents=3000, refunded_after_cents=3000,
                              clawed_back_cents=first.total_clawed_cents)
    assert (second.amount_cents, second.total_clawed_cents, second.full) == (67, 100, True)
    assert rewards.reduced_reward(100, 3000, 1000) == 66


@given(credited=st.integers(0, 10_000), base=st.integers(1, 100_000),
       parts=st.lists(st.integers(1, 50_000), min_size=1, max_size=8))
def test_clawback_property_never_exceeds_credit_and_full_refund_recovers_it(credited, base, parts):
    clawed, refunded = 0, 0
    for part in parts:
        refunded += part
        cb = rewards.clawback(credited_cents=credited, base_cents=base, refunded_after_cents=refunded,
                              clawed_back_cents=clawed)
        assert cb.amount_cents >= 0
        clawed = cb.total_clawed_cents
        assert clawed <= credited
    final = rewards.clawback(credited_cents=credited, base_cents=base, refunded_after_cents=base,
                             clawed_back_cents=clawed)
    assert final.total_clawed_cents == credited


# ---- PAN guard ---------------------------------------------------------------------------------

def test_pan_guard():
    assert contains_pan("4111111111111111")
    assert contains_pan("card 4111 1111 1111 1111 please")
    assert contains_pan("4111-1111-1111-1111")
    assert not contains_pan("4111111111111112")           # Luhn-invalid
    assert not contains_pan("fidel_mock_0123456789abcdef")
    assert not contains_pan("1767225600000")                 # a timestamp (13 digits, Luhn-invalid)
    assert find_sensitive({"nested": [{"Card-Number": "x"}]})
    assert find_sensitive({"CVV": "123"}) and find_sensitive({"security code": 1})
    assert not find_sensitive({"fidel_card_id": "fidel_mock_ab12"})


def test_pan_guard_never_takes_a_uuid_for_a_card_number():
    # this UUID's digits, joined across its dashes, form a Luhn-valid 16-digit run
    looks_like_one = "84920371-5523-4800-9f1c-0a2b3c4d5e6f"
    assert contains_pan("84920371-5523-4800")  # the same digits alone are a card number
    for text in (looks_like_one, looks_like_one.replace("-", ""), f"/v1/clo/cards/{looks_like_one}",
                 f'{{"card_id": "{looks_like_one}"}}'):
        assert not contains_pan(text), text
    # a PAN next to a UUID is still a PAN
    assert contains_pan(f"{looks_like_one} 4111 1111 1111 1111")
    assert contains_pan(f"4111111111111111-{looks_like_one}")
    import uuid
    assert not any(contains_pan(str(uuid.uuid4())) or contains_pan(uuid.uuid4().hex) for _ in range(5000))
