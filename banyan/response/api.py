"""Incidents (list, detail, open, steps, hand-over), the responsibility matrix and SLA metrics."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from banyan.core import clock, throttle
from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.errors import InvalidInput, NotFound
from banyan.people.models import AuthenticatedHttpRequest, Organisation
from banyan.places.models import Region
from banyan.places.services import get_building_for, get_facility_for, get_region_by_code_for, get_unit_for
from banyan.response import flow, services
from banyan.response.models import Category, Incident, Responsibility
from banyan.response.photos import decode_photo, photo_response
from banyan.response.reports.services import satisfaction
from banyan.response.schemas import (
    ActionIn,
    CategoryOut,
    CellIn,
    CellOut,
    HandOverIn,
    IncidentDetail,
    IncidentFilter,
    IncidentIn,
    IncidentList,
    MatrixOut,
    MatrixQuery,
    MetricsQuery,
)
from banyan.warning.choices import severity_expression
from banyan.warning.services import get_alert_for

router = Router(tags=["response"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _clocks(incident: Incident) -> list[dict]:
    now = clock.now()
    return [
        {
            "name": c.name,
            "due": c.due,
            "met_at": c.met_at,
            "state": c.state(now),
            "remaining_s": c.remaining_s(now),
        }
        for c in services.incident_clocks(incident)
    ]


def _out(incident: Incident) -> dict:
    return {
        "id": incident.pk,
        "category": incident.category.code,
        "grade": incident.grade,
        "status": incident.status,
        "source": incident.source,
        "community": incident.community.code,
        "grid": incident.grid.code if incident.grid is not None else None,
        "building": incident.building_id,
        "unit": incident.unit_id,
        "facility": incident.facility_id,
        "description": incident.description,
        "accountable": incident.accountable.code,
        "accountable_role": incident.accountable_role,
        "assignee": incident.assignee_id,
        "escalation_level": incident.escalation_level,
        "version": incident.version,
        "alert": incident.alert_id,
        "created_at": incident.created_at,
        "assigned_at": incident.assigned_at,
        "accepted_at": incident.accepted_at,
        "on_scene_at": incident.on_scene_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "on_scene_latitude": incident.on_scene_latitude,
        "on_scene_longitude": incident.on_scene_longitude,
        "on_scene_distance_m": (
            None if incident.on_scene_distance_m is None else round(incident.on_scene_distance_m, 1)
        ),
        "on_scene_far": incident.on_scene_far,
        "on_scene_reason": incident.on_scene_reason,
        "clocks": _clocks(incident),
    }


def _incidents(user):
    return Incident.objects.restrict(user).select_related("category", "community", "grid", "accountable")


@router.get("/incidents", response={200: IncidentList, **ERRORS})
def list_incidents(request: AuthenticatedHttpRequest, filters: Query[IncidentFilter]):
    """Incidents in your scope (and those assigned to you). ``mine=true`` lists your tasks, most
    urgent first: the grade, then the nearest deadline."""
    require(request.user, Action.VIEW_INCIDENTS)
    incidents = _incidents(request.user)
    if filters.status == "open":
        incidents = incidents.open()
    elif filters.status:
        if filters.status not in {s.value for s in flow.Status}:
            raise InvalidInput(_("Unknown status."), field="status")
        incidents = incidents.filter(status=filters.status)
    if filters.grade:
        incidents = incidents.filter(grade=filters.grade)
    if filters.category:
        incidents = incidents.filter(category__code=filters.category)
    if filters.mine:
        incidents = (
            incidents.filter(assignee=request.user)
            .annotate(severity=severity_expression())
            .order_by("-severity", "acknowledge_due", "id")
        )
    count, items = page(incidents, filters.limit, filters.offset)
    return {"count": count, "items": [_out(i) for i in items]}


def _place(user, payload) -> dict:
    place: dict = {"latitude": payload.latitude, "longitude": payload.longitude}
    for name, getter in (
        ("unit", get_unit_for),
        ("building", get_building_for),
        ("facility", get_facility_for),
    ):
        value = getattr(payload, name)
        if value is not None:
            try:
                place[name] = getter(user, value)
            except NotFound:
                raise InvalidInput(
                    _("No such %(place)s in your scope.") % {"place": name}, field=name
                ) from None
    return place


@router.post("/incidents", response={201: IncidentDetail, **ERRORS})
def open_incident(request: AuthenticatedHttpRequest, payload: IncidentIn):
    """Open an incident (staff); it is routed by the matrix and dispatched at once."""
    require(request.user, Action.REPORT_INCIDENTS)
    alert = None
    if payload.alert is not None:
        alert = get_alert_for(request.user, payload.alert)
    incident = services.open_incident(
        actor=request.user,
        category=payload.category,
        grade=payload.grade,
        description=payload.description,
        source="staff",
        alert=alert,
        **_place(request.user, payload),
    )
    return Status(201, _detail(request.user, incident.pk))


def _detail(user, pk: int) -> dict:
    incident = services.get_incident_for(user, pk)
    data = _out(incident)
    data["timeline"] = [
        {
            "at": e.at,
            "kind": e.kind,
            "actor": e.actor_id,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "note": e.note,
            "details": e.details,
        }
        for e in incident.events.all()
    ]
    data["dispatch"] = [
        {
            "at": d.at,
            "chosen": d.chosen_id,
            "reason": d.reason,
            "reason_text": str(services.DISPATCH_REASONS.get(d.reason, d.reason)),
            "ranking": d.ranking,
        }
        for d in incident.dispatch_decisions.all()
    ]
    data["photos"] = [
        {
            "id": photo.pk,
            "at": photo.at,
            "stage": photo.stage,
            "taken_by": photo.taken_by_id,
            "url": f"/api/v1/incidents/{incident.pk}/photos/{photo.pk}",
        }
        for photo in incident.photos.defer("photo")
    ]
    return data


@router.get("/incidents/{int:incident_id}", response={200: IncidentDetail, **ERRORS})
def get_incident(request: AuthenticatedHttpRequest, incident_id: int):
    """An incident with its clocks, its timeline and the dispatch decisions with their reasons."""
    require(request.user, Action.VIEW_INCIDENTS)
    return _detail(request.user, incident_id)


@router.post("/incidents/{int:incident_id}/actions", response={200: IncidentDetail, **ERRORS})
def act(request: AuthenticatedHttpRequest, incident_id: int, payload: ActionIn):
    """A step: responders ``accept``, ``decline``, ``on_scene`` (with their position; from farther than
    the radius from the place, with a ``reason``), ``resolve`` (with a note); managers ``assign``,
    ``close``, ``cancel``, ``duplicate``, ``reopen``. Send the ``version`` you saw: if the incident
    changed meanwhile, the step is refused with 409 and nothing changes. "On scene" never moves the
    incident's reported place: the phone's position and its distance are kept beside it. "Resolve"
    resolves the incident's active alert too, or keeps it open (``alert="keep"`` with
    ``alert_reason``)."""
    require(request.user, Action.VIEW_INCIDENTS)
    incident = services.get_incident_for(request.user, incident_id)
    position = None
    if payload.latitude is not None and payload.longitude is not None:
        position = (payload.latitude, payload.longitude)
    throttle.check(request, "photos", count=len(payload.photos_base64), field="photos_base64")
    services.act(
        actor=request.user,
        incident=incident,
        move=payload.move,
        note=payload.note,
        version=payload.version,
        assignee=payload.assignee,  # the service takes only a responder serving the community
        position=position,
        reason=payload.reason,
        photos=[decode_photo(text, field="photos_base64") for text in payload.photos_base64],
        alert=payload.alert,
        alert_reason=payload.alert_reason,
    )
    return _detail(request.user, incident_id)


@router.get("/incidents/{int:incident_id}/photos/{int:photo_id}", response={200: None, **ERRORS})
def get_photo(request: AuthenticatedHttpRequest, incident_id: int, photo_id: int):
    """A photo of the incident as stored (checked, its EXIF and GPS position removed)."""
    require(request.user, Action.VIEW_INCIDENTS)
    incident = services.get_incident_for(request.user, incident_id)
    photo = incident.photos.filter(pk=photo_id).first()
    if photo is None:
        raise NotFound(_("This incident has no such photo."))
    return photo_response(photo.photo, photo.photo_type, f"incident-{incident.pk}-{photo.pk}")


class PositionIn(Schema):
    latitude: float = Field(..., ge=-90, le=90)
    longitude: float = Field(..., ge=-180, le=180)


@router.post("/responders/me/position", response={204: None, **ERRORS})
def report_position(request: AuthenticatedHttpRequest, payload: PositionIn):
    """A responder's phone reports where they are: dispatch ranks by it, the cockpit shows it."""
    services.report_position(actor=request.user, latitude=payload.latitude, longitude=payload.longitude)
    return Status(204, None)


