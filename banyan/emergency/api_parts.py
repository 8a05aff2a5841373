"""The emergency parts outside tools read (a city's dashboard, a street's own systems), read-only:
``GET /emergency/hazards`` (the register), ``GET /emergency/plans`` and ``/emergency/plans/{id}``, and of
one emergency ``/roll-call`` (counts and the accounted curve), ``/shelters`` (shelters, supplies per
place) and ``/review`` (the after-action review's figures). Roles that may view emergencies read, each
object through their scope (another community's answers 404, as a missing one); ids, codes and counts
only, never a resident's name, phone or address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from ninja import Query, Router

from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.errors import InvalidInput, NotFound
from banyan.emergency import hazards, plans, review, services
from banyan.emergency.choices import HazardKind, Level
from banyan.emergency.models import Emergency, Plan
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.schemas import (
    HazardFilter,
    HazardList,
    PlanFilter,
    PlanList,
    PlanOut,
    ReviewOut,
    RollCallOut,
    SheltersOut,
)
from banyan.emergency.shelters import services as shelters
from banyan.emergency.shelters.choices import MoveKind
from banyan.emergency.shelters.models import Move, Shelter, Stock
from banyan.people.models import Actor, AuthenticatedHttpRequest

router = Router(tags=["emergency"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
LEVELS = [str(level) for level in Level.values]
BOOLEANS = ["true", "false"]
FEATURES = ("step_free", "medical_corner", "pets")


def _choice(value: str | None, field: str, accepted: Sequence[str]) -> str | None:
    """A query parameter that takes one of ``accepted`` (empty or absent: None), else a 400 naming it."""
    if value is None or value == "":
        return None
    if value.lower() not in accepted:
        raise InvalidInput(
            _("Must be one of: %(accepted)s.") % {"accepted": ", ".join(accepted)}, field=field
        )
    return value.lower()


# --- the register and the plans ---------------------------------------------------------------------


@router.get("/emergency/hazards", response={200: HazardList, **ERRORS})
def list_hazards(request: AuthenticatedHttpRequest, filters: Query[HazardFilter]):
    """The hazard register of the communities in your scope (``community``: one of them), by community and
    hazard: likelihood, impact, risk, what is exposed (counts and ids), when last reviewed."""
    require(request.user, Action.VIEW_EMERGENCIES)
    register = hazards.register_for(request.user).order_by("community__code", "kind", "id")
    if filters.community:
        register = register.filter(community__code=filters.community)
    count, items = page(register, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/emergency/plans", response={200: PlanList, **ERRORS})
def list_plans(request: AuthenticatedHttpRequest, filters: Query[PlanFilter]):
    """Plan versions of the communities in your scope, by community, hazard, level and newest version
    first; ``current=true`` only the versions in force, ``false`` only earlier ones."""
    require(request.user, Action.VIEW_EMERGENCIES)
    hazard = _choice(filters.hazard, "hazard", HazardKind.values)
    level = _choice(filters.level, "level", LEVELS)
    current = _choice(filters.current, "current", BOOLEANS)
    found = (
        Plan.objects.restrict(request.user, Action.VIEW_EMERGENCIES)
        .select_related("community")
        .order_by("community__code", "hazard", "level", "-version", "id")
    )
    if filters.community:
        found = found.filter(community__code=filters.community)
    if hazard is not None:
        found = found.filter(hazard=hazard)
    if level is not None:
        found = found.filter(level=int(level))
    if current is not None:
        found = found.filter(is_current=current == "true")
    count, items = page(found, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/emergency/plans/{int:plan_id}", response={200: PlanOut, **ERRORS})
def get_plan(request: AuthenticatedHttpRequest, plan_id: int):
    """One version of a plan, with its body."""
    require(request.user, Action.VIEW_EMERGENCIES)
    if not 0 < plan_id < 2**63:
        raise NotFound(_("No such plan."))
    return plans.get_plan_for(request.user, plan_id)


# --- one emergency's roll call, shelters and review ---------------------------------------------------


def _emergency(request: AuthenticatedHttpRequest, emergency_id: int) -> Emergency:
    require(request.user, Action.VIEW_EMERGENCIES)
    return services.get_emergency_for(request.user, emergency_id)


@router.get("/emergencies/{int:emergency_id}/roll-call", response={200: RollCallOut, **ERRORS})
def roll_call(request: AuthenticatedHttpRequest, emergency_id: int):
    """The emergency's roll call (the open one, else the last; null: none yet): households asked, safe,
    needing help, accounted for by a visit, waiting, visited, vulnerable, and the curve of vulnerable
    households accounted for. Counts only."""
    emergency = _emergency(request, emergency_id)
    found = rollcall.open_roll_call(emergency) or rollcall.latest_roll_call(emergency)
    if found is None:
        return {"emergency": emergency.pk, "roll_call": None}
    return {
        "emergency": emergency.pk,
        "roll_call": {
            "id": found.pk,
            "started_at": found.started_at,
            "closed_at": found.closed_at,
            "wait_minutes": found.wait_minutes,
            "vulnerable_wait_minutes": found.vulnerable_wait_minutes,
            **asdict(rollcall.counts(found)),
            "curve": [(minutes, round(share, 4)) for minutes, share in rollcall.accounted_curve(found)],
        },
    }


def _shelter_rows(user: Actor, emergency: Emergency) -> list[dict[str, Any]]:
    found = (
        Shelter.objects.restrict(user)
        .filter(Q(community_id=emergency.community_id) | Q(opened_for=emergency))
        .select_related("facility")
        .order_by("facility__code", "id")
    )
    return [
        {
            "id": shelter.pk,
            "facility": shelter.facility_id,
            "name_zh": shelter.facility.name_zh,
            "name_en": shelter.facility.name_en,
            "capacity": shelter.capacity,
            "occupancy": shelter.occupied,
            "free": shelter.free,
            "features": [name for name in FEATURES if getattr(shelter, name)],
            "open": shelter.is_open,
            "open_for_emergency": shelter.is_open and shelter.opened_for_id == emergency.pk,
            "opened_at": shelter.opened_at,
        }
        for shelter in found
    ]


def _supply_places(user: Actor, emergency: Emergency) -> list[dict[str, Any]]:
    stocks = list(
        Stock.objects.restrict(user)
        .filter(community_id=emergency.community_id)
        .select_related("place")
        .order_by("place__code", "kind", "id")
    )
    held = {  # what is still reserved for this emergency, per stock (as shelters.reserved_for, at once)
        row["stock_id"]: max((row["reserved"] or 0) - (row["used"] or 0), 0)
        for row in Move.objects.filter(emergency=emergency, stock__in=[s.pk for s in stocks])
        .values("stock_id")
        .annotate(
            reserved=Sum("quantity", filter=Q(kind=MoveKind.RESERVED)),
            used=Sum("from_reserve", filter=Q(kind=MoveKind.DISTRIBUTED)),
        )
        .order_by()
    }
    places: dict[int, dict[str, Any]] = {}
    for stock in stocks:
        place = places.setdefault(
            stock.place_id,
            {
                "place": stock.place_id,
                "place_code": stock.place.code,
                "name_zh": stock.place.name_zh,
                "name_en": stock.place.name_en,
                "stocks": [],
            },
        )
        place["stocks"].append(
            {
                "kind": stock.kind,
                "unit": stock.unit,
                "on_hand": stock.quantity,
                "reserved": stock.reserved,
                "reserved_for_emergency": held.get(stock.pk, 0),
                "available": stock.available,
                "low_at": stock.low_at,
                "low": stock.is_low,
            }
        )
    return list(places.values())


@router.get("/emergencies/{int:emergency_id}/shelters", response={200: SheltersOut, **ERRORS})
def shelters_and_supplies(request: AuthenticatedHttpRequest, emergency_id: int):
    """The shelters of the emergency's community (capacity, people in now, features, open and for which
    emergency), its supplies per place (on hand, reserved, still held for this emergency, low), and the
    emergency's shelter and supply figures."""
    emergency = _emergency(request, emergency_id)
    return {
        "emergency": emergency.pk,
        "shelters": _shelter_rows(request.user, emergency),
        "supplies": _supply_places(request.user, emergency),
        "summary": shelters.summary(emergency),
    }


@router.get("/emergencies/{int:emergency_id}/review", response={200: ReviewOut, **ERRORS})
def after_action_review(request: AuthenticatedHttpRequest, emergency_id: int):
    """The after-action review as the page, the XLSX and the PDF show it: detection and activation, each
    task against its deadline, the roll call's counts, curve and resilience loss, SLA results of the
    area's incidents, shelters, lessons (owned by an organisation and a role, never a name), the
    timeline."""
    emergency = _emergency(request, emergency_id)
    data = review.after_action_review(emergency)
    owners = dict(emergency.tasks.values_list("pk", "owner__code"))
    lessons = [
        {
            "id": lesson.pk,
            "text": lesson.text,
            "owner": lesson.owner.code if lesson.owner else None,
            "owner_role": lesson.owner_user.role if lesson.owner_user else None,
            "due": lesson.due,
            "done": lesson.done,
        }
        for lesson in emergency.lessons.select_related("owner", "owner_user")
    ]
    tasks = [{**row, "owner": owners.get(row["id"])} for row in data["tasks"]]
    return {**data, "tasks": tasks, "lessons": lessons}
