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
