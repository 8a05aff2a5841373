"""The cockpit's emergency mode: while an emergency of the community is active, the screen leads with it.

:func:`emergency_state` is the ``emergency`` key of the cockpit's live state (``GET
/api/v1/cockpit/state`` and the stream's first ``state``; the stream sends it again as an
``emergency`` event whenever it changes): ``None`` while no emergency of the community is active in
the reader's scope, else the most severe one (level I first; of one level, the one activated first)
with what its board shows, as counts —

- its checklist tasks by state (to do, late, done, cancelled);
- its roll call (the open one, else the last): asked, safe, need help, unaccounted, and of the
  unaccounted the vulnerable households — no names: those are on the board, for the roles that may
  see them (``banyan.emergency.rollcall.services.may_see_names``);
- the shelters open for it (occupied and capacity) and the community's stocks that are low;
- the open incidents in its area by status (``banyan.emergency.services.incidents_in_area``);
- the last entries of its timeline;

and the other active ones (``others``), each with a link to its board. Everything is read through the
reader's scope; time comes from ``core.clock``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils import translation

from banyan.core import clock
from banyan.emergency import services as emergencies
from banyan.emergency.choices import LEVEL_GRADE, EmergencyStatus
from banyan.emergency.forms_board import LEVEL_NAMES
from banyan.emergency.models import Emergency, TimelineEntry
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.shelters.models import Shelter, Stock
from banyan.places.models import Region
from banyan.response.flow import Status
from banyan.response.models import StatusChoices

TIMELINE_SHOWN = 10
OTHERS_SHOWN = 10
LOW_STOCKS_SHOWN = 10
# The open states of an incident, in the order of its life.
INCIDENT_STATES = (Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.ON_SCENE)


def _name(region_or_place, language: str) -> str:
    name_en = getattr(region_or_place, "name_en", "")
    if language.startswith("zh") or not name_en:
        return region_or_place.name_zh
    return name_en


def active_emergencies(user, community: Region) -> list[Emergency]:
    """The active emergencies of ``community`` that ``user`` may see, the most severe first."""
    if not emergencies.may_view(user):
        return []
    return list(
        emergencies.emergencies_for(user)
        .filter(community=community, status=EmergencyStatus.ACTIVE)
        .order_by("level", "activated_at", "id")
    )


def _heading(emergency: Emergency) -> dict[str, Any]:
    return {
        "id": emergency.pk,
        "title": emergency.title,
        "hazard": emergency.hazard,
        "hazard_label": str(emergency.get_hazard_display()),
        "level": emergency.level,
        "level_name": str(LEVEL_NAMES.get(emergency.level, emergency.level)),
        "grade": LEVEL_GRADE.get(emergency.level, ""),
        "url": reverse("emergency:board", kwargs={"pk": emergency.pk}),
    }


def _roll_call(emergency: Emergency) -> dict[str, Any] | None:
    roll_call = rollcall.open_roll_call(emergency) or rollcall.latest_roll_call(emergency)
    if roll_call is None:
        return None
    counts = rollcall.counts(roll_call)
    return {
        "started_at": roll_call.started_at.isoformat(),
        "open": roll_call.closed_at is None,
        "asked": counts.asked,
        "safe": counts.safe,
        "need_help": counts.need_help,
        "accounted_by_visit": counts.accounted,
        "unaccounted": counts.unaccounted,
        "vulnerable": counts.vulnerable,
        "vulnerable_unaccounted": counts.vulnerable - counts.vulnerable_accounted,
        # The households still unaccounted for are listed there, named for the roles that may see them.
        "url": reverse("emergency:rollcall", kwargs={"pk": emergency.pk}),
    }


def _shelters(user, emergency: Emergency, language: str) -> dict[str, Any]:
    shelters = list(
        Shelter.objects.restrict(user)
        .filter(opened_for=emergency, is_open=True)
        .select_related("facility")
        .order_by("facility__code")
    )
    return {
        "open": len(shelters),
        "occupied": sum(s.occupied for s in shelters),
        "capacity": sum(s.capacity for s in shelters),
        "items": [
            {"id": s.pk, "name": _name(s.facility, language), "occupied": s.occupied, "capacity": s.capacity}
            for s in shelters
        ],
    }


def _low_stocks(user, emergency: Emergency, language: str) -> dict[str, Any]:
    stocks = (
        Stock.objects.restrict(user)
        .filter(community_id=emergency.community_id)
        .low()
        .select_related("place")
        .order_by("place__code", "kind")
    )
    rows = list(stocks[: LOW_STOCKS_SHOWN + 1])
    return {
        "count": len(rows) if len(rows) <= LOW_STOCKS_SHOWN else stocks.count(),
        "items": [
            {
                "kind": s.kind,
                "kind_label": str(s.get_kind_display()),
                "place": _name(s.place, language),
                "quantity": s.quantity,
                "low_at": s.low_at,
                "unit_label": str(s.get_unit_display()),
            }
            for s in rows[:LOW_STOCKS_SHOWN]
        ],
    }


def _incidents(user, emergency: Emergency) -> dict[str, Any]:
    found = dict(
        emergencies.incidents_in_area(user, emergency)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    labels = dict(StatusChoices.choices)
    return {
        "open": sum(found.values()),
        "by_status": [
            {"status": state.value, "label": str(labels[state.value]), "count": found.get(state.value, 0)}
            for state in INCIDENT_STATES
        ],
    }


def _detail(entry: TimelineEntry) -> str:
    """ "二级（橙色） → 一级（红色）" for a level change, else nothing."""
    details = entry.details if isinstance(entry.details, dict) else {}
    before, after = LEVEL_NAMES.get(details.get("from", 0)), LEVEL_NAMES.get(details.get("to", 0))
    return f"{before} → {after}" if before and after else ""


def _timeline(emergency: Emergency) -> list[dict[str, Any]]:
    entries = list(TimelineEntry.objects.filter(emergency=emergency).order_by("-at", "-id")[:TIMELINE_SHOWN])
    return [
        {"at": e.at.isoformat(), "kind": e.kind, "label": str(e.get_kind_display()), "detail": _detail(e)}
        for e in entries
    ]


def _minutes_since(start: dt.datetime | None, now: dt.datetime) -> int | None:
    return None if start is None else max(int((now - start).total_seconds() // 60), 0)


def emergency_state(user, community: Region, *, language: str = "") -> dict[str, Any] | None:
    """The cockpit's emergency mode for ``user`` on ``community``'s screen: ``None``, or the most
    severe active emergency with its figures (counts only) and the others (see the module's docstring)."""
    with translation.override(language or translation.get_language()):
        active = active_emergencies(user, community)
        if not active:
            return None
        emergency, others = active[0], active[1:]
        now = clock.now()
        tasks = emergencies.task_counts(emergencies.tasks_for(user, emergency), now)
        return {
            **_heading(emergency),
            "community": community.code,
            "community_name": _name(community, language),
            "activated_at": emergency.activated_at.isoformat() if emergency.activated_at else None,
            "minutes_since_activation": _minutes_since(emergency.activated_at, now),
            "tasks": {
                "open": tasks.open,
                "late": tasks.late,
                "done": tasks.done,
                "cancelled": tasks.cancelled,
            },
            "roll_call": _roll_call(emergency),
            "shelters": _shelters(user, emergency, language),
            "low_stocks": _low_stocks(user, emergency, language),
            "incidents": _incidents(user, emergency),
            "timeline": _timeline(emergency),
            "others": [_heading(other) for other in others[:OTHERS_SHOWN]],
        }
