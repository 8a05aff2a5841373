"""The emergency pages: ``/emergency/`` (open and recent emergencies, proposed ones to confirm or dismiss,
"Activate a plan") and ``/emergency/<id>/`` (the board: level, area, tasks by state and lateness, the
timeline, incidents in the area; level change and stand-down for managers). Thin: each loads through
the caller's scope, calls one service and renders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from banyan.core import clock
from banyan.core.errors import Conflict, InvalidInput, NotFound
from banyan.core.views import private, service_errors
from banyan.emergency import services
from banyan.emergency.choices import LEVEL_GRADE, EmergencyStatus, TaskStatus
from banyan.emergency.forms_board import (
    LEVEL_NAMES,
    ActivateForm,
    AreaForm,
    AssignForm,
    LevelForm,
    StandDownForm,
)
from banyan.emergency.models import Emergency, Task
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places.models import Building

RECENT_DAYS = 30
RECENT_SHOWN = 20
# The board's sections that other parts of the app fill (emergency/_board_<key>.html): a heading here,
# "none yet" while the part's template renders nothing.
BOARD_SECTIONS = (
    ("rollcall", gettext_lazy("Roll call")),
    ("shelters", gettext_lazy("Shelters and supplies")),
    ("relay", gettext_lazy("Warnings and notices to residents")),
    ("epidemic", gettext_lazy("Epidemic: isolation and deliveries")),
)


def _viewers_only(user) -> None:
    if not services.may_view(user):
        raise DjangoPermissionDenied(_("Your role cannot see emergencies."))


# --- the list -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """An emergency in a list: its level's name and colour."""

    emergency: Emergency
    level: str
    grade: str


def _shown(emergencies) -> list[Shown]:
    return [
        Shown(e, str(LEVEL_NAMES.get(e.level, e.level)), LEVEL_GRADE.get(e.level, "")) for e in emergencies
    ]


