"""API shapes for people. Personal fields are masked here, in one place, for every output."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema
from pydantic import field_validator

from banyan.core import clock, vault
from banyan.core.schemas import ObjectId, PageQuery, clean_text
from banyan.people.models import may_see_care


class ResidentOut(Schema):
    id: int
    name: str
    id_number: str
    phone: str
    sex: str
    age: int
    grid: str
    household: ObjectId
    household_code: str
    building: str
    unit: str
    relation: str
    residence_status: str
    tags: list[str]
    is_living_alone: bool
    care_kinds: list[str]

    @staticmethod
    def resolve_id_number(obj) -> str:
        return vault.mask_id_number(obj.id_number)

    @staticmethod
    def resolve_phone(obj) -> str:
        return vault.mask_phone(obj.phone)

    @staticmethod
    def resolve_age(obj) -> int:
        return obj.age_on(clock.today())

    @staticmethod
    def resolve_grid(obj) -> str:
        return obj.household.grid.code

    @staticmethod
    def resolve_household(obj) -> int:
        return obj.household_id

    @staticmethod
    def resolve_household_code(obj) -> str:
        return obj.household.code

    @staticmethod
    def resolve_building(obj) -> str:
        return obj.household.unit.building.code

    @staticmethod
    def resolve_unit(obj) -> str:
        return obj.household.unit.number

    @staticmethod
    def resolve_care_kinds(obj, context) -> list[str]:

        if not may_see_care(context["request"].user):
            return []
        return sorted(p.kind for p in obj.care_profiles.all() if p.is_active)


class ResidentList(Schema):
    count: int
    items: list[ResidentOut]


class ResidentFilter(PageQuery):
    grid: str | None = Field(None, max_length=32, description="grid code")
    building: str | None = Field(None, max_length=32, description="building code")
    household: ObjectId | None = None
    tag: str | None = Field(None, max_length=32)
    care: str | None = Field(None, max_length=32, description="care profile kind")
    living_alone: bool | None = None


def clean_care_details(value: dict) -> dict:
    """Care details are a small flat document: up to 20 keys, each text or a list of texts."""
    if len(value) > 20:
        raise ValueError("at most 20 keys")
    for key, item in value.items():
        clean_text(key)
        if not key or len(key) > 40:
            raise ValueError("keys must be 1–40 characters")
        texts = item if isinstance(item, list) else [item]
        if len(texts) > 20 or not all(isinstance(t, str) and len(t) <= 200 for t in texts):
            raise ValueError(f"{key}: a text of at most 200 characters, or a list of up to 20 such texts")
        for text in texts:
            clean_text(text)
    return value


class CleanIn(Schema):
    """Input whose every text field is checked for control characters and broken Unicode."""

    _text = field_validator("*")(clean_text)


class ResidentIn(CleanIn):
    household: ObjectId
    name: str = Field(..., min_length=1, max_length=64)
    id_number: str = Field(..., min_length=1, max_length=32)
    relation: str = Field(..., max_length=16)
    phone: str = Field("", max_length=20)
    residence_status: str = Field("registered_here", max_length=16)
    registered_address: str = Field("", max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)


class ResidentPatch(CleanIn):
    household: ObjectId | None = None
    name: str | None = Field(None, min_length=1, max_length=64)
    id_number: str | None = Field(None, min_length=1, max_length=32)
    relation: str | None = Field(None, max_length=16)
    phone: str | None = Field(None, max_length=20)
    residence_status: str | None = Field(None, max_length=16)
    registered_address: str | None = Field(None, max_length=200)
    tags: list[str] | None = Field(None, max_length=20)


class RevealIn(CleanIn):
    fields: list[str] = Field(..., max_length=10)
    purpose: str = Field("", max_length=500)


class LookupIn(CleanIn):
    id_number: str | None = Field(None, max_length=32)
    phone: str | None = Field(None, max_length=20)
    purpose: str = Field(
        "", max_length=500, description="why you look this person up (required for staff; audited)"
    )


class RateLimitedOut(Schema):
    detail: str
    code: str
    limit: str = Field(..., description="the limit reached, e.g. 10/minute")
    retry_after: int = Field(..., description="seconds until the next call is allowed")


class HouseholdOut(Schema):
    id: int
    code: str
    grid: str = Field(..., alias="grid.code")
    building: str = Field(..., alias="unit.building.code")
    unit: int = Field(..., alias="unit_id")
    unit_number: str = Field(..., alias="unit.number")
    is_owner_occupied: bool
    size: int

    @staticmethod
    def resolve_size(obj) -> int:
        count = getattr(obj, "member_count", None)
        return obj.members.count() if count is None else count


class HouseholdList(Schema):
    count: int
    items: list[HouseholdOut]


class HouseholdFilter(PageQuery):
    grid: str | None = Field(None, max_length=32)
    building: str | None = Field(None, max_length=32)
    unit: ObjectId | None = None


class HouseholdIn(CleanIn):
    code: str = Field(..., min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    unit: ObjectId
    is_owner_occupied: bool = True


class CarerOut(Schema):
    id: int
    kind: str
    name: str
    phone: str
    is_primary: bool

    @staticmethod
    def resolve_phone(obj) -> str:
        return vault.mask_phone(obj.phone)


class CareProfileOut(Schema):
    id: int
    resident: int = Field(..., alias="resident_id")
    resident_name: str = Field(..., alias="resident.name")
    kind: str
    level: int
    details: str
    visit_interval_days: int
    since: dt.date
    is_active: bool
    carers: list[CarerOut]

    @staticmethod
    def resolve_details(obj) -> str:
        return vault.mask_text("x" if obj.details else "")

    @staticmethod
    def resolve_carers(obj) -> list:
        return list(obj.carers.all())


class CareProfileList(Schema):
    count: int
    items: list[CareProfileOut]


class CareProfileFilter(PageQuery):
    resident: ObjectId | None = None
    kind: str | None = Field(None, max_length=32)
    grid: str | None = Field(None, max_length=32)


class CarerIn(CleanIn):
    kind: str = Field(..., max_length=16)
    name: str = Field(..., min_length=1, max_length=64)
    phone: str = Field("", max_length=20)
    is_primary: bool = False


class CareProfileIn(CleanIn):
    resident: ObjectId
    kind: str = Field(..., max_length=32)
    level: int = Field(2, ge=1, le=3)
    details: dict = Field(default_factory=dict, description="keys → text or list of texts")
    visit_interval_days: int = Field(7, ge=1, le=365)
    carers: list[CarerIn] = Field(default_factory=list, max_length=10)

    @field_validator("details")
    @classmethod
    def check_details(cls, value: dict) -> dict:
        return clean_care_details(value)


class CareProfilePatch(CleanIn):
    level: int | None = Field(None, ge=1, le=3)
    details: dict | None = None
    visit_interval_days: int | None = Field(None, ge=1, le=365)
    is_active: bool | None = None

    @field_validator("details")
    @classmethod
    def check_details(cls, value: dict | None) -> dict | None:
        return None if value is None else clean_care_details(value)


class HouseholdPatch(CleanIn):
    unit: ObjectId | None = None
    is_owner_occupied: bool | None = None


class ConsentIn(CleanIn):
    scope: str = Field(..., max_length=32)
    given_by: str = Field("self", max_length=16)


class ConsentOut(Schema):
    id: int
    scope: str
    given_by: str
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None


class MemberOut(Schema):
    username: str = Field(..., alias="user.username")
    name: str = Field(..., alias="user.display_name")
    role: str = Field(..., alias="user.role")
    title: str


class OrganisationOut(Schema):
    id: int
    code: str
    kind: str
    name_zh: str
    name_en: str
    regions: list[str]
    members: list[MemberOut]

    @staticmethod
    def resolve_members(obj) -> list:
        return list(obj.memberships.all())

    @staticmethod
    def resolve_regions(obj) -> list[str]:
        return [r.code for r in obj.regions.all()]


class OrganisationList(Schema):
    count: int
    items: list[OrganisationOut]


class VehicleOut(Schema):
    id: int
    household: int = Field(..., alias="household_id")
    kind: str
    plate: str
    parking_space: str

    @staticmethod
    def resolve_plate(obj) -> str:
        return vault.mask_plate(obj.plate)


class VehicleFilter(PageQuery):
    grid: str | None = Field(None, max_length=32)
    building: str | None = Field(None, max_length=32)
    household: ObjectId | None = None


class VehicleList(Schema):
    count: int
    items: list[VehicleOut]


class OwnRevealIn(CleanIn):
    fields: list[str] = Field(
        ..., max_length=4, description="id_number, phone, registered_address, care_details"
    )


class OwnExportIn(CleanIn):
    format: str = Field("json", pattern=r"^(json|pdf)$", description="json or pdf")


class CorrectionIn(CleanIn):
    field: str = Field(..., max_length=32, description="name, id_number, phone, registered_address or other")
    proposed_value: str = Field(..., min_length=1, max_length=500, description="what it should be")
    note: str = Field("", max_length=500)


class CorrectionOut(Schema):
    id: int
    resident: int
    field: str
    field_label: str
    proposed_value: str
    note: str
    status: str
    status_label: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    reason: str


class CorrectionList(Schema):
    count: int
    items: list[CorrectionOut]


class CorrectionFilter(PageQuery):
    status: str | None = Field(None, pattern=r"^(pending|accepted|rejected)$")


class CorrectionRejectIn(CleanIn):
    reason: str = Field(..., min_length=1, max_length=500)
