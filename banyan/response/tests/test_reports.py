"""Resident reports: filing one opens an incident routed by the matrix; duplicates, rating, photos,
and the reporter's contact details kept as personal data."""

from __future__ import annotations

import io
import logging

import pytest
from django.db import connection

from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.response.models import Incident, Report
from banyan.response.reports import services as reports
from banyan.response.tests.conftest import NOW, jpeg_with_gps

PHONE = "13912345678"


def close(incident: Incident) -> None:
    Incident.objects.filter(pk=incident.pk).update(status="closed", closed_at=NOW, updated_at=NOW)


@pytest.fixture
def resident(users):
    return users["resident01"]


@pytest.fixture
def neighbour(db):
    from banyan.people.models import User

    return User.objects.create_user("resident-neighbour", password="x-pass-2026", role="resident")


def open311_report(site, **contact):
    """A report posted over Open311 (no account) with these contact details."""
    reports.create_open311_key("city-app")
    return reports.submit_report(
        actor=None,
        category="flooding",
        source="open311",
        building=site["building"],
        open311_key=reports.Open311Key.objects.get(name="city-app"),
        contact=reports.ContactDetails(**contact),
    )


def counts():
    return Report.objects.count(), Incident.objects.count()


# --- filing -----------------------------------------------------------------------------------


def test_a_report_at_home_becomes_an_incident_routed_by_the_matrix(site, resident):
    report = reports.submit_report(actor=resident, category="flooding", home=True, description="水漫进楼道")
    incident = report.incident
    assert report.unit == resident.resident.household.unit
    assert report.building == report.unit.building
    assert incident.source == "report"
    assert incident.category.code == "flooding"
    assert incident.accountable == site["committee"]
    assert incident.responsibility == site["cell"]
    assert incident.created_by == resident
    # Dispatched on foot like any incident: someone of the accountable body has it.
    assert incident.assignee_id in {r.user_id for r in site["responders"]}
    assert report.status == incident.status == "assigned"
    assert reports.who_is_responsible(report)["code"] == "ORG-COMMITTEE"
    assert [step["step"] for step in reports.timeline_summary(report)][:2] == ["opened", "assign"]


def test_a_report_tells_the_reporter_it_arrived(site, resident):
    from banyan.notify.models import Message

    report = reports.submit_report(actor=resident, category="flooding", building=site["building"])
    message = Message.objects.get(kind="report.received")
    assert message.subject_id == str(report.pk)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": "volcano"}, "category"),
        ({"category": "flooding", "description": "x" * 4001}, "description"),
        ({"category": "flooding", "latitude": 10.0, "longitude": 10.0}, "latitude"),
        ({"category": "flooding", "latitude": 30.3}, "latitude"),
        ({"category": "flooding"}, "place"),
        ({"category": "flooding", "media_url": "javascript:alert(1)", "home": True}, "media_url"),
    ],
)
def test_bad_reports_are_refused_and_leave_nothing(site, resident, fields, field):
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        reports.submit_report(actor=resident, **fields)
    assert refused.value.field == field
    assert counts() == before


def test_home_needs_an_account_with_a_home(site, neighbour):
    with pytest.raises(InvalidInput) as refused:
        reports.submit_report(actor=neighbour, category="flooding", home=True)
    assert refused.value.field == "place"


def test_an_auditor_may_not_report(site, users):
    before = counts()
    with pytest.raises(PermissionDenied):
        reports.submit_report(actor=users["auditor"], category="flooding", building=site["building"])
    assert counts() == before


