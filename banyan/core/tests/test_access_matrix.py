"""Role × endpoint × in-scope/out-of-scope: every API endpoint, every role.

For each role, ``anchors`` picks objects inside its scope and outside it. Inside answers 200
(or 201, or 403 where the role lacks the right); outside answers 404, the same as missing.
"""

from __future__ import annotations

import pytest

from banyan.core import clock
from banyan.people.models import CareProfile, Resident
from banyan.places.models import Building, Facility, Region

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
EDITORS = {"admin", "street01", "director", "grid01"}
ID_REVEALERS = EDITORS | {"resident01"}
PHONE_REVEALERS = ID_REVEALERS | {"property01", "volunteer01"}
AUDIT_READERS = {"admin", "auditor"}
CARE_VIEWERS = EDITORS | {"volunteer01", "resident01"}


def _seeded_grids():
    return list(Region.objects.filter(kind="grid").exclude(code__startswith="T-").order_by("code")[:2])


def _place(grid):
    return Building.objects.filter(grid=grid).order_by("code").first()


def _person(grid, exclude_household=None):
    residents = Resident.objects.filter(household__grid=grid).order_by("id")
    if exclude_household is not None:
        residents = residents.exclude(household=exclude_household)
    with_care = residents.filter(care_profiles__isnull=False).first()
    return with_care or residents.first()


def anchors(username, users, outside):
    g1, g2 = _seeded_grids()
    sibling, far = outside["sibling"], outside["other_street"]
    facility_in = Facility.objects.filter(region__path__startswith=g1.path).order_by("id").first()
    place_in, place_out = _place(g1), sibling["building"]
    person_in, person_out = _person(g1), sibling["resident"]
    facility_out = sibling["facility"]
    if username in ("admin", "auditor"):
        place_out = person_out = facility_out = None
    elif username == "street01":
        place_in, person_in, facility_in = sibling["building"], sibling["resident"], sibling["facility"]
        place_out, person_out, facility_out = far["building"], far["resident"], far["facility"]
    elif username == "grid01":
        place_out, person_out = _place(g2), _person(g2)
    elif username == "volunteer01":
        cared = Resident.objects.filter(care_profiles__carers__user=users[username]).order_by("id")
        person_in = cared.first()
        person_out = Resident.objects.filter(household__grid=g1).exclude(pk__in=cared).first()
    elif username == "resident01":
        own = users[username].resident
        person_in = own
        person_out = _person(g1, exclude_household=own.household)
        place_in, place_out = own.household.unit.building, _place(g2)
    assert person_in is not None and place_in is not None, username
    return {
        "place_in": place_in,
        "place_out": place_out,
        "person_in": person_in,
        "person_out": person_out,
        "facility_in": facility_in,
        "facility_out": facility_out,
    }


def detail_paths(anchor_place, anchor_person, anchor_facility):
    paths = []
    if anchor_place is not None:
        unit = anchor_place.units.order_by("id").first()
        paths += [f"regions/{anchor_place.grid_id}", f"buildings/{anchor_place.pk}", f"units/{unit.pk}"]
    if anchor_facility is not None:
        paths.append(f"facilities/{anchor_facility.pk}")
    if anchor_person is not None:
        paths += [
            f"residents/{anchor_person.pk}",
            f"households/{anchor_person.household_id}",
            f"residents/{anchor_person.pk}/consents",
        ]
    return paths


def care_path(anchor_person):
    profile = CareProfile.objects.filter(resident=anchor_person).first() if anchor_person else None
    return f"care-profiles/{profile.pk}" if profile else None


@pytest.mark.parametrize("username", ROLES)
def test_detail_endpoints_in_scope_200_out_of_scope_404(username, users, api, outside):
    a = anchors(username, users, outside)
    client = api(username)
    for path in detail_paths(a["place_in"], a["person_in"], a["facility_in"]):
        response = client.get(path)
        assert response.status_code == 200, (username, path, response.data)
    for path in detail_paths(a["place_out"], a["person_out"], a["facility_out"]):
        response = client.get(path)
        assert response.status_code == 404, (username, path, response.data)
        assert response.data["code"] == "not_found"
    # Care kinds are health data: roles that may not reveal care details do not see profiles at all.
    inside = care_path(a["person_in"])
    if inside:
        assert client.get(inside).status_code == (200 if username in CARE_VIEWERS else 404), username
    outside_path = care_path(a["person_out"])
    if outside_path:
        assert client.get(outside_path).status_code == 404, username


