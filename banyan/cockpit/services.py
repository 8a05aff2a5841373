"""The one screen: what the cockpit draws and counts for a community, and across a street.

- :func:`map_layers` — the community's places as the map draws them (boundaries, building footprints
  with aggregates, facilities, crowd zones, devices), from Banyan's own data.
- :func:`walking_paths` — the walking graph's segments (kind, and whether they lie on an island no one
  can walk to), loaded only when the map's paths layer is turned on.
- :func:`live_state` — what changes: active alerts, open incidents with their clocks, responders'
  last positions, each building's state, the active emergency the screen leads with
  (:mod:`banyan.cockpit.emergency_mode`) and the hazard register's riskiest hazards
  (:mod:`banyan.cockpit.risks`); :func:`alert_item`, :func:`incident_item` and
  :func:`responder_item` are the same items one at a time, for the live stream.
- :func:`figures` — the key figures (alerts and incidents by grade and clock, SLA compliance,
  devices, vulnerable residents and when each was last checked on, reports and satisfaction, the
  24-hour timeline of alerts).
- :func:`crowd` — crowd density per zone (persons/m²) per hour over the last 24 hours, with grades.
- :func:`alert_panel` — the side panel of an alert (the place, the care needs there as counts, the
  nearest responders); its one-click dispatch is ``banyan.response.services.dispatch_alert``.
- :func:`building_detail` — a building's units and households as counts only.
- :func:`federation_summary` — the figures of every community a user may see
  (``/api/v1/federation/summary``, as a city platform polls it).
- :func:`street_view` — the same figures with what the street map draws and labels: each community's
  boundary and grids, and the streets around them (``/api/v1/cockpit/street``).

Personal data: no names or care details of residents leave this module; care needs are counts per
kind, shown only to roles that may see that care profiles exist (``may_see_care``). Responders are
staff on duty: their display names and positions are shown to those who may see the cockpit.
Every read is scoped (``restrict``); times come from ``core.clock``, and a day or an hour is the
community's (``settings.TIME_ZONE``), whatever the browser's clock says.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count, Max
from django.urls import reverse
from django.utils.translation import gettext as _
from shapely.geometry import shape

from banyan.care.board import care_board
from banyan.care.models import CheckIn, Visit
from banyan.care.visits import may_send_someone
from banyan.cockpit.emergency_mode import emergency_state
from banyan.cockpit.risks import risks_state
from banyan.core import clock, vault
from banyan.core.access import Action, can
from banyan.core.errors import NotFound, PermissionDenied
from banyan.people.models import CareProfile, Household, Resident, may_see_care
from banyan.places.choices import RegionKind
from banyan.places.geo import polygon_area_m2
from banyan.places.models import Building, Facility, PathEdge, PathNode, Region, Unit
from banyan.places.services import walking_parts
from banyan.response import flow
from banyan.response import services as response
from banyan.response.models import Incident, Report, Responder
from banyan.sensing.choices import DeviceStatus
from banyan.sensing.kinds import KINDS
from banyan.sensing.models import Device, Reading
from banyan.sensing.services import devices_for
from banyan.warning.choices import ACTIVE_STATUSES, GRADES_WORST_FIRST
from banyan.warning.models import Alert
from banyan.warning.services import ALERT_PLACE_RELATED, alert_place

GRADES = GRADES_WORST_FIRST
BATTERY_LOW_PCT = 20
CROWD_METRIC = "person_count"
CROWD_HOURS = 24
# Crowd density grades (persons/m²), as crowd-safety guidance grades them: ≥ 2 crowded, ≥ 4 dangerous.
CROWD_GRADES = ((5.0, "red"), (4.0, "orange"), (3.0, "yellow"), (2.0, "blue"))


def _name(region_or_place, language: str) -> str:
    name_en = getattr(region_or_place, "name_en", "")
    if language.startswith("zh") or not name_en:
        return getattr(region_or_place, "name_zh", None) or getattr(region_or_place, "name", "")
    return name_en


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def time_zone() -> ZoneInfo:
    """The community's time zone: every day and hour the cockpit counts or shows is in it."""
    return ZoneInfo(settings.TIME_ZONE)


def first_hour(now: dt.datetime) -> dt.datetime:
    """The first of the last 24 hours the charts show, on a whole hour of the community's clock."""
    return now.astimezone(time_zone()).replace(minute=0, second=0, microsecond=0) - dt.timedelta(
        hours=CROWD_HOURS - 1
    )


def label_point(polygon: dict | None) -> list[float] | None:
    """Where a region's name goes on the map: a point inside its boundary, as ``[lat, lon]``."""
    if not polygon:
        return None
    point = shape(polygon).representative_point()
    return [round(point.y, 7), round(point.x, 7)]


