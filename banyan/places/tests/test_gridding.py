"""Grids proposed by target size, applied, and buildings assigned to the grid they stand in."""

from __future__ import annotations

import itertools

import pytest
import shapely
from django.utils import translation
from shapely.geometry import Point, shape

from banyan.audit.models import AuditEntry
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.places.gridding import apply_grids, assign_buildings, propose_grids
from banyan.places.models import Building, Region

LON, LAT = 121.0, 31.0  # far from the demo community
DX = 1 / (111_320 * 0.857167)  # one metre of longitude at 31°
DY = 1 / 111_320


def box(x0: float, y0: float, x1: float, y1: float) -> dict:
    """A rectangle from (x0, y0) to (x1, y1) in metres east and north of (LON, LAT)."""
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return {"type": "Polygon", "coordinates": [[[LON + x * DX, LAT + y * DY] for x, y in ring]]}


def make_grid(community: Region, code: str, boundary: dict) -> Region:
    grid = Region(parent=community, kind="grid", code=code, name_zh=code, name_en=code, boundary=boundary)
    grid.path = "/pending/"
    grid.save()
    grid.path = Region.path_for(community, grid.pk)
    grid.save(update_fields=["path"])
    return grid


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def town(db):
    """A community 400 m × 300 m with a west and an east grid; twelve buildings (4 × 3, 100 m apart),
    all filed in the west grid to begin with."""
    street = Region.objects.filter(kind="street").first()
    community = Region(
        parent=street, kind="community", code="T-TOWN", name_zh="测试社区", boundary=box(0, 0, 400, 300)
    )
    community.path = "/pending/"
    community.save()
    community.path = Region.path_for(street, community.pk)
    community.save(update_fields=["path"])
    west = make_grid(community, "T-TOWN-W", box(0, 0, 200, 300))
    east = make_grid(community, "T-TOWN-E", box(200, 0, 400, 300))
    buildings = []
    for n, (i, j) in enumerate(itertools.product(range(4), range(3)), start=1):
        x, y = 50 + 100 * i, 50 + 100 * j
        buildings.append(
            Building.objects.create(
                grid=west,
                code=f"T-TOWN-B{n:02d}",
                name=f"{n}幢",
                kind="low_rise",
                floors=6,
                longitude=LON + x * DX,
                latitude=LAT + y * DY,
            )
        )
    return {"community": community, "west": west, "east": east, "buildings": buildings}


def grids_of(proposals) -> list[dict]:
    return [
        {"code": p.code, "name_zh": p.name_zh, "name_en": p.name_en, "boundary": p.boundary}
        for p in proposals
    ]


def test_proposals_tile_the_community_without_overlap(town):
    proposals = propose_grids(town["community"], target=3, measure="buildings")

    assert [p.weight for p in proposals] == [3, 3, 3, 3]
    areas = [shape(p.boundary) for p in proposals]
    outline = shape(town["community"].boundary)
    union = shapely.union_all(areas)
    assert union.symmetric_difference(outline).area < 1e-4 * outline.area
    for first, second in itertools.combinations(areas, 2):
        assert first.intersection(second).area < 1e-4 * outline.area
    for proposal, area in zip(proposals, areas, strict=True):
        for building in Building.objects.filter(pk__in=proposal.building_ids):
            assert area.contains(Point(building.longitude, building.latitude)), building.code
    assert sorted(pk for p in proposals for pk in p.building_ids) == sorted(b.pk for b in town["buildings"])


def test_proposals_by_weight_come_near_the_target(town):
    weights = {b.pk: 10 + 5 * (n % 3) for n, b in enumerate(town["buildings"])}  # 10, 15, 20 …
    total = sum(weights.values())

    proposals = propose_grids(town["community"], target=40, measure="households", weights=weights)

    assert len(proposals) == round(total / 40)
    assert sum(p.weight for p in proposals) == total
    assert all(abs(p.weight - 40) <= 20 for p in proposals), [p.weight for p in proposals]


