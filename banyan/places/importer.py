"""Bring a real community in: its boundary, grids, buildings, facilities, entrances and footpaths.

Sources (``banyan import places``, README "Bring your own community"):

- **GeoJSON**: a FeatureCollection whose features carry ``properties.kind`` — ``community``,
  ``grid``, ``building``, ``facility``, ``entrance`` or ``path`` — and ``properties.name``.
  Buildings may carry ``floors``, ``units`` (a number, or the entrances' names) and ``lift``;
  facilities ``facility_kind`` and ``capacity``; entrances ``building`` (the building's id or name);
  paths ``path_kind`` (footway, path, steps, pedestrian, road, lift) and ``step_free``. Other
  properties are kept as they are. A feature's stable id is its ``id`` (or ``properties.id``).
- **GeoPackage / Shapefile** (read with pyogrio): the same properties, one layer or several; the
  layer must be in longitude/latitude (EPSG:4326, or CGCS2000 EPSG:4490, which differs from WGS-84
  by centimetres).
- **OpenStreetMap PBF** (read with osmium): buildings, amenities and shops Banyan knows (see
  ``OSM_FACILITIES``), entrances and walkable ways. The stable id is ``way/123``, ``node/45``,
  ``relation/6``.

Coordinates are declared WGS-84, GCJ-02 or BD-09 and stored as WGS-84 (banyan/places/crs.py).

Problems and errors are worded in the active language (``banyan import`` speaks the installation's,
the import page the reader's), a feature named by its kind word, id and name: "building b2 (2幢)",
"楼栋 b2（2幢）". The report's keys and shape do not change with the language.

Every problem is reported by feature. In a surveyed file (GeoJSON, GeoPackage, Shapefile) every
problem blocks: the community's own data must be right before it is loaded. An OpenStreetMap
extract is someone else's map: what cannot be used (a broken outline, a building without a number)
is repaired or named and reported without blocking, and only an unusable extract is refused. A dry
run writes nothing; a real run writes everything or nothing, in one transaction; importing the same
file again updates by source id; every import is audited (counts, the file's name and SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.validation import explain_validity, make_valid

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core.access import UNSCOPED_ROLES, Action, Actor, can
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.places import crs, paths
from banyan.places.choices import BuildingKind, FacilityKind, RegionKind
from banyan.places.gridding import MAX_GRIDS, buildings_moved
from banyan.places.models import Building, Facility, PathEdge, PathNode, Region

FORMATS = ("geojson", "gpkg", "shp", "osm")
CRS_CHOICES = crs.SYSTEMS
KINDS = ("community", "grid", "building", "facility", "entrance", "path")
SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp", ".pbf": "osm"}
MAX_BYTES = 200 * 1024 * 1024
OVERLAP_SHARE = 0.05  # buildings overlapping by more than this share of the smaller one
DEFAULT_GRID = "default"  # properties["banyan"] of the grid made when a file brings none
LONLAT_EPSG = {"EPSG:4326", "EPSG:4490", "OGC:CRS84"}
# How a GeoPackage (an SQLite database) and a Shapefile's .shp begin. GDAL opens whatever it recognises,
# and a "GeoPackage" that is a VRT or CSV would have it read other files on the server (or URLs).
OGR_MAGIC = {"gpkg": b"SQLite format 3\x00", "shp": b"\x00\x00\x27\x0a"}

# OSM tags → Banyan facility kinds: ("key", "value") → kind. Amenities Banyan has no use for
# (restaurants, benches, vending machines …) are not facilities and are left out silently.
OSM_FACILITIES: dict[tuple[str, str], str] = {
    ("amenity", "clinic"): FacilityKind.CLINIC,
    ("amenity", "doctors"): FacilityKind.CLINIC,
    ("healthcare", "clinic"): FacilityKind.CLINIC,
    ("healthcare", "doctor"): FacilityKind.CLINIC,
    ("amenity", "hospital"): FacilityKind.HOSPITAL,
    ("amenity", "pharmacy"): FacilityKind.PHARMACY,
    ("amenity", "kindergarten"): FacilityKind.KINDERGARTEN,
    ("amenity", "childcare"): FacilityKind.KINDERGARTEN,
    ("amenity", "school"): FacilityKind.SCHOOL,
    ("amenity", "nursing_home"): FacilityKind.ELDERLY_CARE,
    ("social_facility", "nursing_home"): FacilityKind.ELDERLY_CARE,
    ("social_facility", "assisted_living"): FacilityKind.ELDERLY_CARE,
    ("social_facility", "day_care"): FacilityKind.ELDERLY_DAY_CARE,
    ("amenity", "social_centre"): FacilityKind.COMMUNITY_CENTRE,
    ("amenity", "community_centre"): FacilityKind.COMMUNITY_CENTRE,
    ("amenity", "shelter"): FacilityKind.SHELTER,
    ("emergency", "assembly_point"): FacilityKind.SHELTER,
    ("amenity", "fire_station"): FacilityKind.FIRE_STATION,
    ("amenity", "police"): FacilityKind.POLICE,
    ("amenity", "toilets"): FacilityKind.TOILETS,
    ("emergency", "defibrillator"): FacilityKind.DEFIBRILLATOR,
    ("shop", "convenience"): FacilityKind.CONVENIENCE_STORE,
    ("shop", "supermarket"): FacilityKind.CONVENIENCE_STORE,
    ("leisure", "pitch"): FacilityKind.SPORTS_FIELD,
    ("leisure", "sports_centre"): FacilityKind.SPORTS_FIELD,
    ("place", "square"): FacilityKind.PLAZA,
    ("highway", "pedestrian_area"): FacilityKind.PLAZA,
}
# Words a survey may use for a facility kind, besides Banyan's codes.
FACILITY_ALIASES = {
    "卫生服务站": FacilityKind.CLINIC,
    "社区卫生服务中心": FacilityKind.CLINIC,
    "诊所": FacilityKind.CLINIC,
    "幼儿园": FacilityKind.KINDERGARTEN,
    "学校": FacilityKind.SCHOOL,
    "小学": FacilityKind.SCHOOL,
    "养老院": FacilityKind.ELDERLY_CARE,
    "日间照料中心": FacilityKind.ELDERLY_DAY_CARE,
    "避难场所": FacilityKind.SHELTER,
    "应急避难场所": FacilityKind.SHELTER,
    "微型消防站": FacilityKind.MICRO_FIRE_STATION,
    "便利店": FacilityKind.CONVENIENCE_STORE,
    "药店": FacilityKind.PHARMACY,
    "老年食堂": FacilityKind.CANTEEN,
    "地下车库": FacilityKind.PARKING,
    "广场": FacilityKind.PLAZA,
    "社区中心": FacilityKind.COMMUNITY_CENTRE,
}
# OSM ways people walk on; main roads only with a sidewalk or foot=yes.
OSM_WALKABLE = {
    "footway", "path", "steps", "pedestrian", "living_street", "residential", "service", "unclassified",
    "track", "corridor", "elevator", "crossing", "platform", "cycleway", "bridleway",
}  # fmt: skip
OSM_MAIN_ROADS = {
    "tertiary",
    "secondary",
    "primary",
    "trunk",
    "tertiary_link",
    "secondary_link",
    "primary_link",
}
OSM_NOT_BUILDINGS = {"roof", "construction", "no", "ruins", "carport"}
# OSM building=* values that are homes, and those that are public buildings.
OSM_HOMES = {"apartments", "residential", "dormitory", "house", "detached", "terrace", "semidetached_house"}
OSM_PUBLIC = {
    "public", "school", "kindergarten", "hospital", "civic", "government", "church", "university",
    "train_station", "fire_station", "college", "office", "commercial", "retail",
}  # fmt: skip


def kind_word(kind: str) -> str:
    """A feature's kind as a person reads it (``building`` → 楼栋 in Chinese)."""
    words = {
        "community": pgettext("imported feature", "community"),
        "grid": pgettext("imported feature", "grid"),
        "building": pgettext("imported feature", "building"),
        "facility": pgettext("imported feature", "facility"),
        "entrance": pgettext("imported feature", "entrance"),
        "path": pgettext("imported feature", "path"),
        "feature": pgettext("imported feature", "feature"),
    }
    return words.get(kind, kind)


