"""The device pages (``/devices/``): role × scope as the API's ``/api/v1/devices`` (every role sees the
devices ``services.devices_for`` gives it; administrators, street officers and directors register and
retire them, in their area), kind, place and state in words, times in the community's time zone, a
wearable's readings hidden from roles that may not see its wearer's care, and every change audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from banyan.audit.models import AuditEntry
from banyan.places.models import Building, Region
from banyan.places.words import unit_words
from banyan.sensing import services
from banyan.sensing.models import Device, Reading
from banyan.sensing.tests.conftest import NOW, make_device

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
CHANGERS = {"admin", "street01", "director"}


@pytest.fixture
def devices(users, outside):
    """A communal device in G01, one in resident01's home, one in G02, and one in each community outside."""
    grid01 = users["grid01"].region
    home = users["resident01"].resident.household.unit
    return {
        "g01": make_device(grid=grid01, kind="water_level"),
        "home": make_device(unit=home, kind="door_contact"),
        "g02": make_device(grid=users["grid02"].region, kind="smoke"),
        "sibling": make_device(unit=outside["sibling"]["unit"], kind="smoke"),
        "far": make_device(grid=outside["other_street"]["grid"], kind="water_level"),
    }


def detail(device) -> str:
    return reverse("sensing:device-detail", args=[device.pk])


def status_url(device) -> str:
    return reverse("sensing:device-status", args=[device.pk])


def device_audits(device) -> list[str]:
    entries = AuditEntry.objects.filter(subject_type="device", subject_id=str(device.pk)).order_by("id")
    return list(entries.values_list("action", flat=True))


# --- role × scope -----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ROLES)
def test_devices_by_role_and_scope_as_the_api(username, users, devices, signed_in, api):
    user = users[username]
    client = signed_in(username)
    listing = client.get(reverse("sensing:device-list"))
    assert listing.status_code == 200
    in_api = {item["id"] for item in api(username).get("devices?limit=500").data["items"]}
    for key, device in devices.items():
        visible = services.devices_for(user).filter(pk=device.pk).exists()
        assert visible == (device.pk in in_api), (username, key)
        assert client.get(detail(device)).status_code == (200 if visible else 404), (username, key)
        listed = client.get(reverse("sensing:device-list"), {"grid": device.grid_id}).content.decode()
        assert (detail(device) in listed) == visible, (username, key)
    new = client.get(reverse("sensing:device-new"))
    assert new.status_code == (200 if username in CHANGERS else 403)
    assert (reverse("sensing:device-new") in listing.content.decode()) == (username in CHANGERS)


@pytest.mark.parametrize(
    ("username", "seen", "unseen"),
    [
        ("admin", {"g01", "home", "g02", "sibling", "far"}, set()),
        ("street01", {"g01", "home", "g02", "sibling"}, {"far"}),
        ("director", {"g01", "home", "g02"}, {"sibling", "far"}),
        ("grid01", {"g01", "home"}, {"g02", "sibling", "far"}),
        ("property01", {"g01", "g02"}, {"home", "sibling", "far"}),
        ("resident01", {"g01", "home"}, {"g02", "sibling", "far"}),
        ("auditor", {"g01", "g02", "far"}, {"home", "sibling"}),
    ],
)
def test_who_sees_which_device(username, seen, unseen, devices, signed_in):
    client = signed_in(username)
    for key in seen:
        assert client.get(detail(devices[key])).status_code == 200, key
    for key in unseen:
        assert client.get(detail(devices[key])).status_code == 404, key


