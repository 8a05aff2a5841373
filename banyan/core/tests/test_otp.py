"""The second factor (TOTP and recovery codes) and step-up (issue 10, finding 7 and "Authentication")."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from banyan.audit.models import AuditEntry
from banyan.conftest import DEMO_PASSWORD, ApiClient, second_factor_device, totp_code
from banyan.core import clock

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}
STAFF = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "auditor"]


def password_only(username: str, **extra) -> Client:
    """A client that signed in through the sign-in page with the password only."""
    client = Client(**extra)
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()


def actions_since(before: int) -> list[str]:
    return list(AuditEntry.objects.filter(id__gt=before).order_by("id").values_list("action", flat=True))


def unthrottle(device) -> None:
    """django-otp makes a device wait (1 s, then doubling, by the wall clock) after a wrong code; the
    tests do not wait it out."""
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save(update_fields=["throttling_failure_count"])


@pytest.mark.parametrize("username", STAFF)
def test_staff_reach_nothing_before_the_second_factor(users, username):
    client = password_only(username)
    for path in ["/", "/places/grids/", "/alerts/", "/people/ledgers/import/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/otp/setup/?next="), path
    api = client.get("/api/v1/residents", headers=EN)
    assert api.status_code == 401
    assert api.json()["code"] == "otp_required"
    assert "second factor" in api.json()["detail"]


def test_enrolment_shows_a_qr_code_and_the_key_then_ten_recovery_codes_once(users):
    client = password_only("director")
    before = last_id()
    page = client.get("/otp/setup/?next=/cockpit/", headers=EN)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" not in html and "|safe" not in html  # no markup made from data on the page
    src = re.search(r'<figure class="otp-qr"><img src="([^"]+)"', html).group(1)
    svg = urllib.parse.unquote(src.replace("&amp;", "&").removeprefix("data:image/svg+xml;charset=utf-8,"))
    assert "<path" in svg and "script" not in svg.lower() and "href" not in svg.lower()
    key = re.search(r'<p class="otp-key"><code>([A-Z2-7 ]+)</code></p>', html).group(1)
    assert len(key.replace(" ", "")) == 32
    assert 'inputmode="numeric"' in html and 'autocomplete="one-time-code"' in html
    assert "<script>" not in html and not re.search(r"\son[a-z]+=", html)
    assert "no-store" in page["Cache-Control"] or "private" in page["Cache-Control"]

    device = TOTPDevice.objects.get(user=users["director"], confirmed=False)
    assert client.get("/otp/setup/").content.decode().count(key) == 1  # the same key on a reload
    wrong = client.post("/otp/setup/", {"code": "000000", "next": "/cockpit/"}, headers=EN)
    assert wrong.status_code == 200 and "That code is not right" in wrong.content.decode()
    assert client.get("/").status_code == 302

    unthrottle(device)
    done = client.post("/otp/setup/", {"code": totp_code(device), "next": "/cockpit/"}, headers=EN)
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/cockpit/"' in done.content.decode()
    assert client.get("/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert actions_since(before) == ["otp.failed", "otp.enrolled"]
    # Shown once: the setup page now sends to the code page, and the codes are nowhere else.
    assert client.get("/otp/setup/")["Location"].startswith("/otp/verify/")


def test_an_account_with_a_device_enters_its_code(users):
    device = second_factor_device(users["grid01"])
    client = password_only("grid01")
    assert (
        client.get("/people/ledgers/import/")["Location"]
        == "/otp/verify/?next=%2Fpeople%2Fledgers%2Fimport%2F"
    )
    before = last_id()
    page = client.get("/otp/verify/?next=/people/ledgers/import/", headers=EN)
    assert page.status_code == 200
    wrong = client.post("/otp/verify/", {"code": "12345", "next": "/"}, headers=EN)
    assert "The code has 6 digits" in wrong.content.decode()
    wrong = client.post("/otp/verify/", {"code": "000000", "next": "/"}, headers=EN)
    assert "That code is not right" in wrong.content.decode()
    unthrottle(device)
    right = client.post(
        "/otp/verify/", {"code": totp_code(device), "next": "/people/ledgers/import/"}, headers=EN
    )
    assert right.status_code == 302 and right["Location"] == "/people/ledgers/import/"
    assert client.get("/people/ledgers/import/").status_code == 200
    assert actions_since(before) == ["otp.failed", "otp.verified"]


def test_the_code_page_never_sends_off_the_site(users):
    device = second_factor_device(users["grid01"])
    client = password_only("grid01")
    response = client.post("/otp/verify/", {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_recovery_code_signs_in_once(users):
    from banyan.people import otp

    user = users["grid02"]
    second_factor_device(user)
    [code, *_rest] = otp.replace_recovery_codes(user)
    client = password_only("grid02")
    before = last_id()
    response = client.post("/otp/verify/", {"recovery_code": code.upper(), "next": "/"})
    assert response.status_code == 302 and client.get("/").status_code == 200
    assert actions_since(before) == ["otp.recovery_used", "otp.verified"]
    again = password_only("grid02", headers=EN)
    refused = again.post("/otp/verify/", {"recovery_code": code, "next": "/"}, headers=EN)
    assert refused.status_code == 200 and "That code is not right" in refused.content.decode()
    assert again.get("/").status_code == 302


def test_residents_may_sign_in_without_a_second_factor_and_may_set_one_up(users):
    client = password_only("resident01")
    assert client.get("/").status_code == 200
    assert client.get("/otp/setup/").status_code == 200  # optional enrolment
    # Once a resident has a device, the code is asked at every sign-in.
    second_factor_device(users["resident01"])
    again = password_only("resident01")
    assert again.get("/")["Location"].startswith("/otp/verify/")


def test_a_bearer_token_is_judged_alone_beside_a_half_signed_in_session(users):
    from banyan.people.auth import create_token

    client = password_only("director")
    assert client.get("/api/v1/regions?kind=grid").status_code == 401
    token = create_token(users["auditor"])
    response = client.get("/api/v1/regions?kind=grid", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    bad = client.get("/api/v1/regions?kind=grid", headers={"Authorization": "Bearer byn_not-a-token"})
    assert bad.status_code == 401  # the half-signed-in session does not stand in for a bad token


def test_banyan_auth_reset_otp_removes_the_devices_and_ends_verified_sessions(users, client):
    user = users["street01"]
    client.force_login(user)  # a test sign-in: passed the second factor with a real device
    assert client.get("/").status_code == 200
    before = last_id()
    call_command("auth", "reset-otp", "street01", "--as", "admin")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert client.get("/")["Location"].startswith("/otp/setup/")
    entry = AuditEntry.objects.get(id__gt=before)
    assert (entry.action, entry.actor, entry.subject_id) == ("otp.reset", "admin", str(user.pk))


def test_otp_pages_speak_chinese(users):
    second_factor_device(users["grid01"])
    client = password_only("grid01", headers={"Accept-Language": "zh-hans"})
    html = client.get("/otp/verify/?next=/").content.decode()
    assert "身份验证器" in html


# --- step-up --------------------------------------------------------------------------------------


EXPORT = {"grid": "G01", "fields": ["phone"], "purpose": "入户走访核对"}


def session_api(users, username: str, sim) -> Client:
    client = Client()
    client.force_login(users[username])  # passed the second factor now (the simulated clock's now)
    return client


@pytest.fixture
def sim():
    with clock.use(clock.SimulatedClock(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))) as simulated:
        yield simulated


def test_a_revealed_export_needs_the_second_factor_within_five_minutes(users, sim):
    client = session_api(users, "grid01", sim)
    post = lambda: client.post(  # noqa: E731
        "/api/v1/ledgers/residents/export", EXPORT, content_type="application/json", headers=EN
    )
    assert post().status_code == 200  # signed in with the second factor moments ago
    sim.advance(dt.timedelta(minutes=5, seconds=1))
    refused = post()
    assert refused.status_code == 403
    assert refused.json()["code"] == "step_up_required"
    assert "second factor" in refused.json()["detail"]
    assert client.get("/").status_code == 200  # the session itself goes on
    before = last_id()
    device = second_factor_device(users["grid01"])
    response = client.post("/otp/verify/", {"code": totp_code(device), "next": "/places/grids/"})
    assert response["Location"] == "/places/grids/"
    assert actions_since(before) == ["otp.verified"]
    assert AuditEntry.objects.get(id__gt=before).details == {"step_up": True}
    assert post().status_code == 200


def test_the_revealed_export_page_asks_for_the_step_up(users, sim):
    from django.urls import reverse

    client = session_api(users, "grid01", sim)
    sim.advance(dt.timedelta(minutes=6))
    before = last_id()
    url = f"{reverse('people:ledger-export-reveal')}?grid=G01"
    response = client.post(url, {"field": ["phone"], "purpose": "入户走访核对"}, headers=EN)
    assert response.status_code == 403
    html = response.content.decode()
    assert "second factor again" in html
    grid = users["grid01"].region
    assert f'href="/otp/verify/?next=%2Fplaces%2Fgrids%2F{grid.pk}%2F&amp;step_up=1"' in html
    assert actions_since(before) == []  # nothing exported, nothing revealed


def test_bearer_tokens_export_without_a_step_up(users, sim):
    sim.advance(dt.timedelta(hours=1))
    response = ApiClient(users["grid01"]).post("ledgers/residents/export", EXPORT)
    assert response.status_code == 200
