"""The emergency API's shapes: an emergency (with its tasks and timeline in the detail), activation and
stand-down. Ids and codes only, and staff names where the board shows them; never a resident's data."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema
from pydantic import field_validator

from banyan.core.schemas import ObjectId, PageQuery, clean_text
from banyan.emergency.choices import EmergencyStatus, HazardKind
from banyan.emergency.models import Emergency, Task, TimelineEntry
from banyan.emergency.services import NOTE_MAX, RETENTION_DAYS, TITLE_MAX


class EmergencyFilter(PageQuery):
    status: EmergencyStatus | None = Field(None, description="only emergencies in this status")
    open: bool | None = Field(None, description="true: only proposed and active ones")


class EmergencyOut(Schema):
    id: int
    community: str = Field(description="the community's code")
    hazard: str
    level: int = Field(description="1 (I, red) … 4 (IV, blue)")
    status: str
    title: str
    trigger: str = Field(description="manual, cap (a government warning), alert (a local alert) or drill")
    plan: int | None
    plan_version: int | None
    official_warning: int | None
    alert: int | None
    area_grids: list[str] = Field(
        description="codes of the affected grids; none and no buildings: the whole community"
    )
    area_buildings: list[int]
    lead: int | None = Field(description="the account in charge")
    proposed_at: dt.datetime | None
    activated_at: dt.datetime | None
    stood_down_at: dt.datetime | None
    retention_days: int

    @staticmethod
    def resolve_community(obj: Emergency) -> str:
        return obj.community.code

    @staticmethod
    def resolve_plan(obj: Emergency) -> int | None:
        return obj.plan_id

    @staticmethod
    def resolve_plan_version(obj: Emergency) -> int | None:
        return obj.plan.version if obj.plan is not None else None

    @staticmethod
    def resolve_official_warning(obj: Emergency) -> int | None:
        return obj.official_warning_id

    @staticmethod
    def resolve_alert(obj: Emergency) -> int | None:
        return obj.alert_id

    @staticmethod
    def resolve_area_grids(obj: Emergency) -> list[str]:
        return sorted(grid.code for grid in obj.area_grids.all())

    @staticmethod
    def resolve_lead(obj: Emergency) -> int | None:
        return obj.lead_id


class TaskOut(Schema):
    id: int
    kind: str
    key: str
    title_zh: str
    title_en: str
    owner: str | None = Field(description="the owning organisation's code")
    owner_role: str
    assignee: int | None
    due_at: dt.datetime | None
    status: str
    late: bool = Field(description="open and past its deadline")
    done_at: dt.datetime | None

    @staticmethod
    def resolve_owner(obj: Task) -> str | None:
        return obj.owner.code if obj.owner is not None else None

    @staticmethod
    def resolve_assignee(obj: Task) -> int | None:
        return obj.assignee_id

    @staticmethod
    def resolve_late(obj: Task) -> bool:
        return getattr(obj, "late", False)


class TimelineOut(Schema):
    at: dt.datetime
    kind: str
    actor: int | None
    details: dict

    @staticmethod
    def resolve_actor(obj: TimelineEntry) -> int | None:
        return obj.actor_id


class EmergencyDetailOut(EmergencyOut):
    tasks: list[TaskOut]
    timeline: list[TimelineOut]


class EmergencyList(Schema):
    count: int
    items: list[EmergencyOut]


class ActivateIn(Schema):
    """Confirm a proposed emergency (``emergency``), or open a community's current plan for ``hazard``
    at ``level`` over the grids and buildings named (none: the whole community)."""

    emergency: ObjectId | None = Field(None, description="a proposed emergency to confirm")
    community: str | None = Field(None, max_length=32, description="the community's code (to open a plan)")
    hazard: HazardKind | None = None
    level: int | None = Field(None, ge=1, le=4, description="1 (I, red) … 4 (IV, blue)")
    area_grids: list[str] = Field(default_factory=list, max_length=200, description="grid codes")
    area_buildings: list[ObjectId] = Field(default_factory=list, max_length=2000, description="building ids")
    title: str = Field("", max_length=TITLE_MAX)

    _text = field_validator("community", "title")(clean_text)


class StandDownIn(Schema):
    retention_days: int = Field(
        30, ge=RETENTION_DAYS[0], le=RETENTION_DAYS[1], description="days its data is kept, then purged"
    )
    note: str = Field("", max_length=NOTE_MAX)

    _text = field_validator("note")(clean_text)