def feature_ref(kind: str, source_id: str, name: str = "") -> str:
    """``building b2 (2幢)``: how a problem names its feature."""
    ref = _("%(kind)s %(id)s") % {"kind": kind_word(kind), "id": source_id}
    return named(ref, name)


def named(ref: str, name: str) -> str:
    return _("%(ref)s (%(name)s)") % {"ref": ref, "name": name} if name else ref


@dataclass
class Feature:
    kind: str
    source_id: str
    geometry: Any  # shapely, WGS-84 lon/lat
    props: dict
    name: str = ""
    repairable: bool = False  # from OpenStreetMap: problems are repaired or reported, not blocking

    @property
    def ref(self) -> str:
        return feature_ref(self.kind, self.source_id, self.name)


@dataclass
class Report:
    community: str
    dry_run: bool
    buildings: int = 0
    facilities: int = 0
    grids: int = 0
    entrances: int = 0
    path_nodes: int = 0
    path_edges: int = 0
    islands: int = 0
    created: int = 0
    updated: int = 0
    problems: list[dict] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return any(p["blocking"] for p in self.problems)

    def problem(self, feature: str, problem: str, *, blocking: bool = True) -> None:
        self.problems.append({"feature": feature, "problem": problem, "blocking": blocking})

    def as_dict(self) -> dict:
        return {
            "community": self.community,
            "dry_run": self.dry_run,
            "imported": not self.dry_run and not self.refused,
            "buildings": self.buildings,
            "facilities": self.facilities,
            "grids": self.grids,
            "entrances": self.entrances,
            "path_nodes": self.path_nodes,
            "path_edges": self.path_edges,
            "islands": self.islands,
            "created": self.created,
            "updated": self.updated,
            "problems": self.problems,
        }


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not (values[0] < values[2] and values[1] < values[3]):
        raise InvalidInput(
            _("Expected MINLON,MINLAT,MAXLON,MAXLAT with min below max, e.g. 120.15,30.27,120.16,30.28."),
            field="--bbox",
        )
    return values[0], values[1], values[2], values[3]


# --- reading -------------------------------------------------------------------------------------


def read(path: Path, fmt: str, system: str, report: Report) -> list[Feature]:
    if path.stat().st_size > MAX_BYTES:
        raise InvalidInput(
            _("The file is larger than %(megabytes)s MB.") % {"megabytes": MAX_BYTES // (1024 * 1024)},
            field="file",
        )
    if fmt == "osm":
        features = read_osm(path, report)
    elif fmt == "geojson":
        features = read_geojson(path, report)
    else:
        with path.open("rb") as file:
            start = file.read(len(OGR_MAGIC[fmt]))
        if start != OGR_MAGIC[fmt]:
            raise InvalidInput(
                _("Not a GeoPackage: the file does not start as one (a GeoPackage is an SQLite database).")
                if fmt == "gpkg"
                else _("Not a Shapefile: the .shp file does not start as one."),
                field="file",
            )
        features = read_ogr(path, report)
    convert = crs.to_wgs84(system)
    if system != crs.WGS84:
        for feature in features:
            feature.geometry = shapely.transform(feature.geometry, lambda c: _convert_array(c, convert))
    return features


def _convert_array(coords, convert: Callable[[float, float], tuple[float, float]]):
    out = coords.copy()
    for i, (lon, lat) in enumerate(coords):
        out[i] = convert(float(lon), float(lat))
    return out


def _feature(
    kind: Any, source_id: str, geometry, props: dict, report: Report, *, where: str
) -> Feature | None:
    kind = str(kind or "").strip().lower()
    name = str(props.get("name") or "").strip()
    ref = named(where, name)
    if kind not in KINDS:
        report.problem(
            ref,
            _("properties.kind is %(kind)s; expected one of %(kinds)s")
            % {"kind": kind or pgettext("import value", "nothing"), "kinds": ", ".join(KINDS)},
        )
        return None
    if geometry is None or geometry.is_empty:
        report.problem(ref, _("has no geometry"))
        return None
    return Feature(kind=kind, source_id=source_id, geometry=geometry, props=props, name=name)


def read_geojson(path: Path, report: Report) -> list[Feature]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(_("Not a GeoJSON file: %(error)s.") % {"error": exc}, field="file") from None
    except RecursionError:
        raise InvalidInput(
            _("Not a GeoJSON file: its brackets are nested too deeply (a GeoJSON needs at most five)."),
            field="file",
        ) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidInput(
            _('Expected a GeoJSON {"type": "FeatureCollection", "features": [...]}.'), field="file"
        )
    features = []
    for index, item in enumerate(data.get("features") or [], start=1):
        where = feature_ref("feature", str(index))
        if not isinstance(item, dict):
            report.problem(where, _("is not a GeoJSON Feature object"))
            continue
        props: dict = item["properties"] if isinstance(item.get("properties"), dict) else {}
        source_id = str(item.get("id") if item.get("id") is not None else props.get("id") or "").strip()
        if source_id:
            where = feature_ref("feature", source_id)
        try:
            geometry = shape(item["geometry"]) if item.get("geometry") else None
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
            shapely.errors.ShapelyError,
        ) as exc:
            report.problem(where, _("geometry is not valid GeoJSON (%(error)s)") % {"error": exc})
            continue
        feature = _feature(props.get("kind"), source_id, geometry, props, report, where=where)
        if feature is not None:
            if not feature.source_id:
                feature.source_id = f"{feature.kind}:{feature.name or index}"
            features.append(feature)
    return features