def _region_item(region: Region, language: str) -> dict[str, Any]:
    return {
        "code": region.code,
        "name": _name(region, language),
        "boundary": region.boundary,
        "label_point": label_point(region.boundary),
    }


# --- which community -------------------------------------------------------------------------------


def communities_for(user):
    """The communities the user may see on the cockpit, by code."""
    if not can(user, Action.VIEW_COCKPIT):
        return Region.objects.none()
    scoped = Region.objects.restrict(user, Action.VIEW_COCKPIT).filter(kind=RegionKind.COMMUNITY)
    if user.region_id is not None and not scoped.exists():
        # A grid-level account sees its community's screen.
        region = user.region
        scoped = Region.objects.filter(pk=region.parent_id, kind=RegionKind.COMMUNITY)
    return scoped.order_by("code")


def community_for(user, code: str | None = None) -> Region:
    """The community ``code`` (or the user's first) if the user may see its cockpit; else 403/404."""
    if not can(user, Action.VIEW_COCKPIT):
        raise PermissionDenied(_("Your role may not open the cockpit."))
    communities = communities_for(user)
    community = communities.filter(code=code).first() if code else communities.first()
    if community is None:
        raise NotFound(_("No such community."))
    return community


# --- the map -----------------------------------------------------------------------------------------


def _point_of_building(building: Building) -> list[float]:
    return [building.latitude, building.longitude]


def map_layers(user, community: Region, *, language: str = "") -> dict[str, Any]:
    """The community's places for the map: GeoJSON geometry (WGS84) and aggregates, no personal data.

    Devices are those ``user`` may see (``devices_for``): a home's door contacts, SOS buttons, meters
    and wearables mark who is in and who is vulnerable, so property staff and auditors see none."""
    grids = list(Region.objects.filter(parent=community, kind=RegionKind.GRID).order_by("code"))
    buildings = list(Building.objects.filter(grid__parent=community).order_by("code"))
    units = dict(Unit.objects.filter(building__in=buildings).values_list("building").annotate(n=Count("id")))
    households = dict(
        Household.objects.filter(unit__building__in=buildings)
        .values_list("unit__building")
        .annotate(n=Count("id"))
    )
    residents = dict(
        Resident.objects.filter(household__unit__building__in=buildings)
        .values_list("household__unit__building")
        .annotate(n=Count("id"))
    )
    facilities = list(Facility.objects.filter(region__path__startswith=community.path).order_by("code"))
    devices = (
        devices_for(user).filter(community=community).select_related("building", "facility", "unit__building")
    )
    return {
        "community": _region_item(community, language),
        "grids": [_region_item(g, language) for g in grids],
        "buildings": [
            {
                "id": b.pk,
                "code": b.code,
                "name": b.name,
                # False for a building an import named by its map id ("way/123") until someone names
                # it: the map labels named buildings first.
                "named": not b.source_id or b.name != b.source_id,
                "grid": b.grid_id,
                "footprint": b.footprint,
                "point": _point_of_building(b),
                "units": units.get(b.pk, 0),
                "households": households.get(b.pk, 0),
                "residents": residents.get(b.pk, 0),
            }
            for b in buildings
        ],
        "facilities": [
            {
                "id": f.pk,
                "code": f.code,
                "kind": f.kind,
                "kind_label": str(f.get_kind_display()),
                "name": _name(f, language),
                "point": [f.latitude, f.longitude],
            }
            for f in facilities
        ],
        "zones": crowd_zones(community, facilities=facilities, language=language),
        "devices": [_device_item(d) for d in devices],
    }


def _rounded(value: float) -> float:
    return round(value, 7)  # about a centimetre: enough for a map, a third shorter in JSON


def walking_paths(community: Region) -> dict[str, Any]:
    """The community's walking graph as the map draws it: each segment ``[lat, lon, lat, lon, kind,
    island]`` (``kind``: footway, path, steps, pedestrian, road, lift, link or empty; ``island``: 1 when
    it lies outside the graph's largest connected part, so that no one can walk there from the rest),
    ``island_points`` for the nodes of an island that no segment reaches, and ``islands``, the number of
    parts besides the largest (as ``/api/v1/regions/{id}/walking-graph`` counts them). No personal data:
    the caller has already loaded ``community`` through the user's scope (:func:`community_for`)."""
    parts = walking_parts(community)
    main = parts[0] if parts else set()
    edges = PathEdge.objects.filter(source__community=community).values_list(
        "source_id",
        "source__latitude",
        "source__longitude",
        "target__latitude",
        "target__longitude",
        "kind",
    )
    segments = [
        [_rounded(a), _rounded(b), _rounded(c), _rounded(d), kind, 0 if source in main else 1]
        for source, a, b, c, d, kind in edges.order_by("pk")
    ]
    lone = [node for part in parts[1:] if len(part) == 1 for node in part]
    points = PathNode.objects.filter(pk__in=lone).order_by("pk").values_list("latitude", "longitude")
    return {
        "community": community.code,
        "islands": max(len(parts) - 1, 0),
        "segments": segments,
        "island_points": [[_rounded(a), _rounded(b)] for a, b in points],
    }


