"""The web shell: sign-in and sign-out, the home page, language switch, elder mode, error pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from banyan.conftest import DEMO_PASSWORD, second_factor_device, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(users):
    """``signed_in("director")`` — a web client with a session for that demo account."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(users[username])
        return client

    return make


def test_sign_in_with_the_demo_password(users):
    client = Client()
    response = client.post(reverse("account:login"), {"username": "director", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account:home")
    assert client.session["_auth_user_id"] == str(users["director"].pk)
    # A director may reveal personal data: the second factor comes next (banyan/core/tests/test_otp.py).
    assert client.get(reverse("account:home"))["Location"] == "/otp/setup/?next=%2F"
    device = second_factor_device(users["director"])
    response = client.post(reverse("account:otp-verify"), {"code": totp_code(device), "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(reverse("account:home")).status_code == 200


def test_sign_in_with_a_wrong_password_fails(users):
    client = Client()
    response = client.post(reverse("account:login"), {"username": "director", "password": "not-the-password"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert 'role="alert"' in response.content.decode()
    assert client.get(reverse("account:home")).status_code == 302


def test_sign_in_page_is_labelled_and_translated():
    html = Client().get(reverse("account:login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert "登录" in html
    assert 'href="#main"' in html


def test_signed_in_user_is_sent_on_from_the_sign_in_page(signed_in):
    response = signed_in("director").get(reverse("account:login"))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("account:home", []),
        ("places:grid-list", []),
        ("places:grid-detail", [1]),
        ("places:building-detail", [1]),
        ("people:household-detail", [1]),
        ("people:resident-detail", [1]),
        ("people:resident-reveal", [1]),
    ],
)
def test_pages_require_sign_in(name, args):
    url = reverse(name, args=args)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account:login')}?next={url}"


def test_sign_out_is_a_post(signed_in):
    client = signed_in("director")
    assert client.get(reverse("account:logout")).status_code == 405
    response = client.post(reverse("account:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account:login")
    assert client.get(reverse("account:home")).status_code == 302


def test_home_shows_totals_pyramid_and_care_counts(signed_in, users):
    from banyan.people.services import community_overview

    overview = community_overview(users["director"])
    response = signed_in("director").get(reverse("account:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<strong>{overview['residents']}</strong>" in html
    assert f"<strong>{overview['households']}</strong>" in html
    for band in overview["pyramid"]:
        assert f'<th scope="row">{band["label"]}</th>' in html
        assert f"<span>{band['male']}</span>" in html
    for row in overview["care"]:
        assert f"<td>{row['kind']}</td>" in html
    assert reverse("places:grid-list") in html
    assert "社区概况" in html


def test_base_layout_has_landmarks_and_forms(signed_in):
    html = signed_in("director").get(reverse("account:home")).content.decode()
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in html
    assert f'action="{reverse("set_language")}"' in html
    assert '<label for="language-select">' in html
    assert f'action="{reverse("core:elder-mode")}"' in html
    assert f'action="{reverse("account:logout")}"' in html
    assert "/static/banyan/css/banyan.css" in html


def test_language_switch_renders_english(signed_in):
    client = signed_in("director")
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("account:home")})
    assert response.status_code == 302
    html = client.get(reverse("account:home")).content.decode()
    assert '<html lang="en">' in html
    assert "Community overview" in html
    assert "社区概况" not in html
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "社区概况" in client.get(reverse("account:home")).content.decode()


def test_elder_mode_cookie_sets_the_body_class(signed_in):
    client = signed_in("director")
    assert "<body>" in client.get(reverse("account:home")).content.decode()
    response = client.post(reverse("core:elder-mode"), {"next": reverse("places:grid-list")})
    assert response.status_code == 302
    assert response["Location"] == reverse("places:grid-list")
    assert response.cookies["banyan_elder"].value == "1"
    html = client.get(reverse("account:home")).content.decode()
    assert '<body class="elder">' in html
    assert 'aria-pressed="true"' in html
    client.post(reverse("core:elder-mode"), {"next": "/"})
    assert '<body class="elder">' not in client.get(reverse("account:home")).content.decode()


def test_elder_mode_works_before_sign_in_and_refuses_foreign_redirects():
    client = Client()
    response = client.post(reverse("core:elder-mode"), {"next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert '<body class="elder">' in client.get(reverse("account:login")).content.decode()


def test_static_files_are_served():
    response = Client().get("/static/banyan/css/banyan.css")
    assert response.status_code == 200
    assert b"body.elder" in b"".join(response.streaming_content)


def test_not_found_page_is_the_friendly_one(signed_in):
    response = signed_in("director").get(reverse("places:grid-detail", args=[10**9]))
    assert response.status_code == 404
    assert "不在您负责的范围内" in response.content.decode()


def test_resident_home_links_to_their_own_household(users):
    from django.test import Client

    from banyan.conftest import DEMO_PASSWORD

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="resident01", password=DEMO_PASSWORD)
    household = users["resident01"].resident.household
    html = client.get("/").content.decode()
    assert f'href="/people/households/{household.pk}/"' in html
    assert "My household" in html
    assert client.get(f"/people/households/{household.pk}/").status_code == 200


def test_home_on_a_clock_before_some_births_counts_them_as_infants(signed_in, users):
    """A drill's clock may stand before the youngest residents were born: never a 500."""
    import datetime as dt

    from banyan.core import clock
    from banyan.people.models import Resident
    from banyan.people.services import community_overview

    youngest = Resident.objects.order_by("-birth_date").first().birth_date
    with clock.use(
        clock.SimulatedClock(dt.datetime.combine(youngest, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=1))
    ):
        overview = community_overview(users["director"])
        assert signed_in("director").get(reverse("account:home")).status_code == 200
    assert sum(b["male"] + b["female"] for b in overview["pyramid"]) == overview["residents"]


def test_a_nul_character_in_the_query_string_is_refused_naming_the_parameter(client, users):
    client.force_login(users["director"])
    page = client.get("/response/matrix/?region=bad%00value", headers={"Accept-Language": "en"})
    assert page.status_code == 400
    assert "“region” holds a NUL character" in page.content.decode()
    api = client.get("/api/v1/alerts?grade=red%00", headers={"Accept-Language": "en"})
    assert api.status_code == 400 and api.json()["field"] == "grade"
    assert client.get("/response/matrix/?region=").status_code == 200


@pytest.mark.parametrize(
    ("username", "corrections", "tokens"),
    [
        ("director", True, True),
        ("grid01", True, True),
        ("property01", False, True),
        ("resident01", False, False),
    ],
)
def test_the_header_links_corrections_and_tokens_to_whom_they_serve(signed_in, username, corrections, tokens):
    page = signed_in(username).get(reverse("account:home")).content.decode()
    assert (f'href="{reverse("people:correction-list")}"' in page) is corrections
    assert (f'href="{reverse("people:token-list")}"' in page) is tokens