def test_proposals_keep_the_codes_of_the_grids_they_overlap_and_name_the_new_ones(town):
    proposals = propose_grids(town["community"], target=3, measure="buildings")

    codes = [p.code for p in proposals]
    assert {"T-TOWN-W", "T-TOWN-E"} <= set(codes)
    new = [p for p in proposals if p.code not in {"T-TOWN-W", "T-TOWN-E"}]
    assert [p.code for p in new] == ["T-TOWN-G01", "T-TOWN-G02"]
    assert {(p.name_zh, p.name_en) for p in new} == {(f"第{p.number}网格", f"Grid {p.number}") for p in new}


def test_proposing_refuses_what_cannot_be_counted(town):
    with pytest.raises(InvalidInput) as refused:
        propose_grids(town["community"], target=50, measure="households", weights={})
    assert refused.value.field == "measure" and "by buildings" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        propose_grids(town["community"], target=0)
    assert refused.value.field == "target"
    with pytest.raises(InvalidInput):
        propose_grids(town["community"], target=5, measure="floors")


def test_applying_a_proposal_moves_every_building_to_the_grid_it_stands_in(town, users):
    community = town["community"]
    before = AuditEntry.objects.count()
    proposals = propose_grids(community, target=3, measure="buildings")

    result = apply_grids(community, grids_of(proposals), actor=users["admin"])

    assert sorted(result.created) == ["T-TOWN-G01", "T-TOWN-G02"]
    assert sorted(result.updated) == ["T-TOWN-E", "T-TOWN-W"]
    assert result.removed == [] and result.outside == []
    grids = {g.code: g for g in community.children.all()}
    for proposal in proposals:
        assert set(Building.objects.filter(grid=grids[proposal.code]).values_list("pk", flat=True)) == set(
            proposal.building_ids
        )
    assert result.moved == 12 - len([pk for p in proposals if p.code == "T-TOWN-W" for pk in p.building_ids])
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == "grids.update" and entry.details["community"] == "T-TOWN"
    assert entry.details["moved"] == result.moved


def test_households_and_devices_follow_their_building(town, users):
    from banyan.core import clock
    from banyan.people.models import Household
    from banyan.places.models import Unit
    from banyan.sensing.models import Device

    building = town["buildings"][-1]  # in the east, filed in the west
    unit = Unit.objects.create(building=building, number="1-01-101", floor=1, exclusive_area_m2=70)
    household = Household.objects.create(code="T-TOWN-H1", unit=unit)
    assert household.grid_id == town["west"].pk
    common = {
        "kind": "smoke",
        "community": town["community"],
        "grid": town["west"],
        "installed_at": clock.now(),
    }
    stair = Device.objects.create(code="t-town-stair", building=building, expected_interval_s=60, **common)
    kitchen = Device.objects.create(code="t-town-kitchen", unit=unit, expected_interval_s=60, **common)
    elsewhere = Device.objects.create(
        code="t-town-west", building=town["buildings"][0], expected_interval_s=60, **common
    )

    problems = assign_buildings(town["community"])

    assert problems == []
    for thing in (building, household, stair, kitchen, elsewhere):
        thing.refresh_from_db()
    assert building.grid_id == household.grid_id == stair.grid_id == kitchen.grid_id == town["east"].pk
    assert elsewhere.grid_id == town["west"].pk


def test_a_building_outside_every_grid_is_reported_and_stays(town, users):
    community = town["community"]
    grids = [
        {"code": "T-TOWN-W", "name_zh": "西", "name_en": "West", "boundary": box(0, 0, 200, 300)},
        {"code": "T-TOWN-E", "name_zh": "东", "name_en": "East", "boundary": box(200, 0, 400, 200)},
    ]

    result = apply_grids(community, grids, actor=users["admin"])

    outside = {p["feature"] for p in result.outside}
    assert outside == {"T-TOWN-B09", "T-TOWN-B12"}  # at (250 m, 250 m) and (350 m, 250 m)
    assert result.outside[0]["problem"] == "Building 9幢 stands outside every grid; it stays in T-TOWN-W."
    assert Building.objects.get(code="T-TOWN-B12").grid_id == town["west"].pk
    assert Building.objects.get(code="T-TOWN-B11").grid_id == town["east"].pk


