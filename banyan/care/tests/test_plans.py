"""Care plans: made from the template of the resident's care kind, audited; changes checked; the list of
residents in care without a plan and of plans whose check-in is overdue past its grace period."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from banyan.audit.models import AuditEntry
from banyan.care import services
from banyan.care.models import CarePlan
from banyan.care.plans import TEMPLATES, kind_for, template_for
from banyan.core import clock
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.people.choices import CareKind
from banyan.people.models import Resident

# 10:30 in Shanghai: past a 9:00 check-in and its hour of grace.
MORNING = dt.datetime(2026, 12, 7, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def cared(users):
    """A resident of grid01 in care, without a plan."""
    resident = (
        Resident.objects.restrict(users["grid01"])
        .filter(care_profiles__is_active=True)
        .order_by("id")
        .first()
    )
    assert resident is not None
    return resident


def test_every_named_care_kind_has_a_template():
    for kind in (CareKind.ELDERLY_ALONE, CareKind.DEMENTIA, CareKind.DISABILITY, CareKind.CHRONIC_ILLNESS):
        assert kind in TEMPLATES
    assert template_for(CareKind.EMPTY_NEST) == TEMPLATES[CareKind.ELDERLY_ALONE]
    assert kind_for([CareKind.CHRONIC_ILLNESS, CareKind.DEMENTIA]) == CareKind.DEMENTIA
    assert kind_for([CareKind.LOW_INCOME, CareKind.ELDERLY_ALONE]) == CareKind.ELDERLY_ALONE
    assert kind_for([]) == CareKind.ELDERLY_ALONE
    # Children, pregnancy and low income: visits, no daily check-in (nothing to miss every day).
    for kind in (CareKind.MINOR_UNDER_14, CareKind.PREGNANT, CareKind.LOW_INCOME):
        assert template_for(kind).daily is False
    assert all(template_for(kind).daily for kind in (CareKind.ELDERLY_ALONE, CareKind.DEMENTIA))


def test_a_plan_without_a_daily_check_in_is_never_asked_nor_missed(users, cared):
    import datetime as dt

    from banyan.care.board import care_board
    from banyan.care.daily import send_daily_checkins
    from banyan.care.models import FollowUp
    from banyan.care.visits import follow_missed
    from banyan.core import clock

    plan = services.create_plan(actor=users["director"], resident=cared, care_kind=CareKind.MINOR_UNDER_14)
    assert plan.daily_checkin is False and plan.visit_interval_days == 7
    noon = clock.now().replace(hour=4, minute=0)  # 12:00 in Shanghai, past every check-in time
    assert send_daily_checkins(now=noon) == 0
    follow_missed(now=noon)
    assert not FollowUp.objects.exists()
    assert care_board(users["director"]).total == 0
    services.update_plan(actor=users["director"], plan=plan, data={"daily_checkin": True})
    plan.refresh_from_db()
    assert plan.daily_checkin is True
    follow_missed(now=noon + dt.timedelta(days=1))
    assert FollowUp.objects.filter(resident=cared).exists(), "asked every day now: missed is followed"


def test_a_plan_starts_from_its_template_and_is_audited(users, cared):
    plan = services.create_plan(actor=users["director"], resident=cared, care_kind=CareKind.DEMENTIA)
    template = TEMPLATES[CareKind.DEMENTIA]
    assert (plan.checkin_time, plan.grace_minutes, plan.visit_interval_days) == (
        template.checkin_time,
        template.grace_minutes,
        template.visit_interval_days,
    )
    assert plan.channels == list(template.channels)
    assert plan.escalation == template.escalation and plan.checker_kind == template.checker_kind
    entry = AuditEntry.objects.filter(action="care_plan.create").get()
    assert entry.subject_id == str(cared.pk) and entry.details == {"kind": "dementia"}
    with pytest.raises(InvalidInput):
        services.create_plan(actor=users["director"], resident=cared)


def test_who_may_make_plans(users, cared):
    for role in ("volunteer01", "property01", "auditor", "resident01"):
        with pytest.raises((PermissionDenied, NotFound)):
            services.create_plan(actor=users[role], resident=cared)
    with pytest.raises(NotFound):
        services.create_plan(actor=users["grid02"], resident=cared)
    assert not CarePlan.objects.exists()


def test_a_resident_without_care_gets_no_plan(users):
    uncared = Resident.objects.restrict(users["grid01"]).filter(care_profiles__isnull=True).first()
    with pytest.raises(InvalidInput) as refused:
        services.create_plan(actor=users["director"], resident=uncared)
    assert refused.value.field == "resident"


def test_changes_are_checked_and_audited(users, cared):
    plan = services.create_plan(actor=users["director"], resident=cared)
    for bad in (
        {"channels": ["app", "app"]},
        {"channels": ["fax"]},
        {"escalation": "pray"},
        {"grace_minutes": 0},
    ):
        with pytest.raises(InvalidInput):
            services.update_plan(actor=users["director"], plan=plan, data=bad)
    services.update_plan(
        actor=users["director"], plan=plan, data={"grace_minutes": 30, "channels": ["voice"]}
    )
    plan.refresh_from_db()
    assert plan.grace_minutes == 30 and plan.channels == ["voice"]
    entry = AuditEntry.objects.filter(action="care_plan.update").get()
    assert entry.details == {"changed": ["channels", "grace_minutes"]}


def test_missing_then_overdue_then_answered(users, cared):
    with clock.use(clock.SimulatedClock(MORNING)):
        missing, overdue = services.plans_needing_attention(users["director"])
        assert cared.pk in {row.resident.pk for row in missing}
        assert overdue == []
        plan = services.create_plan(actor=users["director"], resident=cared, care_kind=CareKind.ELDERLY_ALONE)
        missing, overdue = services.plans_needing_attention(users["director"])
        assert cared.pk not in {row.resident.pk for row in missing}
        assert [row.resident.pk for row in overdue] == [cared.pk]
        assert timezone.localtime(overdue[0].due).time() == plan.checkin_time
        services.record_checkin(actor=users["grid01"], resident=cared, outcome="fine", channel="staff")
        assert services.plans_needing_attention(users["director"])[1] == []


def test_not_overdue_within_the_grace_period(users, cared):
    with clock.use(clock.SimulatedClock(MORNING.replace(hour=1, minute=45))):  # 9:45 in Shanghai
        services.create_plan(actor=users["director"], resident=cared, care_kind=CareKind.ELDERLY_ALONE)
        assert services.plans_needing_attention(users["director"])[1] == []


def test_roles_that_may_not_see_care_see_no_plans(users, cared):
    services.create_plan(actor=users["director"], resident=cared)
    assert services.plans_needing_attention(users["property01"]) == ([], [])
    assert not CarePlan.objects.restrict(users["auditor"]).exists()
    assert not CarePlan.objects.restrict(users["grid02"]).filter(resident=cared).exists()