def _device_point(device: Device) -> list[float] | None:
    if device.unit_id is not None:
        return _point_of_building(device.unit.building)
    if device.building_id is not None:
        return _point_of_building(device.building)
    if device.facility_id is not None:
        return [device.facility.latitude, device.facility.longitude]
    if device.zone:
        point = shape(device.zone).representative_point()
        return [point.y, point.x]
    return None


def _device_item(device: Device) -> dict[str, Any]:
    return {
        "id": device.pk,
        "code": device.code,
        "kind": device.kind,
        "status": device.status,
        "battery_low": device.battery_pct is not None and device.battery_pct < BATTERY_LOW_PCT,
        "point": _device_point(device),
    }


def crowd_zones(community: Region, *, facilities=None, language: str = "") -> list[dict[str, Any]]:
    """Zones whose crowd is counted: a facility's area, else a counting device's own zone."""
    counters = Device.objects.filter(
        community=community, kind__in=("crowd_counter", "camera")
    ).select_related("facility")
    zones: dict[str, dict[str, Any]] = {}
    for device in counters:
        if device.facility_id is not None and device.facility.area:
            key = f"facility:{device.facility_id}"
            zone = zones.setdefault(
                key,
                {
                    "key": key,
                    "name": _name(device.facility, language),
                    "area": device.facility.area,
                    "devices": [],
                },
            )
        elif device.zone:
            key = f"device:{device.pk}"
            zone = zones.setdefault(
                key, {"key": key, "name": device.code, "area": device.zone, "devices": []}
            )
        else:
            continue
        zone["devices"].append(device.pk)
    for zone in zones.values():
        zone["area_m2"] = round(polygon_area_m2(zone["area"]), 1)
    return sorted(zones.values(), key=lambda z: z["key"])


# --- what is live --------------------------------------------------------------------------------------


ALERT_RELATED = ("rule", *ALERT_PLACE_RELATED)


