"""Structured JSON logs with the request id and masking of tokens, secrets and card data."""
from __future__ import annotations

import logging
import re
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from kit.context import current_request_id

MASK = "***"
SENSITIVE_KEYS = re.compile(
    r"(authorization|token|secret|password|passwd|api[_-]?key|card[_-]?number|^pan$|cvv|cvc|"
    r"signature|cookie|code_verifier|private[_-]?key|email|vin$)",
    re.IGNORECASE,
)
_PATTERNS = [
    # Bearer tokens and JWTs
    (re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # card numbers (13-19 digits, optionally separated by spaces or dashes)
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[card]"),
    # Stripe/Fidel style secret keys
    (re.compile(r"\b(sk|rk|whsec)_(test|live)?_?[A-Za-z0-9]{6,}"), MASK),
]


def mask_text(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def mask_value(key: str, value: Any) -> Any:
    if isinstance(key, str) and SENSITIVE_KEYS.search(key):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value("", v) for v in value]
    return value


class MaskingJsonFormatter(JsonFormatter):
    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        rid = current_request_id()
        if rid and "request_id" not in log_data:
            log_data["request_id"] = rid
        return {k: mask_value(k, v) for k, v in log_data.items()}

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging API)
        return mask_text(super().formatMessage(record))

    def formatException(self, ei) -> str:  # noqa: N802
        return mask_text(super().formatException(ei))


def setup(service: str, level: str = "INFO") -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        MaskingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logging.getLogger(service)
