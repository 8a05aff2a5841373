"""Elder mode all the way: a signed-in person's choice is kept on the account (it survives signing out
and in, on another browser too); the cookie still serves anonymous visitors; a resident's home page in
elder mode is a few large buttons (get help, report a problem, my reports, contact my grid worker) and
her area's warnings instead of charts; staff homes are unchanged."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from banyan.conftest import DEMO_PASSWORD

HOME = "/"
ELDER = "/elder-mode/"


def sign_in(username: str, language: str = "en") -> Client:
    """A fresh browser (no cookies) signed in through the sign-in page."""
    client = Client(headers={"Accept-Language": language})
    response = client.post(reverse("account:login"), {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def is_elder(client: Client, url: str = HOME) -> bool:
    page = client.get(url).content.decode()
    return bool(re.search(r'<body class="elder"', page))


@pytest.fixture(autouse=True)
def _urls():
    assert reverse("core:elder-mode") == ELDER


def test_the_choice_survives_signing_out_and_in(users):
    client = sign_in("resident01")
    assert not is_elder(client)
    assert client.post(ELDER, {"next": HOME}).status_code == 302
    users["resident01"].refresh_from_db()
    assert users["resident01"].elder_mode is True
    assert is_elder(client)
    client.post(reverse("account:logout"))
    # another browser, without the cookie: the account remembers
    other = sign_in("resident01")
    assert "banyan_elder" not in other.cookies
    assert is_elder(other)
    # turning it off is remembered too
    other.post(ELDER, {"next": HOME})
    users["resident01"].refresh_from_db()
    assert users["resident01"].elder_mode is False
    assert not is_elder(sign_in("resident01"))


def test_the_cookie_serves_anonymous_visitors_and_those_who_never_chose(users):
    client = Client()
    login = reverse("account:login")
    assert not is_elder(client, login)
    response = client.post(ELDER, {"next": login})
    assert response.cookies["banyan_elder"].value == "1"
    assert is_elder(client, login)
    # signing in on that browser keeps it, for an account that never chose (staff pass a second
    # factor: the test client's sign-in passes it)
    assert users["grid01"].elder_mode is None
    client.force_login(users["grid01"])
    assert is_elder(client)


def test_the_elder_home_is_a_few_large_buttons(users):
    client = sign_in("resident01", "zh-hans")
    client.post(ELDER, {"next": HOME})
    page = client.get(HOME).content.decode()
    buttons = re.findall(r'<a class="home-action[^"]*" href="([^"]+)">.*?<span>([^<]+)</span></a>', page)
    assert [label for _href, label in buttons] == ["求助", "上报问题", "我的上报", "联系网格员"]
    assert [href for href, _label in buttons] == [
        "/reports/new/?category=fall_medical&amp;place=home",
        reverse("reports:new"),
        reverse("reports:list"),
        reverse("reports:contact"),
    ]
    assert 'class="home-warnings"' in page  # her area's warnings
    assert "pyramid" not in page and "社区概况" not in page  # no charts


def test_the_resident_home_without_elder_mode_keeps_the_overview_below_the_buttons(users):
    page = sign_in("resident01").get(HOME).content.decode()
    assert page.index("Get help") < page.index("Community overview")
    assert "pyramid" in page


def test_staff_homes_are_unchanged(users):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["director"])
    client.post(ELDER, {"next": HOME})
    page = client.get(HOME).content.decode()
    assert '<body class="elder"' in page
    assert "home-action" not in page and "<h1>Community overview</h1>" in page


def test_the_get_help_button_opens_the_form_with_first_aid(users):
    client = sign_in("resident01", "zh-hans")
    page = client.get("/reports/new/?category=fall_medical&place=home").content.decode()
    assert "先拨打 120" in page
    assert re.search(r'value="fall_medical"[^>]*checked', page)
    assert re.search(r'value="home"[^>]*checked', page)
