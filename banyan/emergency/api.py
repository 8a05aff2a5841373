"""Emergencies over the API: ``GET /emergencies`` (your scope), ``GET /emergencies/{id}`` (with tasks and
timeline), ``POST /emergencies`` (activate: a plan, or a proposed emergency) and
``POST /emergencies/{id}/stand-down``. Roles that may view emergencies read; those that run them write."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from banyan.core import clock
from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.errors import InvalidInput
from banyan.emergency import services
from banyan.emergency.choices import EmergencyStatus
from banyan.emergency.models import Emergency
from banyan.emergency.schemas import (
    ActivateIn,
    EmergencyDetailOut,
    EmergencyFilter,
    EmergencyList,
    StandDownIn,
)
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places.models import Region

router = Router(tags=["emergency"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@router.get("/emergencies", response={200: EmergencyList, **ERRORS})
def list_emergencies(request: AuthenticatedHttpRequest, filters: Query[EmergencyFilter]):
    """Emergencies of the communities in your scope, newest first."""
    require(request.user, Action.VIEW_EMERGENCIES)
    emergencies = services.emergencies_for(request.user).prefetch_related("area_grids")
    if filters.status:
        emergencies = emergencies.filter(status=filters.status)
    if filters.open:
        emergencies = emergencies.filter(status__in=[EmergencyStatus.PROPOSED, EmergencyStatus.ACTIVE])
    count, items = page(emergencies, filters.limit, filters.offset)
    return {"count": count, "items": items}


class _Shown:
    """An emergency as the detail answers it: its own fields, and the tasks and timeline the caller sees."""

    def __init__(self, emergency: Emergency, tasks: list, timeline: list) -> None:
        self._emergency, self.tasks, self.timeline = emergency, tasks, timeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._emergency, name)


def _detail_body(user, emergency: Emergency) -> _Shown:
    now = clock.now()
    tasks = list(services.tasks_for(user, emergency))
    for task in tasks:
        task.late = services.is_late(task, now)  # type: ignore[attr-defined]
    return _Shown(emergency, tasks, list(emergency.timeline.order_by("at", "id")))


@router.get("/emergencies/{int:emergency_id}", response={200: EmergencyDetailOut, **ERRORS})
def get_emergency(request: AuthenticatedHttpRequest, emergency_id: int):
    """One emergency with its tasks (a volunteer: their own) and its timeline."""
    require(request.user, Action.VIEW_EMERGENCIES)
    emergency = services.get_emergency_for(request.user, emergency_id)
    return _detail_body(request.user, emergency)


@router.post("/emergencies", response={201: EmergencyDetailOut, **ERRORS})
def activate_emergency(request: AuthenticatedHttpRequest, payload: ActivateIn):
    """Activate: confirm a proposed emergency (``emergency``), or open the community's current plan for
    ``hazard`` at ``level`` over ``area_grids`` and ``area_buildings`` (none: the whole community)."""
    user = request.user
    require(user, Action.MANAGE_EMERGENCIES)
    if payload.emergency is not None:
        proposed = services.get_emergency_for(user, payload.emergency, Action.MANAGE_EMERGENCIES)
        emergency = services.activate(actor=user, emergency=proposed, title=payload.title)
    else:
        if not payload.community:
            raise InvalidInput(
                _("Name the community (its code), or a proposed emergency."), field="community"
            )
        community = services.get_community_for(user, payload.community)
        grids = list(
            Region.objects.filter(kind="grid", parent=community, code__in=payload.area_grids).values_list(
                "pk", flat=True
            )
        )
        if len(grids) != len(set(payload.area_grids)):
            raise InvalidInput(_("Choose grids of the emergency's community."), field="area_grids")
        emergency = services.activate(
            actor=user,
            community=community,
            hazard=payload.hazard,
            level=payload.level,
            area_grids=grids,
            area_buildings=payload.area_buildings,
            title=payload.title,
        )
    return Status(201, _detail_body(user, services.get_emergency_for(user, emergency.pk)))


@router.post("/emergencies/{int:emergency_id}/stand-down", response={200: EmergencyDetailOut, **ERRORS})
def stand_down_emergency(request: AuthenticatedHttpRequest, emergency_id: int, payload: StandDownIn):
    """Stand an active emergency down; its data is kept ``retention_days`` (default 30), then purged."""
    user = request.user
    require(user, Action.MANAGE_EMERGENCIES)
    emergency = services.get_emergency_for(user, emergency_id, Action.MANAGE_EMERGENCIES)
    services.stand_down(
        actor=user, emergency=emergency, retention_days=payload.retention_days, note=payload.note
    )
    return _detail_body(user, services.get_emergency_for(user, emergency_id))
