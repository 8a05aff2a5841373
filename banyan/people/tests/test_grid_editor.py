"""The grid editor page: who may open it, proposals by target size, saving grids through apply_grids."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.people.models import Household
from banyan.places.models import Building, Region

DEMO = "330102001001"


@pytest.fixture
def url():
    return reverse("places:grid-editor", args=[DEMO])


def grids_field(page) -> dict:
    return json.loads(page.context["save_form"]["grids"].value())


def test_directors_see_their_community_with_its_grids_and_buildings(signed_in, url):
    page = signed_in("director").get(url)

    assert page.status_code == 200
    codes = [f["properties"]["code"] for f in grids_field(page)["features"]]
    assert codes == sorted(
        Region.objects.filter(parent__code=DEMO, kind="grid").values_list("code", flat=True)
    )
    assert (
        len(page.context["map_data"]["buildings"]) == Building.objects.filter(grid__parent__code=DEMO).count()
    )
    body = page.content.decode()
    assert 'id="grid-editor-data"' in body and "places/grid-editor.js" in body
    assert "<script>" not in body and " style=" not in body


@pytest.mark.parametrize(("username", "status"), [("grid01", 403), ("auditor", 403), ("resident01", 403)])
def test_roles_that_cannot_change_places_are_refused(signed_in, url, username, status):
    assert signed_in(username).get(url).status_code == status


def test_a_grid_or_an_unknown_code_is_not_found(signed_in):
    client = signed_in("admin")
    assert client.get(reverse("places:grid-editor", args=["G01"])).status_code == 404
    assert client.get(reverse("places:grid-editor", args=["NO-SUCH"])).status_code == 404


def test_a_proposal_is_shown_with_its_table_and_accepted(signed_in, url):
    client = signed_in("director")
    households = Household.objects.filter(grid__parent__code=DEMO).count()

    buildings = Building.objects.filter(grid__parent__code=DEMO).count()
    page = client.get(url, {"target": households // buildings, "measure": "households"})

    proposals = page.context["proposals"]
    assert len(proposals) == buildings
    assert sum(row["household_count"] for row in page.context["proposal_rows"]) == households
    assert page.context["map_data"]["proposal"]["features"][0]["properties"]["code"] == proposals[0].code
    assert "Accept this proposal" in page.content.decode()

    before = AuditEntry.objects.filter(action="grids.update").count()
    answer = client.post(url, {"grids": page.context["proposal_geojson"]})

    assert answer.status_code == 302 and answer["Location"] == url
    assert AuditEntry.objects.filter(action="grids.update").count() == before + 1
    grids = {g.code: g for g in Region.objects.filter(parent__code=DEMO, kind="grid")}
    assert set(grids) == {p.code for p in proposals}
    for proposal in proposals:
        assert set(Building.objects.filter(grid=grids[proposal.code]).values_list("pk", flat=True)) == set(
            proposal.building_ids
        )
        households_here = Household.objects.filter(unit__building__in=proposal.building_ids)
        assert set(households_here.values_list("grid__code", flat=True)) <= {proposal.code}


def test_accepting_fewer_grids_than_hold_accounts_is_refused(signed_in, url):
    client = signed_in("director")
    households = Household.objects.filter(grid__parent__code=DEMO).count()
    page = client.get(url, {"target": households // 2, "measure": "households"})
    assert len(page.context["proposals"]) == 2

    answer = client.post(url, {"grids": page.context["proposal_geojson"]})

    assert answer.status_code == 200
    assert "cannot be removed" in answer.content.decode()
    assert Region.objects.filter(parent__code=DEMO, kind="grid").count() == 6


def test_a_bad_proposal_request_is_answered_at_its_field(signed_in, url):
    page = signed_in("director").get(url, {"target": "-3", "measure": "floors"})
    assert page.status_code == 200
    assert page.context["proposals"] == []
    assert set(page.context["proposal_form"].errors) == {"target", "measure"}


def test_renaming_in_the_table_saves_through_apply_grids(signed_in, url):
    client = signed_in("director")
    page = client.get(url)

    answer = client.post(
        url, {"grids": json.dumps(grids_field(page)), "name_zh-G01": "幸福网格", "name_en-G01": "Happy grid"}
    )

    assert answer.status_code == 302
    grid = Region.objects.get(code="G01")
    assert (grid.name_zh, grid.name_en) == ("幸福网格", "Happy grid")


def test_a_refused_save_shows_why_and_changes_nothing(signed_in, url):
    client = signed_in("director")
    page = client.get(url)
    grids = grids_field(page)
    before = list(Region.objects.filter(parent__code=DEMO).values_list("code", "name_zh", "boundary"))

    overlapping = json.loads(json.dumps(grids))
    overlapping["features"][1]["geometry"] = overlapping["features"][0]["geometry"]
    for body, words in [
        ({"grids": "{not json"}, "not valid JSON (line 1, column 2)"),
        ({"grids": "[]"}, "Expected a GeoJSON FeatureCollection"),
        ({"grids": json.dumps(overlapping)}, "overlap by"),
        ({"grids": json.dumps(grids), "remove": "G01"}, "Grid G01 cannot be removed"),
    ]:
        answer = client.post(url, body)
        assert answer.status_code == 200, body
        assert words in answer.content.decode(), words
        assert "Nothing was changed" in answer.content.decode()

    after = list(Region.objects.filter(parent__code=DEMO).values_list("code", "name_zh", "boundary"))
    assert after == before


def test_the_page_reads_in_chinese(signed_in, url):
    page = signed_in("director", "zh-hans").get(url, {"target": 30, "measure": "buildings"})
    body = page.content.decode()
    assert "提议网格" in body and "保存网格" in body and "接受此方案" in body