@pytest.mark.parametrize("username", ROLES)
def test_lists_contain_in_scope_and_never_out_of_scope(username, users, api, outside):
    a = anchors(username, users, outside)
    client = api(username)
    # (list query for the object, how an item names it, the object's own value of that name)
    checks = [
        ("residents?household={}", lambda o: o.household_id, "id", lambda o: o.pk, "person"),
        ("households?unit={}", lambda o: o.household.unit_id, "id", lambda o: o.household_id, "person"),
        ("care-profiles?resident={}", lambda o: o.pk, "resident", lambda o: o.pk, "person"),
        (
            "vehicles?building={}",
            lambda o: o.household.unit.building.code,
            "household",
            lambda o: o.household_id,
            "person",
        ),
        ("buildings?grid={}", lambda o: o.grid.code, "id", lambda o: o.pk, "place"),
        ("units?building={}", lambda o: o.pk, "building", lambda o: o.pk, "place"),
        ("regions?code={}", lambda o: o.grid.code, "id", lambda o: o.grid_id, "place"),
    ]
    for template, query_key, item_key, own_value, kind in checks:
        inside, out = a[f"{kind}_in"], a[f"{kind}_out"]
        response = client.get(template.format(query_key(inside)) + "&limit=500")
        assert response.status_code == 200, (username, template)
        if not template.startswith(("care-profiles", "vehicles")):  # not every resident has these
            assert own_value(inside) in {i[item_key] for i in response.data["items"]}, (username, template)
        if out is not None:
            response = client.get(template.format(query_key(out)) + "&limit=500")
            assert response.status_code == 200
            assert own_value(out) not in {i[item_key] for i in response.data["items"]}, (username, template)
    for path in (
        "regions",
        "buildings",
        "units",
        "facilities",
        "households",
        "residents",
        "care-profiles",
        "organisations",
        "vehicles",
    ):
        response = client.get(f"{path}?limit=500")
        assert response.status_code == 200, (username, path)
        assert set(response.data) == {"count", "items"}


@pytest.mark.parametrize("username", ROLES)
def test_resident_writes(username, users, api, outside):
    a = anchors(username, users, outside)
    client = api(username)
    person = a["person_in"]
    response = client.patch(f"residents/{person.pk}", {"tags": ["volunteer"]})
    assert response.status_code == (200 if username in EDITORS else 403), (username, response.data)
    person.refresh_from_db()
    assert ("volunteer" in person.tags) == (username in EDITORS)

    from banyan.conftest import make_id_number

    body = {
        "household": person.household_id,
        "name": "新居民",
        "id_number": make_id_number(),
        "relation": "other",
    }
    response = client.post("residents", body)
    assert response.status_code == (201 if username in EDITORS else 403), (username, response.data)

    if a["person_out"] is not None:
        out = a["person_out"]
        expected = 404 if username in EDITORS else 403
        assert client.patch(f"residents/{out.pk}", {"tags": ["volunteer"]}).status_code == expected
        body = {**body, "household": out.household_id, "id_number": make_id_number()}
        assert client.post("residents", body).status_code == expected
        out.refresh_from_db()
        assert "volunteer" not in out.tags


@pytest.mark.parametrize("username", ROLES)
def test_reveal_rights_and_scope(username, users, api, outside):
    from banyan.audit.models import AuditEntry

    a = anchors(username, users, outside)
    client = api(username)
    person = a["person_in"]
    before = AuditEntry.objects.count()
    response = client.post(
        f"residents/{person.pk}/reveal", {"fields": ["id_number"], "purpose": "上门核实身份"}
    )
    if username in ID_REVEALERS:
        assert response.status_code == 200, (username, response.data)
        assert response.data == {"id_number": person.id_number}
        assert AuditEntry.objects.count() == before + 1
    else:
        assert response.status_code == 403, (username, response.data)
        assert "id_number" not in response.data or response.data.get("code") == "forbidden"
        assert AuditEntry.objects.count() == before
    response = client.post(f"residents/{person.pk}/reveal", {"fields": ["phone"], "purpose": "电话回访"})
    assert response.status_code == (200 if username in PHONE_REVEALERS else 403), username
    if a["person_out"] is not None:
        count = AuditEntry.objects.count()
        out = a["person_out"]
        response = client.post(f"residents/{out.pk}/reveal", {"fields": ["phone"], "purpose": "电话回访"})
        assert response.status_code == 404, username
        assert AuditEntry.objects.count() == count


