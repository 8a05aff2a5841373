"""The resident report pages: filing a report through the form (an incident, routed), the duplicate
check step, photo errors at the field, my reports and a report (only mine), rating once closed and
only by the reporter, who may use the pages, and anonymous visitors sent to sign in."""

from __future__ import annotations

import io
from html import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.response.models import Incident, Report
from banyan.response.reports import services as reports
from banyan.response.tests.conftest import NOW

NEW = "/reports/new/"


def jpeg(size=(32, 24)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def signed_in(users):
    def make(user=None) -> Client:
        client = Client(headers={"Accept-Language": "en"})
        if user is not None:
            client.force_login(users[user] if isinstance(user, str) else user)
        return client

    return make


@pytest.fixture
def resident(users):
    return users["resident01"]


@pytest.fixture
def neighbour(db):
    from banyan.people.models import User

    return User.objects.create_user("resident-neighbour", password="x-pass-2026", role="resident")


def counts():
    return Report.objects.count(), Incident.objects.count()


def close(report: Report) -> None:
    Incident.objects.filter(pk=report.incident_id).update(status="closed", closed_at=NOW, updated_at=NOW)


def file_at_home(resident, **options) -> Report:
    return reports.submit_report(actor=resident, category="flooding", home=True, **options)


# --- filing ---------------------------------------------------------------------------------------


def test_the_form_offers_my_home_and_the_categories(site, signed_in, resident):
    response = signed_in(resident).get(NEW)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="home" ' in page and "checked" in page.split('value="home"')[1].split(">")[0]
    # the category's own SVG icon (no emoji), hidden from screen readers, with its name as text
    assert '<use href="/static/reports/icons.svg#flooding"></use></svg>Flooding' in page
    assert 'class="icon" aria-hidden="true"' in page and "💧" not in page
    assert site["building"].name in page
    assert 'enctype="multipart/form-data"' in page


def test_a_resident_files_a_report_through_the_form(site, signed_in, resident):
    client = signed_in(resident)
    response = client.post(
        NEW,
        {"check": "1", "category": "flooding", "place": "home", "description": "楼道进水", "photo": ""},
    )
    report = Report.objects.get(reporter=resident)
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[report.pk])
    assert report.incident.accountable == site["committee"]
    assert report.incident.source == "report"
    assert report.unit == resident.resident.household.unit
    assert report.description == "楼道进水"
    assert AuditEntry.objects.filter(action="report.submit", subject_id=str(report.pk)).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "was received" in page and "Received" in page
    assert escape(site["committee"].name_en) in page


def test_a_building_and_unit_with_a_photo(site, signed_in, resident):
    building = site["building"]
    unit = building.units.order_by("number").first()
    photo = SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")
    response = signed_in(resident).post(
        NEW,
        {
            "category": "repairs",
            "place": "building",
            "building": building.code,
            "unit": unit.pk,
            "photo": photo,
        },
    )
    assert response.status_code == 302
    report = Report.objects.get(reporter=resident)
    assert (report.unit, report.building, report.photo_type) == (unit, building, "image/jpeg")


