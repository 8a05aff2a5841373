"""The resident's loop closed (issue 12): the resolution (note and photos) before the rating; "not
solved" reopens the incident with her reason and sends it back to the same body (her own path, not the
staff's reopen step); "me too" on an open report nearby adds her as a supporter, counted and told of
every change; the report's place in words and on the map, never latitude/longitude boxes; first-aid
advice on a fall; contacting her grid worker; and the zh-Hans pages without English words.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.notify.models import Message
from banyan.response import services
from banyan.response.models import Incident, IncidentEvent, Report
from banyan.response.reports import services as reports

NEW = "/reports/new/"


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def resident(users):
    return users["resident01"]


@pytest.fixture
def neighbour(users, site):
    """A resident of another household of the same community, with an account."""
    from banyan.people.models import Resident, User

    mine = users["resident01"].resident.household
    person = (
        Resident.objects.filter(household__grid__parent=mine.grid.parent, account__isnull=True)
        .exclude(household=mine)
        .order_by("pk")
        .first()
    )
    return User.objects.create_user(
        "resident-neighbour",
        password="x-pass-2026",
        role="resident",
        resident=person,
        region=person.household.grid,
    )


def signed_in(user, language="en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def resolved_report(site, resident, now, *, close=False, director=None) -> Report:
    """resident01's flooding report at home, dealt with by the nearest responder: resolved with a
    note and a photo (and closed by the director, if asked)."""
    report = reports.submit_report(actor=resident, category="flooding", home=True, description="楼道进水")
    incident = report.incident
    worker = site["responders"][0].user
    assert incident.assignee_id == worker.pk
    for move, note, photos in (
        ("accept", "", ()),
        ("on_scene", "", [jpeg()]),
        ("resolve", "已疏通排水口", [jpeg()]),
    ):
        now.advance(60)
        services.act(actor=worker, incident=incident, move=move, note=note, photos=photos)
    if close:
        services.act(actor=director, incident=incident, move="close")
    return Report.objects.select_related("incident").get(pk=report.pk)


# --- "not solved" -----------------------------------------------------------------------------------


def test_not_solved_reopens_with_the_reason_and_goes_back_to_the_same_body(site, users, resident, now):
    report = resolved_report(site, resident, now)
    before = report.incident
    response = signed_in(resident).post(
        reverse("reports:reopen", args=[report.pk]), {"reason": "水还在往里渗"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("reports:detail", args=[report.pk])
    incident = Incident.objects.get(pk=before.pk)
    assert incident.status == "assigned"
    assert (incident.accountable_id, incident.assignee_id) == (before.accountable_id, before.assignee_id)
    step = IncidentEvent.objects.filter(incident=incident, kind="reopen").get()
    assert (step.note, step.actor_id, step.from_status) == ("水还在往里渗", resident.pk, "resolved")
    assert AuditEntry.objects.filter(action="incident.reopen", subject_id=str(incident.pk)).count() == 1
    # the responder who had it is asked again
    assert Message.objects.filter(recipient=before.assignee, kind="incident.assigned").count() == 2
    page = signed_in(resident).get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert "Reopened" in page and "It is not solved" not in page


def test_not_solved_is_the_reporters_own_path(site, users, resident, neighbour, now):
    report = resolved_report(site, resident, now)
    with pytest.raises(PermissionDenied):
        reports.reopen_report(actor=neighbour, report=report, reason="not mine")
    with pytest.raises(InvalidInput) as empty:
        reports.reopen_report(actor=resident, report=report, reason="  ")
    assert empty.value.field == "reason"
    # the staff's reopen step stays the managers'
    with pytest.raises(PermissionDenied):
        services.act(actor=resident, incident=report.incident, move="reopen")
    assert Incident.objects.get(pk=report.incident_id).status == "resolved"


def test_not_solved_needs_a_resolved_report_not_yet_rated(site, users, resident, now):
    open_one = reports.submit_report(actor=resident, category="flooding", home=True)
    with pytest.raises(Conflict):
        reports.reopen_report(actor=resident, report=open_one, reason="still there")
    report = resolved_report(site, resident, now, close=True, director=users["director"])
    reports.rate_report(actor=resident, report=report, rating=2)
    with pytest.raises(Conflict):
        reports.reopen_report(actor=resident, report=Report.objects.get(pk=report.pk), reason="still there")
    response = signed_in(resident).post(reverse("reports:reopen", args=[report.pk]), {"reason": "still"})
    assert response.status_code == 409 and "message--warning" in response.content.decode()


# --- the resolution before the rating -----------------------------------------------------------------


def test_a_closed_report_shows_what_was_done_before_the_rating(site, users, resident, now):
    report = resolved_report(site, resident, now, close=True, director=users["director"])
    client = signed_in(resident)
    page = client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert page.index("What was done") < page.index("已疏通排水口") < page.index("It is not solved")
    assert page.index("已疏通排水口") < page.index('id="rate"')
    [photo_url] = re.findall(r'<img src="(/reports/\d+/photos/\d+/)"', page)  # the resolve photo only
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    on_scene = report.incident.photos.get(stage="on_scene")
    assert client.get(reverse("reports:photo", args=[report.pk, on_scene.pk])).status_code == 404
    # another resident cannot see it
    other = Client()
    other.force_login(
        users["resident01"].__class__.objects.create_user("x-res", password="x-pass-2026", role="resident")
    )
    assert other.get(photo_url).status_code == 404


# --- "me too" ------------------------------------------------------------------------------------------


def test_me_too_adds_a_counted_supporter_who_is_told_too(site, users, resident, neighbour, now):
    report = reports.submit_report(actor=resident, category="flooding", home=True)
    incident = report.incident
    client = signed_in(neighbour)
    response = client.post(reverse("reports:support", args=[incident.pk]))
    assert response.status_code == 302
    mine = Report.objects.get(reporter=neighbour)
    assert response["Location"] == reverse("reports:detail", args=[mine.pk])
    assert mine.incident_id == incident.pk and mine.unit is None  # never the first reporter's flat
    assert reports.supporters(incident) == 1
    assert IncidentEvent.objects.filter(incident=incident, kind="supported", actor=neighbour).count() == 1
    assert Message.objects.filter(recipient=neighbour, kind="report.received").count() == 1
    first_page = signed_in(resident).get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert "1 neighbour reported it too." in first_page
    assert "A neighbour reported it too" in first_page  # on the timeline
    # a second time: refused, nothing added
    again = client.post(reverse("reports:support", args=[incident.pk]))
    assert again.status_code == 409 and Report.objects.filter(reporter=neighbour).count() == 1
    # when it is resolved, both hear of it
    worker = site["responders"][0].user
    for move, note in (("accept", ""), ("resolve", "done")):
        services.act(actor=worker, incident=incident, move=move, note=note)
    for person in (resident, neighbour):
        assert Message.objects.filter(recipient=person, kind="report.status").count() == 1, person


def test_me_too_only_on_open_reports_of_ones_community_not_about_a_person(
    site, users, resident, neighbour, outside, now
):
    fall = reports.submit_report(actor=resident, category="fall_medical", home=True)
    with pytest.raises(NotFound):
        reports.support_incident(actor=neighbour, incident_id=fall.incident_id)
    far = services.open_incident(
        actor=users["admin"], category="flooding", source="staff", building=outside["sibling"]["building"]
    )
    with pytest.raises(NotFound):
        reports.support_incident(actor=neighbour, incident_id=far.pk)
    with pytest.raises(NotFound):
        reports.support_incident(actor=neighbour, incident_id="1")
    assert not Report.objects.filter(reporter=neighbour).exists()


def test_the_duplicate_step_offers_me_too(site, users, resident, neighbour, now):
    reports.submit_report(actor=resident, category="flooding", building=site["building"])
    page = signed_in(neighbour).post(
        NEW, {"check": "1", "category": "flooding", "place": "building", "building": site["building"].code}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Me too: this is my problem" in html and "/reports/support/" in html


def test_a_fall_is_never_held_up_by_duplicates(site, users, resident, neighbour, now):
    reports.submit_report(actor=resident, category="fall_medical", building=site["building"])
    response = signed_in(neighbour).post(
        NEW,
        {"check": "1", "category": "fall_medical", "place": "building", "building": site["building"].code},
    )
    assert response.status_code == 302  # submitted at once: a neighbour's fall is not shown


# --- the place in words and on the map; first aid ---------------------------------------------------


def test_the_place_in_words_and_on_the_map_and_no_coordinate_boxes(site, users, resident, now):
    report = reports.submit_report(actor=resident, category="flooding", home=True)
    unit = resident.resident.household.unit
    page = signed_in(resident, "zh-hans").get(reverse("reports:detail", args=[report.pk])).content.decode()
    entrance, _floor, room = unit.number.split("-")
    words = f"{unit.building.name}{int(entrance)}单元{room}"
    assert f"我家（{words}）" in page
    data = json.loads(
        re.search(r'<script id="report-map-data" type="application/json">(.*?)</script>', page).group(1)
    )
    assert data["label"] == f"我家（{words}）" and data["latitude"] == unit.building.latitude
    form = signed_in(resident).get(NEW).content.decode()
    assert re.search(r'<input type="hidden" name="latitude"', form)
    assert 'type="number"' not in form
    # a spot on the map is told by the nearest building
    spot = reports.submit_report(
        actor=resident,
        category="sanitation",
        latitude=site["building"].latitude,
        longitude=site["building"].longitude,
    )
    page = signed_in(resident).get(reverse("reports:detail", args=[spot.pk])).content.decode()
    assert f"The spot marked on the map, near {site['building'].name}" in page


def test_first_aid_advice_on_a_fall(site, users, resident, now):
    client = signed_in(resident)
    form = client.get(NEW + "?category=fall_medical&place=home").content.decode()
    advice = re.search(r'<section class="first-aid"[^>]*data-first-aid="fall_medical"[^>]*>', form).group(0)
    assert "hidden" not in advice and "Call 120 first" in form and 'href="tel:120"' in form
    assert re.search(r'data-first-aid="gas" hidden', form)  # the others wait for their category
    assert re.search(r'value="fall_medical"[^>]*checked', form)
    report = reports.submit_report(actor=resident, category="fall_medical", home=True)
    page = client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert "Call 120 first" in page
    chinese = signed_in(resident, "zh-hans").get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert "先拨打 120" in chinese


# --- contacting the grid worker -----------------------------------------------------------------------


def test_contact_my_grid_worker(site, users, resident, now):
    client = signed_in(resident, "zh-hans")
    page = client.get(reverse("reports:contact")).content.decode()
    grid01 = users["grid01"]
    assert f"{grid01.last_name}{grid01.first_name}" in page  # family name first
    response = client.post(reverse("reports:contact"))
    assert response.status_code == 302
    message = Message.objects.get(recipient=grid01, kind="resident.contact")
    assert message.subject_type == "household" and message.subject_id == str(resident.resident.household_id)
    assert "单元" in message.body and resident.resident.name not in message.body
    # a staff member without a home has no grid worker to ask, and nothing is sent
    staff = signed_in(users["property01"])
    assert staff.post(reverse("reports:contact")).status_code == 409
    assert signed_in(users["auditor"]).get(reverse("reports:contact")).status_code == 403


# --- zh-Hans: no English words on the resident's pages ------------------------------------------------


# Names of picture formats are the same in both languages.
ALLOWED = {"JPEG", "PNG", "WebP"}


def english_words(page: str) -> list[str]:
    main = page.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<script.*?</script>", " ", main, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", main)
    return [word for word in re.findall(r"[A-Za-z]{3,}", text) if word not in ALLOWED]


def test_zh_hans_resident_pages_have_no_english_words(site, users, resident, now):
    report = resolved_report(site, resident, now, close=True, director=users["director"])
    client = signed_in(resident, "zh-hans")
    for url in (
        reverse("reports:detail", args=[report.pk]),
        reverse("reports:list"),
        NEW,
        NEW + "?category=fall_medical&place=home",
        reverse("reports:contact"),
        reverse("account:home"),
    ):
        page = client.get(url).content.decode()
        assert english_words(page) == [], url
    page = client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    for step in ("已受理", "已派给处置人员", "处置人员到场"):
        assert step in page


def test_the_api_shows_no_neighbours_fall_as_a_duplicate(site, users, resident, neighbour, api, now):
    reports.submit_report(actor=resident, category="fall_medical", building=site["building"])
    reports.submit_report(actor=resident, category="flooding", building=site["building"])
    client = api("resident01")
    for category, expected in (("fall_medical", 0), ("flooding", 1)):
        response = client.get(f"reports/duplicates?category={category}&building={site['building'].code}")
        assert response.status_code == 200 and len(response.data) == expected, (category, response.data)
