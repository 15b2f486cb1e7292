import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Campaign(_message.Message):
    __slots__ = ("id", "sponsor_name", "sponsor_email", "sponsor_logo_url", "sponsor_type", "description", "name", "campaign_type", "status", "priority", "budget_cents", "spent_cents", "cost_per_session_cents", "sessions_granted", "max_sessions", "auto_renew_budget_cents", "start_date", "end_date", "auto_renew", "max_grants_per_driver_per_day", "max_grants_per_driver_per_campaign", "max_grants_per_driver_per_charger", "rules", "funding_status", "funded_at", "gross_funding_cents", "platform_fee_cents", "created_at", "updated_at", "time_zone", "max_grants_per_driver_per_week")
    ID_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_EMAIL_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_LOGO_URL_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    SPENT_CENTS_FIELD_NUMBER: _ClassVar[int]
    COST_PER_SESSION_CENTS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_GRANTED_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_FIELD_NUMBER: _ClassVar[int]
    MAX_GRANTS_PER_DRIVER_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    MAX_GRANTS_PER_DRIVER_PER_CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    MAX_GRANTS_PER_DRIVER_PER_CHARGER_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    FUNDING_STATUS_FIELD_NUMBER: _ClassVar[int]
    FUNDED_AT_FIELD_NUMBER: _ClassVar[int]
    GROSS_FUNDING_CENTS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FEE_CENTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    MAX_GRANTS_PER_DRIVER_PER_WEEK_FIELD_NUMBER: _ClassVar[int]
    id: str
    sponsor_name: str
    sponsor_email: str
    sponsor_logo_url: str
    sponsor_type: str
    description: str
    name: str
    campaign_type: str
    status: str
    priority: int
    budget_cents: int
    spent_cents: int
    cost_per_session_cents: int
    sessions_granted: int
    max_sessions: int
    auto_renew_budget_cents: int
    start_date: str
    end_date: str
    auto_renew: bool
    max_grants_per_driver_per_day: int
    max_grants_per_driver_per_campaign: int
    max_grants_per_driver_per_charger: int
    rules: CampaignRules
    funding_status: str
    funded_at: _timestamp_pb2.Timestamp
    gross_funding_cents: int
    platform_fee_cents: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    time_zone: str
    max_grants_per_driver_per_week: int
    def __init__(self, id: _Optional[str] = ..., sponsor_name: _Optional[str] = ..., sponsor_email: _Optional[str] = ..., sponsor_logo_url: _Optional[str] = ..., sponsor_type: _Optional[str] = ..., description: _Optional[str] = ..., name: _Optional[str] = ..., campaign_type: _Optional[str] = ..., status: _Optional[str] = ..., priority: _Optional[int] = ..., budget_cents: _Optional[int] = ..., spent_cents: _Optional[int] = ..., cost_per_session_cents: _Optional[int] = ..., sessions_granted: _Optional[int] = ..., max_sessions: _Optional[int] = ..., auto_renew_budget_cents: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., auto_renew: _Optional[bool] = ..., max_grants_per_driver_per_day: _Optional[int] = ..., max_grants_per_driver_per_campaign: _Optional[int] = ..., max_grants_per_driver_per_charger: _Optional[int] = ..., rules: _Optional[_Union[CampaignRules, _Mapping]] = ..., funding_status: _Optional[str] = ..., funded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., gross_funding_cents: _Optional[int] = ..., platform_fee_cents: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., max_grants_per_driver_per_week: _Optional[int] = ...) -> None: ...

