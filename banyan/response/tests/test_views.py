"""The incident pages: role × scope for every page and POST, the responder's flow through the forms
(accept, on scene with a position, resolve with a note, decline), stale steps (409 with the incident
as it is now), the managers' steps (reassign, close, cancel, hand over), the staff list by clock, and
the matrix with its gaps and editor."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.response import services
from banyan.response.models import Incident
from banyan.response.tests.conftest import jpeg_with_gps
from banyan.response.views import duration_text, overdue_text


@pytest.fixture
def signed_in(users):
    """``signed_in("grid01")``: a web client with a session for that demo account, reading English."""

    def make(username: str | None = None) -> Client:
        client = Client(headers={"Accept-Language": "en"})
        if username:
            client.force_login(users[username])
        return client

    return make


def open_flooding(site, users, **options) -> Incident:
    """An orange flooding incident at the site's first building, dispatched to the nearest responder."""
    return services.open_incident(
        actor=users["director"],
        category=options.pop("category", "flooding"),
        source="staff",
        building=site["building"],
        **options,
    )


@pytest.fixture
def incident(site, users):
    incident = open_flooding(site, users)
    assert (incident.status, incident.assignee_id) == ("assigned", site["responders"][0].user_id)
    return incident


def detail_url(incident) -> str:
    return reverse("response:incident-detail", args=[incident.pk])


def step_url(incident, step: str) -> str:
    return reverse("response:incident-step", args=[incident.pk, step])


def fresh(incident) -> Incident:
    return Incident.objects.filter(pk=incident.pk).first()


def worker(site) -> str:
    return site["responders"][0].user.username


# --- who may see and do what ---------------------------------------------------------------------

PAGES = {
    "tasks": lambda incident: reverse("response:task-list"),
    "list": lambda incident: reverse("response:incident-list"),
    "detail": detail_url,
    "matrix": lambda incident: reverse("response:matrix"),
    "cell": lambda incident: reverse("response:matrix-cell"),
}
# page -> expected status for: resident, grid worker of another grid, auditor, director
EXPECTED = {
    "tasks": {"resident01": 403, "grid02": 200, "auditor": 403, "director": 200},
    "list": {"resident01": 403, "grid02": 200, "auditor": 200, "director": 200},
    "detail": {"resident01": 403, "grid02": 404, "auditor": 200, "director": 200},
    "matrix": {"resident01": 403, "grid02": 200, "auditor": 200, "director": 200},
    "cell": {"resident01": 403, "grid02": 403, "auditor": 403, "director": 200},
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_by_role_and_scope(page, signed_in, incident):
    url = PAGES[page](incident)
    anonymous = signed_in().get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("account:login"))
    for username, status in EXPECTED[page].items():
        assert signed_in(username).get(url).status_code == status, (page, username)


POSTS = {
    "accept": {},
    "decline": {"note": "busy"},
    "on-scene": {},
    "resolve": {"note": "done"},
    "assign": {},
    "close": {},
    "cancel": {},
    "hand-over": {"organisation": "", "reason": "x"},
}


@pytest.mark.parametrize("step", POSTS)
def test_every_step_refused_to_those_who_may_not_take_it_and_nothing_changes(step, signed_in, site, incident):
    url = (
        reverse("response:incident-hand-over", args=[incident.pk])
        if step == "hand-over"
        else step_url(incident, step)
    )
    data = {"version": incident.version, **POSTS[step]}
    if step == "hand-over":
        data["organisation"] = site["street"].pk
    anonymous = signed_in().post(url, data)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("account:login"))
    assert signed_in("resident01").post(url, data).status_code == 403
    assert signed_in("auditor").post(url, data).status_code == 403
    assert signed_in("grid02").post(url, data).status_code in (403, 404)  # not theirs: 404 where it may
    assert signed_in("grid02").get(detail_url(incident)).status_code == 404
    assert fresh(incident).version == incident.version
    assert signed_in("grid01").get(url).status_code == 405


def test_a_manager_may_not_take_the_assignees_steps_nor_a_responder_the_managers(signed_in, site, incident):
    director = signed_in("director")
    response = director.post(step_url(incident, "accept"), {"version": incident.version})
    assert response.status_code == 403
    responder = signed_in(worker(site))
    assert responder.post(step_url(incident, "cancel"), {"version": incident.version}).status_code == 403
    assert signed_in("director").post(step_url(incident, "fly"), {"version": 0}).status_code == 404
    assert fresh(incident).status == "assigned"


# --- the responder's phone view ------------------------------------------------------------------