def test_a_building_is_needed_and_a_unit_must_be_in_it(site, signed_in, resident):
    from banyan.places.models import Unit

    client = signed_in(resident)
    before = counts()
    response = client.post(NEW, {"category": "repairs", "place": "building"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"building": ["Choose the building where the problem is."]}
    other = (
        Unit.objects.exclude(building=site["building"]).filter(pk__in=response.context["form"].units).first()
    )
    response = client.post(
        NEW, {"category": "repairs", "place": "building", "building": site["building"].code, "unit": other.pk}
    )
    assert response.context["form"].errors == {"unit": ["That unit is not in the building you chose."]}
    assert counts() == before


def test_a_spot_on_the_map(site, signed_in, resident):
    """The form draws the community (grids, buildings) and takes a point inside a grid; a point
    outside every grid, or none, is refused at the field and nothing is written."""
    from shapely.geometry import shape

    client = signed_in(resident)
    page = client.get(NEW)
    drawn = page.context["place_map"]
    assert site["building"].name in [b["name"] for b in drawn["buildings"]]
    assert any(area["boundary"] == site["grid"].boundary for area in drawn["areas"])
    html = page.content.decode()
    assert 'value="map"' in html and 'id="place-map-data"' in html and "leaflet.js" in html

    before = counts()
    missing = client.post(NEW, {"category": "sanitation", "place": "map", "latitude": "", "longitude": ""})
    assert missing.status_code == 200
    assert set(missing.context["form"].errors) == {"latitude", "longitude"}
    outside = client.post(NEW, {"category": "sanitation", "place": "map", "latitude": "0", "longitude": "0"})
    assert outside.status_code == 200
    assert outside.context["form"].errors == {
        "latitude": ["The position lies outside every grid Banyan knows."]
    }
    garbled = client.post(
        NEW, {"category": "sanitation", "place": "map", "latitude": "north", "longitude": "1"}
    )
    assert garbled.context["form"].errors == {"latitude": ["The latitude is a number, e.g. 30.2512."]}
    assert counts() == before

    inside = shape(site["grid"].boundary).representative_point()
    done = client.post(
        NEW,
        {
            "category": "sanitation",
            "place": "map",
            "latitude": f"{inside.y:.6f}",
            "longitude": f"{inside.x:.6f}",
        },
    )
    assert done.status_code == 302
    report = Report.objects.get(reporter=resident)
    assert (round(report.latitude, 6), round(report.longitude, 6)) == (round(inside.y, 6), round(inside.x, 6))
    assert report.building is None and report.incident.grid == site["grid"]


def test_the_check_step_shows_possible_duplicates_then_submit_anyway(site, signed_in, resident, neighbour):
    earlier = reports.submit_report(actor=neighbour, category="flooding", building=site["building"])
    client = signed_in(resident)
    data = {"category": "flooding", "place": "home", "description": "again"}
    home_building = resident.resident.household.unit.building
    if home_building != site["building"]:
        data = {"category": "flooding", "place": "building", "building": site["building"].code}
    photo = SimpleUploadedFile("p.png", jpeg(), content_type="image/jpeg")
    before = counts()
    response = client.post(NEW, {**data, "check": "1", "photo": photo})
    assert response.status_code == 200
    assert counts() == before
    assert [d["pk"] for d in response.context["duplicates"]] == [earlier.incident_id]
    page = response.content.decode()
    assert "Already reported nearby?" in page and "Submit anyway" in page
    assert 'name="check"' not in page
    assert 'name="kept_photo"' in page
    response = client.post(NEW, {**data, "kept_photo": "1"})
    assert response.status_code == 302
    report = Report.objects.get(reporter=resident)
    assert report.photo_type == "image/jpeg"
    assert report.incident_id != earlier.incident_id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a picture at all", "not an image Banyan accepts"),
        (b"x" * (5 * 1024 * 1024 + 1), "larger than 5 MB"),
    ],
)
def test_photo_errors_are_shown_at_the_field(site, signed_in, resident, content, message):
    before = counts()
    photo = SimpleUploadedFile("p.jpg", content, content_type="image/jpeg")
    response = signed_in(resident).post(NEW, {"category": "flooding", "place": "home", "photo": photo})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["photo"] and message in errors["photo"][0]
    assert counts() == before
    assert "field--invalid" in response.content.decode()


def test_a_missing_category_and_a_long_description_are_named(site, signed_in, resident):
    response = signed_in(resident).post(NEW, {"place": "home", "description": "x" * 4001})
    errors = response.context["form"].errors
    assert set(errors) == {"category", "description"}
    assert errors["category"] == ["Choose what kind of problem it is."]


