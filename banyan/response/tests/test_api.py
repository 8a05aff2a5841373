"""The response API: incidents, steps, hand-over, the matrix and the metrics, per role and scope."""

from __future__ import annotations

import io

import pytest

from banyan.response.models import Incident, Responsibility
from banyan.response.tests.conftest import jpeg_with_gps


@pytest.fixture
def opened(site, api):
    response = api("director").post(
        "incidents",
        {"category": "flooding", "building": site["building"].pk, "description": "车库积水\n约20厘米"},
    )
    assert response.status_code == 201, response.data
    return response.data


def test_open_and_read_an_incident_with_clocks_timeline_and_dispatch(site, api, opened):
    near = site["responders"][0]
    assert (opened["status"], opened["assignee"], opened["grade"]) == ("assigned", near.user_id, "orange")
    assert [c["name"] for c in opened["clocks"]] == ["acknowledge", "arrive", "resolve"]
    assert opened["clocks"][0]["state"] == "running" and opened["clocks"][0]["remaining_s"] == 120
    assert [e["kind"] for e in opened["timeline"]] == ["opened", "assign"]
    assert opened["dispatch"][0]["reason"] == "nearest"
    assert opened["dispatch"][0]["reason_text"] == "nearest on foot"  # the client asks for English
    assert opened["description"] == "车库积水\n约20厘米"


def test_the_assignee_works_it_through_and_a_stale_step_is_409(site, api, opened, users):
    worker = api(site["responders"][0].user.username)
    version = opened["version"]
    accepted = worker.post(f"incidents/{opened['id']}/actions", {"move": "accept", "version": version})
    assert accepted.status_code == 200 and accepted.data["status"] == "accepted"
    stale = worker.post(f"incidents/{opened['id']}/actions", {"move": "accept", "version": version})
    assert stale.status_code == 409 and stale.data["field"] == "version"
    building = site["building"]
    on_scene = worker.post(
        f"incidents/{opened['id']}/actions",
        {"move": "on_scene", "latitude": building.latitude, "longitude": building.longitude},
    )
    assert on_scene.status_code == 200 and on_scene.data["on_scene_at"] is not None
    no_note = worker.post(f"incidents/{opened['id']}/actions", {"move": "resolve"})
    assert no_note.status_code == 400 and no_note.data["field"] == "note"
    done = worker.post(f"incidents/{opened['id']}/actions", {"move": "resolve", "note": "已抽水"})
    assert done.data["status"] == "resolved" and done.data["clocks"][0]["state"] == "met"


def test_photos_go_with_on_scene_and_resolve(site, api, opened):
    import base64

    from PIL import Image

    worker = api(site["responders"][0].user.username)
    url = f"incidents/{opened['id']}/actions"
    photo = base64.b64encode(jpeg_with_gps()).decode()
    early = worker.post(url, {"move": "accept", "photos_base64": [photo]})
    assert early.status_code == 400 and early.data["field"] == "photos"
    assert Incident.objects.get(pk=opened["id"]).status == "assigned"
    worker.post(url, {"move": "accept"})
    garbled = worker.post(url, {"move": "on_scene", "photos_base64": ["not base64!"]})
    assert garbled.status_code == 400 and garbled.data["field"] == "photos_base64"
    too_many = worker.post(url, {"move": "on_scene", "photos_base64": [photo] * 6})
    assert too_many.status_code == 422 and too_many.data["field"] == "photos_base64"
    assert Incident.objects.get(pk=opened["id"]).status == "accepted"

    arrived = worker.post(url, {"move": "on_scene", "photos_base64": [photo, photo]})
    assert arrived.status_code == 200, arrived.data
    assert [p["stage"] for p in arrived.data["photos"]] == ["on_scene", "on_scene"]
    shown = worker.get(arrived.data["photos"][0]["url"])
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(shown.content)).getexif()
    assert api("grid02").get(arrived.data["photos"][0]["url"]).status_code == 404


def test_steps_that_are_not_yours(site, api, opened):
    other = api("grid02")  # another grid: does not see it
    assert other.post(f"incidents/{opened['id']}/actions", {"move": "accept"}).status_code == 404
    director = api("director").post(f"incidents/{opened['id']}/actions", {"move": "accept"})
    assert director.status_code == 403
    auditor = api("auditor")
    assert auditor.get(f"incidents/{opened['id']}").status_code == 200
    assert auditor.post(f"incidents/{opened['id']}/actions", {"move": "close"}).status_code == 403
    assert api("director").post(f"incidents/{opened['id']}/actions", {"move": "fly"}).data["field"] == "move"


def test_my_tasks_most_urgent_first(site, api, users):
    director = api("director")
    for category in ("flooding", "gas", "noise"):
        assert (
            director.post("incidents", {"category": category, "building": site["building"].pk}).status_code
            == 201
        )
    Incident.objects.update(assignee=site["responders"][0].user, status="assigned")
    mine = api(site["responders"][0].user.username).get("incidents?mine=true").data
    assert [i["grade"] for i in mine["items"]] == ["red", "orange", "blue"]


