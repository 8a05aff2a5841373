"""Sessions (issue 10, finding 8): at most 8 hours, 30 minutes idle (``BANYAN_SESSION_IDLE_MINUTES``)
signs out, the cookie lives only as long as the browser, HttpOnly and SameSite; times from
``banyan.core.clock``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from banyan.core import clock

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def simulated():
    with clock.use(clock.SimulatedClock(START)) as simulated:
        yield simulated


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_settings():
    from django.conf import settings

    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.BANYAN_SESSION_IDLE_MINUTES == 30


def test_thirty_minutes_without_a_request_sign_out(users, simulated):
    client = signed_in_client(users["resident01"])
    client.get("/reports/")
    simulated.advance(dt.timedelta(minutes=29))
    client.get("/reports/")
    assert is_signed_in(client), "29 minutes idle: still signed in"
    simulated.advance(dt.timedelta(minutes=29))
    client.get("/reports/")
    assert is_signed_in(client), "a request in between restarted the idle time"
    simulated.advance(dt.timedelta(minutes=31))
    response = client.get("/reports/", headers={"Accept-Language": "en"})
    assert not is_signed_in(client)
    assert response.status_code == 302 and response.url.startswith("/login/")
    page = client.get(response.url, headers={"Accept-Language": "en"}).content.decode()
    assert "You were signed out after 30 minutes without activity." in page


def test_the_api_answers_401_after_the_idle_time(users, simulated):
    client = signed_in_client(users["director"])
    assert client.get("/api/v1/regions?kind=grid").status_code != 401
    simulated.advance(dt.timedelta(minutes=31))
    assert client.get("/api/v1/regions?kind=grid").status_code == 401
    assert not is_signed_in(client)


def test_the_idle_time_is_a_setting(users, simulated, settings):
    settings.BANYAN_SESSION_IDLE_MINUTES = 5
    client = signed_in_client(users["resident01"])
    client.get("/reports/")
    simulated.advance(dt.timedelta(minutes=6))
    client.get("/reports/")
    assert not is_signed_in(client)


def test_a_session_ends_after_8_hours_however_busy(users, simulated):
    client = signed_in_client(users["resident01"])
    client.get("/reports/")
    for _ in range(int(8 * 60 / 20)):  # a request every 20 minutes for 8 hours
        simulated.advance(dt.timedelta(minutes=20))
        client.get("/reports/")
    assert is_signed_in(client), "exactly 8 hours: still signed in"
    simulated.advance(dt.timedelta(minutes=20))
    response = client.get("/reports/", headers={"Accept-Language": "en"})
    assert not is_signed_in(client)
    page = client.get(response.url, headers={"Accept-Language": "en"}).content.decode()
    assert "a session lasts at most 8 hours" in page


def test_the_session_cookie_ends_with_the_browser(users):
    from banyan.conftest import DEMO_PASSWORD

    response = Client().post("/login/", {"username": "resident01", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    morsel = response.cookies["sessionid"]
    assert morsel["httponly"] and morsel["samesite"] == "Lax"
    assert not morsel["max-age"] and not morsel["expires"], "a browser-session cookie"
