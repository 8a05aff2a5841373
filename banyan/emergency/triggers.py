"""Plans proposed by their triggers: a government CAP warning, or a local alert.

A plan's ``body["triggers"]`` names what proposes it (see :mod:`banyan.emergency.plans`):
``{"cap": {"events": ["台风", "Typhoon"], "min_severity": "Moderate"}, "alert_rules": ["water_level",
"flooding"]}``.

- **A government warning** (:class:`~banyan.warning.models.OfficialWarning`, as ``banyan cap import`` stored
  it) proposes an emergency of a community when one of the community's current plans names its event
  (the CAP ``event`` or either headline contains a name the plan lists, case aside), its severity is at
  least the plan's ``min_severity``, and its area covers the community: a CAP polygon or circle meeting
  the community's outline, or a geocode that is the community's administrative code or a prefix of it
  (a district's code covers its communities). The level is the warning's colour: 红/橙/黄/蓝 (or
  red/orange/yellow/blue) in a headline, else the grade of its CAP severity (Extreme I … Minor IV).
  Only actual warnings in force are read (not tests, cancellations or expired ones).
- **A local alert** (active, of the community's own rules) proposes one when a current plan lists the
  alert's rule kind or its incident category; the level is the alert's grade.

Of the plans that match, the one at the warning's level is taken, else the nearest more severe one,
else the nearest less severe. :func:`sweep` runs in every worker round; proposing is idempotent (once
per warning or alert and community: :func:`banyan.emergency.services.propose`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from banyan.core import clock
from banyan.emergency import services
from banyan.emergency.choices import Trigger
from banyan.emergency.models import Emergency, Plan
from banyan.places.models import Region
from banyan.warning.choices import ACTIVE_STATUSES, GRADES_WORST_FIRST
from banyan.warning.models import Alert, OfficialWarning

# How far back a sweep looks: warnings imported and alerts raised within this window.
WINDOW = dt.timedelta(days=2)
SEVERITY_LEVEL = {"extreme": 1, "severe": 2, "moderate": 3, "minor": 4}
GRADE_LEVEL = {grade: level for level, grade in enumerate(GRADES_WORST_FIRST, start=1)}  # red → I (1)
# The warning colour in a headline: Chinese (红色预警, 橙色 …) or English words.
COLOUR_ZH = (("红", 1), ("橙", 2), ("黄", 3), ("蓝", 4))
COLOUR_EN = re.compile(r"\b(red|orange|yellow|blue)\b", re.IGNORECASE)
METRES_PER_DEGREE = 111_320.0


# --- the level of a warning ----------------------------------------------------------------------


def _headline_level(warning: OfficialWarning) -> int | None:
    zh = warning.headline_zh or ""
    for colour, level in COLOUR_ZH:
        if f"{colour}色" in zh:
            return level
    match = COLOUR_EN.search(warning.headline_en or "")
    return GRADE_LEVEL[match.group(1).lower()] if match else None


def warning_level(warning: OfficialWarning) -> int | None:
    """The emergency level a warning calls for: its colour, else its grade, else its CAP severity."""
    return (
        _headline_level(warning)
        or GRADE_LEVEL.get((warning.grade or "").lower())
        or SEVERITY_LEVEL.get((warning.severity or "").lower())
    )


# --- a warning against a plan ----------------------------------------------------------------------


def _cap_trigger(plan: Plan) -> dict[str, Any] | None:
    triggers = plan.body.get("triggers") if isinstance(plan.body, dict) else None
    cap = triggers.get("cap") if isinstance(triggers, dict) else None
    return cap if isinstance(cap, dict) else None


def names_event(plan: Plan, warning: OfficialWarning) -> bool:
    """Does the plan's CAP trigger name the warning's event, at its severity or above?"""
    cap = _cap_trigger(plan)
    if cap is None:
        return False
    names = [str(name).strip().casefold() for name in cap.get("events") or [] if str(name).strip()]
    said = " ".join([warning.event, warning.headline_zh, warning.headline_en]).casefold()
    if not any(name in said for name in names):
        return False
    least = SEVERITY_LEVEL.get(str(cap.get("min_severity") or "").lower(), 4)
    level = warning_level(warning)
    return level is not None and level <= least


def _outlines(community: Region) -> list[BaseGeometry]:
    """The community's outline, or its grids' where it has none."""
    outlines = (
        [community.boundary]
        if community.boundary
        else list(
            Region.objects.filter(parent=community).exclude(boundary=None).values_list("boundary", flat=True)
        )
    )
    found = []
    for outline in outlines:
        try:
            found.append(shape(outline))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            continue  # an outline that is not a polygon places nothing
    return found


def _near(outline: BaseGeometry, circle: dict) -> bool:
    try:
        latitude, longitude = float(circle["lat"]), float(circle["lon"])
        radius_m = float(circle["radius_km"]) * 1000
    except (KeyError, TypeError, ValueError):
        return False
    nearest = outline.exterior if hasattr(outline, "exterior") else outline
    if outline.contains(Point(longitude, latitude)):
        return True
    point = nearest.interpolate(nearest.project(Point(longitude, latitude)))
    dx = (point.x - longitude) * METRES_PER_DEGREE * math.cos(math.radians(latitude))
    dy = (point.y - latitude) * METRES_PER_DEGREE
    return math.hypot(dx, dy) <= radius_m


def covers(warning: OfficialWarning, community: Region) -> bool:
    """Does the warning's area cover the community (see the module's docstring)?"""
    outlines = _outlines(community)
    for area in warning.areas if isinstance(warning.areas, list) else []:
        if not isinstance(area, dict):
            continue
        for geocode in area.get("geocodes") or []:
            value = str(geocode[1]) if isinstance(geocode, list | tuple) and len(geocode) == 2 else ""
            if len(value) >= 6 and community.code.startswith(value):
                return True
        for polygon in area.get("polygons") or []:
            try:
                drawn = shape(polygon)
            except (ValueError, TypeError, KeyError, AttributeError, IndexError):
                continue
            if any(drawn.intersects(outline) for outline in outlines):
                return True
        for circle in area.get("circles") or []:
            if isinstance(circle, dict) and any(_near(outline, circle) for outline in outlines):
                return True
    return False


def _nearest(plans: Iterable[Plan], level: int) -> Plan | None:
    """The plan at ``level``, else the nearest more severe, else the nearest less severe."""
    ranked = sorted(plans, key=lambda p: (p.level != level, p.level > level, abs(p.level - level), p.pk))
    return ranked[0] if ranked else None


def _in_force(warning: OfficialWarning, now: dt.datetime) -> bool:
    return (
        warning.status == "Actual"
        and warning.msg_type in ("Alert", "Update")
        and (warning.expires is None or warning.expires > now)
    )


def _plans_by_community() -> dict[int, list[Plan]]:
    plans: dict[int, list[Plan]] = {}
    for plan in (
        Plan.objects.current().select_related("community").order_by("community_id", "hazard", "level")
    ):
        if isinstance(plan.body, dict) and isinstance(plan.body.get("triggers"), dict):
            plans.setdefault(plan.community_id, []).append(plan)
    return plans


def propose_for_warning(
    warning: OfficialWarning, plans: dict[int, list[Plan]] | None = None
) -> list[Emergency]:
    """Emergencies the warning proposes: one per community whose plan it triggers and which it covers."""
    now = clock.now()
    level = warning_level(warning)
    if level is None or not _in_force(warning, now):
        return []
    proposed = []
    for community_plans in (plans if plans is not None else _plans_by_community()).values():
        matching = [plan for plan in community_plans if names_event(plan, warning)]
        if not matching or not covers(warning, matching[0].community):
            continue
        if Emergency.objects.filter(community=matching[0].community, official_warning=warning).exists():
            continue  # proposed already
        chosen = _nearest(matching, level)
        assert chosen is not None
        emergency = services.propose(
            community=chosen.community,
            hazard=chosen.hazard,
            level=level,
            trigger=Trigger.CAP,
            official_warning=warning,
            plan=chosen,
        )
        if emergency is not None:
            proposed.append(emergency)
    return proposed


# --- a local alert against a plan ------------------------------------------------------------------


def names_alert(plan: Plan, alert: Alert) -> bool:
    triggers = plan.body.get("triggers") if isinstance(plan.body, dict) else None
    names = triggers.get("alert_rules") if isinstance(triggers, dict) else None
    if not isinstance(names, list):
        return False
    rule = alert.rule
    return bool({rule.kind, rule.incident_category} & {str(name) for name in names if name})


def propose_for_alert(alert: Alert, plans: dict[int, list[Plan]] | None = None) -> Emergency | None:
    level = GRADE_LEVEL.get(alert.grade)
    if level is None or alert.status not in ACTIVE_STATUSES:
        return None
    community_plans = (plans if plans is not None else _plans_by_community()).get(alert.community_id, [])
    chosen = _nearest([plan for plan in community_plans if names_alert(plan, alert)], level)
    if chosen is None:
        return None
    return services.propose(
        community=chosen.community,
        hazard=chosen.hazard,
        level=level,
        trigger=Trigger.ALERT,
        alert=alert,
        plan=chosen,
    )


# --- the worker's sweep ------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None) -> int:
    """Propose what recent warnings and alerts trigger; returns how many emergencies were proposed."""
    now = now or clock.now()
    plans = _plans_by_community()
    if not plans:
        return 0
    since = now - WINDOW
    count = 0
    for warning in OfficialWarning.objects.filter(imported_at__gte=since).order_by("imported_at", "id"):
        count += len(propose_for_warning(warning, plans))
    alerts = (
        Alert.objects.filter(status__in=ACTIVE_STATUSES, raised_at__gte=since, community_id__in=list(plans))
        .exclude(pk__in=Emergency.objects.filter(alert__isnull=False).values("alert_id"))
        .select_related("rule")
        .order_by("raised_at", "id")
    )
    for alert in alerts:
        count += propose_for_alert(alert, plans) is not None
    return count
