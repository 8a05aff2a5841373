"""Alert lifecycle from engine events and people: dedup, auto-clear, escalation, audit, bus events."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core import bus
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.warning import services
from banyan.warning.engine import Engine, Reading
from banyan.warning.models import Alert
from banyan.warning.services import AlertStateError
from banyan.warning.tests.conftest import NOW, event, make_rule, seeded_device


@pytest.fixture
def rule(db):
    return make_rule()


@pytest.fixture
def device(db):
    return seeded_device()


def _audit(action, alert):
    return list(AuditEntry.objects.filter(action=action, subject_type="alert", subject_id=str(alert.pk)))


def test_raised_opens_one_alert_and_repeats_update_it(rule, device, now):
    [alert] = services.apply_events([event("Raised", rule, device.code, value=55)])
    assert (alert.status, alert.grade, alert.count, alert.last_value) == ("open", "orange", 1, 55)
    assert alert.grid_id == device.grid_id and alert.device_id == device.pk
    assert alert.raised_at == NOW and alert.reading_at == NOW
    assert alert.next_escalation_at == NOW + dt.timedelta(seconds=120)
    later = NOW + dt.timedelta(minutes=1)
    services.apply_events([event("Updated", rule, device.code, value=60, at=later, count=2)])
    services.apply_events([event("Raised", rule, device.code, value=61, at=later)])  # re-armed rule
    assert Alert.objects.filter(rule=rule).count() == 1
    alert.refresh_from_db()
    assert (alert.count, alert.last_value, alert.reading_at) == (3, 61, later)
    assert len(_audit("alert.raise", alert)) == 1


def test_many_repeats_in_one_batch_are_one_alert(rule, device, now):
    events = [event("Raised", rule, device.code)] + [
        event("Updated", rule, device.code, value=50 + i) for i in range(20)
    ]
    touched = services.apply_events(events)
    assert len(touched) == 1
    assert Alert.objects.get(rule=rule).count == 21


def test_cleared_closes_when_the_rule_auto_clears(rule, device, now):
    [alert] = services.apply_events([event("Raised", rule, device.code)])
    services.apply_events([event("Cleared", rule, device.code, value=30)])
    alert.refresh_from_db()
    assert alert.status == "cleared" and alert.cleared_at == NOW and alert.next_escalation_at is None
    assert len(_audit("alert.clear", alert)) == 1
    # The next raise is a new alert.
    services.apply_events([event("Raised", rule, device.code)])
    assert Alert.objects.filter(rule=rule).count() == 2


def test_cleared_is_ignored_when_the_rule_does_not_auto_clear(device, now):
    rule = make_rule(auto_clear=False)
    [alert] = services.apply_events([event("Raised", rule, device.code)])
    services.apply_events([event("Cleared", rule, device.code)])
    alert.refresh_from_db()
    assert alert.status == "open"


def test_engine_to_alerts_end_to_end(rule, device, now):
    engine = Engine([rule.engine_rule()])

    def read(value, minutes):
        ts = NOW + dt.timedelta(minutes=minutes)
        community = device.community.code  # a stored rule applies only to its community's devices
        return engine.evaluate(
            Reading(device.code, device.kind, "", "water_level_cm", value, ts, None, community)
        )

    for value, minutes in ((10, 0), (52, 1), (58, 2), (45, 3), (39, 4)):
        services.apply_events(read(value, minutes))
    alert = Alert.objects.get(rule=rule)
    assert (alert.status, alert.count, alert.last_value) == ("cleared", 2, 39)


def test_each_raise_and_clear_in_one_batch_is_an_event_of_its_own(
    rule, device, now, django_capture_on_commit_callbacks
):
    """The cockpit must see an alert that rose and cleared within one batch, and then the next one."""
    events = [
        event("Raised", rule, device.code, value=55),
        event("Updated", rule, device.code, value=57),
        event("Cleared", rule, device.code, value=30),
        event("Raised", rule, device.code, value=60),
        event("Updated", rule, device.code, value=61),
    ]
    with bus.collect("alert.*") as seen, django_capture_on_commit_callbacks(execute=True):
        services.apply_events(events)
    first, second = Alert.objects.filter(rule=rule).order_by("id")
    assert [(topic, p["id"], p["status"], p["count"], p["last_value"]) for topic, p in seen] == [
        ("alert.raised", first.pk, "open", 1, 55),
        ("alert.cleared", first.pk, "cleared", 2, 30),
        ("alert.raised", second.pk, "open", 1, 60),
        ("alert.updated", second.pk, "open", 2, 61),
    ]
    assert (first.count, first.status, second.count, second.status) == (2, "cleared", 2, "open")


def test_unknown_rule_ids_are_skipped(rule, device, now):
    raised = event("Raised", rule, device.code)
    assert services.apply_events([dataclasses.replace(raised, rule_id="999999")]) == []
    assert services.apply_events([dataclasses.replace(raised, rule_id="not-a-rule")]) == []


def test_acknowledge_and_resolve(users, rule, now):
    device = seeded_device(grid=users["grid01"].region)
    [alert] = services.apply_events([event("Raised", rule, device.code)])
    now.advance(10)
    alert = services.acknowledge_alert(actor=users["grid01"], alert=alert)
    assert alert.status == "acknowledged" and alert.acknowledged_by == users["grid01"]
    assert alert.acknowledged_at == NOW + dt.timedelta(seconds=10) and alert.next_escalation_at is None
    with pytest.raises(AlertStateError):
        services.acknowledge_alert(actor=users["grid01"], alert=alert)
    with pytest.raises(InvalidInput) as error:
        services.resolve_alert(actor=users["grid01"], alert=alert, note="  ")
    assert error.value.field == "note"
    alert = services.resolve_alert(actor=users["grid01"], alert=alert, note="Pump started.")
    assert (alert.status, alert.resolution_note, alert.resolved_by) == (
        "resolved",
        "Pump started.",
        users["grid01"],
    )
    with pytest.raises(AlertStateError):
        services.resolve_alert(actor=users["grid01"], alert=alert, note="again")
    [ack] = _audit("alert.acknowledge", alert)
    [resolve] = _audit("alert.resolve", alert)
    assert ack.actor == "grid01" and resolve.actor == "grid01"


def test_handling_needs_the_right_and_the_scope(users, rule, device, outside, now):
    [alert] = services.apply_events([event("Raised", rule, device.code)])
    with pytest.raises(PermissionDenied):
        services.acknowledge_alert(actor=users["volunteer01"], alert=alert)
    other_grid = (
        type(device.grid)
        .objects.filter(kind="grid")
        .exclude(pk=device.grid_id)
        .exclude(code__startswith="T-")
    ).first()
    stranger = users["grid01"] if users["grid01"].region_id != device.grid_id else None
    if stranger is None:
        stranger = users["grid02"]
    assert other_grid is not None
    if stranger.region_id != device.grid_id:
        with pytest.raises(NotFound):
            services.acknowledge_alert(actor=stranger, alert=alert)
    alert.refresh_from_db()
    assert alert.status == "open"


@pytest.mark.parametrize("grade,seconds", [("red", 30), ("orange", 120), ("yellow", 600), ("blue", 1800)])
def test_escalation_at_exactly_the_deadline(device, now, grade, seconds):
    rule = make_rule(grade=grade)
    [alert] = services.apply_events([event("Raised", rule, device.code, grade=grade)])
    now.advance(seconds - 1)
    assert services.escalate_due(now.now()) == []
    now.advance(1)
    [escalated] = services.escalate_due(now.now())
    assert escalated.pk == alert.pk and escalated.escalation_level == 1
    alert.refresh_from_db()
    assert alert.next_escalation_at == NOW + dt.timedelta(seconds=2 * seconds)
    [entry] = _audit("alert.escalate", alert)
    assert entry.details == {"level": 1, "to": "community", "grade": grade}
    assert services.escalate_due(now.now()) == []


def test_escalation_climbs_the_ladder_and_stops(device, now):
    rule = make_rule(grade="red")
    [alert] = services.apply_events([event("Raised", rule, device.code, grade="red")])
    for level in (1, 2, 3):
        now.advance(30)
        assert [a.escalation_level for a in services.escalate_due()] == [level]
    now.advance(3600)
    assert services.escalate_due() == []
    alert.refresh_from_db()
    assert alert.escalation_level == 3 and alert.next_escalation_at is None


def test_acknowledged_alerts_do_not_escalate(users, device, now):
    rule = make_rule(grade="red")
    [alert] = services.apply_events([event("Raised", rule, device.code, grade="red")])
    services.acknowledge_alert(actor=users["director"], alert=alert)
    now.advance(300)
    assert services.escalate_due() == []


def test_deadlines_come_from_settings(device, now, settings):
    settings.BANYAN_ESCALATION_SECONDS = {"orange": 5}
    rule = make_rule()
    services.apply_events([event("Raised", rule, device.code)])
    now.advance(5)
    assert len(services.escalate_due()) == 1


def test_bus_events_are_published_after_commit(users, rule, device, now, django_capture_on_commit_callbacks):
    with bus.collect("alert.*") as seen:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            [alert] = services.apply_events([event("Raised", rule, device.code)])
        assert seen == []  # nothing before commit
        for callback in callbacks:
            callback()
        with django_capture_on_commit_callbacks(execute=True):
            services.acknowledge_alert(actor=users["director"], alert=alert)
        with django_capture_on_commit_callbacks(execute=True):
            services.resolve_alert(actor=users["director"], alert=alert, note="done")
    topics = [topic for topic, _ in seen]
    assert topics == ["alert.raised", "alert.acknowledged", "alert.resolved"]
    payload = seen[0][1]
    assert payload["id"] == alert.pk and payload["grade"] == "orange" and payload["subject"] == device.code
    assert payload["grid"] == device.grid.code and payload["status"] == "open"


def test_a_rolled_back_transition_publishes_nothing(
    users, rule, device, now, django_capture_on_commit_callbacks
):
    [alert] = services.apply_events([event("Raised", rule, device.code)])
    with bus.collect() as seen, django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(InvalidInput):
            services.resolve_alert(actor=users["director"], alert=alert, note="")
    assert seen == []


def test_escalation_publishes(device, now, django_capture_on_commit_callbacks):
    rule = make_rule(grade="red")
    services.apply_events([event("Raised", rule, device.code, grade="red")])
    now.advance(30)
    with bus.collect("alert.escalated") as seen, django_capture_on_commit_callbacks(execute=True):
        services.escalate_due()
    assert [(p["escalation_level"], p["to"]) for _, p in seen] == [(1, "community")]


def test_mark_pushed_only_once(rule, device, now):
    [alert] = services.apply_events([event("Raised", rule, device.code)])
    assert services.mark_pushed([alert.pk]) == 1
    now.advance(5)
    assert services.mark_pushed([alert.pk]) == 0
    alert.refresh_from_db()
    assert alert.pushed_at == NOW


def test_crowd_density_alert_is_per_place_and_changes_grade(db, now):
    from banyan.places.models import Facility

    plaza = Facility.objects.filter(kind="plaza").order_by("code").first()
    rule = make_rule(
        name="Plaza crowd", kind="crowd_density", grade=None, areas_m2={plaza.code: 1000.0},
        metric="person_count",
    )  # fmt: skip
    services.apply_events([event("Raised", rule, plaza.code, grade="yellow", value=2.1, place=plaza.code)])
    services.apply_events([event("Updated", rule, plaza.code, grade="red", value=5.2, place=plaza.code)])
    alert = Alert.objects.get(rule=rule)
    assert (alert.grade, alert.facility_id, alert.device_id) == ("red", plaza.pk, None)
    assert alert.grid is not None


def test_rule_services_validate_and_audit(users, now):
    rule = services.create_rule(
        actor=users["director"],
        data={"name": "Garage", "kind": "threshold", "metric": "water_level_cm", "raise_at": 50,
              "clear_below": 40, "grade": "orange"},
    )  # fmt: skip
    assert rule.params == {"metric": "water_level_cm", "raise_at": 50, "clear_below": 40}
    assert rule.community == users["director"].region
    with pytest.raises(InvalidInput) as error:
        services.update_rule(actor=users["director"], rule=rule, data={"clear_below": 60})
    assert error.value.field == "clear_below"
    rule.refresh_from_db()
    assert rule.params["clear_below"] == 40
    services.update_rule(actor=users["director"], rule=rule, data={"raise_at": 45, "is_active": False})
    rule.refresh_from_db()
    assert rule.params["raise_at"] == 45 and rule.is_active is False
    actions = list(
        AuditEntry.objects.filter(subject_type="rule", subject_id=str(rule.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == ["rule.create", "rule.update"]
    with pytest.raises(PermissionDenied):
        services.create_rule(actor=users["grid01"], data={"name": "x", "kind": "offline", "interval_s": 60})


def test_the_in_process_bus(caplog):
    seen = []

    def broken(topic, payload):
        raise RuntimeError("boom")

    unsubscribe_broken = bus.subscribe("alert.*", broken)
    unsubscribe = bus.subscribe("alert.raised", lambda topic, payload: seen.append((topic, payload)))
    try:
        bus.publish("alert.raised", {"id": 1})
        bus.publish("alert.cleared", {"id": 1})
        bus.publish("rule.changed", {"rule": 1})
    finally:
        unsubscribe_broken()
        unsubscribe()
    assert seen == [("alert.raised", {"id": 1})]
    assert "bus handler" in caplog.text and "boom" in caplog.text  # logged, not raised
    bus.publish("alert.raised", {"id": 2})
    assert len(seen) == 1  # unsubscribed
    unsubscribe()  # twice is harmless


def test_the_bus_is_thread_safe():
    import threading

    seen = []
    lock = threading.Lock()

    def handler(topic, payload):
        with lock:
            seen.append(payload["n"])

    def subscriber_churn():
        for _ in range(200):
            bus.subscribe("other", handler)()

    unsubscribe = bus.subscribe("count", handler)
    threads = [threading.Thread(target=subscriber_churn) for _ in range(4)]
    threads += [
        threading.Thread(target=lambda i=i: [bus.publish("count", {"n": i}) for _ in range(100)])
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unsubscribe()
    assert len(seen) == 400


def test_engine_rules_and_place_keys(db):
    from banyan.places.models import Region
    from banyan.sensing.models import Device

    community = Region.objects.filter(kind="community").order_by("code").first()
    extra = make_rule(community=community)
    make_rule(community=community, name="off", device_codes=["X"]).__class__.objects.filter(
        name="off"
    ).update(is_active=False)
    built = services.engine_rules(community)
    ids = [rule.id for rule in built]
    assert str(extra.pk) in ids and ids == sorted(ids, key=int)
    assert all(rule.name != "off" for rule in built)
    Engine(built)  # the whole active set builds one engine
    counter = Device.objects.filter(kind="crowd_counter").select_related("facility").first()
    assert services.place_key(counter) == counter.facility.code
    meter = Device.objects.filter(kind="water_meter").select_related("building", "unit").first()
    assert services.place_key(meter) == f"{meter.building.code}/{meter.unit.number}"
