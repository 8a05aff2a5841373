"""The keyed chain (issue 10, finding 11): HMAC-SHA256 under a key kept outside the database, so a copy
of the database is not enough to rewrite history; the one-time re-chaining of an unkeyed log."""

import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from banyan.audit.actions import AuditAction
from banyan.audit.models import AuditEntry, ChainHead
from banyan.audit.services import (
    GENESIS,
    UNKEYED,
    Anchor,
    Event,
    _canonical,
    compute_hash,
    current_chain_id,
    read_anchor,
    record,
    rekey,
    verify,
)
from banyan.core import vault

ACTION = AuditAction.REGION_CREATE  # any action: the chain does not read it


@pytest.fixture
def anchor_file(settings, tmp_path):
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchor" / "audit.anchor"
    return settings.AUDIT_ANCHOR_FILE


@pytest.fixture
def chain(db):
    return record(actor="tester", events=[Event(ACTION, "thing", i, details={"n": i}) for i in range(6)])


def _raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _rows():
    return list(AuditEntry.objects.order_by("id"))


def _rewrite(entries, hasher):
    """Write ``entries`` back with recomputed links and hashes, as someone with the database would;
    ids and hashes are moved out of the way first (both are unique)."""
    _raw("UPDATE audit_auditentry SET hash = 'x' || id WHERE id >= %s", [entries[0].id])
    for entry in entries:
        _raw(
            "UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE id = %s",
            [entry.prev_hash, entry.hash, entry.id],
        )


def _sha256(entry):
    return hashlib.sha256(_canonical(entry)).hexdigest()


def _delete_and_recompute(victim_id, hasher):
    """Delete one entry, renumber the later ones to close the gap, and recompute every later link
    and hash with ``hasher``; rewind the head to match. The anchor is not consulted (a copy)."""
    _raw("DELETE FROM audit_auditentry WHERE id = %s", [victim_id])
    later = list(AuditEntry.objects.filter(id__gt=victim_id).order_by("id").values_list("id", flat=True))
    for old_id in later:
        _raw("UPDATE audit_auditentry SET id = %s WHERE id = %s", [old_id - 1, old_id])
    entries = _rows()
    prev = entries[victim_id - 2].hash if victim_id > 1 else GENESIS
    forged = []
    for entry in entries[victim_id - 1 :]:
        entry.prev_hash = prev
        entry.hash = hasher(entry)
        prev = entry.hash
        forged.append(entry)
    _rewrite(forged, hasher)
    _raw("UPDATE audit_chainhead SET last_id = %s, last_hash = %s WHERE id = 1", [entries[-1].id, prev])


def test_hashes_are_keyed_not_plain_sha256(chain):
    entry = AuditEntry.objects.get(pk=chain[0].id)
    assert entry.hash != _sha256(entry)
    key = vault.audit_keys()[0]
    assert entry.hash == compute_hash(entry, key)
    assert entry.hash != compute_hash(entry, b"k" * 32)


def test_deleting_an_entry_and_recomputing_with_sha256_is_detected_without_the_anchor(chain, anchor_file):
    victim = chain[2]
    _delete_and_recompute(victim.id, _sha256)
    result = verify()  # no anchor file: only the chain and its head
    assert read_anchor() is None
    assert not result.ok
    assert result.bad_id == victim.id  # the entry now in the deleted one's place
    assert result.reason == UNKEYED
    with pytest.raises(CommandError, match=f"broken at entry {victim.id}: its hash is plain SHA-256"):
        call_command("audit", "verify", stdout=io.StringIO())


def test_the_same_rewrite_with_the_key_passes_which_is_why_the_key_lives_outside_the_database(
    chain, anchor_file
):
    key = vault.audit_keys()[0]
    _delete_and_recompute(chain[2].id, lambda e: compute_hash(e, key))
    assert verify().ok


def test_a_rewrite_under_another_key_is_detected(chain, anchor_file):
    _delete_and_recompute(chain[1].id, lambda e: compute_hash(e, b"guessed-key-" * 3))
    result = verify()
    assert (result.ok, result.bad_id) == (False, chain[1].id)
    assert "altered" in result.reason


def _unkey_whole_chain():
    """Turn the log into what an installation before the audit key had: plain SHA-256 links."""
    entries = _rows()
    prev = GENESIS
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = _sha256(entry)
        prev = entry.hash
    _rewrite(entries, _sha256)
    _raw("UPDATE audit_chainhead SET last_hash = %s WHERE id = 1", [prev])
    return entries


