import json
import stat
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from banyan.audit.actions import AuditAction
from banyan.audit.models import AppendOnlyError, AuditEntry, ChainHead
from banyan.audit.services import (
    Anchor,
    AnchorError,
    Event,
    advance_anchor,
    current_chain_id,
    read_anchor,
    record,
    record_one,
    verify,
)

ACTION = AuditAction.REGION_CREATE  # any action: the chain does not read it


@pytest.fixture
def chain(db):
    """Five fresh entries on top of whatever the seed wrote."""
    return record(actor="tester", events=[Event(ACTION, "thing", i, details={"n": i}) for i in range(5)])


def _raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_intact_chain_verifies_and_links(chain):
    result = verify()
    assert result.ok, result.reason
    assert result.checked == AuditEntry.objects.count()
    for before, after in zip(chain, chain[1:], strict=False):
        assert after.prev_hash == before.hash
        assert after.id == before.id + 1


def test_altered_entry_is_named(chain):
    victim = chain[2]
    _raw("UPDATE audit_auditentry SET purpose = %s WHERE id = %s", ["changed", victim.id])
    result = verify()
    assert not result.ok
    assert result.bad_id == victim.id
    assert "altered" in result.reason


def test_altered_entry_with_recomputed_hash_breaks_the_next_link(chain):
    from banyan.audit.services import compute_hash

    victim = AuditEntry.objects.get(pk=chain[1].id)
    victim.actor = "someone else"
    forged = compute_hash(victim)
    _raw(
        "UPDATE audit_auditentry SET actor = %s, hash = %s WHERE id = %s", ["someone else", forged, victim.id]
    )
    result = verify()
    assert not result.ok
    assert result.bad_id == chain[2].id
    assert "previous-hash" in result.reason


def test_removed_entry_in_the_middle_is_named(chain):
    _raw("DELETE FROM audit_auditentry WHERE id = %s", [chain[2].id])
    result = verify()
    assert not result.ok
    assert result.bad_id == chain[2].id
    assert "missing" in result.reason


def test_removed_entry_at_the_end_is_detected(chain):
    _raw("DELETE FROM audit_auditentry WHERE id = %s", [chain[-1].id])
    result = verify()
    assert not result.ok
    assert "removed from the end" in result.reason


def test_reordered_entries_are_detected(chain):
    a, b = chain[1], chain[3]
    columns = ["actor", "action", "subject_type", "subject_id", "purpose", "details", "prev_hash", "hash"]
    rows = {}
    for entry in (a, b):
        rows[entry.id] = AuditEntry.objects.values(*columns).get(pk=entry.id)
    # Swap contents (ids stay in place): hashes are unique, so move one out of the way first.
    _raw("UPDATE audit_auditentry SET hash = %s WHERE id = %s", ["x" * 64, a.id])
    for target, source in ((b.id, a.id), (a.id, b.id)):
        values = rows[source]
        _raw(
            "UPDATE audit_auditentry SET actor=%s, action=%s, subject_type=%s, subject_id=%s, purpose=%s, "
            "details=%s, prev_hash=%s, hash=%s WHERE id=%s",
            [*(values[c] if c != "details" else json.dumps(values[c]) for c in columns), target],
        )
    result = verify()
    assert not result.ok
    assert result.bad_id == a.id


def test_verify_command_exit_codes(chain, capsys):
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out
    _raw("UPDATE audit_auditentry SET action = %s WHERE id = %s", ["test.forged", chain[0].id])
    with pytest.raises(CommandError, match=f"entry {chain[0].id}") as excinfo:
        call_command("audit", "verify")
    assert excinfo.value.returncode == 1


def test_entries_cannot_be_saved_or_deleted_through_the_model(chain):
    entry = AuditEntry.objects.get(pk=chain[0].id)
    entry.purpose = "rewrite"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert verify().ok


# --- the anchor outside the database ------------------------------------------------------


@pytest.fixture
def anchor_file(settings, tmp_path):
    """This test's own anchor file (not yet written): the session's may lag or lead the chain."""
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchor" / "audit.anchor"
    return settings.AUDIT_ANCHOR_FILE


def _rewind_head_to(entry):
    _raw("UPDATE audit_chainhead SET last_id = %s, last_hash = %s WHERE id = 1", [entry.id, entry.hash])