class CampaignRules(_message.Message):
    __slots__ = ("charger_ids", "charger_networks", "zone_ids", "geo_center_lat", "geo_center_lng", "geo_radius_m", "time_start", "time_end", "days_of_week", "min_duration_minutes", "max_duration_minutes", "min_power_kw", "connector_types", "driver_session_count_min", "driver_session_count_max", "driver_allowlist")
    CHARGER_IDS_FIELD_NUMBER: _ClassVar[int]
    CHARGER_NETWORKS_FIELD_NUMBER: _ClassVar[int]
    ZONE_IDS_FIELD_NUMBER: _ClassVar[int]
    GEO_CENTER_LAT_FIELD_NUMBER: _ClassVar[int]
    GEO_CENTER_LNG_FIELD_NUMBER: _ClassVar[int]
    GEO_RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    TIME_START_FIELD_NUMBER: _ClassVar[int]
    TIME_END_FIELD_NUMBER: _ClassVar[int]
    DAYS_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    MIN_DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MIN_POWER_KW_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_TYPES_FIELD_NUMBER: _ClassVar[int]
    DRIVER_SESSION_COUNT_MIN_FIELD_NUMBER: _ClassVar[int]
    DRIVER_SESSION_COUNT_MAX_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ALLOWLIST_FIELD_NUMBER: _ClassVar[int]
    charger_ids: _containers.RepeatedScalarFieldContainer[str]
    charger_networks: _containers.RepeatedScalarFieldContainer[str]
    zone_ids: _containers.RepeatedScalarFieldContainer[str]
    geo_center_lat: float
    geo_center_lng: float
    geo_radius_m: int
    time_start: str
    time_end: str
    days_of_week: _containers.RepeatedScalarFieldContainer[int]
    min_duration_minutes: int
    max_duration_minutes: int
    min_power_kw: float
    connector_types: _containers.RepeatedScalarFieldContainer[str]
    driver_session_count_min: int
    driver_session_count_max: int
    driver_allowlist: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, charger_ids: _Optional[_Iterable[str]] = ..., charger_networks: _Optional[_Iterable[str]] = ..., zone_ids: _Optional[_Iterable[str]] = ..., geo_center_lat: _Optional[float] = ..., geo_center_lng: _Optional[float] = ..., geo_radius_m: _Optional[int] = ..., time_start: _Optional[str] = ..., time_end: _Optional[str] = ..., days_of_week: _Optional[_Iterable[int]] = ..., min_duration_minutes: _Optional[int] = ..., max_duration_minutes: _Optional[int] = ..., min_power_kw: _Optional[float] = ..., connector_types: _Optional[_Iterable[str]] = ..., driver_session_count_min: _Optional[int] = ..., driver_session_count_max: _Optional[int] = ..., driver_allowlist: _Optional[_Iterable[str]] = ...) -> None: ...

class CampaignCaps(_message.Message):
    __slots__ = ("per_day", "per_week", "per_campaign", "per_charger")
    PER_DAY_FIELD_NUMBER: _ClassVar[int]
    PER_WEEK_FIELD_NUMBER: _ClassVar[int]
    PER_CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    PER_CHARGER_FIELD_NUMBER: _ClassVar[int]
    per_day: int
    per_week: int
    per_campaign: int
    per_charger: int
    def __init__(self, per_day: _Optional[int] = ..., per_week: _Optional[int] = ..., per_campaign: _Optional[int] = ..., per_charger: _Optional[int] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ("id", "session_event_id", "campaign_id", "driver_user_id", "amount_cents", "status", "granted_at", "created_at", "charger_id", "duration_minutes")
    ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    session_event_id: str
    campaign_id: str
    driver_user_id: str
    amount_cents: int
    status: str
    granted_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    charger_id: str
    duration_minutes: int
    def __init__(self, id: _Optional[str] = ..., session_event_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., driver_user_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., status: _Optional[str] = ..., granted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., charger_id: _Optional[str] = ..., duration_minutes: _Optional[int] = ...) -> None: ...

class DriverCampaign(_message.Message):
    __slots__ = ("id", "name", "sponsor_name", "sponsor_logo_url", "description", "reward_cents", "campaign_type", "eligible", "end_date")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_LOGO_URL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    sponsor_name: str
    sponsor_logo_url: str
    description: str
    reward_cents: int
    campaign_type: str
    eligible: bool
    end_date: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., sponsor_name: _Optional[str] = ..., sponsor_logo_url: _Optional[str] = ..., description: _Optional[str] = ..., reward_cents: _Optional[int] = ..., campaign_type: _Optional[str] = ..., eligible: _Optional[bool] = ..., end_date: _Optional[str] = ...) -> None: ...

class GrantRecord(_message.Message):
    __slots__ = ("grant_id", "campaign_id", "campaign_name", "sponsor_name", "driver_id", "session_id", "amount_cents", "currency", "status", "reward_destination", "idempotency_key", "charger_id", "duration_minutes", "session_start", "local_day", "granted_at", "created_at", "clawed_back_at", "clawback_reason", "clawback_actor", "nova_reversed", "nova_shortfall", "partner_id")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REWARD_DESTINATION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SESSION_START_FIELD_NUMBER: _ClassVar[int]
    LOCAL_DAY_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CLAWED_BACK_AT_FIELD_NUMBER: _ClassVar[int]
    CLAWBACK_REASON_FIELD_NUMBER: _ClassVar[int]
    CLAWBACK_ACTOR_FIELD_NUMBER: _ClassVar[int]
    NOVA_REVERSED_FIELD_NUMBER: _ClassVar[int]
    NOVA_SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    campaign_id: str
    campaign_name: str
    sponsor_name: str
    driver_id: str
    session_id: str
    amount_cents: int
    currency: str
    status: str
    reward_destination: str
    idempotency_key: str
    charger_id: str
    duration_minutes: int
    session_start: _timestamp_pb2.Timestamp
    local_day: str
    granted_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    clawed_back_at: _timestamp_pb2.Timestamp
    clawback_reason: str
    clawback_actor: str
    nova_reversed: int
    nova_shortfall: int
    partner_id: str
    def __init__(self, grant_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., campaign_name: _Optional[str] = ..., sponsor_name: _Optional[str] = ..., driver_id: _Optional[str] = ..., session_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., currency: _Optional[str] = ..., status: _Optional[str] = ..., reward_destination: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., charger_id: _Optional[str] = ..., duration_minutes: _Optional[int] = ..., session_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., local_day: _Optional[str] = ..., granted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., clawed_back_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., clawback_reason: _Optional[str] = ..., clawback_actor: _Optional[str] = ..., nova_reversed: _Optional[int] = ..., nova_shortfall: _Optional[int] = ..., partner_id: _Optional[str] = ...) -> None: ...

