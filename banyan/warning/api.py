"""Warning rules, alerts (list, detail, acknowledge, resolve, CAP) and imported official warnings."""

import json

from django.db.models import Q
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from banyan.core import clock
from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.errors import InvalidInput
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places.services import get_region_by_code_for
from banyan.warning import services
from banyan.warning.cap import CAP_MEDIA_TYPE, build_cap
from banyan.warning.choices import ACTIVE_STATUSES
from banyan.warning.models import Alert, OfficialWarning, Rule
from banyan.warning.schemas import (
    RULE_BYTES,
    AlertFilter,
    AlertList,
    AlertOut,
    OfficialWarningFilter,
    OfficialWarningList,
    ResolveIn,
    RuleFilter,
    RuleIn,
    RuleList,
    RuleOut,
    RulePatch,
)

router = Router(tags=["warning"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def rule_data(request: AuthenticatedHttpRequest, payload, *, exclude_unset: bool = False) -> dict:
    """The validated named fields plus the kind's settings, which the schema does not list: those are
    passed on as sent and checked by the engine's ``parse_rule`` (which names any field it refuses)."""
    if len(request.body) > RULE_BYTES:
        raise InvalidInput(_("A rule is at most %(bytes)d bytes of JSON.") % {"bytes": RULE_BYTES})
    body = json.loads(request.body)  # Ninja has parsed it already: it is a JSON object
    data = {key: value for key, value in body.items() if key not in type(payload).model_fields}
    data.update(payload.model_dump(exclude_unset=exclude_unset))
    return data


@router.get("/rules", response={200: RuleList, **ERRORS})
def list_rules(request: AuthenticatedHttpRequest, filters: Query[RuleFilter]):
    """Warning rules of the communities you work in."""
    require(request.user, Action.VIEW_ALERTS)
    rules = Rule.objects.restrict(request.user).select_related("community")
    if filters.kind:
        rules = rules.filter(kind=filters.kind)
    if filters.community:
        rules = rules.filter(community__code=filters.community)
    if filters.is_active is not None:
        rules = rules.filter(is_active=filters.is_active)
    count, items = page(rules, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.post("/rules", response={201: RuleOut, **ERRORS})
def create_rule(request: AuthenticatedHttpRequest, payload: RuleIn):
    """A rule is the engine's rule dict: ``kind``, ``grade`` and the kind's settings (see ADR 0005),
    with ``name`` and, when you work in more than one community, ``community``. A setting the kind
    does not take, or a value it cannot use, is refused with the field named."""
    require(request.user, Action.CHANGE_RULES)
    rule = services.create_rule(actor=request.user, data=rule_data(request, payload))
    return Status(201, services.get_rule_for(request.user, rule.pk))


@router.get("/rules/{int:rule_id}", response={200: RuleOut, **ERRORS})
def get_rule(request: AuthenticatedHttpRequest, rule_id: int):
    require(request.user, Action.VIEW_ALERTS)
    return services.get_rule_for(request.user, rule_id)


@router.patch("/rules/{int:rule_id}", response={200: RuleOut, **ERRORS})
def update_rule(request: AuthenticatedHttpRequest, rule_id: int, payload: RulePatch):
    require(request.user, Action.CHANGE_RULES)
    rule = services.get_rule_for(request.user, rule_id, Action.CHANGE_RULES)
    services.update_rule(actor=request.user, rule=rule, data=rule_data(request, payload, exclude_unset=True))
    return services.get_rule_for(request.user, rule_id)


def _alerts(user, action=Action.VIEW_ALERTS):
    return Alert.objects.restrict(user, action).select_related(
        "rule", "community", "grid", "device", "facility", "acknowledged_by", "resolved_by"
    )


@router.get("/alerts", response={200: AlertList, **ERRORS})
def list_alerts(request: AuthenticatedHttpRequest, filters: Query[AlertFilter]):
    """Alerts in your scope, newest first. ``status=active`` means open or acknowledged."""
    require(request.user, Action.VIEW_ALERTS)
    alerts = _alerts(request.user)
    if filters.status == "active":
        alerts = alerts.filter(status__in=ACTIVE_STATUSES)
    elif filters.status:
        alerts = alerts.filter(status=filters.status)
    if filters.grade:
        alerts = alerts.filter(grade=filters.grade)
    if filters.rule is not None:
        alerts = alerts.filter(rule_id=filters.rule)
    if filters.grid:
        region = get_region_by_code_for(request.user, filters.grid)
        alerts = alerts.filter(Q(grid__path__startswith=region.path))
    if filters.since:
        alerts = alerts.filter(raised_at__gte=filters.since)
    count, items = page(alerts, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/alerts/{int:alert_id}", response={200: AlertOut, **ERRORS})
def get_alert(request: AuthenticatedHttpRequest, alert_id: int):
    require(request.user, Action.VIEW_ALERTS)
    return services.get_alert_for(request.user, alert_id)


@router.post("/alerts/{int:alert_id}/acknowledge", response={200: AlertOut, **ERRORS})
def acknowledge_alert(request: AuthenticatedHttpRequest, alert_id: int):
    """You have seen the alert and are on it: escalation stops."""
    require(request.user, Action.HANDLE_ALERTS)
    alert = services.get_alert_for(request.user, alert_id, Action.HANDLE_ALERTS)
    services.acknowledge_alert(actor=request.user, alert=alert)
    return services.get_alert_for(request.user, alert_id)


@router.post("/alerts/{int:alert_id}/resolve", response={200: AlertOut, **ERRORS})
def resolve_alert(request: AuthenticatedHttpRequest, alert_id: int, payload: ResolveIn):
    """Close the alert, saying in ``note`` what was found and done; its open incident is resolved too
    (``incident="resolve"``, the default) or kept open (``"keep"``, with ``incident_reason``)."""
    require(request.user, Action.HANDLE_ALERTS)
    alert = services.get_alert_for(request.user, alert_id, Action.HANDLE_ALERTS)
    services.resolve_alert(
        actor=request.user,
        alert=alert,
        note=payload.note,
        incident=payload.incident,
        incident_reason=payload.incident_reason,
    )
    return services.get_alert_for(request.user, alert_id)


@router.get("/alerts/{int:alert_id}/cap", response={200: None, **ERRORS})
def alert_cap(request: AuthenticatedHttpRequest, alert_id: int):
    """The alert as a CAP 1.2 message (``application/cap+xml``): scope Restricted, zh-CN and en info."""
    require(request.user, Action.VIEW_ALERTS)
    alert = services.get_alert_for(request.user, alert_id)
    return HttpResponse(
        build_cap(services.cap_for_alert(alert)), content_type=f"{CAP_MEDIA_TYPE}; charset=utf-8"
    )


@router.get("/official-warnings", response={200: OfficialWarningList, **ERRORS})
def list_official_warnings(request: AuthenticatedHttpRequest, filters: Query[OfficialWarningFilter]):
    """Warnings imported from government CAP feeds (public information: every signed-in user)."""
    warnings = OfficialWarning.objects.all()
    if filters.current:
        warnings = warnings.filter(Q(expires__isnull=True) | Q(expires__gt=clock.now()))
    count, items = page(warnings, filters.limit, filters.offset)
    return {"count": count, "items": items}
