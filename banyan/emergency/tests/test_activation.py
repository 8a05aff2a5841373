# ruff: noqa: F401, F811 -- the fixtures imported from board_fixtures are used as arguments
"""Activation and the decisions after it (services): who may, what it creates, what it records."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from banyan.audit.models import AuditEntry
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency import services
from banyan.emergency.models import Emergency, Task, TimelineEntry
from banyan.emergency.tests.board_fixtures import START, community, make_plan, plan, sim
from banyan.places.models import Building, Region
from banyan.warning.models import OfficialWarning


def _activate(user, **more):
    return services.activate(actor=user, community=community(), hazard="typhoon", level=2, **more)


def _audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_a_director_activates_a_plan_and_its_checklist_becomes_assigned_tasks(users, plan):
    director = users["director"]
    grid = Region.objects.get(code="G01", kind="grid")
    emergency = _activate(director, area_grids=[grid.pk], title="台风“梅花”防御")
    assert (emergency.status, emergency.level, emergency.hazard, emergency.plan_id) == (
        "active",
        2,
        "typhoon",
        plan.pk,
    )
    assert emergency.activated_at == START and emergency.activated_by == director
    assert emergency.title == "台风“梅花”防御"
    assert list(emergency.area_grids.all()) == [grid]
    assert emergency.lead == director  # the plan's lead: the committee's director
    tasks = {task.key: task for task in Task.objects.filter(emergency=emergency)}
    assert sorted(tasks) == ["clinic", "duty", "patrol", "sandbags"]
    assert tasks["duty"].due_at == START + dt.timedelta(minutes=15)
    assert tasks["sandbags"].due_at == START + dt.timedelta(minutes=90)
    assert tasks["duty"].owner.kind == "community_committee" and tasks["duty"].assignee == director
    # a grid worker of the committee (the first by name), property staff of the property company
    assert tasks["patrol"].assignee == users["grid01"]
    assert tasks["sandbags"].owner.kind == "property_company"
    assert tasks["sandbags"].assignee == users["property01"]
    # the clinic has no grid worker: the task stays with the clinic, unassigned
    assert tasks["clinic"].owner.kind == "clinic" and tasks["clinic"].assignee is None
    [entry] = TimelineEntry.objects.filter(emergency=emergency)
    assert (entry.kind, entry.actor, entry.at) == ("activated", director, START)
    assert entry.details["tasks"] == 4 and entry.details["assigned"] == 3
    [audit] = _audit("emergency.activate")
    assert (audit.subject_type, audit.subject_id, audit.actor_id) == (
        "emergency",
        str(emergency.pk),
        director.pk,
    )


def test_no_area_is_the_whole_community_and_the_default_title_is_the_plans(users, plan):
    emergency = _activate(users["street01"])
    assert emergency.area_grids.count() == 0 and emergency.area_buildings == []
    assert emergency.title == plan.title_zh


@pytest.mark.parametrize("username", ["grid01", "property01", "volunteer01", "auditor", "resident01"])
def test_only_managers_activate(users, plan, username):
    with pytest.raises(PermissionDenied):
        _activate(users[username])
    assert not Emergency.objects.exists() and not _audit("emergency.activate")


def test_a_community_outside_ones_scope_is_not_found(users, plan, outside):
    far = outside["other_street"]["community"]
    make_plan(where=far)
    with pytest.raises(NotFound):
        services.activate(actor=users["director"], community=far, hazard="typhoon", level=2)
    assert not Emergency.objects.exists()


def test_bad_input_names_the_field_and_writes_nothing(users, plan, outside):
    director = users["director"]
    with pytest.raises(InvalidInput) as caught:
        _activate(director, area_grids=[outside["sibling"]["grid"].pk])
    assert caught.value.field == "area_grids"
    with pytest.raises(InvalidInput) as caught:
        _activate(director, area_buildings=[outside["sibling"]["building"].pk])
    assert caught.value.field == "area_buildings"
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        services.activate(actor=director, community=community(), hazard="typhoon", level=1)
    assert caught.value.field == "level" and "no current plan" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        services.activate(actor=director, community=community(), hazard="meteor", level=2)
    assert caught.value.field == "hazard"
    with pytest.raises(InvalidInput) as caught:
        _activate(director, title="x" * 201)
    assert caught.value.field == "title"
    with pytest.raises(InvalidInput) as caught:
        _activate(director, area_grids=["G01"])
    assert caught.value.field == "area_grids"
    assert not Emergency.objects.exists() and not Task.objects.exists()


def _proposed(plan) -> Emergency:
    warning = OfficialWarning.objects.create(
        identifier="W1", sender="zj@cma", sent=START, status="Actual", msg_type="Alert", scope="Public",
        event="台风", severity="Severe", grade="orange", raw="<alert/>", imported_at=START,
    )  # fmt: skip
    emergency = services.propose(
        community=plan.community, hazard="typhoon", level=2, trigger="cap", official_warning=warning
    )
    assert emergency is not None
    return emergency


def test_a_proposed_emergency_is_confirmed_in_one_click(users, plan, sim):
    emergency = _proposed(plan)
    assert (emergency.status, emergency.plan, emergency.activated_at) == ("proposed", plan, None)
    assert not emergency.tasks.exists()
    [audit] = _audit("emergency.propose")
    assert audit.actor == "system"
    sim.advance(dt.timedelta(minutes=3))
    confirmed = services.activate(actor=users["director"], emergency=emergency)
    assert confirmed.pk == emergency.pk and confirmed.status == "active"
    assert confirmed.activated_at == START + dt.timedelta(minutes=3)
    assert confirmed.tasks.count() == 4
    assert [e.kind for e in confirmed.timeline.order_by("at", "id")] == ["proposed", "activated"]
    with pytest.raises(Conflict):  # twice: the second click finds it active
        services.activate(actor=users["director"], emergency=emergency)
    assert confirmed.tasks.count() == 4


def test_a_proposed_emergency_is_dismissed(users, plan):
    emergency = _proposed(plan)
    with pytest.raises(PermissionDenied):
        services.dismiss(actor=users["grid01"], emergency=emergency)
    services.dismiss(actor=users["director"], emergency=emergency, note="预警已解除")
    emergency.refresh_from_db()
    assert emergency.status == "dismissed"
    assert emergency.timeline.get(kind="dismissed").details == {"note": "预警已解除"}
    with pytest.raises(Conflict):
        services.activate(actor=users["director"], emergency=emergency)


def test_proposing_is_once_per_warning(plan):
    emergency = _proposed(plan)
    warning = emergency.official_warning
    again = services.propose(
        community=plan.community, hazard="typhoon", level=2, trigger="cap", official_warning=warning
    )
    assert again is None and Emergency.objects.count() == 1
    # another warning while one of the hazard is open: a note on its timeline, once
    other = OfficialWarning.objects.create(
        identifier="W2", sender="zj@cma", sent=START, status="Actual", msg_type="Alert", scope="Public",
        event="台风", severity="Extreme", grade="red", raw="<alert/>", imported_at=START,
    )  # fmt: skip
    for _ in range(2):
        assert (
            services.propose(
                community=plan.community, hazard="typhoon", level=1, trigger="cap", official_warning=other
            )
            is None
        )
    [note] = emergency.timeline.filter(kind="note")
    assert note.details == {"official_warning": other.pk, "level": 1}


def test_level_change_adds_the_new_plans_tasks_and_is_logged(users, plan, sim):
    director = users["director"]
    emergency = _activate(director)
    red = make_plan(level=1, body={**plan.body, "tasks": [*plan.body["tasks"], {
        "key": "evacuate", "title_zh": "转移危旧房屋居民", "title_en": "Move residents out of unsafe homes",
        "owner_kind": "community_committee", "owner_role": "grid_worker", "due_minutes": 30,
    }]})  # fmt: skip
    sim.advance(dt.timedelta(minutes=20))
    services.change_level(actor=director, emergency=emergency, level=1, note="升级为红色预警")
    emergency.refresh_from_db()
    assert (emergency.level, emergency.plan) == (1, red)
    added = emergency.tasks.get(key="evacuate")
    assert added.due_at == START + dt.timedelta(minutes=50)
    assert emergency.tasks.count() == 5
    entry = emergency.timeline.get(kind="level_changed")
    assert entry.details == {"from": 2, "to": 1, "tasks_added": 1, "plan": red.pk, "note": "升级为红色预警"}
    assert entry.actor == director
    with pytest.raises(InvalidInput) as caught:
        services.change_level(actor=director, emergency=emergency, level=1)
    assert caught.value.field == "level"
    with pytest.raises(InvalidInput):
        services.change_level(actor=director, emergency=emergency, level=7)
    with pytest.raises(PermissionDenied):
        services.change_level(actor=users["grid01"], emergency=emergency, level=3)
    assert len(_audit("emergency.level")) == 1


def test_area_change(users, plan):
    emergency = _activate(users["director"])
    grid = Region.objects.get(code="G02", kind="grid")
    building = Building.objects.filter(grid__code="G03").order_by("code").first()
    services.change_area(
        actor=users["director"], emergency=emergency, area_grids=[grid.pk], area_buildings=[building.pk]
    )
    emergency.refresh_from_db()
    assert list(emergency.area_grids.all()) == [grid] and emergency.area_buildings == [building.pk]
    entry = emergency.timeline.get(kind="area_changed")
    assert entry.details["grids"] == [grid.pk] and entry.details["before"] == {"grids": [], "buildings": []}


def test_stand_down_cancels_open_tasks_and_sets_the_retention(users, plan, sim):
    director = users["director"]
    emergency = _activate(director)
    duty = emergency.tasks.get(key="duty")
    services.complete_task(actor=director, task=duty)
    with pytest.raises(InvalidInput) as caught:
        services.stand_down(actor=director, emergency=emergency, retention_days=0)
    assert caught.value.field == "retention_days"
    with pytest.raises(PermissionDenied):
        services.stand_down(actor=users["grid01"], emergency=emergency)
    sim.advance(dt.timedelta(hours=6))
    services.stand_down(actor=director, emergency=emergency, retention_days=14)
    emergency.refresh_from_db()
    assert (emergency.status, emergency.retention_days) == ("stood_down", 14)
    assert emergency.stood_down_at == START + dt.timedelta(hours=6)
    assert sorted(emergency.tasks.values_list("key", "status")) == [
        ("clinic", "cancelled"), ("duty", "done"), ("patrol", "cancelled"), ("sandbags", "cancelled"),
    ]  # fmt: skip
    assert emergency.timeline.get(kind="stood_down").details == {"retention_days": 14, "tasks_cancelled": 3}
    with pytest.raises(Conflict):
        services.stand_down(actor=director, emergency=emergency)
    with pytest.raises(Conflict):
        services.change_level(actor=director, emergency=emergency, level=1)


def test_tasks_are_done_by_their_assignee_or_a_manager_and_lateness_counts(users, plan, sim):
    emergency = _activate(users["director"])
    patrol = emergency.tasks.get(key="patrol")  # grid01's
    sandbags = emergency.tasks.get(key="sandbags")  # property01's
    with pytest.raises(PermissionDenied):
        services.complete_task(actor=users["grid01"], task=sandbags)
    with pytest.raises(NotFound):
        services.complete_task(actor=users["resident01"], task=patrol)
    sim.advance(dt.timedelta(minutes=70))
    assert services.is_late(patrol) and not services.is_late(sandbags)
    counts = services.task_counts(emergency.tasks.all())
    assert (counts.late, counts.open, counts.done) == (2, 2, 0)  # duty (15 min) and patrol (60 min)
    services.complete_task(actor=users["grid01"], task=patrol, note="已巡查完毕")
    patrol.refresh_from_db()
    assert (patrol.status, patrol.done_by, patrol.note) == ("done", users["grid01"], "已巡查完毕")
    entry = emergency.timeline.get(kind="task_done")
    assert (
        entry.details == {"task": patrol.pk, "key": "patrol", "late": True} and entry.actor == users["grid01"]
    )
    services.complete_task(actor=users["street01"], task=sandbags)
    with pytest.raises(Conflict):
        services.complete_task(actor=users["street01"], task=sandbags)
    assert len(_audit("emergency_task.done")) == 2


def test_assigning_a_task(users, plan, outside):
    emergency = _activate(users["director"])
    clinic = emergency.tasks.get(key="clinic")
    services.assign_task(actor=users["director"], task=clinic, assignee=users["grid02"])
    clinic.refresh_from_db()
    assert clinic.assignee == users["grid02"]
    assert emergency.timeline.get(kind="task_assigned").details["assignee"] == users["grid02"].pk
    for nobody in (users["resident01"], users["auditor"], 10**20, "x"):
        with pytest.raises(InvalidInput) as caught:
            services.assign_task(actor=users["director"], task=clinic, assignee=nobody)
        assert caught.value.field == "assignee"
    with pytest.raises(PermissionDenied):
        services.assign_task(actor=users["grid01"], task=clinic, assignee=users["grid01"])
    clinic.refresh_from_db()
    assert clinic.assignee == users["grid02"]
