# ruff: noqa: F401, F811 -- the fixtures imported from board_fixtures are used as arguments
"""The plan's call-up: activation puts the community's volunteers (the building leaders) on duty and tells
them; dispatch then sends them to door-knocks; the stand-down ends their shifts."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core.errors import InvalidInput
from banyan.emergency import plans, services
from banyan.emergency.models import CallUp, TimelineEntry
from banyan.emergency.tests.board_fixtures import BODY, START, community, make_plan, sim
from banyan.notify.models import Message
from banyan.response.models import Responder, Shift


def _on_duty(at: dt.datetime) -> set[str]:
    return set(
        Responder.objects.filter(
            user__role="volunteer", shifts__starts_at__lte=at, shifts__ends_at__gt=at
        ).values_list("user__username", flat=True)
    )


def test_the_seed_has_a_leader_per_building_with_no_standing_shift(db):
    leaders = Responder.objects.filter(user__username__startswith="leader")
    assert leaders.count() >= 5
    assert not Shift.objects.filter(responder__in=leaders).exists()
    for leader in leaders.select_related("user__resident__household__unit__building"):
        assert leader.user.role == "volunteer" and leader.user.resident is not None
        membership = leader.user.memberships.get()
        assert membership.title == "楼栋长" and membership.organisation.kind == "social_organisation"


def test_activation_calls_up_the_volunteers_and_stand_down_releases_them(users, sim):
    make_plan(body={**BODY, "call_up": {"hours": 24}})
    leaders = set(  # the building leaders and the residents registered as volunteers
        Responder.objects.filter(user__memberships__title__in=["楼栋长", "社区志愿者"]).values_list(
            "user__username", flat=True
        )
    )
    assert any(name.startswith("leader") for name in leaders) and any(n.startswith("vol") for n in leaders)
    assert not leaders & _on_duty(START)
    emergency = services.activate(actor=users["director"], community=community(), hazard="typhoon", level=2)
    on_duty = _on_duty(START)
    assert leaders <= on_duty and "volunteer01" in on_duty
    called = CallUp.objects.filter(emergency=emergency).select_related("shift__responder__user")
    # volunteer01's own shift ends at midnight: called up too, for the 24 hours
    names = {c.shift.responder.user.username for c in called}
    assert names == leaders | {"volunteer01"}
    assert {c.shift.ends_at for c in called} == {START + dt.timedelta(hours=24)}
    [entry] = TimelineEntry.objects.filter(emergency=emergency, kind="called_up")
    assert entry.details == {"volunteers": len(names), "hours": 24} and entry.actor == users["director"]
    assert AuditEntry.objects.filter(action="emergency.call_up", subject_id=str(emergency.pk)).count() == 1
    told = Message.objects.filter(kind="emergency.call_up", subject_id=str(emergency.pk))
    assert set(told.values_list("recipient__username", flat=True)) == names
    assert all(emergency.title in m.subject or "called up" in m.subject or "召集" in m.subject for m in told)
    sim.advance(dt.timedelta(hours=3))
    services.stand_down(actor=users["director"], emergency=emergency)
    assert not leaders & _on_duty(START + dt.timedelta(hours=3))
    assert {c.shift.ends_at for c in CallUp.objects.filter(emergency=emergency).select_related("shift")} == {
        START + dt.timedelta(hours=3)
    }
    stood = TimelineEntry.objects.get(emergency=emergency, kind="stood_down")
    assert stood.details["volunteers_released"] == len(names)


def test_a_plan_without_call_up_calls_nobody(users, sim):
    make_plan(body={key: value for key, value in BODY.items() if key != "call_up"})
    emergency = services.activate(actor=users["director"], community=community(), hazard="typhoon", level=2)
    assert not CallUp.objects.filter(emergency=emergency).exists()
    assert not TimelineEntry.objects.filter(emergency=emergency, kind="called_up").exists()


@pytest.mark.parametrize(
    ("call_up", "roll_call", "field"),
    [
        ({"hours": 0}, None, "call_up.hours"),
        ({"hours": 24, "who": "all"}, None, "call_up"),
        (None, {"wait_minutes": 10, "vulnerable_wait_minutes": 11}, "roll_call.vulnerable_wait_minutes"),
    ],
)
def test_the_plan_check_names_a_bad_call_up_or_wait(db, call_up, roll_call, field):
    with pytest.raises(InvalidInput) as error:
        plans.validate_body({**BODY, "call_up": call_up, "roll_call": roll_call})
    assert error.value.field == field


def test_the_shipped_templates_call_up_from_level_iii_and_visit_the_vulnerable_sooner(db):
    for level, hours in ((1, 48), (2, 24), (3, 12), (4, None)):
        body = plans.validate_body(plans.build_body("flood", level))
        assert (body["call_up"] or {}).get("hours") == hours
        assert body["roll_call"]["vulnerable_wait_minutes"] < body["roll_call"]["wait_minutes"]
