"""A home's devices (issue 10, finding 6): door contacts, SOS buttons, water meters and wearables of a
household tell when people are in and mark vulnerable households. Only the household itself and the
roles that may see care and presence (admin, street officer, director, grid worker in their region;
a volunteer for the people they care for) see them; communal devices stay scoped by region."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.people.models import Household, Resident
from banyan.places.models import Region, Unit
from banyan.sensing.models import Device, Reading
from banyan.sensing.tests.conftest import NOW, make_device


def _readings(device, metric="door_open", count=3):
    for minutes in range(count):
        Reading.objects.create(
            device=device,
            metric=metric,
            value=minutes % 2,
            ts=NOW - dt.timedelta(minutes=minutes),
            received_at=NOW,
        )


@pytest.fixture
def homes(db, users):
    """resident01's own door contact, a neighbour's in the same grid (and building), a home device in
    another grid, a stairwell smoke detector (communal), and wearables of resident01 and of another
    member of their household."""
    me = users["resident01"].resident
    home = me.household
    neighbour_household = (
        Household.objects.filter(grid=home.grid).exclude(unit=home.unit).order_by("id").first()
    )
    neighbour = neighbour_household.members.order_by("id").first()
    own = make_device(unit=home.unit, kind="door_contact", resident=me)
    theirs = make_device(unit=neighbour_household.unit, kind="door_contact", resident=neighbour)
    their_meter = make_device(unit=neighbour_household.unit, kind="water_meter")  # in a flat, no one linked
    grid2 = Region.objects.filter(kind="grid").exclude(pk=home.grid_id).exclude(code__startswith="T-")
    far_unit = Unit.objects.filter(building__grid=grid2.order_by("code").first()).order_by("id").first()
    far = make_device(unit=far_unit, kind="sos_button")
    stairwell = make_device(building=home.unit.building, kind="smoke")
    own_band = make_device(unit=home.unit, kind="wearable_band", resident=me)
    other_member = home.members.exclude(pk=me.pk).order_by("id").first()
    family_band = make_device(unit=home.unit, kind="wearable_band", resident=other_member)
    for device in (own, theirs, far):
        _readings(device, "door_open" if device.kind == "door_contact" else "sos")
    _readings(their_meter, "flow_m3h")
    _readings(stairwell, "smoke_obscuration")
    for band in (own_band, family_band):
        _readings(band, "heart_rate")
    return {
        "own": own,
        "theirs": theirs,
        "their_meter": their_meter,
        "far": far,
        "stairwell": stairwell,
        "own_band": own_band,
        "family_band": family_band,
    }


def _sees(client, device) -> bool:
    """Whether the device answers 200 on detail and readings, and is listed; 404 and absent otherwise
    (never one without the other)."""
    detail = client.get(f"devices/{device.pk}").status_code
    readings = client.get(f"devices/{device.pk}/readings").status_code
    listed = client.get(f"devices?code={device.code}").data["count"]
    by_unit = client.get(f"devices?unit={device.unit_id}&limit=500").data if device.unit_id else None
    if detail == 404:
        assert readings == 404 and listed == 0, device.code
        assert by_unit is None or device.pk not in [i["id"] for i in by_unit["items"]]
        return False
    assert detail == 200 and listed == 1, device.code
    assert readings in (200, 403), device.code  # 403: a wearable's readings for whom may not see its care
    return True


# role → which of the fixture's devices it sees
EXPECTED = {
    "resident01": {"own", "stairwell", "own_band", "family_band"},
    "property01": {"stairwell"},
    "auditor": {"stairwell"},
    "grid01": {"own", "theirs", "their_meter", "stairwell", "own_band", "family_band"},
    "director": {"own", "theirs", "their_meter", "far", "stairwell", "own_band", "family_band"},
    "street01": {"own", "theirs", "their_meter", "far", "stairwell", "own_band", "family_band"},
    "admin": {"own", "theirs", "their_meter", "far", "stairwell", "own_band", "family_band"},
}


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_a_homes_devices_only_for_the_household_and_care_roles(username, homes, api):
    client = api(username)
    seen = {name for name, device in homes.items() if _sees(client, device)}
    assert seen == EXPECTED[username]


def test_the_resident_reads_their_own_door_but_never_the_neighbours(homes, api):
    resident = api("resident01")
    own = resident.get(f"devices/{homes['own'].pk}/readings")
    assert own.status_code == 200 and own.data["count"] == 3
    theirs = resident.get(f"devices/{homes['theirs'].pk}/readings")
    assert theirs.status_code == 404 and theirs.data["code"] == "not_found"
    listed = resident.get("devices?kind=door_contact&limit=500").data
    assert [i["id"] for i in listed["items"]] == [homes["own"].pk]
    # A wearable's readings are its wearer's health data: their own, not a family member's.
    assert resident.get(f"devices/{homes['own_band'].pk}/readings").status_code == 200
    assert resident.get(f"devices/{homes['family_band'].pk}/readings").status_code == 403


def test_the_seeded_kits_of_other_households_are_hidden_from_residents_and_property_staff(homes, api, users):
    """The door + SOS + water-meter kits of elderly people living alone mark vulnerable households."""
    home = users["resident01"].resident.household
    kits = Device.objects.filter(kind__in=["door_contact", "sos_button", "water_meter"], grid=home.grid)
    kits = kits.exclude(unit=home.unit).exclude(code__startswith="T-")
    assert kits.exists()
    for username in ("resident01", "property01", "auditor"):
        client = api(username)
        for kind in ("door_contact", "sos_button", "water_meter"):
            codes = {i["code"] for i in client.get(f"devices?kind={kind}&limit=500").data["items"]}
            assert not codes & set(kits.values_list("code", flat=True)), (username, kind)


def test_a_volunteer_sees_the_homes_of_the_people_they_care_for_only(homes, api, users):
    cared = Resident.objects.filter(care_profiles__carers__user=users["volunteer01"]).distinct()
    kit = Device.objects.filter(resident__in=cared, kind="door_contact").order_by("code").first()
    assert kit is not None
    _readings(kit)
    stranger = (
        Resident.objects.exclude(household__members__in=cared).filter(household__grid=kit.grid).order_by("id")
    ).first()
    strangers_kit = make_device(unit=stranger.household.unit, kind="door_contact", resident=stranger)
    client = api("volunteer01")
    assert client.get(f"devices/{kit.pk}/readings").status_code == 200
    assert client.get(f"devices/{strangers_kit.pk}/readings").status_code == 404  # not someone they care for
    assert client.get(f"devices?code={strangers_kit.code}").data["count"] == 0
    assert client.get(f"devices/{homes['stairwell'].pk}").status_code == 200


def test_the_cockpits_device_panel_follows_the_same_scope(homes, api):
    assert api("director").get(f"cockpit/devices/{homes['theirs'].pk}").status_code == 200
    auditor = api("auditor")  # may open the cockpit, may not see care or presence
    assert auditor.get(f"cockpit/devices/{homes['theirs'].pk}").status_code == 404
    assert auditor.get(f"cockpit/devices/{homes['stairwell'].pk}").status_code == 200
