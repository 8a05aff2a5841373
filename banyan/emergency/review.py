"""Recover and adapt (issue 15, Must have 8): an emergency's after-action review, its lessons, the plan
change they propose, and recovery tasks after stand-down.

:func:`after_action_review` reads real records only — the emergency and its timeline, the official
warning and alerts of its community, its tasks, its roll call (or, once purged, the figures kept at the
purge), the incidents of its area and its shelters — and returns plain data (ids and counts, never a
resident's name, phone or address): the pages, the XLSX and the PDF render that.

**Resilience loss** (Bruneau et al. 2003): ``∫_{t0}^{t1} (100 − Q(t)) dt`` in percent-hours, ``Q(t)`` the
percentage of the area's households accounted for at ``t`` (answered safe or need help, or seen by a
door-knocking visit), ``t0`` the first detection (the official warning's arrival, else the first alert
in the area, else the proposal, else the activation: nobody is accounted for before the roll call, so
the delay to activate counts as loss), ``t1`` the stand-down (or now while it runs). ``Q`` is a step
function, so the integral is exact. Services running are not measured, so Q is the roll call's alone —
the same definition as ``banyan drill`` (banyan.sim.emergency_drill).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import Action
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency import plans as plan_service
from banyan.emergency import services
from banyan.emergency.choices import EmergencyStatus, TaskKind, TaskStatus, TimelineKind
from banyan.emergency.models import Emergency, Lesson, Plan, Task, TimelineEntry
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.rollcall.choices import ACCOUNTED_STATUSES
from banyan.emergency.rollcall.models import Entry, RollCall
from banyan.emergency.shelters import services as shelters
from banyan.people.models import Actor, Organisation, User
from banyan.response import flow
from banyan.response.models import Incident
from banyan.response.services import incident_clocks
from banyan.warning.models import Alert

LESSON_MAX = 500
# The usual recovery jobs, one click each: key → (Chinese title, English title).
RECOVERY_TEMPLATES: dict[str, tuple[str, str]] = {
    "repairs": ("排查并修复受损设施", "Survey and repair the damage"),
    "follow_up": ("回访困难和需照护居民", "Follow-up visits to the vulnerable"),
    "reopen": ("恢复开放公共设施", "Reopen the community's facilities"),
}
RECOVERY_DUE_DAYS = 3
PURGE_NOTE = "purge"  # the timeline note written by the purge, holding the roll call's figures


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- the figures ----------------------------------------------------------------------------------


def resilience_loss(accounted: Iterable[dt.datetime | None], t0: dt.datetime, t1: dt.datetime) -> float:
    """``∫_{t0}^{t1} (100 − Q(t)) dt`` in percent-hours, ``Q`` the percentage of ``accounted`` (one moment
    per household, None for never) reached by ``t``; 0.0 when there are no households."""
    moments = list(accounted)
    total = len(moments)
    if not total or t1 <= t0:
        return 0.0
    loss, previous, done = 0.0, t0, 0
    for moment in sorted(max(m, t0) for m in moments if m is not None and m <= t1):
        loss += 100.0 * (1 - done / total) * (moment - previous).total_seconds() / 3600
        previous, done = moment, done + 1
    loss += 100.0 * (1 - done / total) * (t1 - previous).total_seconds() / 3600
    return round(loss, 2)


def detection(emergency: Emergency) -> dict[str, Any]:
    warning = emergency.official_warning
    end = emergency.stood_down_at or clock.now()
    start = (emergency.proposed_at or emergency.activated_at or emergency.created_at) - dt.timedelta(hours=24)
    alerts = Alert.objects.filter(community=emergency.community, raised_at__gte=start, raised_at__lte=end)
    grids = list(emergency.area_grids.values_list("pk", flat=True))
    if grids:
        alerts = alerts.filter(Q(grid__in=grids) | Q(grid__isnull=True))
    alert_times = sorted(alerts.values_list("raised_at", flat=True))
    first = [
        moment
        for moment in (
            warning.imported_at if warning else None,
            alert_times[0] if alert_times else None,
            emergency.proposed_at,
            emergency.activated_at,
        )
        if moment is not None
    ]
    detected = min(first) if first else None
    activation_min = None
    if detected is not None and emergency.activated_at is not None:
        activation_min = round((emergency.activated_at - detected).total_seconds() / 60, 1)
    return {
        "warning_id": warning.pk if warning else None,
        "warning_sent": _iso(warning.sent) if warning else None,
        "warning_received": _iso(warning.imported_at) if warning else None,
        "alerts": len(alert_times),
        "first_alert": _iso(alert_times[0]) if alert_times else None,
        "proposed_at": _iso(emergency.proposed_at),
        "activated_at": _iso(emergency.activated_at),
        "stood_down_at": _iso(emergency.stood_down_at),
        "detected_at": _iso(detected),
        "activation_min": activation_min,
    }


def task_outcome(task: Task, now: dt.datetime) -> str:
    """``done`` (in time), ``late`` (done after its deadline, or still undone past it) or ``open``."""
    if task.status == TaskStatus.DONE:
        return "late" if task.due_at is not None and task.done_at and task.done_at > task.due_at else "done"
    end = task.emergency.stood_down_at or now
    if task.due_at is not None and task.due_at < end:
        return "late"
    return "open"


def _tasks(emergency: Emergency, now: dt.datetime) -> tuple[list[dict], dict[str, int]]:
    rows: list[dict] = []
    door_knocks = 0
    for task in emergency.tasks.select_related("owner", "emergency").order_by("due_at", "id"):
        if task.kind == TaskKind.DOOR_KNOCK:  # titles name a home: counted, not listed
            door_knocks += 1
            continue
        outcome = task_outcome(task, now)
        late_min = None
        if outcome == "late" and task.due_at is not None:
            late_min = round(
                ((task.done_at or task.emergency.stood_down_at or now) - task.due_at).total_seconds() / 60
            )
        rows.append(
            {
                "id": task.pk,
                "key": task.key,
                "kind": task.kind,
                "title_zh": task.title_zh,
                "title_en": task.title_en,
                "owner": str(task.owner) if task.owner else "",
                "owner_role": task.owner_role,
                "due_at": _iso(task.due_at),
                "done_at": _iso(task.done_at),
                "status": task.status,
                "outcome": outcome,
                "late_min": late_min,
            }
        )
    checklist = [r for r in rows if r["kind"] == TaskKind.CHECKLIST]
    summary = {
        "checklist": len(checklist),
        "done": sum(r["outcome"] == "done" for r in checklist),
        "late": sum(r["outcome"] == "late" for r in checklist),
        "open": sum(r["outcome"] == "open" for r in checklist),
        "recovery": sum(r["kind"] == TaskKind.RECOVERY for r in rows),
        "recovery_done": sum(r["kind"] == TaskKind.RECOVERY and r["status"] == TaskStatus.DONE for r in rows),
        "door_knocks": door_knocks,
    }
    return rows, summary


def _kept_figures(emergency: Emergency) -> dict | None:
    """The roll call's figures the purge kept in the timeline (None before a purge)."""
    note = (
        TimelineEntry.objects.filter(emergency=emergency, kind=TimelineKind.NOTE, details__has_key=PURGE_NOTE)
        .order_by("-at", "-id")
        .first()
    )
    return note.details.get("roll_call") if note else None