def read_ogr(path: Path, report: Report) -> list[Feature]:
    import pyogrio

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 — GDAL raises its own error types for unreadable files
        raise InvalidInput(
            _("GDAL cannot read this file: %(error)s.") % {"error": exc}, field="file"
        ) from None
    features = []
    for layer in layers:
        info = pyogrio.read_info(path, layer=layer)
        if info.get("crs") and str(info["crs"]).upper() not in LONLAT_EPSG:
            raise InvalidInput(
                _(
                    "Layer %(layer)s is in %(crs)s; Banyan needs longitude/latitude (EPSG:4326): "
                    "reproject it first, e.g. ogr2ogr -t_srs EPSG:4326 out.gpkg in.gpkg."
                )
                % {"layer": layer, "crs": info["crs"]},
                field="file",
            )
        meta, fids, geometries, columns = pyogrio.raw.read(path, layer=layer, return_fids=True)
        if geometries is None:  # a table of attributes only, such as the styles QGIS keeps
            report.problem(layer, _("a table without geometry: left out"), blocking=False)
            continue
        names = list(meta["fields"])
        for i, wkb in enumerate(geometries):
            props = {name: _plain(columns[c][i]) for c, name in enumerate(names)}
            fid = str(props.get("id") or fids[i])
            where = _("%(layer)s %(ref)s") % {"layer": layer, "ref": feature_ref("feature", fid)}
            geometry = shapely.from_wkb(wkb) if wkb is not None else None
            feature = _feature(props.get("kind"), fid, geometry, props, report, where=where)
            if feature is not None:
                if not props.get("id"):
                    feature.source_id = f"{layer}:{fid}"
                features.append(feature)
    return features


def _plain(value):
    """numpy scalars to Python ones; empty to None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def read_osm(path: Path, report: Report) -> list[Feature]:
    import osmium
    import osmium.geom

    wkb = osmium.geom.WKBFactory()
    features: list[Feature] = []
    entrances: list[Feature] = []
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        obj: Any
        for obj in processor:
            tags = dict(obj.tags)
            if obj.is_area():
                source = f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}"
                if not ("building" in tags or _osm_facility(tags)):
                    continue
                try:
                    geometry = shapely.from_wkb(bytes.fromhex(wkb.create_multipolygon(obj)))
                except (RuntimeError, shapely.errors.GEOSException):
                    report.problem(
                        feature_ref("building", source), _("its outline cannot be assembled"), blocking=False
                    )
                    continue
                _osm_area(source, tags, geometry, features)
            elif obj.is_node():
                if not obj.location.valid():
                    continue
                lon, lat = obj.location.lon, obj.location.lat
                kind = _osm_facility(tags)
                if kind:
                    features.append(_osm_facility_feature(f"node/{obj.id}", tags, Point(lon, lat), kind))
                if "entrance" in tags or tags.get("building") == "entrance":
                    entrances.append(
                        Feature("entrance", f"node/{obj.id}", Point(lon, lat), tags, _osm_name(tags), True)
                    )
            elif obj.is_way() and _osm_walkable(tags):
                vertices = []
                for node in obj.nodes:
                    if node.location.valid():
                        vertices.append((f"n{node.ref}", node.location.lon, node.location.lat))
                if len(vertices) >= 2:
                    line = shapely.LineString([(lon, lat) for _k, lon, lat in vertices])
                    props = {**tags, "path_kind": tags.get("highway", "")}
                    feature = Feature("path", f"way/{obj.id}", line, props, tags.get("name", ""), True)
                    feature.props["_vertices"] = vertices
                    features.append(feature)
    except RuntimeError as exc:
        raise InvalidInput(
            _("Not an OpenStreetMap extract osmium can read: %(error)s.") % {"error": exc}, field="file"
        ) from None
    return features + entrances


def _osm_walkable(tags: dict) -> bool:
    highway = tags.get("highway")
    if highway is None or tags.get("area") == "yes":
        return False
    if tags.get("foot") in {"no", "private"} or tags.get("access") in {"no", "private"}:
        return False
    if highway in OSM_WALKABLE:
        return True
    if highway in OSM_MAIN_ROADS:
        return tags.get("foot") in {"yes", "designated"} or tags.get("sidewalk") in {
            "both",
            "left",
            "right",
            "yes",
        }
    return False


def _osm_facility(tags: dict) -> str | None:
    for key in ("amenity", "social_facility", "healthcare", "emergency", "shop", "leisure", "place"):
        kind = OSM_FACILITIES.get((key, tags.get(key, "")))
        if kind:
            return kind
    return None


def _osm_name(tags: dict) -> str:
    if tags.get("name:zh") or tags.get("name"):
        return tags.get("name:zh") or tags["name"]
    number = tags.get("addr:housenumber")
    if number:
        street = tags.get("addr:street", "")
        return f"{street} {number}".strip()
    return tags.get("ref", "")


def _osm_area(source: str, tags: dict, geometry, features: list[Feature]) -> None:
    kind = _osm_facility(tags)
    if kind:
        features.append(_osm_facility_feature(source, tags, geometry, kind))
    building = tags.get("building")
    if building and building not in OSM_NOT_BUILDINGS:
        props = dict(tags)
        levels = tags.get("building:levels", "")
        if levels.isdigit():
            props["floors"] = int(levels)
        lift = tags.get("building:elevator") or tags.get("elevator")
        if lift in {"yes", "no"}:
            props["lift"] = lift == "yes"
        props["building_kind"] = _osm_building_kind(building, props.get("floors"))
        features.append(Feature("building", source, geometry, props, _osm_name(tags), True))


def _osm_facility_feature(source: str, tags: dict, geometry, kind: str) -> Feature:
    props = {**tags, "facility_kind": kind}
    capacity = tags.get("capacity", "")
    if capacity.isdigit():
        props["capacity"] = int(capacity)
    return Feature("facility", source, geometry, props, _osm_name(tags), True)


def _osm_building_kind(value: str, floors: int | None) -> str:
    if value in OSM_PUBLIC:
        return BuildingKind.PUBLIC
    if value in OSM_HOMES and floors is not None:
        return BuildingKind.TOWER if floors >= 7 else BuildingKind.OLDER_BLOCK
    return BuildingKind.LOW_RISE


# --- checking ------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What a file says, checked: the features by kind, in WGS-84, with their repaired geometry."""

    boundary: Polygon | None = None
    community_props: dict = field(default_factory=dict)
    grids: list[Feature] = field(default_factory=list)
    buildings: list[Feature] = field(default_factory=list)
    facilities: list[Feature] = field(default_factory=list)
    entrances: list[Feature] = field(default_factory=list)
    paths: list[Feature] = field(default_factory=list)


