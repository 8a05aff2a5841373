"""A carer reports for the resident they look after within a consent naming "report": both people are
recorded (the carer as reporter, the resident it is for); "home" is that resident's home. Without the
scope, or once withdrawn: 404. The resident's own flow is unchanged."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core.errors import NotFound
from banyan.people import carers
from banyan.people.models import CareProfile, Carer, Resident
from banyan.response.models import Report
from banyan.response.reports import services as reports


@pytest.fixture
def elder(users, site):
    me = users["resident01"].resident
    return (
        Resident.objects.restrict(users["grid01"])
        .exclude(household=me.household)
        .filter(care_profiles__isnull=True, household__grid=site["grid"])
        .order_by("id")
        .first()
    )


@pytest.fixture
def carer(users, elder):
    profile = CareProfile.objects.create(resident=elder, kind="elderly_alone", since=dt.date(2025, 1, 1))
    carer = Carer.objects.create(care_profile=profile, kind="family", name="女儿")
    return carers.link_account(actor=users["grid01"], carer=carer, username="resident01")


def test_a_carer_reports_for_her_and_both_are_recorded(api, users, elder, carer):
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["report"])
    filed = api("resident01").post(
        "reports", {"category": "flooding", "home": True, "description": "她家漏水", "for_resident": elder.pk}
    )
    assert filed.status_code == 201, filed.data
    report = Report.objects.get(pk=filed.data["id"])
    assert (report.reporter, report.for_resident) == (users["resident01"], elder)
    assert report.unit == elder.household.unit
    entry = AuditEntry.objects.filter(action="report.submit").order_by("-id").first()
    assert entry.details["for_resident"] == elder.pk and entry.details["carer"] == carer.pk


def test_without_the_report_scope_or_after_withdrawal_404(api, users, elder, carer):
    consent = carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in"])
    body = {"category": "flooding", "home": True, "for_resident": elder.pk}
    assert api("resident01").post("reports", body).status_code == 404
    carers.withdraw(actor=users["grid01"], consent=consent)
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["report"])
    assert api("resident01").post("reports", body).status_code == 201
    for granted in carer.consents.filter(withdrawn_at__isnull=True):
        carers.withdraw(actor=users["grid01"], consent=granted)
    assert api("resident01").post("reports", body).status_code == 404
    with pytest.raises(NotFound):
        reports.submit_report(actor=users["resident01"], category="flooding", home=True, for_resident=elder)
    assert Report.objects.filter(for_resident=elder).count() == 1


def test_the_residents_own_report_is_unchanged(users, site):
    report = reports.submit_report(actor=users["resident01"], category="flooding", home=True)
    assert report.for_resident is None and report.reporter == users["resident01"]
    assert report.unit == users["resident01"].resident.household.unit
