# ruff: noqa: F401, F811 -- the fixtures imported from board_fixtures are used as arguments
"""The read-only API of the emergency parts (``banyan/emergency/api_parts.py``): the hazard register, plans,
an emergency's roll call, shelters and supplies and its after-action review — their shapes, their counts
after a roll-call answer and a shelter check-in, scope (another community's director gets 404, roles that
may not view emergencies 403, no session 401), bad parameters (400 naming the parameter and what it
accepts), no personal data, and the queries a list costs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from banyan.conftest import ApiClient
from banyan.core import clock
from banyan.emergency import hazards, review, services
from banyan.emergency.models import Emergency, Hazard, Plan
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.rollcall.models import Entry
from banyan.emergency.schemas import (
    ExposureOut,
    HazardOut,
    PlanOut,
    ReviewOut,
    RollCallFiguresOut,
    RollCallOut,
    ShelterOut,
    SheltersOut,
    StockOut,
    SupplyPlaceOut,
)
from banyan.emergency.shelters import services as shelters
from banyan.emergency.shelters.models import Shelter, Stock
from banyan.emergency.tests.board_fixtures import community, make_plan, plan, sim
from banyan.people.auth import create_token
from banyan.people.models import Resident, User
from banyan.places.choices import FacilityKind

README = Path(__file__).resolve().parents[3] / "README.md"

HAZARD_KEYS = {
    "id",
    "community",
    "hazard",
    "likelihood",
    "impact",
    "risk",
    "exposure",
    "reviewed_at",
    "review_due",
}
EXPOSURE_KEYS = {
    "facilities",
    "buildings",
    "basement_units",
    "ground_floor_units",
    "residents_in_care",
    "residents_in_care_65",
    "residents_65_alone",
    "building_ids",
    "facility_ids",
}
PLAN_KEYS = {"id", "community", "hazard", "level", "version", "is_current", "title_zh", "title_en", "body"}
ROLL_CALL_KEYS = {
    "id",
    "started_at",
    "closed_at",
    "wait_minutes",
    "vulnerable_wait_minutes",
    "asked",
    "safe",
    "need_help",
    "accounted",
    "waiting",
    "visiting",
    "vulnerable",
    "vulnerable_accounted",
    "curve",
}
REVIEW_KEYS = {
    "emergency",
    "detection",
    "tasks",
    "task_summary",
    "roll_call",
    "sla",
    "shelters",
    "lessons",
    "timeline",
}
PARTS = ("roll-call", "shelters", "review")


@pytest.fixture
def active(plan, users):
    """The orange (II) typhoon emergency of the seeded community over the whole community."""
    return services.activate(actor=users["director"], community=community(), hazard="typhoon", level=2)


@pytest.fixture
def sibling_director(outside):
    """The director of the sibling community (same street, another community)."""
    return User.objects.create_user(
        "t-parts-sib", role="community_director", region=outside["sibling"]["community"]
    )


def get(api, username, path, **query):
    return api(username).get(path, data=query)


# --- the register -------------------------------------------------------------------------------------


def test_the_register_lists_each_hazard_with_its_exposure_as_counts_and_ids(api, sim, users):
    hazards.install_register(community())
    flood = Hazard.objects.get(community=community(), kind="flood")
    response = get(api, "director", "emergency/hazards", community=community().code, limit=500)
    assert response.status_code == 200, response.data
    assert set(response.data) == {"count", "items"}
    assert response.data["count"] == Hazard.objects.filter(community=community()).count() == 11
    items = {item["hazard"]: item for item in response.data["items"]}
    assert all(set(item) == HAZARD_KEYS for item in items.values())
    row = items["flood"]
    assert (row["id"], row["community"]) == (flood.pk, community().code)
    assert (row["likelihood"], row["impact"], row["risk"]) == (flood.likelihood, flood.impact, flood.risk)
    assert set(row["exposure"]) == EXPOSURE_KEYS
    assert row["exposure"]["building_ids"] == [b["id"] for b in flood.exposure["buildings"]]
    assert row["exposure"]["buildings"] == len(flood.exposure["buildings"]) > 0
    assert row["exposure"]["residents_in_care"] == flood.exposure["residents_in_care"]
    assert row["reviewed_at"] is None and row["review_due"] is True

    hazards.review_hazard(actor=users["director"], hazard=flood)
    row = next(
        i for i in get(api, "director", "emergency/hazards", limit=500).data["items"] if i["id"] == flood.pk
    )
    assert row["review_due"] is False
    assert dt.datetime.fromisoformat(row["reviewed_at"]) == clock.now()


def test_the_register_holds_no_names(api, sim):
    hazards.install_register(community())
    text = json.dumps(get(api, "director", "emergency/hazards", limit=500).data, ensure_ascii=False)
    for resident in Resident.objects.filter(household__grid__parent=community())[:50]:
        assert resident.name not in text
    assert '"code"' not in text and "name" not in text


def test_the_register_of_another_community_is_listed_only_in_its_scope(api, sim, users, sibling_director):
    hazards.install_register(community())
    mine = get(api, "director", "emergency/hazards", limit=500).data
    client = ApiClient(sibling_director)
    assert client.get("emergency/hazards?limit=500").data["count"] == 0
    assert client.get(f"emergency/hazards?community={community().code}").data == {"count": 0, "items": []}
    assert {item["community"] for item in mine["items"]} == {community().code}
    assert get(api, "volunteer01", "emergency/hazards").status_code == 200
    assert get(api, "resident01", "emergency/hazards").status_code == 403
    assert api(None).get("emergency/hazards").status_code == 401


# --- plans ----------------------------------------------------------------------------------------------


def test_plans_filter_by_hazard_level_and_current_version(api, plan, users):
    first = make_plan(level=3)
    Plan.objects.filter(pk=first.pk).update(is_current=False)
    second = Plan.objects.create(
        community=community(),
        hazard="typhoon",
        level=3,
        version=2,
        title_zh="防台风应急预案（3级）第二版",
        title_en="Typhoon plan (level 3), v2",
        body=first.body,
        created_at=clock.now(),
    )
    make_plan(level=2, hazard="flood")
    response = get(api, "director", "emergency/plans", hazard="typhoon", limit=500)
    assert response.status_code == 200, response.data
    assert [(i["level"], i["version"]) for i in response.data["items"]] == [(2, 1), (3, 2), (3, 1)]
    assert all(set(item) == PLAN_KEYS for item in response.data["items"])

    current = get(api, "director", "emergency/plans", hazard="typhoon", level="3", current="true").data
    assert current["count"] == 1
    item = current["items"][0]
    assert (item["id"], item["version"], item["is_current"]) == (second.pk, 2, True)
    assert (item["title_zh"], item["title_en"]) == (second.title_zh, second.title_en)
    assert item["body"]["tasks"][0]["key"] == "duty" and item["community"] == community().code
    earlier = get(api, "director", "emergency/plans", level="3", current="FALSE").data
    assert [i["id"] for i in earlier["items"]] == [first.pk]
    # An empty parameter is no filter.
    assert get(api, "director", "emergency/plans", hazard="", level="").data["count"] == 4
    assert get(api, "director", "emergency/plans", community="NOPE").data["count"] == 0

    detail = get(api, "director", f"emergency/plans/{second.pk}")
    assert detail.status_code == 200 and detail.data == item


def test_bad_parameters_are_400_naming_the_parameter_and_what_it_accepts(api, plan):
    for query, field, accepted in (
        ({"hazard": "volcano"}, "hazard", "typhoon, flood"),
        ({"level": "5"}, "level", "1, 2, 3, 4"),
        ({"level": "II"}, "level", "1, 2, 3, 4"),
        ({"current": "maybe"}, "current", "true, false"),
    ):
        response = get(api, "director", "emergency/plans", **query)
        assert response.status_code == 400, (query, response.data)
        assert response.data["field"] == field and response.data["code"] == "invalid"
        assert accepted in response.data["detail"], response.data
    assert get(api, "director", "emergency/plans", limit="0").status_code == 422  # the paging of every list
    assert get(api, "director", "emergency/plans/99999999999999999999").status_code == 404
    assert get(api, "director", "emergency/plans/0").status_code == 404
    assert get(api, "director", "emergencies/99999999999999999999/review").status_code == 404
    assert get(api, "director", "emergencies/abc/roll-call").status_code == 404


def test_a_plan_of_another_community_is_404_and_listed_nowhere(api, plan, outside, sibling_director):
    far = make_plan(level=1, where=outside["sibling"]["community"])
    assert get(api, "director", f"emergency/plans/{far.pk}").status_code == 404
    assert far.pk not in {i["id"] for i in get(api, "director", "emergency/plans", limit=500).data["items"]}
    client = ApiClient(sibling_director)
    assert client.get(f"emergency/plans/{far.pk}").status_code == 200
    assert client.get(f"emergency/plans/{plan.pk}").status_code == 404
    assert get(api, "street01", f"emergency/plans/{far.pk}").status_code == 200
    assert get(api, "resident01", f"emergency/plans/{plan.pk}").status_code == 403
    assert api(None).get(f"emergency/plans/{plan.pk}").status_code == 401


# --- the roll call, shelters and supplies --------------------------------------------------------------


def test_counts_follow_a_roll_call_answer_and_a_shelter_check_in(api, active, users):
    director = users["director"]
    before = get(api, "director", f"emergencies/{active.pk}/roll-call")
    assert before.status_code == 200 and before.data == {"emergency": active.pk, "roll_call": None}

    roll_call = rollcall.start_roll_call(actor=director, emergency=active)
    asked = Entry.objects.filter(roll_call=roll_call).count()
    vulnerable = Entry.objects.filter(roll_call=roll_call, vulnerable=True).count()
    data = get(api, "director", f"emergencies/{active.pk}/roll-call").data["roll_call"]
    assert set(data) == ROLL_CALL_KEYS
    assert (data["id"], data["asked"], data["safe"], data["waiting"]) == (roll_call.pk, asked, 0, asked)
    assert data["vulnerable"] == vulnerable > 0 and data["vulnerable_accounted"] == 0
    assert (data["wait_minutes"], data["vulnerable_wait_minutes"]) == (15, 5)
    assert data["closed_at"] is None and data["curve"] == [[0.0, 0.0]]

    resident = users["resident01"]
    entry = Entry.objects.get(roll_call=roll_call, household_id=resident.resident.household_id)
    rollcall.answer(actor=resident, entry=entry, status="safe")
    after = get(api, "volunteer01", f"emergencies/{active.pk}/roll-call").data["roll_call"]
    assert (after["asked"], after["safe"], after["waiting"], after["need_help"]) == (asked, 1, asked - 1, 0)
    if entry.vulnerable:
        assert after["vulnerable_accounted"] == 1 and after["curve"][-1][1] == round(1 / vulnerable, 4)
    text = json.dumps(after, ensure_ascii=False)
    assert resident.resident.name not in text and "phone" not in text

    assert get(api, "director", f"emergencies/{active.pk}/shelters").data["shelters"] == []
    shelters.install_shelters(community())
    centre = Shelter.objects.get(community=community(), facility__kind=FacilityKind.COMMUNITY_CENTRE)
    shelters.open_shelter(actor=director, shelter=centre, emergency=active)
    person = Resident.objects.restrict(director).order_by("id").first()
    shelters.check_in(actor=director, shelter=centre, resident=person)
    water = Stock.objects.get(community=community(), place=centre.facility, kind="water")
    shelters.move_stock(actor=director, stock=water, kind="reserved", quantity=10, emergency=active)

    answer = get(api, "grid01", f"emergencies/{active.pk}/shelters")
    assert answer.status_code == 200, answer.data
    assert set(answer.data) == {"emergency", "shelters", "supplies", "summary"}
    row = next(s for s in answer.data["shelters"] if s["id"] == centre.pk)
    assert row == {
        "id": centre.pk,
        "facility": centre.facility_id,
        "name_zh": centre.facility.name_zh,
        "name_en": centre.facility.name_en,
        "capacity": centre.capacity,
        "occupancy": 1,
        "free": centre.capacity - 1,
        "features": [n for n in ("step_free", "medical_corner", "pets") if getattr(centre, n)],
        "open": True,
        "open_for_emergency": True,
        "opened_at": row["opened_at"],
    }
    assert dt.datetime.fromisoformat(row["opened_at"]) == clock.now()
    others = [s for s in answer.data["shelters"] if s["id"] != centre.pk]
    assert others and not any(s["open"] or s["occupancy"] for s in others)
    place = next(p for p in answer.data["supplies"] if p["place"] == centre.facility_id)
    water.refresh_from_db()
    assert place["place_code"] == centre.facility.code
    assert next(s for s in place["stocks"] if s["kind"] == "water") == {
        "kind": "water",
        "unit": water.unit,
        "on_hand": water.quantity,
        "reserved": water.reserved,
        "reserved_for_emergency": 10,
        "available": water.quantity - water.reserved,
        "low_at": water.low_at,
        "low": water.quantity <= water.low_at,
    }
    summary = answer.data["summary"]
    assert (summary["sheltered_now"], summary["check_ins"], summary["shelter_peak"]) == (1, 1, 1)
    assert summary["supplies_reserved"] == {"water": 10}
    assert person.name not in json.dumps(answer.data, ensure_ascii=False)


# --- the review -----------------------------------------------------------------------------------------


def test_the_review_gives_the_figures_with_owners_as_organisation_and_role(api, active, sim, users):
    director = users["director"]
    roll_call = rollcall.start_roll_call(actor=director, emergency=active)
    sim.advance(dt.timedelta(minutes=20))
    duty = active.tasks.get(key="duty")
    services.complete_task(actor=director, task=duty)
    body = review.owners_for(active).first()
    grid_worker = users["grid01"]
    review.add_lesson(
        actor=director, emergency=active, text="提前30分钟堆沙袋", owner=body.pk, owner_user=grid_worker.pk
    )
    response = get(api, "auditor", f"emergencies/{active.pk}/review")
    assert response.status_code == 200, response.data
    data = response.data
    assert set(data) == REVIEW_KEYS
    expected = review.after_action_review(Emergency.objects.get(pk=active.pk))
    assert data["detection"] == expected["detection"] and data["sla"] == expected["sla"]
    assert data["task_summary"] == expected["task_summary"] == {**data["task_summary"], "late": 1}
    assert data["emergency"]["id"] == active.pk and data["shelters"] == expected["shelters"]
    assert data["roll_call"]["counts"]["asked"] == Entry.objects.filter(roll_call=roll_call).count()
    assert data["roll_call"]["resilience_loss"] == expected["roll_call"]["resilience_loss"] > 0
    tasks = {task["key"]: task for task in data["tasks"]}
    assert tasks["duty"]["outcome"] == "late" and tasks["duty"]["late_min"] == 5
    assert tasks["duty"]["owner"] == duty.owner.code
    assert [(lesson["owner"], lesson["owner_role"]) for lesson in data["lessons"]] == [
        (body.code, grid_worker.role)
    ]
    assert data["lessons"][0]["text"] == "提前30分钟堆沙袋" and data["lessons"][0]["done"] is False
    text = json.dumps(data, ensure_ascii=False)
    assert grid_worker.display_name not in text and "owner_user" not in text


# --- scope and roles ------------------------------------------------------------------------------------


def test_another_communitys_director_gets_404_and_roles_without_emergencies_403(
    api, active, sibling_director
):
    client = ApiClient(sibling_director)
    for part in PARTS:
        path = f"emergencies/{active.pk}/{part}"
        answer = client.get(path)
        assert answer.status_code == 404 and answer.data["code"] == "not_found", (part, answer.data)
        assert get(api, "resident01", path).status_code == 403, part
        assert api(None).get(path).status_code == 401, part
        for username in ("volunteer01", "property01", "grid01", "auditor", "street01", "admin"):
            assert get(api, username, path).status_code == 200, (username, part)


def test_a_read_only_token_reads_every_part(users, active):
    client = ApiClient()
    client.headers["Authorization"] = f"Bearer {create_token(users['street01'], scopes=['read'])}"
    for path in (
        "emergency/hazards",
        "emergency/plans",
        *(f"emergencies/{active.pk}/{part}" for part in PARTS),
    ):
        assert client.get(path).status_code == 200, path


# --- what a list costs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["emergency/hazards?limit=500", "emergency/plans?limit=500"])
def test_a_list_costs_the_same_few_queries_however_long(api, sim, path, django_assert_max_num_queries):
    hazards.install_register(community())
    client = api("street01")
    client.get(path)  # the token's first use
    with django_assert_max_num_queries(4):  # the same for 11 hazards or 500
        answer = client.get(path)
    assert answer.status_code == 200 and answer.data["count"] >= 11


@pytest.mark.parametrize("part, most", [("roll-call", 6), ("shelters", 15)])
def test_an_emergencys_part_costs_a_fixed_number_of_queries(
    api, active, users, part, most, django_assert_max_num_queries
):
    shelters.install_shelters(community())
    rollcall.start_roll_call(actor=users["director"], emergency=active)
    client = api("director")
    client.get(f"emergencies/{active.pk}/{part}")
    with django_assert_max_num_queries(most):  # not one more a shelter, a stock or a household
        answer = client.get(f"emergencies/{active.pk}/{part}")
    assert answer.status_code == 200


# --- the contract -----------------------------------------------------------------------------------


def test_the_readme_names_every_path_and_key_of_the_contract():
    """The README's Emergencies section is the contract outside tools rely on: every path and every key
    the answers carry is named there (a key added to a schema must be written down)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Emergencies") : text.index("## Cockpit")]
    contract = " ".join(section.split())
    for path in (
        "GET /emergency/hazards?community=CODE",
        "GET /emergency/plans?community=CODE&hazard=&level=&current=true",
        "GET /emergency/plans/{id}",
        "GET /emergencies/{id}/roll-call",
        "GET /emergencies/{id}/shelters",
        "GET /emergencies/{id}/review",
    ):
        assert f"`{path}" in contract, path
    for schema in (
        HazardOut,
        ExposureOut,
        PlanOut,
        RollCallOut,
        RollCallFiguresOut,
        SheltersOut,
        ShelterOut,
        SupplyPlaceOut,
        StockOut,
        ReviewOut,
    ):
        for key in schema.model_fields:
            assert f'"{key}"' in contract, (schema.__name__, key)
    assert "a JSON API for the register" not in contract
