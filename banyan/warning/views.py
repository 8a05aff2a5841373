"""Alert pages for staff (list, detail, acknowledge, resolve), official warning pages, and the Atom
feed of current alerts for feed readers and partner systems (sign-in or bearer token)."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.access import Action, can, revealable_fields
from banyan.core.errors import InvalidInput
from banyan.core.views import service_errors
from banyan.people.auth import user_for_token
from banyan.people.models import AuthenticatedHttpRequest
from banyan.warning import areas, services
from banyan.warning.cap import atom_feed
from banyan.warning.choices import ACTIVE_STATUSES, AlertStatus, severity, severity_expression
from banyan.warning.forms import ACTIVE, ANY, AlertFilterForm, CallForm, ResolveForm
from banyan.warning.models import Alert, OfficialWarning

FEED_LIMIT = 200


def _user(request: HttpRequest):
    if getattr(request.user, "is_authenticated", False):
        return request.user
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return user_for_token(token.strip())
    return None


@require_GET
def alerts_atom(request: HttpRequest) -> HttpResponse:
    """Open and acknowledged alerts in your scope, newest first, each linking to its CAP message."""
    user = _user(request)
    if user is None:
        body = {"detail": _("Sign in, or send Authorization: Bearer <token>."), "code": "unauthorized"}
        return JsonResponse(body, status=401)
    if not can(user, Action.VIEW_ALERTS):
        return JsonResponse({"detail": _("Your role may not see alerts."), "code": "forbidden"}, status=403)
    alerts = list(
        Alert.objects.restrict(user)
        .filter(status__in=ACTIVE_STATUSES)
        .select_related("rule", "community", "grid", "device", "facility")[:FEED_LIMIT]
    )
    caps = [services.cap_for_alert(alert) for alert in alerts]
    links = {
        cap.identifier: request.build_absolute_uri(f"/api/v1/alerts/{alert.pk}/cap")
        for cap, alert in zip(caps, alerts, strict=True)
    }
    feed = atom_feed(
        caps,
        feed_id=request.build_absolute_uri(request.path),
        title="Banyan alerts",
        updated=max((cap.sent for cap in caps), default=clock.now()),
        self_url=request.build_absolute_uri(request.get_full_path()),
        link_for=lambda cap: links[cap.identifier],
        language=request.LANGUAGE_CODE if hasattr(request, "LANGUAGE_CODE") else None,
    )
    return HttpResponse(feed, content_type="application/atom+xml; charset=utf-8")


# --- pages -----------------------------------------------------------------------------------
# Staff pages for local alerts, with the official warnings in force beside them. Every alert is
# loaded through ``restrict`` (the list) or ``services.get_alert_for`` (a detail: the same 404 for
# "missing" and "not yours"); acknowledging and resolving are the services' (STYLE 3). Nothing about
# the person a device serves is loaded or shown: an alert names its rule, device and place only.

PAGE_SIZE = 20
OFFICIAL_LIMIT = 20
# Who is told at each escalation level (services.ESCALATION_LADDER), as a person reads it.
LEVEL_LABELS = (
    gettext_lazy("grid staff"),
    gettext_lazy("community"),
    gettext_lazy("street"),
    gettext_lazy("district"),
)
TIMELINE_LABELS = {
    "alert.raise": gettext_lazy("Raised"),
    "alert.acknowledge": gettext_lazy("Acknowledged"),
    "alert.resolve": gettext_lazy("Resolved"),
    "alert.clear": gettext_lazy("Cleared automatically"),
    "alert.escalate": gettext_lazy("Escalated"),
}
SEVERITY_LABELS = {
    "Extreme": gettext_lazy("Extreme"),
    "Severe": gettext_lazy("Severe"),
    "Moderate": gettext_lazy("Moderate"),
    "Minor": gettext_lazy("Minor"),
    "Unknown": gettext_lazy("Unknown"),
}
OFFICIAL_STATUS_LABELS = {
    "Actual": gettext_lazy("Actual"),
    "Exercise": gettext_lazy("Exercise"),
    "System": gettext_lazy("System"),
    "Test": gettext_lazy("Test"),
    "Draft": gettext_lazy("Draft"),
}
MESSAGE_TYPE_LABELS = {
    "Alert": gettext_lazy("Alert"),
    "Update": gettext_lazy("Update"),
    "Cancel": gettext_lazy("Cancel"),
    "Ack": gettext_lazy("Acknowledgement"),
    "Error": gettext_lazy("Error"),
}
# Official messages that are warnings (not tests, cancellations or acknowledgements).
OFFICIAL_STATUSES = ("Actual", "Exercise")
OFFICIAL_MESSAGE_TYPES = ("Alert", "Update")


def _require(user, action: Action) -> None:
    if not can(user, action):
        raise DjangoPermissionDenied


def _ranked(alerts):
    """Active alerts first, then the most severe, then the newest."""
    return alerts.annotate(
        active_rank=Case(When(status__in=ACTIVE_STATUSES, then=Value(0)), default=Value(1)),
        grade_rank=severity_expression(),
    ).order_by("active_rank", "-grade_rank", "-raised_at", "-id")


def level_label(level: int) -> str:
    who = LEVEL_LABELS[min(level, len(LEVEL_LABELS) - 1)]
    return _("Level %(level)d: %(who)s") % {"level": level, "who": who}


def official_warnings_in_force(now):
    """Government warnings that have not expired (a warning without ``expires`` stays until replaced):
    actual or exercise alerts and updates, newest first."""
    return OfficialWarning.objects.filter(
        Q(expires__isnull=True) | Q(expires__gt=now),
        status__in=OFFICIAL_STATUSES,
        msg_type__in=OFFICIAL_MESSAGE_TYPES,
    ).defer("raw")


def _describe_official(warning: OfficialWarning, language: str) -> OfficialWarning:
    """Set the headline in the reader's language where the CAP had one (``headline_lang`` is "zh" for
    Chinese text on a page in another language), the severity's label and the area descriptions."""
    chinese, other = warning.headline_zh, warning.headline_en
    # The event, description, instruction and areas come from the CAP's English (or first) block when
    # it has one besides the Chinese: marked with their language where the page is in another.
    content = "en" if other else "zh"
    if language.startswith("zh"):
        warning.headline = chinese or other or warning.event
        warning.headline_lang = "" if chinese else content
        warning.content_lang = "" if content == "zh" else content
    else:
        warning.headline = other or chinese or warning.event
        warning.headline_lang = "zh" if chinese and not other else ""
        warning.content_lang = "zh" if content == "zh" else ""
    warning.severity_label = SEVERITY_LABELS.get(warning.severity, warning.severity)
    warning.status_label = OFFICIAL_STATUS_LABELS.get(warning.status, warning.status)
    warning.msg_type_label = MESSAGE_TYPE_LABELS.get(warning.msg_type, warning.msg_type)
    warning.area_names = [area.get("description", "") for area in warning.areas if isinstance(area, dict)]
    return warning


