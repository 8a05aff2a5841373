"""Write a :class:`CommunityPlan` (or a street of them) to the database with ``bulk_create``.

The caller holds the transaction. Encrypted fields encrypt in ``get_prep_value``, which
``bulk_create`` calls too; blind indexes are computed here. All accounts share one password
hash (Argon2 is slow on purpose, and the demo password is the same for everyone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth.hashers import make_password

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.community.timebank.services import seed_hours
from banyan.core import clock, vault
from banyan.core.choices import Role
from banyan.emergency.hazards import install_register
from banyan.emergency.plans import install_plans
from banyan.people.models import (
    CareProfile,
    Carer,
    Consent,
    Household,
    Membership,
    Organisation,
    Resident,
    User,
    Vehicle,
)
from banyan.places.models import Building, Facility, PathEdge, PathNode, Region, Unit
from banyan.sim.seed.devices import plan_devices, write_devices
from banyan.sim.seed.plan import CommunityPlan
from banyan.sim.seed.response import write_response
from banyan.sim.seed.rules import plan_rules, write_rules

BATCH = 1000
# The time bank's opening hours of the community's first resident and volunteer (resident01, volunteer01).
SEED_HOURS = {Role.RESIDENT: Decimal(6), Role.VOLUNTEER: Decimal(12)}
RESIDENT_CHUNK = 2000


def write_street(
    plans: tuple[CommunityPlan, ...], *, demo_password: str, progress: Callable[[str], None]
) -> list[dict[str, int]]:
    """Create every row of a street's ``plans``, community by community; the counts of each."""
    password = make_password(demo_password)
    regions: dict[str, Region] = {}
    return [write_plan(plan, password=password, regions=regions, progress=progress) for plan in plans]


