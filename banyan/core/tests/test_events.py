"""The event registry (banyan/core/events.py): every event is registered with its payload and version;
publishing an unknown name or a payload with other keys fails at once; the payload keys and the topic
are the contract other processes and the cockpit read; and no product code goes around the registry
(a scan of the source).

The real payload builders (``alert_payload``, ``incident_payload``, ``event_payload`` …) are checked
by every service test that publishes: ``publish_on_commit`` checks the payload when it is called."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest
from django.db import transaction

import banyan
from banyan.core import bus, events
from banyan.core.events import (
    EVENTS_ACL,
    EVENTS_FILTER,
    REGISTRY,
    EventName,
    EventPattern,
    InvalidPayload,
    UnregisteredEvent,
)

PACKAGE = Path(banyan.__file__).parent

ALERT_KEYS = {
    "id",
    "rule",
    "subject",
    "place",
    "community",
    "grid",
    "grade",
    "status",
    "count",
    "last_value",
    "escalation_level",
    "reading_at",
    "raised_at",
    "acknowledged_at",
    "cleared_at",
    "resolved_at",
}
INCIDENT_KEYS = {
    "id",
    "category",
    "community",
    "grid",
    "grade",
    "status",
    "accountable",
    "assignee",
    "escalation_level",
    "created_at",
    "acknowledge_due",
    "arrive_due",
}
MESSAGE_KEYS = {"id", "recipient", "kind", "urgency", "subject_type", "subject_id"}

# The contract, word for word: what each event carries today (README "Events"; the cockpit, the
# worker, notifiers and other systems on the broker read these keys). Changing one is a new version.
CONTRACT = {
    "alert.raised": ALERT_KEYS,
    "alert.updated": ALERT_KEYS,
    "alert.cleared": ALERT_KEYS,
    "alert.acknowledged": ALERT_KEYS,
    "alert.resolved": ALERT_KEYS,
    "alert.escalated": ALERT_KEYS | {"to"},
    "rule.changed": {"rule", "community"},
    "official_warning.imported": {"id", "sender", "identifier", "grade"},
    "incident.opened": INCIDENT_KEYS,
    "incident.changed": INCIDENT_KEYS,
    "incident.escalated": INCIDENT_KEYS,
    "incident.backup": INCIDENT_KEYS,
    "responder.moved": {"id", "user", "community"},
    "notify.message": MESSAGE_KEYS,
    "notify.acknowledged": MESSAGE_KEYS | {"channel", "user"},
}
BRIDGED = {name for name in CONTRACT if name.split(".")[0] in ("alert", "incident", "responder")}


def an_alert(**changes) -> dict:
    payload = {
        "id": 7,
        "rule": 3,
        "subject": "GAS-0001",
        "place": "",
        "community": "330102001001",
        "grid": "330102001001-01",
        "grade": "red",
        "status": "open",
        "count": 1,
        "last_value": 40.0,
        "escalation_level": 0,
        "reading_at": "2026-12-01T08:00:00+00:00",
        "raised_at": "2026-12-01T08:00:00+00:00",
        "acknowledged_at": None,
        "cleared_at": None,
        "resolved_at": None,
    }
    return payload | changes


def an_incident(**changes) -> dict:
    payload = {
        "id": 4,
        "category": "gas_leak",
        "community": "330102001001",
        "grid": None,
        "grade": "red",
        "status": "new",
        "accountable": "ORG-COMMUNITY",
        "assignee": None,
        "escalation_level": 0,
        "created_at": "2026-12-01T08:00:00+00:00",
        "acknowledge_due": "2026-12-01T08:05:00+00:00",
        "arrive_due": "2026-12-01T08:15:00+00:00",
    }
    return payload | changes


@pytest.fixture
def heard():
    seen: list[tuple[str, dict]] = []
    unsubscribe = events.subscribe(EventPattern.ALL, lambda name, payload: seen.append((name, payload)))
    yield seen
    unsubscribe()


# --- the registry ------------------------------------------------------------------------------------


def test_every_event_is_registered_with_its_payload_keys_and_version():
    assert {name.value for name in EventName} == set(CONTRACT)
    for name, spec in REGISTRY.items():
        assert spec.name is name
        assert typing.is_typeddict(spec.payload), name
        assert set(spec.fields) == CONTRACT[name.value], f"{name}: the keys are a contract"
        assert spec.payload.__required_keys__ == set(spec.fields), f"{name}: every key is always sent"
        assert spec.version >= 1 and spec.about
        assert spec.bridged == (name.value in BRIDGED), name
    assert set(REGISTRY) == set(EventName)


def test_every_pattern_matches_registered_events():
    assert events.names_matching(EventPattern.ALL) == list(EventName)
    assert [n.value for n in events.names_matching(EventPattern.RESPONDERS)] == ["responder.moved"]
    for pattern in EventPattern:
        assert events.names_matching(pattern), f"{pattern} matches no event"


def test_the_topic_is_defined_once():
    from banyan.bench import publisher
    from banyan.sensing import mqtt_accounts

    assert events.topic_for(EventName.ALERT_RAISED, "330102001001") == (
        "banyan/330102001001/events/alert.raised"
    )
    assert events.topic_for(EventName.INCIDENT_CHANGED, None) == "banyan/_/events/incident.changed"
    assert (EVENTS_FILTER, EVENTS_ACL) == ("banyan/+/events/+", "banyan/+/events/#")
    assert mqtt_accounts.EVENTS_TOPICS == EVENTS_ACL == publisher.EVENTS


# --- publishing ----------------------------------------------------------------------------------


def test_a_registered_event_reaches_subscribers_by_its_enum_name(heard):
    events.publish(EventName.ALERT_RAISED, an_alert())
    [(name, payload)] = heard
    assert name is EventName.ALERT_RAISED and name == "alert.raised"
    assert payload == an_alert()


@pytest.mark.parametrize("name", ["alert.raised", "alert.exploded", "", None, 7])
def test_an_unregistered_name_or_a_string_is_refused_at_once(heard, name):
    with pytest.raises(UnregisteredEvent):
        events.publish(name, an_alert())  # type: ignore[arg-type]
    with pytest.raises(UnregisteredEvent):
        events.publish_on_commit(name, an_alert())  # type: ignore[arg-type]
    assert heard == []


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({k: v for k, v in an_alert().items() if k != "grade"}, "missing grade"),
        (an_alert(phone="13800000000"), "unexpected phone"),
        (an_alert(id="7"), "id must be int, not str"),
        (an_alert(count=True), "count must be int, not bool"),
        (an_alert(grid=3), "grid must be str | None, not int"),
        (an_alert(raised_at=None), "raised_at must be str, not NoneType"),
        ([("id", 7)], "must be a mapping"),
    ],
)
def test_a_payload_with_other_keys_or_types_is_refused_at_once(heard, payload, says):
    with pytest.raises(InvalidPayload, match=says) as raised:
        events.publish(EventName.ALERT_RAISED, payload)
    assert isinstance(raised.value, TypeError)
    assert "13800000000" not in str(raised.value), "the message names keys, never values"
    assert heard == []


def test_a_whole_number_is_a_float_and_optional_values_may_be_none(heard):
    events.publish(EventName.ALERT_UPDATED, an_alert(last_value=41, grid=None, reading_at=None))
    assert heard[0][1]["last_value"] == 41


@pytest.mark.django_db(transaction=True)
def test_publish_on_commit_checks_now_and_publishes_only_after_a_commit(heard):
    with transaction.atomic():
        events.publish_on_commit(EventName.ALERT_RAISED, an_alert(id=1))
        with pytest.raises(InvalidPayload):
            events.publish_on_commit(EventName.ALERT_RAISED, an_alert(id=None))
        assert heard == [], "not before the commit"
    assert heard == [(EventName.ALERT_RAISED, an_alert(id=1))]

    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish_on_commit(EventName.ALERT_RAISED, an_alert(id=2))
        raise RuntimeError("rolled back")
    assert [p["id"] for _n, p in heard] == [1], "never after a rollback"


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_does_not_fail_the_commit(heard):
    def broken(name, payload):
        raise ValueError("boom")

    unsubscribe = events.subscribe(EventName.RULE_CHANGED, broken)
    try:
        with transaction.atomic():
            events.publish_on_commit(EventName.RULE_CHANGED, {"rule": 1, "community": "C1"})
    finally:
        unsubscribe()
    assert heard == [(EventName.RULE_CHANGED, {"rule": 1, "community": "C1"})]


def test_the_payload_is_copied_when_it_is_checked(heard):
    payload = an_alert()
    events.publish(EventName.ALERT_RAISED, payload)
    payload["grade"] = "blue"
    assert heard[0][1]["grade"] == "red"


# --- subscribing and events from other processes ------------------------------------------------------


@pytest.mark.parametrize("pattern", ["alert.*", "alert.raised", "alert.exploded", "*"])
def test_subscribers_name_events_by_the_registry(pattern):
    with pytest.raises(UnregisteredEvent):
        events.subscribe(pattern, lambda name, payload: None)  # type: ignore[arg-type]


def test_a_subscription_to_a_family_hears_only_that_family():
    seen: list[str] = []
    unsubscribe = events.subscribe(EventPattern.INCIDENTS, lambda name, payload: seen.append(name))
    try:
        events.publish(EventName.ALERT_RAISED, an_alert())
        events.publish(EventName.RULE_CHANGED, {"rule": 1, "community": "C1"})
    finally:
        unsubscribe()
    assert seen == []


def test_an_event_from_another_process_needs_a_registered_name_and_keeps_its_keys(heard):
    events.deliver("alert.cleared", {"id": 9, "origin": "ingest"})
    assert heard == [(EventName.ALERT_CLEARED, {"id": 9, "origin": "ingest"})]
    assert heard[0][0] is EventName.ALERT_CLEARED
    with pytest.raises(UnregisteredEvent):
        events.deliver("alert.exploded", {"id": 9})
    assert len(heard) == 1


# --- nobody goes around the registry -------------------------------------------------------------------

PUBLISHERS = {"publish", "publish_on_commit", "subscribe"}
ENUMS = {"EventName": {m.name for m in EventName}, "EventPattern": {m.name for m in EventPattern}}


def product_files() -> list[Path]:
    skipped = {"tests", "tests_browser", "migrations"}
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if not skipped & set(path.relative_to(PACKAGE).parts) and path.name != "conftest.py"
    )


def bypasses(source: str, name: str) -> list[str]:
    """Where ``source`` (the product module ``name``, e.g. ``core/events.py``) goes around the registry."""
    tree = ast.parse(source)
    found: list[str] = []
    registry = name == "core/events.py"
    imported: set[str] = set()  # names imported from banyan.core.events
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "banyan.core.events":
            imported |= {alias.asname or alias.name for alias in node.names}

    def where(node: ast.AST) -> str:
        return f"{name}:{getattr(node, 'lineno', '?')}"

    for node in ast.walk(tree):
        # The bus itself is the registry's to use.
        if not registry and name != "core/bus.py":
            if isinstance(node, ast.ImportFrom) and (
                node.module == "banyan.core.bus"
                or (node.module == "banyan.core" and any(a.name == "bus" for a in node.names))
            ):
                found.append(f"{where(node)}: imports banyan.core.bus (use banyan.core.events)")
            if isinstance(node, ast.Import) and any(a.name == "banyan.core.bus" for a in node.names):
                found.append(f"{where(node)}: imports banyan.core.bus (use banyan.core.events)")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("publish", "subscribe")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "bus"
            ):
                found.append(f"{where(node)}: bus.{node.func.attr}() outside banyan/core/events.py")
        # EventName.X and EventPattern.X name members.
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ENUMS
            and not node.attr.startswith("_")
            and node.attr not in ENUMS[node.value.id]
            and node.attr not in ("value", "name")
        ):
            found.append(f"{where(node)}: {node.value.id}.{node.attr} is not registered")
        if not isinstance(node, ast.Call):
            continue
        # EventName("alert.raised"): a string made into a name, around the enum's members.
        if (
            not registry
            and isinstance(node.func, ast.Name)
            and node.func.id in ENUMS
            and node.args
            and _is_text(node.args[0])
        ):
            found.append(f"{where(node)}: {node.func.id}() of a string")
        # events.publish(…), publish_on_commit(…), events.subscribe(…): the first argument is a member.
        func = node.func
        publishing = (
            isinstance(func, ast.Attribute)
            and func.attr in PUBLISHERS
            and isinstance(func.value, ast.Name)
            and func.value.id == "events"
        ) or (isinstance(func, ast.Name) and func.id in PUBLISHERS and func.id in imported)
        if publishing:
            first = node.args[0] if node.args else None
            if first is None or _is_text(first):
                found.append(f"{where(node)}: an event named by a string, not by EventName")
            elif isinstance(first, ast.Call):
                found.append(f"{where(node)}: an event named by a call, not by EventName")
    return found


def _is_text(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True  # a string, or anything else that is no member
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.BinOp) and (_is_text(node.left) or _is_text(node.right))


def test_no_product_code_goes_around_the_registry():
    files = product_files()
    assert PACKAGE / "core" / "events.py" in files and len(files) > 100
    found = [
        problem
        for path in files
        for problem in bypasses(path.read_text(), path.relative_to(PACKAGE).as_posix())
    ]
    assert found == []


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("from banyan.core import bus, clock", "imports banyan.core.bus"),
        ("import banyan.core.bus", "imports banyan.core.bus"),
        ("from banyan.core.bus import publish", "imports banyan.core.bus"),
        ("bus.publish(topic, payload)", "bus.publish() outside"),
        ("bus.subscribe('alert.*', handler)", "bus.subscribe() outside"),
        ("from banyan.core import events\nevents.publish('alert.raised', p)", "named by a string"),
        ("events.publish_on_commit(f'alert.{verb}', p)", "named by a string"),
        ("events.publish('alert.' + verb, p)", "named by a string"),
        ("events.subscribe('notify.message', handler)", "named by a string"),
        ("name = EventName('alert.raised')", "EventName() of a string"),
        ("events.publish(pick_one(), p)", "named by a call"),
        ("events.publish(EventName.ALERT_EXPLODED, p)", "EventName.ALERT_EXPLODED is not registered"),
        ("events.subscribe(EventPattern.ALARMS, h)", "EventPattern.ALARMS is not registered"),
        (
            "from banyan.core.events import publish_on_commit\npublish_on_commit('rule.changed', p)",
            "named by a string",
        ),
    ],
)
def test_the_scan_finds_each_way_around(source, says):
    [problem] = bypasses(source, "warning/services.py")
    assert says in problem and problem.startswith("warning/services.py:")


def test_the_scan_lets_registered_names_through():
    source = (
        "from banyan.core import events\n"
        "from banyan.core.events import EventName, EventPattern, publish_on_commit\n"
        "events.publish(EventName.ALERT_RAISED, p)\n"
        "publish_on_commit(name, p)\n"
        "events.subscribe(EventPattern.ALERTS, h)\n"
        "client.publish('banyan/C1/devices/D1/readings', body)\n"  # an MQTT client, not the bus
    )
    assert bypasses(source, "warning/services.py") == []
    assert bypasses("from banyan.core import bus\nbus.publish(name, payload)", "core/events.py") == []


def test_the_in_process_bus_is_still_the_delivery_underneath(heard):
    """The bus stays a plain fnmatch dispatcher; the registry is the only product caller."""
    with bus.collect("rule.*") as collected:
        events.publish(EventName.RULE_CHANGED, {"rule": 2, "community": "C1"})
    assert collected == [(EventName.RULE_CHANGED, {"rule": 2, "community": "C1"})]


def test_the_readme_lists_every_event_with_its_keys():
    readme = (PACKAGE.parent / "README.md").read_text()
    section = readme.split("\n## Events\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for name, keys in CONTRACT.items():
        [row] = [row for row in rows if f"`{name}`" in row.split("|")[1]]
        listed = set(re.findall(r"`(\w+)`", row.split("|")[2]))
        if name == "alert.escalated":
            listed |= ALERT_KEYS
        if name == "notify.acknowledged":
            listed |= MESSAGE_KEYS
        assert keys <= listed, f"README *Events*: {name} lacks {sorted(keys - listed)}"
    assert "banyan/<community-code>/events/<event>" in section