def _polygon(feature: Feature, report: Report) -> Polygon | None:
    """The feature's polygon, or None with a problem. A MultiPolygon of one part is that part; OSM
    outlines that are invalid are repaired; several parts keep the largest (reported)."""
    geometry = feature.geometry
    if not isinstance(geometry, Polygon | MultiPolygon):
        report.problem(feature.ref, _("is a %(type)s; expected a Polygon") % {"type": geometry.geom_type})
        return None
    if not geometry.is_valid:
        if not feature.repairable:
            report.problem(
                feature.ref, _("invalid geometry: %(reason)s") % {"reason": explain_validity(geometry)}
            )
            return None
        geometry = make_valid(geometry)
        report.problem(feature.ref, _("invalid outline repaired"), blocking=False)
    if not isinstance(geometry, Polygon):
        parts = [g for g in getattr(geometry, "geoms", [geometry]) if isinstance(g, Polygon)]
        if not parts:
            report.problem(feature.ref, _("no polygon in its geometry"), blocking=not feature.repairable)
            return None
        if len(parts) > 1:
            report.problem(
                feature.ref,
                _("has %(count)s separate parts; the largest is kept") % {"count": len(parts)},
                blocking=not feature.repairable,
            )
        geometry = max(parts, key=lambda g: g.area)
    if not (-180 <= geometry.bounds[0] <= geometry.bounds[2] <= 180 and -90 <= geometry.bounds[1] <= 90):
        report.problem(feature.ref, _("coordinates are not longitude/latitude (−180…180, −90…90)"))
        return None
    return geometry


def _int_prop(feature: Feature, key: str, low: int, high: int, report: Report) -> int | None:
    value = feature.props.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isdigit())
    ):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            report.problem(
                feature.ref,
                _("%(key)s is %(value)s; expected a whole number %(low)s–%(high)s")
                % {"key": key, "value": repr(value), "low": low, "high": high},
            )
            return None
    value = int(value)
    if not low <= value <= high:
        report.problem(
            feature.ref,
            _("%(key)s is %(value)s; expected %(low)s–%(high)s")
            % {"key": key, "value": value, "low": low, "high": high},
        )
        return None
    return value


def _units(feature: Feature, report: Report) -> tuple[int | None, list[str]]:
    value = feature.props.get("units")
    if isinstance(value, str) and not value.isdigit() and value.strip():
        value = [part.strip() for part in re.split(r"[,，;；、]", value) if part.strip()]
    if isinstance(value, list):
        names = [str(v).strip() for v in value]
        if not names or not all(names) or len(set(names)) != len(names) or any(len(n) > 32 for n in names):
            report.problem(
                feature.ref, _("units must be distinct names of at most 32 characters, or a number")
            )
            return None, []
        return len(names), names
    return _int_prop(feature, "units", 1, 50, report), []


def check(features: list[Feature], report: Report, bbox) -> Plan:
    plan = Plan()
    if bbox is not None:
        box = shapely.box(*bbox)
        kept = []
        for f in features:
            if f.kind != "path":
                if box.intersects(f.geometry):
                    kept.append(f)
                continue
            # A way leaving the box and coming back is cut into its runs inside.
            runs: list[list] = [[]]
            for vertex in f.props.get("_vertices") or [
                (f"v{round(x, 7)},{round(y, 7)}", x, y) for x, y in f.geometry.coords
            ]:
                if box.contains(Point(vertex[1], vertex[2])):
                    runs[-1].append(vertex)
                elif runs[-1]:
                    runs.append([])
            runs = [run for run in runs if len(run) >= 2]
            if runs:
                f.props.pop("_vertices", None)
                f.props["_runs"] = runs
                kept.append(f)
        features = kept
    seen: dict[tuple[str, str], Feature] = {}
    for feature in features:
        key = (feature.kind, feature.source_id)
        if key in seen:
            report.problem(feature.ref, _("the same id appears twice in the file"))
            continue
        if len(feature.source_id) > 64:
            report.problem(feature.ref, _("its id is longer than 64 characters"))
            continue
        west, south, east, north = feature.geometry.bounds
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):  # NaN fails too
            report.problem(feature.ref, _("coordinates are not longitude/latitude (−180…180, −90…90)"))
            continue
        seen[key] = feature
        if feature.kind == "community":
            if plan.boundary is not None:
                report.problem(feature.ref, _("a second community feature; a file holds one community"))
                continue
            plan.boundary = _polygon(feature, report)
            plan.community_props = feature.props
        elif feature.kind == "grid":
            polygon = _polygon(feature, report)
            if polygon is not None:
                if not feature.name:
                    report.problem(feature.ref, _("a grid needs a name"))
                feature.geometry = polygon
                plan.grids.append(feature)
        elif feature.kind == "building":
            _check_building(feature, report, plan)
        elif feature.kind == "facility":
            _check_facility(feature, report, plan)
        elif feature.kind == "entrance":
            if not isinstance(feature.geometry, Point):
                report.problem(
                    feature.ref, _("is a %(type)s; expected a Point") % {"type": feature.geometry.geom_type}
                )
                continue
            plan.entrances.append(feature)
        elif feature.kind == "path":
            _check_path(feature, report, plan)
    _check_overlaps(plan.buildings, report)
    if len(plan.grids) > MAX_GRIDS:  # compared pairwise below: refused before that takes minutes
        report.problem(
            kind_word("grid"),
            _("A community has at most %(most)s grids; %(count)s were given.")
            % {"most": MAX_GRIDS, "count": len(plan.grids)},
        )
        return plan
    _check_grids(plan, report)
    return plan


