"""Residents' own rights (PIPL Art. 44–47): my data, who viewed it, copies, corrections handled by staff."""

from __future__ import annotations

import io
import json

from pypdf import PdfReader

from banyan.audit.models import AuditEntry
from banyan.conftest import make_id_number
from banyan.people import pdf
from banyan.people.models import CorrectionRequest, Resident

PURPOSE = "phone call for the weekly welfare check"


def _other_resident_account(users):
    """A resident account of another household (residentN accounts exist per community)."""
    from banyan.people.models import User

    own = users["resident01"].resident
    other = (
        Resident.objects.filter(household__grid=own.household.grid).exclude(household=own.household).first()
    )
    return User.objects.create_user(
        username="t-resident-other", password="x" * 12, role="resident", resident=other
    )


def test_my_data_shows_what_is_held_masked(api, users):
    own = users["resident01"].resident
    response = api("resident01").get("me/data")
    assert response.status_code == 200
    data = response.data
    assert data["registry"]["id"] == own.pk and data["registry"]["name"] == own.name
    assert (
        data["registry"]["id_number"] != own.id_number
        and data["registry"]["id_number"][-4:] == own.id_number[-4:]
    )
    assert own.id_number not in json.dumps(data)
    if own.phone:
        assert own.phone not in json.dumps(data)
    assert data["household"]["code"] == own.household.code
    assert {"care_profiles", "consents", "devices", "reports", "corrections", "who_viewed"} <= set(data)


def test_my_data_is_404_for_an_account_without_a_registry_entry(api):
    response = api("director").get("me/data")
    assert response.status_code == 404 and response.data["code"] == "not_found"


def test_who_viewed_my_data_names_role_organisation_field_and_purpose(api, users):
    own = users["resident01"].resident
    assert (
        api("grid01")
        .post(f"residents/{own.pk}/reveal", {"fields": ["phone"], "purpose": PURPOSE})
        .status_code
        == 200
    )
    api("grid01").post("residents/lookup", {"id_number": own.id_number, "purpose": "verify the subsidy"})
    views = api("resident01").get("me/data").data["who_viewed"]
    reveal = next(v for v in views if v["action"] == "resident.reveal")
    assert reveal["purpose"] == PURPOSE
    assert reveal["field"] == "Phone"
    assert reveal["what"] == "Viewed in clear"
    assert reveal["who"].startswith("Grid worker")
    assert "grid01" not in reveal["who"]  # the role and organisation, not the staff member's account
    organisation = users["grid01"].memberships.first()
    if organisation:
        assert organisation.organisation.name_zh in reveal["who"]
    lookup = next(v for v in views if v["action"] == "resident.lookup")
    assert lookup["field"] == "ID number" and lookup["purpose"] == "verify the subsidy"


def test_own_reveal_is_audited_and_not_cached(api, users):
    own = users["resident01"].resident
    before = AuditEntry.objects.count()
    response = api("resident01").post("me/data/reveal", {"fields": ["id_number"]})
    assert response.status_code == 200
    assert response.data == {"id_number": own.id_number}
    assert "no-store" in response["Cache-Control"] and response["Pragma"] == "no-cache"
    entry = AuditEntry.objects.get(id=before + 1)
    assert (entry.action, entry.subject_id, entry.details) == (
        "resident.reveal",
        str(own.pk),
        {"field": "id_number"},
    )


def test_json_export_holds_my_data_in_clear_is_not_cached_and_is_audited(api, users):
    own = users["resident01"].resident
    before = AuditEntry.objects.count()
    response = api("resident01").post("me/data/export", {"format": "json"})
    assert response.status_code == 200
    assert response.data["registry"]["id_number"] == own.id_number
    assert "no-store" in response["Cache-Control"] and response["Pragma"] == "no-cache"
    entry = AuditEntry.objects.get(id=before + 1)
    assert (entry.action, entry.details) == ("resident.export", {"format": "json"})
    assert own.id_number not in json.dumps(entry.details) + entry.purpose


