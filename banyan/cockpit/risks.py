"""The cockpit's risks panel (风险研判): the community's hazard register at a glance, in normal mode.

:func:`risks_state` is the ``risks`` key of the cockpit's live state (``GET /api/v1/cockpit/state`` and
the stream's first ``state``): ``None`` for a reader who may not see emergencies
(``banyan.emergency.services.may_view``), else the community's register as that reader may see it
(``banyan.emergency.hazards.register_for``) — its riskiest hazards with their risk band and what they
expose, as counts only (places, households, residents in care: never a name or a flat), and its
yearly review. The register changes seldom: the stream does not send it again; a reconnecting page
gets it in its fresh ``state``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils import translation

from banyan.core import clock
from banyan.emergency import hazards
from banyan.emergency import services as emergencies
from banyan.emergency.choices import HazardKind
from banyan.emergency.models import Hazard
from banyan.people.models import Household
from banyan.places.models import Region

SHOWN = 5  # hazards the panel lists, riskiest first


def _exposed_buildings(hazard: Hazard) -> list[int]:
    data = hazard.exposure if isinstance(hazard.exposure, dict) else {}
    return [row["id"] for row in data.get("buildings", []) if isinstance(row, dict) and "id" in row]


def _item(hazard: Hazard, households: dict[int, int], now) -> dict[str, Any]:
    data = hazard.exposure if isinstance(hazard.exposure, dict) else {}
    buildings = _exposed_buildings(hazard)
    facilities = len(data.get("facilities", []))
    band, grade = hazards.risk_band(hazard.risk)
    return {
        "id": hazard.pk,
        "kind": hazard.kind,
        "label": str(HazardKind(hazard.kind).label),
        "likelihood": hazard.likelihood,
        "impact": hazard.impact,
        "risk": hazard.risk,
        "band": band,
        "grade": grade,
        "places": facilities + len(buildings),
        "facilities": facilities,
        "buildings": len(buildings),
        "households": sum(households.get(pk, 0) for pk in buildings),
        "residents_in_care": int(data.get("residents_in_care") or 0),
        "review_due": hazards.review_due(hazard, now),
        "url": reverse("emergency:hazard-detail", kwargs={"pk": hazard.pk}),
    }


def risks_state(user, community: Region, *, language: str = "") -> dict[str, Any] | None:
    """The cockpit's risks panel for ``user`` on ``community``'s screen: ``None``, or the register's
    riskiest hazards with their exposure as counts and its review (see the module's docstring)."""
    if not emergencies.may_view(user):
        return None
    with translation.override(language or translation.get_language()):
        found = sorted(
            hazards.register_for(user).filter(community=community),
            key=lambda hazard: (-hazard.risk, hazard.kind),
        )
        shown = found[:SHOWN]
        building_ids = {pk for hazard in shown for pk in _exposed_buildings(hazard)}
        households = (
            dict(
                Household.objects.filter(unit__building_id__in=building_ids)
                .values_list("unit__building_id")
                .annotate(n=Count("id"))
            )
            if building_ids
            else {}
        )
        now = clock.now()
        due = [hazard for hazard in found if hazards.review_due(hazard, now)]
        reviewed = [hazard.reviewed_at for hazard in found if hazard.reviewed_at is not None]
        # The register is as recent as its least recently reviewed hazard; never, while one never was.
        reviewed_at = min(reviewed) if found and len(reviewed) == len(found) else None
        return {
            "community": community.code,
            "count": len(found),
            "high": sum(1 for hazard in found if hazard.risk >= hazards.RISK_HIGH),
            "high_at": hazards.RISK_HIGH,
            "hazards": [_item(hazard, households, now) for hazard in shown],
            "reviewed_at": reviewed_at.isoformat() if reviewed_at else None,
            "review_due": bool(due),
            "reviews_due": len(due),
            "url": reverse("emergency:hazard-list"),
        }
