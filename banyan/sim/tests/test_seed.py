"""The synthetic community: the pure planner (shares, validity, geometry) and the writer."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal

import networkx as nx
import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from shapely.geometry import shape

from banyan.core import clock, vault
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput
from banyan.people.choices import CareKind, CarerKind, ConsentGivenBy, ConsentScope, Relation, ResidenceStatus
from banyan.people.validators import birth_date_from_id, id_number_problem, phone_problem, sex_from_id
from banyan.places.choices import BuildingKind, FacilityKind, RegionKind
from banyan.places.geo import validate_polygon
from banyan.sim.seed import plan_community
from banyan.sim.services import database_is_empty, seed_community

TODAY = dt.date(2026, 11, 29)
HEALTH_KINDS = (CareKind.CHRONIC_ILLNESS, CareKind.DISABILITY, CareKind.DEMENTIA, CareKind.PREGNANT)


def age_on(birth: dt.date, day: dt.date = TODAY) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@pytest.fixture(scope="module")
def big():
    return plan_community(residents=10_000, seed=1, today=TODAY)


@pytest.fixture(scope="module")
def small():
    return plan_community(residents=400, seed=3, today=TODAY)


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_the_same_plan(small):
    again = plan_community(residents=400, seed=3, today=TODAY)
    assert again == small
    assert [r.name for r in again.residents] == [r.name for r in small.residents]


def test_another_seed_gives_other_people(small):
    other = plan_community(residents=400, seed=4, today=TODAY)
    assert len(other.residents) == 400
    names = [r.name for r in small.residents]
    other_names = [r.name for r in other.residents]
    assert sum(a != b for a, b in zip(names, other_names, strict=True)) > 300
    assert not {r.id_number for r in small.residents} & {r.id_number for r in other.residents}


def test_the_plan_has_exactly_the_residents_asked_for(small, big):
    assert len(small.residents) == 400
    assert len(big.residents) == 10_000
    assert [r.key for r in big.residents] == list(range(10_000))


# --- people ------------------------------------------------------------------------------


def test_every_id_number_is_valid_unique_and_matches_birth_and_sex(big):
    ids = [r.id_number for r in big.residents]
    assert len(set(ids)) == len(ids)
    for resident in big.residents:
        assert id_number_problem(resident.id_number, today=TODAY) is None, resident
        assert birth_date_from_id(resident.id_number) == resident.birth_date
        assert sex_from_id(resident.id_number) == resident.sex


def test_id_numbers_come_mostly_from_hangzhou_and_inflow_from_elsewhere(big):
    moved_in = ResidenceStatus.LIVING_HERE_REGISTERED_ELSEWHERE
    registered = [r for r in big.residents if r.residence_status != moved_in]
    inflow = [r for r in big.residents if r.residence_status == moved_in]
    assert sum(r.id_number.startswith("3301") for r in registered) / len(registered) > 0.9
    assert sum(not r.id_number.startswith("33") for r in inflow) / len(inflow) > 0.5
    assert all(r.registered_address.startswith("浙江省杭州市上城区湖滨街道") for r in registered)


def test_age_structure_follows_the_2020_census(big):
    ages = [age_on(r.birth_date) for r in big.residents]
    n = len(ages)
    assert 0.17 <= sum(a <= 14 for a in ages) / n <= 0.19
    assert 0.62 <= sum(15 <= a <= 59 for a in ages) / n <= 0.645
    assert 0.18 <= sum(a >= 60 for a in ages) / n <= 0.195
    assert 0.13 <= sum(a >= 65 for a in ages) / n <= 0.14
    assert 0.50 <= sum(r.sex == "M" for r in big.residents) / n <= 0.52


def test_about_eight_percent_of_over_sixties_live_alone(big):
    elders = [r for r in big.residents if age_on(r.birth_date) >= 60]
    share = sum(r.is_living_alone for r in elders) / len(elders)
    assert 0.07 <= share <= 0.09
    sizes = Counter(r.household_code for r in big.residents)
    for resident in big.residents:
        assert resident.is_living_alone == (sizes[resident.household_code] == 1)
    alone_elders = {r.key for r in elders if r.is_living_alone}
    profiled = {p.resident_key for p in big.care_profiles if p.kind == CareKind.ELDERLY_ALONE}
    assert profiled == alone_elders


def test_households_are_realistic(big):
    members = defaultdict(list)
    for resident in big.residents:
        members[resident.household_code].append(resident)
    assert len(members) == len(big.households)
    assert 2.4 <= len(big.residents) / len(big.households) <= 2.9
    for people in members.values():
        assert [r.relation for r in people].count(Relation.HEAD) == 1
        assert people[0].relation == Relation.HEAD
        assert [r.relation for r in people].count(Relation.SPOUSE) <= 1
    # Children mostly carry the head's (or the head's spouse's) surname.
    descendants = (Relation.CHILD, Relation.GRANDCHILD)
    children = [(r, members[r.household_code]) for r in big.residents if r.relation in descendants]
    shared = sum(any(p.surname == c.surname for p in people if p is not c) for c, people in children)
    assert shared / len(children) > 0.85
    # Minors never head a household, and nobody under 12 has a phone.
    for resident in big.residents:
        age = age_on(resident.birth_date)
        if resident.relation == Relation.HEAD:
            assert age >= 18
        if age < 12:
            assert resident.phone == ""
    composition = Counter(len(people) for people in members.values())
    assert composition[1] and composition[2] and composition[3] and composition[4] and composition[5]
    assert Counter(r.relation for r in big.residents)[Relation.PARENT] > 100


def test_residence_status_and_tags(big):
    status = Counter(r.residence_status for r in big.residents)
    n = len(big.residents)
    assert 0.13 <= status[ResidenceStatus.LIVING_HERE_REGISTERED_ELSEWHERE] / n <= 0.17
    assert 0 < status[ResidenceStatus.REGISTERED_HERE_LIVING_ELSEWHERE] / n <= 0.03
    tags = Counter(t for r in big.residents for t in r.tags)
    for tag in ("owner", "tenant", "party_member", "veteran", "volunteer", "building_leader"):
        assert tags[tag] > 0, tag
    leaders = Counter(
        household.building_code
        for r in big.residents
        if "building_leader" in r.tags
        for household in [next(h for h in big.households if h.code == r.household_code)]
    )
    assert set(leaders.values()) == {1}


def test_phones_are_valid_and_unique(big):
    staff = [a.phone for a in big.accounts if a.resident_key is None]  # resident01 has the resident's phone
    phones = [r.phone for r in big.residents if r.phone] + staff
    assert len(phones) == len(set(phones))
    assert all(phone_problem(p) is None for p in phones)
    assert len(phones) > 0.75 * len(big.residents)


# --- places ------------------------------------------------------------------------------


def test_region_tree_nests_and_every_boundary_is_a_valid_polygon(big):
    by_code = {r.code: r for r in big.regions}
    assert [r.kind for r in big.regions[:4]] == [
        RegionKind.CITY,
        RegionKind.DISTRICT,
        RegionKind.STREET,
        RegionKind.COMMUNITY,
    ]
    assert (by_code["330100"].name_zh, by_code["330102"].name_en) == ("杭州市", "Shangcheng District")
    for region in big.regions:
        validate_polygon(region.boundary, field="boundary")
        if region.parent_code:
            parent = shape(by_code[region.parent_code].boundary)
            assert parent.buffer(1e-9).contains(shape(region.boundary)), region.code
    community = shape(big.community.boundary)
    assert 30.15 < community.centroid.y < 30.3 and 120.1 < community.centroid.x < 120.3
    grids = [shape(g.boundary) for g in big.grids]
    assert abs(sum(g.area for g in grids) - community.area) / community.area < 1e-6


def test_grid_count_and_codes(small, big):
    assert [g.code for g in small.grids] == ["G01", "G02", "G03", "G04", "G05", "G06"]
    assert len(big.grids) > 6
    per_grid = Counter(h.grid_code for h in big.households)
    assert set(per_grid) == {g.code for g in big.grids}
    assert all(250 <= n <= 400 for n in per_grid.values()), per_grid


def test_buildings_and_units(big):
    grids = {g.code: shape(g.boundary) for g in big.grids}
    kinds = Counter(b.kind for b in big.buildings)
    assert kinds[BuildingKind.TOWER] and kinds[BuildingKind.OLDER_BLOCK]
    units_of = defaultdict(list)
    for unit in big.units:
        units_of[unit.building_code].append(unit)
    for building in big.buildings:
        footprint = shape(building.footprint)
        validate_polygon(building.footprint, field="footprint")
        assert grids[building.grid_code].contains(footprint)
        if building.kind == BuildingKind.TOWER:
            assert 18 <= building.floors <= 33
        else:
            assert building.floors == 6 and 2 <= building.entrances <= 4
            assert 1985 <= building.built_year <= 2000
        numbers = [u.number for u in units_of[building.code]]
        assert len(numbers) == len(set(numbers))
        for unit in units_of[building.code]:
            entrance, floor, room = unit.number.split("-")
            assert (int(entrance), int(floor)) == (unit.entrance, unit.floor)
            assert room.startswith(str(unit.floor)) and unit.floor <= building.floors
            assert Decimal("44") <= unit.exclusive_area_m2 <= Decimal("141")
            assert unit.exclusive_area_m2 == unit.exclusive_area_m2.quantize(Decimal("0.01"))
    per_unit = Counter((h.building_code, h.unit_number) for h in big.households)
    assert max(per_unit.values()) == 2
    assert 0.03 <= sum(n == 2 for n in per_unit.values()) / len(per_unit) <= 0.07
    assert len(per_unit) < 0.95 * len(big.units)  # some units stand empty


def test_facilities_cover_every_kind(big):
    kinds = {f.kind for f in big.facilities}
    # The kinds that come only from imports of real places (OpenStreetMap's schools, pharmacies …).
    imported_only = {"school", "elderly_care", "hospital", "pharmacy", "convenience_store", "fire_station"}
    imported_only |= {"police", "toilets", "defibrillator"}
    assert kinds == set(FacilityKind.values) - imported_only
    community = shape(big.community.boundary)
    for facility in big.facilities:
        assert facility.capacity > 0
        if facility.kind in (FacilityKind.PLAZA, FacilityKind.SPORTS_FIELD):
            validate_polygon(facility.area, field="area")
            assert community.contains(shape(facility.area))


def test_walking_graph_is_connected_and_reaches_every_building_and_facility(big):
    graph = nx.Graph()
    graph.add_nodes_from(n.code for n in big.path_nodes)
    graph.add_edges_from((e.source, e.target) for e in big.path_edges)
    assert nx.is_connected(graph)
    step_free = nx.Graph()
    step_free.add_nodes_from(n.code for n in big.path_nodes)
    step_free.add_edges_from((e.source, e.target) for e in big.path_edges if e.step_free)
    assert nx.is_connected(step_free)
    assert any(not e.step_free for e in big.path_edges)
    assert Counter(n.building_code for n in big.path_nodes if n.building_code) == {
        b.code: 1 for b in big.buildings
    }
    assert Counter(n.facility_code for n in big.path_nodes if n.facility_code) == {
        f.code: 1 for f in big.facilities
    }
    assert all(e.length_m > 0 for e in big.path_edges)
    assert len({(e.source, e.target) for e in big.path_edges}) == len(big.path_edges)


# --- care, vehicles, accounts ----------------------------------------------------------------


def test_care_profiles_shares_carers_and_consents(big):
    kinds = Counter(p.kind for p in big.care_profiles)
    n = len(big.residents)
    elders = sum(age_on(r.birth_date) >= 60 for r in big.residents)
    assert 0.18 <= kinds[CareKind.CHRONIC_ILLNESS] / elders <= 0.22
    assert 0.02 <= kinds[CareKind.DISABILITY] / n <= 0.03
    assert kinds[CareKind.DEMENTIA] and kinds[CareKind.PREGNANT] and kinds[CareKind.MINOR_UNDER_14]
    assert len({(p.resident_key, p.kind) for p in big.care_profiles}) == len(big.care_profiles)
    residents = big.residents
    for profile in big.care_profiles:
        assert 1 <= len(profile.carers) <= 2
        assert [c.is_primary for c in profile.carers].count(True) == 1
        assert profile.since <= TODAY
        if profile.kind == CareKind.DEMENTIA:
            assert age_on(residents[profile.resident_key].birth_date) >= 80
        if profile.kind == CareKind.PREGNANT:
            assert residents[profile.resident_key].sex == "F"
        for carer in profile.carers:
            assert carer.resident_key != profile.resident_key
            if carer.kind == CarerKind.GRID_WORKER:
                assert carer.username and carer.username.startswith("grid")
    carer_kinds = Counter(c.kind for p in big.care_profiles for c in p.carers)
    assert all(carer_kinds[kind] for kind in CarerKind.values)
    volunteer = [p for p in big.care_profiles if any(c.username == "volunteer01" for c in p.carers)]
    assert len(volunteer) == 8
    consented = {(c.resident_key, c.scope) for c in big.consents}
    for profile in big.care_profiles:
        if profile.kind in HEALTH_KINDS:
            assert (profile.resident_key, ConsentScope.HEALTH_DATA) in consented
    for consent in big.consents:
        minor = age_on(residents[consent.resident_key].birth_date) < 18
        if minor:
            assert consent.given_by == ConsentGivenBy.GUARDIAN


def test_vehicles(big):
    households = {v.household_code for v in big.vehicles}
    assert 0.27 <= len(households) / len(big.households) <= 0.33
    plates = [v.plate for v in big.vehicles]
    assert len(plates) == len(set(plates))
    assert all(re.fullmatch(r"浙A[A-HJ-NP-Z0-9]{5}", p) for p in plates)
    spaces = [v.parking_space for v in big.vehicles]
    assert len(spaces) == len(set(spaces)) and all(re.fullmatch(r"B[12]-\d{3,}", s) for s in spaces)


def test_accounts(big):
    accounts = {a.username: a for a in big.accounts}
    grid_codes = [g.code for g in big.grids]
    expected = {"admin", "street01", "director", "property01", "volunteer01", "auditor", "resident01"}
    expected |= {f"grid{i:02d}" for i in range(1, len(grid_codes) + 1)}
    leaders = {name for name in accounts if name.startswith("leader")}
    helpers = {name for name in accounts if name.startswith("vol") and name[3:].isdigit()}
    assert set(accounts) == expected | leaders | helpers
    for name in helpers:  # the residents registered as volunteers, with a phone
        assert accounts[name].title == "社区志愿者" and accounts[name].role == Role.VOLUNTEER
        assert "volunteer" in big.residents[accounts[name].resident_key].tags
    # a building leader per building where someone of 45-75 lives (with a phone; resident01 is not one)
    homes = {h.code: h.building_code for h in big.households}
    buildings = []
    for name in leaders:
        leader = accounts[name]
        assert leader.role == Role.VOLUNTEER and leader.title == "楼栋长"
        resident = big.residents[leader.resident_key]
        assert "building_leader" in resident.tags
        buildings.append(homes[resident.household_code])
    assert len(buildings) == len(set(buildings)) > len(big.buildings) * 0.8
    assert accounts["grid01"].region_code == grid_codes[0] and accounts["grid02"].region_code == grid_codes[1]
    assert accounts["admin"].is_superuser and accounts["admin"].region_code is None
    assert accounts["street01"].region_code == "330102001"
    assert accounts["auditor"].role == Role.AUDITOR and accounts["auditor"].region_code is None
    resident = big.residents[accounts["resident01"].resident_key]
    household = next(h for h in big.households if h.code == resident.household_code)
    assert household.grid_code == "G01" == accounts["resident01"].region_code
    assert age_on(resident.birth_date) >= 18
    assert all(a.last_name and a.first_name for a in big.accounts)


# --- the writer and the command ------------------------------------------------------------


def _check_database(report=None) -> None:
    """Invariants of a seeded database (the session's, or one seeded by this test)."""
    from banyan.audit.models import AuditEntry
    from banyan.people.models import CareProfile, Carer, Consent, Household, Resident, User, Vehicle
    from banyan.places.models import Building, Facility, PathEdge, PathNode, Region, Unit

    for region in Region.objects.select_related("parent"):
        expected = Region.path_for(region.parent, region.pk)
        assert region.path == expected, region.code
    grids = Region.objects.filter(kind=RegionKind.GRID)
    assert grids.count() >= 6 and grids.filter(code="G01").exists()
    for resident in Resident.objects.all()[:200]:
        assert resident.id_number_index == vault.blind_index("id_number", resident.id_number)
        assert id_number_problem(resident.id_number, today=clock.today()) is None
        if resident.phone:
            assert resident.phone_index == vault.blind_index("phone", resident.phone)
    for vehicle in Vehicle.objects.all()[:50]:
        assert vehicle.plate_index == vault.blind_index("plate", vehicle.plate)
    assert Household.objects.exclude(grid=F("unit__building__grid")).count() == 0
    grid01 = User.objects.get(username="grid01")
    assert grid01.region.code == "G01" and grid01.role == Role.GRID_WORKER
    resident01 = User.objects.select_related("resident__household__grid").get(username="resident01")
    assert resident01.resident.household.grid.code == "G01"
    assert CareProfile.objects.filter(carers__user__username="volunteer01").count() >= 5
    assert isinstance(CareProfile.objects.first().details, dict)
    assert AuditEntry.objects.filter(action="sim.seed").count() == 1
    if report is not None:
        assert report.regions == Region.objects.count()
        assert report.grids == grids.count()
        assert report.buildings == Building.objects.count()
        assert report.units == Unit.objects.count()
        assert report.households == Household.objects.count()
        assert report.residents == Resident.objects.count() == 400
        assert report.care_profiles == CareProfile.objects.count()
        assert report.carers == Carer.objects.count()
        assert report.consents == Consent.objects.count()
        assert report.vehicles == Vehicle.objects.count()
        assert report.facilities == Facility.objects.count()
        assert report.path_nodes == PathNode.objects.count()
        assert report.path_edges == PathEdge.objects.count()
        assert report.users == User.objects.count()
        assert User.objects.get(username="director").check_password("pw-test-1")


@pytest.mark.django_db
def test_seed_writes_the_plan_once_and_then_refuses():
    if database_is_empty():
        report = seed_community(residents=400, seed=3, demo_password="pw-test-1")
        _check_database(report)
    else:  # the session database is already seeded (banyan/conftest.py)
        _check_database()
    with pytest.raises(InvalidInput) as refused:
        seed_community(residents=400, seed=3, demo_password="pw-test-1")
    assert refused.value.code == "not_empty"


def test_seed_refuses_a_silly_size():
    with pytest.raises(InvalidInput) as refused:
        seed_community(residents=3, seed=1, demo_password="pw-test-1")
    assert refused.value.field == "residents"


@pytest.mark.django_db
def test_command_refuses_a_seeded_database_unless_if_empty(capsys):
    if database_is_empty():
        call_command("seed", "--residents", "200", "--seed", "5", "--demo-password", "pw-test-2")
        out = capsys.readouterr().out
        assert "residents 200/200" in out and "resident01" in out
    with pytest.raises(CommandError, match="already holds regions"):
        call_command("seed", "--residents", "200")
    call_command("seed", "--if-empty")
    assert capsys.readouterr().out.strip() == "already seeded"
