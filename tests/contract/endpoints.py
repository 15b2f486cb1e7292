"""The REST contract per endpoint, in one table: what the web apps send and read (rest-api.md).

Each row names the endpoint id, the request the app makes, the RPC the gateway must call, what
that RPC must receive, and the JSON shape the app reads. ``tests/contract/test_gateway_contract.py``
drives every row through the real gateway against fake gRPC servicers.

Shape language: ``INT`` (JSON integer, never a string or bool), ``NUM`` (integer or float), ``STR``,
``BOOL``, ``TS`` (naive UTC ISO-8601, no offset: rule 5), ``OBJ`` (any object), ``ANY``,
``Opt(x)`` (``x`` or ``null``; with an empty reply a nullable scalar must be ``null``, never 0 or
""), ``[x]`` (an array, ``[]`` when empty), ``{key: shape}`` (these keys are always present;
extra keys are allowed: additive fields do not break the apps).
"""
from __future__ import annotations

import dataclasses
from typing import Any

INT, NUM, STR, BOOL, TS, OBJ, ANY = "int", "num", "str", "bool", "ts", "obj", "any"


@dataclasses.dataclass(frozen=True)
class Opt:
    shape: Any


@dataclasses.dataclass(frozen=True)
class Endpoint:
    id: str                  # REST spec id (T1, I3, W12, C8…)
    method: str
    path: str                # as the app calls it
    rpc: str                 # the RPC the gateway must call
    expect: Any              # the JSON shape the app reads
    auth: str = "user"       # "user" (any signed-in user; roles are the service's business) | "none" | "webhook"
    json: Any = None         # request body (None = no body at all)
    query: dict | None = None
    headers: dict | None = None
    sent: dict | None = None  # request message field → value the RPC must receive
    status: int = 200
    trailers: tuple = ()     # trailing metadata the fake service sets (e.g. x-http-status)


LOCATION_POINT = {"lat": NUM, "lng": NUM, "ts": STR}
INCENTIVE = {"grant_id": STR, "campaign_id": STR, "amount_cents": INT, "status": STR, "granted_at": Opt(TS)}
CHARGING_SESSION = {
    "id": STR, "session_start": Opt(TS), "session_end": Opt(TS), "duration_minutes": Opt(INT),
    "charger_id": Opt(STR), "charger_network": Opt(STR), "connector_type": Opt(STR),
    "power_kw": Opt(NUM), "kwh_delivered": Opt(NUM), "verified": BOOL, "lat": Opt(NUM), "lng": Opt(NUM),
    "battery_start_pct": Opt(INT), "battery_end_pct": Opt(INT), "quality_score": Opt(INT),
    "ended_reason": Opt(STR), "location_trail": [LOCATION_POINT], "incentive": Opt(INCENTIVE),
}
RULES = {
    "charger_ids": Opt([STR]), "charger_networks": Opt([STR]), "zone_ids": Opt([STR]),
    "connector_types": Opt([STR]), "driver_allowlist": Opt([STR]),
    "geo_center_lat": Opt(NUM), "geo_center_lng": Opt(NUM), "geo_radius_m": Opt(INT),
    "time_start": Opt(STR), "time_end": Opt(STR), "days_of_week": Opt([INT]),
    "min_duration_minutes": Opt(INT), "max_duration_minutes": Opt(INT), "min_power_kw": Opt(NUM),
    "driver_session_count_min": Opt(INT), "driver_session_count_max": Opt(INT),
}
CAMPAIGN = {
    "id": STR, "sponsor_name": STR, "sponsor_email": Opt(STR), "sponsor_logo_url": Opt(STR),
    "sponsor_type": Opt(STR), "description": Opt(STR), "name": STR, "campaign_type": STR, "status": STR,
    "priority": INT, "budget_cents": INT, "spent_cents": INT, "cost_per_session_cents": INT,
    "sessions_granted": INT, "max_sessions": Opt(INT), "auto_renew_budget_cents": Opt(INT),
    "start_date": STR, "end_date": Opt(STR), "auto_renew": BOOL,
    "max_grants_per_driver_per_day": Opt(INT), "max_grants_per_driver_per_campaign": Opt(INT),
    "max_grants_per_driver_per_charger": Opt(INT), "rules": Opt(RULES), "funding_status": STR,
    "funded_at": Opt(TS), "gross_funding_cents": Opt(INT), "platform_fee_cents": Opt(INT),
    "created_at": Opt(TS), "updated_at": Opt(TS),
}
GRANT = {"id": STR, "session_event_id": STR, "campaign_id": STR, "driver_user_id": STR, "amount_cents": INT,
         "status": STR, "granted_at": Opt(TS), "created_at": Opt(TS), "charger_id": Opt(STR),
         "duration_minutes": Opt(INT)}
