import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from banyan.audit.models import AppendOnlyError, AuditEntry
from banyan.audit.services import Event, record, verify


@pytest.fixture
def chain(db):
    """Five fresh entries on top of whatever the seed wrote."""
    return record(
        actor="tester", events=[Event("test.event", "thing", i, details={"n": i}) for i in range(5)]
    )


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
