"""Encryption at rest for personal identifiers (national ID, bank card numbers).

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key
stretched from FIELD_ENCRYPTION_KEY. A keyed digest (HMAC-SHA256) sits beside each value so that
shared identities can be matched (one bank card behind several shops) without decrypting.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    key = hashlib.sha256(("fernet:" + key_material).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("encrypted value cannot be read with the configured key") from exc


def blind_index(value: str) -> str:
    """A keyed digest of a normalised identifier, for equality matching without the value."""
    normalised = "".join(value.split()).upper()
    key = hashlib.sha256(("index:" + settings.FIELD_ENCRYPTION_KEY).encode()).digest()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """'110101199003071234' -> '110***********1234'."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python sees the plaintext. An empty value stays
    empty (an optional field left blank, such as an owner's bank card, is "" and not NULL)."""

    def from_db_value(self, value, expression, connection):
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(value)
