"""Where the community is: the region tree, grid cells, building plots, facilities, walking graph.

All layout is done in metres on a local flat frame centred on the first community and converted
to WGS84 once, with one cosine, so that neighbouring grid cells share their edges exactly and
every grid lies inside its community. A street of several communities (:class:`Site`) puts them
side by side on the same frame, the first one where a single community stands.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from banyan.people.choices import OrganisationKind
from banyan.places.choices import BuildingKind, FacilityKind, RegionKind
from banyan.places.geo import haversine_m
from banyan.sim.seed.data import chinese_number
from banyan.sim.seed.plan import (
    BuildingPlan,
    FacilityPlan,
    PathEdgePlan,
    PathNodePlan,
    RegionPlan,
    UnitPlan,
)

METRES_PER_DEGREE = 111_320
COMMUNITY_CENTRE = (120.1760, 30.2430)  # lon, lat: Shangcheng district, east of West Lake
BASE_WIDTH_M, BASE_HEIGHT_M = 600.0, 500.0
CELL_MARGIN_M = 12.0

CITY = ("330100", "杭州市", "Hangzhou")
DISTRICT = ("330102", "上城区", "Shangcheng District")
STREET = ("330102001", "湖滨街道", "Hubin Street")
COMMUNITY = ("330102001001", "东坡未来社区", "Dongpo Future Community")
COMMUNITY_SHORT = "东坡"
# The further communities of the street (2, 3 …), named after streets by West Lake: short names.
NEIGHBOURS = (
    ("岳王", "Yuewang"),
    ("青年", "Qingnian"),
    ("涌金", "Yongjin"),
    ("定安", "Ding'an"),
    ("平海", "Pinghai"),
    ("学士", "Xueshi"),
    ("惠兴", "Huixing"),
    ("长生", "Changsheng"),
    ("菩提", "Puti"),
)
MAXIMUM_COMMUNITIES = 1 + len(NEIGHBOURS)
COMMUNITY_GAP_M = 80.0  # the road between two communities of the street
STREET_MARGIN_M = 300.0  # at least this much street around every community


@dataclass(frozen=True)
class Site:
    """Which community of the street is planned: its number, code and names.

    Community 1 is the one a single-community seed has always made; every code of community
    ``n`` ≥ 2 (grids, buildings, facilities, households, devices, organisations) starts with
    ``Cn-`` so that codes stay unique across the street.
    """

    number: int
    code: str
    name_zh: str
    name_en: str
    short_zh: str
    short_en: str

    @property
    def prefix(self) -> str:
        return "" if self.number == 1 else f"C{self.number}-"


def site(number: int) -> Site:
    """Community ``number`` (1 … :data:`MAXIMUM_COMMUNITIES`) of the street."""
    if number == 1:
        return Site(1, *COMMUNITY, COMMUNITY_SHORT, "Dongpo")
    short_zh, short_en = NEIGHBOURS[number - 2]
    code = f"{STREET[0]}{number:03d}"
    return Site(number, code, f"{short_zh}社区", f"{short_en} Community", short_zh, short_en)


FIRST = site(1)


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in local metres (x east, y north)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def grow(self, west: float, south: float, east: float, north: float) -> Box:
        return Box(self.x0 - west, self.y0 - south, self.x1 + east, self.y1 + north)


def hull(boxes: Iterable[Box]) -> Box:
    """The smallest box holding all of ``boxes``."""
    boxes = list(boxes)
    return Box(
        min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes)
    )


@dataclass(frozen=True)
class Frame:
    lon0: float
    lat0: float

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        lat = self.lat0 + y / METRES_PER_DEGREE
        lon = self.lon0 + x / (METRES_PER_DEGREE * math.cos(math.radians(self.lat0)))
        return round(lon, 7), round(lat, 7)

    def polygon(self, box: Box) -> dict:
        corners = [(box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1), (box.x0, box.y0)]
        return {"type": "Polygon", "coordinates": [[list(self.lonlat(x, y)) for x, y in corners]]}

    def centred(self, cx: float, cy: float, width: float, height: float) -> dict:
        return self.polygon(Box(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2))


FRAME = Frame(*COMMUNITY_CENTRE)


def grid_code(number: int, prefix: str = "") -> str:
    return f"{prefix}G{number:02d}"


@dataclass(frozen=True)
class GridCell:
    code: str
    box: Box


Place = Callable[[float, float], Box]


def centred(width: float, height: float) -> Box:
    """Where a single community (and the first of a street) lies: centred on the frame."""
    return Box(-width / 2, -height / 2, width / 2, height / 2)


def upper_regions(first: Box, extent: Box) -> list[RegionPlan]:
    """City → district → street around the first community's box, the street grown to hold
    ``extent`` (every community of the street) with a margin; for one community, ``extent`` is its box."""
    width, height = first.width, first.height
    street = first.grow(900 + width / 2, 1100 + height / 2, 1300 + width / 2, 700 + height / 2)
    reach = extent.grow(STREET_MARGIN_M, STREET_MARGIN_M, STREET_MARGIN_M, STREET_MARGIN_M)
    street = hull((street, reach))
    district = street.grow(3000, 4500, 5000, 2500)
    city = district.grow(90_000, 45_000, 40_000, 40_000)
    return [
        RegionPlan(*CITY, RegionKind.CITY, None, FRAME.polygon(city)),
        RegionPlan(*DISTRICT, RegionKind.DISTRICT, CITY[0], FRAME.polygon(district)),
        RegionPlan(*STREET, RegionKind.STREET, DISTRICT[0], FRAME.polygon(street)),
    ]


def plan_regions(
    grid_count: int, where: Site = FIRST, place: Place = centred
) -> tuple[list[RegionPlan], list[GridCell]]:
    """The community and ``grid_count`` grids tiling it, at the box ``place`` gives for its size;
    community 1 also brings city → district → street (see :func:`upper_regions`)."""
    scale = math.sqrt(max(1.0, grid_count / 6))
    community = place(BASE_WIDTH_M * scale, BASE_HEIGHT_M * scale)
    width, height = community.width, community.height
    regions = upper_regions(community, community) if where.number == 1 else []
    boundary = FRAME.polygon(community)
    regions.append(
        RegionPlan(where.code, where.name_zh, where.name_en, RegionKind.COMMUNITY, STREET[0], boundary)
    )
    rows = max(1, round(math.sqrt(grid_count * height / width)))
    per_row = [grid_count // rows + (1 if r < grid_count % rows else 0) for r in range(rows)]
    cells: list[GridCell] = []
    row_height = height / rows
    for r, count in enumerate(per_row):
        y1 = community.y1 - r * row_height
        y0 = community.y0 if r == rows - 1 else y1 - row_height
        cell_width = width / count
        for c in range(count):
            x0 = community.x0 + c * cell_width
            x1 = community.x1 if c == count - 1 else x0 + cell_width
            number = len(cells) + 1
            cell = GridCell(grid_code(number, where.prefix), Box(x0, y0, x1, y1))
            cells.append(cell)
            regions.append(
                RegionPlan(
                    cell.code,
                    f"{where.short_zh}第{chinese_number(number)}网格",
                    f"{where.short_en} Grid {number}",
                    RegionKind.GRID,
                    where.code,
                    FRAME.polygon(cell.box),
                )
            )
    return regions, cells


# --- buildings --------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildingSpec:
    kind: str
    floors: int
    entrances: int
    flats_per_floor: int
    built_year: int

    @property
    def unit_count(self) -> int:
        return self.floors * self.entrances * self.flats_per_floor

    @property
    def size_m(self) -> tuple[float, float]:
        if self.kind == BuildingKind.TOWER:
            return self.entrances * (10 + 6 * self.flats_per_floor), 16 + 2 * self.flats_per_floor
        return self.entrances * 15, 11


def older_block(entrances: int, rng: random.Random) -> BuildingSpec:
    return BuildingSpec(BuildingKind.OLDER_BLOCK, 6, entrances, 2, rng.randint(1985, 2000))


def tower(rng: random.Random) -> BuildingSpec:
    return BuildingSpec(
        BuildingKind.TOWER,
        rng.randint(18, 33),
        1 if rng.random() < 0.55 else 2,
        rng.choice((2, 2, 3, 4)),
        rng.randint(2003, 2021),
    )


def building_specs(units_needed: int, rng: random.Random) -> list[BuildingSpec]:
    """Towers and older walk-ups with at least ``units_needed`` flats and not many more."""
    specs: list[BuildingSpec] = []
    capacity = 0
    while capacity < units_needed:
        remaining = units_needed - capacity
        if remaining <= 48:
            spec = older_block(min(4, max(2, math.ceil(remaining / 12))), rng)
        elif rng.random() < 0.35 or remaining <= 72:
            spec = older_block(rng.randint(2, 4), rng)
        else:
            spec = tower(rng)
        specs.append(spec)
        capacity += spec.unit_count
    return specs


def plan_units(building_code: str, spec: BuildingSpec, rng: random.Random) -> list[UnitPlan]:
    if spec.kind == BuildingKind.TOWER:
        areas = [rng.uniform(78, 140) for _ in range(spec.flats_per_floor)]
    else:
        areas = [rng.uniform(45, 88) for _ in range(spec.flats_per_floor)]
    units = []
    for entrance in range(1, spec.entrances + 1):
        for floor in range(1, spec.floors + 1):
            for room in range(1, spec.flats_per_floor + 1):
                area = Decimal(f"{areas[room - 1] + rng.uniform(-0.5, 0.5):.2f}")
                units.append(
                    UnitPlan(
                        building_code, f"{entrance}-{floor:02d}-{floor}{room:02d}", entrance, floor, area
                    )
                )
    return units


# --- facilities -------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilitySpec:
    kind: str
    name_zh: str
    name_en: str
    capacity: int
    area_m: tuple[float, float] | None = None


def facility_specs(
    grid_count: int, households: int, children_3_to_6: int, vehicles: int, short: str = COMMUNITY_SHORT
) -> list[FacilitySpec]:
    kindergarten_places = max(90, math.ceil(children_3_to_6 * 0.95 / 30) * 30)
    specs = [
        FacilitySpec(FacilityKind.COMMUNITY_CENTRE, f"{short}社区党群服务中心", "Community centre", 300),
        FacilitySpec(FacilityKind.CLINIC, f"{short}社区卫生服务站", "Community health station", 80),
        FacilitySpec(FacilityKind.ELDERLY_DAY_CARE, f"{short}颐养中心", "Elderly day-care centre", 60),
        FacilitySpec(FacilityKind.CANTEEN, f"{short}老年食堂", "Elderly canteen", 120),
        FacilitySpec(FacilityKind.KINDERGARTEN, f"{short}幼儿园", "Kindergarten", kindergarten_places),
        FacilitySpec(FacilityKind.MICRO_FIRE_STATION, f"{short}微型消防站", "Micro fire station", 8),
        FacilitySpec(FacilityKind.SPORTS_FIELD, f"{short}运动场", "Sports field", 400, (90, 55)),
        FacilitySpec(FacilityKind.SHELTER, f"{short}应急避难场所", "Emergency shelter", 0, (70, 50)),
    ]
    for i in range(1 + grid_count // 8):
        specs.append(
            FacilitySpec(FacilityKind.PLAZA, f"{short}文化广场{_suffix(i)}", f"Plaza {i + 1}", 0, (60, 45))
        )
    for i in range(max(1, math.ceil(grid_count / 4))):
        specs.append(
            FacilitySpec(
                FacilityKind.HEALTH_HUT, f"智慧健康小屋{_suffix(i)}", f"Smart health hut {i + 1}", 20
            )
        )
    garages = max(1, math.ceil(vehicles / 400))
    per_garage = max(100, math.ceil(vehicles * 1.15 / garages / 10) * 10)
    for i in range(garages):
        specs.append(
            FacilitySpec(
                FacilityKind.PARKING, f"地下车库{_suffix(i)}", f"Underground garage {i + 1}", per_garage
            )
        )
    return specs


def _suffix(i: int) -> str:
    return "" if i == 0 else f"（{chinese_number(i + 1)}）"


# --- plots --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plot:
    box: Box


def plots_for(cell: Box, count: int) -> list[Plot]:
    """``count`` equal plots in a lattice inside a grid cell, leaving road margins."""
    inner = cell.grow(-CELL_MARGIN_M, -CELL_MARGIN_M, -CELL_MARGIN_M, -CELL_MARGIN_M)
    columns = max(1, round(math.sqrt(count * inner.width / inner.height)))
    rows = math.ceil(count / columns)
    columns = math.ceil(count / rows)
    pw, ph = inner.width / columns, inner.height / rows
    plots = []
    for i in range(count):
        r, c = divmod(i, columns)
        x0, y1 = inner.x0 + c * pw, inner.y1 - r * ph
        plots.append(Plot(Box(x0, y1 - ph, x0 + pw, y1)))
    return plots


def fit(size: tuple[float, float], plot: Plot, share: float = 0.8) -> tuple[float, float]:
    return min(size[0], plot.box.width * share), min(size[1], plot.box.height * share)


def building_plan(
    code: str, number: int, grid: str, spec: BuildingSpec, plot: Plot
) -> tuple[BuildingPlan, Box]:
    width, depth = fit(spec.size_m, plot)
    cx, cy = plot.box.centre
    lon, lat = FRAME.lonlat(cx, cy)
    footprint = Box(cx - width / 2, cy - depth / 2, cx + width / 2, cy + depth / 2)
    plan = BuildingPlan(
        code=code,
        grid_code=grid,
        name=f"{number}幢",
        kind=spec.kind,
        floors=spec.floors,
        entrances=spec.entrances,
        footprint=FRAME.polygon(footprint),
        latitude=lat,
        longitude=lon,
        built_year=spec.built_year,
    )
    return plan, footprint


def facility_plan(code: str, grid: str, spec: FacilitySpec, plot: Plot) -> tuple[FacilityPlan, Box]:
    cx, cy = plot.box.centre
    lon, lat = FRAME.lonlat(cx, cy)
    area = None
    width, depth = fit(spec.area_m or (20, 14), plot)
    zone = Box(cx - width / 2, cy - depth / 2, cx + width / 2, cy + depth / 2)
    capacity = spec.capacity
    if spec.area_m is not None:
        area = FRAME.polygon(zone)
        if capacity == 0:  # shelters and plazas hold about one person per 2 m²
            capacity = int(width * depth / 2)
    return FacilityPlan(code, grid, spec.kind, spec.name_zh, spec.name_en, lat, lon, capacity, area), zone


# --- walking graph ---------------------------------------------------------------------


def plan_walking_graph(
    community: Box,
    entrances: list[tuple[str, Box]],
    gates: list[tuple[str, Box]],
    rng: random.Random,
    spacing_m: float = 45.0,
) -> tuple[list[PathNodePlan], list[PathEdgePlan]]:
    """A lattice of junctions, one entrance node per building and one gate per facility.

    The lattice is step-free and connected; a few diagonal short cuts have steps. Each
    entrance and gate joins its nearest junction, so every node is reachable.
    """
    columns = max(2, round(community.width / spacing_m) + 1)
    rows = max(2, round(community.height / spacing_m) + 1)
    dx, dy = community.width / (columns - 1), community.height / (rows - 1)
    nodes: list[PathNodePlan] = []
    where: dict[str, tuple[float, float]] = {}

    def add(code: str, x: float, y: float, **links) -> None:
        lon, lat = FRAME.lonlat(x, y)
        nodes.append(PathNodePlan(code, lat, lon, **links))
        where[code] = (lon, lat)

    def junction(r: int, c: int) -> str:
        return f"J{r:02d}-{c:02d}"

    for r in range(rows):
        for c in range(columns):
            add(junction(r, c), community.x0 + c * dx, community.y1 - r * dy)
    edges: list[PathEdgePlan] = []

    def join(a: str, b: str, step_free: bool = True) -> None:
        (lon1, lat1), (lon2, lat2) = where[a], where[b]
        length = round(max(0.5, haversine_m(lon1, lat1, lon2, lat2)), 2)
        edges.append(PathEdgePlan(a, b, length, step_free))

    for r in range(rows):
        for c in range(columns):
            if c + 1 < columns:
                join(junction(r, c), junction(r, c + 1))
            if r + 1 < rows:
                join(junction(r, c), junction(r + 1, c))
            if r + 1 < rows and c + 1 < columns and rng.random() < 0.06:
                join(junction(r, c), junction(r + 1, c + 1), step_free=False)

    def nearest_junction(x: float, y: float) -> str:
        c = min(columns - 1, max(0, round((x - community.x0) / dx)))
        r = min(rows - 1, max(0, round((community.y1 - y) / dy)))
        return junction(r, c)

    for prefix, items, link in (("E-", entrances, "building_code"), ("F-", gates, "facility_code")):
        for code, box in items:
            x, y = box.centre[0], box.y0 - 3
            node = prefix + code
            add(node, x, y, **{link: code})
            join(node, nearest_junction(x, y))
    return nodes, edges


# --- organisations ---------------------------------------------------------------------


def organisations(where: Site) -> tuple[tuple[str, str, str, str, str], ...]:
    """(code, kind, Chinese name, English name, region) of the bodies a community's seed creates;
    the street office comes with community 1 only."""
    zh, en, prefix = where.short_zh, where.short_en, where.prefix
    bodies = [
        (f"{prefix}ORG-COMMITTEE", OrganisationKind.COMMUNITY_COMMITTEE, f"{zh}社区居民委员会",
         f"{en} Residents' Committee"),
        (f"{prefix}ORG-PROPERTY", OrganisationKind.PROPERTY_COMPANY, f"杭州{zh}物业服务有限公司",
         f"{en} Property Services"),
        (f"{prefix}ORG-SOCIAL", OrganisationKind.SOCIAL_ORGANISATION, f"{zh}邻里互助社",
         f"{en} Neighbourhood Mutual Aid"),
        (f"{prefix}ORG-FIRE", OrganisationKind.MICRO_FIRE_STATION, f"{zh}社区微型消防站",
         f"{en} Micro Fire Station"),
        (f"{prefix}ORG-CLINIC", OrganisationKind.CLINIC, f"湖滨街道社区卫生服务中心{zh}站",
         f"{en} Community Clinic"),
    ]  # fmt: skip
    office = (
        "ORG-STREET",
        OrganisationKind.STREET_OFFICE,
        "湖滨街道办事处",
        "Hubin Street Office",
        STREET[0],
    )
    return tuple(([office] if where.number == 1 else []) + [(*body, where.code) for body in bodies])