def test_anchor_advances_only_when_the_transaction_commits(
    db, anchor_file, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        entries = record(actor="tester", events=[Event(ACTION, "thing", i) for i in range(3)])
    assert len(callbacks) == 1
    assert read_anchor() is None  # not committed yet

    with django_capture_on_commit_callbacks(execute=True):
        entries = record(actor="tester", events=[Event(ACTION, "thing", i) for i in range(3)])
    assert read_anchor() == Anchor(entries[-1].id, entries[-1].hash, current_chain_id())


def test_a_rolled_back_append_leaves_the_anchor_alone(db, anchor_file, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        kept = record_one(actor="tester", action=ACTION, subject_type="thing", subject_id=1)
        with pytest.raises(RuntimeError), transaction.atomic():
            record_one(actor="tester", action=ACTION, subject_type="thing", subject_id=2)
            raise RuntimeError
    assert read_anchor() == Anchor(kept.id, kept.hash, current_chain_id())
    assert verify().ok


def test_anchor_never_moves_back(chain, anchor_file):
    last, earlier = chain[-1], chain[1]
    assert advance_anchor(last.id, last.hash)
    assert not advance_anchor(earlier.id, earlier.hash)  # a slower process commits an older entry
    assert not advance_anchor(last.id, last.hash)
    assert read_anchor() == Anchor(last.id, last.hash, current_chain_id())


def test_anchor_file_is_private_and_holds_only_chain_id_and_hash(chain, anchor_file):
    last = chain[-1]
    advance_anchor(last.id, last.hash)
    assert stat.S_IMODE(anchor_file.stat().st_mode) == 0o600
    assert json.loads(anchor_file.read_text()) == {
        "chain": current_chain_id(),
        "id": last.id,
        "hash": last.hash,
    }
    assert sorted(p.name for p in anchor_file.parent.iterdir()) == ["audit.anchor", "audit.anchor.lock"]


def test_a_failed_anchor_write_is_logged_and_the_commit_stands(
    db, settings, tmp_path, caplog, django_capture_on_commit_callbacks
):
    (tmp_path / "not-a-directory").write_text("")
    settings.AUDIT_ANCHOR_FILE = tmp_path / "not-a-directory" / "audit.anchor"
    with django_capture_on_commit_callbacks(execute=True):
        entry = record_one(actor="tester", action=ACTION, subject_type="thing", subject_id=1)
    assert AuditEntry.objects.filter(pk=entry.id).exists()
    [message] = [r.getMessage() for r in caplog.records if r.name == "banyan.audit.services"]
    assert message.startswith(
        f"could not advance the audit anchor {settings.AUDIT_ANCHOR_FILE} to entry {entry.id}"
    )


def test_removed_tail_with_rewound_head_is_caught_by_the_anchor(chain, anchor_file):
    advance_anchor(chain[-1].id, chain[-1].hash)
    _raw("DELETE FROM audit_auditentry WHERE id >= %s", [chain[-2].id])
    _rewind_head_to(chain[-3])

    result = verify()
    assert not result.ok
    assert result.bad_id == chain[-2].id
    assert result.reason == (
        f"entries up to {chain[-1].id} were recorded by the anchor but the chain ends at {chain[-3].id}: "
        "removed from the end"
    )
    anchor_file.unlink()  # without the anchor the same removal goes unnoticed
    assert verify().ok


def test_rewritten_last_entry_is_caught_by_the_anchor(chain, anchor_file):
    from banyan.audit.services import compute_hash

    last = AuditEntry.objects.get(pk=chain[-1].id)
    advance_anchor(last.id, last.hash)
    last.purpose = "nothing to see"
    forged = compute_hash(last)
    _raw("UPDATE audit_auditentry SET purpose = %s, hash = %s WHERE id = %s", [last.purpose, forged, last.id])
    _raw("UPDATE audit_chainhead SET last_hash = %s WHERE id = 1", [forged])

    result = verify()
    assert (result.ok, result.bad_id, result.reason) == (
        False,
        last.id,
        f"entry {last.id} does not match the anchor",
    )


def test_wiping_the_log_and_its_head_is_detected(db, anchor_file):
    head = ChainHead.objects.get()
    advance_anchor(head.last_id, head.last_hash)  # what the seed's commit wrote
    _raw("DELETE FROM audit_auditentry")
    _raw("DELETE FROM audit_chainhead")

    result = verify()
    assert not result.ok
    assert result.reason == (
        f"entries up to {head.last_id} were recorded by the anchor but the chain ends at 0: "
        "removed from the end"
    )
    anchor_file.unlink()  # no anchor: the registry still gives it away
    result = verify()
    assert (result.ok, result.reason) == (False, "the audit log is empty but the registry holds data")
    with pytest.raises(CommandError) as excinfo:
        call_command("audit", "verify")
    assert str(excinfo.value) == (
        "audit chain broken: the audit log is empty but the registry holds data (0 entries verified)"
    )
    with pytest.raises(CommandError):
        call_command("audit", "anchor")  # an emptied log cannot be re-anchored
    assert read_anchor() is None


def test_an_empty_log_of_an_empty_registry_is_intact(db, anchor_file):
    for table in ("audit_auditentry", "audit_chainhead"):
        _raw(f"DELETE FROM {table}")
    with mock.patch("banyan.audit.services._registry_holds_data", return_value=False):
        assert verify().ok


def test_a_missing_head_is_detected(chain, anchor_file):
    _raw("DELETE FROM audit_chainhead")
    result = verify()
    assert (result.ok, result.reason) == (False, "the chain head is missing")


def test_missing_anchor_is_a_note_not_a_failure(chain, anchor_file, capsys):
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert f"note: no anchor file at {anchor_file}; the end of the chain is not anchored" in out
    assert f"audit chain intact: {AuditEntry.objects.count()} entries\n" in out

    advance_anchor(chain[-1].id, chain[-1].hash)
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert (
        out == f"audit chain intact: {AuditEntry.objects.count()} entries, anchored at entry {chain[-1].id}\n"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id=3\n", 'expected {"id": N, "hash": "<64 hex digits>"}'),
        ('{"id": "3", "hash": "%s"}' % ("a" * 64), "its id must be a positive whole number"),
        ('{"id": 3, "hash": 3}', "its hash must be 64 lower-case hex digits"),
        ('{"id": 3, "hash": "%s"}' % ("A" * 64), "its hash must be 64 lower-case hex digits"),
        (
            '{"chain": "xyz", "id": 3, "hash": "%s"}' % ("a" * 64),
            "its chain must be 32 lower-case hex digits",
        ),
        ('[3, "%s"]' % ("a" * 64), 'expected {"id": N, "hash": "<64 hex digits>"}'),
    ],
)
def test_unusable_anchor_fails_verification_and_is_not_overwritten(chain, anchor_file, text, problem):
    anchor_file.parent.mkdir()
    anchor_file.write_text(text)
    result = verify()
    assert (result.ok, result.reason) == (False, f"the anchor file {anchor_file} is unusable: {problem}")
    with pytest.raises(AnchorError):
        advance_anchor(chain[-1].id, chain[-1].hash)
    assert anchor_file.read_text() == text


def test_anchor_command_rewrites_the_anchor_after_a_restore(chain, anchor_file, capsys):
    advance_anchor(chain[-1].id, chain[-1].hash)
    # A backup from before the last two entries is restored: chain and head end earlier.
    _raw("DELETE FROM audit_auditentry WHERE id >= %s", [chain[-2].id])
    _rewind_head_to(chain[-3])
    with pytest.raises(CommandError, match=f"broken at entry {chain[-2].id}: entries up to {chain[-1].id}"):
        call_command("audit", "verify")
    capsys.readouterr()

    call_command("audit", "anchor")
    marker = AuditEntry.objects.order_by("id").last()
    assert (marker.id, marker.action, marker.details) == (
        chain[-3].id + 1,
        "audit.anchor",
        {"previous_anchor_id": chain[-1].id},
    )
    assert read_anchor() == Anchor(marker.id, marker.hash, current_chain_id())
    assert capsys.readouterr().out == (
        f"audit anchor {anchor_file} now records entry {marker.id} (it recorded entry {chain[-1].id})\n"
    )
    assert verify().ok


def test_anchor_command_refuses_a_broken_chain(chain, anchor_file):
    _raw("UPDATE audit_auditentry SET purpose = %s WHERE id = %s", ["changed", chain[2].id])
    with pytest.raises(CommandError, match=f"broken at entry {chain[2].id}") as excinfo:
        call_command("audit", "anchor")
    assert excinfo.value.returncode == 1
    assert read_anchor() is None
    assert not AuditEntry.objects.filter(action="audit.anchor").exists()