VEHICLE = {"id": STR, "vin": Opt(STR), "display_name": Opt(STR), "model": Opt(STR)}
ONE_CAMPAIGN = {"campaign": Opt(CAMPAIGN)}

DRIVER_ONLY = None  # marker for readability: no request fields to check

ENDPOINTS: list[Endpoint] = [
    # --- telemetry -------------------------------------------------------------------------------
    Endpoint("T1", "GET", "/v1/auth/tesla/status", "GetTeslaStatus", {
        "connected": BOOL, "vehicle_name": Opt(STR), "vehicle_model": Opt(STR), "vehicle_year": Opt(INT),
        "exterior_color": Opt(STR), "battery_level": Opt(INT), "vin": Opt(STR)}),
    Endpoint("T2", "GET", "/v1/auth/tesla/connect", "CreateTeslaConnectUrl",
             {"authorization_url": STR, "state": STR}),
    Endpoint("T3", "GET", "/v1/auth/tesla/callback", "HandleTeslaCallback", ANY, auth="none",
             query={"code": "tesla-code", "state": "st-1"}, sent={"code": "tesla-code", "state": "st-1"},
             status=307, trailers=(("x-http-status", "307"),
                                   ("location", "https://app.nerava.network/tesla-connected?success=true"))),
    Endpoint("T4", "POST", "/v1/auth/tesla/disconnect", "DisconnectTesla", {"success": BOOL, "message": STR},
             json={}),
    Endpoint("T5", "POST", "/v1/auth/tesla/verify-charging", "VerifyCharging", {
        "is_charging": BOOL, "battery_level": Opt(INT), "charge_rate_kw": Opt(INT), "ev_code": Opt(STR),
        "message": STR},
        json={"lat": 30.2672, "lng": -97.7431, "merchant_place_id": "place-1", "merchant_name": "Caf\u00e9",
              "charger_id": None},
        sent={"lat": 30.2672, "lng": -97.7431, "merchant_place_id": "place-1", "merchant_name": "Caf\u00e9"}),
    Endpoint("T6", "GET", "/v1/auth/tesla/codes", "ListEvCodes",
             [{"code": STR, "merchant_name": Opt(STR), "expires_at": TS, "status": STR}]),
    Endpoint("T7", "GET", "/v1/auth/tesla/login-url", "CreateTeslaLoginUrl",
             {"authorization_url": STR, "state": STR}, auth="none"),
    Endpoint("T8", "POST", "/v1/auth/tesla/login", "TeslaLogin", {
        "access_token": STR, "refresh_token": STR, "token_type": STR,
        "user": Opt({"public_id": STR, "auth_provider": STR, "email": Opt(STR), "display_name": Opt(STR),
                     "phone": Opt(STR)}),
        "vehicles": [{**VEHICLE, "year": Opt(INT), "color": Opt(STR)}]},
        auth="none", json={"code": "c", "state": "s"}, sent={"code": "c", "state": "s"}),
    Endpoint("T9", "POST", "/v1/auth/tesla/select-vehicle", "SelectVehicle",
             {"success": BOOL, "vehicle": Opt(VEHICLE)}, json={"vehicle_id": "veh-1"},
             sent={"vehicle_id": "veh-1"}),
    Endpoint("T10", "POST", "/v1/tesla/configure-telemetry", "ConfigureTelemetry",
             {"status": STR, "vin": STR, "telemetry_enabled": BOOL}),
    Endpoint("T11", "GET", "/v1/charging-sessions/", "ListChargingSessions",
             {"sessions": [CHARGING_SESSION], "count": INT}, query={"limit": "100", "offset": "5"},
             sent={"limit": 100, "offset": 5}),
    Endpoint("T12", "GET", "/v1/charging-sessions/active", "GetActiveChargingSession", {
        "session": Opt(CHARGING_SESSION), "active": BOOL, "last_ended_session": Opt(CHARGING_SESSION)}),
    Endpoint("T13", "POST", "/v1/charging-sessions/poll", "PollChargingSession", {
        "session_active": BOOL, "session_id": Opt(STR), "duration_minutes": Opt(INT),
        "kwh_delivered": Opt(NUM), "incentive_granted": Opt(BOOL), "incentive_amount_cents": Opt(INT),
        "recommended_interval_s": Opt(INT), "minutes_to_full": Opt(NUM), "battery_level": Opt(INT),
        "charger_power_kw": Opt(NUM), "vehicle_asleep": Opt(BOOL), "error": Opt(STR)}),
    Endpoint("T14", "POST", "/v1/charging-sessions/sess-1/end", "EndChargingSession",
             {"session": Opt(CHARGING_SESSION), "ended": BOOL}, sent={"session_id": "sess-1"}),
    Endpoint("T15", "GET", "/v1/charging-sessions/reputation", "GetReputation", {
        "points": INT, "tier": STR, "tier_color": STR, "next_tier": Opt(STR), "points_to_next": Opt(INT),
        "progress_to_next": NUM, "streak_days": INT}),
    Endpoint("T16", "POST", "/v1/charging-sessions/background-ping", "BackgroundPing", {
        "matched": BOOL, "session_active": Opt(BOOL), "session_id": Opt(STR)},
        json={"lat": 30.1, "lng": -97.1}, sent={"lat": 30.1, "lng": -97.1}),
    Endpoint("T17", "GET", "/v1/charging-sessions/sess-2", "GetChargingSession",
             {"session": Opt(CHARGING_SESSION)}, sent={"session_id": "sess-2"}),
    Endpoint("T18", "POST", "/v1/webhooks/tesla/telemetry", "IngestFleetTelemetry",
             {"status": STR, "result": Opt({"action": STR, "session_id": STR})}, auth="webhook",
             json={"vin": "5YJ3E1EA7KF000001", "data": []}),
    # --- incentives ------------------------------------------------------------------------------
    Endpoint("I1", "GET", "/v1/campaigns/driver/active", "ListDriverActiveCampaigns", {"campaigns": [{
        "id": STR, "name": STR, "sponsor_name": STR, "sponsor_logo_url": Opt(STR), "description": Opt(STR),
        "reward_cents": INT, "campaign_type": STR, "eligible": BOOL, "end_date": Opt(STR)}]},
        query={"lat": "30.25", "lng": "-97.75", "charger_id": "ch-1"},
        sent={"lat": 30.25, "lng": -97.75, "charger_id": "ch-1"}),
    Endpoint("I2", "GET", "/v1/campaigns/", "ListCampaigns", {"campaigns": [CAMPAIGN], "count": INT},
             query={"status": "active", "sponsor_name": "Acme", "limit": "10", "offset": "0"},
             sent={"status": "active", "sponsor_name": "Acme", "limit": 10, "offset": 0}),
    Endpoint("I2/admin", "GET", "/v1/campaigns", "ListCampaigns", {"campaigns": [CAMPAIGN], "count": INT},
             query={"limit": "50"}, sent={"limit": 50}),
    Endpoint("I3", "POST", "/v1/campaigns/", "CreateCampaign", ONE_CAMPAIGN, json={
        "sponsor_name": "Acme", "name": "Spring", "budget_cents": 100000, "cost_per_session_cents": 500,
        "start_date": "2026-12-01T08:00:00", "end_date": None, "max_sessions": 200, "auto_renew": False,
        "rules": {"charger_ids": ["ch-1"], "min_duration_minutes": 20, "days_of_week": [1, 2]},
        "caps": {"per_day": 1}},
        sent={"sponsor_name": "Acme", "name": "Spring", "budget_cents": 100000, "cost_per_session_cents": 500,
              "start_date": "2026-12-01T08:00:00", "max_sessions": 200, "rules.min_duration_minutes": 20,
              "caps.per_day": 1}),
    Endpoint("I3/admin", "POST", "/v1/campaigns", "CreateCampaign", ONE_CAMPAIGN,
             json={"sponsor_name": "Acme", "name": "No slash", "budget_cents": 1, "cost_per_session_cents": 1,
                   "start_date": "2026-12-01"}, sent={"name": "No slash"}),
    Endpoint("I4", "GET", "/v1/campaigns/camp-1", "GetCampaign", ONE_CAMPAIGN, sent={"campaign_id": "camp-1"}),
    Endpoint("I5", "PUT", "/v1/campaigns/camp-1", "UpdateCampaign", ONE_CAMPAIGN,
             json={"name": "Renamed", "end_date": None, "rules": {"time_start": "08:00"}},
             sent={"campaign_id": "camp-1", "name": "Renamed", "rules.time_start": "08:00",
                   "update_mask.paths": ["name", "end_date", "rules.time_start"]}),
    Endpoint("I6", "POST", "/v1/campaigns/camp-1/activate", "ActivateCampaign", ONE_CAMPAIGN,
             sent={"campaign_id": "camp-1"}),
    Endpoint("I7", "POST", "/v1/campaigns/camp-1/checkout", "CreateCampaignCheckout",
             {"checkout_url": Opt(STR), "session_id": STR}, sent={"campaign_id": "camp-1"}),
    Endpoint("I8", "POST", "/v1/campaigns/camp-1/pause", "PauseCampaign", ONE_CAMPAIGN,
             query={"reason": "over budget"}, sent={"campaign_id": "camp-1", "reason": "over budget"}),
    Endpoint("I9", "POST", "/v1/campaigns/camp-1/resume", "ResumeCampaign", ONE_CAMPAIGN,
             sent={"campaign_id": "camp-1"}),
    Endpoint("I10", "GET", "/v1/campaigns/camp-1/grants", "ListCampaignGrants",
             {"grants": [GRANT], "total": INT, "count": INT}, query={"limit": "50"},
             sent={"campaign_id": "camp-1", "limit": 50}),
    Endpoint("I11", "GET", "/v1/campaigns/camp-1/budget", "GetCampaignBudget", {
        "budget_cents": INT, "spent_cents": INT, "remaining_cents": INT, "pct_used": NUM,
        "sessions_granted": INT, "max_sessions": Opt(INT)}, sent={"campaign_id": "camp-1"}),
    Endpoint("I12", "GET", "/v1/campaigns/chargers/browse", "ListChargers", {"chargers": [{
        "id": STR, "name": STR, "network_name": Opt(STR), "lat": Opt(NUM), "lng": Opt(NUM),
        "address": Opt(STR), "city": Opt(STR), "state": Opt(STR), "power_kw": Opt(NUM), "num_evse": Opt(INT),
        "connector_types": Opt([STR]), "pricing_per_kwh": Opt(NUM), "total_sessions": INT,
        "unique_drivers": INT}], "total": INT},
        query={"search": "austin", "network": "Tesla", "state": "TX", "limit": "2000", "offset": "0"},
        sent={"search": "austin", "network": "Tesla", "state": "TX", "limit": 2000}),
    Endpoint("I13", "GET", "/v1/campaigns/utilization/chargers", "GetChargerUtilization", {"chargers": [{
        "charger_id": STR, "total_sessions": INT, "unique_drivers": INT, "avg_duration_minutes": NUM}]},
        query={"charger_ids": "ch-1,ch-2", "since_days": "30"},
        sent={"charger_ids": ["ch-1,ch-2"], "since_days": 30}),
    Endpoint("I14", "POST", "/v1/nova/grant", "GrantNova", {"transaction_id": STR, "driver_balance": INT},
             json={"driver_user_id": "drv-1", "charging_session_id": "sess-1", "amount": 10},
             sent={"driver_user_id": "drv-1", "charging_session_id": "sess-1", "amount": 10}),
    Endpoint("I15", "POST", "/v1/admin/nova/grant", "AdminGrantNova", {
        "success": BOOL, "transaction_id": STR, "target": STR, "amount": INT},
        json={"target": "driver", "amount": 5, "reason": "promo", "driver_user_id": "drv-1",
              "idempotency_key": "k-1"},
        sent={"target": "driver", "amount": 5, "driver_user_id": "drv-1", "idempotency_key": "k-1"}),
    # --- wallet ----------------------------------------------------------------------------------
    Endpoint("W1", "GET", "/v1/wallet/balance", "GetBalance", {
        "available_cents": INT, "pending_cents": INT, "total_earned_cents": INT, "total_withdrawn_cents": INT,
        "can_withdraw": BOOL, "minimum_withdrawal_cents": INT, "fee_threshold_cents": INT,
        "stripe_onboarding_complete": BOOL}),
    Endpoint("W2", "GET", "/v1/wallet/ledger", "ListLedgerEntries", {"entries": [{
        "id": STR, "amount_cents": INT, "balance_after_cents": INT, "transaction_type": STR,
        "description": Opt(STR), "created_at": Opt(TS), "campaign_name": Opt(STR), "sponsor_name": Opt(STR)}],
        "count": INT}, query={"limit": "100"}, sent={"limit": 100}),
    Endpoint("W3", "GET", "/v1/wallet/history", "ListPayouts", {"payouts": [{
        "id": STR, "amount_cents": INT, "status": STR, "created_at": TS, "paid_at": Opt(TS),
        "failure_reason": Opt(STR)}]}, query={"limit": "20"}, sent={"limit": 20}),
    Endpoint("W4", "POST", "/v1/wallet/withdraw", "RequestWithdrawal", {
        "payout_id": STR, "status": STR, "amount_cents": INT, "fee_cents": INT},
        json={"amount_cents": 2500}, headers={"idempotency-key": "idem-w4"},
        sent={"amount_cents": 2500, "request_id": "idem-w4"}),
    Endpoint("W5", "GET", "/v1/wallet/withdraw/fee", "GetWithdrawalFee",
             {"amount_cents": INT, "fee_cents": INT, "net_cents": INT}, query={"amount_cents": "2500"},
             sent={"amount_cents": 2500}),
    Endpoint("W6", "POST", "/v1/wallet/stripe/account", "CreateStripeAccount",
             {"stripe_account_id": STR, "status": STR, "onboarding_complete": BOOL},
             json={"email": "d@example.com"}, sent={"email": "d@example.com"}),
    Endpoint("W7", "POST", "/v1/wallet/stripe/account-link", "CreateAccountLink", {"url": STR, "expires_at": TS},
             json={"return_url": "https://app.nerava.network/wallet", "refresh_url": "https://app.nerava.network/r"},
             sent={"return_url": "https://app.nerava.network/wallet"}),
    Endpoint("W8", "GET", "/v1/wallet/stripe/status", "GetStripeAccountStatus",
             {"onboarding_complete": BOOL, "has_account": BOOL}),
    Endpoint("W9", "POST", "/v1/wallet/stripe/webhook", "HandleStripeWebhook", OBJ, auth="webhook",
             json={"id": "evt_1", "type": "transfer.paid"}, sent={"endpoint": "wallet/stripe/webhook"}),
    Endpoint("W10", "POST", "/v1/stripe/webhooks", "HandleStripeWebhook", OBJ, auth="webhook",
             json={"id": "evt_2"}, sent={"endpoint": "stripe/webhooks"}),
    Endpoint("W11", "POST", "/v1/stripe/webhook", "HandleStripeWebhook", OBJ, auth="webhook",
             json={"id": "evt_3"}, sent={"endpoint": "stripe/webhook"}),
    Endpoint("W12", "POST", "/v1/wallet/admin/credit", "AdminCredit", {"new_balance_cents": INT, "ledger_id": STR},
             query={"driver_id": "drv-9", "amount_cents": "1500", "reference_type": "bonus",
                    "description": "Admin credit"},
             sent={"driver_id": "drv-9", "amount_cents": 1500, "reference_type": "bonus",
                   "description": "Admin credit"}),
    Endpoint("W13", "GET", "/v1/admin/users/usr-1/wallet", "AdminGetWallet", {
        "user_id": STR, "balance_cents": INT, "nova_balance": Opt(INT),
        "transactions": [{"id": STR, "cents": INT, "reason": STR, "meta": Opt(OBJ), "created_at": Opt(TS)}]},
        sent={"user_id": "usr-1"}),
    Endpoint("W13/api", "GET", "/api/v1/admin/users/usr-1/wallet", "AdminGetWallet",
             {"user_id": STR, "balance_cents": INT, "transactions": [OBJ]}, sent={"user_id": "usr-1"}),
    Endpoint("W14", "POST", "/v1/admin/users/usr-1/wallet/adjust", "AdminAdjustWallet", {
        "success": BOOL, "user_id": STR, "amount_cents": INT, "before_balance_cents": INT,
        "after_balance_cents": INT}, json={"amount_cents": -100, "reason": "correction"},
        sent={"user_id": "usr-1", "amount_cents": -100, "reason": "correction"}),
    Endpoint("W14/api", "POST", "/api/v1/admin/users/usr-1/wallet/adjust", "AdminAdjustWallet",
             {"success": BOOL, "after_balance_cents": INT}, json={"amount_cents": 100, "reason": "x"},
             sent={"user_id": "usr-1", "amount_cents": 100}),
    Endpoint("W19", "POST", "/v1/wallet/dwolla/webhook", "HandleDwollaWebhook", {"status": STR, "reason": STR},
             auth="webhook", json={"topic": "transfer_completed"}),
    # --- clo -------------------------------------------------------------------------------------
    Endpoint("C1", "GET", "/v1/clo/cards", "ListCards",
             {"cards": [{"id": STR, "last4": STR, "brand": STR, "linked_at": Opt(TS)}]}),
    Endpoint("C2", "POST", "/v1/clo/cards/link", "LinkCard",
             {"card_id": STR, "status": STR, "last4": STR, "brand": STR},
             json={"fidel_card_id": "fc-1"}, sent={"fidel_card_id": "fc-1"}),
    Endpoint("C3", "DELETE", "/v1/clo/cards/card-1", "UnlinkCard", {"status": STR, "card_id": STR},
             sent={"card_id": "card-1"}),
    Endpoint("C4", "GET", "/v1/clo/cards/session", "CreateEnrollmentSession",
             {"session_token": STR, "program_id": STR}),
    Endpoint("C5", "GET", "/v1/clo/transactions", "ListTransactions", {"transactions": [{
        "id": STR, "merchant_name": Opt(STR), "amount_cents": INT, "reward_cents": Opt(INT), "status": STR,
        "transaction_time": TS, "eligibility_reason": Opt(STR)}]}, query={"limit": "25"}, sent={"limit": 25}),
    Endpoint("C6", "POST", "/v1/clo/verify", "VerifyTransaction", {"status": STR, "transaction_id": Opt(STR),
             "reward_cents": Opt(INT), "reason": Opt(STR)},
             json={"card_id": "card-1", "amount_cents": 1250, "merchant_id": "m-1",
                   "transaction_time": "2026-11-22T12:00:00Z", "charging_session_id": None},
             sent={"card_id": "card-1", "amount_cents": 1250, "merchant_id": "m-1",
                   "transaction_time": "2026-11-22T12:00:00Z"}),
    Endpoint("C7", "POST", "/v1/clo/fidel/webhook", "HandleFidelWebhook", {"status": STR}, auth="webhook",
             json={"event": "transaction.auth"}, sent={"endpoint": "fidel/webhook"}),
    Endpoint("C7/event", "POST", "/v1/clo/fidel/webhooks/transaction.clearing", "HandleFidelWebhook",
             {"status": STR}, auth="webhook", json={"id": "t"}, sent={"event_type": "transaction.clearing"}),
    Endpoint("C8", "POST", "/v1/clo/admin/offers", "CreateOffer",
             {"offer_id": STR, "merchant_id": STR, "min_spend_cents": INT, "reward_cents": INT},
             json={"merchant_id": "m-1", "reward_cents": 300, "min_spend_cents": 1000},
             sent={"merchant_id": "m-1", "reward_cents": 300, "min_spend_cents": 1000}),
]

# POSTs the apps send with no body (or `{}`) but with Content-Type: application/json (REST spec §0)
BODILESS_POSTS = ["I6", "I7", "I8", "I9", "T4", "T10", "T13", "T14"]