def roll_call_figures(emergency: Emergency, t0: dt.datetime | None, t1: dt.datetime) -> dict[str, Any]:
    """Counts, the vulnerable accounted curve and the resilience loss of the emergency's last roll call."""
    kept = _kept_figures(emergency)
    if kept is not None:
        return kept
    roll_call: RollCall | None = rollcall.latest_roll_call(emergency)
    if roll_call is None:
        return {
            "started_at": None,
            "counts": {},
            "curve": [],
            "all_accounted_min": None,
            "resilience_loss": None,
        }
    figures = rollcall.counts(roll_call)
    curve = rollcall.accounted_curve(roll_call)
    moments = list(Entry.objects.filter(roll_call=roll_call).values_list("accounted_at", "status"))
    accounted = [at if status in ACCOUNTED_STATUSES else None for at, status in moments]
    start = t0 or roll_call.started_at
    all_min = None
    if curve and curve[-1][1] >= 1.0:
        all_min = curve[-1][0]
    return {
        "started_at": _iso(roll_call.started_at),
        "counts": {
            "asked": figures.asked,
            "safe": figures.safe,
            "need_help": figures.need_help,
            "accounted_by_visit": figures.accounted,
            "unaccounted": figures.unaccounted,
            "vulnerable": figures.vulnerable,
            "vulnerable_accounted": figures.vulnerable_accounted,
        },
        "curve": [[minutes, round(share, 4)] for minutes, share in curve],
        "all_accounted_min": all_min,
        "resilience_loss": resilience_loss(accounted, min(start, roll_call.started_at), t1),
    }


