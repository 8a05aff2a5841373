"""The cockpit's data over the API, per role and scope: map layers, live state, figures, crowd
density, an alert's panel and one-click dispatch, a building, and the federation summary."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.core import clock
from banyan.places.models import Building, Region
from banyan.response.models import Incident, Responder, Shift
from banyan.sensing.models import Device, Reading
from banyan.warning.models import Alert, Rule

NOW = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


@pytest.fixture
def community(db):
    return Region.objects.filter(kind="community").order_by("code").first()


def raise_alert(device: Device, *, grade="red", rule_kind=None, at=NOW) -> Alert:
    rule = (
        Rule.objects.filter(community=device.community).exclude(incident_category="").order_by("pk").first()
    )
    return Alert.objects.create(
        rule=rule,
        subject=device.code,
        community=device.community,
        grid=device.grid,
        device=device,
        grade=grade,
        status="open",
        raised_at=at,
        updated_at=at,
        reading_at=at,
    )


def home_device(community) -> Device:
    return Device.objects.filter(community=community, unit__isnull=False).order_by("code").first()


def on_duty_everyone(now_):
    for responder in Responder.objects.all():
        Shift.objects.create(
            responder=responder, starts_at=NOW - dt.timedelta(hours=2), ends_at=NOW + dt.timedelta(hours=6)
        )


ROLES = {
    "admin": 200,
    "street01": 200,
    "director": 200,
    "auditor": 200,
    "grid01": 403,
    "property01": 403,
    "volunteer01": 403,
    "resident01": 403,
}


@pytest.mark.parametrize(("username", "status"), ROLES.items())
def test_who_may_open_the_cockpit(api, community, now, username, status):
    client = api(username)
    for path in ("cockpit/map", "cockpit/state", "cockpit/figures", "cockpit/crowd", "cockpit/paths"):
        response = client.get(path)
        assert response.status_code == status, (path, response.data)
    federation = client.get("federation/summary")
    assert federation.status_code == (200 if username in ("admin", "street01", "auditor") else 403)


def test_an_unknown_or_foreign_community_is_404(api, community, now):
    assert api("director").get("cockpit/map?community=nope").status_code == 404
    assert api("director").get("cockpit/paths?community=nope").status_code == 404
    other = Region.objects.create(
        kind="community", code="T-OTHER", name_zh="别的社区", parent=community.parent, path=""
    )
    Region.objects.filter(pk=other.pk).update(path=f"{community.parent.path}{other.pk}/")
    assert api("director").get(f"cockpit/state?community={other.code}").status_code == 404
    assert api("street01").get(f"cockpit/state?community={other.code}").status_code == 200
    assert api("director").get(f"cockpit/paths?community={other.code}").status_code == 404


def test_the_map_draws_places_with_counts_and_no_personal_data(api, community, now):
    data = api("director").get("cockpit/map").data
    assert data["community"]["code"] == community.code and data["community"]["boundary"]
    assert len(data["buildings"]) == Building.objects.filter(grid__parent=community).count()
    building = data["buildings"][0]
    assert set(building) == {
        "id",
        "code",
        "name",
        "named",
        "grid",
        "footprint",
        "point",
        "units",
        "households",
        "residents",
    }
    assert sum(b["residents"] for b in data["buildings"]) > 0
    assert len(data["devices"]) == Device.objects.filter(community=community).count()
    assert {d["status"] for d in data["devices"]} <= {"online", "offline", "maintenance"}
    assert "paths" not in data, "the walking paths come apart, when their layer is turned on"
    text = str(data)
    from banyan.people.models import Resident

    names = list(Resident.objects.values_list("name", flat=True)[:50])
    assert not [name for name in names if f"'{name}'" in text], "no resident's name on the map"


def test_the_walking_paths_come_apart_with_their_kinds_and_islands(api, community, now):
    """The paths layer asks for them when it is turned on: each segment with its kind, and the parts
    no one can walk to (an island) marked, as the walking-graph API marks them."""
    from banyan.places.models import PathEdge, PathNode

    edges = PathEdge.objects.filter(source__community=community)
    data = api("director").get("cockpit/paths").data
    assert data["community"] == community.code
    assert len(data["segments"]) == edges.count() > 0
    assert data["islands"] == 0 and {s[5] for s in data["segments"]} == {0}
    assert data["island_points"] == []
    first = edges.select_related("source", "target").order_by("pk").first()
    assert data["segments"][0][:4] == pytest.approx(
        [first.source.latitude, first.source.longitude, first.target.latitude, first.target.longitude],
        abs=1e-6,
    )
    assert data["segments"][0][4] == first.kind

    # Two paths behind a wall, and a lone gate: two islands, drawn as such.
    far = [
        PathNode.objects.create(
            community=community, code=f"ISL-{i}", latitude=30.0, longitude=120.0 + i * 1e-4
        )
        for i in range(3)
    ]
    lone = PathNode.objects.create(community=community, code="ISL-LONE", latitude=30.001, longitude=120.0)
    PathEdge.objects.create(source=far[0], target=far[1], length_m=9.6, kind="steps")
    PathEdge.objects.create(source=far[1], target=far[2], length_m=9.6, kind="footway")
    data = api("director").get("cockpit/paths").data
    assert data["islands"] == 2
    islands = [s for s in data["segments"] if s[5] == 1]
    assert sorted(s[4] for s in islands) == ["footway", "steps"]
    assert data["island_points"] == [[lone.latitude, lone.longitude]]
    assert len(data["segments"]) == edges.count()


def test_the_map_shows_a_homes_devices_only_to_the_roles_that_may_see_presence(api, community, now):
    """Issue 10, finding 6: door contacts, SOS buttons, meters and wearables mark who is in and who is
    vulnerable; the auditor's map shows communal devices only, the director's all of them."""
    home = set(
        Device.objects.filter(community=community)
        .exclude(unit__isnull=True, resident__isnull=True)
        .values_list("pk", flat=True)
    )
    assert home, "the seed installs home devices"
    director = {d["id"] for d in api("director").get("cockpit/map").data["devices"]}
    auditor = {d["id"] for d in api("auditor").get("cockpit/map").data["devices"]}
    assert home <= director
    assert auditor and not auditor & home


def test_live_state_and_building_colours(api, community, now):
    device = home_device(community)
    alert = raise_alert(device)
    state = api("director").get("cockpit/state").data
    item = next(a for a in state["alerts"] if a["id"] == alert.pk)
    building = device.unit.building
    assert (item["grade"], item["building"], item["point"]) == (
        "red",
        building.pk,
        [building.latitude, building.longitude],
    )
    assert state["buildings"][str(building.pk)]["alerts"] == 1
    grid02 = api("street01").get("cockpit/state").data
    assert any(a["id"] == alert.pk for a in grid02["alerts"])


def test_the_panel_counts_care_and_ranks_responders_and_dispatch_opens_and_assigns(
    api, community, now, users
):
    on_duty_everyone(now)
    device = home_device(community)
    alert = raise_alert(device)
    panel = api("director").get(f"cockpit/alerts/{alert.pk}/panel").data
    assert panel["alert"]["id"] == alert.pk and panel["incident"] is None
    assert panel["care"]["shown"] is True and panel["care"]["scope"] == "unit"
    assert panel["nearest"], "someone is on duty"
    walks = [r["walk_s"] for r in panel["nearest"] if r["walk_s"] is not None]
    assert walks == sorted(walks)
    chosen = panel["nearest"][-1]["user"]
    sent = api("director").post(f"cockpit/alerts/{alert.pk}/dispatch", {"responder": chosen})
    assert sent.status_code == 200, sent.data
    incident = Incident.objects.get(alert=alert)
    assert (incident.assignee_id, incident.status, sent.data["id"]) == (chosen, "assigned", incident.pk)
    again = api("director").post(
        f"cockpit/alerts/{alert.pk}/dispatch", {"responder": panel["nearest"][0]["user"]}
    )
    assert again.status_code == 200 and Incident.objects.filter(alert=alert).count() == 1, (
        "reassigned, not reopened"
    )
    # A responder who is not on duty here, or not a responder at all, is refused by name.
    refused = api("director").post(
        f"cockpit/alerts/{alert.pk}/dispatch", {"responder": users["resident01"].pk}
    )
    assert refused.status_code == 400 and refused.data["field"] == "responder"
    assert (
        api("auditor").post(f"cockpit/alerts/{alert.pk}/dispatch", {"responder": chosen}).status_code == 403
    )
    assert api("auditor").get(f"cockpit/alerts/{alert.pk}/panel").data["may_dispatch"] is False


def test_figures_count_alerts_incidents_devices_and_the_timeline(api, community, now):
    device = home_device(community)
    raise_alert(device, grade="orange", at=NOW - dt.timedelta(hours=2, minutes=10))
    data = api("director").get("cockpit/figures").data
    assert data["alerts"]["by_grade"]["orange"]["open"] >= 1
    assert sum(data["timeline"]["by_grade"]["orange"]) >= 1
    assert data["timeline"]["by_grade"]["orange"][20] >= 1, (
        "06:50 falls in the hour from 06:00 (the last is 09:00)"
    )
    assert data["devices"]["total"] == Device.objects.filter(community=community).count()
    assert data["vulnerable"]["shown"] is True and data["vulnerable"]["total"] > 0
    row = data["vulnerable"]["most_overdue"][0]
    assert row["name"].endswith("*") and len(set(row["name"][1:])) == 1, "masked"
    assert api("auditor").get("cockpit/figures").data["vulnerable"] == {"shown": False}


def test_crowd_density_per_zone_and_hour(api, community, now):
    from banyan.cockpit.services import crowd_zones

    zones = crowd_zones(community)
    assert zones, "the seed has counted zones"
    zone = zones[0]
    device = Device.objects.get(pk=zone["devices"][0])
    people = round(zone["area_m2"] * 4.2)
    Reading.objects.create(
        device=device, metric="person_count", value=people, ts=NOW - dt.timedelta(minutes=5), received_at=NOW
    )
    Reading.objects.create(
        device=device,
        metric="person_count",
        value=50,
        ts=NOW - dt.timedelta(hours=3, minutes=5),
        received_at=NOW,
    )
    data = api("director").get("cockpit/crowd").data
    found = next(z for z in data["zones"] if z["key"] == zone["key"])
    assert found["now_grade"] == "orange" and found["now"] == pytest.approx(
        people / zone["area_m2"], rel=1e-3
    )
    # Hour 23 is the one now begins (09:00); 08:55 falls in hour 22, 05:55 in hour 19.
    assert found["hourly_grades"][22] == "orange" and found["hourly_grades"][23] is None
    assert found["hourly"][19] == pytest.approx(50 / zone["area_m2"], rel=1e-2)
    assert len(data["hours"]) == 24


def test_a_building_in_counts(api, community, now):
    building = Building.objects.filter(grid__parent=community).order_by("code").first()
    data = api("director").get(f"cockpit/buildings/{building.pk}").data
    assert data["name"] == building.name and data["units"]
    assert set(data["units"][0]) == {"id", "number", "households", "residents", "care"}
    assert api("auditor").get(f"cockpit/buildings/{building.pk}").data["care_shown"] is False
    assert api("director").get("cockpit/buildings/999999").status_code == 404


def test_the_federation_summary(api, community, now):
    raise_alert(home_device(community), grade="orange")
    data = api("street01").get("federation/summary").data
    row = next(c for c in data["communities"] if c["code"] == community.code)
    assert row["state"] == "orange" and row["alerts_by_grade"]["orange"] >= 1
    assert data["totals"]["communities"] == len(data["communities"]) >= 1
    assert "most_overdue" not in str(data), "counts only"


def test_a_device_without_whom_it_serves(api, community, now):
    device = home_device(community)
    alert = raise_alert(device)
    data = api("director").get(f"cockpit/devices/{device.pk}").data
    assert (data["code"], data["status"], data["building_id"]) == (
        device.code,
        device.status,
        device.unit.building_id,
    )
    assert [a["id"] for a in data["alerts"]] == [alert.pk]
    assert "resident" not in data and "readings" not in data
    assert api("director").get("cockpit/devices/999999").status_code == 404
    assert api("grid01").get(f"cockpit/devices/{device.pk}").status_code == 403


def test_figures_show_todays_checkins_per_grid_and_the_missed_masked(api, community, now, users):
    """NOW is 09:00 in Shanghai: a plan due at 07:00 with an hour's grace is missed; one confirmed well."""
    from banyan.care import services as care
    from banyan.care.models import CarePlan
    from banyan.cockpit.services import last_checked
    from banyan.people.models import Resident

    residents = list(
        Resident.objects.filter(household__grid__parent=community, care_profiles__is_active=True)
        .distinct()
        .order_by("id")[:3]
    )
    for resident in residents:
        plan = care.create_plan(actor=users["director"], resident=resident)
        CarePlan.objects.filter(pk=plan.pk).update(checkin_time=dt.time(7, 0), grace_minutes=60)
    care.record_checkin(actor=users["director"], resident=residents[0], outcome="fine", channel="staff")
    data = api("director").get("cockpit/figures").data["care_today"]
    assert (data["shown"], data["total"], data["confirmed"], data["overdue"]) == (True, 3, 1, 2)
    assert data["share"] == round(1 / 3, 4) and data["board_url"] == "/care/today/"
    assert sum(grid["total"] for grid in data["by_grid"]) == 3
    assert sum(grid["missed"] for grid in data["by_grid"]) == 2
    assert {row["resident"] for row in data["missed"]} == {residents[1].pk, residents[2].pk}
    assert all(row["name"].endswith("*") and row["state"] == "overdue" for row in data["missed"])
    assert residents[1].name not in str(data), "names are masked"
    assert api("auditor").get("cockpit/figures").data["care_today"] == {"shown": False}
    vulnerable = last_checked(users["director"], community, now=clock.now(), limit=100_000)
    checked = next(row for row in vulnerable["most_overdue"] if row["resident"] == residents[0].pk)
    assert checked["last_checked"] is not None, "a check-in counts as a check"
