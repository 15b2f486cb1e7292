import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Card(_message.Message):
    __slots__ = ("id", "last4", "brand", "linked_at", "expiry_month", "expiry_year", "fidel_card_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    LAST4_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    LINKED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_MONTH_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_YEAR_FIELD_NUMBER: _ClassVar[int]
    FIDEL_CARD_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    last4: str
    brand: str
    linked_at: _timestamp_pb2.Timestamp
    expiry_month: int
    expiry_year: int
    fidel_card_id: str
    def __init__(self, id: _Optional[str] = ..., last4: _Optional[str] = ..., brand: _Optional[str] = ..., linked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expiry_month: _Optional[int] = ..., expiry_year: _Optional[int] = ..., fidel_card_id: _Optional[str] = ...) -> None: ...

class ListCardsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCardsResponse(_message.Message):
    __slots__ = ("cards",)
    CARDS_FIELD_NUMBER: _ClassVar[int]
    cards: _containers.RepeatedCompositeFieldContainer[Card]
    def __init__(self, cards: _Optional[_Iterable[_Union[Card, _Mapping]]] = ...) -> None: ...

class LinkCardRequest(_message.Message):
    __slots__ = ("fidel_card_id",)
    FIDEL_CARD_ID_FIELD_NUMBER: _ClassVar[int]
    fidel_card_id: str
    def __init__(self, fidel_card_id: _Optional[str] = ...) -> None: ...

class LinkCardResponse(_message.Message):
    __slots__ = ("card_id", "status", "last4", "brand", "mock", "fidel_card_id", "expiry_month", "expiry_year", "linked_at")
    CARD_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST4_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    FIDEL_CARD_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_MONTH_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_YEAR_FIELD_NUMBER: _ClassVar[int]
    LINKED_AT_FIELD_NUMBER: _ClassVar[int]
    card_id: str
    status: str
    last4: str
    brand: str
    mock: bool
    fidel_card_id: str
    expiry_month: int
    expiry_year: int
    linked_at: _timestamp_pb2.Timestamp
    def __init__(self, card_id: _Optional[str] = ..., status: _Optional[str] = ..., last4: _Optional[str] = ..., brand: _Optional[str] = ..., mock: _Optional[bool] = ..., fidel_card_id: _Optional[str] = ..., expiry_month: _Optional[int] = ..., expiry_year: _Optional[int] = ..., linked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UnlinkCardRequest(_message.Message):
    __slots__ = ("card_id",)
    CARD_ID_FIELD_NUMBER: _ClassVar[int]
    card_id: str
    def __init__(self, card_id: _Optional[str] = ...) -> None: ...

class UnlinkCardResponse(_message.Message):
    __slots__ = ("status", "card_id")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CARD_ID_FIELD_NUMBER: _ClassVar[int]
    status: str
    card_id: str
    def __init__(self, status: _Optional[str] = ..., card_id: _Optional[str] = ...) -> None: ...

class CreateEnrollmentSessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateEnrollmentSessionResponse(_message.Message):
    __slots__ = ("session_token", "program_id", "mock", "sdk_key", "metadata_id", "expires_at")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_ID_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    SDK_KEY_FIELD_NUMBER: _ClassVar[int]
    METADATA_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    program_id: str
    mock: bool
    sdk_key: str
    metadata_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, session_token: _Optional[str] = ..., program_id: _Optional[str] = ..., mock: _Optional[bool] = ..., sdk_key: _Optional[str] = ..., metadata_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("id", "merchant_name", "amount_cents", "reward_cents", "status", "transaction_time", "eligibility_reason", "reward_state", "eligibility_code", "clawback_cents", "merchant_id", "charging_session_id", "card_id", "offer_id", "external_id", "auth_amount_cents", "cleared_amount_cents", "refunded_amount_cents", "credited_cents", "local_time", "session_check", "available_at", "created_at", "driver_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_TIME_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_REASON_FIELD_NUMBER: _ClassVar[int]
    REWARD_STATE_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_CODE_FIELD_NUMBER: _ClassVar[int]
    CLAWBACK_CENTS_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGING_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    AUTH_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    CLEARED_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    CREDITED_CENTS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_TIME_FIELD_NUMBER: _ClassVar[int]
    SESSION_CHECK_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    merchant_name: str
    amount_cents: int
    reward_cents: int
    status: str
    transaction_time: _timestamp_pb2.Timestamp
    eligibility_reason: str
    reward_state: str
    eligibility_code: str
    clawback_cents: int
    merchant_id: str
    charging_session_id: str
    card_id: str
    offer_id: str
    external_id: str
    auth_amount_cents: int
    cleared_amount_cents: int
    refunded_amount_cents: int
    credited_cents: int
    local_time: str
    session_check: str
    available_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    driver_id: str
    def __init__(self, id: _Optional[str] = ..., merchant_name: _Optional[str] = ..., amount_cents: _Optional[int] = ..., reward_cents: _Optional[int] = ..., status: _Optional[str] = ..., transaction_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., eligibility_reason: _Optional[str] = ..., reward_state: _Optional[str] = ..., eligibility_code: _Optional[str] = ..., clawback_cents: _Optional[int] = ..., merchant_id: _Optional[str] = ..., charging_session_id: _Optional[str] = ..., card_id: _Optional[str] = ..., offer_id: _Optional[str] = ..., external_id: _Optional[str] = ..., auth_amount_cents: _Optional[int] = ..., cleared_amount_cents: _Optional[int] = ..., refunded_amount_cents: _Optional[int] = ..., credited_cents: _Optional[int] = ..., local_time: _Optional[str] = ..., session_check: _Optional[str] = ..., available_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., driver_id: _Optional[str] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("limit", "page_token", "driver_id")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page_token: str
    driver_id: str
    def __init__(self, limit: _Optional[int] = ..., page_token: _Optional[str] = ..., driver_id: _Optional[str] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VerifyTransactionRequest(_message.Message):
    __slots__ = ("card_id", "amount_cents", "merchant_id", "merchant_name", "merchant_location", "transaction_time", "charging_session_id", "location_id", "external_id", "request_id")
    CARD_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_NAME_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_LOCATION_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_TIME_FIELD_NUMBER: _ClassVar[int]
    CHARGING_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    card_id: str
    amount_cents: int
    merchant_id: str
    merchant_name: str
    merchant_location: str
    transaction_time: str
    charging_session_id: str
    location_id: str
    external_id: str
    request_id: str
    def __init__(self, card_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., merchant_id: _Optional[str] = ..., merchant_name: _Optional[str] = ..., merchant_location: _Optional[str] = ..., transaction_time: _Optional[str] = ..., charging_session_id: _Optional[str] = ..., location_id: _Optional[str] = ..., external_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class VerifyTransactionResponse(_message.Message):
    __slots__ = ("status", "transaction_id", "reward_cents", "reason", "mock", "reward_state", "eligibility_code", "charging_session_id")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    REWARD_STATE_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_CODE_FIELD_NUMBER: _ClassVar[int]
    CHARGING_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    status: str
    transaction_id: str
    reward_cents: int
    reason: str
    mock: bool
    reward_state: str
    eligibility_code: str
    charging_session_id: str
    def __init__(self, status: _Optional[str] = ..., transaction_id: _Optional[str] = ..., reward_cents: _Optional[int] = ..., reason: _Optional[str] = ..., mock: _Optional[bool] = ..., reward_state: _Optional[str] = ..., eligibility_code: _Optional[str] = ..., charging_session_id: _Optional[str] = ...) -> None: ...

class HandleFidelWebhookRequest(_message.Message):
    __slots__ = ("event_type", "endpoint", "body")
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    event_type: str
    endpoint: str
    body: _httpbody_pb2.HttpBody
    def __init__(self, event_type: _Optional[str] = ..., endpoint: _Optional[str] = ..., body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ...) -> None: ...

class HandleFidelWebhookResponse(_message.Message):
    __slots__ = ("status", "transaction_id", "reward_cents", "reason", "event_type", "clawback_cents", "no_clawback", "reward_state", "eligibility_code", "card_id", "refund_id")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CLAWBACK_CENTS_FIELD_NUMBER: _ClassVar[int]
    NO_CLAWBACK_FIELD_NUMBER: _ClassVar[int]
    REWARD_STATE_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_CODE_FIELD_NUMBER: _ClassVar[int]
    CARD_ID_FIELD_NUMBER: _ClassVar[int]
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    status: str
    transaction_id: str
    reward_cents: int
    reason: str
    event_type: str
    clawback_cents: int
    no_clawback: bool
    reward_state: str
    eligibility_code: str
    card_id: str
    refund_id: str
    def __init__(self, status: _Optional[str] = ..., transaction_id: _Optional[str] = ..., reward_cents: _Optional[int] = ..., reason: _Optional[str] = ..., event_type: _Optional[str] = ..., clawback_cents: _Optional[int] = ..., no_clawback: _Optional[bool] = ..., reward_state: _Optional[str] = ..., eligibility_code: _Optional[str] = ..., card_id: _Optional[str] = ..., refund_id: _Optional[str] = ...) -> None: ...

class Offer(_message.Message):
    __slots__ = ("offer_id", "merchant_id", "min_spend_cents", "reward_cents", "reward_type", "reward_bps", "max_reward_cents", "days_of_week", "valid_from", "valid_until", "max_rewards_per_card", "budget_cents", "budget_reserved_cents", "session_policy", "session_window_before_minutes", "session_window_after_minutes", "return_period_days", "active", "created_by", "created_at", "updated_at", "version")
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SPEND_CENTS_FIELD_NUMBER: _ClassVar[int]
    REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    REWARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    REWARD_BPS_FIELD_NUMBER: _ClassVar[int]
    MAX_REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    DAYS_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    MAX_REWARDS_PER_CARD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_RESERVED_CENTS_FIELD_NUMBER: _ClassVar[int]
    SESSION_POLICY_FIELD_NUMBER: _ClassVar[int]
    SESSION_WINDOW_BEFORE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SESSION_WINDOW_AFTER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    RETURN_PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    offer_id: str
    merchant_id: str
    min_spend_cents: int
    reward_cents: int
    reward_type: str
    reward_bps: int
    max_reward_cents: int
    days_of_week: _containers.RepeatedScalarFieldContainer[int]
    valid_from: str
    valid_until: str
    max_rewards_per_card: int
    budget_cents: int
    budget_reserved_cents: int
    session_policy: str
    session_window_before_minutes: int
    session_window_after_minutes: int
    return_period_days: int
    active: bool
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, offer_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., min_spend_cents: _Optional[int] = ..., reward_cents: _Optional[int] = ..., reward_type: _Optional[str] = ..., reward_bps: _Optional[int] = ..., max_reward_cents: _Optional[int] = ..., days_of_week: _Optional[_Iterable[int]] = ..., valid_from: _Optional[str] = ..., valid_until: _Optional[str] = ..., max_rewards_per_card: _Optional[int] = ..., budget_cents: _Optional[int] = ..., budget_reserved_cents: _Optional[int] = ..., session_policy: _Optional[str] = ..., session_window_before_minutes: _Optional[int] = ..., session_window_after_minutes: _Optional[int] = ..., return_period_days: _Optional[int] = ..., active: _Optional[bool] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class CreateOfferRequest(_message.Message):
    __slots__ = ("request_id", "merchant_id", "reward_cents", "reward_percent", "reward_bps", "max_reward_cents", "min_spend_cents", "days_of_week", "valid_from", "valid_until", "max_rewards_per_card", "budget_cents", "session_policy", "session_window_before_minutes", "session_window_after_minutes", "return_period_days", "active")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    REWARD_PERCENT_FIELD_NUMBER: _ClassVar[int]
    REWARD_BPS_FIELD_NUMBER: _ClassVar[int]
    MAX_REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    MIN_SPEND_CENTS_FIELD_NUMBER: _ClassVar[int]
    DAYS_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    MAX_REWARDS_PER_CARD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    SESSION_POLICY_FIELD_NUMBER: _ClassVar[int]
    SESSION_WINDOW_BEFORE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SESSION_WINDOW_AFTER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    RETURN_PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    merchant_id: str
    reward_cents: int
    reward_percent: int
    reward_bps: int
    max_reward_cents: int
    min_spend_cents: int
    days_of_week: _containers.RepeatedScalarFieldContainer[int]
    valid_from: str
    valid_until: str
    max_rewards_per_card: int
    budget_cents: int
    session_policy: str
    session_window_before_minutes: int
    session_window_after_minutes: int
    return_period_days: int
    active: bool
    def __init__(self, request_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., reward_cents: _Optional[int] = ..., reward_percent: _Optional[int] = ..., reward_bps: _Optional[int] = ..., max_reward_cents: _Optional[int] = ..., min_spend_cents: _Optional[int] = ..., days_of_week: _Optional[_Iterable[int]] = ..., valid_from: _Optional[str] = ..., valid_until: _Optional[str] = ..., max_rewards_per_card: _Optional[int] = ..., budget_cents: _Optional[int] = ..., session_policy: _Optional[str] = ..., session_window_before_minutes: _Optional[int] = ..., session_window_after_minutes: _Optional[int] = ..., return_period_days: _Optional[int] = ..., active: _Optional[bool] = ...) -> None: ...

class CreateOfferResponse(_message.Message):
    __slots__ = ("offer",)
    OFFER_FIELD_NUMBER: _ClassVar[int]
    offer: Offer
    def __init__(self, offer: _Optional[_Union[Offer, _Mapping]] = ...) -> None: ...

class ListOffersRequest(_message.Message):
    __slots__ = ("merchant_id", "active", "limit", "page_token")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    active: bool
    limit: int
    page_token: str
    def __init__(self, merchant_id: _Optional[str] = ..., active: _Optional[bool] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOffersResponse(_message.Message):
    __slots__ = ("offers", "next_page_token")
    OFFERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    offers: _containers.RepeatedCompositeFieldContainer[Offer]
    next_page_token: str
    def __init__(self, offers: _Optional[_Iterable[_Union[Offer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateOfferRequest(_message.Message):
    __slots__ = ("offer_id", "version", "request_id", "clear_fields", "reward_cents", "reward_percent", "reward_bps", "max_reward_cents", "min_spend_cents", "days_of_week", "valid_from", "valid_until", "max_rewards_per_card", "budget_cents", "session_policy", "session_window_before_minutes", "session_window_after_minutes", "return_period_days", "active")
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELDS_FIELD_NUMBER: _ClassVar[int]
    REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    REWARD_PERCENT_FIELD_NUMBER: _ClassVar[int]
    REWARD_BPS_FIELD_NUMBER: _ClassVar[int]
    MAX_REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    MIN_SPEND_CENTS_FIELD_NUMBER: _ClassVar[int]
    DAYS_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    MAX_REWARDS_PER_CARD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    SESSION_POLICY_FIELD_NUMBER: _ClassVar[int]
    SESSION_WINDOW_BEFORE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SESSION_WINDOW_AFTER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    RETURN_PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    offer_id: str
    version: int
    request_id: str
    clear_fields: _containers.RepeatedScalarFieldContainer[str]
    reward_cents: int
    reward_percent: int
    reward_bps: int
    max_reward_cents: int
    min_spend_cents: int
    days_of_week: _containers.RepeatedScalarFieldContainer[int]
    valid_from: str
    valid_until: str
    max_rewards_per_card: int
    budget_cents: int
    session_policy: str
    session_window_before_minutes: int
    session_window_after_minutes: int
    return_period_days: int
    active: bool
    def __init__(self, offer_id: _Optional[str] = ..., version: _Optional[int] = ..., request_id: _Optional[str] = ..., clear_fields: _Optional[_Iterable[str]] = ..., reward_cents: _Optional[int] = ..., reward_percent: _Optional[int] = ..., reward_bps: _Optional[int] = ..., max_reward_cents: _Optional[int] = ..., min_spend_cents: _Optional[int] = ..., days_of_week: _Optional[_Iterable[int]] = ..., valid_from: _Optional[str] = ..., valid_until: _Optional[str] = ..., max_rewards_per_card: _Optional[int] = ..., budget_cents: _Optional[int] = ..., session_policy: _Optional[str] = ..., session_window_before_minutes: _Optional[int] = ..., session_window_after_minutes: _Optional[int] = ..., return_period_days: _Optional[int] = ..., active: _Optional[bool] = ...) -> None: ...

class UpdateOfferResponse(_message.Message):
    __slots__ = ("offer",)
    OFFER_FIELD_NUMBER: _ClassVar[int]
    offer: Offer
    def __init__(self, offer: _Optional[_Union[Offer, _Mapping]] = ...) -> None: ...

class MerchantMapping(_message.Message):
    __slots__ = ("kind", "external_id", "merchant_id", "time_zone", "created_at", "updated_at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    external_id: str
    merchant_id: str
    time_zone: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[str] = ..., external_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., time_zone: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertMerchantMappingRequest(_message.Message):
    __slots__ = ("kind", "external_id", "merchant_id", "time_zone")
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    external_id: str
    merchant_id: str
    time_zone: str
    def __init__(self, kind: _Optional[str] = ..., external_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class UpsertMerchantMappingResponse(_message.Message):
    __slots__ = ("mapping", "created")
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    mapping: MerchantMapping
    created: bool
    def __init__(self, mapping: _Optional[_Union[MerchantMapping, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...