def write_plan(
    plan: CommunityPlan, *, password: str, regions: dict[str, Region], progress: Callable[[str], None]
) -> dict[str, int]:
    """Create every row of ``plan``, every account with the hashed ``password``; return the number of
    rows per kind. ``regions`` holds the regions written so far by code (a street's community 1
    writes the street that the others join) and gains this plan's."""
    now = clock.now()

    progress(f"regions {len(plan.regions)}")
    for item in plan.regions:
        parent = regions[item.parent_code] if item.parent_code else None
        region = Region.objects.create(
            code=item.code,
            name_zh=item.name_zh,
            name_en=item.name_en,
            kind=item.kind,
            parent=parent,
            boundary=item.boundary,
            path="",
        )
        region.path = Region.path_for(parent, region.pk)
        region.save(update_fields=["path"])
        regions[item.code] = region
    community = regions[plan.community.code]

    progress(f"buildings {len(plan.buildings)}, units {len(plan.units)}")
    buildings = {
        b.code: b
        for b in Building.objects.bulk_create(
            [
                Building(
                    grid=regions[b.grid_code],
                    code=b.code,
                    name=b.name,
                    kind=b.kind,
                    floors=b.floors,
                    entrances=b.entrances,
                    footprint=b.footprint,
                    latitude=b.latitude,
                    longitude=b.longitude,
                    built_year=b.built_year,
                )
                for b in plan.buildings
            ],
            batch_size=BATCH,
        )
    }
    units = Unit.objects.bulk_create(
        [
            Unit(
                building=buildings[u.building_code],
                number=u.number,
                entrance=u.entrance,
                floor=u.floor,
                exclusive_area_m2=u.exclusive_area_m2,
            )
            for u in plan.units
        ],
        batch_size=BATCH,
    )
    unit_ids = {(u.building_code, u.number): row.pk for u, row in zip(plan.units, units, strict=True)}

    progress(f"facilities {len(plan.facilities)}, walking graph {len(plan.path_nodes)} nodes")
    facilities = {
        f.code: f
        for f in Facility.objects.bulk_create(
            [
                Facility(
                    region=regions[f.region_code],
                    code=f.code,
                    kind=f.kind,
                    name_zh=f.name_zh,
                    name_en=f.name_en,
                    latitude=f.latitude,
                    longitude=f.longitude,
                    capacity=f.capacity,
                    area=f.area,
                )
                for f in plan.facilities
            ],
            batch_size=BATCH,
        )
    }
    nodes = {
        n.code: n
        for n in PathNode.objects.bulk_create(
            [
                PathNode(
                    community=community,
                    code=n.code,
                    latitude=n.latitude,
                    longitude=n.longitude,
                    building=buildings[n.building_code] if n.building_code else None,
                    facility=facilities[n.facility_code] if n.facility_code else None,
                )
                for n in plan.path_nodes
            ],
            batch_size=BATCH,
        )
    }
    PathEdge.objects.bulk_create(
        [
            PathEdge(
                source=nodes[e.source], target=nodes[e.target], length_m=e.length_m, step_free=e.step_free
            )
            for e in plan.path_edges
        ],
        batch_size=BATCH,
    )

    progress(f"households {len(plan.households)}")
    households = {
        h.code: h
        for h in Household.objects.bulk_create(
            [
                Household(
                    code=h.code,
                    unit_id=unit_ids[(h.building_code, h.unit_number)],
                    grid_id=regions[h.grid_code].pk,
                    is_owner_occupied=h.is_owner_occupied,
                )
                for h in plan.households
            ],
            batch_size=BATCH,
        )
    }

    resident_ids: list[int] = []
    total = len(plan.residents)
    for start in range(0, total, RESIDENT_CHUNK):
        chunk = plan.residents[start : start + RESIDENT_CHUNK]
        rows = Resident.objects.bulk_create(
            [
                Resident(
                    household=households[r.household_code],
                    name=r.name,
                    id_number=r.id_number,
                    id_number_index=vault.blind_index("id_number", r.id_number),
                    phone=r.phone,
                    phone_index=vault.blind_index("phone", r.phone) if r.phone else "",
                    birth_date=r.birth_date,
                    sex=r.sex,
                    relation=r.relation,
                    residence_status=r.residence_status,
                    registered_address=r.registered_address,
                    tags=list(r.tags),
                    is_living_alone=r.is_living_alone,
                )
                for r in chunk
            ],
            batch_size=BATCH,
        )
        resident_ids += [row.pk for row in rows]
        progress(f"residents {start + len(chunk)}/{total}")

    progress(f"accounts {len(plan.accounts)}")
    users = {
        u.username: u
        for u in User.objects.bulk_create(
            [
                User(
                    username=a.username,
                    first_name=a.first_name,
                    last_name=a.last_name,
                    password=password,
                    role=a.role,
                    region=regions[a.region_code] if a.region_code else None,
                    resident_id=resident_ids[a.resident_key] if a.resident_key is not None else None,
                    is_staff=a.is_staff,
                    is_superuser=a.is_superuser,
                    date_joined=now,
                )
                for a in plan.accounts
            ],
            batch_size=BATCH,
        )
    }

    organisations = Organisation.objects.bulk_create(
        [
            Organisation(code=o.code, kind=o.kind, name_zh=o.name_zh, name_en=o.name_en)
            for o in plan.organisations
        ]
    )
    Organisation.regions.through.objects.bulk_create(
        [
            Organisation.regions.through(organisation_id=row.pk, region_id=regions[code].pk)
            for item, row in zip(plan.organisations, organisations, strict=True)
            for code in item.region_codes
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(organisation=row, user=users[m.username], title=m.title)
            for item, row in zip(plan.organisations, organisations, strict=True)
            for m in item.members
        ]
    )

    progress(f"care profiles {len(plan.care_profiles)}")
    profiles = CareProfile.objects.bulk_create(
        [
            CareProfile(
                resident_id=resident_ids[p.resident_key],
                kind=p.kind,
                level=p.level,
                details=p.details,
                visit_interval_days=p.visit_interval_days,
                since=p.since,
            )
            for p in plan.care_profiles
        ],
        batch_size=BATCH,
    )
    carers = Carer.objects.bulk_create(
        [
            Carer(
                care_profile=row,
                kind=c.kind,
                name=c.name,
                phone=c.phone,
                user=users[c.username] if c.username else None,
                resident_id=resident_ids[c.resident_key] if c.resident_key is not None else None,
                is_primary=c.is_primary,
            )
            for p, row in zip(plan.care_profiles, profiles, strict=True)
            for c in p.carers
        ],
        batch_size=BATCH,
    )
    consents = Consent.objects.bulk_create(
        [
            Consent(
                resident_id=resident_ids[c.resident_key],
                scope=c.scope,
                given_by=c.given_by,
                granted_at=now - dt.timedelta(days=c.days_ago),
                recorded_by=users[c.recorded_by] if c.recorded_by else None,
            )
            for c in plan.consents
        ],
        batch_size=BATCH,
    )

    progress(f"vehicles {len(plan.vehicles)}")
    Vehicle.objects.bulk_create(
        [
            Vehicle(
                household=households[v.household_code],
                kind=v.kind,
                plate=v.plate,
                plate_index=vault.blind_index("plate", v.plate),
                parking_space=v.parking_space,
            )
            for v in plan.vehicles
        ],
        batch_size=BATCH,
    )

    devices = write_devices(
        plan_devices(plan),
        regions=regions,
        buildings=buildings,
        unit_ids=unit_ids,
        facilities=facilities,
        resident_ids=resident_ids,
        now=now,
        batch_size=BATCH,
        progress=progress,
    )

    write_rules(plan_rules(plan), community=community, now=now)
    response = write_response(community=community, now=now, prefix=plan.prefix)
    # The hazard register and the plans from the shipped templates (issue 15), as `banyan emergency
    # install` makes them: the demo and the tests have them from the start.
    hazards = install_register(community, actor="sim")
    emergency_plans = install_plans(community, actor="sim")
    # The time bank (issue 16): the pool and issuance accounts, and hours issued to resident01 and
    # volunteer01 (resident2_01 … in the others) through the ledger, so the demo starts with balances.
    grants: dict[User, Decimal] = {}
    for a in plan.accounts:
        if a.role in SEED_HOURS and all(user.role != a.role for user in grants):
            grants[users[a.username]] = SEED_HOURS[a.role]
    seed_hours(community=community, grants=grants, memo="seed: opening hours")

    counts = {
        "regions": len(plan.regions),
        "grids": len(plan.grids),
        "buildings": len(buildings),
        "units": len(units),
        "households": len(households),
        "residents": len(resident_ids),
        "care_profiles": len(profiles),
        "carers": len(carers),
        "consents": len(consents),
        "vehicles": len(plan.vehicles),
        "facilities": len(facilities),
        "organisations": len(organisations),
        "path_nodes": len(nodes),
        "path_edges": len(plan.path_edges),
        "users": len(users),
        "devices": devices,
        **response,
        "hazards": hazards,
        "emergency_plans": emergency_plans,
    }
    record(
        actor="sim",
        events=[Event(AuditAction.SIM_SEED, "region", community.pk, details={"seed": plan.seed, **counts})],
    )
    return counts