def _check_building(feature: Feature, report: Report, plan: Plan) -> None:
    polygon = _polygon(feature, report)
    if polygon is None:
        return
    feature.geometry = polygon
    if not feature.name:
        if feature.repairable:
            feature.name = f"{feature.source_id}"
            report.problem(
                feature.ref, _("no number or name: named by its map id until corrected"), blocking=False
            )
        else:
            report.problem(
                feature.ref, _("a building needs its number or name as residents say it, e.g. 3幢")
            )
            return
    if len(feature.name) > 100:
        report.problem(feature.ref, _("the name is longer than 100 characters"))
        return
    floors = _int_prop(feature, "floors", 1, 200, report)
    feature.props["_floors"] = floors
    count, names = _units(feature, report)
    feature.props["_entrances"], feature.props["_unit_names"] = count, names
    lift = feature.props.get("lift")
    if isinstance(lift, str) and not lift.strip():
        feature.props["lift"] = lift = None
    if lift is not None and not isinstance(lift, bool):
        text = str(lift).strip().lower()
        if text in {"true", "yes", "1", "有"}:
            feature.props["lift"] = True
        elif text in {"false", "no", "0", "无"}:
            feature.props["lift"] = False
        else:
            report.problem(
                feature.ref, _("lift is %(value)s; expected true or false") % {"value": repr(lift)}
            )
    kind = feature.props.get("building_kind") or (
        BuildingKind.TOWER
        if (floors or 0) >= 7
        else BuildingKind.OLDER_BLOCK
        if floors
        else BuildingKind.LOW_RISE
    )
    if kind not in BuildingKind.values:
        report.problem(
            feature.ref,
            _("building_kind is %(value)s; expected one of %(kinds)s")
            % {"value": repr(kind), "kinds": ", ".join(BuildingKind.values)},
        )
        return
    feature.props["_kind"] = kind
    plan.buildings.append(feature)


def _check_facility(feature: Feature, report: Report, plan: Plan) -> None:
    raw = str(feature.props.get("facility_kind") or "").strip()
    kind = raw if raw in FacilityKind.values else FACILITY_ALIASES.get(raw)
    if kind is None:
        report.problem(
            feature.ref,
            _("facility_kind is %(value)s; expected one of %(kinds)s")
            % {"value": raw or pgettext("import value", "missing"), "kinds": ", ".join(FacilityKind.values)},
            blocking=not feature.repairable,
        )
        return
    if not feature.name:
        feature.name = str(FacilityKind(kind).label)
        report.problem(feature.ref, _("no name: called by its kind until named"), blocking=False)
    capacity = _int_prop(feature, "capacity", 0, 1_000_000, report)
    feature.props["_kind"], feature.props["_capacity"] = kind, capacity or 0
    if isinstance(feature.geometry, Polygon | MultiPolygon):
        polygon = _polygon(feature, report)
        if polygon is None:
            return
        feature.props["_area"] = polygon
        feature.geometry = polygon.representative_point()
    elif not isinstance(feature.geometry, Point):
        report.problem(
            feature.ref,
            _("is a %(type)s; expected a Point or a Polygon") % {"type": feature.geometry.geom_type},
        )
        return
    plan.facilities.append(feature)


def _check_path(feature: Feature, report: Report, plan: Plan) -> None:
    if "_runs" in feature.props:
        feature.props["_lines"] = feature.props.pop("_runs")
    elif "_vertices" not in feature.props:
        lines = getattr(feature.geometry, "geoms", [feature.geometry])
        if not all(g.geom_type == "LineString" for g in lines):
            report.problem(
                feature.ref, _("is a %(type)s; expected a LineString") % {"type": feature.geometry.geom_type}
            )
            return
        feature.props["_lines"] = [
            [(f"v{round(x, 7)},{round(y, 7)}", x, y) for x, y in g.coords] for g in lines
        ]
    else:
        feature.props["_lines"] = [feature.props.pop("_vertices")]
    kind = str(feature.props.get("path_kind") or feature.props.get("highway") or "").strip()
    if kind and kind not in paths.EDGE_KIND:
        report.problem(
            feature.ref,
            _("path_kind is %(value)s; expected one of footway, path, steps, pedestrian, road, lift")
            % {"value": kind},
            blocking=not feature.repairable,
        )
        return
    step_free = feature.props.get("step_free")
    feature.props["_kind"] = paths.EDGE_KIND.get(kind, "")
    feature.props["_step_free"] = (
        step_free if isinstance(step_free, bool) else feature.props["_kind"] != "steps"
    )
    plan.paths.append(feature)