def test_my_tasks_most_urgent_first_with_running_clocks(signed_in, site, users, now):
    responder = site["responders"][0].user
    for category in ("noise", "flooding", "gas"):
        open_flooding(site, users, category=category)
    Incident.objects.update(assignee=responder, status="assigned")
    now.advance(dt.timedelta(seconds=50))
    page = signed_in(responder.username).get(reverse("response:task-list"))
    assert page.status_code == 200
    html = page.content.decode()
    cards = [card["incident"].grade for card in page.context["cards"]]
    assert cards == ["red", "orange", "blue"]
    assert 'data-count="3"' in html
    assert "Gas leak" in html or "gas" in html.lower()
    # The red one's 30 s to accept are over; the orange one has 70 s left.
    assert "overdue 20 s" in html and "1 min 10 s left" in html
    assert 'class="grade grade--red">Red (level I)<' in html, "the grade in text beside its colour"


def test_the_responder_works_an_incident_through_the_forms(signed_in, site, incident, now):
    client = signed_in(worker(site))
    page = client.get(detail_url(incident))
    html = page.content.decode()
    assert "2 min 0 s left" in html
    assert step_url(incident, "accept") in html and step_url(incident, "decline") in html
    assert step_url(incident, "close") not in html, "no manager steps for a responder"
    assert f'name="version" value="{incident.version}"' in html

    accepted = client.post(step_url(incident, "accept"), {"version": incident.version})
    assert accepted.status_code == 302 and accepted.url == detail_url(incident)
    incident.refresh_from_db()
    assert incident.status == "accepted"
    page = client.get(detail_url(incident))
    assert "Accepted: the incident is yours." in page.content.decode()

    now.advance(dt.timedelta(minutes=3))
    door = site["building"]
    arrived = client.post(
        step_url(incident, "on-scene"),
        {"version": incident.version, "latitude": str(door.latitude), "longitude": str(door.longitude)},
    )
    assert arrived.status_code == 302
    incident.refresh_from_db()
    # The phone's position is the responder's: kept beside the reported place, never over it.
    assert (incident.status, incident.latitude, incident.longitude) == ("on_scene", None, None)
    assert (incident.on_scene_latitude, incident.on_scene_distance_m) == (door.latitude, 0.0)

    missing = client.post(step_url(incident, "resolve"), {"version": incident.version, "note": "  "})
    assert missing.status_code == 200
    html = missing.content.decode()
    assert "Say what was found and done: the note is required to resolve an incident." in html
    assert 'id="id_resolve_note"' in html and 'aria-invalid="true"' in html
    assert fresh(incident).status == "on_scene"

    done = client.post(
        step_url(incident, "resolve"), {"version": incident.version, "note": "已抽水，无人受伤"}
    )
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved"
    page = client.get(detail_url(incident)).content.decode()
    assert "已抽水，无人受伤" in page and "met in time" in page
    kinds = list(incident.events.values_list("kind", flat=True))
    assert kinds == ["opened", "assign", "accept", "on_scene", "resolve"]
    actions = AuditEntry.objects.filter(subject_type="incident", subject_id=str(incident.pk))
    assert {"incident.accept", "incident.on_scene", "incident.resolve"} <= set(
        actions.values_list("action", flat=True)
    )


def test_on_scene_without_a_position_and_a_bad_position(signed_in, site, incident):
    client = signed_in(worker(site))
    bad = client.post(step_url(incident, "on-scene"), {"version": incident.version, "latitude": "north"})
    assert bad.status_code == 200 and "The latitude is not a number." in bad.content.decode()
    assert fresh(incident).status == "assigned"
    plain = client.post(step_url(incident, "on-scene"), {"version": incident.version})
    assert plain.status_code == 302 and fresh(incident).status == "on_scene"


def test_a_stale_step_changes_nothing_and_shows_the_incident_as_it_is_now(signed_in, site, incident):
    client = signed_in(worker(site))
    seen = incident.version
    assert client.post(step_url(incident, "accept"), {"version": seen}).status_code == 302
    again = client.post(step_url(incident, "on-scene"), {"version": seen})
    assert again.status_code == 409
    html = again.content.decode()
    assert "Nothing was changed: the incident changed meanwhile." in html
    assert "it is now “Accepted”" in html
    current = fresh(incident)
    assert current.status == "accepted"
    assert f'name="version" value="{current.version}"' in html, "the forms carry the fresh version"
    missing = client.post(step_url(incident, "on-scene"), {})
    assert missing.status_code == 200 and "lacks the incident&#x27;s version" in missing.content.decode()


def test_declining_with_a_reason_asks_the_next_responder(signed_in, site, incident):
    client = signed_in(worker(site))
    declined = client.post(
        step_url(incident, "decline"), {"version": incident.version, "note": "在处理另一起"}
    )
    assert declined.status_code == 302 and declined.url == reverse("response:task-list")
    incident.refresh_from_db()
    assert incident.assignee_id == site["responders"][1].user_id
    assert incident.events.filter(kind="decline", note="在处理另一起").exists()
    tasks = client.get(reverse("response:task-list"))
    assert "Declined: the next responder is asked." in tasks.content.decode()
    assert tasks.context["cards"] == []


