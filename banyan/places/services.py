"""Reads and writes of places: access functions, region tree upkeep, the walking graph."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import networkx as nx
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core.access import Action, Actor, can
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.places.geo import haversine_m
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


# Graphs by community, with the stamp of the rows they were built from (an import replaces them all) and
# when (wall time: ``time.monotonic``, never the simulated clock) the stamp was last read.
_GRAPHS: dict[int, tuple[tuple, nx.Graph]] = {}
_CHECKED: dict[int, float] = {}
# How long a graph is trusted without reading its stamp again. A path row saved through the ORM in this
# process, and any save of the community, have it read again at once (``_forget_checks``); rows written
# in bulk or by another process are seen within this many seconds.
GRAPH_CHECK_S = 2.0
_wall_s = time.monotonic


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
    few thousand nodes take ~0.1 s to load): their stamp is read at most every ``GRAPH_CHECK_S``
    seconds, and at once after a path row or the community was saved in this process. Callers must not
    change it (nor what :func:`nearest_node` and :func:`distances_from` return)."""
    cached = _GRAPHS.get(community.pk)
    if cached is not None and _wall_s() - _CHECKED.get(community.pk, -math.inf) < GRAPH_CHECK_S:
        return cached[1]
    stamp = _graph_stamp(community)
    _CHECKED[community.pk] = _wall_s()
    if cached is not None and cached[0] == stamp:
        return cached[1]
    graph = _load_walking_graph(community)
    _GRAPHS[community.pk] = (stamp, graph)
    return graph


def _forget_checks(sender, **kwargs) -> None:
    """A path row or a region (an import saves its community) was saved here, or a region deleted: every
    graph's stamp is read again when next asked for (the graph is kept while its stamp is unchanged).
    Not on a path row's deletion: a receiver would stop the importer deleting them in one statement."""
    _CHECKED.clear()


for _model in (PathNode, PathEdge, Region):
    post_save.connect(_forget_checks, sender=_model, dispatch_uid=f"walking-graph-{_model.__name__}")
post_delete.connect(_forget_checks, sender=Region, dispatch_uid="walking-graph-Region")


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


# What dispatch asks of a graph again and again, worked out once per graph and kept with it (in
# ``graph.graph``): its nodes' data in order, the node of each building and facility, the nearest node
# to a point, the walking distances from a node (the last ``DISTANCES_KEPT`` asked for).
NEAREST_KEPT = 50_000
DISTANCES_KEPT = 64


def graph_nodes(graph: nx.Graph) -> list[dict]:
    """The graph's nodes' data (``id``, ``latitude``, ``longitude``, ``building_id``, ``facility_id``) in
    the graph's order."""
    nodes = graph.graph.get("node_list")
    if nodes is None:
        nodes = graph.graph["node_list"] = [data for _node, data in graph.nodes(data=True)]
    return nodes


def node_of(graph: nx.Graph, field: str, value: int) -> int | None:
    """The first node (in the graph's order) whose ``field`` (``building_id`` or ``facility_id``) is
    ``value``."""
    index = graph.graph.get(f"by_{field}")
    if index is None:
        index = {}
        for node in graph_nodes(graph):
            if node[field] is not None:
                index.setdefault(node[field], node["id"])
        graph.graph[f"by_{field}"] = index
    return index.get(value)


def nearest_node(graph: nx.Graph, latitude: float | None, longitude: float | None) -> int | None:
    """The node nearest to the point as the crow flies (the first of equals, in the graph's order); None
    without a point or nodes. Remembered per point: responders stand at the same doors again and again."""
    if latitude is None or longitude is None:
        return None
    known: dict[tuple[float, float], int | None] = graph.graph.setdefault("nearest", {})
    key = (latitude, longitude)
    if key not in known:
        if len(known) >= NEAREST_KEPT:
            known.clear()
        nodes = graph_nodes(graph)
        known[key] = (
            min(nodes, key=lambda n: haversine_m(longitude, latitude, n["longitude"], n["latitude"]))["id"]
            if nodes
            else None
        )
    return known[key]


def distances_from(graph: nx.Graph, node: int) -> dict[int, float]:
    """Metres over the graph from ``node`` to every node it reaches (``length_m``); the last
    ``DISTANCES_KEPT`` asked for are kept."""
    kept: OrderedDict[int, dict[int, float]] = graph.graph.setdefault("distances", OrderedDict())
    if node in kept:
        kept.move_to_end(node)
        return kept[node]
    distances = nx.single_source_dijkstra_path_length(graph, node, weight="length_m")
    kept[node] = distances
    if len(kept) > DISTANCES_KEPT:
        kept.popitem(last=False)
    return distances


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
