"""Access by relationship (issue 10, findings 4 and 5): an incident goes only to a responder serving
its community, is handed over only to a body in reach and a role that exists; and a role string no
role has (a row written before these checks) never breaks the reporter's pages."""

from __future__ import annotations

import pytest

from banyan.notify.models import Message
from banyan.people.models import Membership, Organisation, User
from banyan.places.models import PathNode
from banyan.response import services
from banyan.response.models import Incident, IncidentEvent
from banyan.response.tests.conftest import responder_at


@pytest.fixture
def opened(site, api):
    response = api("director").post("incidents", {"category": "flooding", "building": site["building"].pk})
    assert response.status_code == 201, response.data
    return Incident.objects.get(pk=response.data["id"])


@pytest.fixture
def elsewhere(db, outside):
    """Another community's body with a grid worker on its roster, and a resident account there."""
    sibling = outside["sibling"]
    body = Organisation.objects.create(code="T-SIB-COMMITTEE", kind="community_committee", name_zh="邻社区")
    body.regions.add(sibling["community"])
    worker = User.objects.create_user("t-sib-grid", role="grid_worker", region=sibling["grid"])
    Membership.objects.create(organisation=body, user=worker)
    node = PathNode.objects.order_by("id").first()
    responder_at(worker, body, node)
    resident = User.objects.create_user(
        "t-sib-resident", role="resident", region=sibling["grid"], resident=sibling["resident"]
    )
    return {"body": body, "worker": worker, "resident": resident}


def _state(incident: Incident) -> tuple:
    incident.refresh_from_db()
    return (
        incident.status,
        incident.assignee_id,
        incident.version,
        IncidentEvent.objects.filter(incident=incident).count(),
        Message.objects.filter(subject_type="incident", subject_id=str(incident.pk)).count(),
    )


@pytest.mark.parametrize(
    "who", ["resident01", "auditor", "admin", "street01", "elsewhere-worker", "elsewhere-resident", "missing"]
)
def test_assign_refuses_anyone_but_a_responder_serving_the_community(
    site, api, users, opened, elsewhere, who
):
    """Contract: assigning a user who is not a responder serving the incident's community → 400/422
    whose JSON names ``assignee``; nothing is written and nobody is told."""
    user_id = {
        "elsewhere-worker": elsewhere["worker"].pk,
        "elsewhere-resident": elsewhere["resident"].pk,
        "missing": 10**9,
    }.get(who) or users[who].pk
    before = _state(opened)
    response = api("director").post(f"incidents/{opened.pk}/actions", {"move": "assign", "assignee": user_id})
    assert response.status_code in (400, 422), response.data
    assert response.data["field"] == "assignee"
    assert _state(opened) == before
    assert not Message.objects.filter(recipient_id=user_id).exists()


def test_a_roster_does_not_make_a_resident_assignable(site, api, users, opened):
    """Even on a serving body's roster, a role that does not act on incidents is never given one."""
    node = PathNode.objects.order_by("id").first()
    responder_at(users["resident01"], site["committee"], node)
    before = _state(opened)
    response = api("director").post(
        f"incidents/{opened.pk}/actions", {"move": "assign", "assignee": users["resident01"].pk}
    )
    assert response.status_code == 400 and response.data["field"] == "assignee"
    assert _state(opened) == before


def test_assign_to_a_serving_responder_still_works(site, api, opened):
    other = site["responders"][2].user
    response = api("director").post(
        f"incidents/{opened.pk}/actions", {"move": "assign", "assignee": other.pk}
    )
    assert response.status_code == 200, response.data
    assert response.data["assignee"] == other.pk
    assert Message.objects.filter(recipient=other, kind="incident.assigned").exists()


def test_the_service_refuses_what_the_cockpit_or_a_page_would_pass(site, users, opened, elsewhere):
    """The rule lives in the service: a user object handed in by another caller is checked the same."""
    from banyan.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        services.act(actor=users["director"], incident=opened, move="assign", assignee=elsewhere["worker"])
    assert refused.value.field == "assignee"
    assert Incident.objects.get(pk=opened.pk).assignee_id != elsewhere["worker"].pk


def test_dispatch_and_backup_never_reach_outside_the_community(site, api, users, opened, elsewhere):
    """A matrix cell naming an out-of-reach body (written before cells were checked) gives dispatch
    nobody; backup asks only colleagues serving the community."""
    incident = opened
    Incident.objects.filter(pk=incident.pk).update(accountable=elsewhere["body"], accountable_role="")
    incident.refresh_from_db()
    assert services.candidates_for(incident) == []
    decision = services.dispatch(incident)
    assert decision.chosen_id is None

    # Backup: the cell's backup body is the other community's; nobody there is asked.
    worker = site["responders"][0].user
    Incident.objects.filter(pk=incident.pk).update(
        accountable=site["committee"], status="accepted", assignee=worker
    )
    site["cell"].backup = elsewhere["body"]
    site["cell"].save(update_fields=["backup"])
    asked = api(worker.username).post(f"incidents/{incident.pk}/backup")
    assert asked.status_code == 200 and asked.data["asked"] == []
    assert not Message.objects.filter(recipient=elsewhere["worker"]).exists()


