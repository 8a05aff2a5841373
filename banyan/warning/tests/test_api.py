"""The warning API: the Contract shapes, rule validation naming the field, CAP, the Atom feed."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from banyan.warning import services
from banyan.warning.cap import ATOM_NAMESPACE, CAP_NAMESPACE, parse_cap, validate_cap
from banyan.warning.models import Alert, Rule
from banyan.warning.tests.conftest import NOW, event, make_rule, seeded_device

CONTRACT_RULE = {
    "name": "Garage water level",
    "kind": "threshold",
    "metric": "water_level_cm",
    "device_codes": ["WL-0001"],
    "raise_at": 50,
    "clear_below": 40,
    "grade": "orange",
}


@pytest.fixture
def raised(db, now):
    rule = make_rule()
    device = seeded_device()
    [alert] = services.apply_events([event("Raised", rule, device.code, value=57)])
    return alert


def test_create_rule_contract(api, now):
    response = api("director").post("rules", CONTRACT_RULE)
    assert response.status_code == 201, response.data
    body = response.data
    assert isinstance(body["id"], int)
    assert body["name"] == "Garage water level" and body["kind"] == "threshold" and body["grade"] == "orange"
    assert body["params"] == {
        "metric": "water_level_cm",
        "device_codes": ["WL-0001"],
        "raise_at": 50,
        "clear_below": 40,
    }
    rule = Rule.objects.get(pk=body["id"])
    assert rule.engine_rule().raise_at == 50
    listed = api("director").get("rules").data
    assert listed["count"] >= 1 and body["id"] in [item["id"] for item in listed["items"]]
    assert api("director").get(f"rules/{body['id']}").data["id"] == body["id"]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"clear_below": 60}, "clear_below"),
        ({"clear_bellow": 40}, "clear_bellow"),
        ({"raise_at": "high"}, "raise_at"),
        ({"grade": "purple"}, "grade"),
        ({"kind": "magic"}, "kind"),
        ({"metric": None}, "metric"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(api, now, change, field):
    body = {**CONTRACT_RULE, **change}
    if change.get("metric", "") is None:
        del body["metric"]
    before = Rule.objects.count()
    response = api("director").post("rules", body)
    assert response.status_code in (400, 422), response.data
    assert response.data["field"] == field, response.data
    assert Rule.objects.count() == before


def test_patch_rule(api, now):
    rule_id = api("director").post("rules", CONTRACT_RULE).data["id"]
    response = api("director").patch(f"rules/{rule_id}", {"raise_at": 45, "is_active": False})
    assert response.status_code == 200, response.data
    assert response.data["params"]["raise_at"] == 45 and response.data["is_active"] is False
    response = api("director").patch(f"rules/{rule_id}", {"clear_below": 99})
    assert response.status_code == 400 and response.data["field"] == "clear_below"


def test_alert_list_contract_and_filters(api, raised):
    response = api("admin").get("alerts?status=open")
    assert response.status_code == 200
    assert response.data["count"] == 1
    [item] = response.data["items"]
    assert {"id", "rule", "grade", "status", "subject", "raised_at"} <= set(item)
    assert (item["id"], item["rule"], item["grade"], item["status"]) == (
        raised.pk,
        raised.rule_id,
        "orange",
        "open",
    )
    assert item["subject"] == raised.subject and item["last_value"] == 57
    assert dt.datetime.fromisoformat(item["raised_at"].replace("Z", "+00:00")) == NOW
    client = api("admin")
    assert client.get("alerts?status=resolved").data["count"] == 0
    assert client.get("alerts?status=active").data["count"] == 1
    assert client.get("alerts?grade=red").data["count"] == 0
    assert client.get(f"alerts?rule={raised.rule_id}").data["count"] == 1
    assert client.get(f"alerts?grid={raised.grid.code}").data["count"] == 1
    later = (NOW + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert client.get(f"alerts?since={later}").data["count"] == 0
    assert client.get("alerts?status=bogus").status_code == 422
    assert client.get(f"alerts/{raised.pk}").data["id"] == raised.pk


def test_acknowledge_and_resolve_endpoints(api, raised):
    client = api("director")
    response = client.post(f"alerts/{raised.pk}/acknowledge")
    assert response.status_code == 200 and response.data["status"] == "acknowledged"
    assert response.data["acknowledged_by"] == "director"
    assert client.post(f"alerts/{raised.pk}/acknowledge").status_code == 409
    response = client.post(f"alerts/{raised.pk}/resolve", {})
    assert response.status_code == 400 and response.data["field"] == "note"
    response = client.post(f"alerts/{raised.pk}/resolve", {"note": "Sump pump restarted."})
    assert response.status_code == 200, response.data
    assert (
        response.data["status"] == "resolved" and response.data["resolution_note"] == "Sump pump restarted."
    )


def test_cap_validates(api, raised):
    response = api("admin").get(f"alerts/{raised.pk}/cap")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/cap+xml")
    assert validate_cap(response.content) == []
    cap = parse_cap(response.content)
    assert cap.scope == "Restricted" and "Not a government warning" in cap.restriction
    assert [info.language for info in cap.infos] == ["zh-CN", "en"]
    assert {info.severity for info in cap.infos} == {"Severe"}
    assert cap.infos[0].areas[0].polygons, "the area has a polygon"
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{CAP_NAMESPACE}}}alert"


def test_cap_of_a_resolved_alert_is_a_cancel(api, raised):
    client = api("director")
    client.post(f"alerts/{raised.pk}/resolve", {"note": "done"})
    response = client.get(f"alerts/{raised.pk}/cap")
    assert validate_cap(response.content) == []
    cap = parse_cap(response.content)
    assert cap.msg_type == "Cancel" and cap.references[0].identifier.endswith(f"-alert-{raised.pk}")


def test_cap_of_a_place_alert_uses_the_facility_area(api, now):
    from banyan.places.models import Facility

    plaza = Facility.objects.filter(kind="plaza").exclude(area=None).order_by("code").first()
    rule = make_rule(name="Plaza crowd", kind="crowd_density", grade=None, areas_m2={plaza.code: 900.0})
    [alert] = services.apply_events(
        [event("Raised", rule, plaza.code, grade="red", value=5.5, place=plaza.code)]
    )
    content = api("admin").get(f"alerts/{alert.pk}/cap").content
    assert validate_cap(content) == []
    corner = parse_cap(content).infos[0].areas[0].polygons[0]["coordinates"][0][0]
    assert corner == pytest.approx(plaza.area["coordinates"][0][0], abs=1e-6)


def test_atom_feed(api, raised, client, users):
    from banyan.people.auth import create_token

    assert client.get("/cap/alerts.atom").status_code == 401
    token = create_token(users["admin"])
    response = client.get("/cap/alerts.atom", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.content)
    entries = feed.findall(f"{{{ATOM_NAMESPACE}}}entry")
    assert len(entries) == 1
    link = entries[0].find(f"{{{ATOM_NAMESPACE}}}link").get("href")
    assert link == f"http://testserver/api/v1/alerts/{raised.pk}/cap"
    Alert.objects.filter(pk=raised.pk).update(status="resolved")
    response = client.get("/cap/alerts.atom", headers={"Authorization": f"Bearer {token}"})
    assert etree.fromstring(response.content).findall(f"{{{ATOM_NAMESPACE}}}entry") == []
    volunteer = create_token(users["volunteer01"])
    assert client.get("/cap/alerts.atom", headers={"Authorization": f"Bearer {volunteer}"}).status_code == 403


def test_official_warnings_list(api, now):
    from banyan.warning.models import OfficialWarning

    OfficialWarning.objects.create(
        identifier="W1", sender="cma@example.gov", sent=NOW, status="Actual", msg_type="Alert",
        scope="Public", grade="red", raw="<alert/>", imported_at=NOW, expires=NOW - dt.timedelta(hours=1),
    )  # fmt: skip
    response = api("resident01").get("official-warnings")
    assert response.status_code == 200 and response.data["count"] == 1
    assert response.data["items"][0]["grade"] == "red"
    assert api("resident01").get("official-warnings?current=true").data["count"] == 0
    assert api(None).get("official-warnings").status_code == 401


def test_the_alert_list_has_a_fixed_number_of_queries(api, now, django_assert_max_num_queries, users):
    rule = make_rule()
    from banyan.sensing.models import Device

    devices = Device.objects.filter(kind="smoke").order_by("code")[:12]
    services.apply_events([event("Raised", rule, device.code) for device in devices])
    for alert in Alert.objects.filter(rule=rule)[:3]:
        services.acknowledge_alert(actor=users["director"], alert=alert)
    client = api("director")
    with django_assert_max_num_queries(6):  # token, its last use, count, page (joins), no N+1
        response = client.get("alerts?limit=500")
    assert response.data["count"] == 12
