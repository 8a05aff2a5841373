"""The hazard register (风险预判): a community's hazards with how likely and how bad each is, what and who
is exposed (computed from the places and people registered), and the yearly review.

:func:`exposure` reads real data and keeps only counts and ids, never names: flooding exposes the
underground garages and the buildings with flats below or on the ground floor; evacuation (fire,
earthquake, collapse, typhoon) the buildings without a lift (or of unknown lift and under 7 floors) with
their floors; heat and cold the residents in care aged 65 and over; and every hazard the residents in
care per exposed building.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.emergency.choices import HazardKind
from banyan.emergency.models import Hazard
from banyan.people.choices import ResidenceStatus
from banyan.people.models import Actor, CareProfile, Resident
from banyan.places.choices import FacilityKind
from banyan.places.models import Building, Facility, Region, Unit

# Default likelihood and impact (1–5) for a community of Hangzhou: typhoons and plum-rain flooding come
# most summers, heat waves every summer; earthquakes are rare there but would be severe.
DEFAULT_SCORES: dict[str, tuple[int, int]] = {
    HazardKind.TYPHOON: (4, 4),
    HazardKind.FLOOD: (4, 3),
    HazardKind.FIRE: (3, 4),
    HazardKind.GAS_LEAK: (2, 4),
    HazardKind.HEAT_WAVE: (5, 3),
    HazardKind.COLD_WAVE: (2, 2),
    HazardKind.EPIDEMIC: (3, 4),
    HazardKind.CROWD: (2, 3),
    HazardKind.OUTAGE: (3, 2),
    HazardKind.EARTHQUAKE: (1, 5),
    HazardKind.COLLAPSE: (1, 4),
}
FLOOD_HAZARDS = {HazardKind.FLOOD, HazardKind.TYPHOON}
EVACUATION_HAZARDS = {HazardKind.FIRE, HazardKind.EARTHQUAKE, HazardKind.COLLAPSE, HazardKind.TYPHOON}
TEMPERATURE_HAZARDS = {HazardKind.HEAT_WAVE, HazardKind.COLD_WAVE}
CARE_HAZARDS = {HazardKind.EPIDEMIC, HazardKind.OUTAGE, HazardKind.GAS_LEAK}
# Places where many gather: what a crowd incident exposes.
GATHERING_KINDS = (
    FacilityKind.PLAZA,
    FacilityKind.SPORTS_FIELD,
    FacilityKind.SCHOOL,
    FacilityKind.KINDERGARTEN,
    FacilityKind.COMMUNITY_CENTRE,
)
LIFT_FLOORS = 7  # buildings of 7 floors and more have lifts by Chinese residential code (unless known not)
OLD_AGE = 65
REVIEW_EVERY = dt.timedelta(days=365)
# Risk bands of likelihood × impact (1–25), as a 5×5 risk matrix reads them: 12 and more is high (red), 6
# to 11 medium (yellow), under 6 low (blue). Go-live readiness asks a plan at every level of a high one.
RISK_HIGH = 12
RISK_MEDIUM = 6
NOTES_MAX = 2000


# --- what is exposed -------------------------------------------------------------------------------


def _living_here(prefix: str = "") -> Q:
    return ~Q(**{f"{prefix}residence_status": ResidenceStatus.REGISTERED_HERE_LIVING_ELSEWHERE})


def _in_care(community: Region):
    """Residents of ``community`` living here with an active care profile."""
    cared = CareProfile.objects.filter(is_active=True).values("resident_id")
    return Resident.objects.filter(
        _living_here(), pk__in=cared, household__grid__path__startswith=community.path
    )


def _born_before(years: int) -> dt.date:
    today = clock.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _care_by_building(community: Region, building_ids) -> Counter:
    rows = (
        _in_care(community)
        .filter(household__unit__building_id__in=building_ids)
        .values("household__unit__building_id")
        .annotate(n=Count("id"))
    )
    return Counter({row["household__unit__building_id"]: row["n"] for row in rows})


def exposure(community: Region, kind: str) -> dict[str, Any]:
    """What and who ``community`` has exposed to hazard ``kind``, as counts and ids (no names):

    ``facilities`` [{id, kind}], ``buildings`` [{id, code, floors, lift, basement_units,
    ground_floor_units, residents_in_care}], ``residents_in_care`` (in those buildings, or in the whole
    community for hazards without buildings), ``residents_in_care_65`` and ``residents_65_alone`` for heat
    and cold."""
    if kind not in HazardKind.values:
        raise InvalidInput(_("Unknown hazard."), field="kind")
    buildings_q = Building.objects.filter(grid__path__startswith=community.path)
    result: dict[str, Any] = {"facilities": [], "buildings": []}
    exposed: dict[int, dict[str, Any]] = {}

    def building_row(building: Building) -> dict[str, Any]:
        return exposed.setdefault(
            building.pk,
            {
                "id": building.pk,
                "code": building.code,
                "floors": building.floors,
                "lift": building.lift,
                "basement_units": 0,
                "ground_floor_units": 0,
                "residents_in_care": 0,
            },
        )

    facilities = Facility.objects.filter(region__path__startswith=community.path)
    if kind in FLOOD_HAZARDS:
        garages = facilities.filter(kind=FacilityKind.PARKING).order_by("code")
        result["facilities"] += [{"id": f.pk, "kind": f.kind} for f in garages]
        low_units = (
            Unit.objects.filter(building__in=buildings_q, floor__lte=1)
            .values("building_id")
            .annotate(basement=Count("id", filter=Q(floor__lte=0)), ground=Count("id", filter=Q(floor=1)))
        )
        counts = {row["building_id"]: row for row in low_units}
        for building in buildings_q.filter(pk__in=counts).order_by("code"):
            row = building_row(building)
            row["basement_units"] = counts[building.pk]["basement"]
            row["ground_floor_units"] = counts[building.pk]["ground"]
    if kind in EVACUATION_HAZARDS:
        no_lift = buildings_q.filter(Q(lift=False) | Q(lift__isnull=True, floors__lt=LIFT_FLOORS)).filter(
            floors__gt=1
        )
        for building in no_lift.order_by("code"):
            building_row(building)
    if kind == HazardKind.CROWD:
        gathering = facilities.filter(kind__in=GATHERING_KINDS).order_by("code")
        result["facilities"] += [{"id": f.pk, "kind": f.kind} for f in gathering]

    if exposed:
        care = _care_by_building(community, list(exposed))
        for building_id, row in exposed.items():
            row["residents_in_care"] = care.get(building_id, 0)
        result["buildings"] = sorted(exposed.values(), key=lambda row: row["code"])
        result["residents_in_care"] = sum(care.values())
    elif kind in TEMPERATURE_HAZARDS or kind in CARE_HAZARDS:
        result["residents_in_care"] = _in_care(community).count()
    else:
        result["residents_in_care"] = 0
    if kind in TEMPERATURE_HAZARDS:
        born = _born_before(OLD_AGE)
        result["residents_in_care_65"] = _in_care(community).filter(birth_date__lte=born).count()
        result["residents_65_alone"] = Resident.objects.filter(
            _living_here(),
            household__grid__path__startswith=community.path,
            birth_date__lte=born,
            is_living_alone=True,
        ).count()
    return result


def summary(data: dict[str, Any]) -> dict[str, int]:
    """The register's one-line figures of an exposure: facilities, buildings, their floors without a lift,
    residents in care (and aged 65+ for heat and cold)."""
    buildings = data.get("buildings", [])
    return {
        "facilities": len(data.get("facilities", [])),
        "buildings": len(buildings),
        "basement_units": sum(row.get("basement_units", 0) for row in buildings),
        "ground_floor_units": sum(row.get("ground_floor_units", 0) for row in buildings),
        "residents_in_care": data.get("residents_in_care", 0),
        "residents_in_care_65": data.get("residents_in_care_65", 0),
        "residents_65_alone": data.get("residents_65_alone", 0),
    }


# --- the register ----------------------------------------------------------------------------------


def register_for(user):
    """The hazards the user may see, with their communities."""
    return Hazard.objects.restrict(user, Action.VIEW_EMERGENCIES).select_related("community", "reviewed_by")


def get_hazard_for(user, pk: int, action: Action = Action.VIEW_EMERGENCIES) -> Hazard:
    """One hazard in the user's scope; the same :class:`NotFound` for missing and not theirs."""
    hazard = (
        Hazard.objects.restrict(user, action).select_related("community", "reviewed_by").filter(pk=pk).first()
    )
    if hazard is None:
        raise NotFound(_("No such hazard."))
    return hazard