@router.post("/incidents/{int:incident_id}/backup", response={200: dict, **ERRORS})
def backup(request: AuthenticatedHttpRequest, incident_id: int):
    """The assignee asks for help: the nearest on-duty responders of the backup body (else of the
    accountable body) are notified; answers the ids of those asked."""
    require(request.user, Action.HANDLE_INCIDENTS)
    incident = services.get_incident_for(request.user, incident_id)
    asked = services.request_backup(actor=request.user, incident=incident)
    return {"asked": [user.pk for user in asked]}


@router.post("/incidents/{int:incident_id}/hand-over", response={200: IncidentDetail, **ERRORS})
def hand_over(request: AuthenticatedHttpRequest, incident_id: int, payload: HandOverIn):
    """Make another body accountable, with the reason (on the timeline)."""
    require(request.user, Action.MANAGE_INCIDENTS)
    incident = services.get_incident_for(request.user, incident_id)
    # Missing and out of reach get the same answer from the service, naming ``organisation``.
    organisation = Organisation.objects.filter(code=payload.organisation).first()
    services.hand_over(
        actor=request.user,
        incident=incident,
        organisation=organisation,
        role=payload.role,
        reason=payload.reason,
    )
    return _detail(request.user, incident_id)


# --- catalogue and matrix --------------------------------------------------------------------


