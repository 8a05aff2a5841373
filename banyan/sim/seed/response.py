"""The response side of the synthetic community: a responsibility matrix for every category at the
community level, responders for the staff accounts (standing at walking-graph nodes) and a week of
shifts around the clock, so that the demo and the drills dispatch from the first alert. The building
leaders (楼栋长) and the residents registered as volunteers are responders at home with no standing
shift: an emergency plan's call-up puts them on duty.

``MATRIX`` and ``ESCALATION`` name community 1's bodies; a street's further communities have the same
bodies under their own code prefix (``C2-ORG-PROPERTY``), and all escalate to the one street office."""

from __future__ import annotations

import datetime as dt
import hashlib

from banyan.people.models import Membership, Organisation
from banyan.places.models import PathNode
from banyan.response.models import Category, Responder, Responsibility, Shift
from banyan.sim.seed.plan import CALLED_UP_TITLES

# category -> (accountable organisation, its role)
MATRIX = {
    "fire_smoke": ("ORG-PROPERTY", "property_staff"),
    "gas": ("ORG-PROPERTY", "property_staff"),
    "flooding": ("ORG-PROPERTY", "property_staff"),
    "fall_medical": ("ORG-COMMITTEE", "grid_worker"),
    "wellness_check": ("ORG-COMMITTEE", "grid_worker"),
    "crowding": ("ORG-COMMITTEE", "grid_worker"),
    "security": ("ORG-PROPERTY", "property_staff"),
    "repairs": ("ORG-PROPERTY", "property_staff"),
    "device_fault": ("ORG-PROPERTY", "property_staff"),
    "sanitation": ("ORG-PROPERTY", "property_staff"),
    "noise": ("ORG-COMMITTEE", "grid_worker"),
    "dispute": ("ORG-COMMITTEE", "grid_worker"),
    "other": ("ORG-COMMITTEE", "grid_worker"),
}
ESCALATION = [
    {"organisation": "ORG-COMMITTEE", "role": "community_director"},
    {"organisation": "ORG-STREET", "role": "street_officer"},
]
STREET_BODIES = frozenset({"ORG-STREET"})
SKILLS = {
    "grid_worker": ["first_aid", "care", "crowd", "mediation", "flooding"],
    "property_staff": ["fire", "gas", "flooding", "security", "repairs"],
    "volunteer": ["care", "first_aid"],
}
RESPONDER_ROLES = tuple(SKILLS)


def write_response(*, community, now: dt.datetime, prefix: str = "") -> dict[str, int]:
    """The matrix, responders and shifts of ``community``, whose bodies' codes start with ``prefix``."""

    bodies = {o.code.removeprefix(prefix): o for o in Organisation.objects.filter(regions=community)}
    escalation = [{**step, "organisation": _own(step["organisation"], prefix)} for step in ESCALATION]
    cells = [
        Responsibility(
            category=category,
            region=community,
            accountable=bodies[MATRIX[category.code][0]],
            accountable_role=MATRIX[category.code][1],
            backup=bodies.get("ORG-COMMITTEE"),
            backup_role="community_director",
            escalation=escalation,
            updated_at=now,
        )
        for category in Category.objects.filter(code__in=MATRIX)
        if MATRIX[category.code][0] in bodies
    ]
    Responsibility.objects.bulk_create(cells)
    nodes = list(PathNode.objects.filter(community=community).order_by("code"))
    responders = []
    leaders: set[int] = set()
    for membership in (
        Membership.objects.filter(organisation__in=bodies.values(), user__role__in=RESPONDER_ROLES)
        .select_related("user", "organisation", "user__resident__household__unit__building")
        .order_by("user__username")
    ):
        user = membership.user
        resident = getattr(user, "resident", None)
        if membership.title in CALLED_UP_TITLES and resident is not None:
            # A building leader or a resident volunteer is at home: the node nearest their building.
            building = resident.household.unit.building
            node = min(
                nodes,
                key=lambda n: (n.latitude - building.latitude) ** 2 + (n.longitude - building.longitude) ** 2,
            )
            leaders.add(user.pk)
        else:
            # A stable spot for each person: the same seed puts them at the same node.
            node = nodes[int(hashlib.sha256(user.username.encode()).hexdigest(), 16) % len(nodes)]
        responders.append(
            Responder(
                user=user,
                organisation=membership.organisation,
                skills=SKILLS[user.role],
                capacity=3,
                latitude=node.latitude,
                longitude=node.longitude,
                position_at=now,
            )
        )
    Responder.objects.bulk_create(responders)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    shifts = [
        Shift(responder=r, starts_at=day + dt.timedelta(days=d), ends_at=day + dt.timedelta(days=d + 1))
        for r in Responder.objects.filter(organisation__in=bodies.values()).exclude(user__in=leaders)
        for d in range(-1, 7)
    ]
    Shift.objects.bulk_create(shifts)
    return {"matrix_cells": len(cells), "responders": len(responders), "shifts": len(shifts)}


def _own(code: str, prefix: str) -> str:
    """The community's body of ``code``: the street office is the street's, the rest the community's."""
    return code if code in STREET_BODIES else prefix + code
