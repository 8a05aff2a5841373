""" "On scene" is checked against the incident's place: the phone's position is kept beside the reported
place (never over it), farther than the radius it needs a reason and is flagged and counted, and
without a position it is taken as it is (issue 12)."""

from __future__ import annotations

import pytest

from banyan.core.errors import InvalidInput
from banyan.places.geo import haversine_m
from banyan.response import services
from banyan.response.models import Incident

METRES_PER_DEGREE = 111_195  # of latitude, on the haversine's sphere


def north_of(building, metres: float) -> tuple[float, float]:
    return building.latitude + metres / METRES_PER_DEGREE, building.longitude


@pytest.fixture
def opened(site, api):
    response = api("director").post("incidents", {"category": "flooding", "building": site["building"].pk})
    assert response.status_code == 201, response.data
    return response.data


def reported_place(pk: int) -> tuple:
    incident = Incident.objects.get(pk=pk)
    return incident.latitude, incident.longitude, incident.building_id, incident.unit_id


def test_a_far_on_scene_needs_a_reason_and_keeps_the_reported_place(site, api, opened):
    worker = api(site["responders"][0].user.username)
    url = f"incidents/{opened['id']}/actions"
    before = reported_place(opened["id"])
    latitude, longitude = north_of(site["building"], 1800)

    refused = worker.post(url, {"move": "on_scene", "latitude": latitude, "longitude": longitude})
    assert refused.status_code == 400 and refused.data["field"] == "reason", refused.data
    assert "1.8 km" in refused.data["detail"] and "150 m" in refused.data["detail"]
    assert Incident.objects.get(pk=opened["id"]).status == "assigned"  # nothing changed

    taken = worker.post(
        url,
        {
            "move": "on_scene",
            "latitude": latitude,
            "longitude": longitude,
            "reason": "楼号牌被遮挡，在东门等候",
        },
    )
    assert taken.status_code == 200, taken.data
    assert reported_place(opened["id"]) == before
    data = api("director").get(f"incidents/{opened['id']}").data
    assert (data["status"], data["building"], data["unit"]) == ("on_scene", site["building"].pk, None)
    assert 1790 < data["on_scene_distance_m"] < 1810
    assert (data["on_scene_latitude"], data["on_scene_longitude"]) == (latitude, longitude)
    assert data["on_scene_far"] is True and data["on_scene_reason"] == "楼号牌被遮挡，在东门等候"
    event = data["timeline"][-1]
    assert event["kind"] == "on_scene" and event["details"]["far"] is True
    assert "latitude" not in str(event["details"])  # the timeline keeps the distance, not the position


def test_a_near_on_scene_needs_no_reason_and_still_keeps_the_reported_place(site, api, opened):
    worker = api(site["responders"][0].user.username)
    latitude, longitude = north_of(site["building"], 60)
    before = reported_place(opened["id"])
    taken = worker.post(
        f"incidents/{opened['id']}/actions",
        {"move": "on_scene", "latitude": latitude, "longitude": longitude},
    )
    assert taken.status_code == 200, taken.data
    assert reported_place(opened["id"]) == before == (None, None, site["building"].pk, None)
    assert 55 < taken.data["on_scene_distance_m"] < 65
    assert (taken.data["on_scene_far"], taken.data["on_scene_reason"]) == (False, "")


def test_an_incident_with_its_own_point_keeps_it(site, api):
    building = site["building"]
    opened = api("director").post(
        "incidents",
        {"category": "flooding", "latitude": building.latitude, "longitude": building.longitude},
    )
    assert opened.status_code == 201, opened.data
    worker = api(opened.data["assignee"] and site["responders"][0].user.username)
    latitude, longitude = north_of(building, 400)
    taken = worker.post(
        f"incidents/{opened.data['id']}/actions",
        {"move": "on_scene", "latitude": latitude, "longitude": longitude, "reason": "积水，绕行"},
    )
    assert taken.status_code == 200, taken.data
    assert reported_place(opened.data["id"])[:2] == (building.latitude, building.longitude)
    assert taken.data["on_scene_far"] is True


def test_without_a_position_on_scene_is_taken_its_distance_unknown(site, api, opened):
    worker = api(site["responders"][0].user.username)
    taken = worker.post(f"incidents/{opened['id']}/actions", {"move": "on_scene"})
    assert taken.status_code == 200, taken.data
    assert (taken.data["on_scene_distance_m"], taken.data["on_scene_far"]) == (None, False)
    assert taken.data["timeline"][-1]["details"]["position"] == "unknown"


def test_the_radius_is_a_setting(site, users, settings):
    settings.BANYAN_RESPONSE = {"ON_SCENE_RADIUS_M": 1000}
    incident = services.open_incident(
        actor=users["director"], category="flooding", source="staff", building=site["building"]
    )
    worker = site["responders"][0].user
    services.act(actor=worker, incident=incident, move="on_scene", position=north_of(site["building"], 800))
    incident.refresh_from_db()
    assert incident.status == "on_scene" and incident.on_scene_far is False
    assert services.on_scene_radius_m() == 1000


def test_a_refused_step_is_a_conflict_before_the_reason(site, users):
    incident = services.open_incident(
        actor=users["director"], category="flooding", source="staff", building=site["building"]
    )
    worker = site["responders"][0].user
    services.act(actor=worker, incident=incident, move="on_scene", position=north_of(site["building"], 10))
    with pytest.raises(InvalidInput):
        services.arrival(incident, north_of(site["building"], 500))
    from banyan.core.errors import Conflict

    with pytest.raises(Conflict):  # already on scene: the state refuses it, whatever the distance
        services.act(
            actor=worker, incident=incident, move="on_scene", position=north_of(site["building"], 500)
        )


def test_the_responders_position_moves_with_on_scene(site, users):
    incident = services.open_incident(
        actor=users["director"], category="flooding", source="staff", building=site["building"]
    )
    near = site["responders"][0]
    position = north_of(site["building"], 20)
    services.act(actor=near.user, incident=incident, move="on_scene", position=position)
    near.refresh_from_db()
    assert (near.latitude, near.longitude) == position
    incident.refresh_from_db()
    assert incident.on_scene_distance_m == pytest.approx(
        haversine_m(position[1], position[0], site["building"].longitude, site["building"].latitude)
    )


def test_the_metrics_count_far_and_unlocated_arrivals(site, api, users):
    worker = site["responders"][0].user
    far, unlocated, near = (
        services.open_incident(
            actor=users["director"], category="flooding", source="staff", building=site["building"]
        )
        for _ in range(3)
    )
    services.act(
        actor=worker, incident=far, move="on_scene", position=north_of(site["building"], 900), reason="x"
    )
    services.act(actor=worker, incident=unlocated, move="on_scene")
    services.act(actor=worker, incident=near, move="on_scene", position=north_of(site["building"], 5))
    data = api("director").get("response/metrics").data
    assert (data["on_scene_far"], data["on_scene_without_position"]) == (1, 1)
    assert data["by_category"]["flooding"]["on_scene_far"] == 1
    assert data["incidents"] == 3  # the keys that were there are still there