class ListDriverActiveCampaignsRequest(_message.Message):
    __slots__ = ("lat", "lng", "charger_id")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    charger_id: str
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ..., charger_id: _Optional[str] = ...) -> None: ...

class ListDriverActiveCampaignsResponse(_message.Message):
    __slots__ = ("campaigns",)
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    campaigns: _containers.RepeatedCompositeFieldContainer[DriverCampaign]
    def __init__(self, campaigns: _Optional[_Iterable[_Union[DriverCampaign, _Mapping]]] = ...) -> None: ...

class GetReputationRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetReputationResponse(_message.Message):
    __slots__ = ("points", "tier", "tier_color", "next_tier", "points_to_next", "progress_to_next", "streak_days")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    TIER_COLOR_FIELD_NUMBER: _ClassVar[int]
    NEXT_TIER_FIELD_NUMBER: _ClassVar[int]
    POINTS_TO_NEXT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_TO_NEXT_FIELD_NUMBER: _ClassVar[int]
    STREAK_DAYS_FIELD_NUMBER: _ClassVar[int]
    points: int
    tier: str
    tier_color: str
    next_tier: str
    points_to_next: int
    progress_to_next: float
    streak_days: int
    def __init__(self, points: _Optional[int] = ..., tier: _Optional[str] = ..., tier_color: _Optional[str] = ..., next_tier: _Optional[str] = ..., points_to_next: _Optional[int] = ..., progress_to_next: _Optional[float] = ..., streak_days: _Optional[int] = ...) -> None: ...