@pytest.mark.parametrize("username", ROLES)
def test_audit_only_for_auditors_and_admins(username, api):
    response = api(username).get("audit?subject_type=resident")
    assert response.status_code == (200 if username in AUDIT_READERS else 403)


def test_anonymous_gets_401_everywhere(api, users, outside):
    a = anchors("admin", users, outside)
    client = api(None)
    paths = [
        "regions",
        "buildings",
        "units",
        "facilities",
        "households",
        "residents",
        "care-profiles",
        "organisations",
        "vehicles",
        "audit",
    ]
    paths += detail_paths(a["place_in"], a["person_in"], a["facility_in"])
    for path in paths:
        assert client.get(path).status_code == 401, path
    person = a["person_in"]
    assert (
        client.post(
            f"residents/{person.pk}/reveal", {"fields": ["id_number"], "purpose": "x" * 10}
        ).status_code
        == 401
    )
    assert client.patch(f"residents/{person.pk}", {"name": "x"}).status_code == 401


def test_revoked_or_unknown_token_is_refused(api, users):
    from django.test import Client

    client = Client()
    assert client.get("/api/v1/regions", headers={"Authorization": "Bearer byn_nope"}).status_code == 401
    good = api("director")
    assert good.get("regions").status_code == 200
    users["director"].api_tokens.update(is_revoked=True)
    assert good.get("regions").status_code == 401


IMPORTERS = EDITORS
EXPORTERS = EDITORS | {"auditor"}
COMMUNITY_VIEWERS = {"admin", "auditor", "director", "property01", "volunteer01", "street01"}


@pytest.mark.parametrize("username", ROLES)
def test_household_consent_and_care_profile_writes(username, users, api, outside):
    a = anchors(username, users, outside)
    client = api(username)
    person, place = a["person_in"], a["place_in"]
    unit = place.units.order_by("id").first()
    expected = 201 if username in EDITORS else 403
    response = client.post("households", {"code": f"T-NEW-{username}", "unit": unit.pk})
    assert response.status_code == expected, (username, response.data)
    response = client.post(
        f"residents/{person.pk}/consents", {"scope": "care_monitoring", "given_by": "self"}
    )
    if username in EDITORS and person.age_on(clock.today()) < 14:
        assert response.status_code == 400
    else:
        assert response.status_code == expected, (username, response.data)
    kind = next(
        k for k in ("low_income", "empty_nest", "pregnant") if not person.care_profiles.filter(kind=k)
    )
    response = client.post("care-profiles", {"resident": person.pk, "kind": kind, "level": 1})
    assert response.status_code == expected, (username, response.data)
    if a["place_out"] is not None:
        out_unit = a["place_out"].units.order_by("id").first()
        out_status = 404 if username in EDITORS else 403
        assert (
            client.post("households", {"code": f"T-OUT-{username}", "unit": out_unit.pk}).status_code
            == out_status
        )
        out = a["person_out"]
        response = client.post(
            f"residents/{out.pk}/consents", {"scope": "care_monitoring", "given_by": "self"}
        )
        assert response.status_code == out_status
        response = client.post("care-profiles", {"resident": out.pk, "kind": "low_income", "level": 1})
        assert response.status_code == out_status
        assert not out.care_profiles.filter(kind="low_income").exists()


@pytest.mark.parametrize("username", ROLES)
def test_lookup_finds_only_in_scope(username, users, api, outside):
    a = anchors(username, users, outside)
    client = api(username)
    purpose = "welfare check of the household"
    for field, revealers in (("id_number", ID_REVEALERS), ("phone", PHONE_REVEALERS)):
        value = getattr(a["person_in"], field) or "13800138000"
        response = client.post("residents/lookup", {field: value, "purpose": purpose})
        if username not in revealers:  # a lookup confirms the value: only those who may reveal it
            assert response.status_code == 403, (username, field, response.data)
            continue
        assert response.status_code == 200, (username, field, response.data)
        if getattr(a["person_in"], field):
            assert a["person_in"].pk in [i["id"] for i in response.data["items"]]
        if a["person_out"] is not None and getattr(a["person_out"], field):
            response = client.post(
                "residents/lookup", {field: getattr(a["person_out"], field), "purpose": purpose}
            )
            assert response.status_code == 200 and response.data["count"] == 0