# --- the managers' steps -------------------------------------------------------------------------


def test_the_director_reassigns_closes_and_cancels(signed_in, site, users, incident):
    director = signed_in("director")
    page = director.get(detail_url(incident)).content.decode()
    far = site["responders"][2].user
    assert f'<option value="{far.pk}">' in page
    wrong = director.post(
        step_url(incident, "assign"), {"version": incident.version, "assignee": users["resident01"].pk}
    )
    assert wrong.status_code == 200
    assert "Choose one of the accountable body&#x27;s responders." in wrong.content.decode()
    moved = director.post(step_url(incident, "assign"), {"version": incident.version, "assignee": far.pk})
    assert moved.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.assignee_id) == ("assigned", far.pk)

    cancelled = director.post(step_url(incident, "cancel"), {"version": incident.version, "note": "误报"})
    assert cancelled.status_code == 302 and fresh(incident).status == "cancelled"
    page = director.get(detail_url(incident)).content.decode()
    assert step_url(incident, "cancel") not in page and "误报" in page

    other = open_flooding(site, users)
    Incident.objects.filter(pk=other.pk).update(status="resolved", resolved_at=other.created_at)
    other.refresh_from_db()
    closed = director.post(step_url(other, "close"), {"version": other.version})
    assert closed.status_code == 302 and fresh(other).status == "closed"


def test_hand_over_needs_a_reason_and_shows_on_the_timeline(signed_in, site, incident):
    director = signed_in("director")
    url = reverse("response:incident-hand-over", args=[incident.pk])
    missing = director.post(
        url, {"version": incident.version, "organisation": site["street"].pk, "reason": ""}
    )
    assert missing.status_code == 200
    assert "Say why the incident is handed over: the reason is required." in missing.content.decode()
    assert fresh(incident).accountable_id == site["committee"].pk
    stale = director.post(
        url, {"version": incident.version - 1, "organisation": site["street"].pk, "reason": "x"}
    )
    assert stale.status_code == 409 and fresh(incident).accountable_id == site["committee"].pk
    moved = director.post(
        url, {"version": incident.version, "organisation": site["street"].pk, "reason": "需要街道协调"}
    )
    assert moved.status_code == 302
    assert fresh(incident).accountable_id == site["street"].pk
    page = director.get(detail_url(incident)).content.decode()
    assert "Handed over from ORG-COMMITTEE to ORG-STREET" in page and "需要街道协调" in page


# --- the staff list ------------------------------------------------------------------------------


def test_the_list_puts_missed_clocks_first_then_the_least_time_left(signed_in, site, users, now):
    gas = open_flooding(site, users, category="gas")  # red: 30 s to accept
    now.advance(dt.timedelta(seconds=40))
    flooding = open_flooding(site, users)  # orange: 120 s to accept
    noise = open_flooding(site, users, category="noise")  # blue
    resolved = open_flooding(site, users)
    Incident.objects.filter(pk=resolved.pk).update(status="resolved", resolved_at=now.now())
    director = signed_in("director")
    page = director.get(reverse("response:incident-list"))
    assert [i.pk for i in page.context["incidents"]] == [gas.pk, flooding.pk, noise.pk]
    html = page.content.decode()
    assert "overdue 10 s" in html and "2 min 0 s left" in html
    anything = director.get(reverse("response:incident-list") + "?status=any")
    assert [i.pk for i in anything.context["incidents"]][-1] == resolved.pk
    filtered = director.get(reverse("response:incident-list") + "?grade=red&category=gas")
    assert [i.pk for i in filtered.context["incidents"]] == [gas.pk]
    bad = director.get(reverse("response:incident-list") + "?grade=purple")
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()
    assert len(bad.context["incidents"]) == 3, "the bad filter is left out"


def test_the_list_pages_and_keeps_its_queries_flat(signed_in, site, users, django_assert_max_num_queries):
    for _ in range(22):
        open_flooding(site, users, dispatch_now=False)
    director = signed_in("director")
    with django_assert_max_num_queries(20):
        first = director.get(reverse("response:incident-list"))
    assert len(first.context["incidents"]) == 20 and 'rel="next"' in first.content.decode()
    second = director.get(reverse("response:incident-list") + "?page=2")
    assert len(second.context["incidents"]) == 2


# --- the matrix ----------------------------------------------------------------------------------


# The matrix's pages and cell form: test_matrix_page.py.


