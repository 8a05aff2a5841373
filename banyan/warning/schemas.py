from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import field_validator

from banyan.core.schemas import ObjectId, PageQuery, clean_text
from banyan.warning.choices import GRADE_PATTERN

STATUS_PATTERN = r"^(open|acknowledged|resolved|cleared|active)$"
RULE_BYTES = 64 * 1024


class _RuleData(Schema):
    """A rule is the engine's rule dict: besides the named fields, the kind's settings (``metric``,
    ``raise_at``, ``clear_below``, ``window_s`` …) are taken from the body as they are and checked by
    the engine (see ``banyan.warning.api.rule_data``)."""

    _text = field_validator("*")(clean_text)


class RuleIn(_RuleData):
    name: str = Field(..., min_length=1, max_length=100, description="in Chinese, as residents say it")
    name_en: str = Field("", max_length=100, description="the name on English pages; empty: the name")
    kind: str = Field(..., max_length=32)
    grade: str | None = Field(None, pattern=GRADE_PATTERN)
    auto_clear: bool = True
    incident_category: str = Field(
        "", max_length=32, description="each alert opens an incident of this category"
    )
    is_active: bool = True
    community: str | None = Field(None, max_length=32, description="community code; optional if you have one")


class RulePatch(_RuleData):
    """Settings given replace the stored ones key by key; ``null`` removes a setting."""

    name: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    kind: str | None = Field(None, max_length=32)
    grade: str | None = Field(None, pattern=GRADE_PATTERN)
    auto_clear: bool | None = None
    incident_category: str | None = Field(None, max_length=32)
    is_active: bool | None = None


class RuleOut(Schema):
    id: int
    name: str
    name_en: str
    kind: str
    grade: str
    auto_clear: bool
    incident_category: str
    is_active: bool
    community: str = Field(..., alias="community.code")
    params: dict[str, Any] = Field(..., description="the kind's settings, as in the engine's rule dict")
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleList(Schema):
    count: int
    items: list[RuleOut]


class RuleFilter(PageQuery):
    kind: str | None = Field(None, max_length=32)
    community: str | None = Field(None, max_length=32, description="community code")
    is_active: bool | None = None


class AlertOut(Schema):
    id: int
    rule: int = Field(..., alias="rule_id")
    rule_name: str = Field(..., alias="rule.display_name", description="in the request's language")
    grade: str
    status: str
    subject: str = Field(..., description="device code, or place key for place rules")
    place: str
    community: str = Field(..., alias="community.code")
    grid: str | None = None
    device: str | None = None
    facility: str | None = None
    count: int
    last_value: float | None
    reading_at: dt.datetime | None
    raised_at: dt.datetime
    pushed_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None = None
    resolved_at: dt.datetime | None
    resolved_by: str | None = None
    resolution_note: str
    cleared_at: dt.datetime | None
    escalation_level: int
    next_escalation_at: dt.datetime | None

    @staticmethod
    def resolve_grid(obj) -> str | None:
        return obj.grid.code if obj.grid_id else None

    @staticmethod
    def resolve_device(obj) -> str | None:
        return obj.device.code if obj.device_id else None

    @staticmethod
    def resolve_facility(obj) -> str | None:
        return obj.facility.code if obj.facility_id else None

    @staticmethod
    def resolve_acknowledged_by(obj) -> str | None:
        return obj.acknowledged_by.get_username() if obj.acknowledged_by_id else None

    @staticmethod
    def resolve_resolved_by(obj) -> str | None:
        return obj.resolved_by.get_username() if obj.resolved_by_id else None


class AlertList(Schema):
    count: int
    items: list[AlertOut]


class AlertFilter(PageQuery):
    status: str | None = Field(None, pattern=STATUS_PATTERN, description="'active' = open or acknowledged")
    grade: str | None = Field(None, pattern=GRADE_PATTERN)
    rule: ObjectId | None = None
    grid: str | None = Field(None, max_length=32, description="grid code")
    since: dt.datetime | None = Field(None, description="raised at or after")


class ResolveIn(Schema):
    note: str = Field("", max_length=2000, description="what was found and done (required)")
    incident: str | None = Field(
        None,
        max_length=16,
        description="the alert's open incident: `resolve` it too (the default) or `keep` it open "
        "(with incident_reason)",
    )
    incident_reason: str = Field("", max_length=2000, description="why the incident stays open")

    _text = field_validator("*")(clean_text)


class OfficialWarningOut(Schema):
    id: int
    identifier: str
    sender: str
    sender_name: str
    sent: dt.datetime
    status: str
    msg_type: str
    scope: str
    event: str
    severity: str
    grade: str
    headline_zh: str
    headline_en: str
    description: str
    instruction: str
    areas: list[dict[str, Any]]
    effective: dt.datetime | None
    expires: dt.datetime | None
    signed: bool
    imported_at: dt.datetime


class OfficialWarningList(Schema):
    count: int
    items: list[OfficialWarningOut]


class OfficialWarningFilter(PageQuery):
    current: bool = Field(False, description="only those not yet expired")
