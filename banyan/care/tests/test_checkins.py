"""The check-in contract (POST/GET /api/v1/care/checkins), word for word; scope; "need_help" opens an
incident; every check-in audited with who acted."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.care.models import CheckIn
from banyan.core import clock
from banyan.people.models import Resident
from banyan.response.models import Incident

URL = "care/checkins"


@pytest.fixture
def me(users):
    return users["resident01"].resident


@pytest.fixture
def other_grid(users):
    """A resident grid02 sees and grid01 does not."""
    seen_by_grid01 = Resident.objects.restrict(users["grid01"])
    return Resident.objects.restrict(users["grid02"]).exclude(pk__in=seen_by_grid01).order_by("id").first()


def test_a_resident_checks_in_for_themselves(api, users, me):
    response = api("resident01").post(URL, {"resident": me.pk, "outcome": "fine", "channel": "app"})
    assert response.status_code == 201, response.data
    assert set(response.data) >= {"resident", "at", "channel", "outcome", "by"}
    assert response.data["resident"] == me.pk
    assert (response.data["channel"], response.data["outcome"]) == ("app", "fine")
    assert response.data["by"] == users["resident01"].display_name
    assert response.data["incident"] is None
    checkin = CheckIn.objects.get(resident=me)
    assert checkin.by == users["resident01"] and checkin.for_proxy is None
    entry = AuditEntry.objects.filter(action="check_in.record").order_by("-id").first()
    assert entry is not None and entry.subject_id == str(me.pk)
    assert entry.details == {"outcome": "fine", "channel": "app"}


def test_the_list_is_count_and_items_word_for_word(api, me):
    api("resident01").post(URL, {"resident": me.pk, "outcome": "fine", "channel": "app"})
    api("grid01").post(URL, {"resident": me.pk, "outcome": "fine", "channel": "staff"})
    response = api("grid01").get(f"{URL}?resident={me.pk}")
    assert response.status_code == 200
    assert set(response.data) == {"count", "items"}
    assert response.data["count"] == 2
    newest, oldest = response.data["items"]
    assert {"resident", "at", "channel", "outcome", "by"} <= set(newest)
    assert newest["channel"] == "staff" and oldest["channel"] == "app"
    assert dt.datetime.fromisoformat(newest["at"]) <= clock.now()


def test_a_resident_may_not_check_in_for_someone_else(api, me, other_grid):
    housemates = me.household.members.exclude(pk=me.pk)
    if housemates.exists():
        refused = api("resident01").post(
            URL, {"resident": housemates.first().pk, "outcome": "fine", "channel": "app"}
        )
        assert refused.status_code == 403
    outside = api("resident01").post(URL, {"resident": other_grid.pk, "outcome": "fine", "channel": "app"})
    assert outside.status_code == 404
    assert not CheckIn.objects.exists()


def test_a_resident_checks_in_through_the_app_only(api, me):
    response = api("resident01").post(URL, {"resident": me.pk, "outcome": "fine", "channel": "staff"})
    assert response.status_code == 400
    assert "channel" in str(response.data)
    assert not CheckIn.objects.exists()


def test_staff_record_for_residents_in_their_scope_only(api, users, me, other_grid):
    ok = api("grid01").post(URL, {"resident": me.pk, "outcome": "fine", "channel": "staff"})
    assert ok.status_code == 201
    assert ok.data["by"] == users["grid01"].display_name
    assert (
        api("grid01")
        .post(URL, {"resident": other_grid.pk, "outcome": "fine", "channel": "staff"})
        .status_code
        == 404
    )
    assert api("grid01").get(f"{URL}?resident={other_grid.pk}").status_code == 404
    app = api("grid01").post(URL, {"resident": me.pk, "outcome": "fine", "channel": "app"})
    assert app.status_code == 400
    assert CheckIn.objects.count() == 1


def test_roles_that_may_not_see_care_get_nothing(api, me):
    api("resident01").post(URL, {"resident": me.pk, "outcome": "fine", "channel": "app"})
    for role in ("property01", "auditor"):
        assert (
            api(role).post(URL, {"resident": me.pk, "outcome": "fine", "channel": "staff"}).status_code == 403
        )
        listed = api(role).get(URL)
        assert listed.status_code in (200, 403)
        if listed.status_code == 200:
            assert listed.data == {"count": 0, "items": []}
    assert CheckIn.objects.count() == 1


def test_a_carer_is_recorded_as_the_proxy(api, users, me):
    from banyan.people.models import Carer

    carer = Carer.objects.filter(care_profile__resident=me, user=users["volunteer01"]).first()
    assert carer is not None, "the seed makes volunteer01 a carer of resident01"
    response = api("volunteer01").post(URL, {"resident": me.pk, "outcome": "fine", "channel": "carer"})
    assert response.status_code == 201
    assert response.data["for_proxy"] is True
    checkin = CheckIn.objects.get()
    assert checkin.by == users["volunteer01"] and checkin.for_proxy == carer


def test_need_help_opens_a_wellness_incident_at_once(api, me):
    before = Incident.objects.count()
    response = api("resident01").post(URL, {"resident": me.pk, "outcome": "need_help", "channel": "app"})
    assert response.status_code == 201
    assert Incident.objects.count() == before + 1
    incident = Incident.objects.get(pk=response.data["incident"])
    assert incident.category.code == "wellness_check"
    assert incident.unit_id == me.household.unit_id
    assert CheckIn.objects.get().incident == incident


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"resident": 1, "outcome": "ok", "channel": "app"},
        {"resident": 1, "outcome": "fine", "channel": "fax"},
        {"resident": 0, "outcome": "fine", "channel": "app"},
        {"resident": 10**20, "outcome": "fine", "channel": "app"},
        {"resident": "x", "outcome": "fine", "channel": "app"},
    ],
)
def test_bad_bodies_are_refused_clearly(api, body):
    response = api("grid01").post(URL, body)
    assert response.status_code in (400, 422)
    assert response.data
    assert not CheckIn.objects.exists()


def test_unknown_resident_is_404(api):
    response = api("grid01").post(URL, {"resident": 987_654_321, "outcome": "fine", "channel": "staff"})
    assert response.status_code == 404
