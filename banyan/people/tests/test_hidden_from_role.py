"""Honest screens (issue 12): what a role may not see is said to be hidden from it, never shown as none.
An auditor on the page of an 83-year-old living alone with two care profiles reads that care is hidden
from their role, not "no active care profiles"; a resident browsing their building reads that the other
households are hidden, not that the units are empty."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from banyan.conftest import make_resident
from banyan.core import clock
from banyan.people.models import CareProfile, Household
from banyan.places.models import Unit

pytestmark = pytest.mark.django_db

# Roles that may know that a care profile exists (they may reveal care details), and those that may not.
CARE_ROLES = ["admin", "street01", "director", "grid01"]
NO_CARE_ROLES = ["property01", "auditor"]
HIDDEN_EN = "Hidden from your role: care profiles are health data. This does not mean there are none."
HIDDEN_ZH = "您的角色不可查看：关爱档案属于健康信息。这并不表示没有关爱档案。"


@pytest.fixture
def signed_in(users):
    def make(username: str, language: str = "en") -> Client:
        client = Client(headers={"Accept-Language": language})
        client.force_login(users[username])
        return client

    return make


@pytest.fixture
def elder(users):
    """An 83-year-old living alone in grid01's grid, with two active care profiles."""
    household = Household.objects.filter(grid=users["grid01"].region).order_by("id").first()
    born = clock.today().replace(year=clock.today().year - 83) - dt.timedelta(days=30)
    resident = make_resident(
        household, name="独居老人", birth_date=born, relation="other", is_living_alone=True
    )
    for kind in ("elderly_alone", "chronic_illness"):
        CareProfile.objects.create(resident=resident, kind=kind, since=dt.date(2025, 1, 1))
    return resident


@pytest.mark.parametrize("username", CARE_ROLES + NO_CARE_ROLES)
def test_the_resident_page_says_care_is_hidden_never_none(username, signed_in, elder):
    response = signed_in(username).get(reverse("people:resident-detail", args=[elder.pk]))
    assert response.status_code == 200, username
    html = response.content.decode()
    assert "No active care profiles." not in html, username
    if username in CARE_ROLES:
        assert HIDDEN_EN not in html
        assert html.count("<td>Elderly living alone</td>") + html.count("<td>Chronic illness</td>") == 2
    else:
        assert HIDDEN_EN in html and 'data-hidden="care"' in html
        assert "Chronic illness" not in html, "the kinds of care stay hidden"


def test_the_auditor_reads_it_in_chinese(signed_in, elder):
    html = (
        signed_in("auditor", "zh-hans")
        .get(reverse("people:resident-detail", args=[elder.pk]))
        .content.decode()
    )
    assert HIDDEN_ZH in html
    assert "暂无有效的关爱档案" not in html


def test_someone_without_care_still_reads_none_where_care_is_shown(signed_in, users):
    household = Household.objects.filter(grid=users["grid01"].region).order_by("id").first()
    resident = make_resident(household, name="无档案", relation="other")
    html = signed_in("grid01").get(reverse("people:resident-detail", args=[resident.pk])).content.decode()
    assert "No active care profiles." in html and HIDDEN_EN not in html


@pytest.mark.parametrize("username", CARE_ROLES + NO_CARE_ROLES)
def test_the_household_page_leaves_out_the_care_column_and_says_why(username, signed_in, elder):
    html = (
        signed_in(username)
        .get(reverse("people:household-detail", args=[elder.household_id]))
        .content.decode()
    )
    shown = username in CARE_ROLES
    assert ('<th scope="col">Care</th>' in html) == shown, username
    assert (HIDDEN_EN in html) == (not shown), username


def test_a_resident_reads_that_other_households_are_hidden_not_absent(signed_in, users):
    own = users["resident01"].resident.household
    building = own.unit.building
    other_unit = Unit.objects.filter(building=building).exclude(pk=own.unit_id).first()
    Household.objects.create(code="T-OTHER-H", unit=other_unit, grid=own.grid)
    html = signed_in("resident01").get(reverse("places:building-detail", args=[building.pk])).content.decode()
    assert 'data-hidden="households"' in html
    assert "Hidden from your role" in html and ">None<" not in html
    for url in (reverse("places:grid-list"), reverse("places:grid-detail", args=[own.grid_id])):
        assert 'data-hidden="households"' in signed_in("resident01").get(url).content.decode(), url
    staff = signed_in("grid01").get(reverse("places:building-detail", args=[building.pk])).content.decode()
    assert 'data-hidden="households"' not in staff and "Hidden from your role" not in staff


@pytest.mark.parametrize(
    ("username", "shown"), [("auditor", False), ("property01", False), ("director", True)]
)
def test_the_home_page_says_care_is_hidden_not_absent(users, username, shown):
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(users[username])
    html = client.get("/").content.decode()
    assert ('data-hidden="care"' in html) is not shown
    if not shown:
        assert "No active care profiles." not in html
