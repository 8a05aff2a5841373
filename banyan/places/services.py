"""Reads and writes of places: access functions, region tree upkeep, the walking graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core.access import Action, Actor, can
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.places.models import Building, Facility, PathEdge, PathNode, Region, Unit

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


def get_region_for(user: Actor | AnonymousUser, pk, action: Action = Action.VIEW_PLACES) -> Region:
    region = Region.objects.restrict(user, action).filter(pk=pk).first()
    if region is None:
        raise NotFound(_("Region not found."))
    return region


def get_region_by_code_for(
    user: Actor | AnonymousUser, code: str, action: Action = Action.VIEW_PLACES
) -> Region:
    region = Region.objects.restrict(user, action).filter(code=code).first()
    if region is None:
        raise NotFound(_("Region not found."))
    return region


def get_building_for(user: Actor | AnonymousUser, pk, action: Action = Action.VIEW_PLACES) -> Building:
    building = Building.objects.restrict(user, action).select_related("grid").filter(pk=pk).first()
    if building is None:
        raise NotFound(_("Building not found."))
    return building


def get_unit_for(user: Actor | AnonymousUser, pk, action: Action = Action.VIEW_PLACES) -> Unit:
    unit = Unit.objects.restrict(user, action).select_related("building__grid").filter(pk=pk).first()
    if unit is None:
        raise NotFound(_("Unit not found."))
    return unit


def get_facility_for(user: Actor | AnonymousUser, pk, action: Action = Action.VIEW_PLACES) -> Facility:
    facility = Facility.objects.restrict(user, action).select_related("region").filter(pk=pk).first()
    if facility is None:
        raise NotFound(_("Facility not found."))
    return facility


def region_path(parent: Region | None, pk: int) -> str:
    return Region.path_for(parent, pk)


@transaction.atomic
def create_region(*, actor: Actor, parent: Region | None, data: dict) -> Region:
    """Add a region under ``parent`` (which the caller loaded in scope with CHANGE_PLACES)."""
    from django.core.exceptions import ValidationError

    if not can(actor, Action.CHANGE_PLACES):
        raise PermissionDenied(_("Your role cannot change places."))
    region = Region(parent=parent, **data)
    try:
        region.full_clean(exclude=["path"])
    except ValidationError as exc:
        name, errors = next(iter(exc.error_dict.items()))
        raise InvalidInput(" ".join(m for e in errors for m in e.messages), field=name) from None
    region.path = "/pending/"
    region.save()
    region.path = region_path(parent, region.pk)
    region.save(update_fields=["path"])
    record(
        actor=actor,
        events=[Event(AuditAction.REGION_CREATE, "region", region.pk, details={"code": region.code})],
    )
    return region


# Graphs by community, with the stamp of the rows they were built from (an import replaces them all).
_GRAPHS: dict[int, tuple[tuple, nx.Graph]] = {}


def _graph_stamp(community: Region) -> tuple:
    """Counts, top ids and sums of what the graph is made of: equal only for the same rows (ids alone
    could come back after a rollback with other contents)."""
    nodes = PathNode.objects.filter(community=community).aggregate(
        n=Count("id"), top=Max("id"), lat=Sum("latitude"), lon=Sum("longitude"), b=Sum("building_id")
    )
    edges = PathEdge.objects.filter(source__community=community).aggregate(
        n=Count("id"), top=Max("id"), length=Sum("length_m"), ends=Sum("source_id") + Sum("target_id")
    )
    return tuple(nodes.values()) + tuple(edges.values())


def walking_graph(community: Region) -> nx.Graph:
    """The community's walking graph: nodes by id with lon/lat, edges weighted by ``length_m``.

    Built once per process and kept while the community's path rows stay the same (a real community's
    few thousand nodes take ~0.1 s to load); callers must not change it."""
    stamp = _graph_stamp(community)
    cached = _GRAPHS.get(community.pk)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    graph = _load_walking_graph(community)
    _GRAPHS[community.pk] = (stamp, graph)
    return graph


def _load_walking_graph(community: Region) -> nx.Graph:
    graph = nx.Graph()
    for node in PathNode.objects.filter(community=community).values(
        "id", "code", "latitude", "longitude", "building_id", "facility_id"
    ):
        graph.add_node(node["id"], **node)
    for edge in PathEdge.objects.filter(source__community=community).values(
        "source_id", "target_id", "length_m", "step_free"
    ):
        graph.add_edge(
            edge["source_id"], edge["target_id"], length_m=edge["length_m"], step_free=edge["step_free"]
        )
    return graph


def walking_parts(community: Region) -> list[set[int]]:
    """The walking graph's connected parts, largest first: every part but the first is an island."""
    return sorted(nx.connected_components(walking_graph(community)), key=len, reverse=True)


# Climbing: about 15 s a floor on the stairs for a responder carrying a kit; a lift is waited for once.
STAIRS_S_PER_FLOOR = 15.0
LIFT_WAIT_S = 45.0
LIFT_S_PER_FLOOR = 2.5
LIFT_REQUIRED_FROM_FLOOR = 7  # GB 50096: homes of seven floors or more have a lift


def has_lift(building: Building) -> bool:
    """Whether a responder can ride up: as recorded, else as the residential design code requires."""
    if building.lift is not None:
        return building.lift
    return building.floors >= LIFT_REQUIRED_FROM_FLOOR


def climb_seconds(building: Building | None, floor: int | None) -> float:
    """Seconds from the building's entrance to ``floor``: stairs where it has no lift."""
    if building is None or floor is None or floor <= 1:
        return 0.0
    if has_lift(building):
        return LIFT_WAIT_S + LIFT_S_PER_FLOOR * (floor - 1)
    return STAIRS_S_PER_FLOOR * (floor - 1)


def walking_distance_m(graph: nx.Graph, source: int, target: int, *, step_free: bool = False) -> float:
    """Shortest walking distance between two nodes; ``step_free`` keeps to wheelchair-usable edges."""
    view = graph
    if step_free:
        view = nx.subgraph_view(graph, filter_edge=lambda a, b: graph.edges[a, b]["step_free"])
    try:
        return nx.shortest_path_length(view, source, target, weight="length_m")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        raise InvalidInput(_("No walking path between these points."), field="target") from None
