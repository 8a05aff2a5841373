"""The carer circle page of a resident: staff who manage carers link an account, record a consent with
its scopes and withdraw it (both languages); other roles are refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from banyan.people.models import CareProfile, Carer, CarerConsent, Resident


@pytest.fixture
def carer(users):
    me = users["resident01"].resident
    elder = (
        Resident.objects.restrict(users["grid01"])
        .exclude(household=me.household)
        .filter(care_profiles__isnull=True)
        .order_by("id")
        .first()
    )
    profile = CareProfile.objects.create(resident=elder, kind="elderly_alone", since=dt.date(2025, 1, 1))
    return Carer.objects.create(care_profile=profile, kind="family", name="女儿")


def test_staff_link_grant_and_withdraw(signed_in, users, carer):
    client = signed_in("grid01", "zh-hans")
    resident = carer.care_profile.resident
    detail = client.get(reverse("people:resident-detail", args=[resident.pk])).content.decode()
    page_url = reverse("people:carer-circle", args=[resident.pk])
    assert page_url in detail and "照护圈" in detail
    page = client.get(page_url).content.decode()
    assert "女儿" in page and "未关联账号" in page
    response = client.post(reverse("people:carer-link", args=[carer.pk]), {"username": "resident01"})
    assert response.status_code == 302
    response = client.post(
        reverse("people:carer-grant", args=[carer.pk]),
        {"given_by": "guardian", "scopes": ["check_in", "vote"], "valid_until": "2099-01-01"},
    )
    assert response.status_code == 302
    consent = CarerConsent.objects.get(carer=carer)
    assert (consent.given_by, consent.scopes) == ("guardian", ["check_in", "vote"])
    page = client.get(page_url).content.decode()
    assert "<code>resident01</code>" in page and "登录账号" in page and "报平安" in page and "投票" in page
    response = client.post(reverse("people:carer-withdraw", args=[consent.pk]), {"consent": consent.pk})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None


def test_bad_input_is_named(signed_in, carer):
    client = signed_in("grid01")
    response = client.post(reverse("people:carer-link", args=[carer.pk]), {"username": "nobody-here"})
    assert response.status_code == 200
    assert "No active resident" in response.content.decode()
    response = client.post(reverse("people:carer-grant", args=[carer.pk]), {"given_by": "self"})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = client.post(
        reverse("people:carer-grant", args=[carer.pk]), {"given_by": "self", "scopes": ["report"]}
    )
    assert response.status_code == 200 and "Link the carer to an account first." in response.content.decode()
    assert not CarerConsent.objects.exists()


@pytest.mark.parametrize("username", ["property01", "volunteer01", "resident01", "auditor"])
def test_other_roles_are_refused(signed_in, carer, username):
    client = signed_in(username)
    resident = carer.care_profile.resident
    assert client.get(reverse("people:carer-circle", args=[resident.pk])).status_code == 403
    response = client.post(reverse("people:carer-link", args=[carer.pk]), {"username": "resident01"})
    assert response.status_code == 403
    carer.refresh_from_db()
    assert carer.user_id is None
