"""Emergencies from proposal to stand-down: propose (a government warning or a local alert), activate (a
director opens a plan, or confirms a proposed one in one click), dismiss, change level or area, stand
down; the tasks of the plan's checklist, assigned and done. Every decision is a timeline entry (who,
when) and an audit entry. Objects named by a caller are looked up through the caller's scope; a write
re-checks the emergency's scope inside its transaction.

A checklist task's owner is the organisation of its ``owner_kind`` that serves the community (the
community itself first, then its street and above, then one of its grids); it is given to a member of
that body with the task's ``owner_role`` when there is one, else it stays with the body, unassigned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import PERMISSIONS, Action, can
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency.call_up import call_up, release
from banyan.emergency.choices import (
    EmergencyStatus,
    HazardKind,
    Level,
    TaskKind,
    TaskStatus,
    TimelineKind,
    Trigger,
)
from banyan.emergency.models import Emergency, Plan, Task, TimelineEntry
from banyan.people.models import Actor, Organisation, User
from banyan.places.models import Building, Region
from banyan.response.flow import OPEN
from banyan.response.models import Incident
from banyan.warning.models import Alert, OfficialWarning

TITLE_MAX = 200
NOTE_MAX = 500
RETENTION_DAYS = (1, 365)  # the days a stood-down emergency's data may be kept, fewest and most
NO_PLAN = gettext_lazy(
    "There is no current plan for this hazard and level: make one on the plans page first."
)
SYSTEM = "system"  # the audit log's actor of a proposal made by the worker


def may_manage(user) -> bool:
    return can(user, Action.MANAGE_EMERGENCIES)


def may_view(user) -> bool:
    return can(user, Action.VIEW_EMERGENCIES)


# --- finding things in the caller's scope -------------------------------------------------------------


def emergencies_for(user: Actor, action: Action = Action.VIEW_EMERGENCIES) -> QuerySet[Emergency]:
    return Emergency.objects.restrict(user, action).select_related(
        "community", "plan", "lead", "official_warning"
    )


def get_emergency_for(user: Actor, pk, action: Action = Action.VIEW_EMERGENCIES) -> Emergency:
    """An emergency in ``user``'s scope: 404 for one missing and one not theirs alike."""
    emergency = emergencies_for(user, action).filter(pk=pk).first() if _is_id(pk) else None
    if emergency is None:
        raise NotFound(_("Emergency not found."))
    return emergency


def get_task_for(user: Actor, pk) -> Task:
    task = (
        Task.objects.restrict(user, Action.VIEW_EMERGENCIES)
        .select_related("emergency__community", "assignee", "owner")
        .filter(pk=pk)
        .first()
        if _is_id(pk)
        else None
    )
    if task is None:
        raise NotFound(_("Task not found."))
    return task


def tasks_for(user: Actor, emergency: Emergency) -> QuerySet[Task]:
    """The tasks of ``emergency`` ``user`` sees: all of them, or a volunteer's own."""
    return (
        Task.objects.restrict(user, Action.VIEW_EMERGENCIES)
        .filter(emergency=emergency)
        .select_related("owner", "assignee")
        .order_by("due_at", "id")
    )


def communities_for(user: Actor) -> QuerySet[Region]:
    """The communities ``user`` may open an emergency in."""
    if not may_manage(user):
        return Region.objects.none()
    return Region.objects.restrict(user, Action.MANAGE_EMERGENCIES).filter(kind="community").order_by("code")


def get_community_for(user: Actor, value) -> Region:
    """A community ``user`` may open an emergency in, by id or code."""
    communities = communities_for(user)
    found = None
    if _is_id(value):
        found = communities.filter(pk=int(value)).first()
    if found is None and isinstance(value, str) and 0 < len(value) <= 32:
        found = communities.filter(code=value).first()
    if found is None:
        raise NotFound(_("Community not found."))
    return found