def test_a_failure_after_the_incident_leaves_neither(site, resident, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("notify is down")

    monkeypatch.setattr(reports, "notify", broken)
    before = counts()
    with pytest.raises(RuntimeError):
        reports.submit_report(actor=resident, category="flooding", building=site["building"])
    assert counts() == before


# --- duplicates -----------------------------------------------------------------------------------


def test_possible_duplicates_same_category_nearby_and_open(site, resident):
    from banyan.places.geo import haversine_m
    from banyan.places.models import Building

    building = site["building"]
    first = reports.submit_report(actor=resident, category="flooding", building=building)
    assert reports.possible_duplicates("flooding", building=building) == [first.incident]
    assert reports.possible_duplicates("noise", building=building) == []
    # A point 50 m away is near; one 1 km away is not.
    near = reports.possible_duplicates(
        "flooding", latitude=building.latitude + 0.00045, longitude=building.longitude
    )
    assert near == [first.incident]
    far_building = max(
        Building.objects.filter(grid__parent=building.grid.parent),
        key=lambda b: haversine_m(b.longitude, b.latitude, building.longitude, building.latitude),
    )
    assert (
        haversine_m(far_building.longitude, far_building.latitude, building.longitude, building.latitude)
        > 100
    )
    assert reports.possible_duplicates("flooding", building=far_building) == []
    close(first.incident)
    assert reports.possible_duplicates("flooding", building=building) == []


# --- rating -----------------------------------------------------------------------------------


def test_rating_only_by_the_reporter_only_when_closed_1_to_5_once(site, resident, users, neighbour):
    report = reports.submit_report(actor=resident, category="flooding", building=site["building"])
    with pytest.raises(Conflict):
        reports.rate_report(actor=resident, report=report, rating=5)
    close(report.incident)
    report.refresh_from_db()
    with pytest.raises(PermissionDenied):
        reports.rate_report(actor=neighbour, report=report, rating=5)
    with pytest.raises(PermissionDenied):
        reports.rate_report(actor=users["director"], report=report, rating=5)
    for bad in (0, 6, 2.5, True):
        with pytest.raises(InvalidInput):
            reports.rate_report(actor=resident, report=report, rating=bad)
    assert Report.objects.get(pk=report.pk).rating is None
    rated = reports.rate_report(actor=resident, report=report, rating=4, comment="来得快")
    assert (rated.rating, rated.rating_comment, rated.rated_at) == (4, "来得快", NOW)
    with pytest.raises(Conflict):
        reports.rate_report(actor=resident, report=report, rating=1)
    summary = reports.satisfaction()
    assert summary["by_category"] == [{"code": "flooding", "ratings": 1, "mean": 4.0, "satisfied_share": 1.0}]
    assert summary["by_body"] == [
        {"code": "ORG-COMMITTEE", "ratings": 1, "mean": 4.0, "satisfied_share": 1.0}
    ]


# --- photos -----------------------------------------------------------------------------------


def test_photo_exif_and_gps_are_stripped(site, resident):
    from PIL import ExifTags, Image

    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    report = reports.submit_report(
        actor=resident, category="flooding", building=site["building"], photo=original
    )
    stored = bytes(Report.objects.get(pk=report.pk).photo)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.size == (64, 48)
    assert not image.getexif()
    assert b"Exif" not in stored and b"TestCam" not in stored
    assert report.photo_type == "image/jpeg"


def test_a_png_stays_a_png(site, resident):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (10, 10)).save(out, "PNG")
    cleaned, kind = reports.clean_photo(out.getvalue())
    assert kind == "image/png" and Image.open(io.BytesIO(cleaned)).size == (10, 10)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"%PDF-1.4 not a picture", "not_an_image"),
        (b"\xff\xd8\xff\xe0 truncated jpeg", "not_an_image"),
        (b"GIF89a" + b"\x00" * 20, "not_an_image"),
        (b"\xff" * (5 * 1024 * 1024 + 1), "too_large"),
    ],
)
def test_photos_that_are_refused(site, resident, data, code):
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        reports.submit_report(actor=resident, category="flooding", building=site["building"], photo=data)
    assert (refused.value.field, refused.value.code) == ("photo", code)
    assert counts() == before


def test_a_gif_is_refused(site, resident):
    from PIL import Image

    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    with pytest.raises(InvalidInput) as refused:
        reports.clean_photo(out.getvalue())
    assert refused.value.code == "not_an_image"


# --- personal data -----------------------------------------------------------------------------------


def test_contact_details_are_encrypted_at_rest_and_masked(site, caplog):
    from banyan.core import vault

    caplog.set_level(logging.DEBUG)
    report = open311_report(site, name="王小明", phone=PHONE, email="Wang@Example.org")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_name, contact_phone, contact_email FROM response_report WHERE id = %s",
            [report.pk],
        )
        row = cursor.fetchone()
    assert all(value.startswith("v1:") for value in row)
    assert not any(secret in " ".join(row) for secret in (PHONE, "王小明", "wang@example.org"))
    found = Report.objects.get(contact_phone_index=vault.blind_index(reports.PHONE_INDEX, PHONE))
    assert (found.contact_phone, found.contact_email) == (PHONE, "wang@example.org")
    assert found.contact_masked == {"name": "王**", "phone": "139****5678", "email": "w***@example.org"}
    assert PHONE not in caplog.text and "example.org" not in caplog.text
    assert "ContactDetails(…)" == repr(reports.ContactDetails(phone=PHONE))


def test_a_bad_phone_is_refused_without_echoing_it(site):
    with pytest.raises(InvalidInput) as refused:
        open311_report(site, phone="call 139-1234-abc")
    assert refused.value.field == "phone" and "139" not in refused.value.message


# --- the API -----------------------------------------------------------------------------------