def _render_list(
    request: AuthenticatedHttpRequest, form: ActivateForm | None, status: int = 200
) -> HttpResponse:
    user = request.user
    emergencies = services.emergencies_for(user)
    since = clock.now() - dt.timedelta(days=RECENT_DAYS)
    context = {
        "proposed": _shown(
            emergencies.filter(status=EmergencyStatus.PROPOSED).order_by("-proposed_at", "-id")
        ),
        "active": _shown(
            emergencies.filter(status=EmergencyStatus.ACTIVE).order_by("level", "-activated_at")
        ),
        "recent": _shown(
            emergencies.filter(
                status__in=[EmergencyStatus.STOOD_DOWN, EmergencyStatus.DISMISSED], created_at__gte=since
            ).order_by("-created_at", "-id")[:RECENT_SHOWN]
        ),
        "may_manage": services.may_manage(user),
        "form": form,
        "nav": "emergency",
    }
    return private(render(request, "emergency/emergency_list.html", context, status=status))


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def emergency_list(request: AuthenticatedHttpRequest):
    """Open and recent emergencies; managers confirm or dismiss proposed ones and activate a plan."""
    user = request.user
    _viewers_only(user)
    communities = services.communities_for(user)
    form = None
    if services.may_manage(user) and communities.exists():
        form = ActivateForm(request.POST if request.method == "POST" else None, communities=communities)
    if request.method == "POST":
        if form is None:
            raise DjangoPermissionDenied(_("Your role cannot run emergencies."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                community = services.get_community_for(user, data["community"])
                emergency = services.activate(
                    actor=user,
                    community=community,
                    hazard=data["hazard"],
                    level=data["level"],
                    area_grids=data["area_grids"],
                    area_buildings=data["area_buildings"],
                    title=data["title"],
                )
            except (InvalidInput, NotFound) as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Emergency activated: its tasks are assigned."))
                return redirect("emergency:board", pk=emergency.pk)
    return _render_list(request, form)


def _proposed_step(request: AuthenticatedHttpRequest, pk: int, step) -> HttpResponse:
    user = request.user
    _viewers_only(user)
    emergency = services.get_emergency_for(user, pk)
    if not services.may_manage(user):
        raise DjangoPermissionDenied(_("Your role cannot run emergencies."))
    try:
        done = step(user, emergency)
    except Conflict as exc:
        messages.warning(request, exc.message)
        return _render_list(request, None, status=409)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return _render_list(request, None, status=409)
    return done


@login_required
@require_POST
@service_errors
def confirm(request: AuthenticatedHttpRequest, pk: int):
    """Confirm a proposed emergency in one click: its plan, level and area as proposed."""

    def step(user, emergency):
        services.activate(actor=user, emergency=emergency)
        messages.success(request, _("Emergency activated: its tasks are assigned."))
        return redirect("emergency:board", pk=emergency.pk)

    return _proposed_step(request, pk, step)


@login_required
@require_POST
@service_errors
def dismiss(request: AuthenticatedHttpRequest, pk: int):
    """Turn a proposed emergency down."""

    def step(user, emergency):
        services.dismiss(actor=user, emergency=emergency)
        messages.success(request, _("The proposed emergency was dismissed."))
        return redirect("emergency:emergencies")

    return _proposed_step(request, pk, step)


# --- the board -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    task: Task
    late: bool
    may_complete: bool
    assign_form: AssignForm | None


def _task_rows(user, emergency: Emergency, tasks: list[Task], people) -> list[TaskRow]:
    """The board's tasks: late ones first, then to do, done and cancelled, each by deadline."""
    now = clock.now()
    manage = services.may_manage(user) and emergency.status == EmergencyStatus.ACTIVE
    rows = [
        TaskRow(
            task=task,
            late=services.is_late(task, now),
            may_complete=services.may_complete(user, task),
            assign_form=AssignForm(
                people=people, auto_id=f"task-{task.pk}-%s", initial={"assignee": task.assignee_id}
            )
            if manage and task.status == TaskStatus.OPEN
            else None,
        )
        for task in tasks
    ]
    order: dict[str, int] = {TaskStatus.OPEN: 1, TaskStatus.DONE: 2, TaskStatus.CANCELLED: 3}
    rows.sort(
        key=lambda row: (
            0 if row.late else order.get(row.task.status, 4),
            row.task.due_at or now,
            row.task.pk,
        )
    )
    return rows


def _level_change(details) -> str:
    """ "二级（橙色） → 一级（红色）" for a level change, else nothing."""
    if not isinstance(details, dict) or "from" not in details or "to" not in details:
        return ""
    before, after = LEVEL_NAMES.get(details["from"]), LEVEL_NAMES.get(details["to"])
    return f"{before} → {after}" if before and after else ""


def _render_board(
    request: AuthenticatedHttpRequest,
    emergency: Emergency,
    *,
    level_form: LevelForm | None = None,
    area_form: AreaForm | None = None,
    stand_down_form: StandDownForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    manage = services.may_manage(user)
    active = emergency.status == EmergencyStatus.ACTIVE
    tasks = list(services.tasks_for(user, emergency))
    people = list(services.assignable_users(emergency)) if manage and active else []
    rows = _task_rows(user, emergency, tasks, people)
    counts = services.task_counts(tasks)
    buildings = list(Building.objects.filter(pk__in=emergency.area_buildings or []).order_by("code"))
    if manage and active:
        level_form = level_form or LevelForm(initial={"level": emergency.level})
        area_form = area_form or AreaForm(
            community=emergency.community,
            initial={
                "area_grids": [str(pk) for pk in emergency.area_grids.values_list("pk", flat=True)],
                "area_buildings": [str(pk) for pk in emergency.area_buildings or []],
            },
        )
        stand_down_form = stand_down_form or StandDownForm()
    part = {"emergency": emergency, "may_manage": manage}
    sections = []
    for key, title in BOARD_SECTIONS:
        template = f"emergency/_board_{key}.html"
        # Rendered here only to learn whether the part has anything to show; the page includes the
        # template itself (autoescaped), so no rendered string is put into the page.
        is_empty = not render_to_string(template, part, request).strip()
        sections.append({"key": key, "title": title, "template": template, "is_empty": is_empty})
    context = {
        "emergency": emergency,
        "sections": sections,
        "grade": LEVEL_GRADE.get(emergency.level, ""),
        "level_name": LEVEL_NAMES.get(emergency.level, emergency.level),
        "grids": list(emergency.area_grids.order_by("code")),
        "buildings": buildings,
        "rows": rows,
        "counts": counts,
        "timeline": [
            (entry, _level_change(entry.details)) for entry in emergency.timeline.select_related("actor")
        ],
        "incidents": list(services.incidents_in_area(user, emergency)[:50]),
        "may_manage": manage,
        "is_active": active,
        "level_form": level_form if manage and active else None,
        "area_form": area_form if manage and active else None,
        "stand_down_form": stand_down_form if manage and active else None,
        "nav": "emergency",
    }
    return private(render(request, "emergency/board.html", context, status=status))


@login_required
@require_GET
@service_errors
def board(request: AuthenticatedHttpRequest, pk: int):
    """One emergency's board."""
    _viewers_only(request.user)
    return _render_board(request, services.get_emergency_for(request.user, pk))


def _board_step(request: AuthenticatedHttpRequest, pk: int, form_name: str, make_form, step, done: str):
    """A manager's form on the board: the board again with the form's errors (200) or saying why the
    step is no longer possible (409); after it, back to the board."""
    user = request.user
    _viewers_only(user)
    emergency = services.get_emergency_for(user, pk)
    if not services.may_manage(user):
        raise DjangoPermissionDenied(_("Your role cannot run emergencies."))
    form = make_form(emergency)
    if form.is_valid():
        try:
            step(user, emergency, form.cleaned_data)
        except Conflict as exc:
            messages.warning(request, exc.message)
            return _render_board(request, services.get_emergency_for(user, pk), status=409)
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, done)
            return redirect("emergency:board", pk=emergency.pk)
    if emergency.status != EmergencyStatus.ACTIVE:
        messages.warning(request, _("The emergency is no longer active: nothing was changed."))
        return _render_board(request, emergency, status=409)
    return _render_board(request, emergency, **{form_name: form})


@login_required
@require_POST
@service_errors
def change_level(request: AuthenticatedHttpRequest, pk: int):
    return _board_step(
        request,
        pk,
        "level_form",
        lambda emergency: LevelForm(request.POST),
        lambda user, emergency, data: services.change_level(
            actor=user, emergency=emergency, level=data["level"], note=data["note"]
        ),
        _("Level changed."),
    )


@login_required
@require_POST
@service_errors
def change_area(request: AuthenticatedHttpRequest, pk: int):
    return _board_step(
        request,
        pk,
        "area_form",
        lambda emergency: AreaForm(request.POST, community=emergency.community),
        lambda user, emergency, data: services.change_area(
            actor=user,
            emergency=emergency,
            area_grids=data["area_grids"],
            area_buildings=data["area_buildings"],
            note=data["note"],
        ),
        _("Area changed."),
    )


@login_required
@require_POST
@service_errors
def stand_down(request: AuthenticatedHttpRequest, pk: int):
    return _board_step(
        request,
        pk,
        "stand_down_form",
        lambda emergency: StandDownForm(request.POST),
        lambda user, emergency, data: services.stand_down(
            actor=user, emergency=emergency, retention_days=data["retention_days"], note=data["note"]
        ),
        _("The emergency is stood down."),
    )


def _task_step(request: AuthenticatedHttpRequest, pk: int, step) -> HttpResponse:
    user = request.user
    _viewers_only(user)
    task = services.get_task_for(user, pk)
    try:
        message = step(user, task)
    except Conflict as exc:
        messages.warning(request, exc.message)
        return _render_board(request, task.emergency, status=409)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return _render_board(request, task.emergency, status=400)
    messages.success(request, message)
    return redirect("emergency:board", pk=task.emergency_id)


@login_required
@require_POST
@service_errors
def task_done(request: AuthenticatedHttpRequest, pk: int):
    """ "Done": the task's assignee, or a manager."""

    def step(user, task):
        services.complete_task(actor=user, task=task)
        return _("Task done.")

    return _task_step(request, pk, step)


@login_required
@require_POST
@service_errors
def task_assign(request: AuthenticatedHttpRequest, pk: int):
    """Give a task to someone (managers)."""

    def step(user, task):
        if not services.may_manage(user):
            raise DjangoPermissionDenied(_("Your role cannot run emergencies."))
        form = AssignForm(request.POST, people=services.assignable_users(task.emergency))
        if not form.is_valid():
            raise InvalidInput(_("Choose a staff member serving the community."), field="assignee")
        services.assign_task(actor=user, task=task, assignee=form.cleaned_data["assignee"])
        return _("Task given.")

    return _task_step(request, pk, step)
