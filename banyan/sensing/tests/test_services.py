"""Storing readings once, device state, sequence gaps, dead letters and registry changes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from banyan.audit.models import AuditEntry
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.sensing import services
from banyan.sensing.choices import DeviceStatus
from banyan.sensing.models import DeadLetter, Device, Reading, SequenceGap
from banyan.sensing.tests.conftest import NOW, reading


def test_the_same_batch_twice_is_stored_once(device_factory, now):
    device = device_factory()
    batch = [reading(value=v, minutes=10 - v, seq=v) for v in range(1, 6)]
    first = services.store_readings([(device, batch)])
    assert (first.accepted, first.duplicates, first.gaps) == (5, 0, 0)
    assert len(first.new) == 5
    second = services.store_readings([(device, batch)])
    assert (second.accepted, second.duplicates, second.new) == (0, 5, [])
    assert Reading.objects.filter(device=device).count() == 5


def test_duplicates_inside_one_batch_and_across_devices(device_factory, now):
    a, b = device_factory(), device_factory()
    same = reading(value=1, seq=1)
    report = services.store_readings([(a, [same, same]), (b, [same])])
    assert (report.accepted, report.duplicates) == (2, 1)
    assert Reading.objects.filter(device__in=[a, b]).count() == 2


def test_device_state_moves_forward(device_factory, now):
    device = device_factory(kind="water_meter", status=DeviceStatus.OFFLINE, battery_pct=90)
    services.store_readings(
        [
            (
                device,
                [reading("water_m3", 12.5, minutes=5, seq=7), reading("battery_pct", 41.6, minutes=5, seq=7)],
            )
        ]
    )
    device.refresh_from_db()
    assert device.last_seen_at == NOW - dt.timedelta(minutes=5)
    assert (device.last_seq, device.battery_pct, device.status) == (7, 42, DeviceStatus.ONLINE)
    # An older reading arriving late moves nothing back.
    services.store_readings([(device, [reading("battery_pct", 99, minutes=60, seq=3)])])
    device.refresh_from_db()
    assert (device.last_seen_at, device.last_seq, device.battery_pct) == (
        NOW - dt.timedelta(minutes=5),
        7,
        42,
    )


def test_maintenance_stays_maintenance(device_factory, now):
    device = device_factory(status=DeviceStatus.MAINTENANCE)
    services.store_readings([(device, [reading(seq=1)])])
    device.refresh_from_db()
    assert device.status == DeviceStatus.MAINTENANCE


def test_sequence_gaps_are_recorded_once(device_factory, now):
    device = device_factory()
    batch = [reading(value=s, minutes=20 - s, seq=s) for s in (1, 2, 5, 6, 10)]
    report = services.store_readings([(device, batch)])
    assert report.gaps == 2
    gaps = sorted(SequenceGap.objects.filter(device=device).values_list("expected_seq", "got_seq"))
    assert gaps == [(3, 5), (7, 10)]
    # Redelivery adds no gap; a late message filling the gap neither.
    services.store_readings([(device, batch)])
    services.store_readings([(device, [reading(value=3, minutes=17, seq=3)])])
    assert SequenceGap.objects.filter(device=device).count() == 2
    device.refresh_from_db()
    assert device.last_seq == 10


def test_a_restarted_counter_is_not_a_gap(device_factory, now):
    device = device_factory()
    services.store_readings([(device, [reading(minutes=10, seq=500)])])
    services.store_readings([(device, [reading(minutes=1, seq=0), reading(value=2, minutes=0, seq=1)])])
    device.refresh_from_db()
    assert device.last_seq == 1
    assert not SequenceGap.objects.filter(device=device).exists()


def test_gaps_continue_across_batches(device_factory, now):
    device = device_factory()
    services.store_readings([(device, [reading(minutes=10, seq=1)])])
    report = services.store_readings([(device, [reading(minutes=5, seq=4)])])
    assert report.gaps == 1
    assert SequenceGap.objects.get(device=device).missing == 2


def test_an_empty_call_does_nothing(db):
    assert services.store_readings([]).accepted == 0


# --- dead letters -------------------------------------------------------------------------


def test_dead_letter_keeps_reason_and_excerpt(device_factory, now):
    device = device_factory()
    letter = services.record_dead_letter(
        source="mqtt",
        reason="out_of_range",
        detail="The value 5000 is outside …",
        topic=f"banyan/X/devices/{device.code}/readings",
        device=device,
        payload=b'{"metric": "water_level_cm", "value": 5000, "ts": 1}',
    )
    letter.refresh_from_db()
    assert letter.received_at == NOW
    assert letter.device_code == device.code and letter.region_id == device.community_id
    assert json.loads(letter.payload)["value"] == 5000


def test_dead_letter_payload_is_cut_at_2_kb(db, now):
    letter = services.record_dead_letter(source="mqtt", reason="bad_json", payload=b"x" * 10_000)
    assert len(letter.payload.encode()) == 2048
    big = [{"metric": "co2", "value": i, "ts": "2026-11-29T07:00:00Z"} for i in range(500)]
    letter = services.record_dead_letter(source="http", reason="too_many", payload=big)
    assert len(letter.payload.encode()) <= 2048


def test_health_values_never_reach_dead_letters(device_factory, now):
    band = device_factory(kind="wearable_band")
    letter = services.record_dead_letter(
        source="mqtt",
        reason="future_timestamp",
        device=band,
        payload=b'[{"metric": "heart_rate", "value": 71, "ts": 1}, {"metric": "battery_pct", "value": 80}]',
    )
    assert [item["value"] for item in json.loads(letter.payload)] == [None, None]
    assert "71" not in letter.payload
    letter = services.record_dead_letter(
        source="mqtt", reason="bad_json", device=band, payload=b"hr=71;spo2=97"
    )
    assert letter.payload == ""
    # A health metric from an unknown device is redacted too.
    letter = services.record_dead_letter(
        source="mqtt", reason="unknown_device", payload=b'{"metric": "spo2", "value": 95, "ts": 1}'
    )
    assert json.loads(letter.payload)["value"] is None


# --- registry ------------------------------------------------------------------------------


def test_create_device_validates_and_audits(users, now):
    from banyan.places.models import Unit

    director = users["director"]
    unit = Unit.objects.filter(building__grid__parent=director.region).order_by("id").first()
    before = AuditEntry.objects.count()
    device = services.create_device(
        actor=director, data={"code": "WM-T-1", "kind": "water_meter", "unit": unit.pk}
    )
    assert (device.grid_id, device.building_id, device.community_id) == (
        unit.building.grid_id,
        unit.building_id,
        director.region_id,
    )
    assert device.expected_interval_s == 3600 and device.installed_at == NOW
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == "device.create" and entry.details["resident_linked"] is False

    with pytest.raises(InvalidInput) as error:
        services.create_device(
            actor=director, data={"code": "WM-T-1", "kind": "water_meter", "unit": unit.pk}
        )
    assert error.value.field == "code"
    with pytest.raises(InvalidInput) as error:
        services.create_device(actor=director, data={"code": "X-1", "kind": "toaster", "unit": unit.pk})
    assert error.value.field == "kind"
    with pytest.raises(InvalidInput) as error:
        services.create_device(actor=director, data={"code": "a/b", "kind": "smoke", "unit": unit.pk})
    assert error.value.field == "code"
    with pytest.raises(InvalidInput) as error:
        services.create_device(actor=director, data={"code": "X-2", "kind": "smoke"})
    assert error.value.field == "grid"
    with pytest.raises(PermissionDenied):
        services.create_device(actor=users["grid01"], data={"code": "X-3", "kind": "smoke", "unit": unit.pk})
    assert AuditEntry.objects.count() == before + 1


def test_location_parts_must_agree(users, now):
    from banyan.places.models import Building, Region

    director = users["director"]
    grids = list(Region.objects.filter(kind="grid", parent=director.region).order_by("code")[:2])
    building = Building.objects.filter(grid=grids[0]).first()
    with pytest.raises(InvalidInput) as error:
        services.create_device(
            actor=director,
            data={"code": "X-4", "kind": "smoke", "grid": grids[1].pk, "building": building.pk},
        )
    assert error.value.field == "building"
    with pytest.raises(InvalidInput) as error:
        services.create_device(
            actor=director, data={"code": "X-5", "kind": "smoke", "grid": director.region_id}
        )
    assert error.value.field == "grid"


def test_update_device_out_of_scope_location_is_not_found(users, outside, device_factory, now):
    device = device_factory()
    with pytest.raises(NotFound):
        services.update_device(
            actor=users["director"], device=device, data={"building": outside["sibling"]["building"].pk}
        )
    device.refresh_from_db()
    assert device.building_id is None


def test_update_device_changes_and_audits(users, device_factory, now):
    device = device_factory()
    services.update_device(actor=users["director"], device=device, data={"status": "maintenance"})
    device.refresh_from_db()
    assert device.status == "maintenance"
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "device.update" and entry.details["changed"] == ["status"]
    before = AuditEntry.objects.count()
    services.update_device(actor=users["director"], device=device, data={"status": "maintenance"})
    assert AuditEntry.objects.count() == before


def test_dead_letters_are_scoped(users, outside, device_factory, now):
    inside = device_factory()
    far = device_factory(grid=outside["other_street"]["grid"])
    for device in (inside, far):
        services.record_dead_letter(source="mqtt", reason="bad_json", device=device, payload=b"{")
    services.record_dead_letter(source="mqtt", reason="bad_topic", payload=b"{")
    seen = lambda name: set(DeadLetter.objects.restrict(users[name]).values_list("reason", "device_code"))  # noqa: E731
    assert seen("admin") >= {("bad_json", inside.code), ("bad_json", far.code), ("bad_topic", "")}
    assert seen("director") >= {("bad_json", inside.code)}
    assert ("bad_json", far.code) not in seen("director") and ("bad_topic", "") not in seen("director")
    assert seen("grid01") == set() and seen("auditor") == set()
    assert Device.objects.restrict(users["grid01"]).filter(pk=inside.pk).exists()


# --- MQTT messages ---------------------------------------------------------------------------


def topic(device):
    return f"banyan/{device.community.code}/devices/{device.code}/readings"


def test_ingest_messages_stores_good_and_dead_letters_bad(device_factory, now):
    level = device_factory()
    band = device_factory(kind="wearable_band")
    ts = (NOW - dt.timedelta(minutes=1)).isoformat()
    good = json.dumps({"metric": "water_level_cm", "value": 20, "ts": ts, "seq": 1}).encode()
    mixed = json.dumps(
        [
            {"metric": "water_level_cm", "value": "x", "ts": ts},
            {"metric": "water_level_cm", "value": 21, "ts": NOW.isoformat(), "seq": 3},
            {"metric": "heart_rate", "value": 70, "ts": ts},
        ]
    ).encode()
    messages = [
        (topic(level), good),
        (topic(level), mixed),
        (topic(level), b"{oops"),
        (f"banyan/{level.community.code}/devices/NOPE/readings", good),
        (f"banyan/OTHER/devices/{level.code}/readings", good),
        ("banyan/x/devices/y/status", good),
        (topic(band), json.dumps({"metric": "heart_rate", "value": 300, "ts": ts}).encode()),
    ]
    report = services.ingest_messages(messages)
    assert (report.messages, report.accepted, report.duplicates, report.gaps) == (7, 2, 0, 1)
    assert [(d, r.value) for d, r in report.new] == [(level.pk, 20.0), (level.pk, 21.0)]
    letters = list(DeadLetter.objects.order_by("id").values_list("reason", "item_index", "device_code"))
    assert letters == [
        ("bad_value", 0, level.code),
        ("unknown_metric", 2, level.code),
        ("bad_json", None, level.code),
        ("unknown_device", None, "NOPE"),
        ("unknown_device", None, level.code),
        ("bad_topic", None, ""),
        ("out_of_range", 0, band.code),
    ]
    assert report.dead_letters == 7
    band_letter = DeadLetter.objects.get(device=band)
    assert "300" not in band_letter.payload + band_letter.detail
    again = services.ingest_messages(messages[:2])
    assert (again.accepted, again.duplicates, again.new) == (0, 2, [])
