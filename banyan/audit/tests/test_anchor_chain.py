"""An anchor belongs to one audit chain (issue 11): the anchor of another database's chain — a second
database seeded beside the first, a switch between SQLite and PostgreSQL, a database recreated — is
reported as such (exit 3), never as tampering; truncating the anchored chain itself still is."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, advance_anchor, read_anchor, record, verify

REPO = Path(__file__).resolve().parents[3]

ACTION = AuditAction.REGION_CREATE  # any action: the chain does not read it


@pytest.fixture
def anchor_file(settings, tmp_path):
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchor" / "audit.anchor"
    return settings.AUDIT_ANCHOR_FILE


def _raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _start_another_chain(events=1):
    """What another database holds: its own chain, begun afresh (here: in place of this one)."""
    _raw("DELETE FROM audit_auditentry")
    _raw("DELETE FROM audit_chainhead")
    if events:
        return record(actor="tester", events=[Event(ACTION, "thing", i) for i in range(events)])
    return []


def test_the_anchor_of_another_databases_chain_is_not_reported_as_tampering(db, anchor_file):
    first = record(actor="tester", events=[Event(ACTION, "thing", i) for i in range(3)])
    advance_anchor(first[-1].id, first[-1].hash)
    theirs = read_anchor()

    _start_another_chain()
    result = verify()
    assert not result.ok
    assert result.reason.startswith(f"the anchor {anchor_file} belongs to another audit chain")
    assert result.other_chain
    assert "removed" not in result.reason and "does not match" not in result.reason

    with pytest.raises(CommandError) as excinfo:
        call_command("audit", "verify", stdout=io.StringIO())
    assert excinfo.value.returncode == 3
    message = str(excinfo.value)
    assert message.startswith(
        f"audit chain not anchored: the anchor {anchor_file} belongs to another audit chain"
    )
    assert "audit chain broken" not in message
    assert read_anchor() == theirs  # the other chain's anchor is left as it was


def test_a_fresh_empty_database_with_another_chains_anchor_is_not_tampering(db, anchor_file):
    first = record(actor="tester", events=[Event(ACTION, "thing", 1)])
    advance_anchor(first[-1].id, first[-1].hash)
    _start_another_chain(events=0)
    with mock.patch("banyan.audit.services._registry_holds_data", return_value=False):
        result = verify()
        with pytest.raises(CommandError) as excinfo:
            call_command("audit", "verify", stdout=io.StringIO())
    assert "this database's audit log is empty" in result.reason
    assert (result.ok, result.other_chain) == (False, True)
    assert excinfo.value.returncode == 3


def _banyan(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "banyan", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_two_sqlite_databases_beside_one_var_folder(tmp_path):
    """The defect as a user met it: seed one database, migrate a second with the same var folder,
    and verify the second — untouched — one."""
    base = {**os.environ, "BANYAN_VAR_DIR": str(tmp_path), "BANYAN_DEMO": "1"}
    base.pop("BANYAN_AUDIT_ANCHOR", None)  # the default, var/audit.anchor, shared by both
    one = {**base, "DATABASE_URL": f"sqlite:///{tmp_path}/one.sqlite3"}
    two = {**base, "DATABASE_URL": f"sqlite:///{tmp_path}/two.sqlite3"}
    for env in (one, two):
        assert _banyan(env, "migrate", "-v0").returncode == 0
    seeded = _banyan(one, "seed", "--residents", "50", "--seed", "1", "--demo-password", "banyan-demo-2026")
    assert seeded.returncode == 0, seeded.stderr
    assert (tmp_path / "audit.anchor").exists()

    fresh = _banyan(two, "audit", "verify")
    assert fresh.returncode == 3, fresh.stderr
    assert "belongs to another audit chain" in fresh.stderr
    assert "audit chain broken" not in fresh.stderr

    intact = _banyan(one, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("audit chain intact: ")


def test_a_new_chain_begins_with_its_random_nonce(db, anchor_file):
    from banyan.audit.models import AuditEntry
    from banyan.audit.services import CHAIN_START, current_chain_id

    [entry] = _start_another_chain()
    first = AuditEntry.objects.get(pk=1)
    assert (entry.id, first.action, first.actor, first.subject_type, first.subject_id) == (
        2,
        CHAIN_START,
        "system",
        "audit",
        "chain",
    )
    assert list(first.details) == ["nonce"] and len(first.details["nonce"]) == 32
    assert entry.prev_hash == first.hash
    ours = current_chain_id()

    # Another database begun at the same instant by the same actor with the same event: another chain.
    with mock.patch("banyan.audit.services.clock.now", return_value=first.at):
        _start_another_chain()
    assert current_chain_id() != ours
    assert verify().ok


def test_truncating_the_anchored_chain_is_still_tampering(db, anchor_file, capsys):
    entries = record(actor="tester", events=[Event(ACTION, "thing", i) for i in range(4)])
    advance_anchor(entries[-1].id, entries[-1].hash)
    _raw("DELETE FROM audit_auditentry WHERE id > 1")  # all but the chain's first entry
    _raw(
        "UPDATE audit_chainhead SET last_id = 1, last_hash = (SELECT hash FROM audit_auditentry WHERE id = 1)"
    )
    result = verify()
    assert (result.ok, result.other_chain, result.bad_id) == (False, False, 2)
    assert result.reason == (
        f"entries up to {entries[-1].id} were recorded by the anchor but the chain ends at 1: "
        "removed from the end"
    )
    with pytest.raises(CommandError) as excinfo:
        call_command("audit", "verify")
    assert excinfo.value.returncode == 1
    assert str(excinfo.value).startswith("audit chain broken at entry 2: entries up to")


def test_a_changed_chain_id_is_an_altered_first_entry_not_another_chain(db, anchor_file):
    entries = record(actor="tester", events=[Event(ACTION, "thing", 1)])
    advance_anchor(entries[-1].id, entries[-1].hash)
    _raw("UPDATE audit_auditentry SET details = %s WHERE id = 1", ['{"nonce": "' + "0" * 32 + '"}'])
    result = verify()
    assert (result.ok, result.other_chain, result.bad_id) == (False, False, 1)
    assert "altered" in result.reason


def test_a_legacy_anchor_is_compared_as_before_and_names_the_chain_at_the_next_write(
    db, anchor_file, django_capture_on_commit_callbacks
):
    from banyan.audit.services import Anchor, current_chain_id

    entries = record(actor="tester", events=[Event(ACTION, "thing", i) for i in range(3)])
    anchor_file.parent.mkdir()
    anchor_file.write_text(json.dumps({"id": entries[-1].id + 2, "hash": "a" * 64}) + "\n")  # old format
    assert read_anchor() == Anchor(entries[-1].id + 2, "a" * 64, None)
    result = verify()  # ahead of the chain: as before, removed from the end
    assert (result.ok, result.other_chain) == (False, False)
    assert result.reason.endswith(f"but the chain ends at {entries[-1].id}: removed from the end")

    anchor_file.write_text(json.dumps({"id": entries[-1].id, "hash": entries[-1].hash}) + "\n")
    assert verify().ok
    with django_capture_on_commit_callbacks(execute=True):
        [later] = record(actor="tester", events=[Event(ACTION, "thing", 9)])
    assert read_anchor() == Anchor(later.id, later.hash, current_chain_id())
    assert verify().ok


def test_appends_leave_another_chains_anchor_alone_and_say_so(
    db, anchor_file, caplog, django_capture_on_commit_callbacks
):
    first = record(actor="tester", events=[Event(ACTION, "thing", 1)])
    advance_anchor(first[-1].id, first[-1].hash)
    theirs = anchor_file.read_text()
    _start_another_chain()
    with django_capture_on_commit_callbacks(execute=True):
        record(actor="tester", events=[Event(ACTION, "thing", i) for i in range(5)])
    assert anchor_file.read_text() == theirs
    [message] = [r.getMessage() for r in caplog.records if r.name == "banyan.audit.services"]
    assert message.startswith(f"the audit anchor {anchor_file} belongs to another audit chain")


def test_the_anchor_command_anchors_this_chain_in_place_of_anothers(
    db, anchor_file, caplog, capsys, django_capture_on_commit_callbacks
):
    from banyan.audit.models import AuditEntry
    from banyan.audit.services import Anchor, current_chain_id

    first = record(actor="tester", events=[Event(ACTION, "thing", i) for i in range(4)])
    advance_anchor(first[-1].id, first[-1].hash)
    theirs = read_anchor()
    _start_another_chain()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("audit", "anchor")
    marker = AuditEntry.objects.order_by("id").last()
    assert (marker.action, marker.details) == (
        "audit.anchor",
        {"previous_anchor_id": theirs.id, "previous_anchor_chain": theirs.chain},
    )
    assert read_anchor() == Anchor(marker.id, marker.hash, current_chain_id())
    assert capsys.readouterr().out == (
        f"audit anchor {anchor_file} now records entry {marker.id} "
        f"(it recorded entry {theirs.id} of another audit chain, {theirs.chain})\n"
    )
    assert not [r for r in caplog.records if r.name == "banyan.audit.services"]  # no warning on taking over
    assert verify().ok


def test_rekey_refuses_while_the_anchor_is_another_chains(db, anchor_file):
    from banyan.audit.models import AuditEntry

    first = record(actor="tester", events=[Event(ACTION, "thing", 1)])
    advance_anchor(first[-1].id, first[-1].hash)
    _start_another_chain()
    with pytest.raises(CommandError, match="belongs to another audit chain") as excinfo:
        call_command("audit", "rekey", stdout=io.StringIO())
    assert excinfo.value.returncode == 3
    assert not AuditEntry.objects.filter(action="audit.rekey").exists()