def risk_band(risk: int) -> tuple[str, str]:
    """The band of a risk and its colour: ``("high", "red")``, ``("medium", "yellow")`` or ``("low",
    "blue")`` (see :data:`RISK_HIGH`)."""
    if risk >= RISK_HIGH:
        return "high", "red"
    if risk >= RISK_MEDIUM:
        return "medium", "yellow"
    return "low", "blue"


def review_due(hazard: Hazard, now: dt.datetime | None = None) -> bool:
    """Never reviewed, or last reviewed a year ago or more."""
    now = now or clock.now()
    return hazard.reviewed_at is None or hazard.reviewed_at + REVIEW_EVERY <= now


def may_manage(user) -> bool:
    return can(user, Action.MANAGE_EMERGENCIES)


@transaction.atomic
def install_register(community: Region, *, actor: Actor | str = "cli") -> int:
    """Every hazard ``community`` lacks, with its default likelihood and impact, and what each exposes;
    the exposure of hazards it has is recomputed, their scores left as set. Returns how many were made."""
    now = clock.now()
    have = {hazard.kind: hazard for hazard in Hazard.objects.filter(community=community)}
    made = []
    for kind in HazardKind.values:
        data = exposure(community, kind)
        if kind in have:
            hazard = have[kind]
            if hazard.exposure != data:
                hazard.exposure = data
                hazard.save(update_fields=["exposure"])
            continue
        likelihood, impact = DEFAULT_SCORES[kind]
        made.append(
            Hazard(
                community=community,
                kind=kind,
                likelihood=likelihood,
                impact=impact,
                exposure=data,
                created_at=now,
                updated_at=now,
            )
        )
    if made:
        Hazard.objects.bulk_create(made)
        record(
            actor=actor,
            events=[
                Event(AuditAction.HAZARD_INSTALL, "region", community.pk, details={"hazards": len(made)})
            ],
        )
    return len(made)


