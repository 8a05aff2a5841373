"""Grids of a community: proposed by target size, drawn or imported, and buildings assigned to them.

``propose_grids`` splits a community's buildings into groups of about a target size (households,
residents or buildings: the caller counts them, since places sits below people) by recursive bisection
along the longer axis of the buildings' points; each group's area is the union of its buildings' Voronoi
cells clipped to the community's boundary, so the proposals tile the community without overlap.

``apply_grids`` makes a community's grids what the list says (created, updated, removed), then moves
every building to the grid it stands in; ``assign_buildings`` does only the second part (the importer
calls it in its own transaction). Buildings move with what keeps their grid beside them (households,
devices): :data:`buildings_moved` tells the apps above.

Geometry is computed in metres on a local plane around the community (an equirectangular projection:
exact enough for a few kilometres), stored as GeoJSON in WGS84.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import shapely
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core.access import Action, Actor, can
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.places.choices import RegionKind
from banyan.places.geo import validate_polygon
from banyan.places.models import Building, Region

# Sent inside the transaction that moved buildings to other grids, with ``moves``: ``{building id: new
# grid id}``. The apps that keep a building's grid beside it (households, devices) follow.
buildings_moved = Signal()

MEASURES = ("households", "residents", "buildings")
MAX_GRIDS = 500
MAX_TARGET = 1_000_000
CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
METRES_PER_DEGREE = 111_320
# Overlap between two grids, or a grid beyond the community's boundary, that is only a sliver (a
# drawing's imprecision, rounding): at most this many m², and at most this share of the grid's area.
SLIVER_M2 = 25.0
SLIVER_SHARE = 0.01


# --- a local plane in metres -------------------------------------------------------------------


@dataclass(frozen=True)
class Plane:
    """Longitude/latitude ↔ metres east/north of an origin, for geometry over a few kilometres."""

    lon0: float
    lat0: float

    @property
    def _scale_x(self) -> float:
        return METRES_PER_DEGREE * math.cos(math.radians(self.lat0))

    def to_metres(self, geometry: BaseGeometry) -> BaseGeometry:
        sx = self._scale_x
        return shapely.transform(geometry, lambda c: (c - (self.lon0, self.lat0)) * (sx, METRES_PER_DEGREE))

    def to_degrees(self, geometry: BaseGeometry) -> BaseGeometry:
        sx = self._scale_x
        return shapely.transform(geometry, lambda c: c / (sx, METRES_PER_DEGREE) + (self.lon0, self.lat0))

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self._scale_x, (lat - self.lat0) * METRES_PER_DEGREE


def _plane_for(community: Region, buildings: Sequence[Building]) -> Plane:
    if community.boundary:
        centre = shape(community.boundary).centroid
        return Plane(centre.x, centre.y)
    if buildings:
        return Plane(
            sum(b.longitude for b in buildings) / len(buildings),
            sum(b.latitude for b in buildings) / len(buildings),
        )
    return Plane(0.0, 0.0)


def _geojson(geometry: BaseGeometry) -> dict:
    """A GeoJSON Polygon, coordinates rounded to 1e-7° (about a centimetre)."""
    rounded = shapely.set_precision(geometry, 1e-7)
    if rounded.geom_type != "Polygon" or rounded.is_empty:
        rounded = geometry
    data = mapping(rounded)
    return {
        "type": "Polygon",
        "coordinates": [[[round(x, 7), round(y, 7)] for x, y, *_z in ring] for ring in data["coordinates"]],
    }


def community_buildings(community: Region) -> models.QuerySet[Building]:
    """The buildings in the community's grids."""
    return Building.objects.filter(grid__path__startswith=community.path, grid__kind=RegionKind.GRID)


def community_area(community: Region, plane: Plane, buildings: Sequence[Building]) -> BaseGeometry:
    """The community's boundary in metres; without one, its grids together, or a hull around its buildings."""
    if community.boundary:
        return plane.to_metres(shape(community.boundary))
    grids = [shape(g.boundary) for g in community.children.filter(kind=RegionKind.GRID) if g.boundary]
    if grids:
        return plane.to_metres(shapely.union_all(grids))
    points = MultiPoint([plane.point(b.longitude, b.latitude) for b in buildings])
    return points.convex_hull.buffer(30)


# --- proposing grids ---------------------------------------------------------------------------


