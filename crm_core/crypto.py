"""Personal data at rest: Fernet encryption plus a keyed blind index for exact lookups.

Both keys are derived (HKDF-SHA256) from one secret, BROKERBOT_SECRET_KEY. The blind index
lets an import find "the client with this ID number" without decrypting every row.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


class Cipher:
    def __init__(self, secret: str):
        if not secret or len(secret) < 16:
            raise ValueError("BROKERBOT_SECRET_KEY must be at least 16 characters")
        raw = secret.encode()
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(raw, b"brokerbot pii encryption")))
        self._index_key = _derive(raw, b"brokerbot pii blind index")
        self.audit_key = _derive(raw, b"brokerbot audit chain")  # keyed audit hashes and checkpoints
        self.fingerprint = hashlib.sha256(_derive(raw, b"brokerbot key fingerprint")).hexdigest()[:16]

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:  # wrong key: never return garbage
            raise ValueError("personal data cannot be decrypted with the configured key") from exc

    def blind_index(self, value: str | None) -> str | None:
        if value is None:
            return None
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if len(digits) >= 7 else 0
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]


def mask_id_number(id_number: str | None) -> str | None:
    if not id_number:
        return id_number
    value = id_number.strip()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
