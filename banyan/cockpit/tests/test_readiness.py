"""Go-live readiness (banyan/cockpit/readiness.py): the checks on the seeded demo community, on a bare
community (everything missing) and on a small community made ready, where each gap appears when it is
made and goes when it is fixed; the contract's JSON word for word; who sees the page (directors their
own community, street officers their street's, admins every one; a director of another community a
404); the command's exit codes (0 ready, 1 not, 2 unknown community)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from banyan.cockpit import readiness
from banyan.conftest import make_community_under, make_region, make_resident
from banyan.core import clock
from banyan.emergency.hazards import RISK_HIGH, install_register
from banyan.emergency.models import Hazard, Plan
from banyan.emergency.plans import install_plans
from banyan.emergency.shelters.models import Shelter
from banyan.people.models import CareProfile, Household, Organisation, User
from banyan.places.models import Building, Facility, Region, Unit
from banyan.response.models import Category, Responsibility
from banyan.sensing.models import Device
from banyan.warning.models import Rule

NOW = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)
DEMO = "330102001001"
TOP_KEYS = {"community", "ready", "missing", "hazards"}
# A community without a hazard register and without devices or facilities that imply a hazard.
NO_HAZARDS = {"from": "devices", "items": []}
TOWN_READY = {"community": "T-RDY", "ready": True, "missing": [], "hazards": NO_HAZARDS}
GAP_KEYS = {"what", "count", "where"}


@pytest.fixture(autouse=True)
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


@pytest.fixture
def demo(db):
    return Region.objects.get(kind="community", code=DEMO)


@pytest.fixture
def street(db):
    return Region.objects.get(kind="street")


@pytest.fixture
def town(street):
    """A small community with nothing missing: a grid with its worker, a building with a unit where a
    household lives, a resident who needs no care, a clinic, and every category owned in the matrix."""
    made = make_community_under(street, "T-RDY")
    made["worker"] = User.objects.create(username="t-rdy-worker", role="grid_worker", region=made["grid"])
    body = Organisation.objects.create(code="T-RDY-ORG", kind="community_committee", name_zh="居委会")
    body.regions.add(made["community"])
    for category in Category.objects.filter(is_active=True):
        Responsibility.objects.create(
            category=category, region=made["community"], accountable=body, updated_at=NOW
        )
    assert readiness.readiness(made["community"]).missing == []
    return made


def gaps(community) -> dict[str, dict]:
    return {gap["what"]: gap for gap in readiness.readiness(community).as_dict()["missing"]}


def device(town, code: str, kind: str = "air_quality", **where) -> Device:
    return Device.objects.create(
        code=code,
        kind=kind,
        community=town["community"],
        grid=town["grid"],
        expected_interval_s=3600,
        installed_at=NOW,
        **where,
    )


# --- the JSON --------------------------------------------------------------------------------------


def test_the_demo_community_json_has_the_contract_keys_word_for_word(demo):
    data = readiness.readiness(demo).as_dict()
    assert set(data) == TOP_KEYS
    assert data["community"] == DEMO
    assert data["ready"] is False
    assert data["missing"]
    for gap in data["missing"]:
        assert set(gap) == GAP_KEYS
        assert gap["what"] in readiness.WHATS
        assert isinstance(gap["count"], int) and gap["count"] > 0
        assert gap["where"] and all(isinstance(place, str) for place in gap["where"])
    json.dumps(data)  # plain JSON


def test_the_demo_community_lacks_households_in_vacant_flats_and_some_care_profiles(demo):
    found = gaps(demo)
    # The seed installs the register (never reviewed) and every plan, but no shelter.
    assert sorted(found) == [
        "care_needed_without_profile",
        "exposed_care_without_shelter",
        "hazard_review_overdue",
        "unit_without_household",
    ]
    empty = found["unit_without_household"]
    assert empty["count"] == len(empty["where"])
    assert all("幢" in place and "单元" in place for place in empty["where"])
    care = found["care_needed_without_profile"]
    assert all(place.endswith("幢") for place in care["where"])  # buildings only, no one named
    assert len(care["where"]) <= care["count"]


def test_no_resident_is_named_and_no_personal_value_leaves(demo):
    from banyan.people.models import Resident

    text = json.dumps(readiness.readiness(demo).as_dict(), ensure_ascii=False)
    for resident in readiness.needing_care(demo)[:50]:
        assert resident.name not in text
        assert resident.id_number not in text
    assert Resident.objects.filter(household__grid__parent=demo).exists()


def test_a_bare_community_lacks_its_grids_and_nothing_can_be_checked_below(street):
    bare = make_region(street, "community", "T-BARE")
    assert readiness.readiness(bare).as_dict() == {
        "community": "T-BARE",
        "ready": False,
        "missing": [{"what": "community_without_grids", "count": 1, "where": ["T-BARE"]}],
        "hazards": NO_HAZARDS,
    }
    grid = make_region(bare, "grid", "T-BARE-G1")
    found = gaps(bare)
    assert found["grid_without_worker"] == {"what": "grid_without_worker", "count": 1, "where": ["T-BARE-G1"]}
    assert found["grid_without_buildings"]["where"] == ["T-BARE-G1"]
    assert "community_without_grids" not in found
    # every category is without an owner in the new grid (no cell on the grid, community or street)
    owned_above = set(
        Responsibility.objects.filter(region__path__in=grid.ancestor_paths()).values_list(
            "category__code", flat=True
        )
    )
    expected = sorted(
        f"T-BARE-G1:{code}"
        for code in Category.objects.filter(is_active=True).values_list("code", flat=True)
        if code not in owned_above
    )
    assert sorted(found.get("matrix_cell_without_owner", {}).get("where", [])) == expected


# --- each gap appears when made and goes when fixed ---------------------------------------------------


def test_a_grid_without_its_worker(town):
    town["worker"].is_active = False
    town["worker"].save()
    assert gaps(town["community"])["grid_without_worker"]["where"] == ["T-RDY-G1"]
    town["worker"].is_active = True
    town["worker"].save()
    assert gaps(town["community"]) == {}


def test_a_grid_without_buildings(town):
    grid = make_region(town["community"], "grid", "T-RDY-G2")
    User.objects.create(username="t-rdy-worker2", role="grid_worker", region=grid)
    assert gaps(town["community"]) == {
        "grid_without_buildings": {"what": "grid_without_buildings", "count": 1, "where": ["T-RDY-G2"]}
    }
    building = Building.objects.create(
        grid=grid, code="T-RDY-B2", name="2幢", kind="older_block", floors=6, latitude=30.3, longitude=120.3
    )
    unit = Unit.objects.create(building=building, number="1-01-101", floor=1, exclusive_area_m2=80)
    Household.objects.create(code="T-RDY-H2", unit=unit)
    assert gaps(town["community"]) == {}


def test_a_building_without_units(town):
    building = Building.objects.create(
        grid=town["grid"],
        code="T-RDY-B3",
        name="3幢",
        kind="older_block",
        floors=6,
        latitude=30.3,
        longitude=120.3,
    )
    assert gaps(town["community"]) == {
        "building_without_units": {"what": "building_without_units", "count": 1, "where": ["3幢"]}
    }
    unit = Unit.objects.create(building=building, number="1-01-101", floor=1, exclusive_area_m2=80)
    assert list(gaps(town["community"])) == ["unit_without_household"]
    Household.objects.create(code="T-RDY-H3", unit=unit)
    assert gaps(town["community"]) == {}


def test_a_residential_unit_without_a_household_but_not_a_shop(town):
    unit = Unit.objects.create(building=town["building"], number="2-05-502", floor=5, exclusive_area_m2=80)
    Unit.objects.create(
        building=town["building"], number="1-01-102", floor=1, exclusive_area_m2=40, use="commercial"
    )
    assert gaps(town["community"]) == {
        "unit_without_household": {
            "what": "unit_without_household",
            "count": 1,
            "where": ["T-RDY 1幢2单元502"],
        }
    }
    Household.objects.create(code="T-RDY-H4", unit=unit)
    assert gaps(town["community"]) == {}


@pytest.mark.parametrize(
    ("label", "fields"),
    [
        ("aged 80", {"birth_date": dt.date(1946, 6, 30)}),
        ("aged 60 living alone", {"birth_date": dt.date(1966, 6, 30), "is_living_alone": True}),
        ("tagged key care", {"tags": ["key_care"]}),
    ],
)
def test_a_resident_needing_care_without_a_profile(town, label, fields):
    resident = make_resident(town["household"], name="需关爱居民", **fields)
    gap = gaps(town["community"])["care_needed_without_profile"]
    assert gap == {"what": "care_needed_without_profile", "count": 1, "where": ["T-RDY 1幢"]}, label
    profile = CareProfile.objects.create(resident=resident, kind="elderly_alone", since=dt.date(2026, 1, 1))
    assert gaps(town["community"]) == {}
    profile.is_active = False
    profile.save()
    assert "care_needed_without_profile" in gaps(town["community"])


def test_who_needs_no_care_is_not_counted(town):
    make_resident(town["household"], birth_date=dt.date(1946, 7, 2))  # 79 until tomorrow
    make_resident(town["household"], birth_date=dt.date(1967, 1, 1), is_living_alone=True)  # 59
    make_resident(town["household"], birth_date=dt.date(1930, 1, 1), residence_status="outflow")
    make_resident(town["household"], tags=["veteran"])
    assert gaps(town["community"]) == {}


def test_a_device_without_a_place(town):
    loose = device(town, "T-RDY-AQ1")
    assert gaps(town["community"]) == {
        "device_without_place": {"what": "device_without_place", "count": 1, "where": ["T-RDY-AQ1"]}
    }
    loose.facility = town["facility"]
    loose.save()
    assert gaps(town["community"]) == {}


def test_a_matrix_cell_without_an_owner(town):
    cell = Responsibility.objects.get(region=town["community"], category__code="gas")
    body = cell.accountable
    cell.delete()
    # the seed's cells are the demo community's: nothing above T-RDY answers for gas
    assert not Responsibility.objects.filter(region__path__in=town["community"].ancestor_paths()).exists()
    assert gaps(town["community"]) == {
        "matrix_cell_without_owner": {
            "what": "matrix_cell_without_owner",
            "count": 1,
            "where": ["T-RDY-G1:gas"],
        }
    }
    Responsibility.objects.create(
        category=Category.objects.get(code="gas"), region=town["grid"], accountable=body, updated_at=NOW
    )
    assert gaps(town["community"]) == {}


def test_a_hazard_without_a_rule(town):
    device(town, "T-RDY-SMK1", "smoke", building=town["building"])
    assert gaps(town["community"]) == {
        "hazard_without_rule": {"what": "hazard_without_rule", "count": 1, "where": ["fire_smoke"]}
    }
    offline = Rule.objects.create(
        name="烟感离线",
        kind="offline",
        grade="blue",
        params={"device_kinds": ["smoke"], "interval_s": 3600, "missed": 3},
        community=town["community"],
        created_at=NOW,
        updated_at=NOW,
    )
    assert list(gaps(town["community"])) == ["hazard_without_rule"]  # an offline rule watches no hazard
    smoke = Rule.objects.create(
        name="烟感报警",
        kind="threshold",
        grade="red",
        params={"device_kinds": ["smoke"], "metric": "smoke_alarm", "raise_at": 1, "clear_below": 1},
        community=town["community"],
        created_at=NOW,
        updated_at=NOW,
    )
    assert gaps(town["community"]) == {}  # it watches a metric of fire/smoke, even without opening incidents
    smoke.is_active = False
    smoke.save()
    assert list(gaps(town["community"])) == ["hazard_without_rule"]
    assert offline.pk


def test_a_facility_implies_a_hazard_and_a_rule_naming_its_category_covers_it(town):
    Facility.objects.create(
        region=town["grid"],
        code="T-RDY-PARK",
        kind="parking",
        name_zh="地下车库",
        latitude=30.3,
        longitude=120.3,
    )
    assert gaps(town["community"])["hazard_without_rule"]["where"] == ["flooding"]
    Rule.objects.create(
        name="积水",
        kind="threshold",
        grade="orange",
        params={
            "device_kinds": ["water_level"],
            "metric": "water_level_cm",
            "raise_at": 50,
            "clear_below": 40,
        },
        incident_category="flooding",
        community=town["community"],
        created_at=NOW,
        updated_at=NOW,
    )
    assert gaps(town["community"]) == {}


# --- with a hazard register ---------------------------------------------------------------------------


def rule_for(town, category: str, metric: str) -> Rule:
    return Rule.objects.create(
        name=category,
        kind="threshold",
        grade="orange",
        params={"metric": metric, "raise_at": 1, "clear_below": 1},
        incident_category=category,
        community=town["community"],
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_demo_community_hazards_come_from_its_register(demo):
    cover = readiness.readiness(demo).as_dict()["hazards"]
    assert cover["from"] == "register"
    items = {item["hazard"]: item for item in cover["items"]}
    assert len(items) == Hazard.objects.filter(community=demo).count() == 11
    risks = [item["risk"] for item in cover["items"]]
    assert risks == sorted(risks, reverse=True)  # riskiest first
    assert items["flood"] == {
        "hazard": "flood",
        "risk": 12,
        "category": "flooding",
        "device_kinds": ["water_level"],
        "covered_by": "rule",
    }
    assert items["gas_leak"]["category"] == "gas" and items["gas_leak"]["device_kinds"] == ["combustible_gas"]
    assert items["crowd"]["category"] == "crowding" and items["fire"]["category"] == "fire_smoke"
    for kind in ("typhoon", "heat_wave", "epidemic", "earthquake"):
        assert items[kind]["category"] is None and items[kind]["covered_by"] == "plan"
    assert "hazard_without_rule" not in gaps(demo) and "high_risk_hazard_without_plan" not in gaps(demo)


def test_with_a_register_its_sensed_hazards_need_rules_and_the_others_do_not(town):
    community = town["community"]
    install_register(community, actor="cli")
    found = gaps(community)
    # No device is installed: the register, not the devices, says which hazards a rule must cover
    # (riskiest first: fire and flood 12, gas leak 8, crowd 6).
    assert found["hazard_without_rule"]["where"] == ["fire_smoke", "flooding", "gas", "crowding"]
    rule_for(town, "flooding", "water_level_cm")
    rule_for(town, "fire_smoke", "smoke_alarm")
    rule_for(town, "gas", "gas_lel")
    assert gaps(community)["hazard_without_rule"]["where"] == ["crowding"]
    rule_for(town, "crowding", "person_count")
    assert "hazard_without_rule" not in gaps(community)
    # Falls and wellness checks the devices imply are still checked beside the register.
    device(town, "T-RDY-SOS1", "sos_button", unit=town["unit"])
    assert gaps(community)["hazard_without_rule"]["where"] == ["fall_medical"]
    cover = {item["hazard"]: item for item in readiness.hazard_cover(community)["items"]}
    assert cover["typhoon"]["covered_by"] is None  # no plan yet, and no rule could cover it
    install_plans(community, actor="cli")
    assert readiness.hazard_cover(community)["items"][0] == {
        "hazard": "typhoon", "risk": 16, "category": None, "device_kinds": [], "covered_by": "plan",
    }  # fmt: skip


def test_a_high_risk_hazard_without_a_plan_at_every_level(town):
    community = town["community"]
    install_register(community, actor="cli")
    found = gaps(community)["high_risk_hazard_without_plan"]
    high = {"typhoon", "heat_wave", "epidemic", "fire", "flood"}  # the defaults at 12 and more
    assert {code.split(":")[0] for code in found["where"]} == high
    assert found["count"] == len(high) * 4 and found["where"][:4] == [
        f"typhoon:{level}" for level in (1, 2, 3, 4)
    ]
    install_plans(community, actor="cli")
    assert "high_risk_hazard_without_plan" not in gaps(community)
    Plan.objects.filter(community=community, hazard="fire", level=1).update(is_current=False)
    Plan.objects.filter(community=community, hazard="cold_wave", level=1).update(is_current=False)  # low risk
    assert gaps(community)["high_risk_hazard_without_plan"] == {
        "what": "high_risk_hazard_without_plan",
        "count": 1,
        "where": ["fire:1"],
    }
    Hazard.objects.filter(community=community, kind="cold_wave").update(likelihood=4, impact=3)
    assert 4 * 3 >= RISK_HIGH
    # Riskiest first, then by code.
    assert gaps(community)["high_risk_hazard_without_plan"]["where"] == ["cold_wave:1", "fire:1"]
    Hazard.objects.filter(community=community, kind="fire").update(likelihood=1, impact=4)
    assert gaps(community)["high_risk_hazard_without_plan"]["where"] == ["cold_wave:1"]


def test_a_register_not_reviewed_within_a_year(town, now):
    community = town["community"]
    install_register(community, actor="cli")
    install_plans(community, actor="cli")
    assert gaps(community)["hazard_review_overdue"]["count"] == 11  # never reviewed
    Hazard.objects.filter(community=community).update(reviewed_at=NOW - dt.timedelta(days=364))
    assert "hazard_review_overdue" not in gaps(community)
    Hazard.objects.filter(community=community, kind="typhoon").update(
        reviewed_at=NOW - dt.timedelta(days=365)
    )
    assert gaps(community)["hazard_review_overdue"] == {
        "what": "hazard_review_overdue", "count": 1, "where": ["typhoon"],
    }  # fmt: skip
    now.advance(dt.timedelta(days=2))  # a year has gone by for all of them
    assert gaps(community)["hazard_review_overdue"]["count"] == 11


def test_a_hazard_exposing_residents_in_care_without_a_shelter(town):
    community = town["community"]
    install_register(community, actor="cli")
    exposing = sorted(
        hazard.kind
        for hazard in Hazard.objects.filter(community=community)
        if hazard.exposure["residents_in_care"]
    )
    assert "flood" in exposing and "heat_wave" in exposing  # the resident in care lives on the ground floor
    found = gaps(community)["exposed_care_without_shelter"]
    assert sorted(found["where"]) == exposing and found["count"] == len(exposing)
    Shelter.objects.create(facility=town["facility"], community=community, capacity=20, created_at=NOW)
    assert "exposed_care_without_shelter" not in gaps(community)
    Shelter.objects.filter(community=community).delete()
    Hazard.objects.filter(community=community).update(exposure={"residents_in_care": 0})
    assert "exposed_care_without_shelter" not in gaps(community)  # nobody in care exposed


def test_the_register_gaps_are_named_on_the_page_in_chinese(users, demo):
    text = page(users["director"], f"?community={DEMO}", "zh-hans").content.decode()
    assert 'data-what="hazard_review_overdue"' in text and 'data-what="exposed_care_without_shelter"' in text
    assert "台风" in text and 'href="/emergency/hazards/"' in text and 'href="/emergency/shelters/"' in text
    assert "typhoon" not in text  # hazards by their names, not their codes
    assert "由预案覆盖" in text  # the hazards a plan covers, not a rule
    english = page(users["director"], f"?community={DEMO}").content.decode()
    assert "Covered by a plan, not by a rule" in english and "Typhoon" in english


def test_every_what_has_a_title_and_a_way_to_fix_it():
    assert set(readiness.TITLES) == set(readiness.HOW_TO_FIX) == set(readiness.WHATS)
    assert len(readiness.CHECKS) == len(readiness.WHATS)


# --- the page -----------------------------------------------------------------------------------------


def page(user, query: str = "", language: str = "en"):
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client.get(f"/readiness/{query}")


def test_the_director_sees_her_community_with_a_link_to_fix_each_gap(users, demo):
    response = page(users["director"])
    assert response.status_code == 200
    text = response.content.decode()
    assert "Go-live readiness" in text
    assert 'data-what="unit_without_household"' in text
    assert 'data-what="care_needed_without_profile"' in text
    assert 'href="/people/ledgers/import/"' in text
    assert 'data-ready="0"' in text


def test_who_cannot_make_accounts_is_told_whom_to_ask_for_a_grid_worker(users, demo):
    User.objects.filter(pk=users["grid01"].pk).update(is_active=False)  # G01 loses its grid worker
    director = page(users["director"], f"?community={DEMO}").content.decode()
    assert 'data-what="grid_without_worker"' in director
    assert "Ask a platform administrator for a grid-worker account" in director
    admin = page(users["admin"], f"?community={DEMO}").content.decode()
    assert "Give a grid-worker account each of these grids as its region." in admin
    assert "Ask a platform administrator" not in admin
    chinese = page(users["director"], f"?community={DEMO}", "zh-hans").content.decode()
    assert "请平台管理员为这些网格各开一个网格员账号" in chinese


def test_the_page_in_chinese(users, demo):
    text = page(users["director"], f"?community={DEMO}", "zh-hans").content.decode()
    assert "上线准备情况" in text
    assert "没有住户的住宅" in text
    assert "去补上" in text


def test_a_ready_community_says_so(users, town):
    text = page(users["admin"], "?community=T-RDY").content.decode()
    assert 'data-ready="1"' in text
    assert "Ready: nothing is missing." in text


def test_a_street_officer_sees_every_community_of_the_street(users, demo, town):
    text = page(users["street01"]).content.decode()
    assert f'data-community="{DEMO}"' in text
    assert 'data-community="T-RDY"' in text
    assert page(users["street01"], "?community=T-RDY").status_code == 200


def test_a_director_of_another_community_gets_a_404(users, demo, town):
    other = User.objects.create(
        username="t-rdy-director", role="community_director", region=town["community"]
    )
    assert page(other, f"?community={DEMO}").status_code == 404
    assert page(users["director"], "?community=T-RDY").status_code == 404
    assert page(other).status_code == 200
    assert 'data-what="' not in page(other).content.decode()  # her own, ready community


@pytest.mark.parametrize("username", ["grid01", "auditor", "resident01"])
def test_other_roles_are_refused(users, demo, username):
    assert page(users[username]).status_code == 403
    assert page(users[username], f"?community={DEMO}").status_code == 403


def test_the_cockpit_links_to_the_page_for_directors(users, demo):
    text = page(users["director"]).content.decode()
    assert text
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["director"])
    cockpit = client.get("/cockpit/").content.decode()
    assert f'href="/readiness/?community={DEMO}"' in cockpit
    client.force_login(users["auditor"])
    assert "/readiness/" not in client.get("/cockpit/").content.decode()


# --- the command ---------------------------------------------------------------------------------------


def test_the_command_writes_the_json_and_exits_1_when_not_ready(demo, tmp_path, capsys):
    out = tmp_path / "readiness.json"
    with pytest.raises(CommandError) as refused:
        call_command("readiness", "--community", DEMO, "--json", str(out))
    assert refused.value.returncode == 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == readiness.readiness(demo).as_dict()
    assert set(data) == TOP_KEYS
    printed = capsys.readouterr().out
    assert f"{DEMO}: not ready" in printed
    assert "unit_without_household (Residential units without a household): " in printed


def test_the_command_exits_0_when_ready(town, tmp_path, capsys):
    out = tmp_path / "readiness.json"
    call_command("readiness", "--community", "T-RDY", "--json", str(out))
    assert json.loads(out.read_text(encoding="utf-8")) == TOWN_READY
    assert "T-RDY: ready" in capsys.readouterr().out


def test_the_command_exits_2_for_an_unknown_community_and_writes_nothing(db, tmp_path):
    out = tmp_path / "readiness.json"
    with pytest.raises(CommandError) as refused:
        call_command("readiness", "--community", "NOWHERE", "--json", str(out))
    assert refused.value.returncode == 2
    assert "NOWHERE" in str(refused.value)
    assert not out.exists()
    with pytest.raises(CommandError) as grid:
        call_command("readiness", "--community", "G01", "--json", str(out))
    assert grid.value.returncode == 2


def test_without_community_one_community_is_its_object(demo, tmp_path):
    out = tmp_path / "readiness.json"
    with pytest.raises(CommandError):
        call_command("readiness", "--json", str(out))
    assert json.loads(out.read_text(encoding="utf-8")) == readiness.readiness(demo).as_dict()


def test_without_community_several_communities_are_summed_and_listed(demo, town, tmp_path, capsys):
    out = tmp_path / "readiness.json"
    with pytest.raises(CommandError) as refused:
        call_command("readiness", "--json", str(out))
    assert refused.value.returncode == 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == {"community", "ready", "missing", "communities"}
    assert data["community"] is None and data["ready"] is False
    assert [c["community"] for c in data["communities"]] == [DEMO, "T-RDY"]
    assert data["communities"][1] == TOWN_READY
    demo_gaps = readiness.readiness(demo).as_dict()["missing"]
    assert data["missing"] == [{"what": g["what"], "count": g["count"], "where": [DEMO]} for g in demo_gaps]
    printed = capsys.readouterr().out
    assert "T-RDY: ready" in printed and f"{DEMO}: not ready" in printed


def test_the_json_can_go_to_stdout_with_the_summary_on_stderr(town, capsys):
    call_command("readiness", "--community", "T-RDY", "--json", "-")
    captured = capsys.readouterr()
    assert json.loads(captured.out) == TOWN_READY
    assert "T-RDY: ready" in captured.err