@dataclass
class Proposal:
    """One proposed grid: its code and names, its buildings, their weight, its boundary (GeoJSON)."""

    number: int
    code: str
    name_zh: str
    name_en: str
    building_ids: list[int]
    weight: int
    boundary: dict = field(default_factory=dict)

    def as_feature(self) -> dict:
        return {
            "type": "Feature",
            "properties": {"code": self.code, "name_zh": self.name_zh, "name_en": self.name_en},
            "geometry": self.boundary,
        }


@dataclass
class _Site:
    """Buildings at one point (they share a Voronoi cell), with their summed weight."""

    x: float
    y: float
    weight: int
    building_ids: list[int]


def _bisect(sites: list[_Site], groups: int) -> list[list[_Site]]:
    """Split ``sites`` into ``groups`` groups of about equal weight, cutting across the longer axis."""
    if groups <= 1 or len(sites) <= 1:
        return [sites]
    groups = min(groups, len(sites))
    xs, ys = [s.x for s in sites], [s.y for s in sites]
    along_x = max(xs) - min(xs) >= max(ys) - min(ys)
    ordered = sorted(sites, key=(lambda s: (s.x, s.y)) if along_x else (lambda s: (s.y, s.x)))
    first = groups // 2
    total = sum(s.weight for s in ordered)
    goal = total * first / groups
    best, best_gap, running = 1, math.inf, 0
    for index in range(1, len(ordered)):
        running += ordered[index - 1].weight
        # Each side must have at least as many sites as groups it is split into.
        if index < first or len(ordered) - index < groups - first:
            continue
        gap = abs(running - goal) if total else abs(index - len(ordered) * first / groups)
        if gap < best_gap:
            best, best_gap = index, gap
    return _bisect(ordered[:best], first) + _bisect(ordered[best:], groups - first)


def _new_codes(community: Region, count: int, taken: set[str]) -> list[str]:
    """Codes for new grids: the community's code, "-G" and a number, unused anywhere."""
    prefix = f"{community.code[:26]}-G"
    wanted = [f"{prefix}{n:02d}" for n in range(1, count + len(taken) + 1)]
    used = set(Region.objects.filter(code__in=wanted).values_list("code", flat=True)) | taken
    return [code for code in wanted if code not in used][:count]


def _merge_stray_parts(cells: list[BaseGeometry]) -> list[BaseGeometry]:
    """Make every proposal one polygon: a part cut off from the rest of its proposal joins the
    neighbour it shares the longest border with."""
    cells = list(cells)
    for _round in range(len(cells) + 1):
        changed = False
        for index, cell in enumerate(cells):
            if cell.geom_type != "MultiPolygon":
                continue
            parts = sorted(cell.geoms, key=lambda p: p.area, reverse=True)
            cells[index] = parts[0]
            for part in parts[1:]:
                borders = [
                    (part.boundary.intersection(other).length, other_index)
                    for other_index, other in enumerate(cells)
                    if other_index != index
                ]
                length, neighbour = max(borders, default=(0.0, -1))
                if length > 0:
                    cells[neighbour] = shapely.union(cells[neighbour], part)
                else:
                    cells[index] = shapely.union(cells[index], part)
            changed = True
        if not changed:
            break
    return [c if c.geom_type == "Polygon" else max(c.geoms, key=lambda p: p.area) for c in cells]


