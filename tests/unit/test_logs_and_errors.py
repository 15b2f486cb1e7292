import json
import logging

import grpc

from kit import errors, logs


def test_masking_of_tokens_cards_and_secret_keys(capsys):
    log = logs.setup("unit", "INFO")
    log.info("auth Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig card 4242 4242 4242 4242 key sk_test_abcdefgh",
             extra={"refresh_token": "r-123", "card_number": "4000056655665556", "amount_cents": 500,
                    "nested": {"password": "p", "ok": "fine"}})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    rec = json.loads(line)
    text = json.dumps(rec)
    for secret in ("eyJhbGciOiJIUzI1NiJ9", "4242 4242 4242 4242", "sk_test_abcdefgh", "r-123",
                   "4000056655665556"):
        assert secret not in text
    assert rec["amount_cents"] == 500 and rec["nested"] == {"password": "***", "ok": "fine"}
    assert rec["service"] == "unit" and rec["level"] == "INFO"
    logging.getLogger().handlers.clear()


def test_domain_error_to_status_carries_error_info():
    from google.rpc import error_details_pb2, status_pb2

    st = errors.FailedPrecondition("Tesla not connected", reason="TESLA_NOT_CONNECTED",
                                   http_status=404).to_status()
    assert st.code == grpc.StatusCode.FAILED_PRECONDITION and st.details == "Tesla not connected"
    info = errors.error_info_from_trailers(st.trailing_metadata)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert info.reason == "TESLA_NOT_CONNECTED" and info.metadata["http_status"] == "404"
    assert status_pb2  # imported for the type


def test_http_mapping_is_the_architecture_table():
    m = errors.HTTP_STATUS
    assert (m[grpc.StatusCode.INVALID_ARGUMENT], m[grpc.StatusCode.FAILED_PRECONDITION],
            m[grpc.StatusCode.UNAUTHENTICATED], m[grpc.StatusCode.PERMISSION_DENIED],
            m[grpc.StatusCode.NOT_FOUND], m[grpc.StatusCode.ALREADY_EXISTS], m[grpc.StatusCode.ABORTED],
            m[grpc.StatusCode.RESOURCE_EXHAUSTED], m[grpc.StatusCode.UNAVAILABLE]) == (
        400, 400, 401, 403, 404, 409, 409, 429, 503)
    assert grpc.StatusCode.INTERNAL not in m  # → 500 "Internal server error"
