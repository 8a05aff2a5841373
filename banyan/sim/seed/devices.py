"""The device fleet of a synthetic community: planned in plain Python, written with ``bulk_create``.

From the community plan, with its own random stream (so the people do not change):
- per resident aged 60+ living alone (the ``elderly_alone`` care profile): a water meter, a door
  contact and an SOS button in their flat, linked to them;
- combustible-gas detectors in 40 % of the flats where someone aged 60+ lives;
- wearable bands for 15 % of the over-70s, linked to them;
- smoke detectors in the stairwells: every 4th floor of each tower entrance, floors 2 and 5 of
  each older block's entrances;
- water levels in each tower's basement and two in each underground garage;
- a crowd counter and an AI camera on each plaza and sports field, with the facility's area as zone;
- air quality and temperature in the community centre and the elderly day-care centre.

Codes are the kind's prefix and a number (``WM-000001``), after the community's own prefix in a
street's further communities (``C2-WM-000001``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from banyan.people.choices import CareKind
from banyan.places.choices import BuildingKind, FacilityKind
from banyan.sensing.choices import DeviceStatus
from banyan.sensing.kinds import KINDS
from banyan.sensing.models import Device
from banyan.sim.seed.plan import CommunityPlan

GAS_SHARE = 0.40
WEARABLE_SHARE = 0.15
MAINTENANCE_SHARE = 0.01


@dataclass(frozen=True)
class DevicePlan:
    code: str
    kind: str
    grid_code: str
    building_code: str | None = None
    unit_number: str | None = None
    facility_code: str | None = None
    resident_key: int | None = None
    zone: dict | None = None
    status: str = DeviceStatus.ONLINE
    battery_pct: int | None = None
    installed_days_ago: int = 0
    metadata: dict = field(default_factory=dict)


def _age(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def plan_devices(plan: CommunityPlan) -> tuple[DevicePlan, ...]:
    """The fleet for ``plan``; the same plan gives the same fleet."""
    rng = random.Random(plan.seed * 1_000_003 + 17)
    households = {h.code: h for h in plan.households}
    devices: list[DevicePlan] = []
    counters: dict[str, int] = {}

    def add(prefix: str, width: int, kind: str, grid_code: str, **fields) -> None:
        counters[prefix] = counters.get(prefix, 0) + 1
        battery = rng.randint(35, 100) if KINDS[kind].battery_powered else None
        status = DeviceStatus.MAINTENANCE if rng.random() < MAINTENANCE_SHARE else DeviceStatus.ONLINE
        devices.append(
            DevicePlan(
                code=f"{plan.prefix}{prefix}-{counters[prefix]:0{width}d}",
                kind=kind,
                grid_code=grid_code,
                status=status,
                battery_pct=battery,
                installed_days_ago=rng.randint(30, 1500),
                **fields,
            )
        )

    def in_flat_of(key: int) -> dict:
        home = households[plan.residents[key].household_code]
        return {"building_code": home.building_code, "unit_number": home.unit_number}

    def grid_of(key: int) -> str:
        return households[plan.residents[key].household_code].grid_code

    alone = sorted({p.resident_key for p in plan.care_profiles if p.kind == CareKind.ELDERLY_ALONE})
    for prefix, kind in (("WM", "water_meter"), ("DC", "door_contact"), ("SOS", "sos_button")):
        for key in alone:
            add(prefix, 6, kind, grid_of(key), resident_key=key, **in_flat_of(key))

    elderly_flats: dict[tuple[str, str], int] = {}
    over_70: list[int] = []
    for resident in plan.residents:
        age = _age(resident.birth_date, plan.today)
        if age >= 60:
            home = households[resident.household_code]
            elderly_flats.setdefault((home.building_code, home.unit_number), resident.key)
        if age >= 70:
            over_70.append(resident.key)
    for _flat, key in sorted(elderly_flats.items()):
        if rng.random() < GAS_SHARE:
            add("GAS", 5, "combustible_gas", grid_of(key), **in_flat_of(key))
    for key in sorted(rng.sample(over_70, round(len(over_70) * WEARABLE_SHARE))):
        add("WB", 5, "wearable_band", grid_of(key), resident_key=key, **in_flat_of(key))

    for building in plan.buildings:
        floors = range(1, building.floors + 1, 4) if building.kind == BuildingKind.TOWER else (2, 5)
        for entrance in range(1, building.entrances + 1):
            for floor in floors:
                if floor <= building.floors:
                    place = {"place": "stairwell", "entrance": entrance, "floor": floor}
                    add("SMK", 5, "smoke", building.grid_code, building_code=building.code, metadata=place)
        if building.kind == BuildingKind.TOWER:
            add("WL", 4, "water_level", building.grid_code, building_code=building.code,
                metadata={"place": "basement"})  # fmt: skip

    for facility in plan.facilities:
        at = {"facility_code": facility.code}
        if facility.kind == FacilityKind.PARKING:
            for end in ("ramp", "sump"):
                add("WL", 4, "water_level", facility.region_code, metadata={"place": end}, **at)
        elif facility.kind in (FacilityKind.PLAZA, FacilityKind.SPORTS_FIELD):
            add("CC", 3, "crowd_counter", facility.region_code, zone=facility.area, **at)
            camera = "cam_" + facility.code.lower().replace("-", "_")
            add("CAM", 3, "camera", facility.region_code, zone=facility.area,
                metadata={"frigate_camera": camera, "frigate_zone": "all"}, **at)  # fmt: skip
        elif facility.kind in (FacilityKind.COMMUNITY_CENTRE, FacilityKind.ELDERLY_DAY_CARE):
            add("AQ", 3, "air_quality", facility.region_code, **at)
            add("TMP", 3, "temperature", facility.region_code, **at)
    return tuple(devices)


def write_devices(
    devices: tuple[DevicePlan, ...],
    *,
    regions: dict,
    buildings: dict,
    unit_ids: dict[tuple[str, str], int],
    facilities: dict,
    resident_ids: list[int],
    now: dt.datetime,
    batch_size: int = 1000,
    progress: Callable[[str], None] = lambda message: None,
) -> int:
    """Create the planned devices; returns how many."""

    progress(f"devices {len(devices)}")
    Device.objects.bulk_create(
        [
            Device(
                code=d.code,
                kind=d.kind,
                community_id=regions[d.grid_code].parent_id,
                grid=regions[d.grid_code],
                building=buildings[d.building_code] if d.building_code else None,
                unit_id=unit_ids[(d.building_code, d.unit_number)] if d.unit_number else None,
                facility=facilities[d.facility_code] if d.facility_code else None,
                zone=d.zone,
                resident_id=resident_ids[d.resident_key] if d.resident_key is not None else None,
                status=d.status,
                battery_pct=d.battery_pct,
                expected_interval_s=KINDS[d.kind].expected_interval_s,
                installed_at=now - dt.timedelta(days=d.installed_days_ago),
                metadata=d.metadata,
            )
            for d in devices
        ],
        batch_size=batch_size,
    )
    return len(devices)