def refused(community, grids, actor) -> str:
    before = (
        list(
            Region.objects.filter(path__startswith=community.path).values_list("code", "name_zh", "boundary")
        ),
        list(Building.objects.filter(code__startswith="T-TOWN").values_list("code", "grid_id")),
        AuditEntry.objects.count(),
    )
    with pytest.raises(InvalidInput) as refusal:
        apply_grids(community, grids, actor=actor)
    after = (
        list(
            Region.objects.filter(path__startswith=community.path).values_list("code", "name_zh", "boundary")
        ),
        list(Building.objects.filter(code__startswith="T-TOWN").values_list("code", "grid_id")),
        AuditEntry.objects.count(),
    )
    assert after == before, "a refused change writes nothing"
    return refusal.value.message


def grid(code: str, boundary: dict, **names) -> dict:
    return {"code": code, "name_zh": names.get("name_zh", "网格"), "name_en": "", "boundary": boundary}


def test_overlapping_grids_are_refused(town, users):
    message = refused(
        town["community"],
        [grid("T-TOWN-W", box(0, 0, 250, 300)), grid("T-TOWN-E", box(200, 0, 400, 300))],
        users["admin"],
    )
    assert "T-TOWN-W" in message and "T-TOWN-E" in message and "overlap by 15000 m²" in message


def test_a_sliver_of_overlap_is_accepted(town, users):
    result = apply_grids(
        town["community"],
        [grid("T-TOWN-W", box(0, 0, 200.05, 300)), grid("T-TOWN-E", box(200, 0, 400, 300))],
        actor=users["admin"],
    )
    assert result.outside == [] and result.moved == 6


def test_a_grid_beyond_the_community_is_refused(town, users):
    message = refused(
        town["community"],
        [grid("T-TOWN-W", box(-50, 0, 200, 300)), grid("T-TOWN-E", box(200, 0, 400, 300))],
        users["admin"],
    )
    assert "T-TOWN-W" in message and "15000 m² beyond the community's boundary" in message


@pytest.mark.parametrize(
    ("grids", "words"),
    [
        ([{"code": "", "name_zh": "x", "boundary": box(0, 0, 10, 10)}], "Grid 1: give the code"),
        ([{"code": "a b", "name_zh": "x", "boundary": box(0, 0, 10, 10)}], "only letters, digits"),
        ([grid("T-1", box(0, 0, 10, 10), name_zh="")], "Grid 1 (T-1): give the Chinese name"),
        (
            [grid("T-1", box(0, 0, 10, 10)), grid("T-1", box(20, 0, 30, 10))],
            "Grid 2 (T-1): the code is given twice",
        ),
        (
            [grid("T-1", {"type": "Point", "coordinates": [LON, LAT]})],
            "Grid 1 (T-1): its boundary is not usable",
        ),
        ([grid("G01", box(0, 0, 400, 300))], "The code G01 belongs to another region"),
        (["not a grid"], "Grid 1 is not a grid"),
    ],
)
def test_bad_grids_are_refused_naming_the_grid(town, users, grids, words):
    assert words in refused(town["community"], grids, users["admin"])


def test_removing_a_grid_that_still_holds_buildings_or_accounts_is_refused(town, users):
    community = town["community"]
    message = refused(community, [grid("T-TOWN-E", box(200, 0, 400, 300))], users["admin"])
    assert "T-TOWN-W cannot be removed" in message and "building: 6" in message

    worker = users["grid02"]
    worker.region = town["east"]
    worker.save(update_fields=["region"])
    message = refused(community, [grid("T-TOWN-W", box(0, 0, 400, 300))], users["admin"])
    assert "T-TOWN-E cannot be removed" in message and "account: 1" in message


def test_an_empty_grid_is_removed(town, users):
    community = town["community"]
    result = apply_grids(community, [grid("T-TOWN-W", box(0, 0, 400, 300))], actor=users["admin"])
    assert result.removed == ["T-TOWN-E"] and result.moved == 0
    assert not Region.objects.filter(code="T-TOWN-E").exists()


def test_only_those_who_may_change_the_community_apply_grids(town, users):
    grids = [grid("T-TOWN-W", box(0, 0, 400, 300))]
    with pytest.raises(PermissionDenied):
        apply_grids(town["community"], grids, actor=users["grid01"])
    with pytest.raises(PermissionDenied):
        apply_grids(town["community"], grids, actor=users["director"])  # another community's director
    assert Region.objects.filter(code="T-TOWN-E").exists()
