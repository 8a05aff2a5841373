from __future__ import annotations

from ninja import Field, Schema

from banyan.core.schemas import ObjectId, PageQuery


class RegionOut(Schema):
    id: int
    code: str
    name: str = Field(..., alias="name_zh")
    name_zh: str
    name_en: str
    kind: str
    parent: int | None = Field(None, alias="parent_id")
    boundary: dict | None


class RegionList(Schema):
    count: int
    items: list[RegionOut]


class RegionFilter(PageQuery):
    kind: str | None = Field(None, pattern=r"^(city|district|street|community|grid)$")
    parent: ObjectId | None = None
    code: str | None = Field(None, max_length=32)


class BuildingOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    grid: str = Field(..., alias="grid.code")
    floors: int
    entrances: int
    built_year: int | None
    latitude: float
    longitude: float
    footprint: dict | None
    lift: bool | None = Field(None, description="has a lift; null where not known")
    unit_names: list[str] = Field(default_factory=list, description="the entrances as residents name them")
    source_id: str = Field("", description="the import's stable id, e.g. way/123 from OpenStreetMap")


class BuildingList(Schema):
    count: int
    items: list[BuildingOut]


class BuildingFilter(PageQuery):
    community: str | None = Field(None, max_length=32, description="community code")
    grid: str | None = Field(None, max_length=32, description="grid code")
    kind: str | None = Field(None, max_length=16)


class UnitOut(Schema):
    id: int
    building: int = Field(..., alias="building_id")
    building_code: str = Field(..., alias="building.code")
    number: str
    entrance: int
    floor: int
    exclusive_area_m2: float
    use: str


class UnitList(Schema):
    count: int
    items: list[UnitOut]


class UnitFilter(PageQuery):
    building: ObjectId | None = None
    grid: str | None = Field(None, max_length=32)


class FacilityOut(Schema):
    id: int
    code: str
    kind: str
    name_zh: str
    name_en: str
    region: str = Field(..., alias="region.code")
    latitude: float
    longitude: float
    capacity: int
    area: dict | None


class FacilityList(Schema):
    count: int
    items: list[FacilityOut]


class FacilityFilter(PageQuery):
    kind: str | None = Field(None, max_length=32)
    region: str | None = Field(None, max_length=32, description="region code; includes its subtree")


class PathNodeOut(Schema):
    id: int
    code: str
    latitude: float
    longitude: float
    building: int | None = Field(None, alias="building_id")
    facility: int | None = Field(None, alias="facility_id")
    island: bool = Field(False, description="outside the graph's largest connected part: unreachable on foot")


class PathEdgeOut(Schema):
    source: int = Field(..., alias="source_id")
    target: int = Field(..., alias="target_id")
    length_m: float
    step_free: bool
    kind: str = Field("", description="footway, path, steps, pedestrian, road, lift, link, or empty")


class WalkingGraphOut(Schema):
    community: str
    islands: int = Field(0, description="connected parts besides the largest")
    nodes: list[PathNodeOut]
    edges: list[PathEdgeOut]
