"""The purpose filter (issue 10, finding 11): no ID number or phone number enters the append-only log,
whatever its separators, prefix or digit width; ordinary purposes with dates and case numbers pass."""

import pytest
from django.utils import translation

from banyan.audit.models import AuditEntry
from banyan.audit.purpose import looks_personal
from banyan.audit.services import record_one
from banyan.core.errors import InvalidInput

PERSONAL = [
    "330102-19720504-2324",  # an ID number with separators
    "330102 1972 0504 2324",
    "33010219720504232X",
    "核对 330102197205042324 的身份",
    "ID 330102-197205-04",  # its first 14 digits
    "138-0013-8000",
    "138 0013 8000",
    "+86 13800138000",
    "+8613800138000",
    "0086-138-0013-8000",
    "(+86) 138.0013.8000",
    "１３８００１３８０００",  # full-width digits
    "电话１３８－００１３－８０００",
    "138\u200b0013\u200b8000",  # zero-width spaces
    "call 13800138000 2026",
    "回访13800138000",
]

LEGITIMATE = [
    "上门核实身份",
    "电话回访",
    "welfare check of the household",
    "2026-12-07",
    "INC-2026-00012",
    "case INC-2026-00012 on 2026-12-07 13:30",
    "2026-00012 2026-12-07",
    "room 1203, building 5, 3 visits",
    "report 12345 of 2026-12-07",
]


@pytest.mark.parametrize("text", PERSONAL)
def test_personal_numbers_are_recognised(text):
    assert looks_personal(text)


@pytest.mark.parametrize("text", LEGITIMATE)
def test_ordinary_purposes_pass(text):
    assert not looks_personal(text)


@pytest.mark.parametrize(
    "text", ["330102-19720504-2324", "138-0013-8000", "+86 13800138000", "１３８００１３８０００"]
)
def test_record_refuses_them_naming_purpose_and_writes_nothing(db, text):
    before = AuditEntry.objects.count()
    with translation.override("en"), pytest.raises(InvalidInput) as excinfo:
        record_one(
            actor="tester", action="resident.reveal", subject_type="resident", subject_id=1, purpose=text
        )
    assert excinfo.value.field == "purpose"
    assert "ID numbers or phone numbers" in excinfo.value.message
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    "text", ["330102-19720504-2324", "+86 13800138000", "１３８００１３８０００", "138 0013 8000"]
)
def test_reveal_with_such_a_purpose_is_a_400_naming_purpose(api, users, text):
    from banyan.people.models import Resident

    resident = Resident.objects.filter(household__grid=users["grid01"].region).order_by("id").first()
    before = AuditEntry.objects.count()
    response = api("grid01").post(f"residents/{resident.pk}/reveal", {"fields": ["phone"], "purpose": text})
    assert response.status_code == 400, response.data
    assert response.data["field"] == "purpose"
    assert "id_number" not in response.data and "phone" not in response.data
    assert AuditEntry.objects.count() == before


def test_reveal_with_a_dated_case_number_passes(api, users):
    from banyan.people.models import Resident

    resident = Resident.objects.filter(household__grid=users["grid01"].region).order_by("id").first()
    response = api("grid01").post(
        f"residents/{resident.pk}/reveal",
        {"fields": ["phone"], "purpose": "INC-2026-00012 回访 2026-12-07"},
    )
    assert response.status_code == 200, response.data
    assert AuditEntry.objects.order_by("id").last().purpose == "INC-2026-00012 回访 2026-12-07"
