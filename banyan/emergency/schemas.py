"""The emergency API's shapes: an emergency (with its tasks and timeline in the detail), activation and
stand-down; and the parts outside tools read (``api_parts``): the hazard register, plans, the roll call's
counts, shelters and supplies, the after-action review. Ids, codes and counts only, and staff names where
the board shows them; never a resident's data."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema
from pydantic import field_validator

from banyan.core.schemas import ObjectId, PageQuery, clean_text
from banyan.emergency import hazards
from banyan.emergency.choices import EmergencyStatus, HazardKind
from banyan.emergency.models import Emergency, Hazard, Plan, Task, TimelineEntry
from banyan.emergency.services import NOTE_MAX, RETENTION_DAYS, TITLE_MAX


class EmergencyFilter(PageQuery):
    status: EmergencyStatus | None = Field(None, description="only emergencies in this status")
    open: bool | None = Field(None, description="true: only proposed and active ones")


class _HazardAtLevel(Schema):
    """What an emergency and a plan both are: a community's hazard at a level."""

    id: int
    community: str = Field(description="the community's code")
    hazard: str
    level: int = Field(description="1 (I, red) … 4 (IV, blue)")

    @staticmethod
    def resolve_community(obj: Emergency | Plan) -> str:
        return obj.community.code


class EmergencyOut(_HazardAtLevel):
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


# --- the parts outside tools read: the register, plans, roll call, shelters, the review -----------------


class HazardFilter(PageQuery):
    community: str | None = Field(None, description="a community's code: only its hazards")


class ExposureOut(Schema):
    """What a hazard exposes, as counts and ids (never names)."""

    facilities: int
    buildings: int
    basement_units: int
    ground_floor_units: int
    residents_in_care: int
    residents_in_care_65: int
    residents_65_alone: int
    building_ids: list[int]
    facility_ids: list[int]


class HazardOut(Schema):
    id: int
    community: str = Field(description="the community's code")
    hazard: str
    likelihood: int = Field(description="1–5")
    impact: int = Field(description="1–5")
    risk: int = Field(description="likelihood × impact, 1–25")
    exposure: ExposureOut
    reviewed_at: dt.datetime | None
    review_due: bool = Field(description="never reviewed, or last reviewed a year ago or more")

    @staticmethod
    def resolve_community(obj: Hazard) -> str:
        return obj.community.code

    @staticmethod
    def resolve_hazard(obj: Hazard) -> str:
        return obj.kind

    @staticmethod
    def resolve_exposure(obj: Hazard) -> dict:
        data = obj.exposure or {}
        return {
            **hazards.summary(data),
            "building_ids": [row["id"] for row in data.get("buildings", [])],
            "facility_ids": [row["id"] for row in data.get("facilities", [])],
        }

    @staticmethod
    def resolve_review_due(obj: Hazard) -> bool:
        return hazards.review_due(obj)


class HazardList(Schema):
    count: int
    items: list[HazardOut]


class PlanFilter(PageQuery):
    """Checked by the endpoint, so that a bad value is a 400 naming the parameter and what it accepts."""

    community: str | None = Field(None, description="a community's code: only its plans")
    hazard: str | None = Field(
        None, description="only plans for this hazard: " + ", ".join(HazardKind.values)
    )
    level: str | None = Field(None, description="only plans of this level: 1 (I, red) … 4 (IV, blue)")
    current: str | None = Field(
        None, description="true: only the versions in force; false: only earlier versions; none: all"
    )


class PlanOut(_HazardAtLevel):
    version: int
    is_current: bool
    title_zh: str
    title_en: str
    body: dict = Field(
        description="triggers, lead, tasks, notices, facilities, supplies, roll_call, call_up "
        "(docs/emergency-plans.md)"
    )


class PlanList(Schema):
    count: int
    items: list[PlanOut]


class RollCallFiguresOut(Schema):
    """A roll call's counts of households and the curve of vulnerable households accounted for."""

    id: int
    started_at: dt.datetime
    closed_at: dt.datetime | None
    wait_minutes: int
    vulnerable_wait_minutes: int
    asked: int
    safe: int
    need_help: int
    accounted: int = Field(description="accounted for by a door-knocking visit")
    waiting: int
    visiting: int
    vulnerable: int
    vulnerable_accounted: int
    curve: list[tuple[float, float]] = Field(
        description="[minutes since the start, share (0–1) of vulnerable households accounted for]"
    )


class RollCallOut(Schema):
    emergency: int
    roll_call: RollCallFiguresOut | None = Field(description="the open roll call, else the last; null: none")


class ShelterOut(Schema):
    id: int
    facility: int
    name_zh: str
    name_en: str
    capacity: int
    occupancy: int = Field(description="people checked in now")
    free: int
    features: list[str] = Field(description="of step_free, medical_corner, pets")
    open: bool
    open_for_emergency: bool = Field(description="open for this emergency (not another)")
    opened_at: dt.datetime | None


class StockOut(Schema):
    kind: str
    unit: str
    on_hand: int
    reserved: int = Field(description="held for emergencies, of on_hand")
    reserved_for_emergency: int = Field(description="still held for this emergency")
    available: int
    low_at: int
    low: bool = Field(description="on_hand ≤ low_at")


class SupplyPlaceOut(Schema):
    place: int = Field(description="the facility's id")
    place_code: str
    name_zh: str
    name_en: str
    stocks: list[StockOut]


class SheltersOut(Schema):
    emergency: int
    shelters: list[ShelterOut]
    supplies: list[SupplyPlaceOut]
    summary: dict = Field(
        description="shelter_peak, shelter_peak_at, shelters_used, shelter_capacity, sheltered_now, "
        "check_ins, households_sheltered, supplies_reserved, supplies_distributed, "
        "households_supplied, low_stocks"
    )


class ReviewTaskOut(Schema):
    id: int
    key: str
    kind: str
    title_zh: str
    title_en: str
    owner: str | None = Field(description="the owning organisation's code")
    owner_role: str
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    status: str
    outcome: str = Field(description="done (in time), late, or open")
    late_min: int | None = Field(description="minutes past the deadline, for a late task")


class ReviewRollCallOut(Schema):
    started_at: dt.datetime | None
    counts: dict[str, int] = Field(
        description="asked, safe, need_help, accounted_by_visit, unaccounted, vulnerable, "
        "vulnerable_accounted"
    )
    curve: list[tuple[float, float]]
    all_accounted_min: float | None = Field(description="minutes until every vulnerable household was")
    resilience_loss: float | None = Field(description="∫(100 − Q(t)) dt in percent-hours")


class LessonOut(Schema):
    id: int
    text: str
    owner: str | None = Field(description="the owning organisation's code")
    owner_role: str | None = Field(description="the role of the person in charge (never their name)")
    due: dt.date | None
    done: bool


class ReviewOut(Schema):
    emergency: dict = Field(description="id, title, hazard, level, status, plan, purged_at")
    detection: dict = Field(
        description="warning_id, warning_sent, warning_received, alerts, first_alert, proposed_at, "
        "activated_at, stood_down_at, detected_at, activation_min"
    )
    tasks: list[ReviewTaskOut] = Field(description="every task but door knocks, against its deadline")
    task_summary: dict[str, int]
    roll_call: ReviewRollCallOut
    sla: dict = Field(description="incidents, acknowledge_met_share, arrive_met_share, resolve_met_share")
    shelters: dict
    lessons: list[LessonOut]
    timeline: list[dict] = Field(description="at, kind, actor (an account id), details (ids and numbers)")
