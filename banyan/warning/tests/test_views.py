"""The alert pages: role × scope matrix, acknowledging and resolving through the forms (audited),
stale transitions, filters and pages, official warnings beside local alerts, and no personal data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.conftest import make_resident
from banyan.core import clock
from banyan.people.models import Household
from banyan.sensing.tests.conftest import make_device
from banyan.warning import services
from banyan.warning.models import Alert
from banyan.warning.tests.conftest import NOW, event, make_rule, seeded_device
from banyan.warning.tests.test_access_matrix import HANDLERS, ROLES, VIEWERS, anchors
from banyan.warning.tests.test_cap import make_alert, make_info

SAMPLES = Path(__file__).parent / "fixtures" / "cap" / "valid"
TAIWAN = SAMPLES / "taiwan-wra-reservoir-zh-TW.cap"
TAIWAN_IN_FORCE = dt.datetime(2014, 5, 14, 12, 30, tzinfo=dt.UTC)  # sent 12:10 UTC, expires 13:10 UTC


@pytest.fixture
def signed_in(users):
    """``signed_in("grid01")``: a web client with a session for that demo account, reading English."""

    def make(username: str, **options) -> Client:
        client = Client(headers={"Accept-Language": "en"}, **options)
        client.force_login(users[username])
        return client

    return make


def list_url(**query) -> str:
    from urllib.parse import urlencode

    return reverse("warning:alert-list") + (f"?{urlencode(query)}" if query else "")


def detail_url(alert) -> str:
    return reverse("warning:alert-detail", args=[alert.pk])


def audited(alert) -> list[str]:
    entries = AuditEntry.objects.filter(subject_type="alert", subject_id=str(alert.pk)).order_by("id")
    return list(entries.values_list("action", flat=True))


def raise_alert(rule, subject, **options):
    [alert] = services.apply_events([event("Raised", rule, subject, **options)])
    return alert


def grid_alert(users):
    """An open orange alert on a device in grid01's grid."""
    device = seeded_device(grid=users["grid01"].region)
    return raise_alert(make_rule(community=device.community), device.code)


def import_bilingual(hours: float = 6):
    """A zh-CN + en government warning sent at the simulated now, expiring ``hours`` later."""
    sent = clock.now()
    expires = {"effective": sent, "expires": sent + dt.timedelta(hours=hours)}
    data = make_alert(
        sender="cma@example.gov.cn",
        identifier="CMA-rainstorm-1",
        sent=sent,
        infos=(make_info("zh-CN", **expires), make_info("en", **expires)),
    )
    from banyan.warning.cap import build_cap

    warning, _created = services.import_official_warning(actor="test", data=build_cap(data))
    return warning


# --- role × scope -----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ROLES)
def test_pages_by_role_and_scope(username, users, outside, now, signed_in):
    inside, out = anchors(username, users, outside)
    warning = import_bilingual()
    client = signed_in(username)
    allowed = username in VIEWERS
    response = client.get(list_url(status="any"))
    assert response.status_code == (200 if allowed else 403), username
    assert client.get(detail_url(inside)).status_code == (200 if allowed else 403), username
    official = reverse("warning:official-warning-detail", args=[warning.pk])
    assert client.get(official).status_code == 200, "official warnings are public to the signed-in"
    home = client.get(reverse("account:home")).content.decode()
    assert (f'href="{reverse("warning:alert-list")}"' in home) == allowed, "the nav link follows the role"
    if allowed:
        html = response.content.decode()
        assert detail_url(inside) in html
        assert official in html
    if out is not None:
        assert client.get(detail_url(out)).status_code == (404 if allowed else 403), username
        if allowed:
            assert detail_url(out) not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(users, outside, now):
    inside, _out = anchors("admin", users, outside)
    client = Client()
    for url in (list_url(), detail_url(inside), reverse("warning:official-warning-detail", args=[1])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("account:login")), url
    client.post(reverse("warning:alert-acknowledge", args=[inside.pk]))
    client.post(reverse("warning:alert-resolve", args=[inside.pk]), {"note": "x"})
    assert Alert.objects.get(pk=inside.pk).status == "open"
    assert audited(inside) == ["alert.raise"]


def test_a_missing_official_warning_is_404(signed_in, db):
    assert (
        signed_in("director").get(reverse("warning:official-warning-detail", args=[999999])).status_code
        == 404
    )


# --- acknowledge and resolve --------------------------------------------------------------------


