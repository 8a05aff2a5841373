"""The warnings that concern a person's area, as everyone may read them (the ``/warnings/`` page and
the resident's home page): official warnings whose CAP area reaches the person's area, and the
area-wide alerts of the community's own sensors.

A person's area: a resident's is her household's community (her grid and building are named "near
you"); a staff member's is the region they serve; platform administrators and auditors see every
community. Alerts about a person are never among these warnings, whoever reads them: only alerts of
communal devices (installed in no home, serving no one, reporting no health data) and of place rules,
and neither the rules of care (a fall, a heart rate, an SOS, a home's water meter or door) nor a
device's own offline notice. Staff find every alert of their scope on the alert pages.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.db.models import Q, QuerySet
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from banyan.core.access import UNSCOPED_ROLES, Actor
from banyan.core.choices import Role
from banyan.places.models import Building, Region
from banyan.sensing.kinds import KINDS
from banyan.warning.choices import ACTIVE_STATUSES, severity, severity_expression
from banyan.warning.models import Alert, OfficialWarning
from banyan.warning.services import ALERT_PLACE_RELATED

# Incident categories of rules about one person's health or home: never shown as area warnings.
PERSONAL_CATEGORIES = frozenset({"fall_medical", "wellness_check"})
# Rule kinds that tell the staff about the devices themselves, not about a danger to residents.
MAINTENANCE_RULE_KINDS = frozenset({"offline"})
# Device kinds that report health data (wearables): their alerts are about a person.
HEALTH_DEVICE_KINDS = frozenset(code for code, kind in KINDS.items() if kind.health_data)
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Area:
    """Where a person's warnings come from: ``regions`` (subtrees), or ``everywhere``; for a resident
    also her household's grid and building."""

    regions: tuple[Region, ...] = ()
    everywhere: bool = False
    home_grid: Region | None = None
    home_building: Building | None = None
    boundaries: list[BaseGeometry] = field(default_factory=list, compare=False)

    @property
    def is_empty(self) -> bool:
        return not self.everywhere and not self.regions


def _household_of(user: Actor):
    resident = getattr(user, "resident", None)
    return getattr(resident, "household", None) if resident is not None else None


def area_for(user: Actor) -> Area:
    """The area whose warnings concern ``user`` (see the module's docstring)."""
    if user.role in UNSCOPED_ROLES:
        return Area(everywhere=True)
    household = _household_of(user) if user.role == Role.RESIDENT else None
    if household is not None and household.grid is not None:
        grid = household.grid
        community = grid.parent if grid.parent is not None else grid
        building = household.unit.building if household.unit is not None else None
        return Area((community,), home_grid=grid, home_building=building, boundaries=_boundaries([community]))
    region = getattr(user, "region", None) if user.region_id is not None else None
    if region is None:
        return Area()
    return Area((region,), boundaries=_boundaries([region]))


def _boundaries(regions: Iterable[Region]) -> list[BaseGeometry]:
    """The regions' outlines; a region drawn without one stands for the outlines below it."""
    found: list[BaseGeometry] = []
    for region in regions:
        outlines = (
            [region.boundary]
            if region.boundary
            else list(
                Region.objects.filter(path__startswith=region.path)
                .exclude(boundary=None)
                .values_list("boundary", flat=True)[:500]
            )
        )
        for outline in outlines:
            try:
                found.append(shape(outline))
            except (ValueError, TypeError, KeyError, AttributeError, IndexError):
                continue  # a boundary that is not a polygon says nothing
    return found


# --- alerts -----------------------------------------------------------------------------------------


def area_alerts(area: Area) -> QuerySet[Alert]:
    """The active area-wide alerts of ``area``: the most severe first, then the newest."""
    if area.is_empty:
        return Alert.objects.none()
    alerts = (
        Alert.objects.filter(status__in=ACTIVE_STATUSES)
        .filter(Q(device__isnull=True) | Q(device__unit__isnull=True, device__resident__isnull=True))
        .exclude(device__kind__in=HEALTH_DEVICE_KINDS)
        .exclude(rule__kind__in=MAINTENANCE_RULE_KINDS)
        .exclude(rule__incident_category__in=PERSONAL_CATEGORIES)
    )
    if not area.everywhere:
        within = Q()
        for region in area.regions:
            within |= Alert.objects.all().region_q(region)
        alerts = alerts.filter(within)
    return (
        alerts.select_related("rule", "community", *ALERT_PLACE_RELATED)
        .annotate(grade_rank=severity_expression())
        .order_by("-grade_rank", "-raised_at", "-id")
    )


# --- official warnings --------------------------------------------------------------------------------


def _local(geometry: BaseGeometry, latitude: float, longitude: float) -> BaseGeometry:
    """``geometry`` in metres around (``latitude``, ``longitude``): near enough for a city's scale."""
    scale_x = METRES_PER_DEGREE * math.cos(math.radians(latitude))

    def project(coordinates: Any) -> Any:  # an (n, 2) array of longitude, latitude
        return (coordinates - (longitude, latitude)) * (scale_x, METRES_PER_DEGREE)

    return shapely.transform(geometry, project)


def _shapes(warning: OfficialWarning) -> tuple[list[BaseGeometry], list[dict[str, Any]]]:
    polygons: list[BaseGeometry] = []
    circles: list[dict[str, Any]] = []
    for area in warning.areas if isinstance(warning.areas, list) else []:
        if not isinstance(area, dict):
            continue
        for polygon in area.get("polygons") or []:
            try:
                polygons.append(shape(polygon))
            except (ValueError, TypeError, KeyError, AttributeError, IndexError):
                continue
        circles += [c for c in area.get("circles") or [] if isinstance(c, dict)]
    return polygons, circles


def concerns(warning: OfficialWarning, area: Area) -> bool:
    """Does the warning's area reach ``area``? A warning with no shape (only place names or codes),
    or an area without an outline, cannot be placed: it concerns everyone who may read it, as the
    agency sent it to this community's feed."""
    if area.everywhere:
        return True
    if area.is_empty:
        return False
    polygons, circles = _shapes(warning)
    if (not polygons and not circles) or not area.boundaries:
        return True
    for boundary in area.boundaries:
        if any(polygon.intersects(boundary) for polygon in polygons):
            return True
        for circle in circles:
            try:
                latitude, longitude = float(circle["lat"]), float(circle["lon"])
                radius_m = float(circle["radius_km"]) * 1000
            except (KeyError, TypeError, ValueError):
                continue
            if Point(0, 0).distance(_local(boundary, latitude, longitude)) <= radius_m:
                return True
    return False


def concerning(warnings: Iterable[OfficialWarning], area: Area) -> list[OfficialWarning]:
    """The warnings that concern ``area``: the most severe first, then the newest."""
    chosen = [warning for warning in warnings if concerns(warning, area)]
    chosen.sort(key=lambda w: (severity(w.grade), w.sent, w.pk), reverse=True)
    return chosen