@login_required
@require_GET
@service_errors
def alert_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Local alerts in your scope (open or acknowledged unless filtered), with official warnings beside."""
    user = request.user
    _require(user, Action.VIEW_ALERTS)
    form = AlertFilterForm(request.GET)
    filters = form.filters()
    alerts = Alert.objects.restrict(user).select_related(
        "rule", "community", "grid", "facility", "device__unit__building", "device__building"
    )
    if filters["status"] == ACTIVE:
        alerts = alerts.filter(status__in=ACTIVE_STATUSES)
    elif filters["status"] != ANY:
        alerts = alerts.filter(status=filters["status"])
    if filters["grade"]:
        alerts = alerts.filter(grade=filters["grade"])
    page = Paginator(_ranked(alerts), PAGE_SIZE).get_page(request.GET.get("page"))
    for alert in page:
        alert.level_label = level_label(alert.escalation_level)
    language = get_language() or ""
    official = [
        _describe_official(w, language) for w in official_warnings_in_force(clock.now())[:OFFICIAL_LIMIT]
    ]
    context = {
        "form": form,
        "page": page,
        "alerts": page.object_list,
        "official_warnings": official,
        "nav": "alerts",
    }
    return render(request, "warning/alert_list.html", context)


def _timeline(alert: Alert) -> list[dict]:
    entries = AuditEntry.objects.filter(subject_type="alert", subject_id=str(alert.pk)).order_by("id")
    rows = []
    for entry in entries:
        label = str(TIMELINE_LABELS.get(entry.action, entry.action))
        if entry.action == "alert.escalate" and isinstance(entry.details.get("level"), int):
            label = _("Escalated to %(level)s") % {"level": level_label(entry.details["level"])}
        actor = _("the rules") if entry.actor == services.SYSTEM_ACTOR else entry.actor
        rows.append({"at": entry.at, "label": label, "actor": actor})
    return rows


def _render_alert(
    request: AuthenticatedHttpRequest,
    alert: Alert,
    *,
    resolve_form: ResolveForm | None = None,
    call_form: CallForm | None = None,
    numbers: dict[str, str] | None = None,
):
    user = request.user
    person = services.person_at_risk(user, alert)
    may_call = person is not None and person.visible and "phone" in revealable_fields(user)
    if may_call and call_form is None and numbers is None:
        call_form = CallForm(
            initial={"purpose": _("Emergency call about alert %(number)s") % {"number": alert.pk}}
        )
    can_handle = can(user, Action.HANDLE_ALERTS) and alert.is_active
    alert.level_label = level_label(alert.escalation_level)
    incident = services.incident_of(user, alert)
    with_incident = incident is not None and incident.is_open
    context = {
        "alert": alert,
        "incident": incident,
        "person": person,
        "call_form": call_form if may_call else None,
        "numbers": numbers or {},
        "timeline": _timeline(alert),
        "can_acknowledge": can_handle and alert.status == AlertStatus.OPEN,
        "resolve_form": (resolve_form or ResolveForm(with_incident=with_incident)) if can_handle else None,
        "cap_url": reverse("api:alert_cap", kwargs={"alert_id": alert.pk}),
        "nav": "alerts",
    }
    response = render(request, "warning/alert_detail.html", context)
    if numbers:
        response["Cache-Control"] = "no-store"  # numbers in clear: kept by no cache
    return response


@login_required
@require_GET
@service_errors
def alert_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request.user, Action.VIEW_ALERTS)
    return _render_alert(request, services.get_alert_for(request.user, pk))


def _handling(view):
    """A POST that moves an alert on: the role must handle alerts (else 403) and the alert be in the
    handler's scope (else 404); the view gets the alert and answers with a redirect to its page."""

    @login_required
    @require_POST
    @service_errors
    @functools.wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        _require(request.user, Action.HANDLE_ALERTS)
        return view(request, services.get_alert_for(request.user, pk, Action.HANDLE_ALERTS))

    return wrapper


