"""The seeded device fleet: who gets which device, unique codes, determinism, what was written."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from banyan.people.choices import CareKind
from banyan.sensing.kinds import KINDS
from banyan.sensing.models import Device
from banyan.sim.seed import plan_community
from banyan.sim.seed.devices import plan_devices

TODAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="module")
def plan():
    return plan_community(residents=3000, seed=2, today=TODAY)


@pytest.fixture(scope="module")
def fleet(plan):
    return plan_devices(plan)


def test_the_fleet_is_deterministic_and_codes_unique(plan, fleet):
    assert plan_devices(plan) == fleet
    codes = [d.code for d in fleet]
    assert len(set(codes)) == len(codes)
    assert all(d.kind in KINDS for d in fleet)


def test_every_elderly_resident_living_alone_has_a_meter_a_door_contact_and_an_sos_button(plan, fleet):
    alone = {p.resident_key for p in plan.care_profiles if p.kind == CareKind.ELDERLY_ALONE}
    assert alone
    for kind in ("water_meter", "door_contact", "sos_button"):
        assert {d.resident_key for d in fleet if d.kind == kind} == alone, kind
    meters = [d for d in fleet if d.kind == "water_meter"]
    assert all(d.code.startswith("WM-") and d.unit_number for d in meters)


def test_the_fleet_has_every_kind_it_should(plan, fleet):
    kinds = Counter(d.kind for d in fleet)
    over_70 = sum(1 for r in plan.residents if (TODAY - r.birth_date).days >= 70 * 365.25)
    assert abs(kinds["wearable_band"] - 0.15 * over_70) <= 2
    assert kinds["smoke"] >= len(plan.buildings)
    assert kinds["combustible_gas"] > 0 and kinds["water_level"] >= 2
    assert kinds["crowd_counter"] == sum(1 for f in plan.facilities if f.kind in ("plaza", "sports_field"))
    assert kinds["air_quality"] == kinds["temperature"] == 2
    for device in fleet:
        if device.kind in ("crowd_counter", "camera"):
            assert device.zone is not None and device.facility_code


def test_the_seeded_database_holds_the_fleet(db):
    devices = Device.objects.select_related("community", "grid", "resident")
    assert devices.exists()
    assert all(d.community.kind == "community" and d.grid.parent_id == d.community_id for d in devices)
    from banyan.people.models import CareProfile

    alone = set(CareProfile.objects.filter(kind=CareKind.ELDERLY_ALONE).values_list("resident_id", flat=True))
    assert set(devices.filter(kind="water_meter").values_list("resident_id", flat=True)) == alone
    for device in devices.filter(unit__isnull=False, resident__isnull=False):
        assert device.resident.household.unit_id == device.unit_id