def _check_overlaps(buildings: list[Feature], report: Report) -> None:
    if len(buildings) < 2:
        return
    tree = shapely.STRtree([b.geometry for b in buildings])
    left, right = tree.query([b.geometry for b in buildings], predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        a, b = buildings[i], buildings[j]
        overlap = a.geometry.intersection(b.geometry).area
        if overlap > OVERLAP_SHARE * min(a.geometry.area, b.geometry.area):
            report.problem(
                a.ref,
                _("overlaps %(other)s by %(share)s of the smaller")
                % {"other": b.ref, "share": f"{overlap / min(a.geometry.area, b.geometry.area):.0%}"},
                blocking=not (a.repairable and b.repairable),
            )


def _check_grids(plan: Plan, report: Report) -> None:
    for i, grid in enumerate(plan.grids):
        for other in plan.grids[i + 1 :]:
            overlap = grid.geometry.intersection(other.geometry).area
            if overlap > OVERLAP_SHARE * min(grid.geometry.area, other.geometry.area):
                report.problem(grid.ref, _("overlaps %(other)s") % {"other": other.ref})
        if plan.boundary is not None and grid.geometry.difference(plan.boundary).area > (
            OVERLAP_SHARE * grid.geometry.area
        ):
            report.problem(grid.ref, _("reaches outside the community's boundary"))
    if plan.grids:
        for building in plan.buildings:
            if _containing(plan.grids, building.geometry) is None:
                report.problem(building.ref, _("stands outside every grid"))
    if plan.boundary is not None:
        for building in plan.buildings:
            if not plan.boundary.intersects(building.geometry.representative_point()):
                report.problem(building.ref, _("stands outside the community's boundary"))


def _containing(grids: list[Feature], geometry) -> Feature | None:
    point = geometry.representative_point()
    return next((g for g in grids if g.geometry.contains(point)), None)


# --- writing -------------------------------------------------------------------------------------


def import_places(
    path: Path,
    *,
    community_code: str,
    name: str,
    fmt: str | None = None,
    crs: str = "wgs84",
    bbox=None,
    street_code: str | None = None,
    dry_run: bool = False,
    actor: Actor | str,
) -> Report:
    """Read, check and (unless a dry run or refused) write one community's places; see the module."""
    if not isinstance(actor, str) and not can(actor, Action.CHANGE_PLACES):
        raise PermissionDenied(_("Your role cannot change places."))
    fmt = fmt or SUFFIXES.get(path.suffix.lower()) or ("osm" if path.name.endswith(".osm.pbf") else None)
    if fmt not in FORMATS:
        raise InvalidInput(
            _("Cannot tell the file's format; pass --format %(formats)s.") % {"formats": "|".join(FORMATS)},
            field="--format",
        )
    if crs not in CRS_CHOICES:
        raise InvalidInput(
            _("--crs must be one of %(systems)s.") % {"systems": ", ".join(CRS_CHOICES)}, field="--crs"
        )
    community_code = community_code.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,23}", community_code):
        raise InvalidInput(_("A community code is 1–24 letters, digits, '-' or '_'."), field="--community")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("The community's name is 1–100 characters."), field="--name")
    report = Report(community=community_code, dry_run=dry_run)
    existing = Region.objects.filter(code=community_code).first()
    if existing is not None:
        if existing.kind != RegionKind.COMMUNITY:
            raise InvalidInput(
                _("%(code)s is a %(kind)s, not a community.")
                % {"code": community_code, "kind": str(RegionKind(existing.kind).label).lower()},
                field="--community",
            )
        if (
            not isinstance(actor, str)
            and not Region.objects.restrict(actor, Action.CHANGE_PLACES).filter(pk=existing.pk).exists()
        ):
            raise PermissionDenied(_("This community is outside your area."))
        street = None
    else:
        street = _street_for(actor, street_code)
    features = read(path, fmt, crs, report)
    plan = check(features, report, bbox)
    if not plan.buildings and not plan.facilities and not plan.paths:
        report.problem(path.name, _("nothing to import: no buildings, facilities or paths"))
    if existing is not None and not plan.grids:
        _check_against_drawn_grids(existing, plan, report)
    graph = _graph(plan)
    report.problems.extend(
        {"feature": feature, "problem": problem, "blocking": False} for feature, problem in graph.problems
    )
    _count(report, plan, graph)
    if dry_run or report.refused:
        return report
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with transaction.atomic():
        community = _community(existing, community_code, name, plan, street)
        _write(community, plan, graph, report)
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.PLACES_IMPORT,
                    "region",
                    community.pk,
                    details={
                        "file": path.name[:100],
                        "sha256": digest,
                        "format": fmt,
                        "crs": crs,
                        **{
                            k: v
                            for k, v in report.as_dict().items()
                            if isinstance(v, int) and not isinstance(v, bool)
                        },
                    },
                )
            ],
        )
    return report


def _check_against_drawn_grids(community: Region, plan: Plan, report: Report) -> None:
    """A file without grids, into a community whose grids were drawn: say which buildings fall outside."""
    grids = [
        (shape(g.boundary), g)
        for g in Region.objects.filter(parent=community, kind=RegionKind.GRID)
        if g.boundary and g.properties.get("banyan") != DEFAULT_GRID
    ]
    if not grids:
        return
    for building in plan.buildings:
        point = building.geometry.representative_point()
        if not any(polygon.contains(point) for polygon, _grid in grids):
            nearest = min(grids, key=lambda pair: pair[0].distance(point))[1]
            report.problem(
                building.ref,
                _("stands outside every grid: filed under the nearest, %(grid)s, until redrawn")
                % {"grid": nearest.name_zh},
                blocking=False,
            )


def _graph(plan: Plan) -> paths.Graph:
    lines = [
        paths.Line(vertices, p.props["_kind"], p.props["_step_free"], p.source_id)
        for p in plan.paths
        for vertices in p.props["_lines"]
        if len(vertices) >= 2
    ]
    if not lines:
        return paths.Graph()
    anchors = []
    by_id = {b.source_id: b for b in plan.buildings} | {b.name: b for b in plan.buildings if b.name}
    with_entrance: set[str] = set()
    for entrance in plan.entrances:
        building = by_id.get(str(entrance.props.get("building") or ""))
        if building is None:
            building = next(
                (b for b in plan.buildings if b.geometry.distance(entrance.geometry) < 3e-5), None
            )  # ~3 m: an OSM entrance is a vertex of its building's outline
        if building is None:
            entrance.props["_orphan"] = True
            continue
        entrance.props["_building"] = building
        with_entrance.add(building.source_id)
        anchors.append(
            paths.Anchor(
                entrance.ref, entrance.geometry.x, entrance.geometry.y, building=building, entrance=True
            )
        )
    for building in plan.buildings:
        if building.source_id not in with_entrance:
            point = building.geometry.representative_point()
            anchors.append(
                paths.Anchor(building.ref, point.x, point.y, building=building, outline=building.geometry)
            )
    for facility in plan.facilities:
        anchors.append(
            paths.Anchor(facility.ref, facility.geometry.x, facility.geometry.y, facility=facility)
        )
    return paths.build(lines, anchors)


