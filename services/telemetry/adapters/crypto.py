"""Tesla tokens at rest: Fernet (MultiFernet: the first key encrypts, every key decrypts)."""
from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parsed = [Fernet(k.strip()) for k in keys.split(",") if k.strip()]
        if not parsed:
            raise ValueError("no token encryption key")
        self._f = MultiFernet(parsed)

    def encrypt(self, plaintext: str) -> str:
        return self._f.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._f.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise ValueError("token cannot be decrypted with the configured keys") from None


def vin_hash(key: str, vin: str) -> str:
    return hmac.new(key.encode(), vin.encode(), hashlib.sha256).hexdigest()