def test_hand_over_and_matrix_edit(site, api, opened):
    director = api("director")
    bad = director.post(f"incidents/{opened['id']}/hand-over", {"organisation": "ORG-STREET", "reason": ""})
    assert bad.status_code in (400, 422)
    moved = director.post(
        f"incidents/{opened['id']}/hand-over", {"organisation": "ORG-STREET", "reason": "需要街道协调"}
    )
    assert moved.status_code == 200 and moved.data["accountable"] == "ORG-STREET"
    assert (
        moved.data["timeline"][-2]["kind"] == "handed_over"
        or moved.data["timeline"][-1]["kind"] == "handed_over"
    )

    community = site["grid"].parent.code
    before = director.get(f"response/matrix?region={community}").data
    assert {"category": "gas", "region": site["grid"].code} in before["gaps"]
    cell = {
        "category": "gas",
        "region": community,
        "accountable": "ORG-FIRE",
        "escalation": [{"organisation": "ORG-COMMITTEE", "role": "community_director"}],
    }
    saved = director.put("response/matrix", cell)
    assert saved.status_code == 200, saved.data
    after = director.get(f"response/matrix?region={community}").data
    assert not [g for g in after["gaps"] if g["category"] == "gas"]
    assert director.put("response/matrix", {**cell, "accountable": "NOPE"}).data["field"] == "accountable"
    assert api("grid01").put("response/matrix", cell).status_code == 403
    assert Responsibility.objects.filter(category__code="gas").count() == 1


def test_metrics_by_category_grid_body_and_grade(site, api, opened, now):
    worker = api(site["responders"][0].user.username)
    worker.post(f"incidents/{opened['id']}/actions", {"move": "accept"})
    now.advance(30 * 60)
    data = api("director").get("response/metrics").data
    assert data["incidents"] == 1
    flooding = data["by_category"]["flooding"]
    assert flooding["acknowledge_met_share"] == 1.0 and flooding["arrive_met_share"] == 0.0
    assert flooding["resolve_met_share"] is None  # still running
    assert set(data["by_body"]) == {"ORG-COMMITTEE"} and set(data["by_grade"]) == {"orange"}


@pytest.mark.parametrize(
    "body,field",
    [
        ({"category": "volcano"}, "category"),
        ({"category": "flooding", "description": "x" * 4001}, "description"),
        ({"category": "flooding", "latitude": 1.0, "longitude": 1.0}, "latitude"),
        ({"category": "flooding", "building": 10**9}, "building"),
    ],
)
def test_bad_input_is_a_clear_4xx(site, api, body, field):
    before = Incident.objects.count()
    place = {} if {"latitude", "building"} & body.keys() else {"building": site["building"].pk}
    response = api("director").post("incidents", {**place, **body})
    assert response.status_code in (400, 422), response.data
    assert field in str(response.data)
    assert Incident.objects.count() == before


def test_anonymous_and_residents(api, site, opened):
    assert api().get("incidents").status_code == 401
    # Residents follow their own reports (the reports API), not the incident queue.
    assert api("resident01").get(f"incidents/{opened['id']}").status_code == 403
    assert api("resident01").get("incidents").status_code == 403
    assert api("volunteer01").get("incidents").data["count"] == 0  # nothing sent to them


def test_metrics_report_satisfaction_per_category_and_body(site, api, users, now):
    from banyan.response import services
    from banyan.response.reports.services import rate_report, submit_report

    report = submit_report(actor=users["resident01"], category="flooding", building=site["building"])
    worker = site["responders"][0].user
    for move, note in (("accept", ""), ("on_scene", ""), ("resolve", "已处理")):
        services.act(actor=worker, incident=report.incident, move=move, note=note)
    services.act(actor=users["director"], incident=report.incident, move="close")
    report.refresh_from_db()
    rate_report(actor=users["resident01"], report=report, rating=4, comment="及时")
    data = api("director").get("response/metrics").data["satisfaction"]
    assert data["by_category"] == [{"code": "flooding", "ratings": 1, "mean": 4.0, "satisfied_share": 1.0}]
    assert data["by_body"][0]["code"] == "ORG-COMMITTEE"
    assert api("grid02").get("response/metrics").data["satisfaction"]["by_category"] == []  # not in scope


def test_backup_over_the_api_and_the_page(site, api, opened, client):
    worker = site["responders"][0].user
    assert api(worker.username).post(f"incidents/{opened['id']}/backup").status_code == 409  # not accepted
    api(worker.username).post(f"incidents/{opened['id']}/actions", {"move": "accept"})
    asked = api(worker.username).post(f"incidents/{opened['id']}/backup")
    assert asked.status_code == 200 and len(asked.data["asked"]) == 2
    client.force_login(worker)
    page = client.post(f"/response/incidents/{opened['id']}/backup/", follow=True)
    assert page.status_code == 200 and "2" in page.content.decode()
    assert api("auditor").post(f"incidents/{opened['id']}/backup").status_code == 403
