# ruff: noqa: F401, F811 -- the fixtures imported from test_api are used as arguments
"""The cockpit's risks panel: the state's ``risks`` key (the hazard register's riskiest hazards, their
band and what they expose as counts, the register's review), its order, its scope and its query count."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.cockpit.risks import SHOWN, risks_state
from banyan.cockpit.tests.test_api import NOW, community, now
from banyan.emergency.hazards import update_hazard
from banyan.emergency.models import Hazard
from banyan.people.auth import create_token
from banyan.people.models import Household, Resident, User

ITEM_KEYS = {
    "id", "kind", "label", "likelihood", "impact", "risk", "band", "grade", "places", "facilities",
    "buildings", "households", "residents_in_care", "review_due", "url",
}  # fmt: skip
pytestmark = pytest.mark.usefixtures("now")


def other_director(api, outside, username: str):
    """A director of the sibling community (outside the demo one) and an API client signed in as her."""
    sibling = outside["sibling"]["community"]
    other = User.objects.create_user(username, role="community_director", region=sibling)
    client = api()
    client.headers["Authorization"] = f"Bearer {create_token(other)}"
    return other, client


def risks(api, username: str = "director", language: str = "en", **query) -> dict:
    client = api(username)
    client.headers["Accept-Language"] = language
    response = client.get("cockpit/state", data=query)
    assert response.status_code == 200, response.data
    return response.data["risks"]


def test_the_riskiest_hazards_with_their_exposure_as_counts(api, community):
    data = risks(api)
    register = list(Hazard.objects.filter(community=community))
    assert data["community"] == community.code and data["count"] == len(register) == 11
    assert data["high"] == sum(1 for h in register if h.likelihood * h.impact >= data["high_at"]) == 5
    # Riskiest first, then by code: typhoon 16, heat wave 15, then epidemic, fire and flood at 12.
    assert [(h["kind"], h["risk"]) for h in data["hazards"]] == [
        ("typhoon", 16), ("heat_wave", 15), ("epidemic", 12), ("fire", 12), ("flood", 12),
    ]  # fmt: skip
    assert len(data["hazards"]) == SHOWN
    flood = data["hazards"][4]
    assert set(flood) == ITEM_KEYS
    stored = Hazard.objects.get(community=community, kind="flood")
    buildings = [row["id"] for row in stored.exposure["buildings"]]
    assert buildings and stored.exposure["facilities"], "the seed has garages and low flats"
    assert (flood["band"], flood["grade"], flood["label"]) == ("high", "red", "Flood or waterlogging")
    assert flood["places"] == len(buildings) + len(stored.exposure["facilities"])
    assert flood["buildings"] == len(buildings)
    assert flood["households"] == Household.objects.filter(unit__building_id__in=buildings).count() > 0
    assert flood["residents_in_care"] == stored.exposure["residents_in_care"]
    assert flood["url"] == f"/emergency/hazards/{stored.pk}/" and data["url"] == "/emergency/hazards/"
    epidemic = data["hazards"][2]  # exposes no building: its residents in care are the community's
    assert (epidemic["places"], epidemic["households"]) == (0, 0) and epidemic["residents_in_care"] > 0
    # Never reviewed (the seed installs the register): overdue, with no review date.
    assert (data["reviewed_at"], data["review_due"], data["reviews_due"]) == (None, True, 11)
    text = str(data)
    for resident in Resident.objects.filter(household__unit__building_id__in=buildings)[:20]:
        assert resident.name not in text  # counts only


def test_the_order_and_bands_follow_the_register(api, community, users):
    earthquake = Hazard.objects.get(community=community, kind="earthquake")
    update_hazard(actor=users["director"], hazard=earthquake, likelihood=5, impact=5)
    typhoon = Hazard.objects.get(community=community, kind="typhoon")
    update_hazard(actor=users["director"], hazard=typhoon, likelihood=2, impact=4)
    data = risks(api)
    assert [h["kind"] for h in data["hazards"]] == ["earthquake", "heat_wave", "epidemic", "fire", "flood"]
    assert data["hazards"][0]["risk"] == 25 and data["high"] == 5  # typhoon fell to 8, earthquake rose
    Hazard.objects.filter(community=community, kind__in=["heat_wave", "epidemic", "fire", "flood"]).update(
        impact=2
    )  # heat wave 10, flood 8 (with gas leak and typhoon), epidemic and fire 6
    data = risks(api)
    assert [(h["kind"], h["band"], h["grade"]) for h in data["hazards"]] == [
        ("earthquake", "high", "red"), ("heat_wave", "medium", "yellow"), ("flood", "medium", "yellow"),
        ("gas_leak", "medium", "yellow"), ("typhoon", "medium", "yellow"),
    ]  # fmt: skip
    assert data["high"] == 1
    Hazard.objects.filter(community=community, kind="typhoon").update(likelihood=1, impact=5)
    kinds = [h["kind"] for h in risks(api)["hazards"]]
    assert kinds[4] == "crowd" and "typhoon" not in kinds  # 5 is under the four at 6
    Hazard.objects.filter(community=community).update(likelihood=1, impact=2)
    data = risks(api)
    assert {(h["risk"], h["band"], h["grade"]) for h in data["hazards"]} == {(2, "low", "blue")}
    assert data["high"] == 0
    chinese = risks(api, language="zh-hans")["hazards"]
    assert chinese[0]["kind"] == "cold_wave" and chinese[0]["label"] == "寒潮"  # all at 2: by code


def test_the_review_date_is_the_least_recent_and_overdue_after_a_year(api, community, now):
    Hazard.objects.filter(community=community).update(reviewed_at=NOW - dt.timedelta(days=10))
    oldest = NOW - dt.timedelta(days=200)
    Hazard.objects.filter(community=community, kind="outage").update(reviewed_at=oldest)
    data = risks(api)
    assert (data["reviewed_at"], data["review_due"], data["reviews_due"]) == (oldest.isoformat(), False, 0)
    assert not any(h["review_due"] for h in data["hazards"])
    now.advance(dt.timedelta(days=170))  # the outage's review is a year old
    data = risks(api)
    assert (data["reviewed_at"], data["review_due"], data["reviews_due"]) == (oldest.isoformat(), True, 1)
    Hazard.objects.filter(community=community, kind="typhoon").update(reviewed_at=None)
    data = risks(api)
    assert data["reviewed_at"] is None and data["reviews_due"] == 2
    assert data["hazards"][0]["kind"] == "typhoon" and data["hazards"][0]["review_due"] is True


def test_scope_another_directors_cockpit_shows_her_own_register_only(api, community, outside, users):
    other, client = other_director(api, outside, "t-risks-sib")
    own = client.get("cockpit/state")
    assert own.status_code == 200 and own.data["community"] == other.region.code
    assert own.data["risks"]["count"] == 0 and own.data["risks"]["hazards"] == []  # her community has none
    assert client.get("cockpit/state", data={"community": community.code}).status_code == 404
    assert risks_state(other, community, language="en")["count"] == 0  # not even when asked directly
    assert risks(api, "street01", community=community.code)["count"] == 11
    assert risks(api, "auditor", community=community.code)["count"] == 11
    assert risks_state(users["resident01"], community) is None  # residents see no register


def test_the_risks_are_read_in_two_queries(users, community, django_assert_num_queries):
    with django_assert_num_queries(2):  # the register, the households of the exposed buildings
        data = risks_state(users["director"], community, language="en")
    assert data is not None and len(data["hazards"]) == SHOWN
