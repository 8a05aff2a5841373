"""The token page, /people/tokens/: list, make (shown once), revoke; zh-Hans and English."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from banyan.audit.models import AuditEntry
from banyan.people.auth import create_token
from banyan.people.models import ApiToken

PAGE = "/people/tokens/"


@pytest.fixture
def browser(users):
    def make(username, language="en"):
        client = Client(headers={"Accept-Language": language})
        client.force_login(users[username])
        return client

    return make


def test_page_needs_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_making_a_token_shows_it_once(browser, users):
    page = browser("grid01")
    response = page.post(PAGE, {"name": "laptop", "scopes": ["read"], "days": "30"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    [raw] = re.findall(r'value="(byn_[^"]+)" data-new-token', html)
    token = ApiToken.objects.get(user=users["grid01"], prefix=raw[:8])
    assert (token.name, token.scopes) == ("laptop", ["read"])
    assert AuditEntry.objects.filter(action="token.create", subject_id=str(token.pk), actor="grid01").exists()
    again = page.get(PAGE).content.decode()
    assert raw not in again and f"{raw[:8]}…" in again
    # No inline script or handler on the page (it runs under the strict CSP).
    assert "<script>" not in html and not re.search(r"\son[a-z]+=", html)


def test_bad_input_names_the_field_and_makes_nothing(browser, users):
    before = ApiToken.objects.filter(user=users["grid01"]).count()
    response = browser("grid01").post(PAGE, {"scopes": ["read"], "days": "400"})
    assert response.status_code == 200  # the page again, with the reason at the field
    assert 'class="field field--invalid"' in response.content.decode()
    response = browser("grid01").post(PAGE, {"scopes": ["readings:write"], "days": "30"})
    assert response.status_code == 200 and "field--invalid" in response.content.decode()  # not offered
    assert ApiToken.objects.filter(user=users["grid01"]).count() == before


def test_readings_scope_is_offered_only_to_roles_that_may_send_readings(browser):
    assert "readings:write" in browser("property01").get(PAGE).content.decode()
    assert "readings:write" not in browser("resident01").get(PAGE).content.decode()


def test_revoke_own_token_but_not_someone_elses(browser, users):
    own = create_token(users["grid01"], name="mine")
    own_token = ApiToken.objects.get(prefix=own[:8])
    other = create_token(users["director"], name="theirs")
    other_token = ApiToken.objects.get(prefix=other[:8])
    page = browser("grid01")
    assert page.post(f"{PAGE}{other_token.pk}/revoke/").status_code == 404
    other_token.refresh_from_db()
    assert not other_token.is_revoked
    response = page.post(f"{PAGE}{own_token.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == PAGE
    own_token.refresh_from_db()
    assert own_token.is_revoked
    # Administrators revoke others' tokens through the API or the command line, not this page.
    assert browser("admin").post(f"{PAGE}{other_token.pk}/revoke/").status_code == 404


def test_page_in_chinese(browser):
    html = browser("grid01", "zh-hans").get(PAGE).content.decode()
    assert "API 令牌" in html and "生成令牌" in html