def _sla(emergency: Emergency, now: dt.datetime) -> dict[str, Any]:
    start = emergency.activated_at or emergency.created_at
    end = emergency.stood_down_at or now
    incidents = Incident.objects.filter(
        community=emergency.community, created_at__gte=start, created_at__lte=end
    )
    grids = list(emergency.area_grids.values_list("pk", flat=True))
    buildings = list(emergency.area_buildings or [])
    if grids or buildings:
        incidents = incidents.filter(Q(grid__in=grids) | Q(building__in=buildings))
    tally = {name: {"met": 0, "decided": 0} for name in flow.CLOCKS}
    total = 0
    for incident in incidents:
        total += 1
        for one in incident_clocks(incident):
            state = one.state(now)
            if state in ("met", "late", "missed"):
                tally[one.name]["decided"] += 1
                tally[one.name]["met"] += state == "met"
    result: dict[str, Any] = {"incidents": total}
    for name, counts in tally.items():
        result[f"{name}_met_share"] = (
            round(counts["met"] / counts["decided"], 4) if counts["decided"] else None
        )
    return result


def lesson_rows(emergency: Emergency) -> list[dict]:
    return [
        {
            "id": lesson.pk,
            "text": lesson.text,
            "owner": str(lesson.owner) if lesson.owner else "",
            "owner_user": lesson.owner_user.display_name if lesson.owner_user else "",
            "due": _iso(lesson.due),
            "done": lesson.done,
        }
        for lesson in emergency.lessons.select_related("owner", "owner_user")
    ]


def after_action_review(emergency: Emergency, now: dt.datetime | None = None) -> dict[str, Any]:
    """The after-action review of ``emergency`` (the caller has looked it up through its scope)."""
    now = now or clock.now()
    detected_when = detection(emergency)
    tasks, task_summary = _tasks(emergency, now)
    end = emergency.stood_down_at or now
    first = detected_when["detected_at"]
    detected = dt.datetime.fromisoformat(first) if first else None
    timeline = [
        {"at": _iso(entry.at), "kind": entry.kind, "actor": entry.actor_id, "details": entry.details}
        for entry in emergency.timeline.order_by("at", "id")
    ]
    return {
        "emergency": {
            "id": emergency.pk,
            "title": emergency.title,
            "hazard": emergency.hazard,
            "level": emergency.level,
            "status": emergency.status,
            "plan": emergency.plan_id,
            "purged_at": _iso(emergency.purged_at),
        },
        "detection": detected_when,
        "tasks": tasks,
        "task_summary": task_summary,
        "roll_call": roll_call_figures(emergency, detected, end),
        "sla": _sla(emergency, now),
        "shelters": shelters.summary(emergency),
        "lessons": lesson_rows(emergency),
        "timeline": timeline,
    }


# --- lessons, plan changes, recovery ---------------------------------------------------------------


def _audit(actor: Actor, action: AuditAction, subject_type: str, subject_id: int, details: dict) -> None:
    record(actor=actor, events=[Event(action, subject_type, subject_id, details=details)])


def _manage(actor: Actor, emergency: Emergency) -> Emergency:
    if not services.may_manage(actor):
        raise PermissionDenied(_("Your role cannot run emergencies."))
    return services.get_emergency_for(actor, emergency.pk, Action.MANAGE_EMERGENCIES)


def _due(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("Give the due date as YYYY-MM-DD."), field="due") from None


def owners_for(emergency: Emergency):
    """The bodies serving the emergency's community that may own a lesson."""
    community = emergency.community
    return (
        Organisation.objects.filter(
            Q(regions__path__startswith=community.path) | Q(regions__path__in=community.ancestor_paths())
        )
        .distinct()
        .order_by("code")
    )


@transaction.atomic
def add_lesson(*, actor: Actor, emergency: Emergency, text, owner=None, owner_user=None, due=None) -> Lesson:
    """A lesson with its owner (a body serving the community, and/or a staff member) and due date."""
    emergency = _manage(actor, emergency)
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise InvalidInput(_("Write the lesson (up to 500 characters)."), field="text")
    if len(text) > LESSON_MAX:
        raise InvalidInput(_("Write the lesson (up to 500 characters)."), field="text")
    body = None
    if owner not in (None, ""):
        key = getattr(owner, "pk", owner)
        body = owners_for(emergency).filter(pk=key).first() if services._is_id(key) else None
        if body is None:
            raise InvalidInput(_("Choose a body serving the community."), field="owner")
    person = None
    if owner_user not in (None, ""):
        key = getattr(owner_user, "pk", owner_user)
        person = services.assignable_users(emergency).filter(pk=key).first() if services._is_id(key) else None
        if person is None:
            raise InvalidInput(_("Choose a staff member serving the community."), field="owner_user")
    if body is None and person is None:
        raise InvalidInput(_("Say who owns the lesson: a body or a staff member."), field="owner")
    lesson = Lesson.objects.create(
        emergency=emergency,
        text=text,
        owner=body,
        owner_user=person,
        due=_due(due),
        created_at=clock.now(),
        created_by=actor if isinstance(actor, User) else None,
    )
    _audit(actor, AuditAction.EMERGENCY_LESSON, "emergency_lesson", lesson.pk, {"emergency": emergency.pk})
    return lesson


