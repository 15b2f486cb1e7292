import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Field(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_UNSPECIFIED: _ClassVar[Field]
    FIELD_CHARGE_STATE: _ClassVar[Field]
    FIELD_SOC: _ClassVar[Field]
    FIELD_LOCATION: _ClassVar[Field]
    FIELD_DC_CHARGING_ENERGY_IN: _ClassVar[Field]
    FIELD_DC_CHARGING_POWER: _ClassVar[Field]
    FIELD_AC_CHARGING_ENERGY_IN: _ClassVar[Field]
    FIELD_AC_CHARGING_POWER: _ClassVar[Field]
    FIELD_FAST_CHARGER_PRESENT: _ClassVar[Field]
    FIELD_BATTERY_LEVEL: _ClassVar[Field]
    FIELD_TIME_TO_FULL_CHARGE: _ClassVar[Field]
    FIELD_DETAILED_CHARGE_STATE: _ClassVar[Field]
    FIELD_CHARGE_PORT_DOOR_OPEN: _ClassVar[Field]
    FIELD_CHARGER_VOLTAGE: _ClassVar[Field]
    FIELD_CHARGING_CABLE_TYPE: _ClassVar[Field]
    FIELD_FAST_CHARGER_TYPE: _ClassVar[Field]

class DetailedChargeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DETAILED_CHARGE_STATE_UNSPECIFIED: _ClassVar[DetailedChargeState]
    DETAILED_CHARGE_STATE_DISCONNECTED: _ClassVar[DetailedChargeState]
    DETAILED_CHARGE_STATE_NO_POWER: _ClassVar[DetailedChargeState]
    DETAILED_CHARGE_STATE_STARTING: _ClassVar[DetailedChargeState]
    DETAILED_CHARGE_STATE_CHARGING: _ClassVar[DetailedChargeState]
    DETAILED_CHARGE_STATE_COMPLETE: _ClassVar[DetailedChargeState]
    DETAILED_CHARGE_STATE_STOPPED: _ClassVar[DetailedChargeState]

class ChargingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHARGING_STATE_UNSPECIFIED: _ClassVar[ChargingState]
    CHARGING_STATE_DISCONNECTED: _ClassVar[ChargingState]
    CHARGING_STATE_NO_POWER: _ClassVar[ChargingState]
    CHARGING_STATE_STARTING: _ClassVar[ChargingState]
    CHARGING_STATE_CHARGING: _ClassVar[ChargingState]
    CHARGING_STATE_COMPLETE: _ClassVar[ChargingState]
    CHARGING_STATE_STOPPED: _ClassVar[ChargingState]

class FastCharger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAST_CHARGER_UNSPECIFIED: _ClassVar[FastCharger]
    FAST_CHARGER_SUPERCHARGER: _ClassVar[FastCharger]
    FAST_CHARGER_CHADEMO: _ClassVar[FastCharger]
    FAST_CHARGER_GB: _ClassVar[FastCharger]
    FAST_CHARGER_AC_SINGLE_WIRE_CAN: _ClassVar[FastCharger]
    FAST_CHARGER_COMBO: _ClassVar[FastCharger]
    FAST_CHARGER_MC_SINGLE_WIRE_CAN: _ClassVar[FastCharger]
    FAST_CHARGER_OTHER: _ClassVar[FastCharger]
    FAST_CHARGER_SNA: _ClassVar[FastCharger]

class CableType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CABLE_TYPE_UNSPECIFIED: _ClassVar[CableType]
    CABLE_TYPE_IEC: _ClassVar[CableType]
    CABLE_TYPE_SAE: _ClassVar[CableType]
    CABLE_TYPE_GB_AC: _ClassVar[CableType]
    CABLE_TYPE_GB_DC: _ClassVar[CableType]
    CABLE_TYPE_SNA: _ClassVar[CableType]
FIELD_UNSPECIFIED: Field
FIELD_CHARGE_STATE: Field
FIELD_SOC: Field
FIELD_LOCATION: Field
FIELD_DC_CHARGING_ENERGY_IN: Field
FIELD_DC_CHARGING_POWER: Field
FIELD_AC_CHARGING_ENERGY_IN: Field
FIELD_AC_CHARGING_POWER: Field
FIELD_FAST_CHARGER_PRESENT: Field
FIELD_BATTERY_LEVEL: Field
FIELD_TIME_TO_FULL_CHARGE: Field
FIELD_DETAILED_CHARGE_STATE: Field
FIELD_CHARGE_PORT_DOOR_OPEN: Field
FIELD_CHARGER_VOLTAGE: Field
FIELD_CHARGING_CABLE_TYPE: Field
FIELD_FAST_CHARGER_TYPE: Field
DETAILED_CHARGE_STATE_UNSPECIFIED: DetailedChargeState
DETAILED_CHARGE_STATE_DISCONNECTED: DetailedChargeState
DETAILED_CHARGE_STATE_NO_POWER: DetailedChargeState
DETAILED_CHARGE_STATE_STARTING: DetailedChargeState
DETAILED_CHARGE_STATE_CHARGING: DetailedChargeState
DETAILED_CHARGE_STATE_COMPLETE: DetailedChargeState
DETAILED_CHARGE_STATE_STOPPED: DetailedChargeState
CHARGING_STATE_UNSPECIFIED: ChargingState
CHARGING_STATE_DISCONNECTED: ChargingState
CHARGING_STATE_NO_POWER: ChargingState
CHARGING_STATE_STARTING: ChargingState
CHARGING_STATE_CHARGING: ChargingState
CHARGING_STATE_COMPLETE: ChargingState
CHARGING_STATE_STOPPED: ChargingState
FAST_CHARGER_UNSPECIFIED: FastCharger
FAST_CHARGER_SUPERCHARGER: FastCharger
FAST_CHARGER_CHADEMO: FastCharger
FAST_CHARGER_GB: FastCharger
FAST_CHARGER_AC_SINGLE_WIRE_CAN: FastCharger
FAST_CHARGER_COMBO: FastCharger
FAST_CHARGER_MC_SINGLE_WIRE_CAN: FastCharger
FAST_CHARGER_OTHER: FastCharger
FAST_CHARGER_SNA: FastCharger
CABLE_TYPE_UNSPECIFIED: CableType
CABLE_TYPE_IEC: CableType
CABLE_TYPE_SAE: CableType
CABLE_TYPE_GB_AC: CableType
CABLE_TYPE_GB_DC: CableType
CABLE_TYPE_SNA: CableType

class LocationValue(_message.Message):
    __slots__ = ("latitude", "longitude")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    latitude: float
    longitude: float
    def __init__(self, latitude: _Optional[float] = ..., longitude: _Optional[float] = ...) -> None: ...

class Value(_message.Message):
    __slots__ = ("string_value", "int_value", "long_value", "float_value", "double_value", "boolean_value", "location_value", "charging_value", "invalid", "detailed_charge_state_value", "fast_charger_value", "cable_type_value")
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    LONG_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOLEAN_VALUE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_VALUE_FIELD_NUMBER: _ClassVar[int]
    CHARGING_VALUE_FIELD_NUMBER: _ClassVar[int]
    INVALID_FIELD_NUMBER: _ClassVar[int]
    DETAILED_CHARGE_STATE_VALUE_FIELD_NUMBER: _ClassVar[int]
    FAST_CHARGER_VALUE_FIELD_NUMBER: _ClassVar[int]
    CABLE_TYPE_VALUE_FIELD_NUMBER: _ClassVar[int]
    string_value: str
    int_value: int
    long_value: int
    float_value: float
    double_value: float
    boolean_value: bool
    location_value: LocationValue
    charging_value: ChargingState
    invalid: bool
    detailed_charge_state_value: DetailedChargeState
    fast_charger_value: FastCharger
    cable_type_value: CableType
    def __init__(self, string_value: _Optional[str] = ..., int_value: _Optional[int] = ..., long_value: _Optional[int] = ..., float_value: _Optional[float] = ..., double_value: _Optional[float] = ..., boolean_value: _Optional[bool] = ..., location_value: _Optional[_Union[LocationValue, _Mapping]] = ..., charging_value: _Optional[_Union[ChargingState, str]] = ..., invalid: _Optional[bool] = ..., detailed_charge_state_value: _Optional[_Union[DetailedChargeState, str]] = ..., fast_charger_value: _Optional[_Union[FastCharger, str]] = ..., cable_type_value: _Optional[_Union[CableType, str]] = ...) -> None: ...

class Datum(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: Field
    value: Value
    def __init__(self, key: _Optional[_Union[Field, str]] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...

class Payload(_message.Message):
    __slots__ = ("data", "created_at", "vin", "is_resend")
    DATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    IS_RESEND_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[Datum]
    created_at: _timestamp_pb2.Timestamp
    vin: str
    is_resend: bool
    def __init__(self, data: _Optional[_Iterable[_Union[Datum, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vin: _Optional[str] = ..., is_resend: _Optional[bool] = ...) -> None: ...