def test_pdf_export_holds_my_name_as_text(api, users):
    own = users["resident01"].resident
    assert pdf.font_path() is not None, "install fonts-droid-fallback (.ci/run does)"
    response = api("resident01").post("me/data/export", {"format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert own.name in text
    assert own.id_number in text


def test_another_resident_cannot_see_or_export_my_data(api, users):
    other = _other_resident_account(users)
    own = users["resident01"].resident
    from banyan.conftest import ApiClient

    client = ApiClient(other)
    data = client.get("me/data").data
    assert data["registry"]["id"] != own.pk
    export = client.post("me/data/export", {"format": "json"}).data
    assert export["registry"]["id_number"] != own.id_number


def test_correction_request_accepted_by_staff(api, users):
    own = users["resident01"].resident
    new_phone = "13912345678"
    response = api("resident01").post(
        "me/corrections", {"field": "phone", "proposed_value": new_phone, "note": "I changed my number"}
    )
    assert response.status_code == 201, response.data
    correction_id = response.data["id"]
    assert response.data["status"] == "pending"
    stored = CorrectionRequest.objects.get(pk=correction_id)
    request_entry = AuditEntry.objects.filter(action="correction.request").order_by("-id").first()
    assert new_phone not in json.dumps(request_entry.details) + request_entry.purpose
    # Not in clear at rest.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT proposed_value, note FROM people_correctionrequest WHERE id = %s", [stored.pk])
        raw = " ".join(str(v) for v in cursor.fetchone())
    assert new_phone not in raw and "changed my number" not in raw

    queue = api("grid01").get("corrections?status=pending")
    assert correction_id in [i["id"] for i in queue.data["items"]]
    response = api("grid01").post(f"corrections/{correction_id}/accept")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "accepted"
    own.refresh_from_db()
    assert own.phone == new_phone
    actions = list(
        AuditEntry.objects.filter(subject_type="resident", subject_id=str(own.pk)).values_list(
            "action", flat=True
        )
    )
    assert {"correction.request", "resident.update", "correction.accept"} <= set(actions)
    # Answered once: a second accept or reject is a conflict, nothing changes.
    assert api("grid01").post(f"corrections/{correction_id}/accept").status_code == 409
    assert (
        api("grid01").post(f"corrections/{correction_id}/reject", {"reason": "too late"}).status_code == 409
    )
    mine = api("resident01").get("me/corrections").data["items"]
    assert mine[0]["status"] == "accepted"


def test_correction_rejected_with_a_reason_the_resident_reads(api, users):
    own = users["resident01"].resident
    before_name = own.name
    correction_id = (
        api("resident01").post("me/corrections", {"field": "name", "proposed_value": "王小芳"}).data["id"]
    )
    assert api("grid01").post(f"corrections/{correction_id}/reject", {"reason": ""}).status_code in (400, 422)
    response = api("grid01").post(f"corrections/{correction_id}/reject", {"reason": "请携带户口本到社区核实"})
    assert response.status_code == 200 and response.data["status"] == "rejected"
    own.refresh_from_db()
    assert own.name == before_name
    mine = api("resident01").get("me/corrections").data["items"][0]
    assert (mine["status"], mine["reason"]) == ("rejected", "请携带户口本到社区核实")
    entry = AuditEntry.objects.filter(action="correction.reject").order_by("-id").first()
    assert "户口本" not in json.dumps(entry.details) + entry.purpose


def test_a_bad_correction_names_the_field_and_writes_nothing(api, users):
    client = api("resident01")
    before = CorrectionRequest.objects.count()
    assert client.post("me/corrections", {"field": "id_number", "proposed_value": "12345"}).data["field"] == (
        "proposed_value"
    )
    assert client.post("me/corrections", {"field": "salary", "proposed_value": "x"}).data["field"] == "field"
    assert client.post("me/corrections", {"field": "name", "proposed_value": "王\u202e芳"}).data["field"] == (
        "proposed_value"
    )
    assert CorrectionRequest.objects.count() == before


def test_corrections_of_others_are_404(api, users, outside):
    correction_id = (
        api("resident01")
        .post("me/corrections", {"field": "id_number", "proposed_value": make_id_number()})
        .data["id"]
    )
    from banyan.conftest import ApiClient

    other = ApiClient(_other_resident_account(users))
    assert other.get(f"corrections/{correction_id}").status_code == 404
    assert other.post(f"corrections/{correction_id}/accept").status_code == 403
    # Staff out of scope: grid02 serves another grid; a director of another community neither.
    assert api("grid02").get(f"corrections/{correction_id}").status_code == 404
    assert api("grid02").post(f"corrections/{correction_id}/accept").status_code == 404
    assert correction_id not in [i["id"] for i in api("grid02").get("corrections").data["items"]]
    # Roles that do not change people see no queue.
    assert api("property01").get("corrections").status_code == 403
    assert api("auditor").get("corrections").status_code == 403
    assert CorrectionRequest.objects.get(pk=correction_id).status == "pending"