def _stale(request: AuthenticatedHttpRequest, alert: Alert, message: str) -> HttpResponse:
    """Someone (or the rules) moved the alert on since the page was loaded: say so, change nothing."""
    alert = services.get_alert_for(request.user, alert.pk)
    messages.warning(request, message % {"status": alert.get_status_display()})
    return redirect("warning:alert-detail", pk=alert.pk)


@_handling
def alert_acknowledge(request: AuthenticatedHttpRequest, alert: Alert) -> HttpResponse:
    try:
        services.acknowledge_alert(actor=request.user, alert=alert)
    except services.AlertStateError:
        return _stale(request, alert, _("This alert was not acknowledged: it is already “%(status)s”."))
    messages.success(request, _("Alert acknowledged: escalation has stopped."))
    return redirect("warning:alert-detail", pk=alert.pk)


@_handling
def alert_resolve(request: AuthenticatedHttpRequest, alert: Alert) -> HttpResponse:
    """Resolve with the note, and say what becomes of its open incident (resolved too, or kept open
    with a reason); a missing value shows the page again with the error at its field."""
    incident = services.incident_of(request.user, alert)
    form = ResolveForm(request.POST, with_incident=incident is not None and incident.is_open)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.resolve_alert(
                actor=request.user,
                alert=alert,
                note=data["note"],
                incident=data.get("incident"),
                incident_reason=data.get("incident_reason") or "",
            )
        except services.AlertStateError:
            return _stale(request, alert, _("This alert was not resolved: it is already “%(status)s”."))
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            if "incident" not in form.fields:
                messages.success(request, _("Alert resolved."))
            elif data["incident"] == services.LinkedStep.KEEP:
                messages.success(request, _("Alert resolved; its incident stays open."))
            else:
                messages.success(request, _("Alert resolved, and its incident with it."))
            return redirect("warning:alert-detail", pk=alert.pk)
    return _render_alert(request, alert, resolve_form=form)


