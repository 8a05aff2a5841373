"""Go-live readiness: what a community still lacks before it goes live (``/readiness/`` and
``banyan readiness``).

Each check is one gap, with a stable machine code (``what``), how many things it concerns
(``count``), which places (``where``: codes and names as residents say them, never personal data)
and the page that fixes it. The community is ready when no check finds anything. In the order they
are listed:

- ``community_without_grids`` — no grid at all (where: the community's code). Nothing else can be
  checked without grids: every other gap hangs off them.
- ``grid_without_worker`` — a grid that no active grid-worker account serves (where: grid codes). A
  grid worker serves the grid their account's region is (``User.region``, as ``banyan seed`` and the
  accounts pages assign them); one assigned to the whole community covers no grid in particular.
- ``grid_without_buildings`` — a grid with no building (where: grid codes).
- ``building_without_units`` — a building with no unit (where: building names, "3幢"); fixed on the
  flats page (``/people/units/import/``: the flat list, or flats generated).
- ``unit_without_household`` — a residential unit where no household lives (where: the unit as
  residents say it, "3幢2单元502").
- ``care_needed_without_profile`` — residents who live here and need looking after but have no active
  care profile (where: the buildings they live in; ``count`` counts residents). Needing care is: aged
  80 or more; or aged 60 or more and living alone; or tagged "key care" (``ResidentTag.KEY_CARE``).
  No name, age or unit of any resident is given: buildings and a count only.
- ``device_without_place`` — a device standing in no building, unit or facility and with no zone drawn
  (where: device codes): an alert from it could not say where to go.
- ``matrix_cell_without_owner`` — a category of the incident catalogue that no cell of the
  responsibility matrix covers for a grid (on the grid, its community or a region above), as
  ``banyan.response.services.matrix_gaps`` finds them (where: ``GRID:CATEGORY`` codes).
- ``hazard_without_rule`` — a hazard of the community that no active warning rule covers (where:
  the hazard's incident category code).
- ``high_risk_hazard_without_plan`` — a hazard of the register whose risk (likelihood × impact) is high
  (``banyan.emergency.hazards.RISK_HIGH`` or more) with no current plan at one of the four levels
  (where: ``HAZARD:LEVEL`` codes, ``typhoon:1``).
- ``hazard_review_overdue`` — a hazard of the register never reviewed or last reviewed a year ago or
  more (``banyan.emergency.hazards.review_due``; where: hazard codes).
- ``exposed_care_without_shelter`` — a hazard of the register that exposes residents in care while the
  community has no shelter installed (where: hazard codes).

Hazards: with a hazard register (``banyan.emergency.hazards``, issue 15), a community's hazards are
the register's. The ones devices sense (:data:`SENSED`: flood, fire, gas leak, crowd incident) need a
rule of their incident category (flooding, fire/smoke, gas, crowding); the others (typhoon, heat and
cold waves, epidemic, outage, earthquake, collapse) have no sensing counterpart: they are reported as
covered by a plan (a current plan of the hazard), not by a rule, and are never a ``hazard_without_rule``.
The everyday hazards the devices imply and no register hazard names (falls and medical emergencies,
wellness checks) are still checked. Without a register, a community's hazards are the incident
categories its installed device kinds and its facilities imply (:data:`HAZARDS`, a small table): a
smoke detector is there because fire is a hazard, a combustible-gas detector for gas leaks, a water
level sensor or an underground garage for flooding, wearables and SOS buttons for falls and medical
emergencies, water meters, door contacts and motion sensors for wellness checks of people living
alone, crowd counters, plazas and sports fields for crowding. A rule covers a hazard when it is
active, belongs to the community, and either opens incidents of the hazard's category
(``incident_category``) or watches one of the metrics the catalogue maps to it
(``Category.alert_metrics``). Offline rules watch no metric: they cover no hazard. The JSON's
``hazards`` says where the hazards came from and what covers each (:func:`hazard_cover`).

The checks read the community's data whole: callers decide who may see it (the page: roles that may
change places, within their scope; the command: the operator).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import NotFound, PermissionDenied
from banyan.emergency import hazards as register
from banyan.emergency.choices import HazardKind, Level
from banyan.emergency.forms_board import LEVEL_NAMES
from banyan.emergency.models import Hazard as RegisterHazard
from banyan.emergency.models import Plan
from banyan.emergency.shelters.models import Shelter
from banyan.people.choices import ResidenceStatus, ResidentTag
from banyan.people.models import CareProfile, Resident, User
from banyan.places.choices import FacilityKind, RegionKind, UnitUse
from banyan.places.models import Building, Facility, Region, Unit
from banyan.places.words import region_words, unit_words
from banyan.response.models import Category
from banyan.response.services import matrix_gaps
from banyan.sensing.models import Device
from banyan.warning.models import Rule

# Who needs looking after (see the module's docstring).
CARE_AGE = 80
ALONE_CARE_AGE = 60
CARE_TAGS = (ResidentTag.KEY_CARE.value,)
SHOWN = 20  # places the page names per gap (the JSON names every one)


@dataclass(frozen=True)
class Hazard:
    """A hazard a community has, as an incident category, and what tells that it has it."""

    category: str
    device_kinds: tuple[str, ...] = ()
    facility_kinds: tuple[str, ...] = ()


HAZARDS: tuple[Hazard, ...] = (
    Hazard("fire_smoke", device_kinds=("smoke",)),
    Hazard("gas", device_kinds=("combustible_gas",)),
    Hazard("flooding", device_kinds=("water_level",), facility_kinds=(FacilityKind.PARKING.value,)),
    Hazard("fall_medical", device_kinds=("wearable_band", "sos_button")),
    Hazard("wellness_check", device_kinds=("water_meter", "door_contact", "pir_motion")),
    Hazard(
        "crowding",
        device_kinds=("crowd_counter",),
        facility_kinds=(FacilityKind.PLAZA.value, FacilityKind.SPORTS_FIELD.value),
    ),
)

BY_CATEGORY = {hazard.category: hazard for hazard in HAZARDS}
# The register's hazards that devices sense, as the incident category their alerts open (and so the device
# kinds of :data:`HAZARDS`: flooding a water-level sensor, fire/smoke a smoke detector …).
SENSED: dict[str, str] = {
    HazardKind.FLOOD.value: "flooding",
    HazardKind.FIRE.value: "fire_smoke",
    HazardKind.GAS_LEAK.value: "gas",
    HazardKind.CROWD.value: "crowding",
}


@dataclass
class Gap:
    """One thing a community still lacks: ``what`` (a stable code), ``count``, ``where``, and the
    page that fixes it (``fix_url``, for the page only)."""

    what: str
    count: int
    where: list[str]
    fix_url: str = ""
    # ``where`` as a person reads it in the page's language (None: codes, shown as codes).
    words: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "count": self.count, "where": self.where}


@dataclass
class Readiness:
    community: Region
    missing: list[Gap] = field(default_factory=list)
    # Where the hazards came from and what covers each (:func:`hazard_cover`).
    hazards: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.missing

    def as_dict(self) -> dict[str, Any]:
        """The contract's object: ``{"community", "ready", "missing": [{"what", "count", "where"}]}``, and
        ``hazards`` (:func:`hazard_cover`)."""
        return {
            "community": self.community.code,
            "ready": self.ready,
            "missing": [gap.as_dict() for gap in self.missing],
            "hazards": self.hazards,
        }


# What each gap is called and how it is fixed, in the page's language.
TITLES = {
    "community_without_grids": _("The community has no grids"),
    "grid_without_worker": _("Grids without a grid worker"),
    "grid_without_buildings": _("Grids without buildings"),
    "building_without_units": _("Buildings without units"),
    "unit_without_household": _("Residential units without a household"),
    "care_needed_without_profile": _("Residents needing care without a care profile"),
    "device_without_place": _("Devices without a place"),
    "matrix_cell_without_owner": _("Responsibility-matrix cells without an owner"),
    "hazard_without_rule": _("Hazards without a warning rule"),
    "high_risk_hazard_without_plan": _("High-risk hazards without a plan at every level"),
    "hazard_review_overdue": _("Hazards whose yearly review is overdue"),
    "exposed_care_without_shelter": _("Hazards exposing residents in care, and no shelter"),
}
HOW_TO_FIX = {
    "community_without_grids": _("Draw or import the grids."),
    "grid_without_worker": _("Give a grid-worker account each of these grids as its region."),
    "grid_without_buildings": _("Import the buildings, or redraw the grids around them."),
    "building_without_units": _(
        "Import each building's flats (units) from the property register's flat list, or make them "
        "for the buildings that have none."
    ),
    "unit_without_household": _("Import the households' ledger."),
    "care_needed_without_profile": _(
        "Residents aged 80 or more, aged 60 or more living alone, or tagged key care: add a care "
        "profile on each resident's page. Counted by building only."
    ),
    "device_without_place": _("Give each device its building, unit, facility or zone."),
    "matrix_cell_without_owner": _("Name who answers for these categories in these grids."),
    "hazard_without_rule": _("Add a warning rule that opens incidents of these categories."),
    "high_risk_hazard_without_plan": _(
        "Each hazard of high risk needs a current plan at every level, I to IV: add the missing ones on the "
        "plans page (a platform administrator can make them from the shipped templates)."
    ),
    "hazard_review_overdue": _(
        "Review these hazards of the register: check their likelihood and impact and mark them reviewed."
    ),
    "exposed_care_without_shelter": _(
        "Residents in care are exposed to these hazards and the community has no shelter: set up its "
        "shelters (a platform administrator can make them from its facilities)."
    ),
}


def _url(name: str, *args, query: str = "", fallback: str = "") -> str:
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return _url(fallback, query=query) if fallback else ""
    return f"{url}?{query}" if query else url


def _grid_editor(community: Region) -> str:
    """The grids editor (issue 13's second must-have) where it exists, else the grids page."""
    try:
        return reverse("places:grid-editor", args=[community.code])
    except NoReverseMatch:
        return _url("places:grid-list")


def _words(regions: list[Region]) -> list[str]:
    return [region_words(region) for region in regions]


def _category_words(category: Category) -> str:
    english = (get_language() or "").startswith("en")
    return category.name_en if english and category.name_en else category.name_zh


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- the checks: each returns a gap, or None ---------------------------------------------------------


def _grids(community: Region) -> list[Region]:
    return list(Region.objects.filter(parent=community, kind=RegionKind.GRID).order_by("code"))


def check_grids(community: Region, grids: list[Region]) -> Gap | None:
    if grids:
        return None
    return Gap(
        "community_without_grids", 1, [community.code], _grid_editor(community), [region_words(community)]
    )


def check_grid_workers(community: Region, grids: list[Region]) -> Gap | None:
    served = set(
        User.objects.filter(role=Role.GRID_WORKER, is_active=True, region__in=grids).values_list(
            "region_id", flat=True
        )
    )
    lacking = [grid for grid in grids if grid.pk not in served]
    if not lacking:
        return None
    url = _url("people:accounts:user-list", query=f"role={Role.GRID_WORKER.value}")
    return Gap("grid_without_worker", len(lacking), [g.code for g in lacking], url, _words(lacking))


def check_grid_buildings(community: Region, grids: list[Region]) -> Gap | None:
    built = set(Building.objects.filter(grid__in=grids).values_list("grid_id", flat=True))
    lacking = [grid for grid in grids if grid.pk not in built]
    if not lacking:
        return None
    where = [g.code for g in lacking]
    return Gap("grid_without_buildings", len(lacking), where, _grid_editor(community), _words(lacking))


def check_building_units(community: Region, grids: list[Region]) -> Gap | None:
    buildings = (
        Building.objects.filter(grid__in=grids)
        .exclude(Exists(Unit.objects.filter(building=OuterRef("pk"))))
        .order_by("grid__code", "name", "code")
    )
    names = list(buildings.values_list("name", flat=True))
    if not names:
        return None
    url = _url(
        "people:units-import", query=urlencode({"community": community.code}), fallback="places:grid-list"
    )
    return Gap("building_without_units", len(names), names, url, names)


def check_unit_households(community: Region, grids: list[Region]) -> Gap | None:
    units = list(
        Unit.objects.filter(building__grid__in=grids, use=UnitUse.RESIDENTIAL, households__isnull=True)
        .select_related("building")
        .order_by("building__grid__code", "building__name", "number")
    )
    if not units:
        return None
    where = [unit_words(unit, "zh-hans") for unit in units]
    words = [unit_words(unit) for unit in units]
    return Gap("unit_without_household", len(units), where, _url("people:ledger-import"), words)


def _json_contains() -> bool:
    return bool(connection.features.supports_json_field_contains)


def needing_care(community: Region):
    """Residents of the community who live here and need looking after (see the module's docstring)."""
    today = clock.today()
    old = Q(birth_date__lte=_years_before(today, CARE_AGE))
    alone = Q(is_living_alone=True, birth_date__lte=_years_before(today, ALONE_CARE_AGE))
    tagged = Q()
    for tag in CARE_TAGS:
        # SQLite has no JSON containment: there the tag is found as a quoted word of the list.
        tagged |= Q(tags__contains=[tag]) if _json_contains() else Q(tags__icontains=f'"{tag}"')
    return (
        Resident.objects.filter(household__grid__parent=community)
        .exclude(residence_status=ResidenceStatus.REGISTERED_HERE_LIVING_ELSEWHERE)
        .filter(old | alone | tagged)
    )


def check_care_profiles(community: Region, grids: list[Region]) -> Gap | None:
    without = needing_care(community).exclude(
        Exists(CareProfile.objects.filter(resident=OuterRef("pk"), is_active=True))
    )
    buildings = list(
        without.order_by("household__unit__building__grid__code", "household__unit__building__name")
        .values_list("household__unit__building__name", flat=True)
        .distinct()
    )
    count = without.count()
    if not count:
        return None
    return Gap("care_needed_without_profile", count, buildings, _url("places:grid-list"), buildings)


def check_device_places(community: Region, grids: list[Region]) -> Gap | None:
    codes = list(
        Device.objects.filter(
            community=community,
            building__isnull=True,
            unit__isnull=True,
            facility__isnull=True,
            zone__isnull=True,
        )
        .order_by("code")
        .values_list("code", flat=True)
    )
    if not codes:
        return None
    return Gap("device_without_place", len(codes), codes, _url("sensing:device-list"))


def check_matrix(community: Region, grids: list[Region]) -> Gap | None:
    if not grids:
        return None
    gaps = matrix_gaps(community)
    if not gaps:
        return None
    where = [f"{grid.code}:{category.code}" for category, grid in gaps]
    words = [
        gettext_now("%(category)s in %(grid)s")
        % {"category": _category_words(category), "grid": region_words(grid)}
        for category, grid in gaps
    ]
    url = _url("response:matrix", query=f"region={community.code}")
    return Gap("matrix_cell_without_owner", len(where), where, url, words)


def _register(community: Region) -> list[RegisterHazard]:
    """The community's hazard register, riskiest first (empty: it has none)."""
    found = list(RegisterHazard.objects.filter(community=community))
    return sorted(found, key=lambda hazard: (-hazard.risk, hazard.kind))


def _hazard_words(kind: str) -> str:
    return str(HazardKind(kind).label) if kind in HazardKind.values else kind


def community_hazards(community: Region) -> list[Hazard]:
    """The hazards a rule must cover: with a register, its sensed hazards (:data:`SENSED`) and the
    everyday ones the devices imply that no register hazard names; without one, those the devices and
    facilities imply."""
    implied = _implied_hazards(community)
    registered = _register(community)
    if not registered:
        return implied
    named = set(SENSED.values())
    sensed = [BY_CATEGORY[SENSED[hazard.kind]] for hazard in registered if hazard.kind in SENSED]
    return sensed + [hazard for hazard in implied if hazard.category not in named]


def _implied_hazards(community: Region) -> list[Hazard]:
    """The hazards the community's installed devices and its facilities imply (:data:`HAZARDS`)."""
    device_kinds = set(Device.objects.filter(community=community).values_list("kind", flat=True))
    facility_kinds = set(
        Facility.objects.filter(region__path__startswith=community.path).values_list("kind", flat=True)
    )
    return [
        hazard
        for hazard in HAZARDS
        if device_kinds & set(hazard.device_kinds) or facility_kinds & set(hazard.facility_kinds)
    ]


def covered_categories(community: Region) -> set[str]:
    """Incident categories an active rule of the community opens incidents of or watches a metric of."""
    metrics_of = {
        code: set(metrics or ()) for code, metrics in Category.objects.values_list("code", "alert_metrics")
    }
    covered: set[str] = set()
    for category, params in Rule.objects.filter(community=community, is_active=True).values_list(
        "incident_category", "params"
    ):
        if category:
            covered.add(category)
        metric = (params or {}).get("metric") if isinstance(params, dict) else None
        if metric:
            covered |= {code for code, metrics in metrics_of.items() if metric in metrics}
    return covered


def check_hazard_rules(community: Region, grids: list[Region]) -> Gap | None:
    covered = covered_categories(community)
    lacking = [hazard.category for hazard in community_hazards(community) if hazard.category not in covered]
    if not lacking:
        return None
    names = {
        category.code: _category_words(category) for category in Category.objects.filter(code__in=lacking)
    }
    words = [names.get(code, code) for code in lacking]
    return Gap("hazard_without_rule", len(lacking), lacking, _url("warning:rule-new"), words)


def hazard_cover(community: Region) -> dict[str, Any]:
    """Where the community's hazards came from and what covers each: ``{"from": "register" | "devices",
    "items": [{"hazard", "risk", "category", "device_kinds", "covered_by"}]}``. With a register, one item
    per register hazard, riskiest first (``hazard`` its code, ``risk`` likelihood × impact, ``category``
    and ``device_kinds`` its sensing counterpart or null and []); without one, one item per implied
    hazard (``hazard`` and ``category`` its incident category, ``risk`` null). ``covered_by`` is
    ``"rule"`` (an active rule covers its category), ``"plan"`` (no sensing counterpart: a current plan
    of the hazard covers it, not a rule) or null (nothing does)."""
    covered = covered_categories(community)
    registered = _register(community)
    if not registered:
        implied: list[dict[str, Any]] = [
            {
                "hazard": hazard.category,
                "risk": None,
                "category": hazard.category,
                "device_kinds": list(hazard.device_kinds),
                "covered_by": "rule" if hazard.category in covered else None,
            }
            for hazard in _implied_hazards(community)
        ]
        return {"from": "devices", "items": implied}
    planned = set(
        Plan.objects.filter(community=community, is_current=True).values_list("hazard", flat=True).distinct()
    )
    items: list[dict[str, Any]] = []
    for hazard in registered:
        category = SENSED.get(hazard.kind)
        if category is not None:
            covered_by = "rule" if category in covered else None
        else:
            covered_by = "plan" if hazard.kind in planned else None
        sensing = BY_CATEGORY[category].device_kinds if category else ()
        items.append(
            {
                "hazard": hazard.kind,
                "risk": hazard.risk,
                "category": category,
                "device_kinds": list(sensing),
                "covered_by": covered_by,
            }
        )
    return {"from": "register", "items": items}


def plan_covered(result: Readiness) -> list[str]:
    """The register's hazards a plan covers, not a rule (no sensing counterpart), by their names."""
    items = result.hazards.get("items", []) if result.hazards else []
    return [_hazard_words(item["hazard"]) for item in items if item["covered_by"] == "plan"]


def check_high_risk_plans(community: Region, grids: list[Region]) -> Gap | None:
    high = [hazard for hazard in _register(community) if hazard.risk >= register.RISK_HIGH]
    if not high:
        return None
    current = set(
        Plan.objects.filter(community=community, is_current=True, hazard__in=[h.kind for h in high])
        .values_list("hazard", "level")
        .distinct()
    )
    lacking = [(h.kind, level) for h in high for level in Level.values if (h.kind, level) not in current]
    if not lacking:
        return None
    where = [f"{kind}:{level}" for kind, level in lacking]
    words = [
        gettext_now("%(hazard)s, %(level)s") % {"hazard": _hazard_words(kind), "level": LEVEL_NAMES[level]}
        for kind, level in lacking
    ]
    return Gap("high_risk_hazard_without_plan", len(where), where, _url("emergency:plan-list"), words)


def _register_gap(what: str, found: list[RegisterHazard], url: str) -> Gap | None:
    if not found:
        return None
    kinds = [hazard.kind for hazard in found]
    return Gap(what, len(kinds), kinds, url, [_hazard_words(kind) for kind in kinds])


def check_register_review(community: Region, grids: list[Region]) -> Gap | None:
    now = clock.now()
    due = [hazard for hazard in _register(community) if register.review_due(hazard, now)]
    return _register_gap("hazard_review_overdue", due, _url("emergency:hazard-list"))


def check_shelters(community: Region, grids: list[Region]) -> Gap | None:
    exposing = [
        hazard
        for hazard in _register(community)
        if isinstance(hazard.exposure, dict) and (hazard.exposure.get("residents_in_care") or 0) > 0
    ]
    if not exposing or Shelter.objects.filter(community=community).exists():
        return None
    return _register_gap("exposed_care_without_shelter", exposing, _url("emergency:shelter-list"))


CHECKS: tuple[Callable[[Region, list[Region]], Gap | None], ...] = (
    check_grids,
    check_grid_workers,
    check_grid_buildings,
    check_building_units,
    check_unit_households,
    check_care_profiles,
    check_device_places,
    check_matrix,
    check_hazard_rules,
    check_high_risk_plans,
    check_register_review,
    check_shelters,
)
WHATS = tuple(TITLES)


def readiness(community: Region) -> Readiness:
    """Every check on ``community`` (a region of kind community), in the order of :data:`CHECKS`."""
    grids = _grids(community)
    result = Readiness(community, hazards=hazard_cover(community))
    for check in CHECKS:
        gap = check(community, grids)
        if gap is not None:
            result.missing.append(gap)
    return result


def summary(results: list[Readiness]) -> dict[str, Any]:
    """Several communities at once (``banyan readiness`` without ``--community``): the contract's keys
    over the whole installation — ``community`` null, ``ready`` when every one is, ``missing`` one entry
    per gap with the communities that have it as ``where`` and the sum of their counts — and each
    community's own object under ``communities``."""
    by_what: dict[str, Gap] = {}
    for result in results:
        for gap in result.missing:
            entry = by_what.setdefault(gap.what, Gap(gap.what, 0, []))
            entry.count += gap.count
            entry.where.append(result.community.code)
    return {
        "community": None,
        "ready": all(result.ready for result in results),
        "missing": [by_what[what].as_dict() for what in WHATS if what in by_what],
        "communities": [result.as_dict() for result in results],
    }


# --- who may see it ----------------------------------------------------------------------------------

READINESS_ACTION = Action.CHANGE_PLACES  # those who set a community up: directors, street officers, admins


def communities_for(user):
    """The communities whose readiness ``user`` may see: those in their scope, if their role may set
    places up (directors their own, street officers their street's, administrators every one)."""
    if not can(user, READINESS_ACTION):
        return Region.objects.none()
    return Region.objects.restrict(user, READINESS_ACTION).filter(kind=RegionKind.COMMUNITY).order_by("code")


def get_community_for(user, code: str) -> Region:
    """The community ``code`` if ``user`` may see its readiness; the same 404 for missing and not theirs."""
    if not can(user, READINESS_ACTION):
        raise PermissionDenied(
            gettext_now(
                "Go-live readiness is for community directors, street officers and platform administrators."
            )
        )
    community = communities_for(user).filter(code=code).first()
    if community is None:
        raise NotFound(gettext_now("No such community."))
    return community
