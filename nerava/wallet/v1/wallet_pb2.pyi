import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetBalanceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("available_cents", "pending_cents", "total_earned_cents", "total_withdrawn_cents", "can_withdraw", "minimum_withdrawal_cents", "fee_threshold_cents", "stripe_onboarding_complete", "debt_cents", "payout_provider", "bank_verified")
    AVAILABLE_CENTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_CENTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EARNED_CENTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_WITHDRAWN_CENTS_FIELD_NUMBER: _ClassVar[int]
    CAN_WITHDRAW_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_WITHDRAWAL_CENTS_FIELD_NUMBER: _ClassVar[int]
    FEE_THRESHOLD_CENTS_FIELD_NUMBER: _ClassVar[int]
    STRIPE_ONBOARDING_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    DEBT_CENTS_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    BANK_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    available_cents: int
    pending_cents: int
    total_earned_cents: int
    total_withdrawn_cents: int
    can_withdraw: bool
    minimum_withdrawal_cents: int
    fee_threshold_cents: int
    stripe_onboarding_complete: bool
    debt_cents: int
    payout_provider: str
    bank_verified: bool
    def __init__(self, available_cents: _Optional[int] = ..., pending_cents: _Optional[int] = ..., total_earned_cents: _Optional[int] = ..., total_withdrawn_cents: _Optional[int] = ..., can_withdraw: _Optional[bool] = ..., minimum_withdrawal_cents: _Optional[int] = ..., fee_threshold_cents: _Optional[int] = ..., stripe_onboarding_complete: _Optional[bool] = ..., debt_cents: _Optional[int] = ..., payout_provider: _Optional[str] = ..., bank_verified: _Optional[bool] = ...) -> None: ...