def propose_grids(
    community: Region, *, target: int, measure: str = "buildings", weights: Mapping[int, int] | None = None
) -> list[Proposal]:
    """Split the community's buildings into grids of about ``target`` (of ``measure``, counted in
    ``weights`` by building id; for "buildings", each counts 1). Nothing is saved.

    Proposals that overlap an existing grid most take its code and names (so its worker and its
    ledger stay with it); the others get new codes and the names "第N网格" / "Grid N".
    """
    if measure not in MEASURES:
        raise InvalidInput(
            _("Choose what a grid's size counts: households, residents or buildings."), field="measure"
        )
    if not isinstance(target, int) or not 1 <= target <= MAX_TARGET:
        raise InvalidInput(
            _("The target size is a whole number from 1 to %(most)s.") % {"most": MAX_TARGET}, field="target"
        )
    buildings = list(community_buildings(community).order_by("code"))
    if not buildings:
        raise InvalidInput(_("This community has no buildings yet: import them first."), field="target")
    by_point: dict[tuple[float, float], _Site] = {}
    plane = _plane_for(community, buildings)
    for building in buildings:
        weight = 1 if measure == "buildings" else max(int((weights or {}).get(building.pk, 0)), 0)
        x, y = plane.point(building.longitude, building.latitude)
        key = (round(x, 2), round(y, 2))
        site = by_point.setdefault(key, _Site(key[0], key[1], 0, []))
        site.weight += weight
        site.building_ids.append(building.pk)
    sites = list(by_point.values())
    total = sum(s.weight for s in sites)
    if total == 0:
        raise InvalidInput(
            _("No %(measure)s are counted in this community's buildings yet: propose grids by buildings.")
            % {"measure": _measure_words(measure)},
            field="measure",
        )
    count = max(1, min(round(total / target), len(sites), MAX_GRIDS))
    groups = _bisect(sites, count)

    area = community_area(community, plane, buildings)
    if len(sites) >= 2:
        voronoi = shapely.voronoi_polygons(
            MultiPoint([(s.x, s.y) for s in sites]), extend_to=area.envelope.buffer(100), ordered=True
        )
        cell_of = {id(site): cell for site, cell in zip(sites, voronoi.geoms, strict=True)}
        cells = [
            shapely.union_all([cell_of[id(site)] for site in group]).intersection(area) for group in groups
        ]
        cells = _merge_stray_parts([shapely.make_valid(c) if not c.is_valid else c for c in cells])
    else:
        cells = [area]

    existing = list(community.children.filter(kind=RegionKind.GRID).order_by("code"))
    claimed = _match_existing(cells, existing, plane)
    fresh = _new_codes(community, sum(1 for c in claimed if c is None), {g.code for g in existing})
    proposals = []
    for number, (group, cell, grid) in enumerate(zip(groups, cells, claimed, strict=True), start=1):
        if grid is not None:
            code, name_zh, name_en = grid.code, grid.name_zh, grid.name_en
        else:
            code, name_zh, name_en = fresh.pop(0), f"第{number}网格", f"Grid {number}"
        proposals.append(
            Proposal(
                number=number,
                code=code,
                name_zh=name_zh,
                name_en=name_en,
                building_ids=sorted(pk for site in group for pk in site.building_ids),
                weight=sum(site.weight for site in group),
                boundary=_geojson(plane.to_degrees(cell)),
            )
        )
    return proposals


def _measure_words(measure: str) -> str:
    return {"households": _("households"), "residents": _("residents")}.get(measure, _("buildings"))


def _match_existing(cells: list[BaseGeometry], existing: list[Region], plane: Plane) -> list[Region | None]:
    """For each cell, the existing grid it overlaps most (each grid given once, largest overlaps first)."""
    shapes = [(grid, plane.to_metres(shape(grid.boundary))) for grid in existing if grid.boundary]
    overlaps = sorted(
        (
            (cell.intersection(area).area, index, grid.pk)
            for index, cell in enumerate(cells)
            for grid, area in shapes
            if cell.intersects(area)
        ),
        reverse=True,
    )
    by_pk = {grid.pk: grid for grid, _area in shapes}
    claimed: list[Region | None] = [None] * len(cells)
    used: set[int] = set()
    for overlap, index, pk in overlaps:
        if overlap <= 0 or claimed[index] is not None or pk in used:
            continue
        claimed[index] = by_pk[pk]
        used.add(pk)
    return claimed


# --- applying grids ------------------------------------------------------------------------------


