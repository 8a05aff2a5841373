"""The resident lookup is no unmasking oracle: reveal rights, a purpose, a rate limit, an audit entry."""

from __future__ import annotations

import datetime as dt
import json

from banyan.audit.models import AuditEntry
from banyan.conftest import make_id_number
from banyan.core import clock
from banyan.people.models import Resident

PURPOSE = "welfare check of the household"


def _in_grid(user):
    return Resident.objects.filter(household__grid=user.region).exclude(phone="").order_by("id").first()


def _lookups():
    return AuditEntry.objects.filter(action="resident.lookup")


def test_property_staff_may_not_look_up_id_numbers(api, users):
    """Finding 2: property01 (who may not reveal ID numbers) recovered a full ID by lookups."""
    resident = Resident.objects.filter(
        household__grid__path__startswith=users["property01"].region.path
    ).first()
    before = _lookups().count()
    response = api("property01").post(
        "residents/lookup", {"id_number": resident.id_number, "purpose": PURPOSE}
    )
    assert response.status_code == 403
    assert response.data["code"] == "forbidden"
    assert "id_number" in response.data["detail"]
    assert _lookups().count() == before
    # Property staff may reveal phones, so they may look phones up.
    response = api("property01").post("residents/lookup", {"phone": resident.phone, "purpose": PURPOSE})
    assert response.status_code == 200, response.data


def test_auditor_may_look_up_nothing(api, users):
    resident = Resident.objects.exclude(phone="").first()
    client = api("auditor")
    for field in ("id_number", "phone"):
        response = client.post("residents/lookup", {field: getattr(resident, field), "purpose": PURPOSE})
        assert response.status_code == 403, field


def test_staff_state_a_purpose(api, users):
    resident = _in_grid(users["grid01"])
    client = api("grid01")
    before = _lookups().count()
    response = client.post("residents/lookup", {"id_number": resident.id_number})
    assert response.status_code == 400 and response.data["field"] == "purpose"
    response = client.post(
        "residents/lookup", {"id_number": resident.id_number, "purpose": "call 13800138000"}
    )
    assert response.status_code == 400 and response.data["field"] == "purpose"
    assert _lookups().count() == before


def test_every_lookup_is_audited_without_the_value(api, users):
    resident = _in_grid(users["grid01"])
    client = api("grid01")
    before = AuditEntry.objects.count()
    response = client.post("residents/lookup", {"id_number": resident.id_number, "purpose": PURPOSE})
    assert [i["id"] for i in response.data["items"]] == [resident.pk]
    entries = list(AuditEntry.objects.filter(id__gt=before))
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        "resident.lookup",
        "resident",
        str(resident.pk),
    )
    assert (entry.actor, entry.purpose) == ("grid01", PURPOSE)
    assert entry.details == {"field": "id_number", "matches": 1}
    assert resident.id_number not in json.dumps(entry.details)

    response = client.post("residents/lookup", {"phone": "13800138000", "purpose": PURPOSE})
    assert response.data["count"] == 0
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.action, entry.subject_id, entry.details) == (
        "resident.lookup",
        "none",
        {"field": "phone", "matches": 0},
    )
    assert "13800138000" not in json.dumps(entry.details) + entry.purpose


def test_a_resident_looks_up_their_household_without_a_purpose(api, users):
    own = users["resident01"].resident
    response = api("resident01").post("residents/lookup", {"id_number": own.id_number})
    assert response.status_code == 200
    assert [i["id"] for i in response.data["items"]] == [own.pk]
    assert _lookups().order_by("-id").first().subject_id == str(own.pk)


def test_the_eleventh_lookup_in_a_minute_is_refused(api, users):
    """Finding 2: grid01 found a phone in 828 lookups; now 10 a minute, then 429 until the minute is over."""
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    client = api("grid01")
    with clock.use(clock.SimulatedClock(start)) as simulated:
        for _ in range(10):
            response = client.post("residents/lookup", {"id_number": make_id_number(), "purpose": PURPOSE})
            assert response.status_code == 200, response.data
        before = _lookups().count()
        response = client.post("residents/lookup", {"id_number": make_id_number(), "purpose": PURPOSE})
        assert response.status_code == 429
        assert response.data["code"] == "rate_limited"
        assert response.data["limit"] == "10/minute"
        assert "10" in response.data["detail"] and "60 seconds" in response.data["detail"]
        assert response["Retry-After"] == "60"
        assert _lookups().count() == before  # refused before the search: nothing found, nothing audited
        # Another account has its own count.
        other = api("director").post("residents/lookup", {"id_number": make_id_number(), "purpose": PURPOSE})
        assert other.status_code == 200
        simulated.advance(61)
        response = client.post("residents/lookup", {"id_number": make_id_number(), "purpose": PURPOSE})
        assert response.status_code == 200


def test_a_hundred_lookups_a_day(api, users):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    client = api("grid01")
    with clock.use(clock.SimulatedClock(start)) as simulated:
        for i in range(100):
            if i and i % 10 == 0:
                simulated.advance(61)
            response = client.post("residents/lookup", {"phone": "13800138000", "purpose": PURPOSE})
            assert response.status_code == 200, (i, response.data)
        simulated.advance(61)
        response = client.post("residents/lookup", {"phone": "13800138000", "purpose": PURPOSE})
        assert response.status_code == 429
        assert response.data["limit"] == "100/day"
        assert int(response["Retry-After"]) > 23 * 3600
        simulated.advance(dt.timedelta(days=1))
        response = client.post("residents/lookup", {"phone": "13800138000", "purpose": PURPOSE})
        assert response.status_code == 200


def test_lookup_declares_its_answers_in_openapi(api):
    schema = api().get("/api/v1/openapi.json").data
    answers = schema["paths"]["/api/v1/residents/lookup"]["post"]["responses"]
    assert {"200", "400", "403", "429"} <= set(answers)
