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

class ChargingSession(_message.Message):
    __slots__ = ("id", "session_start", "session_end", "duration_minutes", "charger_id", "charger_network", "connector_type", "power_kw", "kwh_delivered", "verified", "lat", "lng", "battery_start_pct", "battery_end_pct", "quality_score", "ended_reason", "location_trail", "incentive")
    ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_START_FIELD_NUMBER: _ClassVar[int]
    SESSION_END_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGER_NETWORK_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    POWER_KW_FIELD_NUMBER: _ClassVar[int]
    KWH_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    BATTERY_START_PCT_FIELD_NUMBER: _ClassVar[int]
    BATTERY_END_PCT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    ENDED_REASON_FIELD_NUMBER: _ClassVar[int]
    LOCATION_TRAIL_FIELD_NUMBER: _ClassVar[int]
    INCENTIVE_FIELD_NUMBER: _ClassVar[int]
    id: str
    session_start: _timestamp_pb2.Timestamp
    session_end: _timestamp_pb2.Timestamp
    duration_minutes: int
    charger_id: str
    charger_network: str
    connector_type: str
    power_kw: float
    kwh_delivered: float
    verified: bool
    lat: float
    lng: float
    battery_start_pct: int
    battery_end_pct: int
    quality_score: int
    ended_reason: str
    location_trail: _containers.RepeatedCompositeFieldContainer[LocationPoint]
    incentive: SessionIncentive
    def __init__(self, id: _Optional[str] = ..., session_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., session_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_minutes: _Optional[int] = ..., charger_id: _Optional[str] = ..., charger_network: _Optional[str] = ..., connector_type: _Optional[str] = ..., power_kw: _Optional[float] = ..., kwh_delivered: _Optional[float] = ..., verified: _Optional[bool] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., battery_start_pct: _Optional[int] = ..., battery_end_pct: _Optional[int] = ..., quality_score: _Optional[int] = ..., ended_reason: _Optional[str] = ..., location_trail: _Optional[_Iterable[_Union[LocationPoint, _Mapping]]] = ..., incentive: _Optional[_Union[SessionIncentive, _Mapping]] = ...) -> None: ...

class LocationPoint(_message.Message):
    __slots__ = ("lat", "lng", "ts")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    ts: _timestamp_pb2.Timestamp
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ..., ts: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SessionIncentive(_message.Message):
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

class GetTeslaStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTeslaStatusResponse(_message.Message):
    __slots__ = ("connected", "vehicle_name", "vehicle_model", "vehicle_year", "exterior_color", "battery_level", "vin")
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_NAME_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_MODEL_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_YEAR_FIELD_NUMBER: _ClassVar[int]
    EXTERIOR_COLOR_FIELD_NUMBER: _ClassVar[int]
    BATTERY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    connected: bool
    vehicle_name: str
    vehicle_model: str
    vehicle_year: int
    exterior_color: str
    battery_level: int
    vin: str
    def __init__(self, connected: _Optional[bool] = ..., vehicle_name: _Optional[str] = ..., vehicle_model: _Optional[str] = ..., vehicle_year: _Optional[int] = ..., exterior_color: _Optional[str] = ..., battery_level: _Optional[int] = ..., vin: _Optional[str] = ...) -> None: ...

class CreateTeslaConnectUrlRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateTeslaConnectUrlResponse(_message.Message):
    __slots__ = ("authorization_url", "state")
    AUTHORIZATION_URL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    authorization_url: str
    state: str
    def __init__(self, authorization_url: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class CreateTeslaLoginUrlRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateTeslaLoginUrlResponse(_message.Message):
    __slots__ = ("authorization_url", "state")
    AUTHORIZATION_URL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    authorization_url: str
    state: str
    def __init__(self, authorization_url: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class HandleTeslaCallbackRequest(_message.Message):
    __slots__ = ("code", "state", "issuer", "locale", "error", "error_description")
    CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    code: str
    state: str
    issuer: str
    locale: str
    error: str
    error_description: str
    def __init__(self, code: _Optional[str] = ..., state: _Optional[str] = ..., issuer: _Optional[str] = ..., locale: _Optional[str] = ..., error: _Optional[str] = ..., error_description: _Optional[str] = ...) -> None: ...

class HandleTeslaCallbackResponse(_message.Message):
    __slots__ = ("redirect_url",)
    REDIRECT_URL_FIELD_NUMBER: _ClassVar[int]
    redirect_url: str
    def __init__(self, redirect_url: _Optional[str] = ...) -> None: ...

class DisconnectTeslaRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class DisconnectTeslaResponse(_message.Message):
    __slots__ = ("success", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class TeslaLoginRequest(_message.Message):
    __slots__ = ("code", "state")
    CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    code: str
    state: str
    def __init__(self, code: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class TeslaLoginResponse(_message.Message):
    __slots__ = ("access_token", "refresh_token", "token_type", "user", "vehicles")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    VEHICLES_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    refresh_token: str
    token_type: str
    user: TeslaLoginUser
    vehicles: _containers.RepeatedCompositeFieldContainer[TeslaVehicle]
    def __init__(self, access_token: _Optional[str] = ..., refresh_token: _Optional[str] = ..., token_type: _Optional[str] = ..., user: _Optional[_Union[TeslaLoginUser, _Mapping]] = ..., vehicles: _Optional[_Iterable[_Union[TeslaVehicle, _Mapping]]] = ...) -> None: ...

class TeslaLoginUser(_message.Message):
    __slots__ = ("public_id", "auth_provider", "email", "display_name", "phone")
    PUBLIC_ID_FIELD_NUMBER: _ClassVar[int]
    AUTH_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    public_id: str
    auth_provider: str
    email: str
    display_name: str
    phone: str
    def __init__(self, public_id: _Optional[str] = ..., auth_provider: _Optional[str] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class TeslaVehicle(_message.Message):
    __slots__ = ("id", "vin", "display_name", "model", "year", "color")
    ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    id: str
    vin: str
    display_name: str
    model: str
    year: int
    color: str
    def __init__(self, id: _Optional[str] = ..., vin: _Optional[str] = ..., display_name: _Optional[str] = ..., model: _Optional[str] = ..., year: _Optional[int] = ..., color: _Optional[str] = ...) -> None: ...

class SelectVehicleRequest(_message.Message):
    __slots__ = ("vehicle_id", "request_id")
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    vehicle_id: str
    request_id: str
    def __init__(self, vehicle_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SelectVehicleResponse(_message.Message):
    __slots__ = ("success", "vehicle")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    vehicle: SelectedVehicle
    def __init__(self, success: _Optional[bool] = ..., vehicle: _Optional[_Union[SelectedVehicle, _Mapping]] = ...) -> None: ...

class SelectedVehicle(_message.Message):
    __slots__ = ("id", "vin", "display_name", "model")
    ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    id: str
    vin: str
    display_name: str
    model: str
    def __init__(self, id: _Optional[str] = ..., vin: _Optional[str] = ..., display_name: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class ListVehiclesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListVehiclesResponse(_message.Message):
    __slots__ = ("vehicles", "selected_vehicle_id")
    VEHICLES_FIELD_NUMBER: _ClassVar[int]
    SELECTED_VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    vehicles: _containers.RepeatedCompositeFieldContainer[TeslaVehicle]
    selected_vehicle_id: str
    def __init__(self, vehicles: _Optional[_Iterable[_Union[TeslaVehicle, _Mapping]]] = ..., selected_vehicle_id: _Optional[str] = ...) -> None: ...

class ConfigureTelemetryRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class ConfigureTelemetryResponse(_message.Message):
    __slots__ = ("status", "vin", "telemetry_enabled")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_ENABLED_FIELD_NUMBER: _ClassVar[int]
    status: str
    vin: str
    telemetry_enabled: bool
    def __init__(self, status: _Optional[str] = ..., vin: _Optional[str] = ..., telemetry_enabled: _Optional[bool] = ...) -> None: ...

class VerifyChargingRequest(_message.Message):
    __slots__ = ("lat", "lng", "merchant_place_id", "merchant_name", "charger_id", "request_id")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_PLACE_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_NAME_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    merchant_place_id: str
    merchant_name: str
    charger_id: str
    request_id: str
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ..., merchant_place_id: _Optional[str] = ..., merchant_name: _Optional[str] = ..., charger_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class VerifyChargingResponse(_message.Message):
    __slots__ = ("is_charging", "battery_level", "charge_rate_kw", "ev_code", "message")
    IS_CHARGING_FIELD_NUMBER: _ClassVar[int]
    BATTERY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CHARGE_RATE_KW_FIELD_NUMBER: _ClassVar[int]
    EV_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    is_charging: bool
    battery_level: int
    charge_rate_kw: int
    ev_code: str
    message: str
    def __init__(self, is_charging: _Optional[bool] = ..., battery_level: _Optional[int] = ..., charge_rate_kw: _Optional[int] = ..., ev_code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ListEvCodesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEvCodesResponse(_message.Message):
    __slots__ = ("codes",)
    CODES_FIELD_NUMBER: _ClassVar[int]
    codes: _containers.RepeatedCompositeFieldContainer[EvCode]
    def __init__(self, codes: _Optional[_Iterable[_Union[EvCode, _Mapping]]] = ...) -> None: ...

class EvCode(_message.Message):
    __slots__ = ("code", "merchant_name", "expires_at", "status")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    code: str
    merchant_name: str
    expires_at: _timestamp_pb2.Timestamp
    status: str
    def __init__(self, code: _Optional[str] = ..., merchant_name: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[str] = ...) -> None: ...

class PollChargingSessionRequest(_message.Message):
    __slots__ = ("lat", "lng", "request_id")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    request_id: str
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ..., request_id: _Optional[str] = ...) -> None: ...

class PollChargingSessionResponse(_message.Message):
    __slots__ = ("session_active", "session_id", "duration_minutes", "kwh_delivered", "cached", "session_ended", "session_reopened", "incentive_granted", "incentive_amount_cents", "incentive_earned", "incentive_campaign_name", "telemetry_mode", "vehicle_asleep", "recommended_interval_s", "minutes_to_full", "battery_level", "charger_power_kw", "conn_charge_cable", "fast_charger_brand", "charger_voltage", "charger_actual_current", "error")
    SESSION_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    KWH_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    SESSION_ENDED_FIELD_NUMBER: _ClassVar[int]
    SESSION_REOPENED_FIELD_NUMBER: _ClassVar[int]
    INCENTIVE_GRANTED_FIELD_NUMBER: _ClassVar[int]
    INCENTIVE_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    INCENTIVE_EARNED_FIELD_NUMBER: _ClassVar[int]
    INCENTIVE_CAMPAIGN_NAME_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_MODE_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ASLEEP_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    MINUTES_TO_FULL_FIELD_NUMBER: _ClassVar[int]
    BATTERY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CHARGER_POWER_KW_FIELD_NUMBER: _ClassVar[int]
    CONN_CHARGE_CABLE_FIELD_NUMBER: _ClassVar[int]
    FAST_CHARGER_BRAND_FIELD_NUMBER: _ClassVar[int]
    CHARGER_VOLTAGE_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ACTUAL_CURRENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    session_active: bool
    session_id: str
    duration_minutes: int
    kwh_delivered: float
    cached: bool
    session_ended: bool
    session_reopened: bool
    incentive_granted: bool
    incentive_amount_cents: int
    incentive_earned: bool
    incentive_campaign_name: str
    telemetry_mode: bool
    vehicle_asleep: bool
    recommended_interval_s: int
    minutes_to_full: float
    battery_level: int
    charger_power_kw: float
    conn_charge_cable: str
    fast_charger_brand: str
    charger_voltage: float
    charger_actual_current: float
    error: str
    def __init__(self, session_active: _Optional[bool] = ..., session_id: _Optional[str] = ..., duration_minutes: _Optional[int] = ..., kwh_delivered: _Optional[float] = ..., cached: _Optional[bool] = ..., session_ended: _Optional[bool] = ..., session_reopened: _Optional[bool] = ..., incentive_granted: _Optional[bool] = ..., incentive_amount_cents: _Optional[int] = ..., incentive_earned: _Optional[bool] = ..., incentive_campaign_name: _Optional[str] = ..., telemetry_mode: _Optional[bool] = ..., vehicle_asleep: _Optional[bool] = ..., recommended_interval_s: _Optional[int] = ..., minutes_to_full: _Optional[float] = ..., battery_level: _Optional[int] = ..., charger_power_kw: _Optional[float] = ..., conn_charge_cable: _Optional[str] = ..., fast_charger_brand: _Optional[str] = ..., charger_voltage: _Optional[float] = ..., charger_actual_current: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class BackgroundPingRequest(_message.Message):
    __slots__ = ("lat", "lng", "request_id")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    request_id: str
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ..., request_id: _Optional[str] = ...) -> None: ...

class BackgroundPingResponse(_message.Message):
    __slots__ = ("matched", "session_active", "session_id", "already_active", "reason", "charger_id", "charger_name")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    SESSION_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ALREADY_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGER_NAME_FIELD_NUMBER: _ClassVar[int]
    matched: bool
    session_active: bool
    session_id: str
    already_active: bool
    reason: str
    charger_id: str
    charger_name: str
    def __init__(self, matched: _Optional[bool] = ..., session_active: _Optional[bool] = ..., session_id: _Optional[str] = ..., already_active: _Optional[bool] = ..., reason: _Optional[str] = ..., charger_id: _Optional[str] = ..., charger_name: _Optional[str] = ...) -> None: ...

class EndChargingSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class EndChargingSessionResponse(_message.Message):
    __slots__ = ("session", "ended")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    session: ChargingSession
    ended: bool
    def __init__(self, session: _Optional[_Union[ChargingSession, _Mapping]] = ..., ended: _Optional[bool] = ...) -> None: ...

class ForceCloseSessionRequest(_message.Message):
    __slots__ = ("session_id", "note")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    note: str
    def __init__(self, session_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ForceCloseSessionResponse(_message.Message):
    __slots__ = ("session", "ended")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    session: ChargingSession
    ended: bool
    def __init__(self, session: _Optional[_Union[ChargingSession, _Mapping]] = ..., ended: _Optional[bool] = ...) -> None: ...

class ListChargingSessionsRequest(_message.Message):
    __slots__ = ("limit", "offset")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListChargingSessionsResponse(_message.Message):
    __slots__ = ("sessions", "count")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[ChargingSession]
    count: int
    def __init__(self, sessions: _Optional[_Iterable[_Union[ChargingSession, _Mapping]]] = ..., count: _Optional[int] = ...) -> None: ...

class GetActiveChargingSessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetActiveChargingSessionResponse(_message.Message):
    __slots__ = ("session", "active", "last_ended_session")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    LAST_ENDED_SESSION_FIELD_NUMBER: _ClassVar[int]
    session: ChargingSession
    active: bool
    last_ended_session: ChargingSession
    def __init__(self, session: _Optional[_Union[ChargingSession, _Mapping]] = ..., active: _Optional[bool] = ..., last_ended_session: _Optional[_Union[ChargingSession, _Mapping]] = ...) -> None: ...

class GetChargingSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GetChargingSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: ChargingSession
    def __init__(self, session: _Optional[_Union[ChargingSession, _Mapping]] = ...) -> None: ...

class IngestFleetTelemetryRequest(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: _httpbody_pb2.HttpBody
    def __init__(self, body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ...) -> None: ...

class IngestFleetTelemetryResponse(_message.Message):
    __slots__ = ("status", "result", "detail")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    status: str
    result: FleetTelemetryResult
    detail: str
    def __init__(self, status: _Optional[str] = ..., result: _Optional[_Union[FleetTelemetryResult, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class FleetTelemetryResult(_message.Message):
    __slots__ = ("action", "session_id", "duration_minutes", "incentive_granted", "incentive_amount_cents")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    INCENTIVE_GRANTED_FIELD_NUMBER: _ClassVar[int]
    INCENTIVE_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    action: str
    session_id: str
    duration_minutes: int
    incentive_granted: bool
    incentive_amount_cents: int
    def __init__(self, action: _Optional[str] = ..., session_id: _Optional[str] = ..., duration_minutes: _Optional[int] = ..., incentive_granted: _Optional[bool] = ..., incentive_amount_cents: _Optional[int] = ...) -> None: ...

class ListChargersRequest(_message.Message):
    __slots__ = ("search", "network", "state", "limit", "offset")
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    search: str
    network: str
    state: str
    limit: int
    offset: int
    def __init__(self, search: _Optional[str] = ..., network: _Optional[str] = ..., state: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListChargersResponse(_message.Message):
    __slots__ = ("chargers", "total")
    CHARGERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    chargers: _containers.RepeatedCompositeFieldContainer[ChargerBrowseItem]
    total: int
    def __init__(self, chargers: _Optional[_Iterable[_Union[ChargerBrowseItem, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class ChargerBrowseItem(_message.Message):
    __slots__ = ("id", "name", "network_name", "lat", "lng", "address", "city", "state", "power_kw", "num_evse", "connector_types", "pricing_per_kwh", "total_sessions", "unique_drivers")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NETWORK_NAME_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    POWER_KW_FIELD_NUMBER: _ClassVar[int]
    NUM_EVSE_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_TYPES_FIELD_NUMBER: _ClassVar[int]
    PRICING_PER_KWH_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_DRIVERS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    network_name: str
    lat: float
    lng: float
    address: str
    city: str
    state: str
    power_kw: float
    num_evse: int
    connector_types: _containers.RepeatedScalarFieldContainer[str]
    pricing_per_kwh: float
    total_sessions: int
    unique_drivers: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., network_name: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., address: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., power_kw: _Optional[float] = ..., num_evse: _Optional[int] = ..., connector_types: _Optional[_Iterable[str]] = ..., pricing_per_kwh: _Optional[float] = ..., total_sessions: _Optional[int] = ..., unique_drivers: _Optional[int] = ...) -> None: ...

class GetChargerUtilizationRequest(_message.Message):
    __slots__ = ("charger_ids", "since_days")
    CHARGER_IDS_FIELD_NUMBER: _ClassVar[int]
    SINCE_DAYS_FIELD_NUMBER: _ClassVar[int]
    charger_ids: _containers.RepeatedScalarFieldContainer[str]
    since_days: int
    def __init__(self, charger_ids: _Optional[_Iterable[str]] = ..., since_days: _Optional[int] = ...) -> None: ...

class GetChargerUtilizationResponse(_message.Message):
    __slots__ = ("chargers",)
    CHARGERS_FIELD_NUMBER: _ClassVar[int]
    chargers: _containers.RepeatedCompositeFieldContainer[ChargerUtilization]
    def __init__(self, chargers: _Optional[_Iterable[_Union[ChargerUtilization, _Mapping]]] = ...) -> None: ...

class ChargerUtilization(_message.Message):
    __slots__ = ("charger_id", "total_sessions", "unique_drivers", "avg_duration_minutes")
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_DRIVERS_FIELD_NUMBER: _ClassVar[int]
    AVG_DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    charger_id: str
    total_sessions: int
    unique_drivers: int
    avg_duration_minutes: float
    def __init__(self, charger_id: _Optional[str] = ..., total_sessions: _Optional[int] = ..., unique_drivers: _Optional[int] = ..., avg_duration_minutes: _Optional[float] = ...) -> None: ...

class FindOverlappingSessionsRequest(_message.Message):
    __slots__ = ("driver_id", "t1", "t2", "session_id")
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    T1_FIELD_NUMBER: _ClassVar[int]
    T2_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    driver_id: str
    t1: _timestamp_pb2.Timestamp
    t2: _timestamp_pb2.Timestamp
    session_id: str
    def __init__(self, driver_id: _Optional[str] = ..., t1: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., t2: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class FindOverlappingSessionsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[OverlappingSession]
    def __init__(self, sessions: _Optional[_Iterable[_Union[OverlappingSession, _Mapping]]] = ...) -> None: ...

class OverlappingSession(_message.Message):
    __slots__ = ("session_id", "session_start", "session_end", "charger_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_START_FIELD_NUMBER: _ClassVar[int]
    SESSION_END_FIELD_NUMBER: _ClassVar[int]
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    session_start: _timestamp_pb2.Timestamp
    session_end: _timestamp_pb2.Timestamp
    charger_id: str
    def __init__(self, session_id: _Optional[str] = ..., session_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., session_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., charger_id: _Optional[str] = ...) -> None: ...

class GetChargerRequest(_message.Message):
    __slots__ = ("charger_id",)
    CHARGER_ID_FIELD_NUMBER: _ClassVar[int]
    charger_id: str
    def __init__(self, charger_id: _Optional[str] = ...) -> None: ...

class GetChargerResponse(_message.Message):
    __slots__ = ("charger",)
    CHARGER_FIELD_NUMBER: _ClassVar[int]
    charger: Charger
    def __init__(self, charger: _Optional[_Union[Charger, _Mapping]] = ...) -> None: ...

class Charger(_message.Message):
    __slots__ = ("id", "name", "network_name", "zone_id", "lat", "lng", "connector_types", "power_kw", "is_public")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NETWORK_NAME_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_TYPES_FIELD_NUMBER: _ClassVar[int]
    POWER_KW_FIELD_NUMBER: _ClassVar[int]
    IS_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    network_name: str
    zone_id: str
    lat: float
    lng: float
    connector_types: _containers.RepeatedScalarFieldContainer[str]
    power_kw: float
    is_public: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., network_name: _Optional[str] = ..., zone_id: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., connector_types: _Optional[_Iterable[str]] = ..., power_kw: _Optional[float] = ..., is_public: _Optional[bool] = ...) -> None: ...

class ApplyGrantStatusRequest(_message.Message):
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

class ApplyGrantStatusResponse(_message.Message):
    __slots__ = ("applied",)
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    def __init__(self, applied: _Optional[bool] = ...) -> None: ...

class SessionEnded(_message.Message):
    __slots__ = ("session_id", "driver_id", "vin_hash", "charger_id", "charger_network", "connector_type", "zone_id", "lat", "lng", "session_start", "session_end", "end_detected_at", "duration_minutes", "kwh_delivered", "max_power_kw", "last_power_kw", "battery_start_pct", "battery_end_pct", "quality_score", "verified", "verification_method", "source", "ended_reason", "charging_observations", "driver_completed_session_count", "fraud_flags", "schema_version")
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
    def __init__(self, session_id: _Optional[str] = ..., driver_id: _Optional[str] = ..., vin_hash: _Optional[str] = ..., charger_id: _Optional[str] = ..., charger_network: _Optional[str] = ..., connector_type: _Optional[str] = ..., zone_id: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., session_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., session_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_minutes: _Optional[int] = ..., kwh_delivered: _Optional[float] = ..., max_power_kw: _Optional[float] = ..., last_power_kw: _Optional[float] = ..., battery_start_pct: _Optional[int] = ..., battery_end_pct: _Optional[int] = ..., quality_score: _Optional[int] = ..., verified: _Optional[bool] = ..., verification_method: _Optional[str] = ..., source: _Optional[str] = ..., ended_reason: _Optional[str] = ..., charging_observations: _Optional[int] = ..., driver_completed_session_count: _Optional[int] = ..., fraud_flags: _Optional[_Iterable[str]] = ..., schema_version: _Optional[int] = ...) -> None: ...