def test_api_file_follow_and_rate(site, resident, api):
    client = api("resident01")
    filed = client.post("reports", {"category": "flooding", "home": True, "description": "楼道积水"})
    assert filed.status_code == 201, filed.data
    body = filed.data
    assert body["status"] == "assigned"
    assert body["responsible"]["code"] == "ORG-COMMITTEE"
    assert body["contact"] == {"name": "", "phone": "", "email": ""}
    mine = client.get("reports")
    assert mine.data["count"] == 1 and mine.data["items"][0]["id"] == body["id"]
    one = client.get(f"reports/{body['id']}")
    assert one.status_code == 200
    assert [s["step"] for s in one.data["timeline"]][:2] == ["opened", "assign"]
    assert all(set(step) == {"at", "step", "label", "status"} for step in one.data["timeline"])
    assert client.post(f"reports/{body['id']}/rate", {"rating": 5}).status_code == 409
    close(Incident.objects.get(pk=body["incident"]))
    rated = client.post(f"reports/{body['id']}/rate", {"rating": 5, "comment": "好"})
    assert rated.status_code == 200 and rated.data["rating"] == 5
    assert client.post(f"reports/{body['id']}/rate", {"rating": 3}).status_code == 409


def test_api_others_reports_are_not_found(site, resident, api, neighbour):
    from banyan.conftest import ApiClient

    report = reports.submit_report(actor=resident, category="flooding", building=site["building"])
    other = ApiClient(neighbour)
    assert other.get(f"reports/{report.pk}").status_code == 404
    assert other.post(f"reports/{report.pk}/rate", {"rating": 1}).status_code == 404
    assert other.get("reports").data["count"] == 0
    assert api().get("reports").status_code == 401
    # Staff who see the incident see the report too.
    assert api("director").get(f"reports/{report.pk}").status_code == 200
    with pytest.raises(NotFound):
        reports.get_report_for(neighbour, report.pk)


def test_api_form_with_photo(site, resident, api):
    client = api("resident01").client
    token_headers = api("resident01").headers
    answer = client.post(
        "/api/v1/reports",
        {
            "category": "flooding",
            "building": site["building"].code,
            "description": "照片",
            "photo": _upload("p.jpg", jpeg_with_gps()),
        },
        headers=token_headers,
    )
    assert answer.status_code == 201, answer.content
    report_id = answer.json()["id"]
    assert answer.json()["has_photo"] is True
    photo = client.get(f"/api/v1/reports/{report_id}/photo", headers=token_headers)
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert b"Exif" not in photo.content


def test_api_form_refuses_a_non_image_and_an_unknown_building(site, resident, api):
    client, headers = api("resident01").client, api("resident01").headers
    before = counts()
    answer = client.post(
        "/api/v1/reports",
        {"category": "flooding", "home": "1", "photo": _upload("x.jpg", b"not an image at all")},
        headers=headers,
    )
    assert answer.status_code == 400 and answer.json()["field"] == "photo"
    answer = client.post("/api/v1/reports", {"category": "flooding", "building": "NOPE"}, headers=headers)
    assert answer.status_code == 400 and answer.json()["field"] == "building"
    assert counts() == before


def test_api_json_refusals(site, resident, api):
    client = api("resident01")
    assert (
        client.post("reports", {"category": "flooding", "home": True, "description": "x" * 4001}).status_code
        == 400
    )
    answer = client.post("reports", {"home": True})
    assert answer.status_code == 400 and answer.data["field"] == "category"
    answer = client.post("reports", {"category": "flooding", "home": True, "photo_base64": "%%%"})
    assert answer.status_code == 400 and answer.data["field"] == "photo"


def test_api_duplicates(site, resident, api):
    report = reports.submit_report(actor=resident, category="flooding", building=site["building"])
    client = api("resident01")
    found = client.get(f"reports/duplicates?category=flooding&building={site['building'].code}")
    assert found.status_code == 200
    assert [d["incident"] for d in found.data] == [report.incident_id]
    assert set(found.data[0]) == {
        "incident",
        "category",
        "status",
        "status_label",
        "building",
        "facility",
        "created_at",
    }
    assert client.get(f"reports/duplicates?category=noise&building={site['building'].code}").data == []
    assert client.get("reports/duplicates?category=volcano&building=X").status_code == 400


def test_api_answers_mask_contact_details(site, api):
    report = open311_report(site, name="王小明", phone=PHONE, email="wang@example.org")
    answer = api("director").get(f"reports/{report.pk}")
    assert answer.status_code == 200
    assert PHONE not in answer.content.decode() and "wang@" not in answer.content.decode()
    assert answer.data["contact"]["phone"] == "139****5678"


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def test_requested_at_comes_from_the_clock(site, resident):
    report = reports.submit_report(actor=resident, category="flooding", building=site["building"])
    assert report.requested_at == report.incident.created_at == NOW