@pytest.mark.parametrize("username", ROLES)
def test_walking_graph_scope(username, users, api, outside):
    community = _seeded_grids()[0].parent
    response = api(username).get(f"regions/{community.pk}/walking-graph")
    if username in COMMUNITY_VIEWERS:
        assert response.status_code == 200, username
        assert response.data["nodes"]
    else:
        assert response.status_code == 404, username
    far = outside["other_street"]["community"]
    if username not in ("admin", "auditor"):
        assert api(username).get(f"regions/{far.pk}/walking-graph").status_code == 404


@pytest.mark.parametrize("username", ROLES)
def test_ledger_endpoints(username, users, api, outside):
    from django.core.files.uploadedfile import SimpleUploadedFile

    a = anchors(username, users, outside)
    client = api(username)
    grid = a["place_in"].grid
    response = client.client.get(f"/api/v1/ledgers/residents.xlsx?grid={grid.code}", headers=client.headers)
    assert response.status_code == (200 if username in EXPORTERS else 403), username
    if a["place_out"] is not None and username in EXPORTERS:
        out_grid = a["place_out"].grid
        response = client.client.get(
            f"/api/v1/ledgers/residents.xlsx?grid={out_grid.code}", headers=client.headers
        )
        assert response.status_code == 404, username
    header = "household_code,building_code,unit_number,name,id_number,relation\n"
    upload = SimpleUploadedFile("l.csv", header.encode(), content_type="text/csv")
    response = client.client.post(
        "/api/v1/ledgers/residents/import", {"file": upload, "dry_run": "true"}, headers=client.headers
    )
    if username in IMPORTERS:
        assert response.status_code in (200, 400), (username, response.content)
        assert response.status_code != 403
    else:
        assert response.status_code == 403, (username, response.content)


@pytest.mark.parametrize("username", ROLES)
def test_updates_and_consent_withdrawal(username, users, api, outside):
    from banyan.people.models import Consent

    a = anchors(username, users, outside)
    client = api(username)
    person = a["person_in"]
    expected = 200 if username in EDITORS else 403
    response = client.patch(f"households/{person.household_id}", {"is_owner_occupied": False})
    assert response.status_code == expected, (username, response.data)
    profile = CareProfile.objects.filter(resident=person).first() or CareProfile.objects.create(
        resident=person, kind="low_income", since=clock.today()
    )
    assert client.patch(f"care-profiles/{profile.pk}", {"level": 1}).status_code == expected, username
    consent = Consent.objects.create(
        resident=person, scope="care_monitoring", given_by="self", granted_at=clock.now()
    )
    response = client.post(f"residents/{person.pk}/consents/{consent.pk}/withdraw")
    assert response.status_code == (200 if username in EDITORS | {"resident01"} else 403), username
    if a["person_out"] is not None:
        out = a["person_out"]
        out_consent = Consent.objects.create(
            resident=out, scope="care_monitoring", given_by="self", granted_at=clock.now()
        )
        out_status = 404 if username in EDITORS else 403
        assert (
            client.patch(f"households/{out.household_id}", {"is_owner_occupied": False}).status_code
            == out_status
        )
        assert client.post(f"residents/{out.pk}/consents/{out_consent.pk}/withdraw").status_code == 404
        out_consent.refresh_from_db()
        assert out_consent.withdrawn_at is None


@pytest.mark.parametrize("username", ROLES)
def test_residents_own_rights_by_role(username, users, api, outside):
    """My data exists for an account with a registry entry; a correction request is seen by its
    resident and by editors whose area holds the resident (404 for everyone else)."""
    from banyan.people import rights
    from banyan.people.models import CorrectionRequest

    client = api(username)
    assert client.get("me/data").status_code == (200 if username == "resident01" else 404), username
    own = rights.request_correction(actor=users["resident01"], field="other", proposed_value="搬家了")
    far = CorrectionRequest.objects.create(
        resident=outside["sibling"]["resident"], field="other", proposed_value="x", requested_at=clock.now()
    )
    seen_own = username in EDITORS or username == "resident01"
    assert client.get(f"corrections/{own.pk}").status_code == (200 if seen_own else 404), username
    seen_far = username in ("admin", "street01")
    assert client.get(f"corrections/{far.pk}").status_code == (200 if seen_far else 404), username
    response = client.post(f"corrections/{far.pk}/reject", {"reason": "not in your area"})
    assert response.status_code == (200 if seen_far else 404 if username in EDITORS else 403), username


