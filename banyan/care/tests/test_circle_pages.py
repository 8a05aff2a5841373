"""The carer's home page: "the people I look after" with their last check-in and a button to check in
for them (elder mode, both languages); the button goes, and the address answers 404, once the consent is
withdrawn."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from banyan.care.models import CheckIn
from banyan.people import carers
from banyan.people.models import CareProfile, Carer, Resident

HOME = "/"


@pytest.fixture
def elder(users):
    me = users["resident01"].resident
    resident = (
        Resident.objects.restrict(users["grid01"])
        .exclude(household=me.household)
        .filter(care_profiles__isnull=True)
        .order_by("id")
        .first()
    )
    resident.sex = "F"
    resident.save(update_fields=["sex"])
    return resident


@pytest.fixture
def consent(users, elder):
    profile = CareProfile.objects.create(resident=elder, kind="elderly_alone", since=dt.date(2025, 1, 1))
    carer = Carer.objects.create(care_profile=profile, kind="family", name="女儿")
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    return carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in"])


def test_the_carer_checks_in_for_her_from_the_home_page_in_elder_mode(signed_in, users, elder, consent):
    client = signed_in("resident01", "zh-hans")
    client.post("/elder-mode/", {"next": HOME})
    page = client.get(HOME).content.decode()
    assert 'class="elder"' in page
    assert "我照护的人" in page and elder.name in page and "还没有报过平安" in page
    url = reverse("care:proxy-checkin", args=[elder.pk])
    assert url in page and "替她报平安" in page
    response = client.post(url, {"outcome": "fine"})
    assert response.status_code == 302 and response["Location"] == HOME
    checkin = CheckIn.objects.get(resident=elder)
    assert (checkin.channel, checkin.by, checkin.for_proxy) == ("carer", users["resident01"], consent.carer)
    page = client.get(HOME).content.decode()
    assert re.search(r"上次报平安：平安，今天 \d{1,2}:\d\d", page)


def test_in_english(signed_in, elder, consent):
    page = signed_in("resident01").get(HOME).content.decode()
    assert "The people I look after" in page and "Check in for her" in page


def test_withdrawal_takes_the_button_away_at_once(signed_in, users, elder, consent):
    client = signed_in("resident01")
    carers.withdraw(actor=users["grid01"], consent=consent)
    page = client.get(HOME).content.decode()
    assert "The people I look after" not in page
    response = client.post(reverse("care:proxy-checkin", args=[elder.pk]), {"outcome": "fine"})
    assert response.status_code == 404
    assert not CheckIn.objects.filter(resident=elder).exists()


def test_without_check_in_scope_she_is_listed_without_the_button(signed_in, users, elder, consent):
    carers.withdraw(actor=users["grid01"], consent=consent)
    carers.grant(actor=users["grid01"], carer=consent.carer, given_by="self", scopes=["report"])
    page = signed_in("resident01").get(HOME).content.decode()
    assert elder.name in page and "Check in for her" not in page