def _is_id(value) -> bool:
    try:
        return 0 < int(value) < 2**63
    except (TypeError, ValueError):
        return False


def current_plan(community: Region, hazard: str, level: int) -> Plan | None:
    return Plan.objects.filter(community=community, hazard=hazard, level=level, is_current=True).first()


# --- checking what a caller sent -------------------------------------------------------------------


def _text(value, field: str, *, limit: int, required: bool = False) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise InvalidInput(_("This should be text."), field=field)
    if "\x00" in text:
        raise InvalidInput(_("The text contains a character that cannot be stored."), field=field)
    if len(text) > limit:
        raise InvalidInput(_("At most %(max)d characters.") % {"max": limit}, field=field)
    if required and not text:
        raise InvalidInput(_("This field is required."), field=field)
    return text


def _level(value, field: str = "level") -> int:
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = 0
    if level not in Level.values:
        raise InvalidInput(
            _("The level is one of 1 (I, red), 2 (II, orange), 3 (III, yellow) or 4 (IV, blue)."), field=field
        )
    return level


def _hazard(value) -> str:
    if value not in HazardKind.values:
        raise InvalidInput(
            _("The hazard is one of: %(values)s.") % {"values": ", ".join(HazardKind.values)}, field="hazard"
        )
    return value


def _ids(values, field: str) -> list[int]:
    if values is None:
        return []
    if isinstance(values, (str, int)):
        values = [values]
    ids = []
    for value in values:
        if isinstance(value, Region | Building):
            ids.append(value.pk)
        elif _is_id(value):
            ids.append(int(value))
        else:
            raise InvalidInput(_("%(value)s is not an id.") % {"value": str(value)[:40]}, field=field)
    return sorted(set(ids))


def _area(
    community: Region, grids: Iterable | None, buildings: Iterable | None
) -> tuple[list[Region], list[int]]:
    """The grids (of ``community``) and buildings (in its grids) named; none of either is the whole
    community."""
    grid_ids = _ids(grids, "area_grids")
    found = list(Region.objects.filter(pk__in=grid_ids, kind="grid", parent=community).order_by("code"))
    if len(found) != len(grid_ids):
        raise InvalidInput(_("Choose grids of the emergency's community."), field="area_grids")
    building_ids = _ids(buildings, "area_buildings")
    known = set(
        Building.objects.filter(pk__in=building_ids, grid__parent=community).values_list("pk", flat=True)
    )
    if known != set(building_ids):
        raise InvalidInput(_("Choose buildings of the emergency's community."), field="area_buildings")
    return found, building_ids


def _retention(value) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    low, high = RETENTION_DAYS
    if not low <= days <= high:
        raise InvalidInput(
            _("Keep the data between %(low)d and %(high)d days.") % {"low": low, "high": high},
            field="retention_days",
        )
    return days


# --- who does what ------------------------------------------------------------------------------------


def _body_of_kind(community: Region, kind: str) -> Organisation | None:
    """The body of ``kind`` serving ``community``: its own first, then its street's (and above), then one
    of its grids'."""
    if not kind:
        return None
    bodies = Organisation.objects.filter(kind=kind)
    for regions in (
        Q(regions=community),
        Q(regions__path__in=community.ancestor_paths()),
        Q(regions__path__startswith=community.path),
    ):
        body = bodies.filter(regions).order_by("code").first()
        if body is not None:
            return body
    return None


def _serving(community: Region) -> Q:
    """Accounts whose region covers the community: it, a region inside it, or one above it."""
    return Q(region__path__startswith=community.path) | Q(region__path__in=community.ancestor_paths())


def _member_with_role(body: Organisation | None, role: str, community: Region) -> User | None:
    if body is None or not role:
        return None
    return (
        User.objects.filter(memberships__organisation=body, role=role, is_active=True)
        .filter(_serving(community))
        .order_by("username")
        .first()
    )


