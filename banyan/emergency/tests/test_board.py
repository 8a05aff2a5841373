# ruff: noqa: F401, F811 -- the fixtures imported from board_fixtures are used as arguments
"""The emergency list and board pages, and the API: who sees and does what, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from banyan.emergency import services
from banyan.emergency.models import Emergency
from banyan.emergency.tests.board_fixtures import START, community, make_plan, plan, sim
from banyan.places.models import Region
from banyan.response import services as response_services
from banyan.warning.models import OfficialWarning


def _active(users, grids=()) -> Emergency:
    return services.activate(
        actor=users["director"], community=community(), hazard="typhoon", level=2, area_grids=list(grids)
    )


def _proposed(plan) -> Emergency:
    warning = OfficialWarning.objects.create(
        identifier="W1", sender="zj@cma", sent=START, status="Actual", msg_type="Alert", scope="Public",
        event="台风", severity="Severe", grade="orange", headline_zh="台风橙色预警", raw="<alert/>",
        imported_at=START,
    )  # fmt: skip
    emergency = services.propose(
        community=plan.community, hazard="typhoon", level=2, trigger="cap", official_warning=warning
    )
    assert emergency is not None
    return emergency


def test_the_list_shows_proposed_ones_and_the_director_confirms_with_one_click(signed_in, users, plan):
    proposed = _proposed(plan)
    client = signed_in("director", "zh-hans")
    page = client.get(reverse("emergency:emergencies"))
    assert page.status_code == 200
    text = page.content.decode()
    assert f'data-confirm="{proposed.pk}"' in text and "启动" in text
    assert "data-activate-form" in text
    response = client.post(reverse("emergency:confirm", args=[proposed.pk]))
    assert response.status_code == 302 and response["Location"] == reverse(
        "emergency:board", args=[proposed.pk]
    )
    proposed.refresh_from_db()
    assert proposed.status == "active" and proposed.activated_by == users["director"]
    # the second click: nothing more, and the page says why
    again = client.post(reverse("emergency:confirm", args=[proposed.pk]))
    assert again.status_code == 409 and "message--warning" in again.content.decode()
    assert proposed.tasks.count() == 4


def test_viewers_see_the_list_without_the_buttons(signed_in, plan):
    proposed = _proposed(plan)
    page = signed_in("grid01").get(reverse("emergency:emergencies"))
    assert page.status_code == 200
    text = page.content.decode()
    assert f'data-emergency="{proposed.pk}"' in text
    assert "data-confirm" not in text and "data-activate-form" not in text
    assert signed_in("grid01").post(reverse("emergency:confirm", args=[proposed.pk])).status_code == 403
    assert signed_in("resident01").get(reverse("emergency:emergencies")).status_code == 403
    proposed.refresh_from_db()
    assert proposed.status == "proposed"


def test_activating_a_plan_from_the_list(signed_in, plan):
    client = signed_in("director")
    grid = Region.objects.get(code="G01", kind="grid")
    refused = client.post(
        reverse("emergency:emergencies"),
        {"community": str(community().pk), "hazard": "typhoon", "level": "1"},
    )
    assert refused.status_code == 200 and "no current plan" in refused.content.decode()
    assert not Emergency.objects.exists()
    response = client.post(
        reverse("emergency:emergencies"),
        {"community": str(community().pk), "hazard": "typhoon", "level": "2", "area_grids": [str(grid.pk)]},
    )
    [emergency] = Emergency.objects.all()
    assert response.status_code == 302 and response["Location"] == reverse(
        "emergency:board", args=[emergency.pk]
    )
    assert list(emergency.area_grids.all()) == [grid]


def test_the_board_shows_tasks_by_state_timeline_sections_and_incidents(signed_in, users, plan, sim):
    g01 = Region.objects.get(code="G01", kind="grid")
    emergency = _active(users, [g01])
    building = g01.buildings.order_by("code").first()
    incident = response_services.open_incident(
        actor=users["director"], category="flooding", source="staff", building=building, dispatch_now=False
    )
    elsewhere = response_services.open_incident(
        actor=users["director"],
        category="flooding",
        source="staff",
        building=Region.objects.get(code="G03", kind="grid").buildings.order_by("code").first(),
        dispatch_now=False,
    )
    sim.advance(dt.timedelta(minutes=30))  # "duty" (15 min) is late
    page = signed_in("director").get(reverse("emergency:board", args=[emergency.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    duty = emergency.tasks.get(key="duty")
    assert f'data-task="{duty.pk}" data-task-state="late"' in text
    assert 'data-count="late">Late 1<' in text and 'data-count="open">To do 3<' in text
    for key in ("rollcall", "shelters", "relay"):
        assert f'data-board-section="{key}"' in text
    assert f'data-incident="{incident.pk}"' in text and f'data-incident="{elsewhere.pk}"' not in text
    assert 'data-timeline="activated"' in text
    assert "data-level-form" in text and "data-stand-down-form" in text
    # grid01 sees the board, marks their own task done, but not the director's; no manager's forms
    client = signed_in("grid01")
    text = client.get(reverse("emergency:board", args=[emergency.pk])).content.decode()
    patrol = emergency.tasks.get(key="patrol")
    assert f'data-done="{patrol.pk}"' in text and f'data-done="{duty.pk}"' not in text
    assert "data-level-form" not in text
    assert client.post(reverse("emergency:task-done", args=[duty.pk])).status_code == 403
    response = client.post(reverse("emergency:task-done", args=[patrol.pk]))
    assert response.status_code == 302
    patrol.refresh_from_db()
    assert patrol.status == "done" and patrol.done_by == users["grid01"]


def test_level_change_and_stand_down_from_the_board(signed_in, users, plan):
    emergency = _active(users)
    client = signed_in("director")
    refused = client.post(reverse("emergency:level", args=[emergency.pk]), {"level": "2"})
    assert refused.status_code == 200 and "at this level already" in refused.content.decode()
    response = client.post(
        reverse("emergency:level", args=[emergency.pk]), {"level": "3", "note": "风力减弱"}
    )
    assert response.status_code == 302
    emergency.refresh_from_db()
    assert emergency.level == 3
    refused = client.post(reverse("emergency:stand-down", args=[emergency.pk]), {"retention_days": "999"})
    assert refused.status_code == 200 and "field--invalid" in refused.content.decode()
    assert signed_in("grid01").post(reverse("emergency:stand-down", args=[emergency.pk])).status_code == 403
    response = client.post(reverse("emergency:stand-down", args=[emergency.pk]), {"retention_days": "30"})
    assert response.status_code == 302
    emergency.refresh_from_db()
    assert emergency.status == "stood_down"
    late = client.post(reverse("emergency:level", args=[emergency.pk]), {"level": "1"})
    assert late.status_code == 409
    page = client.get(reverse("emergency:board", args=[emergency.pk])).content.decode()
    assert "data-level-form" not in page


def test_a_board_outside_ones_scope_is_not_found(signed_in, users, plan, outside):
    far = outside["other_street"]["community"]
    make_plan(where=far)
    emergency = services.activate(actor=users["admin"], community=far, hazard="typhoon", level=2)
    assert signed_in("director").get(reverse("emergency:board", args=[emergency.pk])).status_code == 404
    assert signed_in("admin").get(reverse("emergency:board", args=[emergency.pk])).status_code == 200
    response = signed_in("director").post(
        reverse("emergency:stand-down", args=[emergency.pk]), {"retention_days": 3}
    )
    assert response.status_code == 404
    emergency.refresh_from_db()
    assert emergency.status == "active"


# --- the API --------------------------------------------------------------------------------------


def test_api_activate_read_and_stand_down(api, users, plan):
    director = api("director")
    response = director.post(
        "emergencies", {"community": community().code, "hazard": "typhoon", "level": 2, "area_grids": ["G01"]}
    )
    assert response.status_code == 201, response.data
    body = response.data
    assert (body["status"], body["level"], body["area_grids"], body["plan"]) == (
        "active",
        2,
        ["G01"],
        plan.pk,
    )
    assert sorted(task["key"] for task in body["tasks"]) == ["clinic", "duty", "patrol", "sandbags"]
    assert [entry["kind"] for entry in body["timeline"]] == ["activated"]
    emergency_id = body["id"]
    listed = api("grid02").get("emergencies?open=true")
    assert listed.status_code == 200 and [item["id"] for item in listed.data["items"]] == [emergency_id]
    detail = api("volunteer01").get(f"emergencies/{emergency_id}")
    assert detail.status_code == 200 and detail.data["tasks"] == []  # a volunteer sees their own tasks only
    refused = director.post(f"emergencies/{emergency_id}/stand-down", {"retention_days": 0})
    assert refused.status_code == 422
    done = director.post(f"emergencies/{emergency_id}/stand-down", {"retention_days": 7, "note": "解除"})
    assert done.status_code == 200 and (done.data["status"], done.data["retention_days"]) == ("stood_down", 7)
    again = director.post(f"emergencies/{emergency_id}/stand-down", {})
    assert again.status_code == 409 and again.data["code"] == "conflict"


def test_api_refusals_name_the_field(api, plan):
    director = api("director")
    response = director.post("emergencies", {"community": community().code, "hazard": "typhoon", "level": 1})
    assert response.status_code == 400 and response.data["field"] == "level"
    response = director.post("emergencies", {"hazard": "typhoon", "level": 2})
    assert response.status_code == 400 and response.data["field"] == "community"
    response = director.post(
        "emergencies",
        {"community": community().code, "hazard": "typhoon", "level": 2, "area_grids": ["T-NONE"]},
    )
    assert response.status_code == 400 and response.data["field"] == "area_grids"
    assert (
        director.post("emergencies", {"community": "NOWHERE", "hazard": "typhoon", "level": 2}).status_code
        == 404
    )
    assert api("grid01").post("emergencies", {"community": community().code}).status_code == 403
    assert not Emergency.objects.exists()


def test_api_confirms_a_proposed_one(api, plan):
    proposed = _proposed(plan)
    response = api("street01").post("emergencies", {"emergency": proposed.pk})
    assert response.status_code == 201 and response.data["id"] == proposed.pk
    assert (
        response.data["status"] == "active"
        and response.data["official_warning"] == proposed.official_warning_id
    )