def test_without_a_home_the_place_is_a_building(site, signed_in, neighbour):
    page = signed_in(neighbour).get(NEW).content.decode()
    assert 'value="home"' not in page
    response = signed_in(neighbour).post(NEW, {"category": "flooding", "place": "home"})
    assert response.context["form"].errors == {"place": ["Choose one of the places listed."]}


# --- my reports -----------------------------------------------------------------------------------


def test_my_reports_lists_only_mine_with_status_and_who_is_responsible(site, signed_in, resident, neighbour):
    mine = file_at_home(resident)
    theirs = reports.submit_report(actor=neighbour, category="noise", building=site["building"])
    response = signed_in(resident).get("/reports/")
    assert response.status_code == 200
    assert [r.pk for r in response.context["reports"]] == [mine.pk]
    page = response.content.decode()
    assert "Assigned" in page or "New" in page
    assert "Responsible:" in page
    assert signed_in(resident).get(f"/reports/{theirs.pk}/").status_code == 404
    assert signed_in(resident).get("/reports/999999/").status_code == 404


def test_staff_see_only_their_own_reports_here(site, signed_in, resident, users):
    mine = file_at_home(resident)
    director = signed_in("director")
    assert director.get(f"/reports/{mine.pk}/").status_code == 404
    assert director.get("/reports/").context["reports"] == []


# --- rating ---------------------------------------------------------------------------------------


def test_rating_only_once_closed_and_only_once(site, signed_in, resident):
    report = file_at_home(resident)
    client = signed_in(resident)
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert 'name="rating"' not in page
    response = client.post(f"/reports/{report.pk}/rate/", {"rating": "4"})
    assert response.status_code == 409
    assert Report.objects.get(pk=report.pk).rating is None
    close(report)
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert 'name="rating"' in page
    response = client.post(f"/reports/{report.pk}/rate/", {"rating": "9"})
    assert response.status_code == 200
    assert response.context["rating_form"].errors == {"rating": ["Choose a rating from 1 to 5."]}
    response = client.post(f"/reports/{report.pk}/rate/", {"rating": "4", "comment": "Quick, thanks"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.rating, report.rating_comment) == (4, "Quick, thanks")
    assert AuditEntry.objects.filter(action="report.rate", subject_id=str(report.pk)).count() == 1
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert "You rated it 4 of 5." in page and 'name="rating"' not in page
    assert client.post(f"/reports/{report.pk}/rate/", {"rating": "1"}).status_code == 409
    report.refresh_from_db()
    assert report.rating == 4


def test_only_the_reporter_may_rate(site, signed_in, resident, neighbour):
    report = file_at_home(resident)
    close(report)
    assert signed_in(neighbour).post(f"/reports/{report.pk}/rate/", {"rating": "1"}).status_code == 404
    assert signed_in("director").post(f"/reports/{report.pk}/rate/", {"rating": "1"}).status_code == 404
    assert Report.objects.get(pk=report.pk).rating is None
    assert not AuditEntry.objects.filter(action="report.rate").exists()


# --- who may use the pages ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/reports/", NEW, "/reports/1/"])
def test_anonymous_visitors_are_sent_to_sign_in(db, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_staff_who_may_report_get_the_form_others_are_refused(site, signed_in):
    assert signed_in("grid01").get(NEW).status_code == 200
    before = counts()
    auditor = signed_in("auditor")
    assert auditor.get(NEW).status_code == 403
    assert auditor.get("/reports/").status_code == 403
    assert auditor.post(NEW, {"category": "flooding", "place": "building"}).status_code == 403
    assert counts() == before


def test_the_nav_links_reports_for_residents_only(site, signed_in, resident):
    page = signed_in(resident).get("/reports/").content.decode()
    assert 'href="/reports/new/"' in page and '<a href="/reports/" aria-current="page">My reports</a>' in page
    assert 'href="/reports/new/"' not in signed_in("director").get("/response/incidents/").content.decode()