def _count(report: Report, plan: Plan, graph: paths.Graph) -> None:
    report.buildings = len(plan.buildings)
    report.facilities = len(plan.facilities)
    report.grids = len(plan.grids)
    report.entrances = sum(1 for e in plan.entrances if not e.props.get("_orphan"))
    for entrance in plan.entrances:
        if entrance.props.get("_orphan") and plan.paths:
            report.problem(
                entrance.ref,
                _("belongs to no building (give properties.building)"),
                blocking=not entrance.repairable,
            )
    report.path_nodes = len(graph.nodes)
    report.path_edges = len(graph.edges)
    report.islands = len(graph.islands)


def _community(existing: Region | None, code: str, name: str, plan: Plan, street: Region | None) -> Region:
    boundary = plan.boundary or _hull(plan)
    english = name if name.isascii() else ""
    if existing is not None:
        existing.name_zh = name
        existing.name_en = english or existing.name_en
        existing.boundary = _geojson(boundary)
        existing.properties = _kept(plan.community_props)
        existing.save(update_fields=["name_zh", "name_en", "boundary", "properties"])
        return existing
    if street is None:
        street = _new_street()
    community = Region.objects.create(
        code=code,
        name_zh=name,
        name_en=english,
        kind=RegionKind.COMMUNITY,
        parent=street,
        path="/pending/",
        boundary=_geojson(boundary),
        properties=_kept(plan.community_props),
    )
    community.path = Region.path_for(street, community.pk)
    community.save(update_fields=["path"])
    return community


def _street_for(actor: Actor | str, code: str | None) -> Region | None:
    """The street a new community joins: ``code``'s, or the only one (in the actor's area); None on a
    fresh installation, where :func:`_new_street` makes one. Only someone whose area holds the street
    (its street officers, an administrator, the command line) may add a community to it: a director
    imports into their own community only."""
    streets = Region.objects.filter(kind=RegionKind.STREET)
    mine = streets if isinstance(actor, str) else streets.restrict(actor, Action.CHANGE_PLACES)
    refused = _(
        "You can import only into a community of your area; a new community is added by its street's "
        "officers or an administrator."
    )
    if code:
        street = streets.filter(code=code).first()
        if street is None:
            raise InvalidInput(_("No street with code %(code)s.") % {"code": code}, field="--street")
        if not mine.filter(pk=street.pk).exists():
            raise PermissionDenied(refused)
        return street
    if mine.count() == 1:
        return mine.get()
    if mine.exists():
        raise InvalidInput(
            _("There are several streets; say which one the new community joins with --street CODE."),
            field="--street",
        )
    if streets.exists() or not (isinstance(actor, str) or actor.role in UNSCOPED_ROLES):
        raise PermissionDenied(refused)
    return None


def _new_street() -> Region:
    """A fresh installation: a city → district → street chain to be renamed on the places pages."""
    parent = None
    for kind, suffix, zh, en in (
        (RegionKind.CITY, "CITY", "待定城市", "City to be named"),
        (RegionKind.DISTRICT, "DIST", "待定区县", "District to be named"),
        (RegionKind.STREET, "STREET", "待定街道", "Street to be named"),
    ):
        region = Region.objects.create(
            code=f"IMPORT-{suffix}", name_zh=zh, name_en=en, kind=kind, parent=parent, path="/pending/"
        )
        region.path = Region.path_for(parent, region.pk)
        region.save(update_fields=["path"])
        parent = region
    assert parent is not None
    return parent


def _hull(plan: Plan) -> Polygon:
    shapes = [f.geometry for f in (*plan.grids, *plan.buildings, *plan.facilities)]
    shapes += [
        shapely.LineString([(x, y) for _k, x, y in line])
        for p in plan.paths
        for line in p.props["_lines"]
        if len(line) >= 2
    ]
    hull = shapely.union_all(shapes).convex_hull.buffer(0.0002)  # ~20 m around what was imported
    return hull if isinstance(hull, Polygon) else shapely.box(*hull.bounds)


def _geojson(polygon: Polygon) -> dict:
    polygon = shapely.set_precision(shapely.simplify(polygon, 0), 1e-7)
    if not isinstance(polygon, Polygon):
        polygon = max(getattr(polygon, "geoms", []), key=lambda g: g.area)
    data = mapping(shapely.orient_polygons(polygon) if hasattr(shapely, "orient_polygons") else polygon)
    return json.loads(json.dumps(data))  # tuples → lists, as JSONField gives them back


def _kept(props: dict) -> dict:
    """The source's own properties as they came (those Banyan read into fields, and ours, left out)."""
    return {
        k: v
        for k, v in props.items()
        if not k.startswith("_")
        and k not in {"kind", "name"}
        and isinstance(v, str | int | float | bool | list | None)
    }


def _next_codes(prefix: str, model, existing: Iterable[str]) -> Callable[[], str]:
    numbers = [
        int(c.removeprefix(prefix))
        for c in existing
        if c.startswith(prefix) and c.removeprefix(prefix).isdigit()
    ]
    state = {"n": max(numbers, default=0)}

    def take() -> str:
        while True:
            state["n"] += 1
            code = f"{prefix}{state['n']}"
            if not model.objects.filter(code=code).exists():
                return code

    return take


def _write(community: Region, plan: Plan, graph: paths.Graph, report: Report) -> None:
    grids = _write_grids(community, plan, report)
    buildings = _write_buildings(community, plan, grids, report)
    facilities = _write_facilities(community, plan, grids, buildings, report)
    if graph.nodes:
        _write_graph(community, graph, buildings, facilities)


