"""Seeding a deterministic synthetic street of communities (the demo, tests, benchmarks and drills).

``seed_street`` plans its communities in plain Python from the seed (see :mod:`banyan.sim.seed`)
and writes them in one transaction, refusing a database that already holds regions. Same
``communities``, ``residents`` and ``seed`` on the same day → the same people. Community 1 is what
``seed_community`` (a street of one) makes; the further ones lie beside it in the same street.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from banyan.core import clock
from banyan.core.errors import InvalidInput
from banyan.places.geo import polygon_area_m2
from banyan.places.models import Region
from banyan.sensing.choices import DeviceStatus
from banyan.sensing.kinds import KINDS
from banyan.sensing.models import Device
from banyan.sim.scenario import FleetDevice
from banyan.sim.seed.places import MAXIMUM_COMMUNITIES
from banyan.sim.seed.planner import MAXIMUM_RESIDENTS, MINIMUM_RESIDENTS, plan_street
from banyan.sim.seed.writer import write_street
from banyan.warning.models import Rule
from banyan.warning.services import place_key


@dataclass(frozen=True)
class SeedAccount:
    username: str
    role: str
    region_code: str


@dataclass(frozen=True)
class SeedReport:
    """What the seed created in one community (regions counts the street's too in community 1)."""

    community_code: str
    regions: int
    grids: int
    buildings: int
    units: int
    households: int
    residents: int
    care_profiles: int
    carers: int
    consents: int
    vehicles: int
    facilities: int
    organisations: int
    path_nodes: int
    path_edges: int
    users: int
    devices: int = 0
    matrix_cells: int = 0
    responders: int = 0
    shifts: int = 0
    hazards: int = 0  # the hazard register (banyan.emergency.hazards.install_register)
    emergency_plans: int = 0  # the plans from the shipped templates (banyan.emergency.plans.install_plans)
    accounts: tuple[SeedAccount, ...] = ()
    name_zh: str = ""
    name_en: str = ""


def database_is_empty() -> bool:
    """True when no region exists yet, i.e. nothing has been seeded or imported."""
    return not Region.objects.exists()


def seed_community(
    *,
    residents: int,
    seed: int,
    demo_password: str,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Create a synthetic community of ``residents`` people; all accounts get ``demo_password``."""
    (report,) = seed_street(
        communities=1, residents=residents, seed=seed, demo_password=demo_password, progress=progress
    )
    return report


def check_seed_options(*, communities: int, residents: int, demo_password: str) -> None:
    """Refuse a street the seed cannot make, naming the option."""
    if not 1 <= communities <= MAXIMUM_COMMUNITIES:
        raise InvalidInput(
            _("The number of communities must be between %(low)d and %(high)d, not %(n)d.")
            % {"low": 1, "high": MAXIMUM_COMMUNITIES, "n": communities},
            field="communities",
        )
    if not MINIMUM_RESIDENTS <= residents <= MAXIMUM_RESIDENTS:
        raise InvalidInput(
            _("The number of residents must be between %(low)d and %(high)d, not %(n)d.")
            % {"low": MINIMUM_RESIDENTS, "high": MAXIMUM_RESIDENTS, "n": residents},
            field="residents",
        )
    if not demo_password:
        raise InvalidInput(_("The demo password cannot be empty."), field="demo_password")


def seed_street(
    *,
    communities: int,
    residents: int,
    seed: int,
    demo_password: str,
    progress: Callable[[str], None] | None = None,
) -> tuple[SeedReport, ...]:
    """Create a street of ``communities`` synthetic communities of ``residents`` people each; all
    accounts get ``demo_password``. One report per community, in order."""
    say = progress or (lambda message: None)
    check_seed_options(communities=communities, residents=residents, demo_password=demo_password)
    _refuse_unless_empty()
    plans = plan_street(
        communities=communities, residents=residents, seed=seed, today=clock.today(), progress=say
    )
    with transaction.atomic(durable=True):
        _refuse_unless_empty()
        written = write_street(plans, demo_password=demo_password, progress=say)
    return tuple(
        SeedReport(
            community_code=plan.community.code,
            name_zh=plan.community.name_zh,
            name_en=plan.community.name_en,
            accounts=tuple(SeedAccount(a.username, a.role, a.region_code or "") for a in plan.accounts),
            **counts,
        )
        for plan, counts in zip(plans, written, strict=True)
    )


def _refuse_unless_empty() -> None:
    if not database_is_empty():
        raise InvalidInput(
            _("The database already holds regions; a community can only be seeded into an empty database."),
            code="not_empty",
        )


def load_fleet(community_code: str | None = None) -> list[FleetDevice]:
    """The devices the scenario simulator drives (``banyan.sim.scenario``): every device that is not
    in maintenance, of one community or all, with the place key the rules see and, for crowd counters
    and cameras, the zone's area as the community's crowd density rule has it (else from the zone)."""

    devices = (
        Device.objects.exclude(status=DeviceStatus.MAINTENANCE)
        .filter(kind__in=list(KINDS))
        .select_related("community", "grid", "building", "unit", "facility")
        .order_by("code")
    )
    if community_code:
        devices = devices.filter(community__code=community_code)
    areas: dict[tuple[int, str], float] = {}
    for community_id, params in Rule.objects.filter(kind="crowd_density", is_active=True).values_list(
        "community_id", "params"
    ):
        for place, area in ((params or {}).get("areas_m2") or {}).items():
            areas[(community_id, place)] = float(area)
    fleet = []
    for device in devices:
        place = place_key(device)
        area = None
        if device.kind in ("crowd_counter", "camera"):
            area = areas.get((device.community_id, place))
            if area is None and device.zone:
                area = polygon_area_m2(device.zone)
        fleet.append(
            FleetDevice(
                code=device.code,
                kind=device.kind,
                community=device.community.code,
                place=place,
                site=_site(device),
                interval_s=device.expected_interval_s,
                battery_pct=device.battery_pct,
                area_m2=area,
            )
        )
    return fleet


def _site(device) -> str:
    """The building or facility a device is in: devices sharing it take part in one event together."""
    if device.facility_id:
        return device.facility.code
    return device.building.code if device.building_id else ""