@router.get("/response/categories", response={200: list[CategoryOut], **ERRORS})
def categories(request: AuthenticatedHttpRequest):
    """The incident catalogue, names in your language."""
    chinese = translation.get_language().startswith("zh")
    return [
        {
            "code": c.code,
            "name": c.name_zh if chinese else c.name_en,
            "default_grade": c.default_grade,
            "skill": c.skill,
        }
        for c in Category.objects.filter(is_active=True)
    ]


def _cell_out(cell: Responsibility) -> dict:
    return {
        "id": cell.pk,
        "category": cell.category.code,
        "region": cell.region.code,
        "accountable": cell.accountable.code,
        "accountable_role": cell.accountable_role,
        "backup": cell.backup.code if cell.backup is not None else None,
        "backup_role": cell.backup_role,
        "escalation": cell.escalation,
        "updated_at": cell.updated_at,
    }


def _region(user, code: str | None) -> Region:
    if code:
        return get_region_by_code_for(user, code)
    if user.region_id is None:
        raise InvalidInput(_("Name the region."), field="region")
    return user.region


@router.get("/response/matrix", response={200: MatrixOut, **ERRORS})
def matrix(request: AuthenticatedHttpRequest, query: Query[MatrixQuery]):
    """The cells for a region's subtree (and those above it that apply), and the gaps: a category ×
    grid that nobody answers for."""
    require(request.user, Action.VIEW_INCIDENTS)
    region = _region(request.user, query.region)
    cells = (
        Responsibility.objects.restrict(request.user)
        .select_related("category", "region", "accountable", "backup")
        .filter(region__path__startswith=region.path)
        | Responsibility.objects.restrict(request.user)
        .select_related("category", "region", "accountable", "backup")
        .filter(region__path__in=region.ancestor_paths())
    ).order_by("category__position", "region__path")
    gaps = services.matrix_gaps(region)
    return {
        "cells": [_cell_out(c) for c in cells],
        "gaps": [{"category": c.code, "region": g.code} for c, g in gaps],
    }


