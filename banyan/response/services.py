"""Incidents: opening, routing by the responsibility matrix, dispatch on foot, transitions, hand-overs,
SLA clocks and escalation. Every change is audited, put on the incident's timeline and published
after commit (:mod:`banyan.core.events`). All time comes from ``banyan.core.clock``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import networkx as nx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import PERMISSIONS, Action, can
from banyan.core.choices import Role
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.core.events import EventName, IncidentPayload, ResponderMovedPayload, publish_on_commit
from banyan.notify.services import Contact, notify
from banyan.people.choices import OrganisationKind
from banyan.people.models import Actor, Organisation, User
from banyan.places.choices import RegionKind
from banyan.places.geo import haversine_m
from banyan.places.models import Building, Facility, Region, Unit
from banyan.places.services import climb_seconds, distances_from, nearest_node, node_of, walking_graph
from banyan.places.words import unit_words
from banyan.response import flow
from banyan.response.flow import ASSIGNEE_MOVES, Move, Status
from banyan.response.models import (
    DESCRIPTION_MAX,
    Category,
    DispatchDecision,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    Responder,
    Responsibility,
    Shift,
    SlaPolicy,
)
from banyan.response.photos import clean_photos
from banyan.warning.choices import ACTIVE_STATUSES, URGENT_GRADES, Grade
from banyan.warning.models import Alert
from banyan.warning.services import (
    ALERT_PLACE_RELATED,
    AlertIncident,
    LinkedStep,
    alert_place,
    linked_step,
    resolve_alert_only,
)

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "response"
DEFAULT_WALKING_SPEED_MPS = 1.2  # an adult walking briskly; settings.BANYAN_WALKING_SPEED_MPS
# How far from the reported place a responder's phone may be when they say "on scene" without giving
# a reason: settings.BANYAN_RESPONSE["ON_SCENE_RADIUS_M"] (a building's door to its far corner, and a
# phone's position indoors, fit in it).
DEFAULT_ON_SCENE_RADIUS_M = 150.0


def walking_speed_mps() -> float:
    return float(getattr(settings, "BANYAN_WALKING_SPEED_MPS", DEFAULT_WALKING_SPEED_MPS))


def on_scene_radius_m() -> float:
    options = getattr(settings, "BANYAN_RESPONSE", None) or {}
    return float(options.get("ON_SCENE_RADIUS_M", DEFAULT_ON_SCENE_RADIUS_M))


def get_incident_for(user, pk, action: Action = Action.VIEW_INCIDENTS) -> Incident:
    incident = Incident.objects.restrict(user, action).filter(pk=pk).first()
    if incident is None:
        raise NotFound(_("No such incident."))
    return incident


# --- the matrix ----------------------------------------------------------------------------


def cell_for(category: Category, region: Region) -> Responsibility | None:
    """The matrix cell nearest ``region``: its own, else its community's, else its street's …"""
    paths = [region.path, *reversed(region.ancestor_paths())]
    cells = {
        cell.region.path: cell
        for cell in Responsibility.objects.select_related("region", "accountable", "backup").filter(
            category=category, region__path__in=paths
        )
    }
    return next((cells[path] for path in paths if path in cells), None)


def matrix_gaps(region: Region) -> list[tuple[Category, Region]]:
    """Category × grid pairs in ``region``'s subtree that no cell covers (on the grid, its community
    or its street): the warnings the matrix editor shows."""
    grids = Region.objects.filter(kind=RegionKind.GRID, path__startswith=region.path).order_by("path")
    if region.kind == RegionKind.GRID:
        grids = Region.objects.filter(pk=region.pk)
    categories = list(Category.objects.filter(is_active=True))
    covered = {
        (category_id, path)
        for category_id, path in Responsibility.objects.values_list("category_id", "region__path")
    }
    gaps = []
    for grid in grids:
        chain = [grid.path, *grid.ancestor_paths()]
        gaps += [(c, grid) for c in categories if not any((c.pk, path) in covered for path in chain)]
    return gaps


@transaction.atomic
def set_cell(
    *,
    actor: Actor,
    category,
    region,
    accountable,
    accountable_role="",
    backup=None,
    backup_role="",
    escalation=(),
) -> Responsibility:
    """Set who answers for a category in a region, audited (the API and the matrix editor; callers
    check the actor's right and that the region is in their scope). Every body named serves the
    region, a region inside it or one above it; every role named exists."""
    _check_role(accountable_role, "accountable_role")
    _check_role(backup_role, "backup_role")
    in_reach = Organisation.objects.filter(_serves(region))
    for field, body in (("accountable", accountable), ("backup", backup)):
        if body is not None and not in_reach.filter(pk=body.pk).exists():
            raise InvalidInput(_("This body does not serve the region."), field=field)
    for step in escalation:
        if not in_reach.filter(code=step.get("organisation")).exists():
            raise InvalidInput(_("Each escalation step names a body serving the region."), field="escalation")
        _check_role(step.get("role") or "", "escalation")
    cell, _created = Responsibility.objects.update_or_create(
        category=category,
        region=region,
        defaults={
            "accountable": accountable,
            "accountable_role": accountable_role,
            "backup": backup,
            "backup_role": backup_role,
            "escalation": list(escalation),
            "updated_by": actor,
            "updated_at": clock.now(),
        },
    )
    details = {"category": category.code, "region": region.code, "accountable": accountable.code}
    record(actor=actor, events=[Event(AuditAction.MATRIX_SET, "responsibility", cell.pk, details=details)])
    return cell


def _fallback_body(community: Region) -> Organisation | None:
    """Who answers where the matrix has a gap: the community committee, else the street office."""
    for kind, region in (
        (OrganisationKind.COMMUNITY_COMMITTEE, community),
        (OrganisationKind.STREET_OFFICE, community.parent),
    ):
        body = Organisation.objects.filter(kind=kind, regions=region).order_by("code").first()
        if body is not None:
            return body
    return None


# --- places --------------------------------------------------------------------------------


def _grid_at(community_scope: Iterable[Region], latitude: float, longitude: float) -> Region | None:
    from shapely.geometry import Point, shape

    point = Point(longitude, latitude)
    for grid in community_scope:
        if grid.boundary and shape(grid.boundary).covers(point):
            return grid
    return None


def locate(
    *,
    unit: Unit | None = None,
    building: Building | None = None,
    facility: Facility | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> tuple[Region, Region | None]:
    """(community, grid) of a place given as a unit, building, facility or a point."""
    if unit is not None:
        building = unit.building
    if building is not None:
        return _in_community(building.grid)
    if facility is not None:
        region = facility.region
        if region.kind == RegionKind.GRID:
            return _in_community(region)
        return region, None
    if latitude is None or longitude is None:
        raise InvalidInput(_("Give the place: a unit, a building, a facility or a position."), field="place")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput(_("The position is not a latitude and longitude."), field="latitude")
    grid = _grid_at(Region.objects.filter(kind=RegionKind.GRID).exclude(boundary=None), latitude, longitude)
    if grid is None:
        raise InvalidInput(_("The position lies outside every grid Banyan knows."), field="latitude")
    return _in_community(grid)


def _in_community(grid: Region) -> tuple[Region, Region]:
    """(community, grid): a grid's parent is its community (``Region.clean`` holds to it)."""
    return cast(Region, grid.parent), grid


# --- opening --------------------------------------------------------------------------------


def deadlines_for(category: Category, grade: str) -> flow.Deadlines:
    """The category's own deadlines for the grade, else the grade's defaults, else the built-in ones."""
    policies = {
        p.category_id: p
        for p in SlaPolicy.objects.filter(Q(category=category) | Q(category=None), grade=grade)
    }
    chosen = policies.get(category.pk) or policies.get(None)
    if chosen is None:
        return flow.DEFAULT_DEADLINES[grade]
    return flow.Deadlines(chosen.acknowledge_s, chosen.arrive_s, chosen.resolve_s)


def _event(
    incident: Incident,
    kind: str,
    *,
    actor: Actor | None = None,
    before: str = "",
    note: str = "",
    **details,
) -> None:
    IncidentEvent.objects.create(
        incident=incident,
        at=clock.now(),
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        from_status=before,
        to_status=incident.status if before or kind == "opened" else "",
        note=note,
        details=details,
    )


def incident_payload(incident: Incident) -> IncidentPayload:
    """What the bus carries about an incident: codes, grade, status, times; no personal data."""
    return {
        "id": incident.pk,
        "category": incident.category.code,
        "community": incident.community.code,
        "grid": incident.grid.code if incident.grid is not None else None,
        "grade": incident.grade,
        "status": incident.status,
        "accountable": incident.accountable.code,
        "assignee": incident.assignee_id,
        "escalation_level": incident.escalation_level,
        "created_at": incident.created_at.isoformat(),
        "acknowledge_due": incident.acknowledge_due.isoformat(),
        "arrive_due": incident.arrive_due.isoformat(),
    }


def _publish(name: EventName, incident: Incident) -> None:
    publish_on_commit(name, incident_payload(incident))


def open_incident(
    *,
    actor: Actor | None,
    category: Category | str,
    source: str,
    grade: str | None = None,
    description: str = "",
    unit: Unit | None = None,
    building: Building | None = None,
    facility: Facility | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    alert=None,
    dispatch_now: bool = True,
) -> Incident:
    """Open an incident, route it by the matrix and dispatch it. ``actor`` is a user, or None for the
    system (an alert's rule). An ``alert`` has one open incident at most (the database holds to it):
    a second is :class:`AlertHasOpenIncident`, a 409 naming the one that is open."""
    if actor is not None and not can(actor, Action.REPORT_INCIDENTS):
        raise PermissionDenied(_("You may not open incidents."))
    if isinstance(category, str):
        category = Category.objects.filter(code=category, is_active=True).first() or _unknown_category(
            category
        )
    if grade is not None and grade not in Grade.values:
        raise InvalidInput(_("The grade is one of blue, yellow, orange, red."), field="grade")
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("The description is longer than %(max)d characters.") % {"max": DESCRIPTION_MAX},
            field="description",
        )
    community, grid = locate(
        unit=unit, building=building, facility=facility, latitude=latitude, longitude=longitude
    )
    cell = cell_for(category, grid or community)
    accountable = cell.accountable if cell else _fallback_body(community)
    if accountable is None:
        raise InvalidInput(_("Nobody answers for this category here, and the community has no committee."))
    grade = grade or category.default_grade
    deadlines = deadlines_for(category, grade)
    now = clock.now()
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                category=category,
                community=community,
                grid=grid,
                unit=unit,
                building=unit.building if unit is not None else building,
                facility=facility,
                latitude=latitude,
                longitude=longitude,
                grade=grade,
                description=description,
                source=source,
                alert=alert,
                created_by=actor,
                responsibility=cell,
                accountable=accountable,
                accountable_role=cell.accountable_role if cell else "",
                created_at=now,
                updated_at=now,
                acknowledge_due=now + dt.timedelta(seconds=deadlines.acknowledge_s),
                arrive_due=now + dt.timedelta(seconds=deadlines.arrive_s),
                resolve_due=now + dt.timedelta(seconds=deadlines.resolve_s),
            )
            _event(
                incident,
                "opened",
                actor=actor,
                source=source,
                accountable=accountable.code,
                matrix_gap=cell is None,
            )
            record(
                actor=actor or SYSTEM_ACTOR,
                events=[
                    Event(
                        AuditAction.INCIDENT_OPEN,
                        "incident",
                        incident.pk,
                        details={
                            "category": category.code,
                            "grade": grade,
                            "source": source,
                            "gap": cell is None,
                        },
                    )
                ],
            )
            _publish(EventName.INCIDENT_OPENED, incident)
            if dispatch_now:
                dispatch(incident)
    except IntegrityError:
        existing = _open_incident_of(alert) if alert is not None else None
        if existing is None:
            raise
        raise AlertHasOpenIncident(existing) from None
    return incident