# Who a task may be given to: the roles that see emergencies and act (handle incidents or run
# emergencies), never a resident or an auditor.
TASK_ROLES = tuple(
    sorted(
        role
        for role, actions in PERMISSIONS.items()
        if Action.VIEW_EMERGENCIES in actions
        and (Action.HANDLE_INCIDENTS in actions or Action.MANAGE_EMERGENCIES in actions)
    )
)


def assignable_users(emergency: Emergency) -> QuerySet[User]:
    """Who a task of ``emergency`` may be given to: active staff serving its community who may see it."""
    return (
        User.objects.filter(is_active=True, role__in=TASK_ROLES)
        .filter(_serving(emergency.community))
        .order_by("username")
    )


def _items(plan: Plan | None) -> list[dict[str, Any]]:
    tasks = (plan.body or {}).get("tasks") if plan is not None and isinstance(plan.body, dict) else None
    return [item for item in tasks or [] if isinstance(item, dict)]


def _tasks_from(plan: Plan | None, emergency: Emergency, start: dt.datetime, skip: set[str]) -> list[Task]:
    """The plan's checklist as tasks of ``emergency`` (those whose key is not in ``skip``)."""
    made = []
    for position, item in enumerate(_items(plan)):
        key = str(item.get("key") or f"task-{position + 1}")[:64]
        if key in skip:
            continue
        try:
            minutes: int | None = int(str(item.get("due_minutes")))
        except (TypeError, ValueError):
            minutes = None
        owner = _body_of_kind(emergency.community, str(item.get("owner_kind") or ""))
        role = str(item.get("owner_role") or "")[:32]
        made.append(
            Task(
                emergency=emergency,
                kind=TaskKind.CHECKLIST,
                key=key,
                title_zh=str(item.get("title_zh") or item.get("title_en") or key)[:200],
                title_en=str(item.get("title_en") or "")[:200],
                owner=owner,
                owner_role=role,
                assignee=_member_with_role(owner, role, emergency.community),
                due_at=start + dt.timedelta(minutes=minutes)
                if minutes is not None and minutes >= 0
                else None,
                created_at=start,
            )
        )
    return Task.objects.bulk_create(made)


def _lead(plan: Plan | None, community: Region) -> User | None:
    lead = (plan.body or {}).get("lead") if plan is not None and isinstance(plan.body, dict) else None
    if not isinstance(lead, dict):
        return None
    body = _body_of_kind(community, str(lead.get("organisation_kind") or ""))
    return _member_with_role(body, str(lead.get("role") or ""), community)


# --- the timeline and the audit log ---------------------------------------------------------------


def _log(
    emergency: Emergency,
    kind: TimelineKind,
    actor: Actor | None,
    action: AuditAction,
    *,
    details: dict[str, Any],
    at: dt.datetime,
    subject: tuple[str, int] | None = None,
) -> TimelineEntry:
    entry = TimelineEntry.objects.create(emergency=emergency, at=at, kind=kind, actor=actor, details=details)
    subject_type, subject_id = subject or ("emergency", emergency.pk)
    record(
        actor=actor if actor is not None else SYSTEM,
        events=[Event(action, subject_type, subject_id, details={"emergency": emergency.pk, **details})],
    )
    return entry