@dataclass
class GridsApplied:
    """What ``apply_grids`` did: grid codes created, updated and removed, buildings moved, and the
    buildings that stand outside every grid (left where they were) as ``{"feature", "problem"}``."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    moved: int = 0
    outside: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "removed": self.removed,
            "moved": self.moved,
            "outside": self.outside,
        }


def _text(value, *, label: str, row: str, field: str, required: bool, most: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(
            _("%(row)s: the %(label)s must be text.") % {"row": row, "label": label}, field=field
        )
    value = value.strip()
    if required and not value:
        raise InvalidInput(_("%(row)s: give the %(label)s.") % {"row": row, "label": label}, field=field)
    if len(value) > most or "\x00" in value:
        raise InvalidInput(
            _("%(row)s: the %(label)s has at most %(most)s characters.")
            % {"row": row, "label": label, "most": most},
            field=field,
        )
    return value


def _clean_grids(grids: Sequence[Mapping]) -> list[dict]:
    """Each grid's code, names and boundary checked; the first problem is raised, naming its grid."""
    if len(grids) > MAX_GRIDS:
        raise InvalidInput(
            _("A community has at most %(most)s grids; %(count)s were given.")
            % {"most": MAX_GRIDS, "count": len(grids)},
            field="grids",
        )
    cleaned, codes = [], set()
    for number, grid in enumerate(grids, start=1):
        row = _("Grid %(number)s") % {"number": number}
        if not isinstance(grid, Mapping):
            raise InvalidInput(_("%(row)s is not a grid with a code, names and a boundary.") % {"row": row})
        code = _text(grid.get("code"), label=_("code"), row=row, field="grids", required=True, most=32)
        row = _("Grid %(number)s (%(code)s)") % {"number": number, "code": code}
        if not CODE.match(code):
            raise InvalidInput(
                _("%(row)s: a code has only letters, digits, “-” and “_” (at most 32).") % {"row": row},
                field="grids",
            )
        if code in codes:
            raise InvalidInput(_("%(row)s: the code is given twice.") % {"row": row}, field="grids")
        codes.add(code)
        name_zh = _text(
            grid.get("name_zh"), label=_("Chinese name"), row=row, field="grids", required=True, most=100
        )
        name_en = _text(
            grid.get("name_en"), label=_("English name"), row=row, field="grids", required=False, most=100
        )
        try:
            validate_polygon(grid.get("boundary"), field="boundary")
        except ValidationError as exc:
            problem = " ".join(m for errors in exc.message_dict.values() for m in errors)
            raise InvalidInput(
                _("%(row)s: its boundary is not usable: %(problem)s") % {"row": row, "problem": problem},
                field="grids",
            ) from None
        cleaned.append({"code": code, "name_zh": name_zh, "name_en": name_en, "boundary": grid["boundary"]})
    return cleaned


def _is_sliver(area_m2: float, of_m2: float) -> bool:
    return area_m2 <= SLIVER_M2 or area_m2 <= SLIVER_SHARE * of_m2


def _check_geometry(community: Region, grids: list[dict], plane: Plane) -> dict[str, BaseGeometry]:
    """The grids' areas in metres, once none sticks out of the community and no two overlap."""
    areas = {grid["code"]: plane.to_metres(shape(grid["boundary"])) for grid in grids}
    if community.boundary:
        outline = plane.to_metres(shape(community.boundary))
        for code, area in areas.items():
            beyond = area.difference(outline).area
            if not _is_sliver(beyond, area.area):
                raise InvalidInput(
                    _("Grid %(code)s reaches %(area)s m² beyond the community's boundary: draw it inside.")
                    % {"code": code, "area": round(beyond)},
                    field="grids",
                )
    tree = shapely.STRtree(list(areas.values()))
    codes = list(areas)
    for index, (code, area) in enumerate(areas.items()):
        for other in tree.query(area, predicate="intersects"):
            if other <= index:
                continue
            shared = area.intersection(areas[codes[other]]).area
            if not _is_sliver(shared, min(area.area, areas[codes[other]].area)):
                raise InvalidInput(
                    _("Grids %(first)s and %(second)s overlap by %(area)s m²: a place belongs to one grid.")
                    % {"first": code, "second": codes[other], "area": round(shared)},
                    field="grids",
                )
    return areas


def _still_holding(grid: Region) -> str:
    """What still points at ``grid`` and keeps it from being removed (buildings, devices, accounts …)."""
    parts = []
    for relation in Region._meta.related_objects:
        if not relation.one_to_many or relation.on_delete is not models.PROTECT:
            continue
        model = relation.related_model
        if isinstance(model, str):
            continue
        count = model._default_manager.filter(**{relation.field.name: grid}).count()
        if count:
            name = model._meta.verbose_name
            parts.append(_("%(what)s: %(count)s") % {"what": name, "count": count})
    return _(", ").join(parts)