def alert_item(alert: Alert, *, language: str = "") -> dict[str, Any]:
    where = alert_place(alert)
    place = alert.place
    if where.building is not None:
        place = where.building.name
    elif where.facility is not None:
        place = _name(where.facility, language)
    return {
        "id": alert.pk,
        "grade": alert.grade,
        "status": alert.status,
        "rule": alert.rule.display_name,
        "subject": alert.subject,
        "place": place or alert.subject,
        "building": where.building.pk if where.building is not None else None,
        "point": where.point,
        "count": alert.count,
        "raised_at": _iso(alert.raised_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "url": f"/alerts/{alert.pk}/",
    }


INCIDENT_RELATED = ("category", "assignee", "building", "facility", "unit__building")


def incident_item(incident: Incident, *, now: dt.datetime, language: str = "") -> dict[str, Any]:
    point = None
    if incident.latitude is not None and incident.longitude is not None:
        point = [incident.latitude, incident.longitude]
    elif incident.building_id is not None:
        point = _point_of_building(incident.building)
    elif incident.facility_id is not None:
        point = [incident.facility.latitude, incident.facility.longitude]
    clocks = response.incident_clocks(incident)
    states = [clock_.state(now) for clock_ in clocks]
    return {
        "id": incident.pk,
        "grade": incident.grade,
        "status": incident.status,
        "category": incident.category.name_zh
        if language.startswith("zh")
        else (incident.category.name_en or incident.category.name_zh),
        "building": incident.building_id,
        "point": point,
        "assignee": incident.assignee.display_name if incident.assignee_id else None,
        "assignee_id": incident.assignee_id,
        "alert": incident.alert_id,
        "clock": _worst_clock(states),
        "clocks": [
            {"name": c.name, "due": _iso(c.due), "met_at": _iso(c.met_at), "state": state}
            for c, state in zip(clocks, states, strict=True)
        ],
        "created_at": _iso(incident.created_at),
        "url": f"/response/incidents/{incident.pk}/",
    }


def _worst_clock(states: list[str]) -> str:
    for state in ("missed", "late", "running"):
        if state in states:
            return state
    return "met"


def responder_item(responder: Responder, *, now: dt.datetime, on_duty: bool, load: int) -> dict[str, Any]:
    point = None
    if responder.latitude is not None and responder.longitude is not None:
        point = [responder.latitude, responder.longitude]
    return {
        "id": responder.pk,
        "user": responder.user_id,
        "name": responder.user.display_name,
        "organisation": responder.organisation.code,
        "on_duty": on_duty,
        "load": load,
        "point": point,
        "position_at": _iso(responder.position_at),
    }


def responder_items(community: Region, *, now: dt.datetime, only: list[int] | None = None) -> list[dict]:
    responders = response.responders_serving(community)
    if only is not None:
        responders = responders.filter(pk__in=only)
    responders = list(responders.order_by("pk"))
    on_duty = set(
        Responder.objects.filter(
            pk__in=[r.pk for r in responders], shifts__starts_at__lte=now, shifts__ends_at__gt=now
        ).values_list("pk", flat=True)
    )
    load = dict(
        Incident.objects.open()
        .filter(assignee__in=[r.user_id for r in responders])
        .values_list("assignee")
        .annotate(n=Count("id"))
    )
    return [
        responder_item(r, now=now, on_duty=r.pk in on_duty, load=load.get(r.user_id, 0)) for r in responders
    ]


def scoped_alerts(user, community: Region):
    return (
        Alert.objects.restrict(user)
        .filter(community=community)
        .select_related(*ALERT_RELATED)
        .order_by("-raised_at", "-id")
    )


def scoped_incidents(user, community: Region):
    return (
        Incident.objects.restrict(user, Action.VIEW_INCIDENTS)
        .filter(community=community)
        .select_related(*INCIDENT_RELATED)
        .order_by("-created_at", "-id")
    )


def building_states(user, community: Region) -> dict[int, dict[str, int]]:
    """Per building: active alerts, open incidents, vulnerable residents (counts)."""
    states: dict[int, dict[str, int]] = defaultdict(lambda: {"alerts": 0, "incidents": 0, "care": 0})
    for alert in scoped_alerts(user, community).filter(status__in=ACTIVE_STATUSES):
        building = alert_place(alert).building
        if building is not None:
            states[building.pk]["alerts"] += 1
    for building, n in (
        scoped_incidents(user, community)
        .open()
        .exclude(building=None)
        .values_list("building")
        .annotate(n=Count("id"))
    ):
        states[building]["incidents"] += n
    if may_see_care(user):
        cared = (
            CareProfile.objects.restrict(user)
            .filter(is_active=True, resident__household__unit__building__grid__parent=community)
            .values_list("resident__household__unit__building")
            .annotate(n=Count("resident", distinct=True))
        )
        for building, n in cared:
            states[building]["care"] += n
    return {pk: dict(value) for pk, value in states.items()}


def live_state(user, community: Region, *, language: str = "") -> dict[str, Any]:
    """Everything the cockpit shows that changes, as of now (also what a reconnecting browser gets)."""
    now = clock.now()
    alerts = scoped_alerts(user, community).filter(status__in=ACTIVE_STATUSES)[:500]
    incidents = scoped_incidents(user, community).open()[:500]
    return {
        "now": now.isoformat(),
        "community": community.code,
        "alerts": [alert_item(a, language=language) for a in alerts],
        "incidents": [incident_item(i, now=now, language=language) for i in incidents],
        "responders": responder_items(community, now=now),
        "buildings": building_states(user, community),
        # None, or the active emergency the screen leads with (banyan/cockpit/emergency_mode.py).
        "emergency": emergency_state(user, community, language=language),
        # None, or the hazard register's riskiest hazards for the risks panel (banyan/cockpit/risks.py).
        "risks": risks_state(user, community, language=language),
    }


# --- key figures ---------------------------------------------------------------------------------------


def _sla(incidents, now: dt.datetime) -> dict[str, Any]:
    """Share of decided clocks met in time, per clock, over ``incidents``."""
    met: Counter = Counter()
    decided: Counter = Counter()
    count = 0
    for incident in incidents:
        count += 1
        for clock_ in response.incident_clocks(incident):
            state = clock_.state(now)
            if state in ("met", "late", "missed"):
                decided[clock_.name] += 1
                met[clock_.name] += state == "met"
    return {
        "incidents": count,
        **{
            f"{name}_met_share": round(met[name] / decided[name], 4) if decided[name] else None
            for name in flow.CLOCKS
        },
    }


def last_checked(user, community: Region, *, now: dt.datetime, limit: int = 8) -> dict[str, Any]:
    """Vulnerable residents (active care profiles) and when each was last checked on: the last time a
    responder was on scene at their home, or their care device last reported, whichever is later.
    Overdue: longer ago than their profile's visit interval. Names are masked; care kinds are shown
    only to roles that may see that care profiles exist."""
    if not may_see_care(user):
        return {"shown": False}
    profiles = (
        CareProfile.objects.restrict(user)
        .filter(is_active=True, resident__household__unit__building__grid__parent=community)
        .select_related("resident__household__unit__building")
    )
    people: dict[int, dict[str, Any]] = {}
    for profile in profiles:
        resident = profile.resident
        entry = people.setdefault(
            resident.pk,
            {
                "resident": resident,
                "unit": resident.household.unit_id,
                "building": resident.household.unit.building,
                "kinds": [],
                "interval": profile.visit_interval_days,
            },
        )
        entry["kinds"].append(str(profile.get_kind_display()))
        entry["interval"] = min(entry["interval"], profile.visit_interval_days)
    visits = dict(
        Incident.objects.filter(unit_id__in={p["unit"] for p in people.values()}, on_scene_at__isnull=False)
        .values_list("unit")
        .annotate(last=Max("on_scene_at"))
    )
    devices = dict(
        Device.objects.filter(resident_id__in=list(people), last_seen_at__isnull=False)
        .values_list("resident")
        .annotate(last=Max("last_seen_at"))
    )
    # A check-in of any channel (the resident, a carer, staff) and a wellness visit are checks too.
    checkins = dict(
        CheckIn.objects.filter(resident_id__in=list(people)).values_list("resident").annotate(last=Max("at"))
    )
    visited = dict(
        Visit.objects.filter(resident_id__in=list(people)).values_list("resident").annotate(last=Max("at"))
    )
    rows = []
    for pk, entry in people.items():
        times = (visits.get(entry["unit"]), devices.get(pk), checkins.get(pk), visited.get(pk))
        seen = [t for t in times if t is not None]
        last = max(seen) if seen else None
        overdue = last is None or now - last > dt.timedelta(days=entry["interval"])
        rows.append(
            {
                "resident": pk,
                "name": vault.mask_name(entry["resident"].name),
                "building": entry["building"].name,
                "building_id": entry["building"].pk,
                "kinds": sorted(set(entry["kinds"])),
                "last_checked": _iso(last),
                "overdue": overdue,
            }
        )
    rows.sort(key=lambda r: (not r["overdue"], r["last_checked"] or ""))
    return {
        "shown": True,
        "total": len(rows),
        "overdue": sum(r["overdue"] for r in rows),
        "never": sum(r["last_checked"] is None for r in rows),
        "by_kind": dict(Counter(kind for r in rows for kind in r["kinds"]).most_common()),
        "most_overdue": rows[:limit],
    }


def care_today(user, community: Region, *, now: dt.datetime, language: str = "", limit: int = 8) -> dict:
    """Today's check-ins of the vulnerable residents (the care board, :mod:`banyan.care.board`): how many
    are confirmed well, per grid, and those missed today (masked names) — nobody sent yet first — with the
    care board's address where one click sends someone (for roles that may)."""
    if not may_see_care(user):
        return {"shown": False}
    board = care_board(user, community=community, now=now)
    return {
        "shown": True,
        "total": board.total,
        "confirmed": board.confirmed,
        "share": board.share,
        **{state: board.count(state) for state in ("overdue", "visiting", "need_help", "waiting")},
        "by_grid": [
            {
                "code": share.grid.code,
                "name": _name(share.grid, language),
                "total": share.total,
                "confirmed": share.confirmed,
                "share": share.share,
                "missed": share.overdue,
            }
            for share in board.grids
        ],
        "missed": [
            {
                "resident": row.resident.pk,
                "name": vault.mask_name(row.resident.name),
                "building": row.building.name if row.building else None,
                "building_id": row.building.pk if row.building else None,
                "due": _iso(row.due),
                "state": row.state,
                "incident": row.follow_up.incident_id if row.follow_up is not None else None,
            }
            for row in board.overdue[:limit]
        ],
        "board_url": reverse("care:board") if may_send_someone(user) else None,
    }


def figures(user, community: Region, *, language: str = "") -> dict[str, Any]:
    """The key figures of a community, as of now."""
    now = clock.now()
    today = now.astimezone(time_zone()).replace(hour=0, minute=0, second=0, microsecond=0)
    alerts = scoped_alerts(user, community)
    active = alerts.filter(status__in=ACTIVE_STATUSES)
    alerts_by = Counter(active.values_list("grade", "status"))
    incidents = scoped_incidents(user, community)
    open_items = [incident_item(i, now=now, language=language) for i in incidents.open()]
    incidents_by = Counter((i["grade"], i["clock"]) for i in open_items)
    devices = devices_for(user).filter(community=community)
    device_status = Counter(devices.values_list("status", flat=True))
    reports = Report.objects.filter(incident__in=incidents, requested_at__gte=now - dt.timedelta(days=7))
    rated = reports.exclude(rating=None)
    start = first_hour(now)
    hours = [start + dt.timedelta(hours=h) for h in range(CROWD_HOURS)]
    timeline: dict[str, list[int]] = {grade: [0] * CROWD_HOURS for grade in GRADES}
    for grade, raised in alerts.filter(raised_at__gte=start).values_list("grade", "raised_at"):
        index = int((raised - start).total_seconds() // 3600)
        if 0 <= index < CROWD_HOURS and grade in timeline:
            timeline[grade][index] += 1
    return {
        "now": now.isoformat(),
        "community": community.code,
        "alerts": {
            "active": active.count(),
            "by_grade": {
                grade: {
                    "open": alerts_by[(grade, "open")],
                    "acknowledged": alerts_by[(grade, "acknowledged")],
                }
                for grade in GRADES
            },
        },
        "incidents": {
            "open": len(open_items),
            "by_grade": {
                grade: {state: incidents_by[(grade, state)] for state in ("running", "missed", "late", "met")}
                for grade in GRADES
            },
        },
        "sla": {
            "today": _sla(incidents.filter(created_at__gte=today), now),
            "days_7": _sla(incidents.filter(created_at__gte=now - dt.timedelta(days=7)), now),
        },
        "devices": {
            "total": sum(device_status.values()),
            "online": device_status[DeviceStatus.ONLINE],
            "offline": device_status[DeviceStatus.OFFLINE],
            "maintenance": device_status[DeviceStatus.MAINTENANCE],
            "no_consent": device_status[DeviceStatus.CONSENT_WITHDRAWN],
            "battery_low": devices.filter(battery_pct__lt=BATTERY_LOW_PCT).count(),
        },
        "vulnerable": last_checked(user, community, now=now),
        "care_today": care_today(user, community, now=now, language=language),
        "reports": {
            "last_7_days": reports.count(),
            "open": reports.filter(incident__status__in=[s.value for s in flow.OPEN]).count(),
            "rated": rated.count(),
            "average_rating": round(rated.aggregate(avg=Avg("rating"))["avg"], 2) if rated.exists() else None,
        },
        "timeline": {"hours": [h.isoformat() for h in hours], "by_grade": timeline},
    }


# --- crowd density -------------------------------------------------------------------------------------


def crowd_grade(density: float) -> str | None:
    for threshold, grade in CROWD_GRADES:
        if density >= threshold:
            return grade
    return None


def crowd(user, community: Region, *, language: str = "") -> dict[str, Any]:
    """Per crowd zone and hour of the last 24 h: the highest head count its devices reported, as
    persons/m², with the grade it reaches; ``now`` holds each zone's latest density."""
    if not can(user, Action.VIEW_COCKPIT):
        raise PermissionDenied(_("Your role may not open the cockpit."))
    now = clock.now()
    start = first_hour(now)
    zones = crowd_zones(community, language=language)
    device_zone = {device: zone["key"] for zone in zones for device in zone["devices"]}
    hourly: dict[str, list[float]] = {zone["key"]: [0.0] * CROWD_HOURS for zone in zones}
    latest: dict[str, tuple[dt.datetime, float]] = {}
    readings = Reading.objects.filter(
        device_id__in=list(device_zone), metric=CROWD_METRIC, ts__gte=start, ts__lte=now
    ).values_list("device_id", "ts", "value")
    per_zone_time: dict[tuple[str, dt.datetime], float] = defaultdict(float)
    for device, ts, value in readings:
        key = device_zone[device]
        index = int((ts - start).total_seconds() // 3600)
        if 0 <= index < CROWD_HOURS:
            hourly[key][index] = max(hourly[key][index], value)
        per_zone_time[(key, ts)] = max(per_zone_time[(key, ts)], value)
    for (key, ts), value in per_zone_time.items():
        if key not in latest or ts > latest[key][0]:
            latest[key] = (ts, value)
    result = []
    for zone in zones:
        area = zone["area_m2"] or 1.0
        densities = [round(count / area, 3) for count in hourly[zone["key"]]]
        current = latest.get(zone["key"])
        density_now = round(current[1] / area, 3) if current else None
        result.append(
            {
                "key": zone["key"],
                "name": zone["name"],
                "area_m2": zone["area_m2"],
                "hourly": densities,
                "hourly_grades": [crowd_grade(d) for d in densities],
                "now": density_now,
                "now_grade": crowd_grade(density_now) if density_now is not None else None,
                "now_at": _iso(current[0]) if current else None,
            }
        )
    return {
        "hours": [(start + dt.timedelta(hours=h)).isoformat() for h in range(CROWD_HOURS)],
        "grades": [{"grade": g, "min_density": t} for t, g in CROWD_GRADES],
        "zones": result,
    }


# --- an alert's side panel, and dispatch ---------------------------------------------------------------


def care_at(user, alert: Alert) -> dict[str, Any]:
    """Residents there who need special care: at the device's unit if it has one, else its building.
    Counts and care kinds only, for roles that may see that care profiles exist."""
    if not may_see_care(user) or alert.device is None:
        return {"shown": False}
    device = alert.device
    profiles = CareProfile.objects.restrict(user).filter(is_active=True)
    if device.unit_id is not None:
        profiles, scope = profiles.filter(resident__household__unit=device.unit_id), "unit"
    elif device.building_id is not None:
        profiles, scope = profiles.filter(resident__household__unit__building=device.building_id), "building"
    else:
        return {"shown": False}
    kinds = Counter()
    residents = set()
    for profile in profiles:
        kinds[str(profile.get_kind_display())] += 1
        residents.add(profile.resident_id)
    return {"shown": True, "scope": scope, "residents": len(residents), "kinds": dict(kinds.most_common())}


def alert_panel(user, alert: Alert, *, language: str = "") -> dict[str, Any]:
    """The place, the care needs there, the incident (if one is open) and the nearest responders."""
    now = clock.now()
    incident = (
        Incident.objects.restrict(user, Action.VIEW_INCIDENTS)
        .select_related(*INCIDENT_RELATED)
        .filter(alert=alert)
        .order_by("-created_at")
        .first()
    )
    nearest = response.nearest_responders(alert.community, alert_place(alert).for_walking(), limit=5)
    category = alert.rule.incident_category
    return {
        "alert": alert_item(alert, language=language),
        "care": care_at(user, alert),
        "incident": incident_item(incident, now=now, language=language) if incident else None,
        "category": category or None,
        "may_dispatch": can(user, Action.MANAGE_INCIDENTS),
        "nearest": [
            {
                "user": r["responder"].user_id,
                "name": r["responder"].user.display_name,
                "organisation": r["responder"].organisation.code,
                "walk_s": None if r["walk_s"] is None else round(r["walk_s"]),
                "load": r["load"],
                "capacity": r["responder"].capacity,
            }
            for r in nearest
        ],
    }


# --- a building ---------------------------------------------------------------------------------------


def building_detail(user, pk) -> dict[str, Any]:
    """A building's units with households and residents as counts (and care needs as counts, for
    roles that may see them); its open alerts and incidents."""
    if not can(user, Action.VIEW_COCKPIT):
        raise PermissionDenied(_("Your role may not open the cockpit."))
    building = Building.objects.restrict(user).select_related("grid__parent").filter(pk=pk).first()
    if building is None:
        raise NotFound(_("No such building."))
    units = list(Unit.objects.filter(building=building).order_by("number"))
    households = dict(Household.objects.filter(unit__in=units).values_list("unit").annotate(n=Count("id")))
    residents = dict(
        Resident.objects.filter(household__unit__in=units)
        .values_list("household__unit")
        .annotate(n=Count("id"))
    )
    care: dict[int, int] = {}
    if may_see_care(user):
        care = dict(
            CareProfile.objects.restrict(user)
            .filter(is_active=True, resident__household__unit__in=units)
            .values_list("resident__household__unit")
            .annotate(n=Count("resident", distinct=True))
        )
    now = clock.now()
    community = building.grid.parent
    alerts = [
        alert_item(a)
        for a in scoped_alerts(user, community).filter(status__in=ACTIVE_STATUSES)
        if alert_place(a).building == building
    ]
    incidents = [
        incident_item(i, now=now) for i in scoped_incidents(user, community).open().filter(building=building)
    ]
    return {
        "id": building.pk,
        "code": building.code,
        "name": building.name,
        "url": f"/places/buildings/{building.pk}/",
        "care_shown": may_see_care(user),
        "units": [
            {
                "id": u.pk,
                "number": u.number,
                "households": households.get(u.pk, 0),
                "residents": residents.get(u.pk, 0),
                "care": care.get(u.pk, 0),
            }
            for u in units
        ],
        "alerts": alerts,
        "incidents": incidents,
    }


# --- a device -------------------------------------------------------------------------------------------


def device_detail(user, pk) -> dict[str, Any]:
    """A device: what it is, where, its status, battery and last report, and its active alerts. Not
    whom it serves, and not its readings (a wearable's are health data)."""

    if not can(user, Action.VIEW_COCKPIT):
        raise PermissionDenied(_("Your role may not open the cockpit."))
    device = (  # a home's devices only for the roles that may see them (sensing's scope)
        devices_for(user)
        .select_related("building", "unit__building", "facility", "grid")
        .filter(pk=pk)
        .first()
    )
    if device is None:
        raise NotFound(_("No such device."))
    kind = KINDS.get(device.kind)
    building = device.unit.building if device.unit_id else device.building
    alerts = [
        alert_item(a)
        for a in Alert.objects.restrict(user)
        .filter(device=device, status__in=ACTIVE_STATUSES)
        .select_related(*ALERT_RELATED)
    ]
    return {
        "id": device.pk,
        "code": device.code,
        "kind": device.kind,
        "kind_label": str(kind.label) if kind else device.kind,
        "status": device.status,
        "status_label": str(device.get_status_display()),
        "battery_pct": device.battery_pct,
        "last_seen_at": _iso(device.last_seen_at),
        "place": building.name if building else (_name(device.facility, "") if device.facility_id else ""),
        "building_id": building.pk if building else None,
        "grid": device.grid.code,
        "alerts": alerts,
    }


# --- across communities -----------------------------------------------------------------------------


def community_summary(user, community: Region, *, language: str = "") -> dict[str, Any]:
    data = figures(user, community, language=language)
    vulnerable = data["vulnerable"]
    active = data["alerts"]["by_grade"]
    worst = next((g for g in GRADES if active[g]["open"] + active[g]["acknowledged"]), None)
    return {
        "code": community.code,
        "name": _name(community, language),
        "boundary": community.boundary,
        "state": worst or "calm",
        "alerts_active": data["alerts"]["active"],
        "alerts_by_grade": {g: active[g]["open"] + active[g]["acknowledged"] for g in GRADES},
        "incidents_open": data["incidents"]["open"],
        "incidents_missed": sum(v["missed"] for v in data["incidents"]["by_grade"].values()),
        "sla_today": data["sla"]["today"],
        "sla_7_days": data["sla"]["days_7"],
        "devices": data["devices"],
        "vulnerable": {k: vulnerable[k] for k in ("total", "overdue", "never")}
        if vulnerable["shown"]
        else None,
        "reports": data["reports"],
    }


def _summaries(user, communities, *, language: str) -> dict[str, Any]:
    summaries = [community_summary(user, c, language=language) for c in communities]
    totals = {
        "communities": len(summaries),
        "alerts_active": sum(c["alerts_active"] for c in summaries),
        "incidents_open": sum(c["incidents_open"] for c in summaries),
        "incidents_missed": sum(c["incidents_missed"] for c in summaries),
        "devices_offline": sum(c["devices"]["offline"] for c in summaries),
    }
    return {"generated_at": clock.now().isoformat(), "totals": totals, "communities": summaries}


def federation_summary(user, *, language: str = "") -> dict[str, Any]:
    """Every community the user may see, with its figures and its state (the worst active grade)."""
    if not can(user, Action.VIEW_FEDERATION) and not can(user, Action.VIEW_COCKPIT):
        raise PermissionDenied(_("Your role may not see figures across communities."))
    return _summaries(user, communities_for(user), language=language)


def street_view(user, *, language: str = "") -> dict[str, Any]:
    """The street view: every community the user may see on the cockpit, with its figures, state,
    boundary and grids (each with a point for its label), and the streets they lie in.

    Scope is the cockpit's: a street officer sees the communities of their street, admins and auditors
    every one, a community director her own community only (``whole_street`` is false). A street is
    drawn only if it lies in the user's scope, so a director sees no street outline nor any other
    community. ``time_zone`` is the community's, in which the page shows every time."""
    if not can(user, Action.VIEW_COCKPIT):
        raise PermissionDenied(street_refusal())
    communities = list(communities_for(user))
    data = _summaries(user, communities, language=language)
    grids: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for grid in Region.objects.filter(parent__in=communities, kind=RegionKind.GRID).order_by("code"):
        grids[grid.parent_id].append(_region_item(grid, language))
    parents = {c.code: c.parent_id for c in communities}
    for community, summary in zip(communities, data["communities"], strict=True):
        summary["label_point"] = label_point(community.boundary)
        summary["grids"] = grids[community.pk]
    streets = (
        Region.objects.restrict(user, Action.VIEW_COCKPIT)
        .filter(kind=RegionKind.STREET, pk__in=set(parents.values()))
        .order_by("code")
    )
    street_codes = {s.pk: s.code for s in streets}
    for summary in data["communities"]:
        summary["street"] = street_codes.get(parents[summary["code"]])
    return {
        **data,
        "time_zone": settings.TIME_ZONE,
        "whole_street": can(user, Action.VIEW_FEDERATION),
        "streets": [_region_item(s, language) for s in streets],
    }


def street_refusal() -> str:
    """Why a role may not open the street view, and who may (a 403's text)."""
    return _(
        "The street view is for street officers, community directors (their own community), auditors "
        "and platform administrators."
    )