@login_required
@require_POST
@service_errors
def alert_call(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Reveal, with a purpose, the phones of a fall or SOS alert's person and emergency contact: the
    page shows them as call links (audited; roles that may see care and reveal phones)."""
    user = request.user
    _require(user, Action.VIEW_ALERTS)
    alert = services.get_alert_for(user, pk)
    person = services.person_at_risk(user, alert)
    if person is None or not person.visible or "phone" not in revealable_fields(user):
        raise DjangoPermissionDenied
    form = CallForm(request.POST)
    if form.is_valid():
        try:
            numbers = services.reveal_call_numbers(
                actor=user, alert=alert, purpose=form.cleaned_data["purpose"]
            )
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            return _render_alert(request, alert, numbers=numbers)
    return _render_alert(request, alert, call_form=form)


@login_required
@require_GET
def official_warning_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """An imported government warning: public information, shown to every signed-in user."""
    warning = OfficialWarning.objects.filter(pk=pk).first()
    if warning is None:
        raise Http404(_("Official warning not found."))
    now = clock.now()
    context = {
        "warning": _describe_official(warning, get_language() or ""),
        "expired": warning.expires is not None and warning.expires <= now,
        "nav": "alerts",
    }
    return render(request, "warning/official_warning_detail.html", context)


# --- the warnings that concern a person's area (every signed-in role, residents included) ----------
# Area-wide only (banyan.warning.areas): never an alert about a person. Each warning is told in words:
# what, the grade in words and colour, where (as residents name the place) and what to do.

WARNINGS_LIMIT = 50
HOME_WARNINGS_LIMIT = 3
# What an area alert of a rule that opens incidents of this category means to a resident, and what
# to do; alerts of other rules are named by their rule.
AREA_ALERT_WORDS = {
    "flooding": (
        gettext_lazy("Water is rising"),
        gettext_lazy(
            "Keep away from low ground, underground garages and drains; move cars and belongings up."
        ),
    ),
    "fire_smoke": (
        gettext_lazy("Smoke alarm"),
        gettext_lazy("If you see smoke or fire, leave by the stairs, never the lift, and call 119."),
    ),
    "gas": (
        gettext_lazy("Gas leak"),
        gettext_lazy("No flames and no switches nearby; open the windows, leave, and call 119 from outside."),
    ),
    "crowding": (
        gettext_lazy("Crowded place"),
        gettext_lazy("Stay away from the place for now, and keep children and elders close."),
    ),
}
DEFAULT_ADVICE = gettext_lazy("Follow the instructions of the community's staff.")


def _name(zh: str, en: str, language: str) -> str:
    return zh if language.startswith("zh") or not en else en


def _alert_place_words(alert: Alert, language: str) -> str:
    """Where an area alert stands, as residents name it: the facility or building, and the grid."""
    place = services.alert_place(alert)
    grid = alert.grid or (alert.device.grid if alert.device is not None else None)
    parts = []
    if place.facility is not None:
        parts.append(_name(place.facility.name_zh, place.facility.name_en, language))
    elif place.building is not None:
        parts.append(place.building.name)
    if grid is not None:
        parts.append(_name(grid.name_zh, grid.name_en, language))
    elif not parts:
        parts.append(_name(alert.community.name_zh, alert.community.name_en, language))
    return (
        _("%(first)s, %(second)s") % {"first": parts[0], "second": parts[1]} if len(parts) == 2 else parts[0]
    )


def _alert_item(alert: Alert, area: areas.Area, language: str, *, linked: bool) -> dict:
    words = AREA_ALERT_WORDS.get(alert.rule.incident_category)
    place = services.alert_place(alert)
    near = ""
    if area.home_building is not None and place.building is not None and place.building == area.home_building:
        near = _("In your building")
    elif area.home_grid is not None and alert.grid_id == area.home_grid.pk:
        near = _("In your grid")
    return {
        "id": f"alert-{alert.pk}",
        "kind": "local",
        "source": _("Community sensors"),
        "title": str(words[0]) if words else str(alert.rule),
        "grade": alert.grade,
        "grade_label": alert.get_grade_display(),
        "place": _alert_place_words(alert, language),
        "near": near,
        "advice": str(words[1]) if words else str(DEFAULT_ADVICE),
        "at": alert.raised_at,
        "url": reverse("warning:alert-detail", args=[alert.pk]) if linked else "",
        "rank": (severity(alert.grade), alert.raised_at),
    }


def _official_item(warning: OfficialWarning) -> dict:
    return {
        "id": f"official-{warning.pk}",
        "kind": "official",
        "source": warning.sender_name or warning.sender,
        "title": warning.headline,
        "title_lang": warning.headline_lang,
        "grade": warning.grade,
        "grade_label": warning.get_grade_display() if warning.grade else warning.severity_label,
        "place": "; ".join(name for name in warning.area_names if name),
        "near": "",
        "advice": warning.instruction,
        "at": warning.effective or warning.sent,
        "url": reverse("warning:official-warning-detail", args=[warning.pk]),
        "rank": (severity(warning.grade), warning.effective or warning.sent),
    }


def area_warnings(user, *, limit: int) -> dict:
    """The official warnings and area alerts that concern ``user``'s area, as the pages show them
    (``items``: the most severe first, then the newest), and the area in words."""
    language = get_language() or ""
    area = areas.area_for(user)
    now = clock.now()
    official = [
        _describe_official(warning, language)
        for warning in areas.concerning(official_warnings_in_force(now)[:FEED_LIMIT], area)
    ]
    linked = can(user, Action.VIEW_ALERTS)
    local = [_alert_item(alert, area, language, linked=linked) for alert in areas.area_alerts(area)[:limit]]
    items = sorted(
        [*(_official_item(w) for w in official), *local], key=lambda item: item["rank"], reverse=True
    )
    return {
        "items": items[:limit],
        "more": len(items) > limit,
        "area_names": [_name(r.name_zh, r.name_en, language) for r in area.regions],
        "everywhere": area.everywhere,
    }


@login_required
@require_GET
@service_errors
def warnings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The official and community warnings that concern the signed-in person's area, in words."""
    context = {
        **area_warnings(request.user, limit=WARNINGS_LIMIT),
        "can_view_alerts": can(request.user, Action.VIEW_ALERTS),
        "nav": "warnings",
    }
    return render(request, "warning/warnings.html", context)


def home_warnings(request: HttpRequest) -> dict | None:
    """The home page's block of warnings, for those without the alert pages (residents, volunteers)."""
    user = request.user
    if not getattr(user, "is_authenticated", False) or can(user, Action.VIEW_ALERTS):
        return None
    return {"template": "warning/_home_warnings.html", **area_warnings(user, limit=HOME_WARNINGS_LIMIT)}