class ListLedgerEntriesRequest(_message.Message):
    __slots__ = ("limit", "offset")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListLedgerEntriesResponse(_message.Message):
    __slots__ = ("entries", "count")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    count: int
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., count: _Optional[int] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("id", "amount_cents", "balance_after_cents", "transaction_type", "description", "created_at", "campaign_name", "sponsor_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_CENTS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    amount_cents: int
    balance_after_cents: int
    transaction_type: str
    description: str
    created_at: _timestamp_pb2.Timestamp
    campaign_name: str
    sponsor_name: str
    def __init__(self, id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., balance_after_cents: _Optional[int] = ..., transaction_type: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., campaign_name: _Optional[str] = ..., sponsor_name: _Optional[str] = ...) -> None: ...

class ListPayoutsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListPayoutsResponse(_message.Message):
    __slots__ = ("payouts",)
    PAYOUTS_FIELD_NUMBER: _ClassVar[int]
    payouts: _containers.RepeatedCompositeFieldContainer[Payout]
    def __init__(self, payouts: _Optional[_Iterable[_Union[Payout, _Mapping]]] = ...) -> None: ...

class Payout(_message.Message):
    __slots__ = ("id", "amount_cents", "status", "created_at", "paid_at", "failure_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    amount_cents: int
    status: str
    created_at: _timestamp_pb2.Timestamp
    paid_at: _timestamp_pb2.Timestamp
    failure_reason: str
    def __init__(self, id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., status: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failure_reason: _Optional[str] = ...) -> None: ...

class RequestWithdrawalRequest(_message.Message):
    __slots__ = ("amount_cents", "request_id")
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    amount_cents: int
    request_id: str
    def __init__(self, amount_cents: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class RequestWithdrawalResponse(_message.Message):
    __slots__ = ("payout_id", "status", "amount_cents", "fee_cents", "mock", "transfer_id", "stripe_transfer_id", "payout_state", "message")
    PAYOUT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    FEE_CENTS_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    STRIPE_TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    payout_id: str
    status: str
    amount_cents: int
    fee_cents: int
    mock: bool
    transfer_id: str
    stripe_transfer_id: str
    payout_state: str
    message: str
    def __init__(self, payout_id: _Optional[str] = ..., status: _Optional[str] = ..., amount_cents: _Optional[int] = ..., fee_cents: _Optional[int] = ..., mock: _Optional[bool] = ..., transfer_id: _Optional[str] = ..., stripe_transfer_id: _Optional[str] = ..., payout_state: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class GetWithdrawalFeeRequest(_message.Message):
    __slots__ = ("amount_cents",)
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    amount_cents: int
    def __init__(self, amount_cents: _Optional[int] = ...) -> None: ...

class GetWithdrawalFeeResponse(_message.Message):
    __slots__ = ("amount_cents", "fee_cents", "net_cents")
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    FEE_CENTS_FIELD_NUMBER: _ClassVar[int]
    NET_CENTS_FIELD_NUMBER: _ClassVar[int]
    amount_cents: int
    fee_cents: int
    net_cents: int
    def __init__(self, amount_cents: _Optional[int] = ..., fee_cents: _Optional[int] = ..., net_cents: _Optional[int] = ...) -> None: ...

class CreateStripeAccountRequest(_message.Message):
    __slots__ = ("email", "request_id")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    email: str
    request_id: str
    def __init__(self, email: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateStripeAccountResponse(_message.Message):
    __slots__ = ("stripe_account_id", "status", "onboarding_complete")
    STRIPE_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ONBOARDING_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    stripe_account_id: str
    status: str
    onboarding_complete: bool
    def __init__(self, stripe_account_id: _Optional[str] = ..., status: _Optional[str] = ..., onboarding_complete: _Optional[bool] = ...) -> None: ...

class CreateAccountLinkRequest(_message.Message):
    __slots__ = ("return_url", "refresh_url", "request_id")
    RETURN_URL_FIELD_NUMBER: _ClassVar[int]
    REFRESH_URL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    return_url: str
    refresh_url: str
    request_id: str
    def __init__(self, return_url: _Optional[str] = ..., refresh_url: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateAccountLinkResponse(_message.Message):
    __slots__ = ("url", "expires_at")
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    url: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, url: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetStripeAccountStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStripeAccountStatusResponse(_message.Message):
    __slots__ = ("onboarding_complete", "has_account", "details_submitted", "charges_enabled", "payouts_enabled")
    ONBOARDING_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    HAS_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    DETAILS_SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    CHARGES_ENABLED_FIELD_NUMBER: _ClassVar[int]
    PAYOUTS_ENABLED_FIELD_NUMBER: _ClassVar[int]
    onboarding_complete: bool
    has_account: bool
    details_submitted: bool
    charges_enabled: bool
    payouts_enabled: bool
    def __init__(self, onboarding_complete: _Optional[bool] = ..., has_account: _Optional[bool] = ..., details_submitted: _Optional[bool] = ..., charges_enabled: _Optional[bool] = ..., payouts_enabled: _Optional[bool] = ...) -> None: ...

class HandleStripeWebhookRequest(_message.Message):
    __slots__ = ("endpoint", "body", "stripe_signature")
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    STRIPE_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    endpoint: str
    body: _httpbody_pb2.HttpBody
    stripe_signature: str
    def __init__(self, endpoint: _Optional[str] = ..., body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ..., stripe_signature: _Optional[str] = ...) -> None: ...

class HandleStripeWebhookResponse(_message.Message):
    __slots__ = ("reply",)
    REPLY_FIELD_NUMBER: _ClassVar[int]
    reply: _struct_pb2.Struct
    def __init__(self, reply: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class HandleDwollaWebhookRequest(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: _httpbody_pb2.HttpBody
    def __init__(self, body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ...) -> None: ...

class HandleDwollaWebhookResponse(_message.Message):
    __slots__ = ("status", "reason")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    status: str
    reason: str
    def __init__(self, status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AdminCreditRequest(_message.Message):
    __slots__ = ("driver_id", "amount_cents", "reference_type", "description", "request_id")
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    driver_id: str
    amount_cents: int
    reference_type: str
    description: str
    request_id: str
    def __init__(self, driver_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., reference_type: _Optional[str] = ..., description: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AdminCreditResponse(_message.Message):
    __slots__ = ("new_balance_cents", "ledger_id")
    NEW_BALANCE_CENTS_FIELD_NUMBER: _ClassVar[int]
    LEDGER_ID_FIELD_NUMBER: _ClassVar[int]
    new_balance_cents: int
    ledger_id: str
    def __init__(self, new_balance_cents: _Optional[int] = ..., ledger_id: _Optional[str] = ...) -> None: ...

class AdminGetWalletRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class AdminGetWalletResponse(_message.Message):
    __slots__ = ("user_id", "balance_cents", "nova_balance", "transactions")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_CENTS_FIELD_NUMBER: _ClassVar[int]
    NOVA_BALANCE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    balance_cents: int
    nova_balance: int
    transactions: _containers.RepeatedCompositeFieldContainer[AdminWalletTransaction]
    def __init__(self, user_id: _Optional[str] = ..., balance_cents: _Optional[int] = ..., nova_balance: _Optional[int] = ..., transactions: _Optional[_Iterable[_Union[AdminWalletTransaction, _Mapping]]] = ...) -> None: ...

class AdminWalletTransaction(_message.Message):
    __slots__ = ("id", "cents", "reason", "meta", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CENTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    cents: int
    reason: str
    meta: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., cents: _Optional[int] = ..., reason: _Optional[str] = ..., meta: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AdminAdjustWalletRequest(_message.Message):
    __slots__ = ("user_id", "amount_cents", "reason", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    amount_cents: int
    reason: str
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AdminAdjustWalletResponse(_message.Message):
    __slots__ = ("success", "user_id", "amount_cents", "before_balance_cents", "after_balance_cents")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    BEFORE_BALANCE_CENTS_FIELD_NUMBER: _ClassVar[int]
    AFTER_BALANCE_CENTS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    user_id: str
    amount_cents: int
    before_balance_cents: int
    after_balance_cents: int
    def __init__(self, success: _Optional[bool] = ..., user_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., before_balance_cents: _Optional[int] = ..., after_balance_cents: _Optional[int] = ...) -> None: ...

class CreditRequest(_message.Message):
    __slots__ = ("idempotency_key", "driver_id", "amount_cents", "reference_type", "reference_id", "campaign_name", "sponsor_name", "merchant_name")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_NAME_FIELD_NUMBER: _ClassVar[int]
    SPONSOR_NAME_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_NAME_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    driver_id: str
    amount_cents: int
    reference_type: str
    reference_id: str
    campaign_name: str
    sponsor_name: str
    merchant_name: str
    def __init__(self, idempotency_key: _Optional[str] = ..., driver_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., reference_type: _Optional[str] = ..., reference_id: _Optional[str] = ..., campaign_name: _Optional[str] = ..., sponsor_name: _Optional[str] = ..., merchant_name: _Optional[str] = ...) -> None: ...

class CreditResponse(_message.Message):
    __slots__ = ("journal_id", "balance_after_cents", "debt_repaid_cents", "replayed")
    JOURNAL_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_CENTS_FIELD_NUMBER: _ClassVar[int]
    DEBT_REPAID_CENTS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    journal_id: str
    balance_after_cents: int
    debt_repaid_cents: int
    replayed: bool
    def __init__(self, journal_id: _Optional[str] = ..., balance_after_cents: _Optional[int] = ..., debt_repaid_cents: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ClawbackRequest(_message.Message):
    __slots__ = ("idempotency_key", "driver_id", "amount_cents", "reference_type", "reference_id", "original_key", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    driver_id: str
    amount_cents: int
    reference_type: str
    reference_id: str
    original_key: str
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., driver_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., reference_type: _Optional[str] = ..., reference_id: _Optional[str] = ..., original_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ClawbackResponse(_message.Message):
    __slots__ = ("journal_id", "balance_after_cents", "applied_cents", "debt_added_cents", "replayed")
    JOURNAL_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_CENTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_CENTS_FIELD_NUMBER: _ClassVar[int]
    DEBT_ADDED_CENTS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    journal_id: str
    balance_after_cents: int
    applied_cents: int
    debt_added_cents: int
    replayed: bool
    def __init__(self, journal_id: _Optional[str] = ..., balance_after_cents: _Optional[int] = ..., applied_cents: _Optional[int] = ..., debt_added_cents: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class PayoutDetail(_message.Message):
    __slots__ = ("id", "driver_id", "amount_cents", "fee_cents", "state", "status", "attempt", "mock", "request_id", "destination_account", "stripe_transfer_id", "stripe_payout_id", "stripe_reversal_id", "amount_reversed_cents", "no_transfer_confirmed", "failure_code", "failure_reason", "created_at", "updated_at", "paid_at", "failed_at", "reconciled_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    FEE_CENTS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    STRIPE_TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    STRIPE_PAYOUT_ID_FIELD_NUMBER: _ClassVar[int]
    STRIPE_REVERSAL_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_REVERSED_CENTS_FIELD_NUMBER: _ClassVar[int]
    NO_TRANSFER_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_CODE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    FAILED_AT_FIELD_NUMBER: _ClassVar[int]
    RECONCILED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    driver_id: str
    amount_cents: int
    fee_cents: int
    state: str
    status: str
    attempt: int
    mock: bool
    request_id: str
    destination_account: str
    stripe_transfer_id: str
    stripe_payout_id: str
    stripe_reversal_id: str
    amount_reversed_cents: int
    no_transfer_confirmed: bool
    failure_code: str
    failure_reason: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    paid_at: _timestamp_pb2.Timestamp
    failed_at: _timestamp_pb2.Timestamp
    reconciled_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., driver_id: _Optional[str] = ..., amount_cents: _Optional[int] = ..., fee_cents: _Optional[int] = ..., state: _Optional[str] = ..., status: _Optional[str] = ..., attempt: _Optional[int] = ..., mock: _Optional[bool] = ..., request_id: _Optional[str] = ..., destination_account: _Optional[str] = ..., stripe_transfer_id: _Optional[str] = ..., stripe_payout_id: _Optional[str] = ..., stripe_reversal_id: _Optional[str] = ..., amount_reversed_cents: _Optional[int] = ..., no_transfer_confirmed: _Optional[bool] = ..., failure_code: _Optional[str] = ..., failure_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reconciled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReconcilePayoutRequest(_message.Message):
    __slots__ = ("payout_id", "request_id")
    PAYOUT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    payout_id: str
    request_id: str
    def __init__(self, payout_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReconcilePayoutResponse(_message.Message):
    __slots__ = ("action", "payout")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_FIELD_NUMBER: _ClassVar[int]
    action: str
    payout: PayoutDetail
    def __init__(self, action: _Optional[str] = ..., payout: _Optional[_Union[PayoutDetail, _Mapping]] = ...) -> None: ...

class ListReconciliationFindingsRequest(_message.Message):
    __slots__ = ("run_id", "kind", "payout_id", "include_resolved", "limit", "offset")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    kind: str
    payout_id: str
    include_resolved: bool
    limit: int
    offset: int
    def __init__(self, run_id: _Optional[str] = ..., kind: _Optional[str] = ..., payout_id: _Optional[str] = ..., include_resolved: _Optional[bool] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListReconciliationFindingsResponse(_message.Message):
    __slots__ = ("findings", "latest_run")
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    LATEST_RUN_FIELD_NUMBER: _ClassVar[int]
    findings: _containers.RepeatedCompositeFieldContainer[ReconciliationFinding]
    latest_run: ReconciliationRun
    def __init__(self, findings: _Optional[_Iterable[_Union[ReconciliationFinding, _Mapping]]] = ..., latest_run: _Optional[_Union[ReconciliationRun, _Mapping]] = ...) -> None: ...

class ReconciliationRun(_message.Message):
    __slots__ = ("id", "window_start", "window_end", "started_at", "finished_at", "status", "transfers_checked", "payouts_checked", "findings_count", "internal_checks_ok")
    ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRANSFERS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    PAYOUTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_COUNT_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_CHECKS_OK_FIELD_NUMBER: _ClassVar[int]
    id: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    status: str
    transfers_checked: int
    payouts_checked: int
    findings_count: int
    internal_checks_ok: bool
    def __init__(self, id: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[str] = ..., transfers_checked: _Optional[int] = ..., payouts_checked: _Optional[int] = ..., findings_count: _Optional[int] = ..., internal_checks_ok: _Optional[bool] = ...) -> None: ...

class ReconciliationFinding(_message.Message):
    __slots__ = ("id", "run_id", "kind", "payout_id", "driver_id", "stripe_object_id", "local_amount_cents", "remote_amount_cents", "details", "created_at", "resolved_by", "resolved_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_ID_FIELD_NUMBER: _ClassVar[int]
    STRIPE_OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    LOCAL_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REMOTE_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    run_id: str
    kind: str
    payout_id: str
    driver_id: str
    stripe_object_id: str
    local_amount_cents: int
    remote_amount_cents: int
    details: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    resolved_by: str
    resolved_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., run_id: _Optional[str] = ..., kind: _Optional[str] = ..., payout_id: _Optional[str] = ..., driver_id: _Optional[str] = ..., stripe_object_id: _Optional[str] = ..., local_amount_cents: _Optional[int] = ..., remote_amount_cents: _Optional[int] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_by: _Optional[str] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PayoutBreaker(_message.Message):
    __slots__ = ("state", "reason", "open_until", "changed_by", "changed_at", "window_count", "window_amount_cents", "recent_failures", "max_count", "max_amount_cents", "failure_threshold")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OPEN_UNTIL_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_COUNT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    RECENT_FAILURES_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    state: str
    reason: str
    open_until: _timestamp_pb2.Timestamp
    changed_by: str
    changed_at: _timestamp_pb2.Timestamp
    window_count: int
    window_amount_cents: int
    recent_failures: int
    max_count: int
    max_amount_cents: int
    failure_threshold: int
    def __init__(self, state: _Optional[str] = ..., reason: _Optional[str] = ..., open_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., changed_by: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_count: _Optional[int] = ..., window_amount_cents: _Optional[int] = ..., recent_failures: _Optional[int] = ..., max_count: _Optional[int] = ..., max_amount_cents: _Optional[int] = ..., failure_threshold: _Optional[int] = ...) -> None: ...

class GetPayoutBreakerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPayoutBreakerResponse(_message.Message):
    __slots__ = ("breaker",)
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    breaker: PayoutBreaker
    def __init__(self, breaker: _Optional[_Union[PayoutBreaker, _Mapping]] = ...) -> None: ...

class SetPayoutBreakerRequest(_message.Message):
    __slots__ = ("state", "reason", "request_id")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    state: str
    reason: str
    request_id: str
    def __init__(self, state: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetPayoutBreakerResponse(_message.Message):
    __slots__ = ("breaker",)
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    breaker: PayoutBreaker
    def __init__(self, breaker: _Optional[_Union[PayoutBreaker, _Mapping]] = ...) -> None: ...

class RunPayoutJobRequest(_message.Message):
    __slots__ = ("job", "request_id")
    JOB_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    job: str
    request_id: str
    def __init__(self, job: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RunPayoutJobResponse(_message.Message):
    __slots__ = ("job", "payout_job", "reconciliation")
    JOB_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_JOB_FIELD_NUMBER: _ClassVar[int]
    RECONCILIATION_FIELD_NUMBER: _ClassVar[int]
    job: str
    payout_job: PayoutJobSummary
    reconciliation: ReconciliationRun
    def __init__(self, job: _Optional[str] = ..., payout_job: _Optional[_Union[PayoutJobSummary, _Mapping]] = ..., reconciliation: _Optional[_Union[ReconciliationRun, _Mapping]] = ...) -> None: ...

class PayoutJobSummary(_message.Message):
    __slots__ = ("stuck_marked_unknown", "unknown_resolved", "pending_sent", "pending_deferred", "bank_payouts_created", "bank_payouts_refreshed", "reversals_retried", "expired", "needs_attention")
    STUCK_MARKED_UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    PENDING_SENT_FIELD_NUMBER: _ClassVar[int]
    PENDING_DEFERRED_FIELD_NUMBER: _ClassVar[int]
    BANK_PAYOUTS_CREATED_FIELD_NUMBER: _ClassVar[int]
    BANK_PAYOUTS_REFRESHED_FIELD_NUMBER: _ClassVar[int]
    REVERSALS_RETRIED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    NEEDS_ATTENTION_FIELD_NUMBER: _ClassVar[int]
    stuck_marked_unknown: int
    unknown_resolved: int
    pending_sent: int
    pending_deferred: int
    bank_payouts_created: int
    bank_payouts_refreshed: int
    reversals_retried: int
    expired: int
    needs_attention: int
    def __init__(self, stuck_marked_unknown: _Optional[int] = ..., unknown_resolved: _Optional[int] = ..., pending_sent: _Optional[int] = ..., pending_deferred: _Optional[int] = ..., bank_payouts_created: _Optional[int] = ..., bank_payouts_refreshed: _Optional[int] = ..., reversals_retried: _Optional[int] = ..., expired: _Optional[int] = ..., needs_attention: _Optional[int] = ...) -> None: ...