def _unknown_category(code: str):
    known = ", ".join(Category.objects.filter(is_active=True).values_list("code", flat=True))
    raise InvalidInput(
        _("Unknown category %(code)r; one of: %(known)s.") % {"code": code[:32], "known": known},
        field="category",
    )


# --- dispatch --------------------------------------------------------------------------------


def _target_node(graph: nx.Graph, place: dict) -> int | None:
    """The walking-graph node of a place (``facility_id``, ``building_id``, else the nearest node to
    ``latitude``/``longitude``)."""
    for field in ("facility_id", "building_id"):
        value = place.get(field)
        if value is not None:
            found = node_of(graph, field, value)
            if found is not None:
                return found
    return nearest_node(graph, place.get("latitude"), place.get("longitude"))


def walking_from(community: Region, place: dict) -> tuple[nx.Graph, int | None, dict]:
    """The community's walking graph, the place's node, and metres from it to every node (not to be
    changed: :func:`banyan.places.services.distances_from` keeps them for the next incident there)."""
    graph = walking_graph(community)
    target = _target_node(graph, place)
    distances = distances_from(graph, target) if target is not None else {}
    return graph, target, distances


def _walking_from(incident: Incident) -> tuple[nx.Graph, int | None, dict]:
    return walking_from(
        incident.community,
        {
            "facility_id": incident.facility_id,
            "building_id": incident.building_id,
            "latitude": incident.latitude,
            "longitude": incident.longitude,
        },
    )


def incident_climb_s(incident: Incident) -> float:
    """Seconds from the building's entrance up to the incident's floor (stairs where there is no lift)."""
    unit = incident.unit
    return climb_seconds(unit.building, unit.floor) if unit is not None else 0.0


@dataclass(frozen=True)
class Walk:
    """A responder's walk to an incident over the community's walking graph (as dispatch measures it):
    metres, minutes at the walking speed, and the route to draw, ``[latitude, longitude]`` points from
    the responder's last known position along the paths to the place."""

    metres: float
    seconds: float
    route: list[list[float]]


def walks_for(responder: Responder | None, incidents: Iterable[Incident]) -> dict[int, Walk | None]:
    """Each incident's walk (by its id) from ``responder``'s last known position; None where that
    position, the place's node or a path between them is unknown. One graph search per community."""
    incidents = list(incidents)
    walks: dict[int, Walk | None] = {incident.pk: None for incident in incidents}
    if responder is None or responder.latitude is None or responder.longitude is None:
        return walks
    start = [responder.latitude, responder.longitude]
    speed = walking_speed_mps()
    by_community: dict[int, list[Incident]] = {}
    for incident in incidents:
        by_community.setdefault(incident.community_id, []).append(incident)
    for group in by_community.values():
        graph = walking_graph(group[0].community)
        source = nearest_node(graph, responder.latitude, responder.longitude)
        if source is None:
            continue
        metres, paths = nx.single_source_dijkstra(graph, source, weight="length_m")
        for incident in group:
            point = incident_point(incident)
            place = {
                "facility_id": incident.facility_id,
                "building_id": incident.unit.building_id
                if incident.unit is not None
                else incident.building_id,
                "latitude": point[0] if point else None,
                "longitude": point[1] if point else None,
            }
            target = _target_node(graph, place)
            if target is None or target not in metres:
                continue
            route = [
                start,
                *([graph.nodes[n]["latitude"], graph.nodes[n]["longitude"]] for n in paths[target]),
            ]
            if point is not None:
                route.append(list(point))
            seconds = metres[target] / speed + incident_climb_s(incident)
            walks[incident.pk] = Walk(metres[target], seconds, route)
    return walks


def _serves(region: Region, prefix: str = "") -> Q:
    """Organisations (through ``prefix``) serving ``region``, a region inside it, or one above it."""
    return Q(**{f"{prefix}regions__path__startswith": region.path}) | Q(
        **{f"{prefix}regions__path__in": region.ancestor_paths()}
    )


# Roles that act on incidents given to them: only these may be assigned one (never a resident or an
# auditor, whatever roster they stand on).
RESPONDER_ROLES = frozenset(
    role for role, actions in PERMISSIONS.items() if Action.HANDLE_INCIDENTS in actions
)