@router.put("/response/matrix", response={200: CellOut, **ERRORS})
def set_cell(request: AuthenticatedHttpRequest, payload: CellIn):
    """Set who answers for a category in a region (directors for their community, street officers for
    their street)."""
    require(request.user, Action.CHANGE_MATRIX)
    region = get_region_by_code_for(request.user, payload.region)
    category = Category.objects.filter(code=payload.category, is_active=True).first()
    if category is None:
        raise InvalidInput(_("Unknown category."), field="category")
    bodies = {
        o.code: o for o in Organisation.objects.filter(code__in=[payload.accountable, payload.backup or ""])
    }
    if payload.accountable not in bodies:
        raise InvalidInput(_("No such organisation."), field="accountable")
    if payload.backup and payload.backup not in bodies:
        raise InvalidInput(_("No such organisation."), field="backup")
    known = set(Organisation.objects.values_list("code", flat=True))
    for step in payload.escalation:
        if step.get("organisation") not in known:
            raise InvalidInput(_("Each escalation step names an organisation."), field="escalation")
    cell = services.set_cell(
        actor=request.user,
        category=category,
        region=region,
        accountable=bodies[payload.accountable],
        accountable_role=payload.accountable_role,
        backup=bodies.get(payload.backup or ""),
        backup_role=payload.backup_role,
        escalation=payload.escalation,
    )
    return _cell_out(cell)


# --- metrics ---------------------------------------------------------------------------------


def _share(met: int, total: int) -> float | None:
    return round(met / total, 4) if total else None


@router.get("/response/metrics", response={200: dict, **ERRORS})
def metrics(request: AuthenticatedHttpRequest, query: Query[MetricsQuery]):
    """SLA compliance of incidents opened in the last ``days``, per category, grid and accountable
    body: how many, and the share whose acknowledge / arrive / resolve clock was met in time; how
    many were marked "on scene" from farther than the radius from their place (``on_scene_far``) or
    with no position (``on_scene_without_position``); and residents' satisfaction with the outcome
    (ratings per category and body)."""
    require(request.user, Action.VIEW_INCIDENTS)
    since = clock.now() - dt.timedelta(days=query.days)
    incidents = _incidents(request.user).filter(created_at__gte=since)
    if query.region:
        region = get_region_by_code_for(request.user, query.region)
        incidents = incidents.filter(
            Q(grid__path__startswith=region.path)
            | Q(grid__isnull=True, community__path__startswith=region.path)
        )
    now = clock.now()
    groups: dict[str, dict[str, dict]] = {"by_category": {}, "by_grid": {}, "by_body": {}, "by_grade": {}}
    tallies: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total = far = without_position = 0
    for incident in incidents:
        total += 1
        far += incident.on_scene_far
        without_position += incident.on_scene_at is not None and incident.on_scene_latitude is None
        keys = {
            "by_category": incident.category.code,
            "by_grid": incident.grid.code if incident.grid_id else "-",
            "by_body": incident.accountable.code,
            "by_grade": incident.grade,
        }
        states = {c.name: c.state(now) for c in services.incident_clocks(incident)}
        for group, key in keys.items():
            tally = tallies[(group, key)]
            tally["incidents"] += 1
            tally["escalations"] += incident.escalation_level
            tally["on_scene_far"] += incident.on_scene_far
            for name, state in states.items():
                if state in ("met", "late", "missed"):
                    tally[f"{name}_decided"] += 1
                    tally[f"{name}_met"] += state == "met"
    for (group, key), tally in sorted(tallies.items()):
        groups[group][key] = {
            "incidents": tally["incidents"],
            "escalations": tally["escalations"],
            "on_scene_far": tally["on_scene_far"],
            **{
                f"{name}_met_share": _share(tally[f"{name}_met"], tally[f"{name}_decided"])
                for name in flow.CLOCKS
            },
        }

    return {
        "days": query.days,
        "since": since.isoformat(),
        "incidents": total,
        "on_scene_far": far,
        "on_scene_without_position": without_position,
        **groups,
        "satisfaction": satisfaction(since=since, incidents=incidents),
    }