def assign_buildings(community: Region, *, areas: Mapping[str, BaseGeometry] | None = None) -> list[dict]:
    """Move every building of the community to the grid it stands in: the grid containing its point,
    else the one overlapping most of its footprint. Buildings outside every grid stay where they are
    and are returned as problems ``{"feature": code, "problem": …}``. Runs in the caller's transaction."""
    grids = {g.code: g for g in community.children.filter(kind=RegionKind.GRID)}
    buildings = list(community_buildings(community).order_by("code"))
    plane = _plane_for(community, buildings)
    if areas is None:
        areas = {code: plane.to_metres(shape(g.boundary)) for code, g in grids.items() if g.boundary}
    codes = list(areas)
    tree = shapely.STRtree([areas[code] for code in codes])
    moves: dict[int, int] = {}
    problems = []
    for building in buildings:
        point = Point(plane.point(building.longitude, building.latitude))
        found = [codes[i] for i in tree.query(point, predicate="intersects")]
        if not found and building.footprint:
            footprint = plane.to_metres(shape(building.footprint))
            overlaps = [
                (footprint.intersection(areas[codes[i]]).area, codes[i])
                for i in tree.query(footprint, predicate="intersects")
            ]
            found = [max(overlaps)[1]] if overlaps else []
        if not found:
            problems.append(
                {
                    "feature": building.code,
                    "problem": _("Building %(name)s stands outside every grid; it stays in %(grid)s.")
                    % {"name": building.name, "grid": building.grid.code},
                }
            )
            continue
        grid = grids[sorted(found)[0]]
        if building.grid_id != grid.pk:
            moves[building.pk] = grid.pk
    by_grid: dict[int, list[int]] = {}
    for building_id, grid_id in moves.items():
        by_grid.setdefault(grid_id, []).append(building_id)
    for grid_id, building_ids in by_grid.items():
        Building.objects.filter(pk__in=building_ids).update(grid_id=grid_id)
    if moves:
        buildings_moved.send(sender=Building, moves=moves)
    return problems


@transaction.atomic(durable=True)
def apply_grids(community: Region, grids: Sequence[Mapping], *, actor: Actor | str) -> GridsApplied:
    """Make the community's grids those of ``grids`` (dicts with ``code``, ``name_zh``, ``name_en`` and
    ``boundary``): grids are created or updated by code, a grid of the community not in the list is
    removed, and every building moves to the grid it stands in. All or nothing: a grid that overlaps
    another more than a sliver, reaches beyond the community's boundary, has a code another region
    uses, or is to be removed while buildings, devices or accounts still belong to it, refuses the
    whole change. Audited as ``grids.update``."""
    if not isinstance(actor, str):
        if not can(actor, Action.CHANGE_PLACES):
            raise PermissionDenied(_("Your role cannot change places."))
        in_scope = Region.objects.restrict(actor, Action.CHANGE_PLACES).filter(pk=community.pk)
        if not in_scope.exists():
            raise PermissionDenied(_("This community is outside the area you may change."))
    if community.kind != RegionKind.COMMUNITY:
        raise InvalidInput(_("Grids belong to a community."), field="community")
    Region.objects.select_for_update().filter(pk=community.pk).first()
    cleaned = _clean_grids(grids)
    buildings = list(community_buildings(community))
    plane = _plane_for(community, buildings)
    areas = _check_geometry(community, cleaned, plane)

    existing = {g.code: g for g in community.children.filter(kind=RegionKind.GRID)}
    elsewhere = (
        Region.objects.filter(code__in=[g["code"] for g in cleaned]).exclude(
            pk__in=[g.pk for g in existing.values()]
        )
    ).values_list("code", flat=True)
    if taken := sorted(elsewhere):
        raise InvalidInput(
            _("The code %(code)s belongs to another region: choose another.") % {"code": taken[0]},
            field="grids",
        )
    result = GridsApplied()
    for grid in cleaned:
        region = existing.get(grid["code"])
        if region is None:
            region = Region(parent=community, kind=RegionKind.GRID, path="/pending/", **grid)
            region.save()
            region.path = Region.path_for(community, region.pk)
            region.save(update_fields=["path"])
            existing[region.code] = region
            result.created.append(region.code)
            continue
        changed = [name for name in ("name_zh", "name_en", "boundary") if getattr(region, name) != grid[name]]
        for name in changed:
            setattr(region, name, grid[name])
        if changed:
            region.save(update_fields=changed)
            result.updated.append(region.code)

    listed = {g["code"] for g in cleaned}
    moved_before = set(community_buildings(community).values_list("pk", "grid_id"))
    result.outside = assign_buildings(community, areas=areas)
    result.moved = len(moved_before - set(community_buildings(community).values_list("pk", "grid_id")))
    for code in sorted(set(existing) - listed):
        region = existing[code]
        holding = _still_holding(region)
        if holding:
            raise InvalidInput(
                _("Grid %(code)s cannot be removed: these still belong to it (%(holding)s). Move them first.")
                % {"code": code, "holding": holding},
                field="grids",
            )
        region.delete()
        result.removed.append(code)
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.GRIDS_UPDATE,
                "region",
                community.pk,
                details={
                    "community": community.code,
                    "created": result.created,
                    "updated": result.updated,
                    "removed": result.removed,
                    "moved": result.moved,
                    "outside": len(result.outside),
                },
            )
        ],
    )
    return result
