"""A street of several synthetic communities (``banyan seed --communities N``): community 1 is the
single-community seed unchanged, the others lie beside it with codes, people and accounts of their own.

The database tests clear the session's seeded community inside the test's transaction (rolled back
afterwards; the foreign keys are checked only at the end, when everything is consistent again) and
seed a small street of three."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections import Counter
from dataclasses import replace

import networkx as nx
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation
from shapely.geometry import shape

from banyan.core.choices import Role
from banyan.core.errors import InvalidInput
from banyan.places.geo import validate_polygon
from banyan.sim.seed import plan_community
from banyan.sim.seed.devices import plan_devices
from banyan.sim.seed.places import MAXIMUM_COMMUNITIES
from banyan.sim.seed.plan import CALLED_UP_TITLES, LEADER_TITLE
from banyan.sim.seed.planner import plan_street
from banyan.sim.seed.rules import plan_rules
from banyan.sim.services import database_is_empty, load_fleet, seed_community, seed_street

TODAY = dt.date(2026, 11, 29)
RESIDENTS = 60
CODES = ("330102001001", "330102001002", "330102001003")
PASSWORD = "pw-street-1"

# What the single-community seed made before streets existed (commit 9babb06), recorded from it.
BEFORE_FIELDS = (
    "seed", "today", "regions", "buildings", "units", "facilities", "path_nodes", "path_edges",
    "households", "residents", "care_profiles", "consents", "vehicles", "accounts", "organisations",
)  # fmt: skip
BEFORE_PLAN_60_SEED_7 = "301e8ea37abee88e5e689e35d9b62144cae1b49d2c49d06762dbbb529376ed3d"
BEFORE_DEVICES_60_SEED_7 = "0c9f4d6447b2474557eba113b30360318854245499d40b99d2953b268d14431a"
# The rules as issue 12 named them (a Chinese name and an English one, no longer one bilingual name).
BEFORE_RULES_60_SEED_7 = "cbc26c63dd9f85da3456588c584e0316e182c9677ebc72af9bdebb6df8b5463f"
# The session database (banyan/conftest.py: 400 residents, seed 7) as the old seed wrote it.
BEFORE_REGIONS = ["330100", "330102", "330102001", "330102001001", "G01", "G02", "G03", "G04", "G05", "G06"]
BEFORE_USERNAMES = [
    "admin", "street01", "director", "grid01", "grid02", "grid03", "grid04", "grid05", "grid06",
    "property01", "volunteer01", "auditor", "resident01",
]  # fmt: skip
BEFORE_DEVICE_CODES = "7d78b92cb47ef0a7593150c3f52d0d53c773c9e7ae450f8390bfafa627e632a8"  # sha256 of the list
BEFORE_HOUSEHOLDS = (
    "bc4d693b031191c3c1a067ae999ead658563047a0cc93fe51fb1fbe1bc8d4019"  # code, grid, building, unit
)
BEFORE_RESIDENTS = (
    "046bdbc9496217988423c11f8e076a235eb2b5792269b57ae9211895e8a0e33f"  # household, name, sex, relation
)
BEFORE_COUNTS = {
    "places.Region": 10, "places.Building": 6, "places.Unit": 216, "places.Facility": 12,
    "places.PathNode": 186, "places.PathEdge": 333, "people.User": 13, "people.Organisation": 6,
    "people.Membership": 10, "people.Household": 154, "people.Resident": 400, "people.CareProfile": 46,
    "people.Carer": 79, "people.Consent": 34, "people.Vehicle": 49, "sensing.Device": 89, "warning.Rule": 21,
    "response.Responsibility": 13, "response.Responder": 8, "response.Shift": 64,
}  # fmt: skip


# Each building leader and resident volunteer is an account, a member of the volunteers' body and a
# responder.
LEADER_ROWS = ("people.User", "people.Membership", "response.Responder")


def digest(value) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


@pytest.fixture(scope="module")
def street():
    return plan_street(communities=3, residents=RESIDENTS, seed=7, today=TODAY)


# --- community 1 is the seed as it was -----------------------------------------------------------


def without_leaders(plan):
    """``plan`` without the building leaders' and resident volunteers' accounts (added for the emergency
    call-up, issue 15):
    everything else is as the old seed made it."""
    leaders = {a.username for a in plan.accounts if a.title in CALLED_UP_TITLES}
    return replace(
        plan,
        accounts=tuple(a for a in plan.accounts if a.username not in leaders),
        organisations=tuple(
            replace(o, members=tuple(m for m in o.members if m.username not in leaders))
            for o in plan.organisations
        ),
    )


def test_a_street_of_one_is_the_single_community_seed_as_it_was():
    (plan,) = plan_street(communities=1, residents=RESIDENTS, seed=7, today=TODAY)
    leaders = [a for a in plan.accounts if a.title == LEADER_TITLE]
    assert [a.username for a in leaders] == [f"leader{n:02d}" for n in range(1, len(plan.buildings) + 1)]
    assert all(a.role == Role.VOLUNTEER and a.resident_key is not None for a in leaders)
    old = without_leaders(plan)
    assert digest(tuple(getattr(old, name) for name in BEFORE_FIELDS)) == BEFORE_PLAN_60_SEED_7
    assert digest(plan_devices(plan)) == BEFORE_DEVICES_60_SEED_7
    assert digest(plan_rules(plan)) == BEFORE_RULES_60_SEED_7
    assert plan == plan_community(residents=RESIDENTS, seed=7, today=TODAY)


@pytest.mark.django_db
def test_the_session_database_is_what_the_single_community_seed_wrote_before():
    if database_is_empty():  # a transactional test flushed it
        seed_community(residents=400, seed=7, demo_password=PASSWORD)
    from banyan.people.models import Household, Resident, User
    from banyan.places.models import Region
    from banyan.sensing.models import Device

    assert list(Region.objects.order_by("pk").values_list("code", flat=True)) == BEFORE_REGIONS
    usernames = list(User.objects.order_by("pk").values_list("username", flat=True))
    leaders = [name for name in usernames if name.startswith("leader")]
    helpers = [name for name in usernames if name.startswith("vol") and name[3:].isdigit()]
    assert [name for name in usernames if name not in leaders + helpers] == BEFORE_USERNAMES
    assert leaders == [f"leader{n:02d}" for n in range(1, 7)]  # one per building, with no standing shift
    assert helpers == [f"vol{n:02d}" for n in range(1, len(helpers) + 1)] and helpers
    assert digest(list(Device.objects.order_by("pk").values_list("code", flat=True))) == BEFORE_DEVICE_CODES
    households = Household.objects.order_by("pk").values_list(
        "code", "grid__code", "unit__building__code", "unit__number"
    )
    assert digest([tuple(row) for row in households]) == BEFORE_HOUSEHOLDS
    residents = Resident.objects.order_by("pk").values_list("household__code", "name", "sex", "relation")
    assert digest([tuple(row) for row in residents]) == BEFORE_RESIDENTS
    added = len(leaders) + len(helpers)
    with_leaders = {**BEFORE_COUNTS, **{label: BEFORE_COUNTS[label] + added for label in LEADER_ROWS}}
    assert {label: apps.get_model(label).objects.count() for label in BEFORE_COUNTS} == with_leaders


# --- the plan of a street ------------------------------------------------------------------------


def test_community_one_of_a_street_is_the_single_community_and_its_street_if_the_others_fit(street):
    alone = plan_community(residents=RESIDENTS, seed=7, today=TODAY)
    assert street[0] == alone
    assert plan_devices(street[0]) == plan_devices(alone) and plan_rules(street[0]) == plan_rules(alone)


def test_the_same_seed_gives_the_same_street(street):
    assert plan_street(communities=3, residents=RESIDENTS, seed=7, today=TODAY) == street
    other = plan_street(communities=3, residents=RESIDENTS, seed=8, today=TODAY)
    assert [r.name for r in other[1].residents] != [r.name for r in street[1].residents]


def test_communities_have_their_own_codes_names_and_people(street):
    assert [p.community.code for p in street] == list(CODES)
    assert [(p.community.name_zh, p.community.name_en) for p in street] == [
        ("东坡未来社区", "Dongpo Future Community"),
        ("岳王社区", "Yuewang Community"),
        ("青年社区", "Qingnian Community"),
    ]
    assert [p.prefix for p in street] == ["", "C2-", "C3-"]
    assert [g.code for g in street[1].grids] == [f"C2-G{n:02d}" for n in range(1, 7)]
    assert street[2].grids[0].name_zh == "青年第一网格" and street[2].grids[0].name_en == "Qingnian Grid 1"
    assert all(len(p.residents) == RESIDENTS for p in street)
    for rows, key in (
        ("regions", "code"),
        ("buildings", "code"),
        ("facilities", "code"),
        ("households", "code"),
        ("organisations", "code"),
        ("accounts", "username"),
    ):
        codes = [getattr(item, key) for plan in street for item in getattr(plan, rows)]
        assert len(codes) == len(set(codes)), rows
    devices = [d.code for plan in street for d in plan_devices(plan)]
    assert len(devices) == len(set(devices)) and any(code.startswith("C3-SOS-") for code in devices)
    # Nobody shares an ID number, a phone or a plate with anyone in another community.
    ids = [r.id_number for plan in street for r in plan.residents]
    phones = [r.phone for plan in street for r in plan.residents if r.phone]
    phones += [a.phone for plan in street for a in plan.accounts if a.resident_key is None]
    plates = [v.plate for plan in street for v in plan.vehicles]
    assert len(ids) == len(set(ids)) and len(phones) == len(set(phones)) and len(plates) == len(set(plates))
    local = [r for r in street[1].residents if r.residence_status == "registered_living_here"]
    assert all(r.registered_address.startswith("浙江省杭州市上城区湖滨街道岳王社区") for r in local)


def test_only_community_one_brings_the_street_its_office_and_the_street_wide_accounts(street):
    assert [r.kind for r in street[0].regions[:4]] == ["city", "district", "street", "community"]
    for plan in street[1:]:
        assert plan.regions[0].kind == "community" and plan.regions[0].parent_code == "330102001"
        assert {r.kind for r in plan.regions} == {"community", "grid"}
        assert "ORG-STREET" not in {o.code for o in plan.organisations}
    assert [o.code for o in street[1].organisations] == [
        "C2-ORG-COMMITTEE", "C2-ORG-PROPERTY", "C2-ORG-SOCIAL", "C2-ORG-FIRE", "C2-ORG-CLINIC",
    ]  # fmt: skip
    accounts = {a.username: a for a in street[1].accounts}
    grids = {f"grid2_{n:02d}" for n in range(1, 7)}
    leaders = {name for name in accounts if name.startswith(("leader2_", "vol2_"))}
    assert leaders and all(accounts[name].title in CALLED_UP_TITLES for name in leaders)
    assert set(accounts) == {"director2", "property2_01", "volunteer2_01", "resident2_01", *grids, *leaders}
    assert (
        accounts["director2"].role == Role.COMMUNITY_DIRECTOR
        and accounts["director2"].region_code == CODES[1]
    )
    assert accounts["grid2_02"].region_code == "C2-G02"
    assert accounts["resident2_01"].region_code == "C2-G01"
    carers = {c.username for p in street[1].care_profiles for c in p.carers if c.username}
    assert carers and all(name.startswith(("grid2_", "volunteer2_")) for name in carers)


@pytest.mark.parametrize("count", [3, MAXIMUM_COMMUNITIES])
def test_communities_lie_side_by_side_inside_the_street(count):
    plans = plan_street(communities=count, residents=50, seed=2, today=TODAY)
    regions = [r for plan in plans for r in plan.regions]
    street = shape(next(r for r in regions if r.kind == "street").boundary)
    district = shape(next(r for r in regions if r.kind == "district").boundary)
    assert district.contains(street)
    communities = [shape(plan.community.boundary) for plan in plans]
    for plan, area in zip(plans, communities, strict=True):
        validate_polygon(plan.community.boundary, field="boundary")
        assert street.contains(area)
        for grid in plan.grids:
            assert area.buffer(1e-9).contains(shape(grid.boundary))
        for building in plan.buildings:
            assert area.contains(shape(building.footprint))
    for one, other in itertools.combinations(communities, 2):
        assert one.disjoint(other)
    # However large the street grows, community 1 itself stays where and what it was.
    alone = plan_community(residents=50, seed=2, today=TODAY)
    assert replace(plans[0], regions=alone.regions[:3] + plans[0].regions[3:]) == alone
    assert (plans[0].regions[:3] == alone.regions[:3]) == (count == 3)


# --- the street in the database ------------------------------------------------------------------

KEEP = {"response.Category", "response.SlaPolicy", "audit.AuditEntry", "audit.ChainHead"}


def clear_seeded_world() -> None:
    """Delete every row the seed (or a test) made, keeping the catalogue, the audit chain and Django's
    own tables, inside the test's transaction; foreign keys are checked only when it ends."""
    tables = [
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed
        and not model._meta.proxy
        and model._meta.label not in KEEP
        and model._meta.app_label not in ("contenttypes", "auth", "sessions", "admin")
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608 -- our own table names
    assert database_is_empty()


@pytest.fixture
def seeded_street(db):
    clear_seeded_world()
    return seed_street(communities=3, residents=RESIDENTS, seed=7, demo_password=PASSWORD)


def test_three_communities_under_one_street_each_with_everything(seeded_street):
    from banyan.people.models import CareProfile, Resident, User
    from banyan.places.models import Building, Facility, PathEdge, PathNode, Region, Unit
    from banyan.response.models import Responder, Responsibility, Shift
    from banyan.sensing.models import Device
    from banyan.warning.models import Rule

    (street,) = Region.objects.filter(kind="street")
    communities = list(Region.objects.filter(kind="community").order_by("code"))
    assert [c.code for c in communities] == list(CODES)
    assert all(c.parent_id == street.pk and c.path.startswith(street.path) for c in communities)
    areas = [shape(c.boundary) for c in communities]
    assert all(shape(street.boundary).contains(area) for area in areas)
    assert all(one.disjoint(other) for one, other in itertools.combinations(areas, 2))
    rules_of_one = None
    for community, report in zip(communities, seeded_street, strict=True):
        inside = {"grid__path__startswith": community.path}
        assert report.community_code == community.code
        assert Region.objects.filter(kind="grid", parent=community).count() == report.grids == 6
        assert Building.objects.filter(**inside).exclude(footprint=None).count() == report.buildings > 0
        assert (
            Unit.objects.filter(building__grid__path__startswith=community.path).count() == report.units > 0
        )
        residents = Resident.objects.filter(household__grid__path__startswith=community.path)
        assert residents.count() == report.residents == RESIDENTS
        assert CareProfile.objects.filter(resident__in=residents).count() == report.care_profiles > 0
        assert (
            Facility.objects.filter(region__path__startswith=community.path).count() == report.facilities > 0
        )
        assert Device.objects.filter(community=community, **inside).count() == report.devices > 0
        rules = Rule.objects.filter(community=community).count()
        assert rules > 0 and rules == (rules_of_one or rules)
        rules_of_one = rules
        cells = Responsibility.objects.filter(region=community).select_related("accountable")
        assert cells.count() == report.matrix_cells == 13
        assert all(cell.accountable.regions.filter(pk=community.pk).exists() for cell in cells)
        responders = Responder.objects.filter(user__region__path__startswith=community.path)
        assert responders.count() == report.responders > 0
        assert Shift.objects.filter(responder__in=responders).count() == report.shifts > 0
        graph = nx.Graph()
        graph.add_nodes_from(PathNode.objects.filter(community=community).values_list("pk", flat=True))
        graph.add_edges_from(
            PathEdge.objects.filter(source__community=community).values_list("source", "target")
        )
        assert graph.number_of_nodes() == report.path_nodes and nx.is_connected(graph)
    escalation = Responsibility.objects.get(region=communities[1], category__code="gas").escalation
    assert [step["organisation"] for step in escalation] == ["C2-ORG-COMMITTEE", "ORG-STREET"]
    assert User.objects.get(username="director2").check_password(PASSWORD)


def test_accounts_see_their_own_community_and_the_street_officer_all(seeded_street):
    from banyan.people.models import Resident, User

    users = {u.username: u for u in User.objects.select_related("region")}
    roles = Counter(u.role for u in users.values())
    assert roles[Role.COMMUNITY_DIRECTOR] == 3 and roles[Role.STREET_OFFICER] == 1
    assert roles[Role.PLATFORM_ADMIN] == roles[Role.AUDITOR] == 1 and roles[Role.RESIDENT] == 3

    def seen(username: str) -> set[str]:
        rows = Resident.objects.restrict(users[username]).values_list(
            "household__grid__parent__code", flat=True
        )
        return set(rows)

    assert Resident.objects.restrict(users["street01"]).count() == 3 * RESIDENTS
    assert seen("street01") == set(CODES)
    assert (
        seen("director") == {CODES[0]} and seen("director2") == {CODES[1]} and seen("director3") == {CODES[2]}
    )
    assert Resident.objects.restrict(users["director2"]).count() == RESIDENTS
    assert not Resident.objects.restrict(users["director2"]).filter(household__grid__parent__code=CODES[0])
    grid_worker = Resident.objects.restrict(users["grid2_01"])
    assert set(grid_worker.values_list("household__grid__code", flat=True)) == {"C2-G01"}
    mine = Resident.objects.restrict(users["resident2_01"])
    assert set(mine.values_list("household_id", flat=True)) == {users["resident2_01"].resident.household_id}


def test_the_fleet_covers_every_community(seeded_street):
    from banyan.sim.scenario import Scenario

    fleet = load_fleet()
    assert {d.community for d in fleet} == set(CODES)
    assert {d.community for d in load_fleet(CODES[1])} == {CODES[1]}
    start = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    messages = Scenario(fleet, seed=1, start=start).round(start)
    assert {m.topic.split("/")[1] for m in messages} == set(CODES)
    assert any(m.topic.startswith(f"banyan/{CODES[2]}/devices/C3-") for m in messages)


@pytest.mark.django_db
def test_the_command_seeds_a_street_and_names_every_community(capsys):
    clear_seeded_world()
    call_command("seed", "--communities", "2", "--residents", "50", "--seed", "3", "--demo-password", "pw")
    out = capsys.readouterr().out
    assert "Seeded 2 communities" in out and "岳王社区  Yuewang Community" in out
    assert "director2 " in out and "grid2_01 " in out and "resident2_01 " in out
    call_command("seed", "--if-empty")
    assert capsys.readouterr().out.strip() == "already seeded"


# --- refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, MAXIMUM_COMMUNITIES + 1])
def test_a_street_of_no_or_too_many_communities_is_refused(count):
    with pytest.raises(InvalidInput) as refused:
        seed_street(communities=count, residents=RESIDENTS, seed=1, demo_password=PASSWORD)
    assert refused.value.field == "communities"
    with translation.override("en"), pytest.raises(CommandError, match=f"^--communities: .*not {count}"):
        call_command("seed", "--communities", str(count))