class RedeemNovaRequest(_message.Message):
    __slots__ = ("merchant_id", "amount", "idempotency_key", "session_id", "reference")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    amount: int
    idempotency_key: str
    session_id: str
    reference: str
    def __init__(self, merchant_id: _Optional[str] = ..., amount: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., session_id: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class RedeemNovaResponse(_message.Message):
    __slots__ = ("transaction_id", "driver_balance", "merchant_id", "amount", "idempotent")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_BALANCE_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    driver_balance: int
    merchant_id: str
    amount: int
    idempotent: bool
    def __init__(self, transaction_id: _Optional[str] = ..., driver_balance: _Optional[int] = ..., merchant_id: _Optional[str] = ..., amount: _Optional[int] = ..., idempotent: _Optional[bool] = ...) -> None: ...

class ListCampaignsRequest(_message.Message):
    __slots__ = ("status", "sponsor_name", "limit", "offset")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    status: str
    sponsor_name: str
    limit: int
    offset: int
    def __init__(self, status: _Optional[str] = ..., sponsor_name: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListCampaignsResponse(_message.Message):
    __slots__ = ("campaigns", "count", "total")
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    campaigns: _containers.RepeatedCompositeFieldContainer[Campaign]
    count: int
    total: int
    def __init__(self, campaigns: _Optional[_Iterable[_Union[Campaign, _Mapping]]] = ..., count: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class CreateCampaignRequest(_message.Message):
    __slots__ = ("sponsor_name", "sponsor_email", "sponsor_logo_url", "sponsor_type", "name", "description", "campaign_type", "priority", "budget_cents", "cost_per_session_cents", "max_sessions", "start_date", "end_date", "auto_renew", "auto_renew_budget_cents", "rules", "caps", "time_zone", "owner_id", "allow_partner_sessions", "partner_ids", "max_partner_trust_tier", "request_id")
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_EMAIL_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_LOGO_URL_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    COST_PER_SESSION_CENTS_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    CAPS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTNER_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    PARTNER_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_PARTNER_TRUST_TIER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sponsor_name: str
    sponsor_email: str
    sponsor_logo_url: str
    sponsor_type: str
    name: str
    description: str
    campaign_type: str
    priority: int
    budget_cents: int
    cost_per_session_cents: int
    max_sessions: int
    start_date: str
    end_date: str
    auto_renew: bool
    auto_renew_budget_cents: int
    rules: CampaignRules
    caps: CampaignCaps
    time_zone: str
    owner_id: str
    allow_partner_sessions: bool
    partner_ids: _containers.RepeatedScalarFieldContainer[str]
    max_partner_trust_tier: int
    request_id: str
    def __init__(self, sponsor_name: _Optional[str] = ..., sponsor_email: _Optional[str] = ..., sponsor_logo_url: _Optional[str] = ..., sponsor_type: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., campaign_type: _Optional[str] = ..., priority: _Optional[int] = ..., budget_cents: _Optional[int] = ..., cost_per_session_cents: _Optional[int] = ..., max_sessions: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., auto_renew: _Optional[bool] = ..., auto_renew_budget_cents: _Optional[int] = ..., rules: _Optional[_Union[CampaignRules, _Mapping]] = ..., caps: _Optional[_Union[CampaignCaps, _Mapping]] = ..., time_zone: _Optional[str] = ..., owner_id: _Optional[str] = ..., allow_partner_sessions: _Optional[bool] = ..., partner_ids: _Optional[_Iterable[str]] = ..., max_partner_trust_tier: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class GetCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class GetCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class UpdateCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "update_mask", "name", "description", "campaign_type", "priority", "budget_cents", "cost_per_session_cents", "max_sessions", "start_date", "end_date", "auto_renew", "auto_renew_budget_cents", "rules", "caps", "time_zone", "owner_id", "allow_partner_sessions", "partner_ids", "max_partner_trust_tier", "sponsor_name", "sponsor_email", "sponsor_logo_url", "sponsor_type", "request_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    COST_PER_SESSION_CENTS_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    CAPS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTNER_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    PARTNER_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_PARTNER_TRUST_TIER_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_EMAIL_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_LOGO_URL_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    update_mask: _field_mask_pb2.FieldMask
    name: str
    description: str
    campaign_type: str
    priority: int
    budget_cents: int
    cost_per_session_cents: int
    max_sessions: int
    start_date: str
    end_date: str
    auto_renew: bool
    auto_renew_budget_cents: int
    rules: CampaignRules
    caps: CampaignCaps
    time_zone: str
    owner_id: str
    allow_partner_sessions: bool
    partner_ids: _containers.RepeatedScalarFieldContainer[str]
    max_partner_trust_tier: int
    sponsor_name: str
    sponsor_email: str
    sponsor_logo_url: str
    sponsor_type: str
    request_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., campaign_type: _Optional[str] = ..., priority: _Optional[int] = ..., budget_cents: _Optional[int] = ..., cost_per_session_cents: _Optional[int] = ..., max_sessions: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., auto_renew: _Optional[bool] = ..., auto_renew_budget_cents: _Optional[int] = ..., rules: _Optional[_Union[CampaignRules, _Mapping]] = ..., caps: _Optional[_Union[CampaignCaps, _Mapping]] = ..., time_zone: _Optional[str] = ..., owner_id: _Optional[str] = ..., allow_partner_sessions: _Optional[bool] = ..., partner_ids: _Optional[_Iterable[str]] = ..., max_partner_trust_tier: _Optional[int] = ..., sponsor_name: _Optional[str] = ..., sponsor_email: _Optional[str] = ..., sponsor_logo_url: _Optional[str] = ..., sponsor_type: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class ActivateCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "request_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    request_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ActivateCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class CreateCampaignCheckoutRequest(_message.Message):
    __slots__ = ("campaign_id", "request_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    request_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateCampaignCheckoutResponse(_message.Message):
    __slots__ = ("checkout_url", "session_id", "status", "message")
    CHECKOUT_URL_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    checkout_url: str
    session_id: str
    status: str
    message: str
    def __init__(self, checkout_url: _Optional[str] = ..., session_id: _Optional[str] = ..., status: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PauseCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "reason", "request_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    reason: str
    request_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class PauseCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class ResumeCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "request_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    request_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ResumeCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class CancelCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "reason", "request_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    reason: str
    request_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelCampaignResponse(_message.Message):
    __slots__ = ("campaign", "unspent_cents")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    UNSPENT_CENTS_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    unspent_cents: int
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ..., unspent_cents: _Optional[int] = ...) -> None: ...

class ListCampaignGrantsRequest(_message.Message):
    __slots__ = ("campaign_id", "limit", "offset")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    limit: int
    offset: int
    def __init__(self, campaign_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListCampaignGrantsResponse(_message.Message):
    __slots__ = ("grants", "total", "count")
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    grants: _containers.RepeatedCompositeFieldContainer[Grant]
    total: int
    count: int
    def __init__(self, grants: _Optional[_Iterable[_Union[Grant, _Mapping]]] = ..., total: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class GetCampaignBudgetRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class GetCampaignBudgetResponse(_message.Message):
    __slots__ = ("budget_cents", "spent_cents", "remaining_cents", "pct_used", "sessions_granted", "max_sessions")
    BUDGET_CENTS_FIELD_NUMBER: _ClassVar[int]
    SPENT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_CENTS_FIELD_NUMBER: _ClassVar[int]
    PCT_USED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_GRANTED_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    budget_cents: int
    spent_cents: int
    remaining_cents: int
    pct_used: float
    sessions_granted: int
    max_sessions: int
    def __init__(self, budget_cents: _Optional[int] = ..., spent_cents: _Optional[int] = ..., remaining_cents: _Optional[int] = ..., pct_used: _Optional[float] = ..., sessions_granted: _Optional[int] = ..., max_sessions: _Optional[int] = ...) -> None: ...

class GrantNovaRequest(_message.Message):
    __slots__ = ("driver_user_id", "charging_session_id", "amount", "idempotency_key")
    DRIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGING_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    driver_user_id: str
    charging_session_id: str
    amount: int
    idempotency_key: str
    def __init__(self, driver_user_id: _Optional[str] = ..., charging_session_id: _Optional[str] = ..., amount: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class GrantNovaResponse(_message.Message):
    __slots__ = ("transaction_id", "driver_balance", "idempotent")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_BALANCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    driver_balance: int
    idempotent: bool
    def __init__(self, transaction_id: _Optional[str] = ..., driver_balance: _Optional[int] = ..., idempotent: _Optional[bool] = ...) -> None: ...

class AdminGrantNovaRequest(_message.Message):
    __slots__ = ("target", "amount", "reason", "driver_user_id", "merchant_id", "idempotency_key")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DRIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    target: str
    amount: int
    reason: str
    driver_user_id: str
    merchant_id: str
    idempotency_key: str
    def __init__(self, target: _Optional[str] = ..., amount: _Optional[int] = ..., reason: _Optional[str] = ..., driver_user_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class AdminGrantNovaResponse(_message.Message):
    __slots__ = ("success", "transaction_id", "target", "amount", "driver_user_id", "merchant_id", "idempotent")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DRIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    success: bool
    transaction_id: str
    target: str
    amount: int
    driver_user_id: str
    merchant_id: str
    idempotent: bool
    def __init__(self, success: _Optional[bool] = ..., transaction_id: _Optional[str] = ..., target: _Optional[str] = ..., amount: _Optional[int] = ..., driver_user_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., idempotent: _Optional[bool] = ...) -> None: ...

class ClawbackGrantRequest(_message.Message):
    __slots__ = ("grant_id", "reason", "request_id")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    reason: str
    request_id: str
    def __init__(self, grant_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ClawbackGrantResponse(_message.Message):
    __slots__ = ("changed", "grant")
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    grant: GrantRecord
    def __init__(self, changed: _Optional[bool] = ..., grant: _Optional[_Union[GrantRecord, _Mapping]] = ...) -> None: ...

class ExplainSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ExplainedCandidate(_message.Message):
    __slots__ = ("campaign_id", "campaign_name", "priority", "passed", "failed_rule", "detail")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_NAME_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    FAILED_RULE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    campaign_name: str
    priority: int
    passed: bool
    failed_rule: str
    detail: str
    def __init__(self, campaign_id: _Optional[str] = ..., campaign_name: _Optional[str] = ..., priority: _Optional[int] = ..., passed: _Optional[bool] = ..., failed_rule: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ExplainSessionResponse(_message.Message):
    __slots__ = ("session_id", "driver_id", "outcome", "reason", "grant", "evaluated_at", "candidates_examined", "candidates")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_AT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_EXAMINED_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    driver_id: str
    outcome: str
    reason: str
    grant: SessionGrant
    evaluated_at: _timestamp_pb2.Timestamp
    candidates_examined: int
    candidates: _containers.RepeatedCompositeFieldContainer[ExplainedCandidate]
    def __init__(self, session_id: _Optional[str] = ..., driver_id: _Optional[str] = ..., outcome: _Optional[str] = ..., reason: _Optional[str] = ..., grant: _Optional[_Union[SessionGrant, _Mapping]] = ..., evaluated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., candidates_examined: _Optional[int] = ..., candidates: _Optional[_Iterable[_Union[ExplainedCandidate, _Mapping]]] = ...) -> None: ...

class InspectCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class CampaignInternals(_message.Message):
    __slots__ = ("owner_id", "starts_at", "ends_at", "allow_partner_sessions", "partner_ids", "max_partner_trust_tier", "checkout_attempt", "stripe_checkout_session_id", "platform_fee_bps", "paused_at", "pause_reason", "canceled_at", "cancel_reason", "completed_at", "completion_reason", "index_dimension")
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTNER_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    PARTNER_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_PARTNER_TRUST_TIER_FIELD_NUMBER: _ClassVar[int]
    CHECKOUT_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STRIPE_CHECKOUT_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FEE_BPS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_AT_FIELD_NUMBER: _ClassVar[int]
    PAUSE_REASON_FIELD_NUMBER: _ClassVar[int]
    CANCELED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_REASON_FIELD_NUMBER: _ClassVar[int]
    INDEX_DIMENSION_FIELD_NUMBER: _ClassVar[int]
    owner_id: str
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    allow_partner_sessions: bool
    partner_ids: _containers.RepeatedScalarFieldContainer[str]
    max_partner_trust_tier: int
    checkout_attempt: int
    stripe_checkout_session_id: str
    platform_fee_bps: int
    paused_at: _timestamp_pb2.Timestamp
    pause_reason: str
    canceled_at: _timestamp_pb2.Timestamp
    cancel_reason: str
    completed_at: _timestamp_pb2.Timestamp
    completion_reason: str
    index_dimension: str
    def __init__(self, owner_id: _Optional[str] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., allow_partner_sessions: _Optional[bool] = ..., partner_ids: _Optional[_Iterable[str]] = ..., max_partner_trust_tier: _Optional[int] = ..., checkout_attempt: _Optional[int] = ..., stripe_checkout_session_id: _Optional[str] = ..., platform_fee_bps: _Optional[int] = ..., paused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pause_reason: _Optional[str] = ..., canceled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_reason: _Optional[str] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completion_reason: _Optional[str] = ..., index_dimension: _Optional[str] = ...) -> None: ...

class InspectCampaignResponse(_message.Message):
    __slots__ = ("campaign", "internals")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    INTERNALS_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    internals: CampaignInternals
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ..., internals: _Optional[_Union[CampaignInternals, _Mapping]] = ...) -> None: ...

class ReconcileIncentivesRequest(_message.Message):
    __slots__ = ("campaign_ids",)
    CAMPAIGN_IDS_FIELD_NUMBER: _ClassVar[int]
    campaign_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, campaign_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CampaignDrift(_message.Message):
    __slots__ = ("campaign_id", "spent_cents", "granted_sum_cents", "sessions_granted", "granted_count")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    SPENT_CENTS_FIELD_NUMBER: _ClassVar[int]
    GRANTED_SUM_CENTS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_GRANTED_FIELD_NUMBER: _ClassVar[int]
    GRANTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    spent_cents: int
    granted_sum_cents: int
    sessions_granted: int
    granted_count: int
    def __init__(self, campaign_id: _Optional[str] = ..., spent_cents: _Optional[int] = ..., granted_sum_cents: _Optional[int] = ..., sessions_granted: _Optional[int] = ..., granted_count: _Optional[int] = ...) -> None: ...

class NovaAccountDrift(_message.Message):
    __slots__ = ("account", "balance", "entries_sum")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_SUM_FIELD_NUMBER: _ClassVar[int]
    account: str
    balance: int
    entries_sum: int
    def __init__(self, account: _Optional[str] = ..., balance: _Optional[int] = ..., entries_sum: _Optional[int] = ...) -> None: ...

class ReconcileIncentivesResponse(_message.Message):
    __slots__ = ("campaigns_checked", "campaign_drifts", "nova_accounts_checked", "nova_drifts", "unbalanced_transaction_ids", "ledger_balanced", "checked_at")
    CAMPAIGNS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_DRIFTS_FIELD_NUMBER: _ClassVar[int]
    NOVA_ACCOUNTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    NOVA_DRIFTS_FIELD_NUMBER: _ClassVar[int]
    UNBALANCED_TRANSACTION_IDS_FIELD_NUMBER: _ClassVar[int]
    LEDGER_BALANCED_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    campaigns_checked: int
    campaign_drifts: _containers.RepeatedCompositeFieldContainer[CampaignDrift]
    nova_accounts_checked: int
    nova_drifts: _containers.RepeatedCompositeFieldContainer[NovaAccountDrift]
    unbalanced_transaction_ids: _containers.RepeatedScalarFieldContainer[str]
    ledger_balanced: bool
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, campaigns_checked: _Optional[int] = ..., campaign_drifts: _Optional[_Iterable[_Union[CampaignDrift, _Mapping]]] = ..., nova_accounts_checked: _Optional[int] = ..., nova_drifts: _Optional[_Iterable[_Union[NovaAccountDrift, _Mapping]]] = ..., unbalanced_transaction_ids: _Optional[_Iterable[str]] = ..., ledger_balanced: _Optional[bool] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IngestSessionEndedRequest(_message.Message):
    __slots__ = ("session_id", "driver_id", "vin_hash", "charger_id", "charger_network", "connector_type", "zone_id", "lat", "lng", "session_start", "session_end", "end_detected_at", "duration_minutes", "kwh_delivered", "max_power_kw", "last_power_kw", "battery_start_pct", "battery_end_pct", "quality_score", "verified", "verification_method", "source", "ended_reason", "charging_observations", "driver_completed_session_count", "fraud_flags", "schema_version", "driver_email", "driver_time_zone", "partner_id", "partner_trust_tier")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_HASH_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGER_NETWORK_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    SESSION_START_FIELD_NUMBER: _ClassVar[int]
    SESSION_END_FIELD_NUMBER: _ClassVar[int]
    END_DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    KWH_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    MAX_POWER_KW_FIELD_NUMBER: _ClassVar[int]
    LAST_POWER_KW_FIELD_NUMBER: _ClassVar[int]
    BATTERY_START_PCT_FIELD_NUMBER: _ClassVar[int]
    BATTERY_END_PCT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ENDED_REASON_FIELD_NUMBER: _ClassVar[int]
    CHARGING_OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    DRIVER_COMPLETED_SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    FRAUD_FLAGS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    DRIVER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    DRIVER_TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    PARTNER_TRUST_TIER_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    driver_id: str
    vin_hash: str
    charger_id: str
    charger_network: str
    connector_type: str
    zone_id: str
    lat: float
    lng: float
    session_start: _timestamp_pb2.Timestamp
    session_end: _timestamp_pb2.Timestamp
    end_detected_at: _timestamp_pb2.Timestamp
    duration_minutes: int
    kwh_delivered: float
    max_power_kw: float
    last_power_kw: float
    battery_start_pct: int
    battery_end_pct: int
    quality_score: int
    verified: bool
    verification_method: str
    source: str
    ended_reason: str
    charging_observations: int
    driver_completed_session_count: int
    fraud_flags: _containers.RepeatedScalarFieldContainer[str]
    schema_version: int
    driver_email: str
    driver_time_zone: str
    partner_id: str
    partner_trust_tier: int
    def __init__(self, session_id: _Optional[str] = ..., driver_id: _Optional[str] = ..., vin_hash: _Optional[str] = ..., charger_id: _Optional[str] = ..., charger_network: _Optional[str] = ..., connector_type: _Optional[str] = ..., zone_id: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., session_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., session_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_minutes: _Optional[int] = ..., kwh_delivered: _Optional[float] = ..., max_power_kw: _Optional[float] = ..., last_power_kw: _Optional[float] = ..., battery_start_pct: _Optional[int] = ..., battery_end_pct: _Optional[int] = ..., quality_score: _Optional[int] = ..., verified: _Optional[bool] = ..., verification_method: _Optional[str] = ..., source: _Optional[str] = ..., ended_reason: _Optional[str] = ..., charging_observations: _Optional[int] = ..., driver_completed_session_count: _Optional[int] = ..., fraud_flags: _Optional[_Iterable[str]] = ..., schema_version: _Optional[int] = ..., driver_email: _Optional[str] = ..., driver_time_zone: _Optional[str] = ..., partner_id: _Optional[str] = ..., partner_trust_tier: _Optional[int] = ...) -> None: ...

class SessionGrant(_message.Message):
    __slots__ = ("grant_id", "campaign_id", "amount_cents", "status", "granted_at")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    campaign_id: str
    amount_cents: int
    status: str
    granted_at: _timestamp_pb2.Timestamp
    def __init__(self, grant_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., status: _Optional[str] = ..., granted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IngestSessionEndedResponse(_message.Message):
    __slots__ = ("outcome", "reason", "grant")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    outcome: str
    reason: str
    grant: SessionGrant
    def __init__(self, outcome: _Optional[str] = ..., reason: _Optional[str] = ..., grant: _Optional[_Union[SessionGrant, _Mapping]] = ...) -> None: ...

class CheckoutSession(_message.Message):
    __slots__ = ("id", "status", "payment_status", "amount_total", "currency", "payment_intent", "client_reference_id", "metadata")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_INTENT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    payment_status: str
    amount_total: int
    currency: str
    payment_intent: str
    client_reference_id: str
    metadata: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., payment_status: _Optional[str] = ..., amount_total: _Optional[int] = ..., currency: _Optional[str] = ..., payment_intent: _Optional[str] = ..., client_reference_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ApplyCampaignFundingRequest(_message.Message):
    __slots__ = ("stripe_event_id", "type", "session")
    STRIPE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    stripe_event_id: str
    type: str
    session: CheckoutSession
    def __init__(self, stripe_event_id: _Optional[str] = ..., type: _Optional[str] = ..., session: _Optional[_Union[CheckoutSession, _Mapping]] = ...) -> None: ...

class ApplyCampaignFundingResponse(_message.Message):
    __slots__ = ("result", "campaign_id", "funding_status", "campaign_status", "activated", "gross_funding_cents", "platform_fee_cents", "net_funding_cents", "replayed")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    FUNDING_STATUS_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_FIELD_NUMBER: _ClassVar[int]
    GROSS_FUNDING_CENTS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FEE_CENTS_FIELD_NUMBER: _ClassVar[int]
    NET_FUNDING_CENTS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    result: str
    campaign_id: str
    funding_status: str
    campaign_status: str
    activated: bool
    gross_funding_cents: int
    platform_fee_cents: int
    net_funding_cents: int
    replayed: bool
    def __init__(self, result: _Optional[str] = ..., campaign_id: _Optional[str] = ..., funding_status: _Optional[str] = ..., campaign_status: _Optional[str] = ..., activated: _Optional[bool] = ..., gross_funding_cents: _Optional[int] = ..., platform_fee_cents: _Optional[int] = ..., net_funding_cents: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class BatchGetGrantsRequest(_message.Message):
    __slots__ = ("grant_ids", "session_ids")
    GRANT_IDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_IDS_FIELD_NUMBER: _ClassVar[int]
    grant_ids: _containers.RepeatedScalarFieldContainer[str]
    session_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, grant_ids: _Optional[_Iterable[str]] = ..., session_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetGrantsResponse(_message.Message):
    __slots__ = ("grants",)
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    grants: _containers.RepeatedCompositeFieldContainer[GrantRecord]
    def __init__(self, grants: _Optional[_Iterable[_Union[GrantRecord, _Mapping]]] = ...) -> None: ...

class GetNovaBalanceRequest(_message.Message):
    __slots__ = ("driver_id",)
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    driver_id: str
    def __init__(self, driver_id: _Optional[str] = ...) -> None: ...

class GetNovaBalanceResponse(_message.Message):
    __slots__ = ("driver_id", "balance")
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    driver_id: str
    balance: int
    def __init__(self, driver_id: _Optional[str] = ..., balance: _Optional[int] = ...) -> None: ...

class ChargerRewardQuery(_message.Message):
    __slots__ = ("charger_id", "network_name", "zone_id", "lat", "lng")
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_NAME_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    charger_id: str
    network_name: str
    zone_id: str
    lat: float
    lng: float
    def __init__(self, charger_id: _Optional[str] = ..., network_name: _Optional[str] = ..., zone_id: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ...) -> None: ...

class ListCampaignRewardsForChargersRequest(_message.Message):
    __slots__ = ("chargers", "driver_id", "driver_email")
    CHARGERS_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    chargers: _containers.RepeatedCompositeFieldContainer[ChargerRewardQuery]
    driver_id: str
    driver_email: str
    def __init__(self, chargers: _Optional[_Iterable[_Union[ChargerRewardQuery, _Mapping]]] = ..., driver_id: _Optional[str] = ..., driver_email: _Optional[str] = ...) -> None: ...

class ChargerReward(_message.Message):
    __slots__ = ("charger_id", "campaign_reward_cents", "campaign_id")
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_REWARD_CENTS_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    charger_id: str
    campaign_reward_cents: int
    campaign_id: str
    def __init__(self, charger_id: _Optional[str] = ..., campaign_reward_cents: _Optional[int] = ..., campaign_id: _Optional[str] = ...) -> None: ...

class ListCampaignRewardsForChargersResponse(_message.Message):
    __slots__ = ("rewards",)
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    rewards: _containers.RepeatedCompositeFieldContainer[ChargerReward]
    def __init__(self, rewards: _Optional[_Iterable[_Union[ChargerReward, _Mapping]]] = ...) -> None: ...

class NovaMerchant(_message.Message):
    __slots__ = ("merchant_id", "name", "status", "balance", "created_at", "updated_at")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    name: str
    status: str
    balance: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, merchant_id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ..., balance: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertNovaMerchantRequest(_message.Message):
    __slots__ = ("merchant_id", "name", "status")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    name: str
    status: str
    def __init__(self, merchant_id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class UpsertNovaMerchantResponse(_message.Message):
    __slots__ = ("merchant", "created")
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    merchant: NovaMerchant
    created: bool
    def __init__(self, merchant: _Optional[_Union[NovaMerchant, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GrantCreatedEvent(_message.Message):
    __slots__ = ("grant_id", "campaign_id", "campaign_name", "sponsor_name", "driver_id", "session_id", "amount_cents", "currency", "granted_at")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    campaign_id: str
    campaign_name: str
    sponsor_name: str
    driver_id: str
    session_id: str
    amount_cents: int
    currency: str
    granted_at: _timestamp_pb2.Timestamp
    def __init__(self, grant_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., campaign_name: _Optional[str] = ..., sponsor_name: _Optional[str] = ..., driver_id: _Optional[str] = ..., session_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., currency: _Optional[str] = ..., granted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GrantClawedBackEvent(_message.Message):
    __slots__ = ("grant_id", "campaign_id", "driver_id", "amount_cents", "reason", "clawed_back_at", "original_key")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CLAWED_BACK_AT_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_KEY_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    campaign_id: str
    driver_id: str
    amount_cents: int
    reason: str
    clawed_back_at: _timestamp_pb2.Timestamp
    original_key: str
    def __init__(self, grant_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., driver_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., reason: _Optional[str] = ..., clawed_back_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., original_key: _Optional[str] = ...) -> None: ...

class GrantStatusChangedEvent(_message.Message):
    __slots__ = ("grant_id", "session_id", "campaign_id", "amount_cents", "status", "granted_at")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    session_id: str
    campaign_id: str
    amount_cents: int
    status: str
    granted_at: _timestamp_pb2.Timestamp
    def __init__(self, grant_id: _Optional[str] = ..., session_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., status: _Optional[str] = ..., granted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