def _locked(actor: Actor, emergency: Emergency, *statuses: str) -> Emergency:
    """``emergency`` locked for the change, still in ``actor``'s scope to manage, in one of ``statuses``."""
    if not may_manage(actor):
        raise PermissionDenied(_("Your role cannot run emergencies."))
    locked = (
        Emergency.objects.restrict(actor, Action.MANAGE_EMERGENCIES)
        .select_for_update()
        .filter(pk=emergency.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("Emergency not found."))
    if statuses and locked.status not in statuses:
        raise Conflict(
            _("The emergency is %(status)s: this step is no longer possible.")
            % {"status": EmergencyStatus(locked.status).label}
        )
    return locked


def default_title(hazard: str, level: int, plan: Plan | None = None) -> str:
    """The title of an emergency nobody named: the plan's Chinese title, else hazard and level in Chinese
    (the community's language, whoever reads it)."""
    if plan is not None and plan.title_zh:
        return plan.title_zh[:TITLE_MAX]
    with translation.override("zh-hans"):
        return f"{HazardKind(hazard).label} {Level(level).label}"[:TITLE_MAX]


# --- propose, activate, dismiss ----------------------------------------------------------------------


@transaction.atomic
def propose(
    *,
    community: Region,
    hazard: str,
    level: int,
    trigger: str,
    official_warning: OfficialWarning | None = None,
    alert: Alert | None = None,
    plan: Plan | None = None,
) -> Emergency | None:
    """Propose an emergency of ``community`` for a director to confirm (or dismiss): once per warning or
    alert and community. While one of the same hazard is already open (proposed or active), the warning
    or alert is noted on its timeline instead (once). Returns the new emergency, else ``None``."""
    _hazard(hazard)
    level = _level(level)
    if trigger not in Trigger.values:
        raise InvalidInput(_("Unknown trigger."), field="trigger")
    Region.objects.select_for_update().filter(pk=community.pk).first()  # one proposal at a time per community
    source: dict[str, Any] = {}
    if official_warning is not None:
        source["official_warning"] = official_warning.pk
    if alert is not None:
        source["alert"] = alert.pk
    if not source:
        raise InvalidInput(_("A proposal names the warning or alert behind it."), field="trigger")
    named = Emergency.objects.filter(community=community)
    if official_warning is not None and named.filter(official_warning=official_warning).exists():
        return None
    if alert is not None and named.filter(alert=alert).exists():
        return None
    now = clock.now()
    already = named.open().filter(hazard=hazard).order_by("created_at", "id").first()
    if already is not None:
        key, value = next(iter(source.items()))
        if not TimelineEntry.objects.filter(
            emergency=already, kind=TimelineKind.NOTE, **{f"details__{key}": value}
        ).exists():
            TimelineEntry.objects.create(
                emergency=already, at=now, kind=TimelineKind.NOTE, details={**source, "level": level}
            )
        return None
    if plan is None or plan.level != level:  # the plan of the warning's own level, if there is one
        plan = current_plan(community, hazard, level) or plan
    emergency = Emergency.objects.create(
        community=community,
        plan=plan,
        hazard=hazard,
        level=level,
        status=EmergencyStatus.PROPOSED,
        title=default_title(hazard, level, plan),
        trigger=trigger,
        official_warning=official_warning,
        alert=alert,
        proposed_at=now,
        created_at=now,
    )
    _log(
        emergency,
        TimelineKind.PROPOSED,
        None,
        AuditAction.EMERGENCY_PROPOSE,
        details={"trigger": trigger, "level": level, "plan": plan.pk if plan else None, **source},
        at=now,
    )
    return emergency


@transaction.atomic
def activate(
    *,
    actor: Actor,
    emergency: Emergency | None = None,
    community: Region | None = None,
    plan: Plan | None = None,
    hazard: str | None = None,
    level: int | None = None,
    area_grids: Sequence | None = None,
    area_buildings: Sequence | None = None,
    title: str = "",
    trigger: str = Trigger.MANUAL,
) -> Emergency:
    """Open an emergency: confirm the proposed ``emergency`` (one click: its plan, level and area as
    proposed), or open ``plan`` (or the current plan of ``hazard`` at ``level``) in ``community`` over
    the grids and buildings chosen (none: the whole community). Managers of the community only. The
    plan's checklist becomes tasks due ``due_minutes`` after activation, with owners and assignees."""
    if not may_manage(actor):
        raise PermissionDenied(_("Your role cannot run emergencies."))
    now = clock.now()
    if emergency is not None:
        emergency = _locked(actor, emergency, EmergencyStatus.PROPOSED)
        community = emergency.community
        if plan is None:
            plan = emergency.plan or current_plan(community, emergency.hazard, emergency.level)
        if plan is None:
            raise InvalidInput(
                str(NO_PLAN),
                field="plan",
            )
        grids, buildings = (
            _area(community, area_grids, area_buildings)
            if area_grids or area_buildings
            else (list(emergency.area_grids.all()), list(emergency.area_buildings or []))
        )
        if title:
            emergency.title = _text(title, "title", limit=TITLE_MAX)
        confirmed = True
    else:
        if community is None:
            raise InvalidInput(_("Choose the community."), field="community")
        community = get_community_for(actor, community.pk)
        if plan is None:
            hazard = _hazard(hazard)
            level = _level(level)
            plan = current_plan(community, hazard, level)
            if plan is None:
                raise InvalidInput(
                    str(NO_PLAN),
                    field="level",
                )
        elif plan.community_id != community.pk:
            raise InvalidInput(_("The plan is not one of this community's."), field="plan")
        level = plan.level
        grids, buildings = _area(community, area_grids, area_buildings)
        emergency = Emergency(
            community=community,
            hazard=plan.hazard,
            level=level,
            trigger=trigger if trigger in Trigger.values else Trigger.MANUAL,
            title=_text(title, "title", limit=TITLE_MAX) or default_title(plan.hazard, level, plan),
            created_at=now,
        )
        confirmed = False
    emergency.plan = plan
    emergency.status = EmergencyStatus.ACTIVE
    emergency.activated_at = now
    emergency.activated_by = actor
    emergency.lead = _lead(plan, community) or actor
    emergency.area_buildings = buildings
    emergency.save()
    emergency.area_grids.set(grids)
    tasks = _tasks_from(plan, emergency, now, skip=set(emergency.tasks.values_list("key", flat=True)))
    details = {
        "plan": plan.pk,
        "version": plan.version,
        "level": emergency.level,
        "grids": [grid.pk for grid in grids],
        "buildings": buildings,
        "tasks": len(tasks),
        "assigned": sum(1 for task in tasks if task.assignee_id),
        "confirmed": confirmed,
    }
    _log(emergency, TimelineKind.ACTIVATED, actor, AuditAction.EMERGENCY_ACTIVATE, details=details, at=now)
    called = call_up(emergency, plan, now)
    if called:
        hours = plan.body["call_up"]["hours"]
        details = {"volunteers": called, "hours": hours}
        _log(emergency, TimelineKind.CALLED_UP, actor, AuditAction.EMERGENCY_CALL_UP, details=details, at=now)
    if not Emergency.objects.restrict(actor, Action.MANAGE_EMERGENCIES).filter(pk=emergency.pk).exists():
        raise NotFound(_("Emergency not found."))  # rolls back: the community is not the caller's
    return emergency


@transaction.atomic
def dismiss(*, actor: Actor, emergency: Emergency, note: str = "") -> Emergency:
    """Turn down a proposed emergency (the warning or alert stays as it is)."""
    note = _text(note, "note", limit=NOTE_MAX)
    emergency = _locked(actor, emergency, EmergencyStatus.PROPOSED)
    emergency.status = EmergencyStatus.DISMISSED
    emergency.save(update_fields=["status"])
    _log(
        emergency,
        TimelineKind.DISMISSED,
        actor,
        AuditAction.EMERGENCY_DISMISS,
        details={"note": note} if note else {},
        at=clock.now(),
    )
    return emergency


# --- while it runs --------------------------------------------------------------------------------


@transaction.atomic
def change_level(*, actor: Actor, emergency: Emergency, level, note: str = "") -> Emergency:
    """Raise or lower an active emergency's level. The current plan of the new level, if there is one,
    becomes the emergency's plan and adds the checklist tasks the emergency does not have yet."""
    level = _level(level)
    note = _text(note, "note", limit=NOTE_MAX)
    emergency = _locked(actor, emergency, EmergencyStatus.ACTIVE)
    if level == emergency.level:
        raise InvalidInput(_("The emergency is at this level already."), field="level")
    now = clock.now()
    before = emergency.level
    plan = current_plan(emergency.community, emergency.hazard, level)
    emergency.level = level
    added: list[Task] = []
    if plan is not None:
        emergency.plan = plan
        added = _tasks_from(plan, emergency, now, skip=set(emergency.tasks.values_list("key", flat=True)))
    emergency.save(update_fields=["level", "plan"])
    details: dict[str, Any] = {"from": before, "to": level, "tasks_added": len(added)}
    if plan is not None:
        details["plan"] = plan.pk
    if note:
        details["note"] = note
    _log(emergency, TimelineKind.LEVEL_CHANGED, actor, AuditAction.EMERGENCY_LEVEL, details=details, at=now)
    return emergency


@transaction.atomic
def change_area(
    *, actor: Actor, emergency: Emergency, area_grids=None, area_buildings=None, note: str = ""
) -> Emergency:
    """Set an active (or proposed) emergency's area: grids and buildings of its community; none of
    either is the whole community."""
    note = _text(note, "note", limit=NOTE_MAX)
    emergency = _locked(actor, emergency, EmergencyStatus.PROPOSED, EmergencyStatus.ACTIVE)
    grids, buildings = _area(emergency.community, area_grids, area_buildings)
    before = {
        "grids": sorted(emergency.area_grids.values_list("pk", flat=True)),
        "buildings": emergency.area_buildings,
    }
    emergency.area_buildings = buildings
    emergency.save(update_fields=["area_buildings"])
    emergency.area_grids.set(grids)
    details: dict[str, Any] = {"before": before, "grids": [g.pk for g in grids], "buildings": buildings}
    if note:
        details["note"] = note
    _log(
        emergency,
        TimelineKind.AREA_CHANGED,
        actor,
        AuditAction.EMERGENCY_AREA,
        details=details,
        at=clock.now(),
    )
    return emergency


@transaction.atomic
def stand_down(*, actor: Actor, emergency: Emergency, retention_days=30, note: str = "") -> Emergency:
    """End an active emergency. Its open tasks are cancelled (the after-action review still sees them
    against their deadlines); what was gathered for it is kept ``retention_days`` days, then purged."""
    days = _retention(retention_days)
    note = _text(note, "note", limit=NOTE_MAX)
    emergency = _locked(actor, emergency, EmergencyStatus.ACTIVE)
    now = clock.now()
    emergency.status = EmergencyStatus.STOOD_DOWN
    emergency.stood_down_at = now
    emergency.retention_days = days
    emergency.save(update_fields=["status", "stood_down_at", "retention_days"])
    cancelled = emergency.tasks.filter(status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    details: dict[str, Any] = {"retention_days": days, "tasks_cancelled": cancelled}
    released = release(emergency, now)
    if released:
        details["volunteers_released"] = released
    if note:
        details["note"] = note
    _log(emergency, TimelineKind.STOOD_DOWN, actor, AuditAction.EMERGENCY_STAND_DOWN, details=details, at=now)
    return emergency


# --- tasks --------------------------------------------------------------------------------------------


def may_complete(user: Actor, task: Task) -> bool:
    """The task's assignee, or those who run the emergency."""
    if task.status != TaskStatus.OPEN or task.emergency.status != EmergencyStatus.ACTIVE:
        return False
    return task.assignee_id == user.pk or may_manage(user)


def _locked_task(actor: Actor, task: Task) -> Task:
    locked = (
        Task.objects.restrict(actor, Action.VIEW_EMERGENCIES)
        .select_for_update()
        .select_related("emergency")
        .filter(pk=task.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("Task not found."))
    if locked.emergency.status != EmergencyStatus.ACTIVE:
        raise Conflict(_("The emergency is no longer active."))
    if locked.status != TaskStatus.OPEN:
        raise Conflict(_("The task is done or cancelled already."))
    return locked


@transaction.atomic
def complete_task(*, actor: Actor, task: Task, note: str = "") -> Task:
    """Mark a task done: its assignee, or a manager of the emergency."""
    note = _text(note, "note", limit=NOTE_MAX)
    task = _locked_task(actor, task)
    if task.assignee_id != actor.pk:
        if not may_manage(actor):
            raise PermissionDenied(
                _("Only the one it is given to, or those who run the emergency, mark it done.")
            )
        _locked(actor, task.emergency, EmergencyStatus.ACTIVE)
    now = clock.now()
    task.status = TaskStatus.DONE
    task.done_at = now
    task.done_by = actor
    fields = ["status", "done_at", "done_by"]
    if note:
        task.note = note
        fields.append("note")
    task.save(update_fields=fields)
    late = task.due_at is not None and now > task.due_at
    _log(
        task.emergency,
        TimelineKind.TASK_DONE,
        actor,
        AuditAction.EMERGENCY_TASK_DONE,
        details={"task": task.pk, "key": task.key, "late": late},
        at=now,
        subject=("emergency_task", task.pk),
    )
    return task


@transaction.atomic
def assign_task(*, actor: Actor, task: Task, assignee) -> Task:
    """Give a task to a staff member serving the emergency's community (managers only)."""
    task = _locked_task(actor, task)
    _locked(actor, task.emergency, EmergencyStatus.ACTIVE)
    person = None
    if _is_id(getattr(assignee, "pk", assignee)):
        person = assignable_users(task.emergency).filter(pk=int(getattr(assignee, "pk", assignee))).first()
    if person is None:
        raise InvalidInput(_("Choose a staff member serving the community."), field="assignee")
    task.assignee = person
    task.save(update_fields=["assignee"])
    _log(
        task.emergency,
        TimelineKind.TASK_ASSIGNED,
        actor,
        AuditAction.EMERGENCY_TASK_ASSIGN,
        details={"task": task.pk, "key": task.key, "assignee": person.pk},
        at=clock.now(),
        subject=("emergency_task", task.pk),
    )
    return task


# --- what the board shows -------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskCounts:
    open: int
    late: int
    done: int
    cancelled: int


def is_late(task: Task, now: dt.datetime | None = None) -> bool:
    """Late: still open and past its deadline."""
    now = now or clock.now()
    return task.status == TaskStatus.OPEN and task.due_at is not None and task.due_at < now


def task_counts(tasks: Iterable[Task], now: dt.datetime | None = None) -> TaskCounts:
    now = now or clock.now()
    rows = list(tasks)
    return TaskCounts(
        open=sum(1 for t in rows if t.status == TaskStatus.OPEN and not is_late(t, now)),
        late=sum(1 for t in rows if is_late(t, now)),
        done=sum(1 for t in rows if t.status == TaskStatus.DONE),
        cancelled=sum(1 for t in rows if t.status == TaskStatus.CANCELLED),
    )


def incidents_in_area(user: Actor, emergency: Emergency) -> QuerySet[Incident]:
    """Open incidents of the emergency's community in its area (its grids, or its buildings, or the
    whole community), as far as ``user`` may see incidents."""
    incidents = Incident.objects.restrict(user, Action.VIEW_INCIDENTS).filter(
        community=emergency.community, status__in=OPEN
    )
    grids = list(emergency.area_grids.values_list("pk", flat=True))
    buildings = list(emergency.area_buildings or [])
    if grids or buildings:
        incidents = incidents.filter(Q(grid__in=grids) | Q(building__in=buildings))
    return incidents.select_related("category", "grid").order_by("-created_at", "-id")
