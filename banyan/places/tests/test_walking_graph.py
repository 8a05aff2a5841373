"""The walking graph kept per process: when its stamp is read again, and what dispatch asks of it (the
nearest node to a point, a building's node, distances from a node), worked out once per graph."""

from __future__ import annotations

import networkx as nx
import pytest

from banyan.places import services
from banyan.places.geo import haversine_m
from banyan.places.models import PathEdge, PathNode, Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def community():
    return Region.objects.filter(kind="community").order_by("code").first()


@pytest.fixture
def wall(monkeypatch):
    """Wall time as the cache reads it, moved by hand."""
    moments = [1000.0]
    monkeypatch.setattr(services, "_wall_s", lambda: moments[0])
    monkeypatch.setattr(services, "_CHECKED", {})
    return moments


def test_the_stamp_is_read_at_most_every_few_seconds_of_wall_time(community, wall, django_assert_num_queries):
    first = services.walking_graph(community)
    with django_assert_num_queries(0):
        assert services.walking_graph(community) is first
    wall[0] += services.GRAPH_CHECK_S
    with django_assert_num_queries(2):  # the stamp: nodes and edges
        assert services.walking_graph(community) is first, "unchanged rows: the same graph"


def test_a_path_written_in_bulk_is_seen_once_the_check_is_due(community, wall):
    graph = services.walking_graph(community)
    a, b = PathNode.objects.filter(community=community).order_by("pk")[:2]
    PathEdge.objects.filter(source__community=community).update(length_m=1.0)  # no signal
    assert services.walking_graph(community) is graph, "trusted for GRAPH_CHECK_S"
    wall[0] += services.GRAPH_CHECK_S
    fresh = services.walking_graph(community)
    assert fresh is not graph
    assert {d["length_m"] for _a, _b, d in fresh.edges(data=True)} == {1.0}
    assert a.pk in fresh and b.pk in fresh


def test_a_path_saved_here_is_seen_at_once(community, wall):
    graph = services.walking_graph(community)
    lone = PathNode.objects.create(community=community, code="T-LONE", latitude=30.0, longitude=120.0)
    fresh = services.walking_graph(community)
    assert fresh is not graph and lone.pk in fresh and lone.pk not in graph
    edge = PathEdge.objects.filter(source__community=community).order_by("pk").first()
    edge.length_m = 4321.0
    edge.save(update_fields=["length_m"])
    again = services.walking_graph(community)
    assert again.edges[edge.source_id, edge.target_id]["length_m"] == 4321.0


def test_the_nearest_node_is_the_first_of_the_nearest_as_a_scan_finds_it(community):
    graph = services.walking_graph(community)
    nodes = [d for _n, d in graph.nodes(data=True)]
    probe = nodes[len(nodes) // 3]
    points = [
        (probe["latitude"] + 0.0003, probe["longitude"] - 0.0002),
        (probe["latitude"], probe["longitude"]),
        (nodes[0]["latitude"] - 0.01, nodes[0]["longitude"]),
    ]
    for latitude, longitude in points:
        expected = min(nodes, key=lambda n: haversine_m(longitude, latitude, n["longitude"], n["latitude"]))
        assert services.nearest_node(graph, latitude, longitude) == expected["id"]
        assert services.nearest_node(graph, latitude, longitude) == expected["id"], "remembered"
    assert services.nearest_node(graph, None, 120.0) is None
    assert services.nearest_node(nx.Graph(), 30.0, 120.0) is None


def test_a_buildings_node_and_the_distances_from_a_node(community):
    graph = services.walking_graph(community)
    door = PathNode.objects.filter(community=community).exclude(building=None).order_by("pk").first()
    first = min(
        (n for n, d in graph.nodes(data=True) if d["building_id"] == door.building_id),
        key=list(graph.nodes).index,
    )
    assert services.node_of(graph, "building_id", door.building_id) == first
    assert services.node_of(graph, "facility_id", -1) is None
    distances = services.distances_from(graph, first)
    assert distances == nx.single_source_dijkstra_path_length(graph, first, weight="length_m")
    assert services.distances_from(graph, first) is distances, "kept for the next incident there"
