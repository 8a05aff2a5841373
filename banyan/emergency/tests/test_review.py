# ruff: noqa: F401, F811 -- the fixtures imported from review_fixtures are used as arguments
"""The after-action review: figures from real records (tasks against deadlines, the roll-call curve, the
resilience loss), lessons with owners, a plan change proposed as a new version, recovery tasks."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency import review, services
from banyan.emergency.models import Lesson, Plan, Task
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.rollcall.models import Entry
from banyan.emergency.tests.review_fixtures import activated, grid_g01, sim

T0 = dt.datetime(2026, 9, 14, 2, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_resilience_loss_is_the_exact_integral_of_the_step_function():
    # 4 households; accounted at 30 and 60 min, one at 120, one never; stand-down at 180 min.
    loss = review.resilience_loss([at(30), at(60), at(120), None], T0, at(180))
    expected = 100 * 0.5 + 75 * 0.5 + 50 * 1 + 25 * 1  # percent × hours of each step
    assert loss == pytest.approx(expected)
    assert review.resilience_loss([], T0, at(60)) == 0.0
    assert review.resilience_loss([at(0)], T0, at(60)) == 0.0  # everyone at once: no loss
    assert review.resilience_loss([at(90)], T0, at(60)) == 100.0  # after the end: counts as never


def test_the_review_reads_tasks_against_deadlines_and_the_roll_call(users, activated, sim):
    emergency = activated
    director = users["director"]
    tasks = {t.key: t for t in Task.objects.filter(emergency=emergency)}
    assert set(tasks) == {"duty", "patrol", "sandbags", "clinic"}
    sim.advance(dt.timedelta(minutes=10))
    services.complete_task(actor=director, task=tasks["duty"])  # due at 15: in time
    roll_call = rollcall.start_roll_call(actor=director, emergency=emergency)
    vulnerable = list(Entry.objects.filter(roll_call=roll_call, vulnerable=True).order_by("pk"))
    everyone = Entry.objects.filter(roll_call=roll_call).count()
    assert len(vulnerable) >= 2 and everyone > len(vulnerable)
    sim.advance(dt.timedelta(minutes=20))
    Entry.objects.filter(pk=vulnerable[0].pk).update(status="safe", accounted_at=clock.now())
    sim.advance(dt.timedelta(minutes=40))  # 70 min after activation
    services.complete_task(actor=director, task=tasks["patrol"])  # due at 60: late by 10
    sim.advance(dt.timedelta(minutes=50))  # 120 min: stand down with sandbags (90) undone, clinic due now
    services.stand_down(actor=director, emergency=emergency)
    emergency.refresh_from_db()

    data = review.after_action_review(emergency)
    by_key = {row["key"]: row for row in data["tasks"]}
    assert by_key["duty"]["outcome"] == "done"
    assert by_key["patrol"]["outcome"] == "late" and by_key["patrol"]["late_min"] == 10
    assert by_key["sandbags"]["outcome"] == "late" and by_key["sandbags"]["status"] == "cancelled"
    assert by_key["clinic"]["outcome"] == "open"  # due at the very moment of stand-down: not late
    assert data["task_summary"] == {
        "checklist": 4,
        "done": 1,
        "late": 2,
        "open": 1,
        "recovery": 0,
        "recovery_done": 0,
        "door_knocks": 0,
    }
    assert data["detection"]["activated_at"] == emergency.activated_at.isoformat()
    assert data["detection"]["activation_min"] == 0.0
    figures = data["roll_call"]
    share = round(1 / len(vulnerable), 4)
    assert figures["curve"] == [[0.0, 0.0], [20.0, share]]
    assert figures["counts"]["asked"] == everyone and figures["counts"]["vulnerable_accounted"] == 1
    # t0 = activation; one household accounted at 30 min; stand-down at 120 min.
    expected = 100 * 0.5 + 100 * (1 - 1 / everyone) * 1.5
    assert figures["resilience_loss"] == pytest.approx(expected, abs=0.01)
    assert data["shelters"]["shelter_peak"] == 0
    assert data["sla"]["incidents"] >= 0 and "resolve_met_share" in data["sla"]
    assert [e["kind"] for e in data["timeline"]][0] == "activated"


def test_lessons_need_an_owner_and_only_managers_add_them(users, activated):
    emergency = activated
    body = review.owners_for(emergency).first()
    assert body is not None
    for username in ("grid01", "volunteer01", "auditor", "resident01"):
        with pytest.raises((PermissionDenied, NotFound)):
            review.add_lesson(actor=users[username], emergency=emergency, text="x", owner=body.pk)
    with pytest.raises(InvalidInput) as error:
        review.add_lesson(actor=users["director"], emergency=emergency, text=" ", owner=body.pk)
    assert error.value.field == "text"
    with pytest.raises(InvalidInput) as error:
        review.add_lesson(actor=users["director"], emergency=emergency, text="沙袋不够")
    assert error.value.field == "owner"
    with pytest.raises(InvalidInput) as error:
        review.add_lesson(
            actor=users["director"], emergency=emergency, text="沙袋不够", owner=body.pk, due="soon"
        )
    assert error.value.field == "due"
    lesson = review.add_lesson(
        actor=users["director"], emergency=emergency, text="车库沙袋储备不足", owner=body.pk, due="2026-10-01"
    )
    assert (lesson.owner, lesson.due, lesson.done) == (body, dt.date(2026, 10, 1), False)
    assert review.after_action_review(emergency)["lessons"][0]["text"] == "车库沙袋储备不足"
    with pytest.raises(NotFound):
        review.lesson_done(actor=users["grid01"], lesson_id=lesson.pk)
    review.lesson_done(actor=users["director"], lesson_id=lesson.pk)
    assert Lesson.objects.get(pk=lesson.pk).done
    assert AuditEntry.objects.filter(action="emergency.lesson").count() == 2


def test_lessons_propose_a_new_plan_version(users, activated):
    emergency = activated
    with pytest.raises(InvalidInput):  # nothing learnt yet
        review.propose_plan_change(actor=users["director"], emergency=emergency)
    body = review.owners_for(emergency).first()
    review.add_lesson(actor=users["director"], emergency=emergency, text="提前30分钟堆沙袋", owner=body.pk)
    with pytest.raises(PermissionDenied):
        review.propose_plan_change(actor=users["grid01"], emergency=emergency)
    made = review.propose_plan_change(actor=users["director"], emergency=emergency)
    old = Plan.objects.get(pk=emergency.plan_id)
    assert (made.version, made.is_current, old.is_current) == (old.version + 1, True, False)
    assert "提前30分钟堆沙袋" in made.change_note and made.body["tasks"] == old.body["tasks"]


def test_recovery_tasks_after_stand_down(users, activated):
    emergency = activated
    with pytest.raises(Conflict):
        review.add_recovery_task(actor=users["director"], emergency=emergency, template="repairs")
    services.stand_down(actor=users["director"], emergency=emergency)
    with pytest.raises(InvalidInput) as error:
        review.add_recovery_task(actor=users["director"], emergency=emergency, template="party")
    assert error.value.field == "template"
    with pytest.raises(PermissionDenied):
        review.add_recovery_task(actor=users["grid01"], emergency=emergency, template="repairs")
    made = [
        review.add_recovery_task(actor=users["director"], emergency=emergency, template=key)
        for key in review.RECOVERY_TEMPLATES
    ]
    own = review.add_recovery_task(actor=users["director"], emergency=emergency, title_zh="清理垃圾")
    assert {t.kind for t in [*made, own]} == {"recovery"} and made[
        1
    ].title_en == "Follow-up visits to the vulnerable"
    review.recovery_task_done(actor=users["director"], task_id=own.pk)
    with pytest.raises(Conflict):
        review.recovery_task_done(actor=users["director"], task_id=own.pk)
    summary = review.after_action_review(emergency)["task_summary"]
    assert (summary["recovery"], summary["recovery_done"]) == (4, 1)
