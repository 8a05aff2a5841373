from __future__ import annotations

import unicodedata
from typing import Annotated

from ninja import Field, Schema
from pydantic import field_validator

# A database id: positive and within a 64-bit integer, so that no lookup can overflow.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def hidden_character(value: str) -> str | None:
    """The first character of ``value`` that no one can see, as ``U+XXXX``, or ``None``.

    Control characters (Unicode category Cc: C0, DEL, C1) and format characters (Cf): zero-width
    spaces and joiners (U+200B–U+200D, U+2060, U+FEFF), direction marks and overrides (U+200E/F,
    U+202A–U+202E, U+2066–U+2069) and the like. They make a name look like another one, or turn
    the text around it backwards on screen.
    """
    for c in value:
        if (c.isascii() and c.isprintable()) or c == " ":
            continue
        if unicodedata.category(c) in ("Cc", "Cf"):
            return f"U+{ord(c):04X}"
    return None


def clean_text(value):
    """Refuse control, zero-width and direction characters and unpaired surrogates in any text."""
    if isinstance(value, str):
        found = hidden_character(value)
        if found:
            raise ValueError(
                f"must not contain control, zero-width or text-direction characters (found {found})"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    return value


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=500, description="page size, 1–500")
    offset: int = Field(0, ge=0, le=10**9)

    _text = field_validator("*")(clean_text)


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


class BuildingList(Schema):
    count: int
    items: list[BuildingOut]


class BuildingFilter(PageQuery):
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


class PathEdgeOut(Schema):
    source: int = Field(..., alias="source_id")
    target: int = Field(..., alias="target_id")
    length_m: float
    step_free: bool


class WalkingGraphOut(Schema):
    community: str
    nodes: list[PathNodeOut]
    edges: list[PathEdgeOut]