def responders_serving(community: Region):
    """Active responders whose body serves the community, a grid of it, or its street (or above), in a
    role that acts on incidents: the only people an incident of the community may be given to."""
    return (
        Responder.objects.filter(_serves(community, "organisation__"), user__is_active=True)
        .filter(user__role__in=RESPONDER_ROLES)
        .select_related("user", "organisation")
        .distinct()
    )


def organisations_in_reach(incident: Incident):
    """The bodies an incident may be handed over to: those serving its community (or a grid of it, or
    its street and above), and those its matrix cell names (accountable, backup, escalation chain)."""
    named = set()
    cell = incident.responsibility
    if cell is not None:
        named |= {cell.accountable_id, cell.backup_id} - {None}
        codes = [step.get("organisation") for step in cell.escalation or [] if isinstance(step, dict)]
        named |= set(
            Organisation.objects.filter(code__in=[c for c in codes if c]).values_list("pk", flat=True)
        )
    return (
        Organisation.objects.filter(_serves(incident.community) | Q(pk__in=named)).distinct().order_by("code")
    )


def role_label(code: str) -> str:
    """A role's name in the active language; a value that is no role (a row written before roles were
    checked) reads "unknown role" rather than failing the page."""
    if not code:
        return ""
    try:
        return str(Role(code).label)
    except ValueError:
        return _("unknown role")


def _check_role(role: str, field: str) -> str:
    if role and role not in Role.values:
        raise InvalidInput(
            _("Unknown role; one of: %(roles)s.") % {"roles": ", ".join(Role.values)}, field=field
        )
    return role


def nearest_responders(community: Region, place: dict, *, limit: int = 5) -> list[dict]:
    """Responders on duty now whose body serves the community (or a grid of it, or its street), nearest
    on foot first: ``responder`` (the model), ``walk_s`` (None where a position is unknown) and
    ``load`` (their open incidents)."""
    now = clock.now()
    responders = list(
        responders_serving(community).filter(shifts__starts_at__lte=now, shifts__ends_at__gt=now)
    )
    load = dict(
        Incident.objects.open()
        .filter(assignee__in=[r.user_id for r in responders])
        .values_list("assignee")
        .annotate(n=Count("id"))
    )
    graph, _target, distances = walking_from(community, place)
    speed = walking_speed_mps()
    ranked = []
    for responder in responders:
        node = nearest_node(graph, responder.latitude, responder.longitude)
        metres = distances.get(node) if node is not None else None
        walk_s = None if metres is None else metres / speed
        ranked.append({"responder": responder, "walk_s": walk_s, "load": load.get(responder.user_id, 0)})
    ranked.sort(key=lambda r: (r["walk_s"] is None, r["walk_s"] or 0.0, r["load"], r["responder"].pk))
    return ranked[:limit]


# Categories answered on foot by whoever serves the place, whatever body they stand on: a wellness visit
# (探视) goes to the nearest grid worker or volunteer serving the community.
ON_FOOT_ROLES = {"wellness_check": ("grid_worker", "volunteer")}
# A visit on foot takes about this long at the door: dispatch counts it for each visit a person already
# holds (they go one after another), so a free neighbour one building further is asked first.
ON_FOOT_VISIT_S = 300.0


def candidates_for(incident: Incident):
    """Responders of the accountable body (with its role, if the cell names one) who serve the
    incident's community: whom dispatch ranks and a manager's form offers. For a category of
    ``ON_FOOT_ROLES``, every responder of those roles serving the community."""
    return list(_candidates_of(incident).order_by("pk"))


def _candidates_of(incident: Incident):
    on_foot = ON_FOOT_ROLES.get(incident.category.code)
    if on_foot:
        return responders_serving(incident.community).filter(user__role__in=on_foot)
    responders = responders_serving(incident.community).filter(organisation_id=incident.accountable_id)
    if incident.accountable_role:
        responders = responders.filter(user__role=incident.accountable_role)
    return responders


# What dispatch weighs of a responder: loading their user and body too took five times as long with the
# eighty-odd volunteers a call-up puts on duty in a large community.
WEIGHED = ("id", "user_id", "capacity", "skills", "latitude", "longitude")


def _weighed(incident: Incident) -> list[Responder]:
    """:func:`candidates_for` with only what dispatch weighs of them (``WEIGHED``)."""
    return list(_candidates_of(incident).select_related(None).only(*WEIGHED).order_by("pk"))


def _roster(incident: Incident, now: dt.datetime) -> list[Responder]:
    """:func:`_weighed`, each with ``on_shift`` (on a shift at ``now``) and ``held`` (their open
    incidents): one query, not three."""
    on_shift = Shift.objects.filter(responder=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now)
    held = (
        Incident.objects.open()
        .filter(assignee=OuterRef("user_id"))
        .order_by()
        .values("assignee")
        .annotate(n=Count("id"))
        .values("n")
    )
    return list(
        _candidates_of(incident)
        .select_related(None)
        .only(*WEIGHED)
        .annotate(on_shift=Exists(on_shift), held=Coalesce(Subquery(held), Value(0)))
        .order_by("pk")
    )


DISPATCH_REASONS = {
    "nearest": gettext_lazy("nearest on foot"),
    "position_unknown": gettext_lazy("on duty, position unknown"),
    "none_available": gettext_lazy("no responder of the accountable body is available"),
}


def dispatch(
    incident: Incident, *, exclude: Iterable[int] = (), ranking: list[flow.Ranked] | None = None
) -> DispatchDecision:
    """Rank the accountable body's responders by walking time to the incident and assign the first
    eligible one (on duty, under capacity, with the category's skill); store the decision and why.
    ``ranking``: one made a moment ago in the caller's transaction with the same ``exclude``
    (:func:`redispatch_waiting`'s), used as it is."""
    now = clock.now()
    if ranking is None:
        ranking = _rank(incident, exclude=exclude, now=now)
    chosen = next((r for r in ranking if r.eligible), None)
    # A code, translated where it is shown (DISPATCH_REASONS): the decision is a record, not a message.
    reason = ("nearest" if chosen.walk_s is not None else "position_unknown") if chosen else "none_available"
    with transaction.atomic():
        decision = DispatchDecision.objects.create(
            incident=incident,
            at=now,
            chosen_id=chosen.key if chosen else None,
            reason=reason,
            ranking=[
                {
                    "user": r.key,
                    "walk_s": None if r.walk_s is None else round(r.walk_s, 1),
                    "eligible": r.eligible,
                    "reason": r.reason,
                }
                for r in ranking
            ],
        )
        if chosen is not None:
            _apply(incident, Move.ASSIGN, actor=None, assignee_id=chosen.key, reason=reason)
        else:
            _event(incident, "dispatch_failed", reason=reason)
    return decision


def _load_of(users: Iterable[int]) -> dict[int, int]:
    """Open incidents assigned to each of ``users`` (by user id; those holding none are left out)."""
    return dict(
        Incident.objects.open()
        .filter(assignee__in=list(users))
        .values_list("assignee")
        .annotate(n=Count("id"))
    )


def _on_duty(now: dt.datetime) -> set[int]:
    """Ids of the responders on a shift at ``now``."""
    on_shift = Responder.objects.filter(shifts__starts_at__lte=now, shifts__ends_at__gt=now)
    return set(on_shift.values_list("pk", flat=True))


def _candidates(
    responders: Sequence[Responder], *, on_duty: set[int], load: dict[int, int], node=lambda r: None
) -> list[flow.Candidate]:
    """Responders as dispatch weighs them; ``node`` gives each one's walking-graph node."""
    return [
        flow.Candidate(
            key=r.user_id,
            node=node(r),
            on_duty=r.pk in on_duty,
            load=load.get(r.user_id, 0),
            capacity=r.capacity,
            skills=frozenset(r.skills or []),
        )
        for r in responders
    ]