def _write_grids(community: Region, plan: Plan, report: Report) -> list[tuple[Polygon, Region]]:
    current = {
        g.source_id: g for g in Region.objects.filter(parent=community, kind=RegionKind.GRID) if g.source_id
    }
    next_code = _next_codes(
        f"{community.code}-G", Region, Region.objects.filter(parent=community).values_list("code", flat=True)
    )
    result = []
    for feature in plan.grids:
        grid = current.get(feature.source_id)
        fields = {
            "name_zh": feature.name[:100],
            "name_en": str(feature.props.get("name_en") or (feature.name if feature.name.isascii() else ""))[
                :100
            ],
            "boundary": _geojson(feature.geometry),
            "properties": _kept(feature.props),
        }
        if grid is None:
            grid = Region.objects.create(
                code=next_code(),
                kind=RegionKind.GRID,
                parent=community,
                path="/pending/",
                source_id=feature.source_id,
                **fields,
            )
            grid.path = Region.path_for(community, grid.pk)
            grid.save(update_fields=["path"])
            report.created += 1
        else:
            for key, value in fields.items():
                setattr(grid, key, value)
            grid.save(update_fields=list(fields))
            report.updated += 1
        result.append((feature.geometry, grid))
    if result:
        return result
    existing = list(Region.objects.filter(parent=community, kind=RegionKind.GRID))
    boundary = shape(community.boundary)
    if not existing:
        grid = Region.objects.create(
            code=next_code(),
            kind=RegionKind.GRID,
            parent=community,
            name_zh="第1网格",
            name_en="Grid 1",
            path="/pending/",
            boundary=community.boundary,
            properties={"banyan": DEFAULT_GRID},
        )
        grid.path = Region.path_for(community, grid.pk)
        grid.save(update_fields=["path"])
        report.created += 1
        return [(boundary, grid)]
    if len(existing) == 1 and existing[0].properties.get("banyan") == DEFAULT_GRID:
        existing[0].boundary = community.boundary
        existing[0].save(update_fields=["boundary"])
        return [(boundary, existing[0])]
    return [(shape(g.boundary), g) for g in existing if g.boundary]


def _grid_for(grids: list[tuple[Polygon, Region]], geometry, community: Region) -> Region:
    point = geometry.representative_point()
    found = next((grid for polygon, grid in grids if polygon.contains(point)), None)
    if found is not None:
        return found
    # Outside every drawn grid (only possible when the file brought none): the nearest grid.
    return min(grids, key=lambda pair: pair[0].distance(point))[1]


def _write_buildings(community: Region, plan: Plan, grids, report: Report) -> dict[str, Building]:
    current = {b.source_id: b for b in Building.objects.filter(grid__parent=community).exclude(source_id="")}
    next_code = _next_codes(f"{community.code}-B", Building, ())
    written: dict[str, Building] = {}
    moves: dict[int, int] = {}
    for feature in plan.buildings:
        point = feature.geometry.representative_point()
        building = current.get(feature.source_id) or Building(source_id=feature.source_id, code=next_code())
        created = building.pk is None
        grid = _grid_for(grids, feature.geometry, community)
        if not created and building.grid_id != grid.pk:
            moves[building.pk] = grid.pk
        building.grid = grid
        building.name = feature.name
        building.kind = feature.props["_kind"]
        building.floors = feature.props["_floors"] or (building.floors if not created else 1)
        building.entrances = feature.props["_entrances"] or (building.entrances if not created else 1)
        building.unit_names = feature.props["_unit_names"]
        building.lift = (
            feature.props.get("lift") if isinstance(feature.props.get("lift"), bool) else building.lift
        )
        building.footprint = _geojson(feature.geometry)
        building.latitude, building.longitude = round(point.y, 7), round(point.x, 7)
        building.properties = _kept(feature.props)
        building.save()
        report.created += created
        report.updated += not created
        written[feature.source_id] = building
    if moves:  # households and devices keep their building's grid (banyan/places/gridding.py)
        buildings_moved.send(sender=Building, moves=moves)
    return written


def _write_facilities(community: Region, plan: Plan, grids, buildings, report: Report) -> dict[str, Facility]:
    subtree = Region.objects.filter(path__startswith=community.path)
    current = {f.source_id: f for f in Facility.objects.filter(region__in=subtree).exclude(source_id="")}
    next_code = _next_codes(f"{community.code}-F", Facility, ())
    written: dict[str, Facility] = {}
    inside = [(shape(b.footprint), b) for b in buildings.values() if b.footprint]
    for feature in plan.facilities:
        facility = current.get(feature.source_id) or Facility(source_id=feature.source_id, code=next_code())
        created = facility.pk is None
        point = feature.geometry
        facility.region = _grid_for(grids, point, community) if grids else community
        facility.building = next((b for polygon, b in inside if polygon.contains(point)), None)
        facility.kind = feature.props["_kind"]
        facility.name_zh = feature.name[:100]
        facility.name_en = str(feature.props.get("name:en") or feature.props.get("name_en") or "")[:100]
        facility.latitude, facility.longitude = round(point.y, 7), round(point.x, 7)
        facility.capacity = feature.props["_capacity"] or (0 if created else facility.capacity)
        area = feature.props.get("_area")
        facility.area = _geojson(area) if area is not None else None
        facility.properties = _kept(feature.props)
        facility.save()
        report.created += created
        report.updated += not created
        written[feature.source_id] = facility
    return written


def _write_graph(community: Region, graph: paths.Graph, buildings, facilities) -> None:
    """The walking graph is derived from the file: replaced as a whole."""
    PathNode.objects.filter(community=community).delete()
    codes = {code: f"{code}"[:32] for code in graph.nodes}
    nodes = PathNode.objects.bulk_create(
        [
            PathNode(
                community=community,
                code=codes[code],
                latitude=round(data["lat"], 7),
                longitude=round(data["lon"], 7),
                building=buildings.get(data["building"].source_id) if data["building"] is not None else None,
                facility=facilities.get(data["facility"].source_id) if data["facility"] is not None else None,
            )
            for code, data in graph.nodes.items()
        ],
        batch_size=2000,
    )
    if any(n.pk is None for n in nodes):  # backends that do not return ids from bulk inserts
        by_code = dict(PathNode.objects.filter(community=community).values_list("code", "pk"))
    else:
        by_code = {n.code: n.pk for n in nodes}
    PathEdge.objects.bulk_create(
        [
            PathEdge(
                source_id=by_code[codes[a]],
                target_id=by_code[codes[b]],
                length_m=round(data["length_m"], 2),
                step_free=data["step_free"],
                kind=data["kind"],
            )
            for (a, b), data in graph.edges.items()
        ],
        batch_size=2000,
    )