def _score(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput(_("A whole number from 1 to 5."), field=field)
    return value


def _locked(actor: Actor, hazard: Hazard) -> Hazard:
    if not may_manage(actor):
        raise PermissionDenied(_("Your role cannot change the hazard register."))
    locked = (
        Hazard.objects.restrict(actor, Action.MANAGE_EMERGENCIES)
        .select_for_update()
        .filter(pk=hazard.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("No such hazard."))
    return locked


@transaction.atomic(durable=True)
def update_hazard(*, actor: Actor, hazard: Hazard, likelihood: Any, impact: Any, notes: Any = "") -> Hazard:
    """Change a hazard's likelihood, impact and notes (audited with what changed)."""
    likelihood = _score(likelihood, "likelihood")
    impact = _score(impact, "impact")
    if not isinstance(notes, str) or "\x00" in notes:
        raise InvalidInput(_("The notes contain a character that cannot be stored."), field="notes")
    notes = notes.strip()
    if len(notes) > NOTES_MAX:
        raise InvalidInput(_("At most %(most)d characters.") % {"most": NOTES_MAX}, field="notes")
    locked = _locked(actor, hazard)
    changed = {}
    for name, value in (("likelihood", likelihood), ("impact", impact), ("notes", notes)):
        if getattr(locked, name) != value:
            changed[name] = value
            setattr(locked, name, value)
    if changed:
        locked.updated_at = clock.now()
        locked.save(update_fields=[*changed, "updated_at"])
        # Numbers only (the subject names the hazard; the notes stay out of the log).
        details = {"likelihood": locked.likelihood, "impact": locked.impact}
        record(actor=actor, events=[Event(AuditAction.HAZARD_UPDATE, "hazard", locked.pk, details=details)])
    return locked


@transaction.atomic(durable=True)
def review_hazard(*, actor: Actor, hazard: Hazard) -> Hazard:
    """Mark a hazard reviewed now by ``actor``, with its exposure recomputed from today's data."""
    locked = _locked(actor, hazard)
    now = clock.now()
    locked.reviewed_at = now
    locked.reviewed_by = actor
    locked.exposure = exposure(locked.community, locked.kind)
    locked.updated_at = now
    locked.save(update_fields=["reviewed_at", "reviewed_by", "exposure", "updated_at"])
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.HAZARD_REVIEW,
                "hazard",
                locked.pk,
                details={"risk": locked.risk},
            )
        ],
    )
    return locked
