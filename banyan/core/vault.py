"""The PII vault: encryption at rest, blind indexes and masking.

Keys never live in the database and are not ``SECRET_KEY``:

* ``BANYAN_DATA_KEY`` — one or more Fernet keys separated by commas, newest first. The first
  encrypts; all of them decrypt, so a key can be rotated without downtime
  (``banyan vault rekey`` re-encrypts every value with the first key).
* ``BANYAN_INDEX_KEY`` — the HMAC-SHA256 key of the blind indexes used for exact lookup
  of ID numbers and phones.
* ``BANYAN_AUDIT_KEY`` — the HMAC-SHA256 key of the audit chain (``banyan.audit``): one key, or
  several separated by commas, newest first; the first keys the chain, the others are accepted
  only by ``banyan audit rekey`` while it re-chains under the first (docs/adr/0004-audit-chain.md).
* ``BANYAN_KEY_FILE`` — a file with ``data=…`` lines (newest first), an ``index=…`` line and
  ``audit=…`` lines (newest first), read when the variables are absent. Default
  ``var/banyan.keys``; in a development checkout it is created with fresh random keys (mode 0600)
  the first time it is needed, and a key file without an ``audit=`` line gets one added.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "v1:"


@dataclass(frozen=True)
class KeyRing:
    data_keys: tuple[bytes, ...]
    index_key: bytes

    @property
    def fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.data_keys])


def _key_file() -> Path:
    return Path(os.environ.get("BANYAN_KEY_FILE", settings.VAR_DIR / "banyan.keys"))


def generate_data_key() -> str:
    return Fernet.generate_key().decode()


def generate_index_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def generate_audit_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Banyan data keys. Keep outside the database and back up separately.\n")
        handle.write(
            f"data={generate_data_key()}\nindex={generate_index_key()}\naudit={generate_audit_key()}\n"
        )
    logger.warning("created a new key file at %s; back it up, the data cannot be read without it", path)


def _read_key_file(path: Path) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {"data": [], "index": [], "audit": []}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        if name.strip() not in keys:
            raise ImproperlyConfigured(f"{path}: line {number}: expected 'data=…', 'index=…' or 'audit=…'")
        keys[name.strip()].append(value.strip())
    return keys


def _parse_key_file(path: Path) -> tuple[list[str], str]:
    keys = _read_key_file(path)
    return keys["data"], keys["index"][-1] if keys["index"] else ""


def load_keyring() -> KeyRing:
    data = [k.strip() for k in os.environ.get("BANYAN_DATA_KEY", "").split(",") if k.strip()]
    index = os.environ.get("BANYAN_INDEX_KEY", "").strip()
    if not data or not index:
        path = _key_file()
        if not path.exists():
            _create_key_file(path)
        file_data, file_index = _parse_key_file(path)
        data = data or file_data
        index = index or file_index
    if not data:
        raise ImproperlyConfigured("no data key: set BANYAN_DATA_KEY or a data= line in the key file")
    if not index:
        raise ImproperlyConfigured("no index key: set BANYAN_INDEX_KEY or an index= line in the key file")
    try:
        for key in data:
            Fernet(key)
        index_bytes = base64.urlsafe_b64decode(index)
    except ValueError as exc:
        raise ImproperlyConfigured(f"a Banyan key is not valid url-safe base64: {exc}") from None
    if len(index_bytes) < 32:
        raise ImproperlyConfigured("BANYAN_INDEX_KEY must hold at least 32 bytes")
    return KeyRing(tuple(k.encode() for k in data), index_bytes)


_keyring: KeyRing | None = None
_lock = threading.Lock()


def keyring() -> KeyRing:
    global _keyring
    if _keyring is None:
        with _lock:
            if _keyring is None:
                _keyring = load_keyring()
    return _keyring


def reset_keyring() -> None:
    """Forget the loaded keys (after rotation, or in tests)."""
    global _keyring, _fernet, _audit_keys
    _keyring = None
    _fernet = None
    _audit_keys = None


_audit_keys: tuple[bytes, ...] | None = None


def _load_audit_keys() -> tuple[bytes, ...]:
    keys = [k.strip() for k in os.environ.get("BANYAN_AUDIT_KEY", "").split(",") if k.strip()]
    if not keys:
        path = _key_file()
        if not path.exists():
            _create_key_file(path)
        keys = _read_key_file(path)["audit"]
        if not keys:
            # A key file from before the audit key: add one (the chain is re-keyed by `banyan audit rekey`).
            # Under a lock, read again: of processes starting together, one adds it and all use it.
            with open(path, "a", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                if not _read_key_file(path)["audit"]:
                    handle.write(f"audit={generate_audit_key()}\n")
                    handle.flush()
                    logger.warning("added an audit key to %s; back it up with the other keys", path)
            keys = _read_key_file(path)["audit"]
    decoded = []
    for key in keys:
        try:
            value = base64.urlsafe_b64decode(key)
        except ValueError as exc:
            raise ImproperlyConfigured(f"the audit key is not valid url-safe base64: {exc}") from None
        if len(value) < 32:
            raise ImproperlyConfigured("BANYAN_AUDIT_KEY must hold at least 32 bytes")
        decoded.append(value)
    return tuple(decoded)


def audit_keys() -> tuple[bytes, ...]:
    """The audit chain's HMAC keys, newest (the one in use) first. Never in the database."""
    global _audit_keys
    if _audit_keys is None:
        with _lock:
            if _audit_keys is None:
                _audit_keys = _load_audit_keys()
    return _audit_keys


