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
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput
from banyan.core.views import service_errors
from banyan.people.auth import user_for_token
from banyan.people.models import AuthenticatedHttpRequest
from banyan.warning import services
from banyan.warning.cap import atom_feed
from banyan.warning.choices import ACTIVE_STATUSES, AlertStatus, severity_expression
from banyan.warning.forms import ACTIVE, ANY, AlertFilterForm, ResolveForm
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
    if language.startswith("zh"):
        warning.headline, warning.headline_lang = chinese or other or warning.event, ""
    else:
        warning.headline = other or chinese or warning.event
        warning.headline_lang = "zh" if chinese and not other else ""
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
    alerts = Alert.objects.restrict(user).select_related("rule", "community", "grid", "facility")
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
    request: AuthenticatedHttpRequest, alert: Alert, *, resolve_form: ResolveForm | None = None
):
    user = request.user
    can_handle = can(user, Action.HANDLE_ALERTS) and alert.is_active
    alert.level_label = level_label(alert.escalation_level)
    context = {
        "alert": alert,
        "timeline": _timeline(alert),
        "can_acknowledge": can_handle and alert.status == AlertStatus.OPEN,
        "resolve_form": (resolve_form or ResolveForm()) if can_handle else None,
        "cap_url": reverse("api:alert_cap", kwargs={"alert_id": alert.pk}),
        "nav": "alerts",
    }
    return render(request, "warning/alert_detail.html", context)


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
    """Resolve with the note; a missing note shows the page again with the error at the field."""
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.resolve_alert(actor=request.user, alert=alert, note=form.cleaned_data["note"])
        except services.AlertStateError:
            return _stale(request, alert, _("This alert was not resolved: it is already “%(status)s”."))
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Alert resolved."))
            return redirect("warning:alert-detail", pk=alert.pk)
    return _render_alert(request, alert, resolve_form=form)


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
