"""Consent enforced at ingest: a withdrawn consent drops (and counts) the readings of the devices
serving that resident; granting it again resumes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import translation

from banyan.core import clock
from banyan.people.choices import ConsentGivenBy, ConsentScope
from banyan.people.models import Consent
from banyan.sensing import consent
from banyan.sensing.choices import DeviceStatus, DropReason
from banyan.sensing.ingest.writer import BatchWriter
from banyan.sensing.models import DroppedReadings, Reading
from banyan.sensing.services import ingest_http_batch, ingest_messages
from banyan.sensing.tests.conftest import NOW, make_device


@pytest.fixture
def served(db, now):
    """A resident living alone with care-monitoring and health-data consent, and their devices."""
    from banyan.people.models import Resident

    resident = Resident.objects.filter(household__isnull=False).select_related("household__unit").first()
    unit = resident.household.unit
    resident.consents.all().delete()
    for scope in (ConsentScope.CARE_MONITORING, ConsentScope.HEALTH_DATA):
        Consent.objects.create(resident=resident, scope=scope, given_by=ConsentGivenBy.SELF, granted_at=NOW)
    kit = {
        kind: make_device(unit=unit, kind=kind, resident=resident, last_seen_at=NOW - dt.timedelta(minutes=5))
        for kind in ("door_contact", "wearable_band", "sos_button")
    }
    return resident, kit


def withdraw(resident, scope):
    Consent.objects.filter(resident=resident, scope=scope, withdrawn_at__isnull=True).update(
        withdrawn_at=clock.now()
    )


def grant(resident, scope):
    Consent.objects.create(
        resident=resident, scope=scope, given_by=ConsentGivenBy.SELF, granted_at=clock.now()
    )


def message(device, minutes=0, **values):
    ts = (NOW - dt.timedelta(minutes=minutes)).isoformat()
    payload = [{"metric": metric, "value": value, "ts": ts} for metric, value in values.items()]
    return (f"banyan/{device.community.code}/devices/{device.code}/readings", json.dumps(payload).encode())


def stored(device) -> dict[str, int]:
    return {
        metric: Reading.objects.filter(device=device, metric=metric).count()
        for metric in device.kind_spec.metric_names
    }


def test_readings_are_stored_while_consent_is_in_force(served):
    _resident, kit = served
    door = kit["door_contact"]
    report = ingest_messages([message(door, door_open=1, battery_pct=80)])
    assert (report.accepted, report.dropped) == (2, 0)


def test_withdrawn_care_monitoring_drops_every_reading_counted_and_marks_the_device(served):
    resident, kit = served
    door, band = kit["door_contact"], kit["wearable_band"]
    withdraw(resident, ConsentScope.CARE_MONITORING)
    gate = consent.ConsentGate()
    assert gate.refresh(force=True)
    report = ingest_messages(
        [message(door, door_open=1, battery_pct=80), message(band, heart_rate=72, battery_pct=50)], gate=gate
    )
    assert (report.accepted, report.dropped) == (0, 4)
    assert stored(door) == {"door_open": 0, "battery_pct": 0}
    rows = DroppedReadings.objects.filter(device__in=[door, band]).order_by("device_id")
    assert [(r.device_id, r.reason, r.count) for r in rows] == [
        (door.pk, DropReason.CONSENT_WITHDRAWN, 2),
        (band.pk, DropReason.CONSENT_WITHDRAWN, 2),
    ]
    door.refresh_from_db()
    assert door.status == DeviceStatus.CONSENT_WITHDRAWN
    with translation.override("en"):
        assert door.get_status_display() == "Consent withdrawn"  # not "Offline"
    assert door.last_seen_at == NOW - dt.timedelta(minutes=5)  # nothing of the dropped readings kept
    ingest_messages([message(door, minutes=1, door_open=0)], gate=gate)
    assert consent.readings_dropped(reason=DropReason.CONSENT_WITHDRAWN, devices=[door]) == 3


def test_the_sos_button_of_that_resident_still_calls_for_help(served):
    resident, kit = served
    withdraw(resident, ConsentScope.CARE_MONITORING)
    gate = consent.ConsentGate()
    gate.refresh(force=True)
    report = ingest_messages([message(kit["sos_button"], sos=1)], gate=gate)
    assert (report.accepted, report.dropped) == (1, 0)


def test_withdrawn_health_data_drops_health_metrics_only(served):
    resident, kit = served
    band = kit["wearable_band"]
    withdraw(resident, ConsentScope.HEALTH_DATA)
    gate = consent.ConsentGate()
    gate.refresh(force=True)
    report = ingest_messages([message(band, heart_rate=72, spo2=97, fall=0, battery_pct=50)], gate=gate)
    assert (report.accepted, report.dropped) == (1, 3)
    assert stored(band) == {"heart_rate": 0, "spo2": 0, "fall": 0, "battery_pct": 1}
    assert DroppedReadings.objects.get(device=band).reason == DropReason.HEALTH_CONSENT_WITHDRAWN
    band.refresh_from_db()
    assert band.status == DeviceStatus.ONLINE  # still reporting its battery: not "consent withdrawn"
    door_report = ingest_messages([message(kit["door_contact"], door_open=1)], gate=gate)
    assert door_report.accepted == 1


def test_granting_again_resumes_and_the_device_comes_back(served):
    resident, kit = served
    door = kit["door_contact"]
    withdraw(resident, ConsentScope.CARE_MONITORING)
    gate = consent.ConsentGate()
    gate.refresh(force=True)
    grant(resident, ConsentScope.CARE_MONITORING)
    assert gate.refresh(force=True)
    door.refresh_from_db()
    assert door.status == DeviceStatus.OFFLINE  # until it reports again
    report = ingest_messages([message(door, door_open=1)], gate=gate)
    assert (report.accepted, report.dropped) == (1, 0)
    door.refresh_from_db()
    assert door.status == DeviceStatus.ONLINE


def test_a_resident_who_never_recorded_consent_is_not_affected(served):
    resident, kit = served
    resident.consents.all().delete()
    report = ingest_messages([message(kit["door_contact"], door_open=1)])
    assert (report.accepted, report.dropped) == (1, 0)


def test_without_a_gate_the_batch_looks_consents_up_itself(served):
    resident, kit = served
    withdraw(resident, ConsentScope.CARE_MONITORING)
    report = ingest_messages([message(kit["door_contact"], door_open=1)])
    assert (report.accepted, report.dropped) == (0, 1)


def test_the_http_batch_drops_them_too(served, users):
    resident, kit = served
    door = kit["door_contact"]
    withdraw(resident, ConsentScope.CARE_MONITORING)
    admin = users["admin"]
    items = [{"device": door.code, "metric": "door_open", "value": 1, "ts": NOW.isoformat()}]
    report = ingest_http_batch(actor=admin, items=items)
    assert (report.accepted, report.dropped, report.rejected) == (0, 1, [])
    assert consent.readings_dropped(devices=[door]) == 1


def test_the_gate_refreshes_at_most_every_refresh_s(served, django_assert_num_queries):
    gate = consent.ConsentGate(refresh_s=3600)
    gate.refresh()
    with django_assert_num_queries(0):
        assert gate.refresh() is False


def test_the_writer_drops_within_a_refresh_of_the_withdrawal(served):
    resident, kit = served
    door = kit["door_contact"]
    writer = BatchWriter()
    assert writer.write([message(door, minutes=3, door_open=1)]).accepted == 1
    withdraw(resident, ConsentScope.CARE_MONITORING)
    writer.consent._next = 0.0  # a refresh interval passed
    result = writer.write([message(door, minutes=2, door_open=0)])
    assert (result.accepted, result.dropped) == (0, 1)
    grant(resident, ConsentScope.CARE_MONITORING)
    writer.consent._next = 0.0
    assert writer.write([message(door, minutes=1, door_open=1)]).accepted == 1


def test_what_slipped_in_before_the_gate_knew_is_deleted_and_counted(served, now):
    resident, kit = served
    door, band = kit["door_contact"], kit["wearable_band"]
    gate = consent.ConsentGate()
    gate.refresh(force=True)
    now.advance(dt.timedelta(minutes=10))
    withdraw(resident, ConsentScope.CARE_MONITORING)  # at NOW + 10 min
    now.advance(dt.timedelta(minutes=2))
    # Taken before the withdrawal (kept) and after it (stored in the gate's second of not knowing).
    ingest_messages(
        [message(door, minutes=-5, door_open=1), message(door, minutes=-11, door_open=0)], gate=gate
    )
    assert Reading.objects.filter(device=door).count() == 2
    assert gate.refresh(force=True)
    assert list(Reading.objects.filter(device=door).values_list("ts", flat=True)) == [
        NOW + dt.timedelta(minutes=5)
    ]
    assert consent.readings_dropped(devices=[door]) == 1
    assert band.pk in gate.blocked and {door.code, band.code} <= gate.blocked_codes
    assert kit["sos_button"].code not in gate.blocked_codes


def test_the_device_pages_say_consent_withdrawn_not_offline_in_both_languages(served, signed_in):
    from django.urls import reverse

    resident, kit = served
    door = kit["door_contact"]
    withdraw(resident, ConsentScope.CARE_MONITORING)
    consent.ConsentGate().refresh(force=True)
    detail = reverse("sensing:device-detail", args=[door.pk])
    english = signed_in("director").get(detail).content.decode()
    assert "device-state--no_consent" in english and "Consent withdrawn" in english
    assert "device-state--offline" not in english
    assert "已撤回同意" in signed_in("director", "zh-hans").get(detail).content.decode()
    listing = (
        signed_in("director").get(reverse("sensing:device-list"), {"state": "no_consent"}).content.decode()
    )
    assert detail in listing and reverse("sensing:device-detail", args=[kit["sos_button"].pk]) not in listing
    offline = signed_in("director").get(reverse("sensing:device-list"), {"state": "offline"}).content.decode()
    assert detail not in offline


def test_the_api_lists_devices_by_consent_withdrawn_and_a_hand_change_is_undone(served, api):
    from banyan.sensing.models import Device

    resident, kit = served
    door = kit["door_contact"]
    withdraw(resident, ConsentScope.CARE_MONITORING)
    gate = consent.ConsentGate()
    gate.refresh(force=True)
    listed = api("director").get("/api/v1/devices?status=no_consent&limit=500").json()["items"]
    assert door.code in {item["code"] for item in listed}
    assert kit["sos_button"].code not in {item["code"] for item in listed}
    refused = api("director").patch(f"/api/v1/devices/{door.pk}", {"status": "no_consent"})
    assert refused.status_code == 422  # set by ingest, never by hand
    Device.objects.filter(pk=door.pk).update(status=DeviceStatus.ONLINE)
    assert gate.resync() == 1
    door.refresh_from_db()
    assert door.status == DeviceStatus.CONSENT_WITHDRAWN