# --- hand-over -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,field",
    [
        ({"organisation": "T-SIB-COMMITTEE"}, "organisation"),  # another community's body
        ({"organisation": "NOPE"}, "organisation"),
        ({"organisation": "ORG-STREET", "role": "not-a-role"}, "role"),
    ],
)
def test_hand_over_only_in_reach_and_to_roles_that_exist(site, api, opened, elsewhere, body, field):
    before = _state(opened)
    accountable = opened.accountable_id
    response = api("director").post(f"incidents/{opened.pk}/hand-over", {"reason": "协调", **body})
    assert response.status_code in (400, 422), response.data
    assert response.data["field"] == field
    assert _state(opened) == before
    assert Incident.objects.get(pk=opened.pk).accountable_id == accountable


def test_hand_over_to_the_street_and_a_real_role(site, api, opened):
    response = api("director").post(
        f"incidents/{opened.pk}/hand-over",
        {"organisation": "ORG-STREET", "role": "street_officer", "reason": "需要街道协调"},
    )
    assert response.status_code == 200, response.data
    assert (response.data["accountable"], response.data["accountable_role"]) == (
        "ORG-STREET",
        "street_officer",
    )


def test_the_matrix_names_only_bodies_in_reach_and_roles_that_exist(site, api, elsewhere):
    community = site["grid"].parent.code
    cell = {"category": "gas", "region": community, "accountable": "ORG-FIRE"}
    director = api("director")
    for bad, field in (
        ({"accountable": "T-SIB-COMMITTEE"}, "accountable"),
        ({"accountable_role": "not-a-role"}, "accountable_role"),
        ({"backup": "T-SIB-COMMITTEE"}, "backup"),
        ({"backup_role": "chief"}, "backup_role"),
        ({"escalation": [{"organisation": "T-SIB-COMMITTEE"}]}, "escalation"),
        ({"escalation": [{"organisation": "ORG-STREET", "role": "boss"}]}, "escalation"),
    ):
        response = director.put("response/matrix", {**cell, **bad})
        assert response.status_code in (400, 422) and response.data["field"] == field, (bad, response.data)
    assert not services.Responsibility.objects.filter(category__code="gas").exists()
    assert director.put("response/matrix", cell).status_code == 200


def test_hand_over_page_offers_only_bodies_in_reach(site, client, users, opened, elsewhere):
    client.force_login(users["director"])
    page = client.get(f"/response/incidents/{opened.pk}/").content.decode()
    assert "ORG-STREET" in page or "街道" in page
    assert f'value="{elsewhere["body"].pk}"' not in page
    response = client.post(
        f"/response/incidents/{opened.pk}/hand-over/",
        {"version": opened.version, "organisation": elsewhere["body"].pk, "reason": "x"},
    )
    assert response.status_code == 200  # the form again, with the error next to the field
    assert Incident.objects.get(pk=opened.pk).accountable_id == site["committee"].pk


# --- a role no role has, stored before these checks ----------------------------------------------


@pytest.mark.parametrize("language,expected", [("en", "unknown role"), ("zh-hans", "未知角色")])
def test_an_unknown_role_on_an_incident_never_breaks_the_reporters_pages(
    site, api, client, users, language, expected
):
    from banyan.response.reports.services import submit_report

    report = submit_report(actor=users["resident01"], category="flooding", building=site["building"])
    Incident.objects.filter(pk=report.incident_id).update(accountable_role="not-a-role")
    resident = api("resident01")
    resident.headers["Accept-Language"] = language
    listed = resident.get("reports")
    assert listed.status_code == 200, listed.data
    one = resident.get(f"reports/{report.pk}")
    assert one.status_code == 200 and one.data["responsible"]["role"] == expected
    client.force_login(users["resident01"])
    for path in ("/reports/", f"/reports/{report.pk}/"):
        page = client.get(path, headers={"Accept-Language": language})
        assert page.status_code == 200, path
    assert (
        expected
        in client.get(f"/reports/{report.pk}/", headers={"Accept-Language": language}).content.decode()
    )
    # Staff pages show it the same way.
    client.force_login(users["director"])
    assert client.get(f"/response/incidents/{report.incident_id}/").status_code == 200


def test_role_label():
    from django.utils import translation

    with translation.override("en"):
        assert services.role_label("") == ""
        assert services.role_label("grid_worker") == "Grid worker"
        assert services.role_label("not-a-role") == "unknown role"
    with translation.override("zh-hans"):
        assert services.role_label("not-a-role") == "未知角色"