READING_SENDERS = {"admin", "street01", "director", "property01"}


@pytest.mark.parametrize("username", ROLES)
def test_tokens_own_for_everyone_anyones_for_admins(username, users, api):
    from banyan.people.auth import create_token
    from banyan.people.models import ApiToken

    create_token(users["grid02"], name="someone else's")
    theirs = ApiToken.objects.filter(user=users["grid02"]).order_by("-id").first()
    client = api(username)
    listed = client.get("tokens?limit=500")
    assert listed.status_code == 200
    owners = {i["user"] for i in listed.data["items"]}
    assert owners == ({username, "grid02"} if username == "admin" else {username}) or (
        username == "admin" and {username, "grid02"} <= owners
    )
    response = client.post("tokens", {"scopes": ["read"], "days": 1})
    assert response.status_code == 201, (username, response.data)
    response = client.post("tokens", {"scopes": ["readings:write"]})
    assert response.status_code == (201 if username in READING_SENDERS else 400), username
    response = client.post(f"tokens/{theirs.pk}/revoke")
    assert response.status_code == (200 if username == "admin" else 404), username
    theirs.refresh_from_db()
    assert theirs.is_revoked == (username == "admin")


HOME_DEVICE_VIEWERS = {"admin", "street01", "director", "grid01"}
MANAGERS = {"admin", "street01", "director"}


@pytest.mark.parametrize("username", ROLES)
def test_access_by_relationship(username, users, api, outside):
    """Issue 10, findings 4, 5, 6, 9: a neighbour's door contact, assigning a non-responder, handing
    over to a role that does not exist, a rule naming another community's device — by role."""
    from banyan.response import services as response
    from banyan.sensing.models import Device

    client = api(username)
    cared = Resident.objects.filter(care_profiles__carers__user=users["volunteer01"])
    neighbour = (  # someone in grid01's grid, not of resident01's household, not cared for by volunteer01
        Resident.objects.filter(household__grid=_seeded_grids()[0])
        .exclude(household__members__in=cared)
        .exclude(household=users["resident01"].resident.household)
        .order_by("id")
        .first()
    )
    door = Device.objects.create(
        code=f"T-DOOR-{username}",
        kind="door_contact",
        community=neighbour.household.grid.parent,
        grid=neighbour.household.grid,
        building=neighbour.household.unit.building,
        unit=neighbour.household.unit,
        resident=neighbour,
        expected_interval_s=3600,
        installed_at=clock.now(),
    )
    seen = client.get(f"devices/{door.pk}/readings").status_code
    assert seen == (200 if username in HOME_DEVICE_VIEWERS else 404), username

    with clock.use(clock.SimulatedClock(clock.now())):
        incident = response.open_incident(
            actor=users["director"], category="flooding", source="staff", building=_place(_seeded_grids()[0])
        )
    url = f"incidents/{incident.pk}"
    answer = client.post(f"{url}/actions", {"move": "assign", "assignee": users["resident01"].pk})
    if username in MANAGERS:
        assert answer.status_code == 400 and answer.data["field"] == "assignee", username
    else:
        assert answer.status_code in (403, 404), username
    answer = client.post(
        f"{url}/hand-over", {"organisation": "ORG-STREET", "role": "not-a-role", "reason": "x"}
    )
    if username in MANAGERS:
        assert answer.status_code == 400 and answer.data["field"] == "role", username
    else:
        assert answer.status_code in (403, 404), username

    foreign = Device.objects.create(
        code=f"T-FOREIGN-{username}",
        kind="water_level",
        community=outside["other_street"]["community"],
        grid=outside["other_street"]["grid"],
        expected_interval_s=300,
        installed_at=clock.now(),
    )
    rule = {"name": "x", "kind": "threshold", "metric": "water_level_cm", "raise_at": 50, "grade": "red"}
    own_community = (
        Region.objects.filter(kind="community").exclude(code__startswith="T-").order_by("code").first()
    )
    answer = client.post("rules", {**rule, "community": own_community.code, "device_codes": [foreign.code]})
    if username in MANAGERS:
        assert answer.status_code == 400 and answer.data["field"] == "device_codes", username
    else:
        assert answer.status_code == 403, username


