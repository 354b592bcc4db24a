"""Encryption at rest for personal data (owner name, national ID, phone, address, bank card).

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key
stretched from FIELD_ENCRYPTION_KEY. A keyed digest (HMAC-SHA256, a "blind index") sits beside each
value the code matches on, so that shared identities can be found (one phone or bank card behind
several shops) without decrypting and without the clear value ever reaching a SQL statement, a
constraint's error message or the database's logs.
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


@lru_cache(maxsize=4)
def _index_key(key_material: str) -> bytes:
    return hashlib.sha256(("index:" + key_material).encode()).digest()


def encrypt(plaintext: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("encrypted value cannot be read with the configured key") from exc


def normalise(value: str) -> str:
    """What two spellings of one identifier have in common: no white space, upper case."""
    return "".join(value.split()).upper()


def blind_index(value: str) -> str:
    """A keyed digest of a normalised identifier, for equality matching without the value."""
    key = _index_key(settings.FIELD_ENCRYPTION_KEY)
    return hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """'110101199003071234' -> '110***********1234'."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python sees the plaintext. An empty value stays
    empty (an optional field left blank is not a secret), so blank=True fields need no NULL."""

    def from_db_value(self, value, expression, connection):
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(value)


class BlindIndexField(models.CharField):
    """The blind index of another field of the same row, computed whenever the row is written
    (save, create, bulk_create), so no caller can store a value and forget its index. Empty
    source, empty index: a blank value links nobody."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        # Every option explicitly: this field's defaults differ from CharField's.
        kwargs.update(
            source=self.source,
            max_length=self.max_length,
            db_index=self.db_index,
            blank=self.blank,
            editable=self.editable,
        )
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        source = getattr(model_instance, self.source)
        value = blind_index(source) if source else ""
        setattr(model_instance, self.attname, value)
        return value