@pytest.mark.parametrize("username", ROLES)
def test_acknowledge_and_resolve_through_the_forms(username, users, outside, now, signed_in):
    inside, out = anchors(username, users, outside)
    client = signed_in(username)
    allowed = username in HANDLERS
    page = client.get(detail_url(inside))
    html = page.content.decode() if page.status_code == 200 else ""
    assert (reverse("warning:alert-acknowledge", args=[inside.pk]) in html) == allowed
    assert (reverse("warning:alert-resolve", args=[inside.pk]) in html) == allowed

    response = client.post(reverse("warning:alert-acknowledge", args=[inside.pk]))
    assert response.status_code == (302 if allowed else 403), username
    response = client.post(reverse("warning:alert-resolve", args=[inside.pk]), {"note": "Pump restarted."})
    assert response.status_code == (302 if allowed else 403), username
    inside.refresh_from_db()
    assert inside.status == ("resolved" if allowed else "open")
    assert audited(inside) == (
        ["alert.raise", "alert.acknowledge", "alert.resolve"] if allowed else ["alert.raise"]
    )
    if allowed:
        assert inside.resolution_note == "Pump restarted."
        html = client.get(detail_url(inside)).content.decode()
        assert "Alert resolved." in html
        for label in ("Raised", "Acknowledged", "Resolved"):
            assert f"<strong>{label}</strong>" in html
        assert "Pump restarted." in html
    if out is not None:
        expected = 404 if allowed else 403
        assert client.post(reverse("warning:alert-acknowledge", args=[out.pk])).status_code == expected
        response = client.post(reverse("warning:alert-resolve", args=[out.pk]), {"note": "x"})
        assert response.status_code == expected
        out.refresh_from_db()
        assert out.status == "open" and audited(out) == ["alert.raise"]


def test_resolving_needs_a_note_named_in_the_error(users, now, signed_in):
    alert = grid_alert(users)
    client = signed_in("grid01")
    response = client.post(reverse("warning:alert-resolve", args=[alert.pk]), {"note": "   "})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The alert was not resolved. Please correct the field marked below." in html
    assert "the note is required to resolve an alert" in html
    assert 'class="field field--invalid"' in html and "What was found and done" in html
    alert.refresh_from_db()
    assert alert.status == "open" and audited(alert) == ["alert.raise"]
    response = client.post(reverse("warning:alert-resolve", args=[alert.pk]), {"note": "x" * 2001})
    assert "at most 2000 characters (it has 2001)" in response.content.decode()


def test_stale_transitions_say_so_and_change_nothing(users, now, signed_in):
    alert = grid_alert(users)
    client = signed_in("grid01")
    acknowledge = reverse("warning:alert-acknowledge", args=[alert.pk])
    resolve = reverse("warning:alert-resolve", args=[alert.pk])
    client.post(acknowledge)
    response = client.post(acknowledge, follow=True)
    assert response.status_code == 200
    assert "This alert was not acknowledged: it is already “Acknowledged”." in response.content.decode()
    client.post(resolve, {"note": "done"})
    response = client.post(resolve, {"note": "done again"}, follow=True)
    html = response.content.decode()
    assert "This alert was not resolved: it is already “Resolved”." in html
    assert 'data-status="resolved"' in html
    response = client.post(acknowledge, follow=True)
    assert "This alert was not acknowledged: it is already “Resolved”." in response.content.decode()
    alert.refresh_from_db()
    assert alert.resolution_note == "done"
    assert audited(alert) == ["alert.raise", "alert.acknowledge", "alert.resolve"]
    html = client.get(detail_url(alert)).content.decode()
    assert resolve not in html and acknowledge not in html, "no forms for an alert that has ended"


def test_posts_need_the_csrf_token(users, now, signed_in):
    alert = grid_alert(users)
    client = signed_in("grid01", enforce_csrf_checks=True)
    assert client.post(reverse("warning:alert-acknowledge", args=[alert.pk])).status_code == 403
    assert client.post(reverse("warning:alert-resolve", args=[alert.pk]), {"note": "x"}).status_code == 403
    assert Alert.objects.get(pk=alert.pk).status == "open"


def test_pages_answer_get_and_forms_post_only(users, now, signed_in):
    alert = grid_alert(users)
    client = signed_in("grid01")
    assert client.get(reverse("warning:alert-acknowledge", args=[alert.pk])).status_code == 405
    assert client.post(list_url()).status_code == 405


# --- the list: filters, order, pages -----------------------------------------------------------