def test_an_unkeyed_chain_fails_verify_until_rekey_rechains_it(
    chain, anchor_file, django_capture_on_commit_callbacks
):
    chain_id = current_chain_id()
    old = _unkey_whole_chain()
    assert current_chain_id() == chain_id  # made from entry 1's contents, not its hash
    result = verify()
    assert (result.ok, result.bad_id, result.reason) == (False, 1, UNKEYED)
    # Entries appended after the upgrade are keyed on top of the unkeyed ones.
    appended = record(actor="tester", events=[Event(ACTION, "thing", 1)])[0]
    assert appended.prev_hash == old[-1].hash

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("audit", "rekey", stdout=out)
    marker = AuditEntry.objects.order_by("id").last()
    assert (marker.action, marker.details) == (
        "audit.rekey",
        {"entries": len(old) + 1, "rehashed": len(old) + 1},
    )
    assert out.getvalue() == (
        f"audit chain re-keyed: {len(old) + 1} entries checked, {len(old) + 1} hashes rewritten; "
        f"entry {marker.id} records it\n"
    )
    assert verify().ok
    assert read_anchor() == Anchor(marker.id, marker.hash, chain_id)  # the same chain, re-keyed
    assert ChainHead.objects.get().last_hash == marker.hash
    # Nothing but the links and hashes changed.
    for before, after in zip(old, _rows(), strict=False):
        assert (before.id, before.action, before.subject_id, before.details) == (
            after.id,
            after.action,
            after.subject_id,
            after.details,
        )


def test_rekey_refuses_unkeyed_entries_after_keyed_ones(chain, anchor_file):
    """A downgrade — keyed entries rewritten as plain SHA-256 — is a forgery, not an old chain."""
    _delete_and_recompute(chain[3].id, _sha256)
    with pytest.raises(CommandError, match=f"broken at entry {chain[3].id}: its hash is plain SHA-256 but"):
        call_command("audit", "rekey", stdout=io.StringIO())
    assert not AuditEntry.objects.filter(action="audit.rekey").exists()


def test_rekey_refuses_an_altered_unkeyed_chain(chain, anchor_file):
    _unkey_whole_chain()
    _raw("UPDATE audit_auditentry SET purpose = %s WHERE id = %s", ["changed", chain[1].id])
    with pytest.raises(CommandError, match=f"broken at entry {chain[1].id}: its contents do not match"):
        call_command("audit", "rekey", stdout=io.StringIO())


def test_key_rotation_rechains_under_the_new_key(chain, anchor_file, monkeypatch):
    old_key = vault.audit_keys()
    new = vault.generate_audit_key()
    try:
        monkeypatch.setenv("BANYAN_AUDIT_KEY", new)
        vault.reset_keyring()
        assert not verify().ok  # the chain is under the old key
        import base64

        monkeypatch.setenv(
            "BANYAN_AUDIT_KEY", ",".join([new, *(base64.urlsafe_b64encode(k).decode() for k in old_key)])
        )
        vault.reset_keyring()
        rekey(actor="tester")
        monkeypatch.setenv("BANYAN_AUDIT_KEY", new)  # the old key is gone
        vault.reset_keyring()
        assert verify().ok
    finally:
        monkeypatch.delenv("BANYAN_AUDIT_KEY")
        vault.reset_keyring()


def test_audit_key_comes_from_the_key_file_and_is_added_to_an_old_one(monkeypatch, tmp_path):
    path = tmp_path / "banyan.keys"
    path.write_text(f"data={vault.generate_data_key()}\nindex={vault.generate_index_key()}\n")
    monkeypatch.setenv("BANYAN_KEY_FILE", str(path))
    monkeypatch.delenv("BANYAN_AUDIT_KEY", raising=False)
    vault.reset_keyring()
    try:
        [key] = vault.audit_keys()
        lines = path.read_text().splitlines()
        assert lines[-1].startswith("audit=") and len(key) == 32
        vault.reset_keyring()
        assert vault.audit_keys() == (key,)  # the same key next time
    finally:
        vault.reset_keyring()


def test_vault_newkey_prints_an_audit_key():
    out = io.StringIO()
    call_command("vault", "newkey", stdout=out)
    names = [line.partition("=")[0] for line in out.getvalue().splitlines()]
    assert names == ["data", "index", "audit"]


def test_a_short_audit_key_is_refused(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("BANYAN_AUDIT_KEY", "c2hvcnQ=")
    vault.reset_keyring()
    try:
        with pytest.raises(ImproperlyConfigured, match="at least 32 bytes"):
            vault.audit_keys()
    finally:
        monkeypatch.delenv("BANYAN_AUDIT_KEY")
        vault.reset_keyring()


def test_canonical_form_is_json_of_every_column(chain):
    entry = AuditEntry.objects.get(pk=chain[0].id)
    payload = json.loads(_canonical(entry))
    assert payload[0] == entry.id and payload[-1] == entry.prev_hash
