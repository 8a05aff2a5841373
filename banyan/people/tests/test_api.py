"""The people API: contract shapes, masking, validation, reveal + audit, lookup, no plaintext at rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banyan.audit.models import AuditEntry
from banyan.conftest import make_id_number
from banyan.core import vault
from banyan.people.models import Household, Resident
from banyan.places.models import Region


def first_grid():
    return Region.objects.filter(kind="grid").order_by("code").first()


def test_regions_contract(api):
    response = api("director").get("regions?kind=grid")
    assert response.status_code == 200
    assert response.data["count"] >= 6
    item = response.data["items"][0]
    assert {"id", "code", "name", "kind", "parent", "boundary"} <= set(item)
    assert item["kind"] == "grid"
    assert item["boundary"]["type"] == "Polygon"
    lon, lat = item["boundary"]["coordinates"][0][0]
    assert 29.9 < lat < 30.5 and 119.9 < lon < 120.5


def test_grid_worker_sees_only_their_grid(api, users):
    response = api("grid01").get("regions?kind=grid")
    assert [r["code"] for r in response.data["items"]] == [users["grid01"].region.code]


def test_residents_list_contract_and_masking(api):
    grid = first_grid()
    response = api("director").get(f"residents?grid={grid.code}&limit=20&offset=0")
    assert response.status_code == 200
    expected = Resident.objects.filter(household__grid=grid).count()
    assert response.data["count"] == expected
    assert len(response.data["items"]) == min(20, expected)
    clear = {r.pk: r for r in Resident.objects.filter(pk__in=[i["id"] for i in response.data["items"]])}
    for item in response.data["items"]:
        assert {"id", "name", "id_number", "phone", "grid", "household"} <= set(item)
        resident = clear[item["id"]]
        assert item["grid"] == grid.code
        assert item["id_number"] == resident.id_number[:3] + "*" * 11 + resident.id_number[-4:]
        assert resident.id_number[6:14] not in item["id_number"]
        if resident.phone:
            assert item["phone"] == resident.phone[:3] + "****" + resident.phone[-4:]
    body = json.dumps(response.data)
    for resident in clear.values():
        assert resident.id_number not in body
        if resident.phone:
            assert resident.phone not in body


def test_residents_paging_and_bad_paging(api):
    client = api("director")
    first = client.get("residents?limit=5&offset=0").data["items"]
    second = client.get("residents?limit=5&offset=5").data["items"]
    assert len(first) == 5 and not {i["id"] for i in first} & {i["id"] for i in second}
    response = client.get("residents?limit=0")
    assert response.status_code == 422
    assert response.data["field"] == "limit"
    assert client.get("residents?offset=-1").data["field"] == "offset"


def test_residents_list_query_count_does_not_grow_with_page_size(api):
    client = api("director")
    client.get("residents?limit=1")  # warm the token lookup path
    with CaptureQueriesContext(connection) as small:
        client.get("residents?limit=2")
    with CaptureQueriesContext(connection) as large:
        client.get("residents?limit=100")
    assert len(large.captured_queries) == len(small.captured_queries)


def test_create_resident_and_audit(api):
    household = Household.objects.filter(grid=first_grid()).first()
    id_number = make_id_number(birth="19900304")
    body = {
        "household": household.pk,
        "name": "王小明",
        "id_number": id_number,
        "phone": "13900001111",
        "relation": "child",
        "tags": ["volunteer"],
    }
    before = AuditEntry.objects.count()
    response = api("grid01").post("residents", body)
    assert response.status_code == 201, response.data
    assert response.data["id_number"] == vault.mask_id_number(id_number)
    assert response.data["age"] >= 36
    resident = Resident.objects.get(pk=response.data["id"])
    assert resident.id_number == id_number
    assert resident.birth_date.isoformat() == "1990-03-04"
    entry = AuditEntry.objects.get(id=before + 1)
    assert (entry.action, entry.subject_id, entry.actor) == ("resident.create", str(resident.pk), "grid01")
    assert id_number not in json.dumps(entry.details) and "13900001111" not in json.dumps(entry.details)


@pytest.mark.parametrize(
    ("id_number", "reason"),
    [
        ("33010619800615123", "18 characters"),
        ("330106198006151230", "check character"),
        ("330106198013151234", "birth date"),
        ("abc", "18 characters"),
    ],
)
def test_bad_id_number_is_refused_naming_the_field(api, id_number, reason):
    household = Household.objects.filter(grid=first_grid()).first()
    before = (Resident.objects.count(), AuditEntry.objects.count())
    response = api("director").post(
        "residents", {"household": household.pk, "name": "李四", "id_number": id_number, "relation": "other"}
    )
    assert response.status_code in (400, 422)
    assert response.data["field"] == "id_number"
    assert reason in response.data["detail"]
    assert id_number not in response.data["detail"]
    assert (Resident.objects.count(), AuditEntry.objects.count()) == before


def test_duplicate_id_number_is_refused(api):
    existing = Resident.objects.filter(household__grid=first_grid()).first()
    response = api("director").post(
        "residents",
        {
            "household": existing.household_id,
            "name": "重复",
            "id_number": existing.id_number,
            "relation": "other",
        },
    )
    assert response.status_code == 400
    assert response.data["field"] == "id_number"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"household": "x"},
        {"household": 1, "name": "", "id_number": "1", "relation": "head"},
        {"household": 1, "name": "a" * 65, "id_number": "1", "relation": "head"},
        {"household": 10**12, "name": "a", "id_number": make_id_number(), "relation": "head"},
        {"household": 1, "name": "a\x00b", "id_number": make_id_number(), "relation": "head"},
        {"household": 1, "name": "a", "id_number": make_id_number(), "relation": "emperor"},
        {"household": 1, "name": "a", "id_number": make_id_number(), "relation": "head", "tags": ["nope"]},
        {"household": 1, "name": "a", "id_number": make_id_number(), "relation": "head", "phone": "12345"},
    ],
)
def test_bad_bodies_get_a_clear_4xx_and_write_nothing(api, body):
    before = Resident.objects.count()
    client = api("admin")
    if body is None:
        response = client.client.post(
            "/api/v1/residents", data="{not json", content_type="application/json", headers=client.headers
        )
        data = response.json()
    else:
        response = client.post("residents", body)
        data = response.data
    assert 400 <= response.status_code < 500, data
    assert data["detail"]
    assert Resident.objects.count() == before


def test_update_resident_changes_and_audits_field_names_only(api):
    resident = Resident.objects.filter(household__grid=first_grid()).first()
    response = api("director").patch(f"residents/{resident.pk}", {"phone": "13711112222", "name": "改名"})
    assert response.status_code == 200, response.data
    resident.refresh_from_db()
    assert resident.phone == "13711112222"
    assert resident.phone_index == vault.blind_index("phone", "13711112222")
    entry = AuditEntry.objects.filter(action="resident.update").order_by("-id").first()
    assert entry.details == {"fields": ["name", "phone"], "personal": ["phone"]}
    assert "13711112222" not in json.dumps(entry.details)
    response = api("director").patch(f"residents/{resident.pk}", {"id_number": "123"})
    assert response.status_code == 400 and response.data["field"] == "id_number"


def test_reveal_contract_and_one_audit_entry_per_field(api):
    resident = Resident.objects.filter(household__grid=first_grid()).exclude(phone="").first()
    before = AuditEntry.objects.count()
    response = api("grid01").post(
        f"residents/{resident.pk}/reveal", {"fields": ["id_number", "phone"], "purpose": "核实低保申请"}
    )
    assert response.status_code == 200
    assert response.data == {"id_number": resident.id_number, "phone": resident.phone}
    # Finding 12: clear values must not stay in a browser's or proxy's cache.
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache"
    entries = list(AuditEntry.objects.filter(id__gt=before).order_by("id"))
    assert [(e.action, e.details["field"], e.purpose, e.actor) for e in entries] == [
        ("resident.reveal", "id_number", "核实低保申请", "grid01"),
        ("resident.reveal", "phone", "核实低保申请", "grid01"),
    ]
    audit = api("auditor").get(f"audit?subject_type=resident&subject_id={resident.pk}")
    assert audit.status_code == 200
    assert {"action", "actor", "purpose", "at"} <= set(audit.data["items"][0])
    assert audit.data["items"][0]["purpose"] == "核实低保申请"
    assert resident.id_number not in json.dumps(audit.data)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": ["id_number"]}, "purpose"),
        ({"fields": ["id_number"], "purpose": "  "}, "purpose"),
        ({"fields": [], "purpose": "核实身份信息"}, "fields"),
        ({"fields": ["password"], "purpose": "核实身份信息"}, "fields"),
    ],
)
def test_reveal_without_purpose_or_fields_reveals_nothing(api, body, field):
    resident = Resident.objects.filter(household__grid=first_grid()).first()
    before = AuditEntry.objects.count()
    response = api("director").post(f"residents/{resident.pk}/reveal", body)
    assert response.status_code == 400
    assert response.data["field"] == field
    assert resident.id_number not in json.dumps(response.data)
    assert AuditEntry.objects.count() == before


def test_lookup_by_id_number_and_phone_uses_blind_index(api):
    resident = Resident.objects.filter(household__grid=first_grid()).exclude(phone="").first()
    client = api("director")
    purpose = "verify the household register"
    by_id = client.post("residents/lookup", {"id_number": resident.id_number.lower(), "purpose": purpose})
    assert [i["id"] for i in by_id.data["items"]] == [resident.pk]
    by_phone = client.post("residents/lookup", {"phone": resident.phone, "purpose": purpose})
    assert resident.pk in [i["id"] for i in by_phone.data["items"]]
    nothing = client.post("residents/lookup", {"id_number": make_id_number(), "purpose": purpose})
    assert nothing.data["count"] == 0
    assert client.post("residents/lookup", {"purpose": purpose}).status_code == 400


def test_database_holds_no_plaintext_id_numbers_or_phones(api):
    residents = list(Resident.objects.exclude(phone="")[:50])
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM people_resident")
        rows = cursor.fetchall()
    stored = {value for row in rows for value in row}
    assert all(value.startswith("v1:") for row in rows for value in row if value)
    for resident in residents:
        assert resident.id_number not in stored and resident.phone not in stored
    if connection.vendor == "sqlite":
        connection.close()  # checkpoint so the file on disk is complete
        name = Path(settings.DATABASES["default"]["NAME"])
        blob = b"".join(p.read_bytes() for p in name.parent.glob(name.name + "*"))
        for resident in residents:
            assert resident.id_number.encode() not in blob
            assert resident.phone.encode() not in blob


def test_care_profile_details_need_consent_and_are_masked(api):
    resident = Resident.objects.filter(household__grid=first_grid(), care_profiles__isnull=True).first()
    client = api("director")
    body = {
        "resident": resident.pk,
        "kind": "disability",
        "level": 3,
        "details": {"conditions": ["视力残疾"]},
    }
    response = client.post("care-profiles", body)
    assert response.status_code == 400 and response.data["field"] == "details"
    consent = client.post(f"residents/{resident.pk}/consents", {"scope": "health_data", "given_by": "self"})
    assert consent.status_code == 201, consent.data
    response = client.post(
        "care-profiles", {**body, "carers": [{"kind": "family", "name": "张三", "phone": "13800000001"}]}
    )
    assert response.status_code == 201, response.data
    assert "视力残疾" not in json.dumps(response.data, ensure_ascii=False)
    assert response.data["carers"][0]["phone"] == "138****0001"
    revealed = client.post(
        f"residents/{resident.pk}/reveal", {"fields": ["care_details"], "purpose": "制定助残计划"}
    )
    assert revealed.data["care_details"][0]["details"] == {"conditions": ["视力残疾"]}


def test_walking_graph_endpoint(api):
    community = Region.objects.filter(kind="community").order_by("id").first()
    response = api("director").get(f"regions/{community.pk}/walking-graph")
    assert response.status_code == 200
    assert len(response.data["nodes"]) > 10 and len(response.data["edges"]) >= len(response.data["nodes"]) - 1
    grid = first_grid()
    assert api("director").get(f"regions/{grid.pk}/walking-graph").status_code == 400


def test_openapi_and_healthz(api):
    from django.test import Client

    client = Client()
    assert client.get("/healthz").status_code == 200
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/residents/{resident_id}/reveal" in spec["paths"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("residents?household=99999999999999999999999", "household"),
        ("households?unit=0", "unit"),
        ("regions?kind=bogus", "kind"),
        ("regions?parent=-4", "parent"),
        ("residents?living_alone=maybe", "living_alone"),
        ("residents?grid=" + "x" * 100, "grid"),
        ("units?building=1e400", "building"),
    ],
)
def test_out_of_range_query_values_name_the_field(api, path, field):
    response = api("director").get(path)
    assert response.status_code == 422, response.data
    assert response.data["field"] == field


@pytest.mark.parametrize(
    "path", ["residents/99999999999999999999999", "buildings/0", "households/99999999999999999999"]
)
def test_out_of_range_ids_in_paths_are_4xx(api, path):
    response = api("director").get(path)
    assert response.status_code in (400, 404), response.data


def test_organisations_list_members_and_regions(api):
    response = api("director").get("organisations")
    assert response.status_code == 200
    committee = next(o for o in response.data["items"] if o["kind"] == "community_committee")
    assert "director" in [m["username"] for m in committee["members"]]
    assert committee["regions"]
    grid_view = api("grid01").get("organisations").data["items"]
    assert any(o["kind"] == "community_committee" for o in grid_view)  # serves the grid's community


def test_household_size_counts_every_member_for_a_resident(api, users):
    own = users["resident01"].resident.household
    response = api("resident01").get("households")
    assert [(h["id"], h["size"]) for h in response.data["items"]] == [(own.pk, own.members.count())]
    assert own.members.count() > 1


def test_vehicles_filter_by_household(api):
    from banyan.people.models import Vehicle

    vehicle = Vehicle.objects.order_by("id").first()
    response = api("admin").get(f"vehicles?household={vehicle.household_id}")
    assert {v["household"] for v in response.data["items"]} == {vehicle.household_id}
    assert response.data["items"][0]["plate"] == vault.mask_plate(vehicle.plate)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("care-profiles", {"resident": 1, "kind": "disability", "details": {"a": "\ud83d"}}, "details"),
        ("care-profiles", {"resident": 1, "kind": "disability", "details": {"a": {"deep": 1}}}, "details"),
        (
            "care-profiles",
            {"resident": 1, "kind": "disability", "details": {f"k{i}": "x" for i in range(30)}},
            "details",
        ),
        ("residents/lookup", {"phone": "\ud83d"}, "phone"),
        ("ledgers/residents/export", {"grid": "\ud83d", "fields": [], "purpose": ""}, "grid"),
        ("ledgers/residents/export", {"grid": "G01", "fields": [], "purpose": "x" * 600}, "purpose"),
    ],
)
def test_broken_text_and_oversized_documents_are_422(api, path, body, field):
    response = api("admin").post(path, body)
    assert response.status_code == 422, response.content
    assert response.data["field"] == field


def test_huge_offset_is_refused(api):
    response = api("director").get("residents?offset=9223372036854775808")
    assert response.status_code == 422 and response.data["field"] == "offset"


@pytest.mark.parametrize("purpose", ["核实 330106198006151234 的身份", "回访 13812345678", "check\x00it out"])
def test_purpose_may_not_carry_personal_numbers_or_control_characters(api, purpose):
    resident = Resident.objects.filter(household__grid=first_grid()).first()
    before = AuditEntry.objects.count()
    response = api("director").post(
        f"residents/{resident.pk}/reveal", {"fields": ["phone"], "purpose": purpose}
    )
    assert response.status_code in (400, 422)
    assert response.data["field"] == "purpose"
    assert AuditEntry.objects.count() == before


def test_resident_reveals_only_their_own_care_details(api, users):
    me = users["resident01"].resident
    other = me.household.members.exclude(pk=me.pk).first()
    client = api("resident01")
    assert (
        client.post(
            f"residents/{me.pk}/reveal", {"fields": ["care_details"], "purpose": "查看本人档案"}
        ).status_code
        == 200
    )
    response = client.post(
        f"residents/{other.pk}/reveal", {"fields": ["care_details"], "purpose": "查看家人档案"}
    )
    assert response.status_code == 403
    response = client.post(f"residents/{other.pk}/reveal", {"fields": ["phone"], "purpose": "联系家人"})
    assert response.status_code == 200


def test_care_kinds_are_hidden_from_roles_without_care_rights(api):
    resident = Resident.objects.filter(care_profiles__is_active=True).first()
    path = f"residents/{resident.pk}"
    assert api("director").get(path).data["care_kinds"]
    assert api("property01").get(path).data["care_kinds"] == []
    assert api("auditor").get(path).data["care_kinds"] == []
    assert api("property01").get("care-profiles").data["count"] == 0


def test_damaged_xlsx_ledger_is_a_clear_400(api, tmp_path):
    import io
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<x")
    client = api("director")
    upload = SimpleUploadedFile("l.xlsx", buffer.getvalue())
    response = client.client.post(
        "/api/v1/ledgers/residents/import", {"file": upload}, headers=client.headers
    )
    assert response.status_code == 400
    assert response.json()["field"] == "file"


def _resident_with_details():
    from banyan.people.models import CareProfile

    profile = next(p for p in CareProfile.objects.filter(resident__household__grid=first_grid()) if p.details)
    return profile.resident, profile


def test_withdrawing_health_consent_erases_care_details(api):
    resident, profile = _resident_with_details()
    consent = resident.consents.get(scope="health_data", withdrawn_at__isnull=True)
    with_details = sum(1 for p in resident.care_profiles.all() if p.details)
    client = api("grid01")
    response = client.post(f"residents/{resident.pk}/consents/{consent.pk}/withdraw")
    assert response.status_code == 200, response.data
    assert response.data["withdrawn_at"]
    profile.refresh_from_db()
    assert profile.details == {}
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.action, entry.details["cleared_care_details"]) == ("consent.withdraw", with_details)
    assert all(not p.details for p in resident.care_profiles.all())
    again = client.post(f"residents/{resident.pk}/consents/{consent.pk}/withdraw")
    assert again.status_code == 400 and again.data["field"] == "consent"
    patch = client.patch(f"care-profiles/{profile.pk}", {"details": {"needs": ["助浴"]}})
    assert patch.status_code == 400 and patch.data["field"] == "details"


def test_a_resident_withdraws_their_own_consent_only(api, users):
    me = users["resident01"].resident
    client = api("director")
    mine = client.post(f"residents/{me.pk}/consents", {"scope": "care_monitoring", "given_by": "self"}).data
    other = me.household.members.exclude(pk=me.pk).first()
    theirs = client.post(
        f"residents/{other.pk}/consents", {"scope": "care_monitoring", "given_by": "guardian"}
    )
    resident_client = api("resident01")
    response = resident_client.post(f"residents/{other.pk}/consents/{theirs.data['id']}/withdraw")
    assert response.status_code == 403
    assert resident_client.post(f"residents/{me.pk}/consents/{mine['id']}/withdraw").status_code == 200


def test_update_care_profile_and_household(api):
    resident, profile = _resident_with_details()
    client = api("director")
    response = client.patch(f"care-profiles/{profile.pk}", {"level": 3, "visit_interval_days": 2})
    assert response.status_code == 200, response.data
    assert (response.data["level"], response.data["visit_interval_days"]) == (3, 2)
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.details["fields"] == ["level", "visit_interval_days"]
    household = resident.household
    other_unit = household.unit.building.units.exclude(pk=household.unit_id).first()
    response = client.patch(f"households/{household.pk}", {"unit": other_unit.pk, "is_owner_occupied": False})
    assert response.status_code == 200, response.data
    assert response.data["unit"] == other_unit.pk and response.data["is_owner_occupied"] is False
    assert (
        api("property01").patch(f"households/{household.pk}", {"is_owner_occupied": True}).status_code == 403
    )
