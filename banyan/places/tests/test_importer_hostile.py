"""Hostile files given to the places import: each is refused with a message naming what is wrong, never
a crash, and nothing outside the file is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import translation

from banyan.core.errors import InvalidInput
from banyan.places import importer
from banyan.places.models import Region

pytestmark = pytest.mark.django_db


def check(path: Path, fmt: str | None = None) -> importer.Report:
    with translation.override("en"):
        return importer.import_places(
            path, community_code="HOSTILE", name="敌意", fmt=fmt, dry_run=True, actor="test"
        )


def geojson(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "survey.geojson"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_json_nested_too_deeply_is_refused_with_a_message(tmp_path):
    depth = 100_000
    path = geojson(tmp_path, '{"type": "FeatureCollection", "features": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(InvalidInput, match="nested too deeply") as caught:
        check(path)
    assert caught.value.field == "file"
    assert not Region.objects.filter(code="HOSTILE").exists()


def collection(*features: dict) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def facility(geometry, fid: str = "f1") -> dict:
    properties = {"kind": "facility", "name": "卫生站", "facility_kind": "clinic"}
    return {"type": "Feature", "id": fid, "geometry": geometry, "properties": properties}


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "LineString", "coordinates": [[120.15, 30.28]]},
        {"type": "Nonsense", "coordinates": [120.15, 30.28]},
    ],
)
def test_a_geometry_shapely_cannot_build_is_a_problem_of_its_feature(tmp_path, geometry):
    report = check(geojson(tmp_path, collection(facility(geometry))))
    assert report.refused
    assert report.problems[0]["feature"] == "feature f1"
    assert "geometry is not valid GeoJSON" in report.problems[0]["problem"]


@pytest.mark.parametrize(("suffix", "fmt"), [(".gpkg", "gpkg"), (".shp", "shp")])
def test_a_file_that_is_not_a_geopackage_or_shapefile_is_not_given_to_gdal(tmp_path, suffix, fmt):
    """GDAL opens whatever it recognises: a "GeoPackage" that is a VRT would read any file the server can
    (here a CSV standing for a secret) and the problems would show its rows."""
    secret = tmp_path / "secret.csv"
    secret.write_text('WKT,kind,name\n"POINT (120.15 30.28)",facility,TOPSECRET\n')
    vrt = (
        f'<OGRVRTDataSource><OGRVRTLayer name="survey"><SrcDataSource>{secret}</SrcDataSource>'
        "<SrcLayer>secret</SrcLayer></OGRVRTLayer></OGRVRTDataSource>"
    )
    path = tmp_path / f"survey{suffix}"
    path.write_text(vrt)
    with pytest.raises(InvalidInput) as caught:
        check(path, fmt)
    assert "TOPSECRET" not in caught.value.message
    assert "does not start as one" in caught.value.message and caught.value.field == "file"


def test_a_geopackage_table_without_geometry_is_left_out(tmp_path):
    """QGIS keeps its styles in a table without geometry (layer_styles) inside the GeoPackage."""
    import numpy as np
    import pyogrio.raw

    from banyan.places.tests.test_importer import SURVEY, _write_layer

    path = tmp_path / "survey.gpkg"
    buildings = [
        f for f in json.loads(SURVEY.read_text())["features"] if f["properties"]["kind"] == "building"
    ]
    _write_layer(path, "GPKG", buildings)
    styles = [np.array(["buildings"], dtype=object)]
    pyogrio.raw.write(
        path,
        None,
        styles,
        ["f_table_name"],
        driver="GPKG",
        layer="layer_styles",
        geometry_type=None,
        append=True,
    )
    report = check(path)
    assert report.buildings == 4 and not report.refused
    assert {
        "feature": "layer_styles",
        "problem": "a table without geometry: left out",
        "blocking": False,
    } in (report.problems)


def test_points_and_paths_off_the_globe_are_problems_of_their_feature(tmp_path):
    from banyan.places.tests.test_importer import SURVEY

    features = json.loads(SURVEY.read_text())["features"]
    features += [
        facility({"type": "Point", "coordinates": [1e10, 1e10]}, "far-clinic"),
        {
            "type": "Feature",
            "id": "far-path",
            "geometry": {"type": "LineString", "coordinates": [[120.153, 30.287], [200.0, 30.287]]},
            "properties": {"kind": "path", "path_kind": "footway"},
        },
    ]
    report = check(geojson(tmp_path, collection(*features)))
    off = "coordinates are not longitude/latitude (−180…180, −90…90)"
    assert {"feature": "facility far-clinic (卫生站)", "problem": off, "blocking": True} in report.problems
    assert {"feature": "path far-path", "problem": off, "blocking": True} in report.problems
    assert report.refused


def test_a_file_with_more_grids_than_a_community_has_is_refused_before_comparing_them(tmp_path):
    """Grids are compared pairwise: 40,000 in a 20 MB upload would hold a worker for many minutes."""
    from banyan.places.gridding import MAX_GRIDS

    square = [[[120.15, 30.28], [120.151, 30.28], [120.151, 30.281], [120.15, 30.281], [120.15, 30.28]]]
    grids = [
        {
            "type": "Feature",
            "id": f"g{number}",
            "geometry": {"type": "Polygon", "coordinates": square},
            "properties": {"kind": "grid", "name": f"第{number}网格"},
        }
        for number in range(MAX_GRIDS + 1)
    ]
    report = check(geojson(tmp_path, collection(*grids)))
    message = f"A community has at most {MAX_GRIDS} grids; {MAX_GRIDS + 1} were given."
    assert {"feature": "grid", "problem": message, "blocking": True} in report.problems
    assert not any("overlaps" in p["problem"] for p in report.problems)