def _rank(incident: Incident, *, exclude: Iterable[int], now: dt.datetime) -> list[flow.Ranked]:
    """The accountable body's responders ranked for ``incident`` (nearest eligible first)."""
    responders = _roster(incident, now)
    graph, target, distances = _walking_from(incident)
    return flow.rank(
        _candidates(
            responders,
            # ``on_shift`` and ``held`` are annotations of _roster's query
            on_duty={r.pk for r in responders if getattr(r, "on_shift", False)},
            load={r.user_id: getattr(r, "held", 0) for r in responders},
            node=lambda r: nearest_node(graph, r.latitude, r.longitude),
        ),
        target=target,
        distances_m=distances,
        walking_speed_mps=walking_speed_mps(),
        skill=incident.category.skill or None,
        excluded=exclude,
        climb_s=incident_climb_s(incident),
        per_load_s=ON_FOOT_VISIT_S if incident.category.code in ON_FOOT_ROLES else 0.0,
    )


# --- transitions ---------------------------------------------------------------------------------


_STAMPS = {
    Move.ASSIGN: "assigned_at",
    Move.ACCEPT: "accepted_at",
    Move.ON_SCENE: "on_scene_at",
    Move.RESOLVE: "resolved_at",
    Move.CLOSE: "closed_at",
}


def _apply(
    incident: Incident,
    move: Move,
    *,
    actor: Actor | None,
    note: str = "",
    assignee_id: int | None = None,
    arrival: Arrival | None = None,
    reason: str = "",
    photos: Sequence[tuple[bytes, str]] = (),
    more: dict[str, Any] | None = None,
) -> Incident:
    """Move a locked (or just created) incident on: status, stamps, version, timeline, audit, bus.
    ``photos`` (checked and cleaned) are kept with the incident, taken by ``actor`` at this step;
    ``arrival`` (on scene) is where the responder's phone was, kept apart from the reported place;
    ``more`` goes to the timeline's and the audit entry's details (ids and codes, no personal data)."""
    before = incident.status
    incident.status = flow.next_status(before, move).value
    now = clock.now()
    if move == Move.ASSIGN:
        incident.assignee_id = assignee_id
    elif move == Move.DECLINE:
        incident.assignee_id = None
    elif move == Move.REOPEN:
        incident.resolved_at = incident.closed_at = None
    stamp = _STAMPS.get(move)
    if stamp and (getattr(incident, stamp) is None or move == Move.ASSIGN):
        setattr(incident, stamp, now)
    details: dict[str, Any] = {"move": move.value}
    if move == Move.ON_SCENE and arrival is not None:
        # The reported place (latitude, longitude, building, unit) stays as it was: the phone's
        # position is the responder's, not the incident's.
        position = arrival.position or (None, None)
        incident.on_scene_latitude, incident.on_scene_longitude = position
        incident.on_scene_distance_m = arrival.distance_m
        incident.on_scene_far, incident.on_scene_reason = arrival.far, arrival.reason
        if arrival.position is not None and actor is not None:
            _move_responder(actor, *arrival.position, community=incident.community, at=now)
        details.update(arrival.details())
    incident.updated_at = now
    incident.version += 1
    incident.save()
    if assignee_id is not None:
        details["assignee"] = assignee_id
    if reason:
        details["reason"] = reason
    details.update(more or {})
    if photos:
        IncidentPhoto.objects.bulk_create(
            IncidentPhoto(
                incident=incident, at=now, stage=move.value, taken_by=actor, photo=data, photo_type=kind
            )
            for data, kind in photos
        )
        details["photos"] = len(photos)
    _event(incident, move.value, actor=actor, before=before, note=note, **details)
    record(
        actor=actor or SYSTEM_ACTOR,
        events=[
            Event(
                # a member for every move: banyan/audit/tests/test_actions.py
                AuditAction(f"incident.{move.value}"),
                "incident",
                incident.pk,
                details={**details, "from": before},
            )
        ],
    )
    _publish(EventName.INCIDENT_CHANGED, incident)
    if move in (Move.ASSIGN, Move.REOPEN) and incident.assignee_id is not None:
        _tell_assignee(incident)
    if move in (Move.RESOLVE, Move.CLOSE, Move.CANCEL, Move.MARK_DUPLICATE, Move.REOPEN):
        _tell_reporters(incident)
    return incident


PHOTO_MOVES = frozenset({Move.ON_SCENE, Move.RESOLVE})


# --- on scene: how far the phone is from the place --------------------------------------------------


def incident_point(incident: Incident) -> tuple[float, float] | None:
    """(latitude, longitude) of the incident's reported place: its own point, else its unit's or
    building's, else its facility's; None where only a grid or community is known."""
    if incident.latitude is not None and incident.longitude is not None:
        return incident.latitude, incident.longitude
    building = incident.unit.building if incident.unit is not None else incident.building
    for place in (building, incident.facility):
        if place is not None and place.latitude is not None and place.longitude is not None:
            return place.latitude, place.longitude
    return None


@dataclass(frozen=True)
class Arrival:
    """A responder's "on scene": where their phone was (None: it gave no position), how far that is
    from the reported place (None: either is unknown), whether it is farther than the radius, and
    the reason they gave for that."""

    position: tuple[float, float] | None
    distance_m: float | None
    far: bool
    reason: str = ""

    def details(self) -> dict[str, Any]:
        """What the timeline and the audit entry keep of it (never the position itself)."""
        if self.position is None:
            return {"position": "unknown"}
        if self.distance_m is None:
            return {"position": "given", "distance_m": None}
        details: dict[str, Any] = {"distance_m": round(self.distance_m), "far": self.far}
        if self.far:
            details["far_reason"] = self.reason[:200]
        return details


def distance_text(metres: float) -> str:
    """ "80 m", "1.8 km"."""
    if metres < 1000:
        return _("%(metres)d m") % {"metres": round(metres)}
    return _("%(km).1f km") % {"km": metres / 1000}


def arrival(incident: Incident, position: tuple[float, float] | None, reason: str = "") -> Arrival:
    """Check a responder's "on scene" against the incident's place: farther than the radius
    (``on_scene_radius_m``) it needs a ``reason`` (else a 400 naming ``reason``); without a position
    it is taken as it is, its distance unknown."""
    reason = (reason or "").strip()
    if len(reason) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("The reason is longer than %(max)d characters.") % {"max": DESCRIPTION_MAX}, field="reason"
        )
    point = incident_point(incident)
    if position is None or point is None:
        return Arrival(position, None, False, reason)
    metres = haversine_m(position[1], position[0], point[1], point[0])
    radius = on_scene_radius_m()
    far = metres > radius
    if far and not reason:
        raise InvalidInput(
            _(
                "Your phone is %(distance)s from the place, farther than %(radius)d m: say why you are on "
                "scene from there (the reason)."
            )
            % {"distance": distance_text(metres), "radius": round(radius)},
            field="reason",
            code="on_scene_far",
        )
    return Arrival(position, metres, far, reason if far else "")


def _place_text(incident: Incident) -> str:
    if incident.unit is not None:
        return unit_words(incident.unit, "zh-hans")
    if incident.building is not None:
        return incident.building.name
    if incident.facility is not None:
        return incident.facility.name_zh
    return incident.grid.name_zh if incident.grid is not None else incident.community.name_zh


def _about(incident: Incident, **more) -> dict[str, Any]:
    """What a notification about an incident says of it (its number, category, place, grade)."""
    return {
        "number": incident.pk,
        "category": incident.category.name_zh,
        "place": _place_text(incident),
        "grade": Grade(incident.grade).label,  # in the recipient's language when the text is made
        **more,
    }


def _tell_assignee(incident: Incident) -> None:

    notify(
        [incident.assignee],
        "incident.assigned",
        gettext_lazy("Incident %(number)s is yours"),
        gettext_lazy("%(category)s at %(place)s (grade %(grade)s). Accept it or decline it."),
        params=_about(incident),
        reference=("incident", incident.pk),
        urgency="urgent" if incident.grade in URGENT_GRADES else "normal",
    )


STATUS_TEXT = {
    "resolved": pgettext_lazy("report status", "resolved"),
    "closed": pgettext_lazy("report status", "closed"),
    "cancelled": pgettext_lazy("report status", "cancelled"),
    "duplicate": pgettext_lazy("report status", "merged with another report"),
    "assigned": pgettext_lazy("report status", "reopened"),
}