EMERGENCY_VIEWERS = {"admin", "street01", "director", "grid01", "property01", "volunteer01", "auditor"}
EMERGENCY_MANAGERS = {"admin", "street01", "director"}


@pytest.mark.parametrize("username", ROLES)
def test_emergencies_by_role_and_scope(username, users, api, outside):
    """GET/POST /emergencies and /emergencies/{id}/stand-down: viewers read their communities' emergencies,
    managers activate and stand down; an emergency of a community outside the scope is 404 (and listed
    nowhere)."""
    from banyan.emergency import services
    from banyan.emergency.models import Emergency, Plan

    community = _seeded_grids()[0].parent
    far = outside["other_street"]["community"]
    body = {"tasks": [{"key": "duty", "title_zh": "值班", "owner_kind": "community_committee",
                       "owner_role": "grid_worker", "due_minutes": 15}]}  # fmt: skip
    for where in (community, far):
        Plan.objects.filter(community=where, hazard="fire", level=3).delete()
        Plan.objects.create(
            community=where, hazard="fire", level=3, title_zh="火灾", body=body, created_at=clock.now()
        )
    inside = services.activate(actor=users["admin"], community=community, hazard="fire", level=3)
    outside_one = services.activate(actor=users["admin"], community=far, hazard="fire", level=3)
    client = api(username)

    listed = client.get("emergencies?limit=500")
    detail = client.get(f"emergencies/{inside.pk}")
    if username in EMERGENCY_VIEWERS:
        ids = {item["id"] for item in listed.data["items"]}
        assert listed.status_code == 200 and inside.pk in ids, username
        assert (outside_one.pk in ids) == (username in ("admin", "auditor")), username
        assert detail.status_code == 200 and detail.data["id"] == inside.pk, username
        expected_far = 200 if username in ("admin", "auditor") else 404
        assert client.get(f"emergencies/{outside_one.pk}").status_code == expected_far, username
    else:
        assert (listed.status_code, detail.status_code) == (403, 403), username

    opened = client.post("emergencies", {"community": community.code, "hazard": "fire", "level": 3})
    assert opened.status_code == (201 if username in EMERGENCY_MANAGERS else 403), (username, opened.data)
    if username in EMERGENCY_MANAGERS and username != "admin":
        far_open = client.post("emergencies", {"community": far.code, "hazard": "fire", "level": 3})
        assert far_open.status_code == 404, username
        assert client.post(f"emergencies/{outside_one.pk}/stand-down", {}).status_code == 404, username
    down = client.post(f"emergencies/{inside.pk}/stand-down", {"retention_days": 10})
    if username in EMERGENCY_MANAGERS:
        assert down.status_code == 200 and down.data["status"] == "stood_down", username
    else:
        assert down.status_code == 403, username
    inside.refresh_from_db()
    outside_one.refresh_from_db()
    assert inside.status == ("stood_down" if username in EMERGENCY_MANAGERS else "active")
    assert outside_one.status == "active"
    assert Emergency.objects.filter(community=far).count() == 1


# The emergency parts outside tools read (banyan/emergency/api_parts.py): a list of the register or the
# plans, and an object of the caller's community or of one outside every role's scope but admins' and
# auditors'.
EMERGENCY_PART_PATHS = [
    ("emergency/hazards?limit=500", "list"),
    ("emergency/plans?limit=500", "list"),
    ("emergency/plans/{plan}", "object"),
    ("emergencies/{emergency}/roll-call", "object"),
    ("emergencies/{emergency}/shelters", "object"),
    ("emergencies/{emergency}/review", "object"),
]


