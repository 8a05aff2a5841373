"""The cockpit's data (map layers, live state, key figures, crowd density, an alert's panel and its
one-click dispatch, a building, the street view) and the read-only federation summary a city platform
polls."""

from __future__ import annotations

from django.utils.translation import get_language
from ninja import Field, Query, Router, Schema

from banyan.cockpit import services
from banyan.core.access import Action
from banyan.core.api import ErrorOut, require
from banyan.people.models import AuthenticatedHttpRequest
from banyan.response.services import dispatch_alert, get_incident_for
from banyan.warning.services import get_alert_for

router = Router(tags=["cockpit"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class CommunityQuery(Schema):
    community: str | None = Field(None, max_length=32, description="community code; default: your first")


class DispatchIn(Schema):
    responder: int = Field(..., description="the user id of a responder on duty (from the panel's `nearest`)")
    category: str | None = Field(None, max_length=32, description="when the alert's rule names none")


def _language() -> str:
    return get_language() or ""


def _community(request: AuthenticatedHttpRequest, query: CommunityQuery):
    require(request.user, Action.VIEW_COCKPIT)
    return services.community_for(request.user, query.community)


@router.get("/cockpit/map", response={200: dict, **ERRORS})
def map_layers(request: AuthenticatedHttpRequest, query: Query[CommunityQuery]):
    """The community's places as GeoJSON (WGS84): boundary, grids, buildings (with units, households
    and residents as counts), facilities, crowd zones, devices (kind, status, battery low). The
    walking paths come apart (``/cockpit/paths``), when the map's layer is turned on."""
    return services.map_layers(request.user, _community(request, query), language=_language())


@router.get("/cockpit/paths", response={200: dict, **ERRORS})
def walking_paths(request: AuthenticatedHttpRequest, query: Query[CommunityQuery]):
    """The community's walking graph as the map draws it: segments ``[lat, lon, lat, lon, kind,
    island]`` (kind: footway, path, steps, pedestrian, road, lift, link; island 1 where no one can walk
    to it from the graph's largest part), the lone nodes of islands, and how many islands there are."""
    return services.walking_paths(_community(request, query))


@router.get("/cockpit/state", response={200: dict, **ERRORS})
def live_state(request: AuthenticatedHttpRequest, query: Query[CommunityQuery]):
    """What changes: active alerts, open incidents with their clocks, responders (on duty, load, last
    position) and each building's counts of alerts, incidents and vulnerable residents; the active
    emergency (``emergency``) and the hazard register's riskiest hazards (``risks``, counts only). The
    live stream (``/cockpit/stream``) sends the same first, then every change."""
    return services.live_state(request.user, _community(request, query), language=_language())


@router.get("/cockpit/figures", response={200: dict, **ERRORS})
def figures(request: AuthenticatedHttpRequest, query: Query[CommunityQuery]):
    """Key figures: alerts and incidents by grade and clock, SLA compliance today and over 7 days,
    devices, vulnerable residents and when each was last checked on (masked), today's check-ins of those
    with a care plan (confirmed well, per grid, the missed ones), reports and satisfaction, alerts per
    hour over 24 h."""
    return services.figures(request.user, _community(request, query), language=_language())


@router.get("/cockpit/crowd", response={200: dict, **ERRORS})
def crowd(request: AuthenticatedHttpRequest, query: Query[CommunityQuery]):
    """Crowd density (persons/m²) per zone and hour over the last 24 h, with the grade each reaches."""
    return services.crowd(request.user, _community(request, query), language=_language())


@router.get("/cockpit/alerts/{int:alert_id}/panel", response={200: dict, **ERRORS})
def alert_panel(request: AuthenticatedHttpRequest, alert_id: int):
    """An alert's side panel: its place, the care needs there (counts), its incident, the nearest
    responders on duty by walking time."""
    require(request.user, Action.VIEW_COCKPIT)
    alert = get_alert_for(request.user, alert_id, Action.VIEW_ALERTS)
    return services.alert_panel(request.user, alert, language=_language())


@router.post("/cockpit/alerts/{int:alert_id}/dispatch", response={200: dict, **ERRORS})
def dispatch(request: AuthenticatedHttpRequest, alert_id: int, payload: DispatchIn):
    """One click: the alert's incident (opened now if it has none) goes to the chosen responder. The
    worker opening incidents for alerts and this never open two for one alert."""
    require(request.user, Action.MANAGE_INCIDENTS)
    alert = get_alert_for(request.user, alert_id, Action.VIEW_ALERTS)
    incident = dispatch_alert(
        actor=request.user, alert=alert, responder_user_id=payload.responder, category=payload.category
    )
    incident = get_incident_for(request.user, incident.pk)
    return services.incident_item(incident, now=services.clock.now(), language=_language())


@router.get("/cockpit/buildings/{int:building_id}", response={200: dict, **ERRORS})
def building(request: AuthenticatedHttpRequest, building_id: int):
    """A building's units with households, residents and care needs as counts; its alerts and incidents."""
    return services.building_detail(request.user, building_id)


@router.get("/cockpit/devices/{int:device_id}", response={200: dict, **ERRORS})
def device(request: AuthenticatedHttpRequest, device_id: int):
    """A device: kind, place, status, battery, last report and its active alerts (not whom it serves)."""
    return services.device_detail(request.user, device_id)


@router.get("/cockpit/street", response={200: dict, **ERRORS})
def street_view(request: AuthenticatedHttpRequest):
    """The street view: every community you may see on the cockpit (a street officer's street, every
    one for admins and auditors, a director's own community), each with its figures, its state (the
    worst active grade), its boundary and grids with a point for each label; the streets around them
    that lie in your scope; ``time_zone``, the community's, in which times are shown."""
    require(request.user, Action.VIEW_COCKPIT)
    return services.street_view(request.user, language=_language())


@router.get("/federation/summary", response={200: dict, **ERRORS})
def federation_summary(request: AuthenticatedHttpRequest):
    """Read-only figures of every community you may see (a street, a district): state (the worst active
    grade), active alerts, open and overdue incidents, SLA compliance, devices, vulnerable residents
    (counts), reports and satisfaction. No personal data."""
    require(request.user, Action.VIEW_FEDERATION)
    return services.federation_summary(request.user, language=_language())
