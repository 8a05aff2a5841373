from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ninja import Field, Schema
from pydantic import field_validator

from banyan.core.schemas import ObjectId, PageQuery, clean_text
from banyan.sensing.kinds import get_kind

KIND_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
STATUS_PATTERN = r"^(online|offline|maintenance)$"
# ``no_consent`` is set by ingest (banyan.sensing.consent), never by hand: listed, not written.
LISTED_STATUS_PATTERN = r"^(online|offline|maintenance|no_consent)$"
METADATA_BYTES = 4096


class MetricOut(Schema):
    name: str
    unit: str
    minimum: float
    maximum: float
    label: str

    @staticmethod
    def resolve_label(obj) -> str:
        return str(obj.label)


class DeviceKindOut(Schema):
    code: str
    label: str
    expected_interval_s: int
    battery_powered: bool
    health_data: bool
    event_metrics: list[str]
    metrics: list[MetricOut]

    @staticmethod
    def resolve_label(obj) -> str:
        return str(obj.label)


class DeviceKindList(Schema):
    count: int
    items: list[DeviceKindOut]


class DeviceMetricOut(Schema):
    name: str
    unit: str


class DeviceOut(Schema):
    id: int
    code: str = Field(..., description="the device id in MQTT topics")
    kind: str
    community: str = Field(..., alias="community.code", description="the community code in MQTT topics")
    grid: str = Field(..., alias="grid.code")
    building: int | None = Field(None, alias="building_id")
    unit: int | None = Field(None, alias="unit_id")
    facility: int | None = Field(None, alias="facility_id")
    zone: dict | None
    resident: int | None = Field(
        None, alias="visible_resident_id", description="only for roles that may see care data"
    )
    status: str
    battery_pct: int | None
    last_seen_at: dt.datetime | None
    last_seq: int | None
    expected_interval_s: int
    installed_at: dt.datetime
    metrics: list[DeviceMetricOut]

    @staticmethod
    def resolve_metrics(obj) -> list[dict]:
        kind = get_kind(obj.kind)
        return [{"name": m.name, "unit": m.unit} for m in kind.metrics] if kind else []


class DeviceList(Schema):
    count: int
    items: list[DeviceOut]


class DeviceFilter(PageQuery):
    kind: str | None = Field(None, pattern=KIND_PATTERN)
    grid: str | None = Field(None, max_length=32, description="grid code")
    community: str | None = Field(None, max_length=32, description="community code")
    status: str | None = Field(None, pattern=LISTED_STATUS_PATTERN)
    building: ObjectId | None = None
    unit: ObjectId | None = None
    facility: ObjectId | None = None
    code: str | None = Field(None, max_length=64)


class CleanIn(Schema):
    _text = field_validator("*")(clean_text)

    @field_validator("metadata", check_fields=False)
    @classmethod
    def small_metadata(cls, value):
        if value is not None and len(json.dumps(value, default=str)) > METADATA_BYTES:
            raise ValueError(f"must be at most {METADATA_BYTES} bytes of JSON")
        return value


class DeviceIn(CleanIn):
    code: str = Field(..., min_length=1, max_length=64)
    kind: str = Field(..., max_length=32)
    grid: ObjectId | None = None
    building: ObjectId | None = None
    unit: ObjectId | None = None
    facility: ObjectId | None = None
    zone: dict | None = None
    resident: ObjectId | None = None
    status: str = Field("online", pattern=STATUS_PATTERN)
    battery_pct: int | None = Field(None, ge=0, le=100)
    expected_interval_s: int | None = Field(None, ge=1, le=7 * 86400)
    installed_at: dt.datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class DevicePatch(CleanIn):
    """Location fields (grid, building, unit, facility) are set together; those left out are cleared."""

    kind: str | None = Field(None, max_length=32)
    grid: ObjectId | None = None
    building: ObjectId | None = None
    unit: ObjectId | None = None
    facility: ObjectId | None = None
    zone: dict | None = None
    resident: ObjectId | None = None
    status: str | None = Field(None, pattern=STATUS_PATTERN)
    battery_pct: int | None = Field(None, ge=0, le=100)
    expected_interval_s: int | None = Field(None, ge=1, le=7 * 86400)
    installed_at: dt.datetime | None = None
    metadata: dict[str, Any] | None = None


class ReadingOut(Schema):
    metric: str
    value: float
    ts: dt.datetime
    seq: int | None
    received_at: dt.datetime


class ReadingList(Schema):
    count: int
    items: list[ReadingOut]


class ReadingFilter(Schema):
    metric: str | None = Field(None, pattern=KIND_PATTERN)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = Field(100, ge=1, le=10_000, description="newest first, 1–10000")

    _text = field_validator("*")(clean_text)


class ReadingBatchIn(Schema):
    readings: list[Any] = Field(
        ..., max_length=10_000, description='[{"device": "<code>", "metric", "value", "ts", "seq"}, …]'
    )


class RejectedOut(Schema):
    index: int = Field(..., description="position of the item in readings")
    reason: str = Field(..., alias="code")
    field: str | None
    message: str


class BatchOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    gaps: int
    rejected_items: list[RejectedOut]


class DeadLetterOut(Schema):
    id: int
    received_at: dt.datetime
    source: str
    topic: str
    device: str = Field(..., alias="device_code")
    item_index: int | None
    reason: str
    field: str
    detail: str
    payload: str


class DeadLetterList(Schema):
    count: int
    items: list[DeadLetterOut]


class DeadLetterFilter(PageQuery):
    source: str | None = Field(None, pattern=r"^(mqtt|http|frigate)$")
    reason: str | None = Field(None, max_length=32)
    device: str | None = Field(None, max_length=64, description="device code")
