"""The walking graph from real paths: lines to nodes and edges, places joined on, islands found.

Input is what an importer read: lines (footways, paths, steps, pedestrian streets, residential
roads …) as lists of vertices, each vertex with a key that is shared where two lines meet (an OSM
node id, or the rounded coordinates of a surveyed vertex), and the places to join: building
entrances, buildings without a mapped entrance (joined at the point of their outline nearest the
paths) and facilities. Every place is joined to the nearest point of the nearest segment (the segment
is split there), so that walking distances run along the paths rather than to the nearest junction.
A line ending within ``SNAP_M`` of another line that does not share its vertex (a survey's
T-junction) is joined the same way.

Work happens in metres on a local equirectangular projection around the data's centre, which is
accurate to well under a metre over a community's few kilometres. Problems are worded in the active
language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import shapely
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from shapely.geometry import LineString, Point

from banyan.places.geo import EARTH_RADIUS_M

SNAP_M = 2.0  # a line's loose end this close to another line is joined to it
MAX_LINK_M = 150.0  # a place farther than this from every path is not joined (and reported)

# How a line's kind (OSM highway=*, or a GeoJSON path's "path_kind") becomes an edge's kind.
EDGE_KIND = {
    "footway": "footway",
    "sidewalk": "footway",
    "crossing": "footway",
    "path": "path",
    "track": "path",
    "trail": "path",
    "bridleway": "path",
    "cycleway": "path",
    "corridor": "footway",
    "platform": "footway",
    "steps": "steps",
    "pedestrian": "pedestrian",
    "living_street": "road",
    "residential": "road",
    "service": "road",
    "unclassified": "road",
    "tertiary": "road",
    "secondary": "road",
    "primary": "road",
    "road": "road",
    "elevator": "lift",
    "lift": "lift",
}


@dataclass
class Line:
    """A walkable line: its vertices ``(key, lon, lat)`` in order, its kind and whether it has steps."""

    vertices: list[tuple[str, float, float]]
    kind: str = ""
    step_free: bool = True
    source: str = ""


@dataclass
class Anchor:
    """A place to join: ``ref`` names it in problems; ``building``/``facility`` say whose node it is."""

    ref: str
    lon: float
    lat: float
    building: object = None
    facility: object = None
    entrance: bool = False
    outline: object = None  # a shapely Polygon (lon/lat): join at the outline's nearest point instead


@dataclass
class Graph:
    nodes: dict[str, dict] = field(default_factory=dict)  # code → {lon, lat, building, facility}
    edges: dict[tuple[str, str], dict] = field(
        default_factory=dict
    )  # (a, b) sorted → {length_m, kind, step_free}
    problems: list[tuple[str, str]] = field(default_factory=list)  # (feature, problem)
    islands: list[set[str]] = field(default_factory=list)


class _Projection:
    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
        self.ky = math.radians(1) * EARTH_RADIUS_M

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        return x / self.kx + self.lon0, y / self.ky + self.lat0


def build(lines: list[Line], anchors: list[Anchor]) -> Graph:
    graph = Graph()
    points = [(lon, lat) for line in lines for _k, lon, lat in line.vertices] + [
        (a.lon, a.lat) for a in anchors
    ]
    if not points:
        return graph
    proj = _Projection(sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    xy: dict[str, tuple[float, float]] = {}
    for line in lines:
        previous = None
        for key, lon, lat in line.vertices:
            xy.setdefault(key, proj.xy(lon, lat))
            graph.nodes.setdefault(key, {"lon": lon, "lat": lat, "building": None, "facility": None})
            if previous is not None and previous != key:
                _add_edge(graph, xy, previous, key, line.kind, line.step_free)
            previous = key
    _join_loose_ends(graph, xy, lines)
    _join_anchors(graph, xy, proj, anchors)
    _find_islands(graph)
    return graph


def _add_edge(
    graph: Graph, xy, a: str, b: str, kind: str, step_free: bool, length: float | None = None
) -> None:
    if a == b:
        return
    if length is None:
        (ax, ay), (bx, by) = xy[a], xy[b]
        length = math.hypot(ax - bx, ay - by)
    pair = (a, b) if a < b else (b, a)
    existing = graph.edges.get(pair)
    if existing is None or existing["length_m"] > length:
        graph.edges[pair] = {"length_m": max(length, 0.01), "kind": kind, "step_free": step_free}


def _segments(graph: Graph, xy) -> tuple[list[tuple[str, str]], shapely.STRtree | None]:
    pairs = list(graph.edges)
    if not pairs:
        return pairs, None
    return pairs, shapely.STRtree([LineString([xy[a], xy[b]]) for a, b in pairs])


def _split(graph: Graph, xy, pair: tuple[str, str], at: list[tuple[float, str]]) -> None:
    """Replace the edge ``pair`` by a chain through the nodes ``at`` (distance along it, code)."""
    data = graph.edges.pop(pair)
    a, b = pair
    chain = [a, *[code for _d, code in sorted(at)], b]
    for u, v in zip(chain, chain[1:], strict=False):
        _add_edge(graph, xy, u, v, data["kind"], data["step_free"])


def _snap_all(graph: Graph, xy, targets: list[tuple[str, tuple[float, float], float]]) -> dict[str, str]:
    """Join each ``(code, point, max_m)`` to the nearest point of the nearest segment within max_m that
    does not touch ``code`` itself: returns code → the node on the path it was joined to (new nodes are
    made where a segment is split)."""
    pairs, tree = _segments(graph, xy)
    joined: dict[str, str] = {}
    if tree is None:
        return joined
    splits: dict[int, list[tuple[float, str]]] = {}
    for code, (x, y), max_m in targets:
        point = Point(x, y)
        best = None
        for index in tree.query(point, predicate="dwithin", distance=max_m).tolist():
            a, b = pairs[index]
            if code in (a, b):
                continue
            distance = LineString([xy[a], xy[b]]).distance(point)
            if best is None or distance < best[0]:
                best = (distance, index)
        if best is None:
            continue
        index = best[1]
        a, b = pairs[index]
        segment = LineString([xy[a], xy[b]])
        along = segment.project(point)
        if along <= 0.05:
            joined[code] = a
        elif along >= segment.length - 0.05:
            joined[code] = b
        else:
            split_code = f"s{len(xy)}"
            xy[split_code] = segment.interpolate(along).coords[0]
            splits.setdefault(index, []).append((along, split_code))
            joined[code] = split_code
    for index, at in splits.items():
        for _along, split_code in at:
            graph.nodes[split_code] = {"lon": None, "lat": None, "building": None, "facility": None}
        _split(graph, xy, pairs[index], at)
    return joined


def _join_loose_ends(graph: Graph, xy, lines: list[Line]) -> None:
    degree: dict[str, int] = {}
    for a, b in graph.edges:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    ends = {line.vertices[i][0] for line in lines if line.vertices for i in (0, -1)}
    loose = [code for code in ends if degree.get(code, 0) == 1]
    if not loose:
        return
    joined = _snap_all(graph, xy, [(code, xy[code], SNAP_M) for code in loose])
    for code, node in joined.items():
        if node != code and (code, node) not in graph.edges and (node, code) not in graph.edges:
            _add_edge(graph, xy, code, node, "link", True)


def _join_anchors(graph: Graph, xy, proj: _Projection, anchors: list[Anchor]) -> None:
    targets = []
    for i, anchor in enumerate(anchors):
        code = f"{'e' if anchor.entrance else 'f' if anchor.facility is not None else 'b'}{i}"
        x, y = proj.xy(anchor.lon, anchor.lat)
        xy[code] = (x, y)
        graph.nodes[code] = {
            "lon": anchor.lon,
            "lat": anchor.lat,
            "building": anchor.building,
            "facility": anchor.facility,
            "ref": anchor.ref,
        }
        targets.append((code, (x, y), MAX_LINK_M))
    if not targets:
        return
    pairs, tree = _segments(graph, xy)
    # A building without an entrance is joined where its outline comes closest to the paths.
    for i, anchor in enumerate(anchors):
        if anchor.outline is None or tree is None:
            continue
        code = targets[i][0]
        outline = shapely.transform(anchor.outline, lambda c: _project_array(c, proj))
        nearest = pairs[int(tree.nearest(outline))]
        segment = LineString([xy[nearest[0]], xy[nearest[1]]])
        on_outline = shapely.shortest_line(outline.exterior, segment).coords[0]
        xy[code] = on_outline
        lon, lat = proj.lonlat(*on_outline)
        graph.nodes[code].update(lon=lon, lat=lat)
        targets[i] = (code, on_outline, MAX_LINK_M)
    joined = _snap_all(graph, xy, targets)
    for i, (code, _point, _max) in enumerate(targets):
        node = joined.get(code)
        if node is None:
            graph.problems.append(
                (
                    anchors[i].ref,
                    _("no path within %(metres)s m: not joined to the walking graph")
                    % {"metres": f"{MAX_LINK_M:.0f}"},
                )
            )
            continue
        _add_edge(graph, xy, code, node, "link", True)
    # Coordinates of the nodes made by splitting segments.
    for code, data in graph.nodes.items():
        if data["lon"] is None:
            data["lon"], data["lat"] = proj.lonlat(*xy[code])


def _project_array(coords, proj: _Projection):
    out = coords.copy()
    out[:, 0] = (coords[:, 0] - proj.lon0) * proj.kx
    out[:, 1] = (coords[:, 1] - proj.lat0) * proj.ky
    return out


def _find_islands(graph: Graph) -> None:
    """Every connected part but the largest is an island: no one can walk there from the rest. Each
    island with a building or facility on it is a problem naming them (a lone place not joined to any
    path is one already)."""
    g = nx.Graph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from(graph.edges)
    parts = sorted(nx.connected_components(g), key=len, reverse=True)
    graph.islands = parts[1:]
    for part in graph.islands:
        if len(part) == 1 or not any(_is_place(graph.nodes[n]) for n in part):
            continue
        names = sorted({graph.nodes[n]["ref"] for n in part if _is_place(graph.nodes[n])})
        graph.problems.append(
            (
                pgettext("list separator", ", ").join(names[:5]) + (" …" if len(names) > 5 else ""),
                _("an island: %(count)s path points no one can walk to from the main paths")
                % {"count": len(part)},
            )
        )


def _is_place(node: dict) -> bool:
    return node["building"] is not None or node["facility"] is not None
