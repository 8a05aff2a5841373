"""A family carer checks in for the one they look after, within the consent's check_in scope: both people
recorded; refused without the scope, and at once after withdrawal."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.care.models import CheckIn
from banyan.people import carers
from banyan.people.models import CareProfile, Carer, Resident

URL = "care/checkins"


@pytest.fixture
def elder(users):
    me = users["resident01"].resident
    return (
        Resident.objects.restrict(users["grid01"])
        .exclude(household=me.household)
        .filter(care_profiles__isnull=True)
        .order_by("id")
        .first()
    )


@pytest.fixture
def carer(users, elder):
    profile = CareProfile.objects.create(resident=elder, kind="elderly_alone", since=dt.date(2025, 1, 1))
    carer = Carer.objects.create(care_profile=profile, kind="family", name="女儿", phone="13900000001")
    return carers.link_account(actor=users["grid01"], carer=carer, username="resident01")


def test_a_carer_with_check_in_scope_checks_in_for_her(api, users, elder, carer):
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in"])
    response = api("resident01").post(URL, {"resident": elder.pk, "outcome": "fine", "channel": "carer"})
    assert response.status_code == 201, response.data
    assert response.data["for_proxy"] is True
    assert response.data["resident"] == elder.pk
    checkin = CheckIn.objects.get(resident=elder)
    assert checkin.by == users["resident01"] and checkin.for_proxy == carer
    entry = AuditEntry.objects.filter(action="check_in.record").order_by("-id").first()
    assert entry.subject_id == str(elder.pk) and entry.details["carer"] == carer.pk


def test_a_carer_checks_in_with_channel_carer_only(api, users, elder, carer):
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in"])
    response = api("resident01").post(URL, {"resident": elder.pk, "outcome": "fine", "channel": "app"})
    assert response.status_code == 400 and "channel" in str(response.data)
    assert not CheckIn.objects.filter(resident=elder).exists()


def test_without_check_in_scope_the_carer_is_refused(api, users, elder, carer):
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["report", "vote"])
    response = api("resident01").post(URL, {"resident": elder.pk, "outcome": "fine", "channel": "carer"})
    assert response.status_code == 404
    assert not CheckIn.objects.filter(resident=elder).exists()


def test_withdrawal_stops_it_at_once(api, users, elder, carer):
    consent = carers.grant(actor=users["grid01"], carer=carer, given_by="guardian", scopes=["check_in"])
    ok = api("resident01").post(URL, {"resident": elder.pk, "outcome": "fine", "channel": "carer"})
    assert ok.status_code == 201
    carers.withdraw(actor=users["grid01"], consent=consent)
    refused = api("resident01").post(URL, {"resident": elder.pk, "outcome": "fine", "channel": "carer"})
    assert refused.status_code == 404
    assert CheckIn.objects.filter(resident=elder).count() == 1


def test_need_help_by_a_carer_opens_an_incident(api, users, elder, carer):
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in"])
    response = api("resident01").post(URL, {"resident": elder.pk, "outcome": "need_help", "channel": "carer"})
    assert response.status_code == 201, response.data
    assert response.data["incident"] is not None