def _tell_reporters(incident: Incident) -> None:
    """The people who reported it hear how it stands (their account, else the contact they gave)."""

    for report in incident.reports.all():
        if report.reporter_id is not None:
            recipient = report.reporter
        elif report.contact_phone or report.contact_email:
            recipient = Contact(phone=report.contact_phone or "", email=report.contact_email or "")
        else:
            continue
        notify(
            [recipient],
            "report.status",
            gettext_lazy("Your report %(number)s is %(status)s"),
            gettext_lazy("%(category)s: %(status)s. Thank you for reporting it."),
            params={
                "number": report.pk,
                "status": STATUS_TEXT.get(incident.status, incident.status),
                "category": incident.category.name_zh,
            },
            reference=("report", report.pk),
        )


def _people_of(step: dict | None, community: Region):
    """The active users of an escalation step's body (with its role, if it names one)."""

    if not step:
        return []
    people = User.objects.filter(is_active=True, memberships__organisation__code=step.get("organisation"))
    if step.get("role"):
        people = people.filter(role=step["role"])
    return list(people.distinct().order_by("pk"))


def _tell_escalation(incident: Incident, level: int, clock_name: str, step: dict | None) -> None:

    people = _people_of(step, incident.community)
    if not people:
        return
    notify(
        people,
        "incident.escalated",
        gettext_lazy("Incident %(number)s escalated to you"),
        gettext_lazy("%(category)s at %(place)s missed its %(clock)s deadline (grade %(grade)s)."),
        params=_about(incident, clock=clock_name),
        reference=("incident", incident.pk),
        urgency="urgent",
    )


def act(
    *,
    actor: Actor,
    incident: Incident,
    move: Move | str,
    note: str = "",
    version: int | None = None,
    assignee=None,
    position: tuple[float, float] | None = None,
    reason: str = "",
    photos: Sequence[bytes] = (),
    alert: str | None = None,
    alert_reason: str = "",
) -> Incident:
    """A person moves an incident on. Responders act on what is assigned to them; managers of the
    accountable body's region assign, close, cancel, reopen. A stale ``version`` or a state that no
    longer allows the move (two responders accepting at once) is a 409 and changes nothing.
    ``photos`` go with "on scene" and "resolve" (at most five; each checked, its EXIF removed).
    "On scene" takes the phone's ``position`` where it gave one: farther than the radius from the
    place it needs a ``reason`` (:func:`arrival`); the reported place is never changed by it.
    "Resolve" says what becomes of the incident's active alert: resolved too (``alert="resolve"``,
    the default) or kept open (``"keep"``, with ``alert_reason``); see :func:`_alert_step`."""
    try:
        move = Move(move)
    except ValueError:
        raise InvalidInput(
            _("Unknown step; one of: %(moves)s.") % {"moves": ", ".join(m.value for m in Move)}, field="move"
        ) from None
    if len(note) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("The note is longer than %(max)d characters.") % {"max": DESCRIPTION_MAX}, field="note"
        )
    needed = Action.HANDLE_INCIDENTS if move in ASSIGNEE_MOVES else Action.MANAGE_INCIDENTS
    if not can(actor, needed):
        raise PermissionDenied(_("You may not take this step."))
    if photos and move not in PHOTO_MOVES:
        raise InvalidInput(_("Photos go with the steps “on scene” and “resolve”."), field="photos")
    cleaned = clean_photos(photos)
    alert_step, alert_reason = (
        linked_step(alert, alert_reason, field="alert") if move == Move.RESOLVE else (LinkedStep.RESOLVE, "")
    )
    with transaction.atomic():
        if move == Move.RESOLVE and incident.alert_id is not None:
            # Its alert's row first, as the alert's resolution takes them (alert, then incident).
            _lock_alert(incident.alert_id)
        locked = Incident.objects.restrict(actor).select_for_update().filter(pk=incident.pk).first()
        if locked is None:
            raise NotFound(_("No such incident."))
        if move in ASSIGNEE_MOVES and locked.assignee_id != actor.pk:
            raise PermissionDenied(_("This incident is not assigned to you."))
        if version is not None and version != locked.version:
            raise Conflict(_("The incident changed meanwhile; reload it and try again."), field="version")
        if move == Move.RESOLVE and not note.strip():
            raise InvalidInput(_("Say what was done."), field="note")
        assignee_id = None
        if move == Move.ASSIGN:
            if assignee is None:
                raise InvalidInput(_("Name the responder to assign."), field="assignee")
            assignee_id = _assignable(locked, assignee)
        try:
            flow.next_status(locked.status, move)  # a step the state no longer allows is a 409 first
            arrived = arrival(locked, position, reason) if move == Move.ON_SCENE else None
            with_alert = _alert_step(actor, locked, alert_step, alert_reason) if move == Move.RESOLVE else {}
            _apply(
                locked,
                move,
                actor=actor,
                note=note,
                assignee_id=assignee_id,
                arrival=arrived,
                photos=cleaned,
                more=with_alert,
            )
            if with_alert.get("alert") == "resolved":
                resolve_alert_only(actor=actor, alert=locked.alert, note=note)
        except flow.TransitionError as exc:
            raise Conflict(
                _("This step is not possible: the incident is %(status)s.") % {"status": exc.status.value},
                field="status",
            ) from None
        if move == Move.DECLINE:
            declined = IncidentEvent.objects.filter(incident=locked, kind=Move.DECLINE.value)
            dispatch(locked, exclude={e.actor_id for e in declined if e.actor_id is not None} | {actor.pk})
    return locked


def _assignable(incident: Incident, assignee) -> int:
    """The id of ``assignee`` (a user or an id) if they may be given ``incident``: an active responder
    serving its community (``responders_serving``), else a 400 naming ``assignee``. Missing users and
    users who may not take it get the same answer."""
    pk = getattr(assignee, "pk", assignee)
    if (
        isinstance(pk, bool)
        or not isinstance(pk, int)
        or (not responders_serving(incident.community).filter(user_id=pk).exists())
    ):
        raise InvalidInput(
            _("Choose a responder on the roster of a body serving this incident's community."),
            field="assignee",
            code="not_a_responder",
        )
    return pk


def hand_over(
    *, actor: Actor, incident: Incident, organisation: Organisation | None, role: str = "", reason: str
) -> Incident:
    """Make another body accountable: one in reach of the incident (``organisations_in_reach``), with
    a role that exists or none. Needs a reason; shows on the timeline."""
    if not can(actor, Action.MANAGE_INCIDENTS):
        raise PermissionDenied(_("You may not hand incidents over."))
    if not reason.strip():
        raise InvalidInput(_("Say why the incident is handed over."), field="reason")
    _check_role(role, "role")
    with transaction.atomic():
        locked = Incident.objects.restrict(actor).select_for_update().filter(pk=incident.pk).first()
        if locked is None:
            raise NotFound(_("No such incident."))
        if organisation is None or not organisations_in_reach(locked).filter(pk=organisation.pk).exists():
            raise InvalidInput(
                _("Hand the incident over to a body serving its community or named by its matrix cell."),
                field="organisation",
            )
        if locked.status not in {s.value for s in flow.OPEN}:
            raise Conflict(_("Only an open incident can be handed over."), field="status")
        previous = locked.accountable.code
        locked.accountable, locked.accountable_role = organisation, role
        locked.assignee = None
        locked.status = Status.NEW.value
        locked.updated_at = clock.now()
        locked.version += 1
        locked.save()
        _event(locked, "handed_over", actor=actor, note=reason, **{"from": previous, "to": organisation.code})
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.INCIDENT_HAND_OVER,
                    "incident",
                    locked.pk,
                    details={"from": previous, "to": organisation.code, "reason": reason[:200]},
                )
            ],
        )
        _publish(EventName.INCIDENT_CHANGED, locked)
        dispatch(locked)
    return locked


# --- clocks and escalation --------------------------------------------------------------------


def incident_clocks(incident: Incident) -> list[flow.Clock]:
    return [
        flow.Clock("acknowledge", incident.acknowledge_due, incident.accepted_at),
        flow.Clock("arrive", incident.arrive_due, incident.on_scene_at),
        flow.Clock("resolve", incident.resolve_due, incident.resolved_at),
    ]


LEVEL_OF_CLOCK = {"acknowledge": 1, "arrive": 2, "resolve": 3}


