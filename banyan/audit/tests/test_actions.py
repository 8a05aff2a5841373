"""Audit actions are the members of ``AuditAction`` (issue 11): an unknown one is refused before anything
is written, every incident move has its member, and no product code names an action as a bare string."""

import ast
import re
from pathlib import Path

import pytest
from django.db import connection

from banyan.audit.actions import AuditAction
from banyan.audit.models import AuditEntry, ChainHead
from banyan.audit.services import Event, record, record_one
from banyan.response.flow import Move

BANYAN = Path(__file__).resolve().parents[2]


def test_every_incident_move_has_its_action():
    # response/services.py records a move as AuditAction(f"incident.{move.value}").
    assert {m: AuditAction(f"incident.{m.value}") for m in Move} == {
        Move.ASSIGN: AuditAction.INCIDENT_ASSIGN,
        Move.ACCEPT: AuditAction.INCIDENT_ACCEPT,
        Move.DECLINE: AuditAction.INCIDENT_DECLINE,
        Move.ON_SCENE: AuditAction.INCIDENT_ON_SCENE,
        Move.RESOLVE: AuditAction.INCIDENT_RESOLVE,
        Move.CLOSE: AuditAction.INCIDENT_CLOSE,
        Move.CANCEL: AuditAction.INCIDENT_CANCEL,
        Move.MARK_DUPLICATE: AuditAction.INCIDENT_DUPLICATE,
        Move.REOPEN: AuditAction.INCIDENT_REOPEN,
    }


def test_values_are_dotted_names_and_distinct():
    values = [a.value for a in AuditAction]
    assert len(values) == len(set(values))
    assert [v for v in values if not re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", v)] == []


def test_the_values_stored_in_existing_databases_are_kept():
    # A few of the values the README, the docs and existing logs hold: never renamed.
    assert (
        AuditAction.RESIDENT_REVEAL,
        AuditAction.LOGIN_FAILED,
        AuditAction.RULE_CREATE,
        AuditAction.AUDIT_CHAIN,
        AuditAction.INCIDENT_HAND_OVER,
    ) == ("resident.reveal", "login.failed", "rule.create", "audit.chain", "incident.hand_over")


def test_a_members_value_is_taken_and_stored_as_plain_text(db):
    event = Event("rule.create", "rule", 1)
    assert event.action is AuditAction.RULE_CREATE
    [entry] = record(actor="tester", events=[event])
    stored = AuditEntry.objects.get(pk=entry.id)
    assert (type(entry.action), type(stored.action), stored.action) == (str, str, "rule.create")


@pytest.mark.parametrize("action", ["resident.peek", "", "RESIDENT.REVEAL", "resident.reveal "])
def test_an_unknown_action_is_refused_before_anything_is_written(db, action):
    # On an empty log too: not even the chain's first entry is written.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
        cursor.execute("DELETE FROM audit_chainhead")
    with pytest.raises(ValueError, match=r"^unknown audit action " + re.escape(repr(action))):
        record_one(actor="tester", action=action, subject_type="thing", subject_id=1)
    with pytest.raises(ValueError, match="unknown audit action"):
        record(actor="tester", events=[Event(AuditAction.RULE_CREATE, "rule", 1), Event(action, "rule", 2)])
    assert (AuditEntry.objects.count(), ChainHead.objects.count()) == (0, 0)


# --- no product code names an action as a string ---------------------------------------------------


def _product_files():
    for path in sorted(BANYAN.rglob("*.py")):
        parts = path.relative_to(BANYAN).parts
        if "tests" in parts or "migrations" in parts or path.name == "conftest.py":
            continue
        yield path


def _is_text(node) -> bool:
    """A string literal, an f-string, or text made from one (``"a." + x``, ``"a.%s" % x``, ``"…".format``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join") and _is_text(node.func.value)
    return False


def _audit_calls(path: Path, tree: ast.Module):
    """(line, action argument) of every call that names an audit action in ``path``."""
    events = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "banyan.audit.services"
        for alias in node.names
        if alias.name == "Event"
    }
    helper = (
        {"otp.py": "_audit", "login.py": "_record"}.get(path.name) if path.parent.name == "people" else None
    )
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        keyword = next((k.value for k in node.keywords if k.arg == "action"), None)
        if name in events:
            yield node.lineno, node.args[0] if node.args else keyword
        elif name in ("record_one", helper) and keyword is not None:
            yield node.lineno, keyword
        elif name == helper == "_audit" and len(node.args) > 1:
            yield node.lineno, node.args[1]


def test_product_code_names_actions_by_member():
    found, text, unknown = 0, [], []
    members = set(AuditAction.__members__)
    for path in _product_files():
        source = path.read_text(encoding="utf-8")
        if "banyan.audit" not in source:
            continue
        tree = ast.parse(source)
        where = path.relative_to(BANYAN.parent)
        for line, action in _audit_calls(path, tree):
            found += 1
            if action is None or _is_text(action):
                text.append(f"{where}:{line}")
        unknown += [
            f"{where}:{node.lineno}: AuditAction.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "AuditAction"
            and node.attr not in members
            and not node.attr.startswith("_")
        ]
    assert found > 50, "the scan no longer finds the audit calls"
    assert text == [], "name the action as AuditAction.X (banyan/audit/actions.py)"
    assert unknown == []


def test_the_scan_catches_strings_and_f_strings(tmp_path):
    source = (
        "from banyan.audit.services import Event, record_one\n"
        "Event('rule.create', 'rule', 1)\n"
        "Event(f'incident.{move}', 'incident', 1)\n"
        "record_one(actor=None, action='incident.' + move, subject_type='x', subject_id=1)\n"
        "Event(AuditAction.RULE_CREATE, 'rule', 1)\n"
        "Event(AuditAction(f'incident.{move}'), 'incident', 1)\n"
    )
    path = tmp_path / "services.py"
    calls = sorted(_audit_calls(path, ast.parse(source)), key=lambda call: call[0])
    assert [(line, _is_text(action)) for line, action in calls] == [
        (2, True),
        (3, True),
        (4, True),
        (5, False),
        (6, False),
    ]