_fernet: MultiFernet | None = None


def _cipher() -> MultiFernet:
    global _fernet
    if _fernet is None:
        _fernet = keyring().fernet
    return _fernet


def encrypt(value: str) -> str:
    return TOKEN_PREFIX + _cipher().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("not a vault token")
    try:
        return _cipher().decrypt(token[len(TOKEN_PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ValueError("vault token cannot be decrypted with the configured keys") from None


def reencrypt(token: str) -> str:
    """Re-encrypt a stored token with the newest data key."""
    return TOKEN_PREFIX + _cipher().rotate(token[len(TOKEN_PREFIX) :].encode()).decode()


def blind_index(purpose: str, value: str) -> str:
    """Keyed hash for exact lookup; ``purpose`` separates the indexes of different fields."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(keyring().index_key, message, hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token. Filtering on it is meaningless: use a blind index."""

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


class EncryptedJSONField(models.TextField):
    """A JSON document (health or care details) stored as one Fernet token."""

    description = "Encrypted JSON"

    def from_db_value(self, value, expression, connection):
        import json

        if value is None or value == "":
            return {}
        return json.loads(decrypt(value))

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        import json

        if value is None:
            value = {}
        return encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))


# --- masking ---------------------------------------------------------------------------

MASK = "*"


def mask_id_number(value: str | None) -> str:
    """First 3 and last 4 characters of an 18-character ID number; the birth date is never shown."""
    if not value:
        return ""
    if len(value) < 8:
        return MASK * len(value)
    return value[:3] + MASK * (len(value) - 7) + value[-4:]


def mask_phone(value: str | None) -> str:
    """First 3 and last 4 digits of a mobile number, e.g. ``138****5678``."""
    if not value:
        return ""
    if len(value) < 8:
        return MASK * len(value)
    return value[:3] + MASK * (len(value) - 7) + value[-4:]


def mask_plate(value: str | None) -> str:
    """Province character and last 2 characters of a plate, e.g. ``浙A***23``."""
    if not value:
        return ""
    if len(value) <= 3:
        return MASK * len(value)
    return value[:2] + MASK * (len(value) - 4) + value[-2:]


def mask_name(value: str | None) -> str:
    """The first character of a name, e.g. ``王*`` / ``W****``: enough to tell people apart on a shared
    screen, not enough to identify them."""
    if not value:
        return ""
    return value[0] + MASK * max(1, len(value) - 1)


def mask_text(value: str | None) -> str:
    return "" if not value else "••••"