def escalation_target(incident: Incident, level: int) -> dict | None:
    """The body a missed deadline goes to at ``level`` (1 = first step of the chain)."""
    chain = (incident.responsibility.escalation if incident.responsibility else None) or []
    if 1 <= level <= len(chain):
        return chain[level - 1]
    return None


# Escalations written in one transaction (one commit, not one an escalation): a round after a busy spell
# escalates hundreds at once.
ESCALATIONS_PER_COMMIT = 50


def escalate_due(now: dt.datetime | None = None) -> list[Incident]:
    """Open incidents whose next clock is missed climb one step of their escalation chain; an assigned
    incident nobody accepted in time goes to the next responder (each assignment in its own acknowledge
    window: :func:`reassign_silent`). Up to ``ESCALATIONS_PER_COMMIT`` are
    written in one transaction, their rows locked in id order."""
    now = now or clock.now()
    escalated: list[Incident] = []
    due = list(
        Incident.objects.open()
        .filter(
            Q(accepted_at__isnull=True, acknowledge_due__lt=now, escalation_level__lt=1)
            | Q(on_scene_at__isnull=True, arrive_due__lt=now, escalation_level__lt=2)
            | Q(resolved_at__isnull=True, resolve_due__lt=now, escalation_level__lt=3)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    shared: dict[tuple, Any] = {}
    for start in range(0, len(due), ESCALATIONS_PER_COMMIT):
        with transaction.atomic():
            for pk in due[start : start + ESCALATIONS_PER_COMMIT]:
                incident = _escalate(pk, now, shared)
                if incident is not None:
                    escalated.append(incident)
    reassign_silent(now)
    return escalated


# What incidents share, read once per round of escalations: their category, places (without a region's
# outline), accountable body and matrix cell.
_SHARED = (
    ("category", Category.objects),
    ("community", Region.objects.defer("boundary")),
    ("grid", Region.objects.defer("boundary")),
    ("accountable", Organisation.objects),
    ("responsibility", Responsibility.objects),
)


def _escalate(pk: int, now: dt.datetime, shared: dict[tuple, Any]) -> Incident | None:
    """One incident of :func:`escalate_due`, locked and checked again; None if it has nothing missed."""
    incident = Incident.objects.select_for_update().filter(pk=pk).first()
    if incident is None or incident.status not in {s.value for s in flow.OPEN}:
        return None
    missed = [c for c in incident_clocks(incident) if c.state(now) == "missed"]
    if not missed:
        return None
    level = LEVEL_OF_CLOCK[missed[-1].name]
    if level <= incident.escalation_level:
        return None
    for field, rows in _SHARED:
        related = getattr(incident, f"{field}_id")
        if related is not None:
            key = (rows.model, related)
            if key not in shared:
                shared[key] = rows.get(pk=related)
            setattr(incident, field, shared[key])
    silent = incident.assignee_id if incident.status == Status.ASSIGNED.value else None
    incident.escalation_level = level
    incident.updated_at = now
    incident.version += 1
    incident.save(update_fields=["escalation_level", "updated_at", "version"])
    target = escalation_target(incident, level)
    _event(incident, "escalated", note=missed[-1].name, level=level, to=target)
    record(
        actor=SYSTEM_ACTOR,
        events=[
            Event(
                AuditAction.INCIDENT_ESCALATE,
                "incident",
                incident.pk,
                details={"level": level, "to": target},
            )
        ],
    )
    _publish(EventName.INCIDENT_ESCALATED, incident)
    _tell_escalation(incident, level, missed[-1].name, target)
    if silent is not None:
        _time_out(incident, silent)
    return incident


def _time_out(incident: Incident, silent: int) -> None:
    """Silence counts as a decline: the next responder is asked (``incident`` locked)."""
    incident.status, incident.assignee_id = Status.NEW.value, None
    incident.save(update_fields=["status", "assignee"])
    _event(incident, "timed_out", before=Status.ASSIGNED.value, timed_out=silent)
    dispatch(incident, exclude=_turned_down(incident))


def reassign_silent(now: dt.datetime | None = None) -> int:
    """Each assignment has the acknowledge window, not only the first: an incident whose acknowledge
    clock was already escalated (the first responder was silent) and whose new assignee has been silent
    as long again goes to the next (a door-knock held by a phone in a pocket is not left for an hour).
    :func:`escalate_due` ends with it; returns how many were timed out."""
    now = now or clock.now()
    rows = (
        Incident.objects.open()
        .filter(
            status=Status.ASSIGNED.value,
            accepted_at__isnull=True,
            escalation_level__gte=1,
            assigned_at__isnull=False,
            acknowledge_due__isnull=False,
        )
        .values_list("pk", "assigned_at", "acknowledge_due", "created_at")
    )
    due = [pk for pk, assigned, ack_due, created in rows if assigned + (ack_due - created) < now]
    done = 0
    for pk in due:
        with transaction.atomic():
            incident = Incident.objects.select_for_update().filter(pk=pk).first()
            if incident is None or incident.status != Status.ASSIGNED.value or incident.accepted_at:
                continue
            assigned, ack_due = incident.assigned_at, incident.acknowledge_due
            if incident.assignee_id is None or assigned is None or ack_due is None:
                continue
            if assigned + (ack_due - incident.created_at) >= now:
                continue
            _time_out(incident, incident.assignee_id)
            done += 1
    return done


def _turned_down(incident: Incident) -> set[int]:
    """Those who declined ``incident`` or let it time out: dispatch does not ask them again."""
    return _turned_down_of([incident.pk]).get(incident.pk, set())


def _turned_down_of(pks: Sequence[int]) -> dict[int, set[int]]:
    """:func:`_turned_down` of several incidents at once, by incident id (one query)."""
    found: dict[int, set[int]] = {}
    for event in IncidentEvent.objects.filter(incident__in=list(pks), kind__in=["decline", "timed_out"]):
        users = found.setdefault(event.incident_id, set())
        if event.actor_id:
            users.add(event.actor_id)
        if event.details.get("timed_out"):
            users.add(event.details["timed_out"])
    return found


REDISPATCH_AFTER = dt.timedelta(minutes=1)


def redispatch_waiting(now: dt.datetime | None = None) -> int:
    """Open incidents that dispatch could give to nobody (every responder busy, off duty or having
    turned it down) are offered again once a minute, so that the first responder to become free gets
    the nearest; returns how many were assigned. Run by the worker each round."""
    now = now or clock.now()
    free = _free_places(now)
    if free == 0:  # nobody on duty has room: nothing to try this round (the common case under load)
        return 0
    latest = DispatchDecision.objects.filter(incident=OuterRef("pk")).order_by("-at", "-pk")
    waiting = (
        Incident.objects.open()
        .filter(status=Status.NEW.value, assignee__isnull=True)
        .annotate(
            last_reason=Subquery(latest.values("reason")[:1]), last_at=Subquery(latest.values("at")[:1])
        )
        .filter(last_reason="none_available", last_at__lte=now - REDISPATCH_AFTER)
        .order_by("created_at", "pk")
    )
    pks = list(waiting.values_list("pk", flat=True)[:200])
    weighing = _Round(now, pks)
    assigned = 0
    for pk in pks:
        # Nobody free for it yet: nothing is recorded (no decision, no timeline line every minute).
        if not weighing.anyone_free(pk):
            continue
        with transaction.atomic():
            incident = Incident.objects.select_for_update().filter(pk=pk).first()
            if incident is None or incident.status != Status.NEW.value or incident.assignee_id is not None:
                continue
            turned_down = _turned_down(incident)
            ranking = _rank(incident, exclude=turned_down, now=now)
            if not any(r.eligible for r in ranking):
                continue
            chosen = dispatch(incident, exclude=turned_down, ranking=ranking).chosen_id
            if chosen is not None:
                assigned += 1
                weighing.took(chosen)
        if assigned >= free:  # every free place taken: the rest wait for the next round
            break
    return assigned


class _Round:
    """What one round of :func:`redispatch_waiting` reads once for all the incidents it weighs (a few
    queries, not a ranking each): the incidents, who turned each down, the candidates of each kind of
    incident (community, accountable body and role, or the roles going on foot), who is on duty at
    ``now`` and how many open incidents each holds, counting those the round gives out (:meth:`took`).
    Only eligibility is weighed here, never distances: an incident someone could take is then locked
    and ranked afresh as before, so the round decides as one ranking per incident would."""

    FIELDS = ("id", "community_id", "category_id", "accountable_id", "accountable_role")

    def __init__(self, now: dt.datetime, pks: Sequence[int]) -> None:
        self.incidents = (
            Incident.objects.select_related("category")
            .only(*self.FIELDS, "category__code", "category__skill")
            .in_bulk(list(pks))
        )
        communities = {i.community_id for i in self.incidents.values()}
        self.communities = Region.objects.defer("boundary").in_bulk(communities)
        self.turned_down = _turned_down_of(pks)
        self.on_duty = _on_duty(now)
        self.load: dict[int, int] = {}
        self.candidates: dict[tuple, list[Responder]] = {}
        self.answers: dict[tuple, bool] = {}  # (kind of incident, skill, turned down) -> anyone free

    def anyone_free(self, pk: int) -> bool:
        incident = self.incidents.get(pk)
        if incident is None:
            return False
        on_foot = ON_FOOT_ROLES.get(incident.category.code)
        key = (
            (incident.community_id, on_foot)
            if on_foot
            else (incident.community_id, incident.accountable_id, incident.accountable_role)
        )
        excluded = frozenset(self.turned_down.get(pk, ()))
        answer = self.answers.get((key, incident.category.skill, excluded))
        if answer is not None:
            return answer
        responders = self.candidates.get(key)
        if responders is None:
            incident.community = self.communities[incident.community_id]
            responders = self.candidates[key] = _weighed(incident)
            unknown = [r.user_id for r in responders if r.user_id not in self.load]
            self.load.update({user: 0 for user in unknown} | _load_of(unknown))
        ranking = flow.rank(
            _candidates(responders, on_duty=self.on_duty, load=self.load),
            target=None,
            distances_m={},
            walking_speed_mps=walking_speed_mps(),
            skill=incident.category.skill or None,
            excluded=excluded,
        )
        answer = self.answers[(key, incident.category.skill, excluded)] = any(r.eligible for r in ranking)
        return answer

    def took(self, user: int) -> None:
        """``user`` was given an incident in this round: one more in hand."""
        if user in self.load:
            self.load[user] += 1
        self.answers.clear()


def _free_places(now: dt.datetime) -> int:
    """How many more incidents the responders on duty now can take (capacity less their open ones)."""
    on_duty = list(
        Responder.objects.filter(shifts__starts_at__lte=now, shifts__ends_at__gt=now)
        .distinct()
        .values_list("user_id", "capacity")
    )
    if not on_duty:
        return 0
    load = dict(
        Incident.objects.open()
        .filter(assignee__in=[user for user, _capacity in on_duty])
        .values_list("assignee")
        .annotate(n=Count("id"))
    )
    return sum(max(capacity - load.get(user, 0), 0) for user, capacity in on_duty)


# --- alerts that open incidents -------------------------------------------------------------------
# The worker (``open_incidents_for_alerts``) and a person's click on the cockpit (``dispatch_alert``)
# both open incidents for alerts. Each locks the alert's row (``_lock_alert``), then looks for its open
# incident and opens one only if there is none (``_open_incident_for_alert``), so that the two take
# turns; the constraint ``incident_one_open_per_alert`` refuses a second open incident whatever wrote
# it, and a writer it refuses takes the incident that is open instead.


class AlertHasOpenIncident(Conflict):
    """The alert has an open incident already (``incident``): it is not opened twice."""

    def __init__(self, incident: Incident) -> None:
        super().__init__(
            _("This alert already has an open incident (number %(number)s).") % {"number": incident.pk},
            field="alert",
        )
        self.incident = incident


def _open_incident_of(alert) -> Incident | None:
    return Incident.objects.open().filter(alert=alert).order_by("-created_at", "-id").first()


def _lock_alert(pk) -> Alert | None:
    """The alert, its row locked until the transaction ends, with what its place is read from."""
    return (
        Alert.objects.select_for_update(of=("self",))
        .select_related("rule", "community", *ALERT_PLACE_RELATED)
        .filter(pk=pk)
        .first()
    )


def _open_incident_for_alert(
    alert: Alert, *, actor, category: str, dispatch_now: bool
) -> tuple[Incident, bool]:
    """The alert's open incident, else one opened now for it (``category``, the alert's grade and
    place, its rule's name): ``(incident, opened)``. Call it in a transaction holding the alert's
    lock (``_lock_alert``). Should another writer have opened one meanwhile without the lock, the
    database refuses this one and that incident is returned."""
    incident = _open_incident_of(alert)
    if incident is not None:
        return incident, False
    try:
        incident = open_incident(
            actor=actor,
            category=category,
            grade=alert.grade,
            source="alert",
            alert=alert,
            description=alert.rule.name,
            dispatch_now=dispatch_now,
            **alert_place(alert).for_incident(),
        )
    except AlertHasOpenIncident as exc:
        return exc.incident, False
    return incident, True


def open_incidents_for_alerts(*, within: dt.timedelta = dt.timedelta(days=1)) -> list[Incident]:
    """Active alerts whose rule names an incident category and that have no incident yet each open
    one (the system is the actor) and dispatch it; returns those it opened. Safe to run in several
    processes, and beside people dispatching from the cockpit: the alert's row is locked."""
    since = clock.now() - within
    pending = (
        Alert.objects.filter(status__in=ACTIVE_STATUSES, raised_at__gte=since, incidents__isnull=True)
        .exclude(rule__incident_category="")
        .values_list("pk", flat=True)
    )
    opened = []
    for pk in list(pending[:200]):
        with transaction.atomic():
            alert = _lock_alert(pk)
            if alert is None or alert.incidents.exists():
                continue
            try:
                incident, is_new = _open_incident_for_alert(
                    alert, actor=None, category=alert.rule.incident_category, dispatch_now=True
                )
            except InvalidInput as exc:
                logger.warning("alert %s opens no incident: %s", alert.pk, exc.message)
                continue
            if is_new:
                opened.append(incident)
    return opened


def dispatch_alert(
    *, actor: Actor, alert: Alert, responder_user_id: int, category: str | None = None
) -> Incident:
    """One click on the cockpit: the alert's open incident (opened now from its rule's category, or
    ``category``, if it has none) is assigned to the chosen responder on duty. Under the alert's lock,
    as the worker opens incidents: a click and the worker never open two for one alert."""
    if not can(actor, Action.MANAGE_INCIDENTS):
        raise PermissionDenied(_("Your role may not dispatch responders."))
    on_duty = {
        r["responder"].user_id: r["responder"]
        for r in nearest_responders(alert.community, alert_place(alert).for_walking(), limit=1000)
    }
    responder = on_duty.get(responder_user_id)
    if responder is None:
        raise InvalidInput(_("Choose a responder on duty for this community."), field="responder")
    with transaction.atomic():
        locked = _lock_alert(alert.pk)
        if locked is None:
            raise NotFound(_("No such alert."))
        incident = _open_incident_of(locked)
        if incident is None:
            code = category or locked.rule.incident_category
            if not code:
                raise InvalidInput(
                    _("This alert's rule names no incident category: choose one."), field="category"
                )
            if not Category.objects.filter(code=code, is_active=True).exists():
                raise InvalidInput(_("Unknown category."), field="category")
            incident, _opened = _open_incident_for_alert(
                locked, actor=actor, category=code, dispatch_now=False
            )
        if incident.assignee_id == responder.user_id:
            return incident
        return act(actor=actor, incident=incident, move="assign", assignee=responder.user)


# --- an alert and its incident: one story ----------------------------------------------------------
# Resolving one asks what becomes of the other: resolved too, or kept open with a reason. An incident's
# "resolve" settles its alert here (``_alert_step``); an alert's resolution (``warning.services
# .resolve_alert``) settles its incident through ``AlertIncidents.settle``, which response gives warning
# at start-up (``ResponseConfig.ready``): warning, below response, may not import it.


def _alert_step(actor: Actor, incident: Incident, step: LinkedStep, reason: str) -> dict[str, Any]:
    """What resolving ``incident`` does to its active alert, for the timeline: ``resolved`` (the
    caller then resolves it, in the same transaction), ``kept`` (with the reason), or ``left`` (the
    actor's role may not handle alerts there: the alert stays for those who may); nothing when it
    has no active alert."""
    alert = incident.alert
    if alert is None or alert.status not in ACTIVE_STATUSES:
        return {}
    if step == LinkedStep.KEEP:
        return {"alert": "kept", "alert_id": alert.pk, "alert_reason": reason[:200]}
    handles = Alert.objects.restrict(actor, Action.HANDLE_ALERTS).filter(pk=alert.pk).exists()
    return {"alert": "resolved" if handles else "left", "alert_id": alert.pk}


def alert_to_settle(user: Actor, incident: Incident) -> Alert | None:
    """The incident's alert, if it is still active and ``user`` may resolve it: what resolving the
    incident asks about."""
    alert = incident.alert
    if alert is None or alert.status not in ACTIVE_STATUSES:
        return None
    return Alert.objects.restrict(user, Action.HANDLE_ALERTS).filter(pk=alert.pk).first()


def _incident_of_alert(alert: Alert, incidents=None) -> Incident | None:
    """The alert's open incident, else its latest."""
    found = (incidents if incidents is not None else Incident.objects.all()).filter(alert=alert)
    return found.open().order_by("-created_at", "-id").first() or found.order_by("-created_at", "-id").first()


class AlertIncidents:
    """What warning's alert pages and resolution get from response (:class:`IncidentsOfAlerts`)."""

    def incident_of(self, user: Actor, alert: Alert) -> AlertIncident | None:
        incident = _incident_of_alert(alert, Incident.objects.restrict(user).select_related("assignee"))
        if incident is None:
            return AlertIncident(id=None, hidden=True) if _incident_of_alert(alert) is not None else None
        return AlertIncident(
            id=incident.pk,
            status=incident.status,
            status_label=str(incident.get_status_display()),
            is_open=incident.status in {s.value for s in flow.OPEN},
            assignee=incident.assignee.display_name if incident.assignee is not None else "",
            url=reverse("response:incident-detail", args=[incident.pk]),
        )

    def settle(self, *, actor: Actor, alert: Alert, step: LinkedStep, note: str, reason: str) -> int | None:
        """The alert is resolved (its row locked): its open incident is resolved too (cancelled if
        nobody has accepted it yet: there is nothing left to do), or kept open with ``reason`` on its
        timeline. Authority comes from the alert: whoever may resolve it settles its incident."""
        open_one = Incident.objects.open().filter(alert=alert).values_list("pk", flat=True).first()
        if open_one is None:
            return None
        incident = Incident.objects.select_for_update().get(pk=open_one)
        if step == LinkedStep.KEEP:
            # Not a step of the incident's: its timeline says why it goes on without its alert.
            _event(incident, "alert_resolved", actor=actor, note=reason, alert=alert.pk, kept_open=True)
            return incident.pk
        accepted = incident.status in (Status.ACCEPTED.value, Status.ON_SCENE.value)
        _apply(
            incident,
            Move.RESOLVE if accepted else Move.CANCEL,
            actor=actor,
            note=note,
            more={"with_alert": alert.pk},
        )
        return incident.pk


ALERT_INCIDENTS = AlertIncidents()


def withdraw(incident_pk: int, *, note: str) -> bool:
    """The system withdraws an incident no longer needed (a household answered before its door-knock):
    cancelled, with ``note`` on its timeline, if nobody is on scene yet; returns whether it was. The
    caller holds the transaction."""
    incident = Incident.objects.select_for_update().filter(pk=incident_pk).first()
    waiting = (Status.NEW.value, Status.ASSIGNED.value, Status.ACCEPTED.value)
    if incident is None or incident.status not in waiting:
        return False
    _apply(incident, Move.CANCEL, actor=None, note=note)
    return True


# --- positions ------------------------------------------------------------------------------------


def _move_responder(user, latitude: float, longitude: float, *, community: Region | None, at) -> bool:
    """Keep a responder's last known position; ``responder.moved`` tells the cockpit (ids only: the
    position itself is read from the database by those who may see it, never sent over the bus)."""
    mine = Responder.objects.filter(user=user)
    updated = mine.update(latitude=latitude, longitude=longitude, position_at=at)
    if updated:
        responder_id = mine.values_list("pk", flat=True).first()
        payload: ResponderMovedPayload = {
            "id": responder_id,
            "user": user.pk,
            "community": community.code if community else None,
        }
        publish_on_commit(EventName.RESPONDER_MOVED, payload)
    return bool(updated)


def report_position(*, actor: Actor, latitude: float, longitude: float) -> None:
    """A responder's phone tells where they are (the dispatcher ranks by it; the cockpit shows it)."""
    if not can(actor, Action.HANDLE_INCIDENTS):
        raise PermissionDenied(_("Only responders report their position."))
    if not (-90 <= latitude <= 90):
        raise InvalidInput(_("The latitude is between -90 and 90."), field="latitude")
    if not (-180 <= longitude <= 180):
        raise InvalidInput(_("The longitude is between -180 and 180."), field="longitude")
    grid = _grid_at(Region.objects.filter(kind=RegionKind.GRID).exclude(boundary=None), latitude, longitude)
    with transaction.atomic():
        if not _move_responder(
            actor, latitude, longitude, community=grid.parent if grid else None, at=clock.now()
        ):
            raise NotFound(_("You are not on a roster of responders."))


# --- backup ---------------------------------------------------------------------------------------


def request_backup(*, actor: Actor, incident: Incident, note: str = "") -> list:
    """The assignee asks for help: the nearest other on-duty responders of the backup body named by
    the matrix cell (else of the accountable body) are told, most urgently for red and orange; the
    request is on the timeline and audited. Returns the users asked."""
    if not can(actor, Action.HANDLE_INCIDENTS):
        raise PermissionDenied(_("You may not take this step."))
    if len(note) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("The note is longer than %(max)d characters.") % {"max": DESCRIPTION_MAX}, field="note"
        )

    with transaction.atomic():
        locked = Incident.objects.restrict(actor).select_for_update().filter(pk=incident.pk).first()
        if locked is None:
            raise NotFound(_("No such incident."))
        if locked.assignee_id != actor.pk:
            raise PermissionDenied(_("This incident is not assigned to you."))
        if locked.status not in (Status.ACCEPTED.value, Status.ON_SCENE.value):
            raise Conflict(_("Ask for backup once you have accepted the incident."), field="status")
        cell = locked.responsibility
        body, role = (cell.backup, cell.backup_role) if cell is not None and cell.backup_id else (None, "")
        body, role = (body, role) if body is not None else (locked.accountable, locked.accountable_role)
        now = clock.now()
        helpers = responders_serving(locked.community).filter(
            organisation=body, shifts__starts_at__lte=now, shifts__ends_at__gt=now
        )
        if role:
            helpers = helpers.filter(user__role=role)
        helpers = [h for h in helpers.exclude(user=actor).distinct()]
        graph, _target, distances = _walking_from(locked)

        def walk(h: Responder) -> float:
            node = nearest_node(graph, h.latitude, h.longitude)
            return distances.get(node, float("inf")) if node is not None else float("inf")

        asked = [h.user for h in sorted(helpers, key=lambda h: (walk(h), h.pk))[:2]]
        _event(
            locked, "backup_requested", actor=actor, note=note, asked=[u.pk for u in asked], body=body.code
        )
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.INCIDENT_BACKUP,
                    "incident",
                    locked.pk,
                    details={"asked": [u.pk for u in asked]},
                )
            ],
        )
        if asked:
            notify(
                asked,
                "incident.backup",
                gettext_lazy("Backup needed at incident %(number)s"),
                gettext_lazy(
                    "%(category)s at %(place)s (grade %(grade)s): a colleague on the incident asks for help."
                ),
                params=_about(locked),
                reference=("incident", locked.pk),
                urgency="urgent" if locked.grade in URGENT_GRADES else "normal",
            )
        _publish(EventName.INCIDENT_BACKUP, locked)
    return asked