def test_filters_order_and_details(users, now, signed_in):
    rule = make_rule(name="Garage water")
    red = raise_alert(make_rule(name="Smoke in the hall", grade="red"), "SUBJ-RED", grade="red")
    orange = raise_alert(rule, "SUBJ-ORANGE", value=57.5)
    done = raise_alert(rule, "SUBJ-DONE")
    Alert.objects.filter(pk=done.pk).update(status="resolved", resolved_at=NOW)
    client = signed_in("director")

    html = client.get(list_url()).content.decode()
    assert html.index(detail_url(red)) < html.index(detail_url(orange)), "most severe first"
    assert detail_url(done) not in html, "the default shows open and acknowledged alerts"
    assert '<span class="grade grade--red">Red (level I)</span>' in html
    assert '<span class="grade grade--orange">Orange (level II)</span>' in html
    assert "57.5" in html and "Level 0: grid staff" in html

    html = client.get(list_url(grade="red")).content.decode()
    assert detail_url(red) in html and detail_url(orange) not in html
    html = client.get(list_url(status="resolved")).content.decode()
    assert detail_url(done) in html and detail_url(red) not in html
    html = client.get(list_url(status="any", grade="orange")).content.decode()
    assert detail_url(done) in html and detail_url(orange) in html and detail_url(red) not in html

    response = client.get(list_url(grade="purple"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice. purple is not one of the available choices." in html
    assert detail_url(red) in html and detail_url(orange) in html, "a bad filter is left out"


def test_pages_of_alerts_keep_the_filters(users, now, signed_in, django_assert_num_queries):
    rule = make_rule(name="Many")
    services.apply_events([event("Raised", rule, f"SUBJ-{n:02d}", grade="orange") for n in range(25)])
    client = signed_in("director")
    # session, user, the session's second-factor device, their region, count, the page, official
    # warnings, the header's unread notifications: as many for 20 alerts as for one
    with django_assert_num_queries(8):
        html = client.get(list_url(grade="orange")).content.decode()
    assert 'data-count="25"' in html and html.count('class="alert-card alert-card--orange"') == 20
    assert "Page 1 of 2" in html
    assert 'href="?grade=orange&amp;page=2"' in html
    html = client.get(list_url(grade="orange", page=2)).content.decode()
    assert html.count('class="alert-card alert-card--orange"') == 5 and "Page 2 of 2" in html


# --- official warnings ------------------------------------------------------------------------------


def test_an_imported_sample_is_listed_beside_while_in_force(users, signed_in, db):
    with clock.use(clock.SimulatedClock(TAIWAN_IN_FORCE)):
        warning, created = services.import_official_warning(actor="test", data=TAIWAN.read_bytes())
        assert created
        html = signed_in("director").get(list_url()).content.decode()
    official = reverse("warning:official-warning-detail", args=[warning.pk])
    assert "Official warnings in force" in html and official in html
    assert f'<a href="{official}" lang="zh">明德水庫:洩洪中</a>' in html, "Chinese only: marked as such"
    assert "水利署" in html and "苗栗縣頭屋鄉" in html and "水庫洩洪" in html and "Moderate" in html
    with clock.use(clock.SimulatedClock(TAIWAN_IN_FORCE + dt.timedelta(hours=2))):
        html = signed_in("director").get(list_url()).content.decode()
        assert official not in html and "No official warnings are in force." in html
        detail = signed_in("resident01").get(official).content.decode()
    assert "This warning has expired." in detail and "請沿岸附近民眾注意。" in detail


def test_official_headline_follows_the_reader_language(users, now, signed_in):
    warning = import_bilingual()
    url = reverse("warning:official-warning-detail", args=[warning.pk])
    english = signed_in("director").get(list_url()).content.decode()
    assert "Orange warning: garage water at 52 cm" in english
    assert "橙色预警：3号楼地下车库水位 52 cm" not in english
    client = Client()
    client.force_login(users["director"])
    chinese = client.get(list_url()).content.decode()
    assert "橙色预警：3号楼地下车库水位 52 cm" in chinese
    assert "Orange warning: garage water at 52 cm" not in chinese
    detail = client.get(url).content.decode()
    assert "<h1>橙色预警：3号楼地下车库水位 52 cm</h1>" in detail
    assert "Orange warning: garage water at 52 cm" in detail, "the detail shows both headlines"


def test_cancellations_and_tests_are_not_in_force(users, signed_in, db):
    from banyan.warning.models import OfficialWarning

    common = dict(sender="s@example.gov", scope="Public", raw="<alert/>", imported_at=NOW, sent=NOW)
    OfficialWarning.objects.create(
        identifier="T1", status="Test", msg_type="Alert", event="Test event", **common
    )
    OfficialWarning.objects.create(
        identifier="C1", status="Actual", msg_type="Cancel", event="Cancelled", **common
    )
    OfficialWarning.objects.create(
        identifier="A1", status="Actual", msg_type="Alert", event="Flood", **common
    )
    html = signed_in("director").get(list_url()).content.decode()
    assert "Flood" in html and "Test event" not in html and "Cancelled" not in html


# --- personal data ------------------------------------------------------------------------------


def test_no_personal_data_of_the_person_a_device_serves(users, now, signed_in):
    grid = users["grid01"].region
    household = Household.objects.filter(grid=grid).select_related("unit").order_by("id").first()
    unit = household.unit
    resident = make_resident(household, name="王测试")
    device = make_device(unit=unit, kind="wearable_band", resident=resident)
    rule = make_rule(
        community=grid.parent, name="Heart rate", metric="heart_rate", raise_at=120, clear_below=100
    )
    alert = raise_alert(rule, device.code, value=131)
    client = signed_in("grid01")
    for url in (list_url(), detail_url(alert)):
        html = client.get(url).content.decode()
        assert device.code in html and grid.name_en in html
        for value in (resident.name, resident.id_number, resident.phone, resident.id_number_masked):
            assert value not in html, (url, value)


def test_escalation_shows_in_the_timeline(users, now, signed_in):
    alert = grid_alert(users)
    services.escalate_due(NOW + dt.timedelta(hours=1))
    html = signed_in("grid01").get(detail_url(alert)).content.decode()
    assert "<strong>Escalated to Level 1: community</strong>" in html and "the rules" in html
    assert "Level 1: community" in signed_in("grid01").get(list_url()).content.decode()
