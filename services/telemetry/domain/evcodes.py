"""EV codes (T5, T6): ``EV-`` + 4 characters of an unambiguous alphabet (32⁴ codes)."""
from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TTL_S = 2 * 3600
MAX_RETRIES = 10


def new_code() -> str:
    return "EV-" + "".join(secrets.choice(ALPHABET) for _ in range(4))
