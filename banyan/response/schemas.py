from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import field_validator

from banyan.core.schemas import PageQuery, clean_text
from banyan.response.models import DESCRIPTION_MAX, PHOTOS_PER_STEP
from banyan.warning.choices import GRADE_PATTERN


def clean_prose(value):
    """Text that may span lines (descriptions, notes): no other control characters."""
    if isinstance(value, str):
        clean_text(value.replace("\r", " ").replace("\n", " ").replace("\t", " "))  # raises on the others
    return value


class IncidentFilter(PageQuery):
    status: str | None = Field(None, max_length=16, description="a status, or `open` for all open ones")
    grade: str | None = Field(None, pattern=GRADE_PATTERN)
    category: str | None = Field(None, max_length=32)
    mine: bool = Field(False, description="only those assigned to me, most urgent first")


class IncidentIn(Schema):
    category: str = Field(..., max_length=32)
    grade: str | None = Field(None, pattern=GRADE_PATTERN)
    description: str = Field("", max_length=DESCRIPTION_MAX)
    unit: int | None = None
    building: int | None = None
    facility: int | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    alert: int | None = Field(None, description="the alert this incident answers")

    _text = field_validator("category", "grade")(clean_text)
    _prose = field_validator("description")(clean_prose)


class ActionIn(Schema):
    move: str = Field(
        ..., max_length=16, description="accept, decline, on_scene, resolve, assign, close, cancel …"
    )
    note: str = Field("", max_length=DESCRIPTION_MAX)
    version: int | None = Field(None, ge=0, description="the version you saw; a stale one is refused (409)")
    assignee: int | None = Field(None, description="user id, for assign and reopen")
    latitude: float | None = Field(None, ge=-90, le=90, description="with on_scene: where your phone is")
    longitude: float | None = Field(None, ge=-180, le=180)
    reason: str = Field(
        "",
        max_length=DESCRIPTION_MAX,
        description="with on_scene from farther than the radius (BANYAN_RESPONSE ON_SCENE_RADIUS_M, "
        "default 150 m) from the incident's place: why (required then)",
    )
    photos_base64: list[str] = Field(
        default_factory=list,
        max_length=PHOTOS_PER_STEP,
        description="with on_scene or resolve: up to 5 JPEG, PNG or WebP pictures (base64, 5 MB each)",
    )
    alert: str | None = Field(
        None,
        max_length=16,
        description="with resolve, when the incident's alert is still active: `resolve` it too (the "
        "default) or `keep` it open (with alert_reason)",
    )
    alert_reason: str = Field("", max_length=2000, description="why the alert stays open (alert=keep)")

    _text = field_validator("move", "alert")(clean_text)
    _prose = field_validator("note", "reason", "alert_reason")(clean_prose)


class HandOverIn(Schema):
    organisation: str = Field(..., max_length=32, description="organisation code")
    role: str = Field("", max_length=32)
    reason: str = Field(..., min_length=1, max_length=DESCRIPTION_MAX)

    _text = field_validator("organisation", "role")(clean_text)
    _prose = field_validator("reason")(clean_prose)


class ClockOut(Schema):
    name: str
    due: dt.datetime
    met_at: dt.datetime | None
    state: str
    remaining_s: float | None


class IncidentOut(Schema):
    id: int
    category: str
    grade: str
    status: str
    source: str
    community: str
    grid: str | None
    building: int | None
    unit: int | None
    facility: int | None
    description: str
    accountable: str
    accountable_role: str
    assignee: int | None
    escalation_level: int
    version: int
    alert: int | None
    created_at: dt.datetime
    assigned_at: dt.datetime | None
    accepted_at: dt.datetime | None
    on_scene_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    on_scene_latitude: float | None = Field(..., description="where the responder's phone was on scene")
    on_scene_longitude: float | None
    on_scene_distance_m: float | None = Field(
        ..., description="metres from the phone on scene to the reported place; null: either unknown"
    )
    on_scene_far: bool = Field(..., description="on scene from farther than the radius (with a reason)")
    on_scene_reason: str
    clocks: list[ClockOut]


class IncidentList(Schema):
    count: int
    items: list[IncidentOut]


class EventOut(Schema):
    at: dt.datetime
    kind: str
    actor: int | None
    from_status: str
    to_status: str
    note: str
    details: dict[str, Any]


class DecisionOut(Schema):
    at: dt.datetime
    chosen: int | None
    reason: str
    reason_text: str
    ranking: list[dict[str, Any]]


class PhotoOut(Schema):
    id: int
    at: dt.datetime
    stage: str = Field(..., description="report, on_scene or resolve")
    taken_by: int | None
    url: str


class IncidentDetail(IncidentOut):
    timeline: list[EventOut]
    dispatch: list[DecisionOut]
    photos: list[PhotoOut]


class CellIn(Schema):
    category: str = Field(..., max_length=32)
    region: str = Field(..., max_length=32, description="region code: a grid, community or street")
    accountable: str = Field(..., max_length=32, description="organisation code")
    accountable_role: str = Field("", max_length=32)
    backup: str | None = Field(None, max_length=32)
    backup_role: str = Field("", max_length=32)
    escalation: list[dict[str, str]] = Field(default_factory=list, max_length=6)

    _text = field_validator("category", "region", "accountable", "accountable_role", "backup", "backup_role")(
        clean_text
    )


class CellOut(Schema):
    id: int
    category: str
    region: str
    accountable: str
    accountable_role: str
    backup: str | None
    backup_role: str
    escalation: list[dict[str, Any]]
    updated_at: dt.datetime


class GapOut(Schema):
    category: str
    region: str


class MatrixOut(Schema):
    cells: list[CellOut]
    gaps: list[GapOut]


class MatrixQuery(Schema):
    region: str | None = Field(None, max_length=32, description="region code; default: your own region")

    _text = field_validator("*")(clean_text)


class CategoryOut(Schema):
    code: str
    name: str
    default_grade: str
    skill: str


class MetricsQuery(Schema):
    days: int = Field(7, ge=1, le=366)
    region: str | None = Field(None, max_length=32)

    _text = field_validator("region")(clean_text)