def test_anonymous_visitors_are_sent_to_sign_in(devices):
    client = Client()
    device = devices["g01"]
    for url in (reverse("sensing:device-list"), detail(device), reverse("sensing:device-new")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    client.post(status_url(device), {"status": "maintenance"})
    assert Device.objects.get(pk=device.pk).status == "online"


# --- in words ---------------------------------------------------------------------------------------


def test_kind_place_and_last_seen_in_words_and_the_community_time(users, devices, signed_in):
    device = devices["home"]
    Device.objects.filter(pk=device.pk).update(last_seen_at=NOW, battery_pct=80)
    unit = users["resident01"].resident.household.unit
    page = signed_in("director", "zh-hans").get(detail(device)).content.decode()
    with translation.override("zh-hans"):
        words = unit_words(unit)
    assert words.endswith("单元302") and words in page
    assert "门磁" in page, "the kind in words"
    assert "2026-11-29 16:00" in page, "08:00 UTC is 16:00 in the community"
    listing = signed_in("director", "zh-hans").get(reverse("sensing:device-list")).content.decode()
    assert words in listing and "门磁" in listing
    assert "电量不高于 20% 即为电量低" in listing and "最近 24 小时的读数条数" in page


def test_states_online_offline_low_battery_and_out_of_service(devices, signed_in, now):
    fresh, silent, low, retired = devices["g01"], devices["home"], devices["g02"], make_device(kind="smoke")
    Device.objects.filter(pk=fresh.pk).update(last_seen_at=NOW - dt.timedelta(minutes=1))
    Device.objects.filter(pk=silent.pk).update(last_seen_at=NOW - dt.timedelta(days=1))
    Device.objects.filter(pk=low.pk).update(last_seen_at=NOW, battery_pct=12)
    Device.objects.filter(pk=retired.pk).update(status="maintenance", last_seen_at=NOW)
    client = signed_in("director")
    assert "device-state--online" in client.get(detail(fresh)).content.decode()
    assert "device-state--offline" in client.get(detail(silent)).content.decode()
    assert "device-state--low-battery" in client.get(detail(low)).content.decode()
    assert "Out of service" in client.get(detail(retired)).content.decode()

    def listed(state: str) -> set[int]:
        page = client.get(reverse("sensing:device-list"), {"state": state})
        return {d.pk for d in (fresh, silent, low, retired) if detail(d) in page.content.decode()}

    assert listed("online") == {fresh.pk, low.pk}
    assert listed("offline") == {silent.pk}
    assert listed("low_battery") == {low.pk}
    assert listed("maintenance") == {retired.pk}


def test_the_list_filters_by_community_grid_building_and_kind(users, devices, signed_in):
    client = signed_in("admin")
    sibling = devices["sibling"]

    def listed(**query) -> set[str]:
        page = client.get(reverse("sensing:device-list"), query).content.decode()
        return {key for key, device in devices.items() if detail(device) in page}

    assert listed(community=sibling.community_id) == {"sibling"}
    assert listed(grid=users["grid01"].region.pk) == {"g01", "home"}
    assert listed(building=devices["home"].building_id) == {"home"}
    assert listed(kind="door_contact", grid=users["grid01"].region.pk) == {"home"}
    bad = client.get(reverse("sensing:device-list"), {"community": "x", "kind": "y" * 500, "page": "-1"})
    assert bad.status_code == 200 and detail(devices["far"]) in bad.content.decode()


# --- readings: health data only for those who may see the wearer's care ------------------------------


def test_a_wearables_readings_are_hidden_from_roles_that_may_not_see_care(users, signed_in, now):
    band = make_device(kind="wearable_band", grid=users["grid01"].region)
    Reading.objects.create(device=band, metric="heart_rate", value=131, ts=NOW, received_at=NOW)
    Reading.objects.create(
        device=band, metric="heart_rate", value=88, ts=NOW - dt.timedelta(hours=2), received_at=NOW
    )
    admin = signed_in("admin").get(detail(band)).content.decode()
    assert "131 bpm" in admin and "88 bpm to 131 bpm" in admin
    auditor = signed_in("auditor").get(detail(band))
    assert auditor.status_code == 200
    page = auditor.content.decode()
    assert "131" not in page and "88 bpm" not in page
    assert 'data-hidden="readings"' in page and "hidden from your role" in page


def test_readings_of_a_communal_device_for_every_role_that_sees_it(users, devices, signed_in, now):
    device = devices["g01"]
    Reading.objects.create(device=device, metric="water_level_cm", value=42, ts=NOW, received_at=NOW)
    page = signed_in("property01").get(detail(device)).content.decode()
    assert "42 cm" in page and 'data-hidden="readings"' not in page


# --- registering and retiring -------------------------------------------------------------------------


def register(client, **fields):
    body = {"code": "T-NEW-SMOKE-1", "kind": "smoke", "expected_interval_s": "", **fields}
    return client.post(reverse("sensing:device-new"), body)


def test_registering_a_device_in_a_unit_by_its_number(users, signed_in):
    unit = users["resident01"].resident.household.unit
    response = register(signed_in("director"), building=unit.building_id, unit=unit.number)
    device = Device.objects.get(code="T-NEW-SMOKE-1")
    assert response.status_code == 302 and response["Location"] == detail(device)
    assert device.unit == unit and device.grid == unit.building.grid and device.expected_interval_s == 3600
    assert device_audits(device) == ["device.create"]


def test_registering_refuses_bad_input_at_the_field(users, outside, devices, signed_in):
    client = signed_in("director")
    building = users["resident01"].resident.household.unit.building
    count = Device.objects.count()
    cases = [
        ({"building": building.pk, "unit": "9-99-9999"}, "unit", "has no unit 9-99-9999"),
        ({"unit": "1-01-101"}, "unit", "Choose the building"),
        ({"building": outside["sibling"]["building"].pk}, "building", "not one of the available choices"),
        ({"code": devices["g01"].code, "building": building.pk}, "code", "already exists"),
        ({"code": "bad/code", "building": building.pk}, "code", "one level of an MQTT topic"),
        ({}, "grid", "Say where the device is"),
        ({"kind": "toaster", "building": building.pk}, "kind", "not one of the available choices"),
        (
            {"building": building.pk, "expected_interval_s": "0"},
            "expected_interval_s",
            "greater than or equal",
        ),
    ]
    for fields, field, message in cases:
        response = register(client, **fields)
        assert response.status_code == 200, fields
        assert message in " ".join(response.context["form"].errors.get(field, [])), (
            fields,
            response.context["form"].errors,
        )
    assert Device.objects.count() == count


@pytest.mark.parametrize("username", ROLES)
def test_taking_a_device_out_of_service_by_role_and_scope(username, devices, signed_in):
    client = signed_in(username)
    for key in ("g01", "sibling"):
        device = devices[key]
        response = client.post(status_url(device), {"status": "maintenance"})
        stored = Device.objects.get(pk=device.pk)
        allowed = username in CHANGERS and (key == "g01" or username in ("admin", "street01"))
        if allowed:
            assert response.status_code == 302 and response["Location"] == detail(device), (username, key)
            assert stored.status == "maintenance" and device_audits(device) == ["device.update"]
            assert client.post(status_url(device), {"status": "online"}).status_code == 302
            assert Device.objects.get(pk=device.pk).status == "online"
        else:
            assert response.status_code == (403 if username not in CHANGERS else 404), (username, key)
            assert stored.status == "online" and device_audits(device) == []


def test_a_bad_status_is_refused(devices, signed_in):
    device = devices["g01"]
    response = signed_in("director").post(status_url(device), {"status": "exploded"})
    assert response.status_code == 200 and "out of service or back" in response.content.decode()
    assert Device.objects.get(pk=device.pk).status == "online" and device_audits(device) == []


def test_the_register_form_offers_only_places_in_reach(users, outside, signed_in):
    page = signed_in("director", "zh-hans").get(reverse("sensing:device-new")).content.decode()
    own = Building.objects.filter(grid__parent=users["director"].region).order_by("name").first()
    assert f'<option value="{own.pk}">' in page
    assert outside["sibling"]["building"].name not in page and "T-SIB" not in page
    grid = Region.objects.get(pk=users["grid01"].region.pk)
    assert grid.name_zh in page
