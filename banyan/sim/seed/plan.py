"""The plan of a synthetic community: plain frozen dataclasses, no database.

The planner fills a :class:`CommunityPlan`; the writer turns it into rows. Objects refer to
each other by their codes (regions, buildings, households, facilities, path nodes), by
``username`` (accounts) or by ``key`` (residents, numbered from 0 in plan order). A street is a
tuple of plans, one per community; only the first holds the city, district and street regions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

# A building leader's title in the community's volunteer body: called up in emergencies, no standing shift.
LEADER_TITLE = "楼栋长"
# A resident registered as a volunteer (志愿者 tag): an account in the volunteers' body, called up too.
RESIDENT_VOLUNTEER_TITLE = "社区志愿者"
CALLED_UP_TITLES = (LEADER_TITLE, RESIDENT_VOLUNTEER_TITLE)


@dataclass(frozen=True)
class RegionPlan:
    code: str
    name_zh: str
    name_en: str
    kind: str
    parent_code: str | None
    boundary: dict


@dataclass(frozen=True)
class BuildingPlan:
    code: str
    grid_code: str
    name: str
    kind: str
    floors: int
    entrances: int
    footprint: dict
    latitude: float
    longitude: float
    built_year: int


@dataclass(frozen=True)
class UnitPlan:
    building_code: str
    number: str
    entrance: int
    floor: int
    exclusive_area_m2: Decimal


@dataclass(frozen=True)
class FacilityPlan:
    code: str
    region_code: str
    kind: str
    name_zh: str
    name_en: str
    latitude: float
    longitude: float
    capacity: int
    area: dict | None


@dataclass(frozen=True)
class PathNodePlan:
    code: str
    latitude: float
    longitude: float
    building_code: str | None = None
    facility_code: str | None = None


@dataclass(frozen=True)
class PathEdgePlan:
    source: str
    target: str
    length_m: float
    step_free: bool = True


@dataclass(frozen=True)
class HouseholdPlan:
    code: str
    grid_code: str
    building_code: str
    unit_number: str
    is_owner_occupied: bool


@dataclass(frozen=True)
class ResidentPlan:
    key: int
    household_code: str
    name: str
    surname: str
    id_number: str
    phone: str
    birth_date: dt.date
    sex: str
    relation: str
    residence_status: str
    registered_address: str
    tags: tuple[str, ...]
    is_living_alone: bool


@dataclass(frozen=True)
class CarerPlan:
    kind: str
    name: str
    phone: str
    is_primary: bool
    username: str | None = None
    resident_key: int | None = None


@dataclass(frozen=True)
class CareProfilePlan:
    resident_key: int
    kind: str
    level: int
    details: dict
    visit_interval_days: int
    since: dt.date
    carers: tuple[CarerPlan, ...]


@dataclass(frozen=True)
class ConsentPlan:
    resident_key: int
    scope: str
    given_by: str
    days_ago: int
    recorded_by: str | None


@dataclass(frozen=True)
class VehiclePlan:
    household_code: str
    kind: str
    plate: str
    parking_space: str


@dataclass(frozen=True)
class AccountPlan:
    username: str
    role: str
    region_code: str | None
    last_name: str
    first_name: str
    phone: str
    resident_key: int | None = None
    is_staff: bool = False
    is_superuser: bool = False
    # Their title in their body, when not their role's usual one (out of the repr: the plan's digests
    # recorded before it existed stay as they were).
    title: str = field(default="", repr=False)


@dataclass(frozen=True)
class MemberPlan:
    username: str
    title: str


@dataclass(frozen=True)
class OrganisationPlan:
    code: str
    kind: str
    name_zh: str
    name_en: str
    region_codes: tuple[str, ...]
    members: tuple[MemberPlan, ...]


@dataclass(frozen=True)
class CommunityPlan:
    seed: int
    today: dt.date
    regions: tuple[RegionPlan, ...]
    buildings: tuple[BuildingPlan, ...]
    units: tuple[UnitPlan, ...]
    facilities: tuple[FacilityPlan, ...]
    path_nodes: tuple[PathNodePlan, ...]
    path_edges: tuple[PathEdgePlan, ...]
    households: tuple[HouseholdPlan, ...]
    residents: tuple[ResidentPlan, ...]
    care_profiles: tuple[CareProfilePlan, ...]
    consents: tuple[ConsentPlan, ...]
    vehicles: tuple[VehiclePlan, ...]
    accounts: tuple[AccountPlan, ...]
    organisations: tuple[OrganisationPlan, ...]
    prefix: str = ""  # what every code of the community starts with: "" in community 1, "C2-" in 2 …

    @property
    def community(self) -> RegionPlan:
        return next(r for r in self.regions if r.kind == "community")

    @property
    def grids(self) -> tuple[RegionPlan, ...]:
        return tuple(r for r in self.regions if r.kind == "grid")
