import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from banyan.core import vault


@pytest.fixture
def keys(monkeypatch):
    """Install fresh keys through the environment and forget them afterwards."""
    data, index = vault.generate_data_key(), vault.generate_index_key()
    monkeypatch.setenv("BANYAN_DATA_KEY", data)
    monkeypatch.setenv("BANYAN_INDEX_KEY", index)
    vault.reset_keyring()
    yield data, index
    vault.reset_keyring()


def test_encrypt_round_trip_and_token_hides_value(keys):
    token = vault.encrypt("330102198001011234")
    assert token.startswith("v1:")
    assert "330102198001011234" not in token
    assert vault.decrypt(token) == "330102198001011234"
    assert vault.encrypt("330102198001011234") != token  # random IV: equal values do not match


def test_rotation_old_key_still_decrypts_and_rekey_moves_to_new(monkeypatch, keys):
    old_data, index = keys
    token = vault.encrypt("13812345678")
    new_data = vault.generate_data_key()
    monkeypatch.setenv("BANYAN_DATA_KEY", f"{new_data},{old_data}")
    vault.reset_keyring()
    assert vault.decrypt(token) == "13812345678"
    rotated = vault.reencrypt(token)
    monkeypatch.setenv("BANYAN_DATA_KEY", new_data)
    vault.reset_keyring()
    assert vault.decrypt(rotated) == "13812345678"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        vault.decrypt(token)


def test_blind_index_is_keyed_and_separates_purposes(monkeypatch, keys):
    a = vault.blind_index("phone", "13812345678")
    assert a == vault.blind_index("phone", "13812345678")
    assert a != vault.blind_index("id_number", "13812345678")
    monkeypatch.setenv("BANYAN_INDEX_KEY", vault.generate_index_key())
    vault.reset_keyring()
    assert vault.blind_index("phone", "13812345678") != a


def test_key_file_is_created_with_private_mode_when_no_keys(monkeypatch, tmp_path):
    monkeypatch.delenv("BANYAN_DATA_KEY", raising=False)
    monkeypatch.delenv("BANYAN_INDEX_KEY", raising=False)
    path = tmp_path / "keys" / "banyan.keys"
    monkeypatch.setenv("BANYAN_KEY_FILE", str(path))
    vault.reset_keyring()
    try:
        ring = vault.keyring()
        assert path.exists()
        assert path.stat().st_mode & 0o777 == 0o600
        assert len(ring.data_keys) == 1
        Fernet(ring.data_keys[0])
    finally:
        vault.reset_keyring()


def test_bad_key_is_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("BANYAN_DATA_KEY", "not-a-key")
    monkeypatch.setenv("BANYAN_INDEX_KEY", vault.generate_index_key())
    vault.reset_keyring()
    try:
        with pytest.raises(ImproperlyConfigured, match="not valid"):
            vault.keyring()
    finally:
        vault.reset_keyring()


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("330102198001011234", "330***********1234"),
        ("11010519491231002X", "110***********002X"),
        ("", ""),
    ],
)
def test_id_number_mask_hides_birth_date(value, masked):
    assert vault.mask_id_number(value) == masked
    if value:
        assert value[6:14] not in vault.mask_id_number(value)


def test_phone_and_plate_masks():
    assert vault.mask_phone("13812345678") == "138****5678"
    assert vault.mask_plate("浙A12345") == "浙A***45"
    assert vault.mask_phone("123") == "***"