def test_durations_read_as_a_person_says_them():
    from django.utils import translation

    translation.activate("en")
    assert duration_text(45.9) == "45 s"
    assert duration_text(130) == "2 min 10 s"
    assert duration_text(3900) == "1 h 5 min"
    assert duration_text(2 * 86400 + 3 * 3600) == "2 d 3 h"
    assert overdue_text(40) == "overdue 40 s"
    assert overdue_text(185) == "overdue 3 min"
    assert overdue_text(3900) == "overdue 1 h 5 min"


# --- photos of the scene ---------------------------------------------------------------------------


def upload(name: str, data: bytes, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def test_resolving_with_photos_keeps_them_without_their_location(signed_in, site, users, incident):
    from PIL import Image

    from banyan.response.models import IncidentPhoto

    client = signed_in(worker(site))
    assert client.post(step_url(incident, "accept"), {"version": incident.version}).status_code == 302
    incident.refresh_from_db()
    page = client.get(detail_url(incident)).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="photos"' in page

    # One good photo and one that is not a picture: nothing is kept and the step is not taken.
    refused = client.post(
        step_url(incident, "resolve"),
        {
            "version": incident.version,
            "note": "已清理",
            "photos": [upload("a.jpg", jpeg_with_gps()), upload("b.jpg", b"%PDF-1.4 not a picture")],
        },
    )
    assert refused.status_code == 200
    assert "Photo 2: The photo is not an image Banyan accepts" in refused.content.decode()
    assert fresh(incident).status == "accepted" and not IncidentPhoto.objects.filter(incident=incident)

    too_many = client.post(
        step_url(incident, "resolve"),
        {
            "version": incident.version,
            "note": "已清理",
            "photos": [upload(f"{n}.jpg", jpeg_with_gps()) for n in range(6)],
        },
    )
    assert too_many.status_code == 200 and "Send at most 5 photos at a time." in too_many.content.decode()
    assert fresh(incident).status == "accepted"

    done = client.post(
        step_url(incident, "resolve"),
        {"version": incident.version, "note": "已清理", "photos": [upload("a.jpg", jpeg_with_gps())]},
    )
    assert done.status_code == 302 and fresh(incident).status == "resolved"
    photo = IncidentPhoto.objects.get(incident=incident)
    assert (photo.stage, photo.taken_by_id, photo.photo_type) == (
        "resolve",
        users[worker(site)].pk,
        "image/jpeg",
    )
    assert incident.events.get(kind="resolve").details["photos"] == 1

    page = client.get(detail_url(incident)).content.decode()
    url = reverse("response:incident-photo", args=[incident.pk, photo.pk])
    assert f'src="{url}"' in page and "Photo 1, when resolved" in page
    shown = client.get(url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert shown["Cache-Control"] == "private, no-store"
    image = Image.open(io.BytesIO(shown.content))
    assert image.size == (64, 48) and not image.getexif()
    assert b"TestCam" not in shown.content

    # Someone who may not see the incident gets the same 404 as for a missing photo.
    assert signed_in("grid02").get(url).status_code == 404
    assert (
        client.get(reverse("response:incident-photo", args=[incident.pk, photo.pk + 999])).status_code == 404
    )


def test_a_photo_sent_on_scene_and_the_report_photo_show_on_the_incident(signed_in, site, users):
    from banyan.response.models import IncidentPhoto
    from banyan.response.reports import services as reports

    report = reports.submit_report(
        actor=users["resident01"], category="flooding", building=site["building"], photo=jpeg_with_gps()
    )
    incident = report.incident
    assert list(incident.photos.values_list("stage", flat=True)) == ["report"]
    client = signed_in(incident.assignee.username)
    client.post(step_url(incident, "accept"), {"version": incident.version})
    incident.refresh_from_db()
    arrived = client.post(
        step_url(incident, "on-scene"),
        {"version": incident.version, "photos": [upload("scene.png", png(), "image/png")]},
    )
    assert arrived.status_code == 302
    stages = list(IncidentPhoto.objects.filter(incident=incident).values_list("stage", "photo_type"))
    assert stages == [("report", "image/jpeg"), ("on_scene", "image/png")]
    page = client.get(detail_url(incident)).content.decode()
    assert "Photo 1, with the report" in page and "Photo 2, on scene" in page


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 200)).save(out, "PNG")
    return out.getvalue()


def test_the_task_list_shares_the_position_only_with_open_tasks(signed_in, site, users):
    client = signed_in(worker(site))
    idle = client.get(reverse("response:task-list"))
    assert idle.context["share_position"] is False and "data-share-position" not in idle.content.decode()
    open_flooding(site, users)
    busy = client.get(reverse("response:task-list")).content.decode()
    assert 'data-share-position="/api/v1/responders/me/position"' in busy
    assert "your phone's position is shared with dispatch" in busy