@pytest.mark.parametrize("username", [*ROLES, None])
def test_emergency_parts_by_role_and_scope(username, users, api, outside):
    """GET /emergency/hazards, /emergency/plans, /emergency/plans/{id} and /emergencies/{id}/roll-call,
    /shelters and /review: viewers read their communities' (lists hold nothing of another community), an
    object of a community outside the scope is 404; residents 403; no session 401."""
    from banyan.emergency import services
    from banyan.emergency.models import Hazard, Plan

    community = _seeded_grids()[0].parent
    far = outside["other_street"]["community"]
    body = {"tasks": [{"key": "duty", "title_zh": "值班", "owner_kind": "community_committee",
                       "owner_role": "grid_worker", "due_minutes": 15}]}  # fmt: skip
    made = {}
    for where in (community, far):
        Plan.objects.filter(community=where, hazard="fire", level=3).delete()
        Hazard.objects.get_or_create(
            community=where, kind="fire", defaults={"created_at": clock.now(), "updated_at": clock.now()}
        )
        plan = Plan.objects.create(
            community=where, hazard="fire", level=3, title_zh="火灾", body=body, created_at=clock.now()
        )
        emergency = services.activate(actor=users["admin"], community=where, hazard="fire", level=3)
        made[where.code] = {"plan": plan.pk, "emergency": emergency.pk}
    client = api(username)
    sees_far = username in ("admin", "auditor")
    for template, kind in EMERGENCY_PART_PATHS:
        inside = client.get(template.format(**made[community.code]))
        outside_one = client.get(template.format(**made[far.code]))
        if username is None:
            assert (inside.status_code, outside_one.status_code) == (401, 401), template
            continue
        if username not in EMERGENCY_VIEWERS:
            assert (inside.status_code, outside_one.status_code) == (403, 403), (username, template)
            assert inside.data["code"] == "forbidden"
            continue
        assert inside.status_code == 200, (username, template, inside.data)
        if kind == "list":
            communities = {item["community"] for item in inside.data["items"]}
            assert community.code in communities, (username, template)
            assert (far.code in communities) == sees_far, (username, template)
            continue
        assert outside_one.status_code == (200 if sees_far else 404), (username, template)
        if not sees_far:
            assert outside_one.data["code"] == "not_found"


# The time bank (banyan/community/timebank/api.py): everyone lists the accounts in their scope (their
# community's pool and issuance accounts included, another community's never, but for admins and
# auditors); the owner of an account moves its hours, the community's managers pay from the pool;
# another community's account is 404.
TIMEBANK_MANAGERS = {"admin", "street01", "director"}
TIMEBANK_OWNERS = {"resident01": 6.0, "volunteer01": 12.0}


@pytest.mark.parametrize("username", [*ROLES, None])
def test_timebank_by_role_and_scope(username, users, api, outside):
    from banyan.community.timebank import services
    from banyan.community.timebank.models import Account

    community = _seeded_grids()[0].parent
    far = outside["other_street"]["community"]
    far_pool, _far_issuance = services.install_timebank(far, actor="sim")
    pool = Account.objects.get(community=community, kind="pool")
    resident = Account.objects.get(community=community, owner=users["resident01"])
    volunteer = Account.objects.get(community=community, owner=users["volunteer01"])
    services.transfer(actor=users["volunteer01"], from_account=volunteer, to_account=pool, hours=3)
    client = api(username)
    listed = client.get("timebank/accounts?limit=500")
    pay = {"from": pool.pk, "to": resident.pk, "hours": 0.5, "memo": "陪诊"}
    paid = client.post("timebank/transfers", pay)
    far_pay = client.post("timebank/transfers", {**pay, "from": far_pool.pk})
    month = clock.now().strftime("%Y-%m")
    statement = client.get(f"timebank/accounts/{pool.pk}/statement?month={month}")
    far_statement = client.get(f"timebank/accounts/{far_pool.pk}/statement?month={month}")
    if username is None:
        assert (listed.status_code, paid.status_code, far_pay.status_code) == (401, 401, 401)
        assert (statement.status_code, far_statement.status_code) == (401, 401)
        return
    assert statement.status_code == 200 and statement.data["account"] == pool.pk, (username, statement.data)
    assert far_statement.status_code == (200 if username in ("admin", "auditor") else 404), username
    assert listed.status_code == 200, (username, listed.data)
    items = listed.data["items"]
    ids = {item["id"] for item in items}
    assert pool.pk in ids, username
    assert (far_pool.pk in ids) == (username in ("admin", "auditor")), username
    if username in TIMEBANK_OWNERS:
        own = [item for item in items if item["owner"] == username]
        assert len(own) == 1 and own[0]["kind"] == "member" and own[0]["balance"] > 0, username
    assert paid.status_code == (201 if username in TIMEBANK_MANAGERS else 403), (username, paid.data)
    # Another community's pool: not found (an administrator sees it, but the hours stay in its community).
    expected = {"admin": (404, "to"), "auditor": (403, "from")}.get(username, (404, "from"))
    assert (far_pay.status_code, far_pay.data["field"]) == expected, (username, far_pay.data)
    assert services.balance_of(far_pool) == 0