@transaction.atomic
def lesson_done(*, actor: Actor, lesson_id) -> Lesson:
    lesson = (
        Lesson.objects.restrict(actor, Action.MANAGE_EMERGENCIES)
        .select_for_update()
        .filter(pk=lesson_id)
        .first()
        if services._is_id(lesson_id)
        else None
    )
    if lesson is None:
        raise NotFound(_("Lesson not found."))
    if not lesson.done:
        lesson.done = True
        lesson.save(update_fields=["done"])
        _audit(
            actor,
            AuditAction.EMERGENCY_LESSON,
            "emergency_lesson",
            lesson.pk,
            {"emergency": lesson.emergency_id, "done": True},
        )
    return lesson


def propose_plan_change(*, actor: Actor, emergency: Emergency) -> Plan:
    """A new version of the plan current for the emergency's hazard and level, its body unchanged and its
    change note the review's open lessons, for the director to edit; returns it."""
    emergency = _manage(actor, emergency)
    plan = plan_service.current_plan(emergency.community, emergency.hazard, emergency.level)
    if plan is None:
        raise Conflict(str(services.NO_PLAN))
    lessons = [lesson.text for lesson in emergency.lessons.filter(done=False)]
    if not lessons:
        raise InvalidInput(_("Add the lessons first: they are the plan change's note."), field="lessons")
    note = _("After-action review of emergency %(id)s: ") % {"id": emergency.pk} + "; ".join(lessons)
    if len(note) > plan_service.NOTE_MAX:
        note = note[: plan_service.NOTE_MAX - 1] + "…"
    return plan_service.new_version(actor=actor, plan=plan, body=plan.body, change_note=note)


@transaction.atomic
def add_recovery_task(
    *, actor: Actor, emergency: Emergency, template: str = "", title_zh="", title_en=""
) -> Task:
    """A recovery task after stand-down: one of :data:`RECOVERY_TEMPLATES`, or titles of one's own."""
    emergency = _manage(actor, emergency)
    if emergency.status != EmergencyStatus.STOOD_DOWN:
        raise Conflict(_("Recovery tasks are added once the emergency is stood down."))
    if template:
        if template not in RECOVERY_TEMPLATES:
            raise InvalidInput(
                _("Choose repairs, follow-up visits or reopening facilities."), field="template"
            )
        title_zh, title_en = RECOVERY_TEMPLATES[template]
    title_zh = title_zh.strip() if isinstance(title_zh, str) else ""
    title_en = title_en.strip() if isinstance(title_en, str) else ""
    if not title_zh or len(title_zh) > 200 or len(title_en) > 200:
        raise InvalidInput(_("Give the task a Chinese title (up to 200 characters)."), field="title_zh")
    now = clock.now()
    task = Task.objects.create(
        emergency=emergency,
        kind=TaskKind.RECOVERY,
        title_zh=title_zh,
        title_en=title_en,
        key=template,
        due_at=now + dt.timedelta(days=RECOVERY_DUE_DAYS),
        created_at=now,
    )
    TimelineEntry.objects.create(
        emergency=emergency,
        at=now,
        kind=TimelineKind.TASK_ASSIGNED,
        actor=actor if isinstance(actor, User) else None,
        details={"task": task.pk, "key": template, "recovery": True},
    )
    _audit(actor, AuditAction.EMERGENCY_RECOVERY_TASK, "emergency_task", task.pk, {"emergency": emergency.pk})
    return task


@transaction.atomic
def recovery_task_done(*, actor: Actor, task_id) -> Task:
    """Mark a recovery task done (after stand-down, when the board's tasks are closed): managers only."""
    if not services.may_manage(actor):
        raise PermissionDenied(_("Your role cannot run emergencies."))
    task = (
        Task.objects.restrict(actor, Action.MANAGE_EMERGENCIES)
        .select_for_update()
        .filter(pk=task_id, kind=TaskKind.RECOVERY)
        .first()
        if services._is_id(task_id)
        else None
    )
    if task is None:
        raise NotFound(_("Task not found."))
    if task.status != TaskStatus.OPEN:
        raise Conflict(_("The task is done or cancelled already."))
    now = clock.now()
    task.status, task.done_at = TaskStatus.DONE, now
    task.done_by = actor if isinstance(actor, User) else None
    task.save(update_fields=["status", "done_at", "done_by"])
    TimelineEntry.objects.create(
        emergency_id=task.emergency_id,
        at=now,
        kind=TimelineKind.TASK_DONE,
        actor=task.done_by,
        details={"task": task.pk, "key": task.key, "recovery": True},
    )
    _audit(
        actor, AuditAction.EMERGENCY_TASK_DONE, "emergency_task", task.pk, {"emergency": task.emergency_id}
    )
    return task
