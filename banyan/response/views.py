"""Incident pages: the responder's phone view (my tasks, an incident with its steps) and the staff
pages (open incidents by clock, reassign, close, cancel, hand over, the responsibility matrix).

Every incident is loaded through ``restrict`` (lists) or ``services.get_incident_for`` (a detail: the
same 404 for "missing" and "not yours"); every step is ``services.act`` or ``services.hand_over``
(STYLE 3). Each step's form carries the incident's ``version``: when the incident changed meanwhile
the service refuses the step (``Conflict``) and the page answers 409 with the incident as it is now.
All pages work without JavaScript; the "on scene" form adds the browser's position when it gives one.
"""

from __future__ import annotations

import functools
import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from banyan.core import clock, throttle
from banyan.core.access import Action, can
from banyan.core.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from banyan.core.views import service_errors
from banyan.people.models import AuthenticatedHttpRequest, Organisation, User
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.places.services import get_region_by_code_for
from banyan.places.words import unit_words
from banyan.response import flow, services
from banyan.response.flow import ASSIGNEE_MOVES, Move, Status
from banyan.response.forms import (
    ANY,
    ASSIGNABLE,
    OPEN,
    AssignForm,
    CancelForm,
    CellForm,
    CloseForm,
    DeclineForm,
    HandOverForm,
    IncidentFilterForm,
    OnSceneForm,
    PhotoStepForm,
    ResolveForm,
    StepForm,
    category_label,
    organisation_label,
    region_label,
)
from banyan.response.models import Incident, Responder, Responsibility
from banyan.response.photos import photo_response
from banyan.warning.choices import severity
from banyan.warning.models import Alert

PAGE_SIZE = 20
OPEN_STATUSES = [s.value for s in flow.OPEN]
MATRIX_KINDS = (RegionKind.STREET, RegionKind.COMMUNITY, RegionKind.GRID)

CLOCK_LABELS = {
    "acknowledge": gettext_lazy("Accept"),
    "arrive": gettext_lazy("Arrive"),
    "resolve": gettext_lazy("Resolve"),
}
CLOCK_STATE_LABELS = {
    "met": gettext_lazy("met in time"),
    "late": gettext_lazy("met late"),
    "running": gettext_lazy("running"),
    "missed": gettext_lazy("missed"),
}
EVENT_LABELS = {
    "opened": gettext_lazy("Opened"),
    "assign": gettext_lazy("Assigned"),
    "accept": gettext_lazy("Accepted"),
    "decline": gettext_lazy("Declined"),
    "on_scene": gettext_lazy("On scene"),
    "resolve": gettext_lazy("Resolved"),
    "close": gettext_lazy("Closed"),
    "cancel": gettext_lazy("Cancelled"),
    "duplicate": gettext_lazy("Marked as a duplicate"),
    "reopen": gettext_lazy("Reopened"),
    "handed_over": gettext_lazy("Handed over"),
    "escalated": gettext_lazy("Escalated"),
    "timed_out": gettext_lazy("Not accepted in time"),
    "dispatch_failed": gettext_lazy("No responder available"),
    "alert_resolved": gettext_lazy("Its alert was resolved; the incident stays open"),
    "supported": gettext_lazy("A neighbour reported it too"),  # "me too" (reports.services)
}
# Resolving an incident or its alert settles the other (services._alert_step, AlertIncidents.settle).
WITH_ALERT_LABELS = {
    "resolve": gettext_lazy("Resolved with its alert"),
    "cancel": gettext_lazy("Closed with its alert (nobody had accepted it)"),
}
ALERT_OUTCOME_LABELS = {
    "resolved": gettext_lazy("its alert resolved too"),
    "kept": gettext_lazy("its alert kept open"),
    "left": gettext_lazy("its alert stays open for those who handle alerts"),
}

# The steps, by the last part of their URL: (move, form, message when done).
STEPS = {
    "accept": (Move.ACCEPT, StepForm, gettext_lazy("Accepted: the incident is yours. Go to the place.")),
    "decline": (Move.DECLINE, DeclineForm, gettext_lazy("Declined: the next responder is asked.")),
    "on-scene": (Move.ON_SCENE, OnSceneForm, gettext_lazy("Recorded: you are on scene.")),
    "resolve": (Move.RESOLVE, ResolveForm, gettext_lazy("Incident resolved.")),
    "assign": (Move.ASSIGN, AssignForm, gettext_lazy("Incident assigned.")),
    "close": (Move.CLOSE, CloseForm, gettext_lazy("Incident closed.")),
    "cancel": (Move.CANCEL, CancelForm, gettext_lazy("Incident cancelled.")),
}
STEP_OF_MOVE = {move: slug for slug, (move, _form, _done) in STEPS.items()}


def _require(user, action: Action) -> None:
    if not can(user, action):
        raise DjangoPermissionDenied


def _language() -> str:
    return get_language() or ""


# --- clocks and places, as a person reads them ---------------------------------------------------


def duration_text(seconds: float) -> str:
    """ "45 s", "2 min 10 s", "1 h 5 min", "2 d 3 h": two units at most."""
    seconds = max(0, math.floor(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": secs}
    return _("%(seconds)d s") % {"seconds": secs}


def overdue_text(seconds: float) -> str:
    """ "overdue 40 s", "overdue 3 min", "overdue 1 h 5 min": whole minutes once past one."""
    seconds = max(0, math.floor(seconds))
    if 60 <= seconds < 3600:
        return _("overdue %(minutes)d min") % {"minutes": seconds // 60}
    return _("overdue %(time)s") % {"time": duration_text(seconds)}


def clock_view(clock_: flow.Clock, now) -> dict:
    state = clock_.state(now)
    remaining = clock_.remaining_s(now) or 0.0  # None once met, when the state is met or late
    if state == "running":
        text = _("%(time)s left") % {"time": duration_text(remaining)}
    elif state == "missed":
        text = overdue_text(-remaining)
    else:
        text = str(CLOCK_STATE_LABELS[state])
    return {
        "name": clock_.name,
        "label": CLOCK_LABELS[clock_.name],
        "state": state,
        "state_label": CLOCK_STATE_LABELS[state],
        "text": text,
        "due": clock_.due,
        "met_at": clock_.met_at,
    }


def place_text(incident: Incident, language: str) -> str:
    """Where: the unit or building, else the facility, else the grid or community."""
    parts = []
    if incident.unit is not None:
        parts.append(unit_words(incident.unit, language))
    elif incident.building is not None:
        parts.append(incident.building.name)
    elif incident.facility is not None:
        facility = incident.facility
        parts.append(
            facility.name_zh if language.startswith("zh") or not facility.name_en else facility.name_en
        )
    parts.append(region_label(incident.grid or incident.community, language))
    return " · ".join(parts)


def describe(incident: Incident, now, language: str) -> Incident:
    """Set what the pages show of an incident: its category's name, place, clocks and next clock."""
    incident.category_name = category_label(incident.category, language)
    incident.place_text = place_text(incident, language)
    incident.accountable_name = organisation_label(incident.accountable, language)
    incident.accountable_role_name = services.role_label(incident.accountable_role)
    clocks = [clock_view(c, now) for c in services.incident_clocks(incident)]
    incident.clocks = clocks
    is_open = incident.status in OPEN_STATUSES
    incident.next_clock = next((c for c in clocks if c["met_at"] is None), None) if is_open else None
    incident.on_scene_text = on_scene_text(incident)
    return incident


def on_scene_text(incident: Incident) -> str:
    """Where the responder was on scene, as the page says it: "1.8 km from the place", or why there is
    no distance."""
    if incident.on_scene_at is None:
        return ""
    if incident.on_scene_distance_m is not None:
        return _("%(distance)s from the place") % {
            "distance": services.distance_text(incident.on_scene_distance_m)
        }
    if incident.on_scene_latitude is not None:
        return _("position given; the place has no point to measure from")
    return _("the phone gave no position")


INCIDENT_RELATED = (
    "category",
    "community",
    "grid",
    "building",
    "unit__building",
    "facility",
    "accountable",
    "assignee",
    "alert__rule",
)


def _next_due():
    """The deadline of an open incident's first unmet clock (what the clocks order by)."""
    return Case(
        When(status__in=OPEN_STATUSES, accepted_at__isnull=True, then=F("acknowledge_due")),
        When(status__in=OPEN_STATUSES, on_scene_at__isnull=True, then=F("arrive_due")),
        When(status__in=OPEN_STATUSES, resolved_at__isnull=True, then=F("resolve_due")),
        default=None,
    )


# --- responder: my tasks ------------------------------------------------------------------------


@login_required
@require_GET
@service_errors
def task_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The open incidents assigned to me, most urgent first: the grade, then the nearest deadline."""
    user = request.user
    _require(user, Action.HANDLE_INCIDENTS)
    now, language = clock.now(), _language()
    incidents = [
        describe(incident, now, language)
        for incident in Incident.objects.restrict(user, Action.HANDLE_INCIDENTS)
        .open()
        .filter(assignee=user)
        .select_related(*INCIDENT_RELATED)
    ]
    incidents.sort(
        key=lambda i: (
            -severity(i.grade),
            i.next_clock["due"] if i.next_clock else i.resolve_due,
            i.pk,
        )
    )
    # While they have open tasks, a responder's phone shares its position with dispatch (and the
    # cockpit) from this page; the page says so.
    responder = Responder.objects.filter(user=user).first()
    share_position = bool(incidents) and responder is not None
    walks = services.walks_for(responder, incidents)
    context = {
        "cards": [_task_card(incident, walks[incident.pk]) for incident in incidents],
        "routes": {str(i.pk): _route_map(i, walks[i.pk]) for i in incidents if walks[i.pk] is not None},
        "nav": "tasks",
        "share_position": share_position,
        "position_known": responder is not None and responder.latitude is not None,
    }
    return render(request, "response/task_list.html", context)


def walk_text(walk: services.Walk | None) -> str:
    """ "450 m on foot, about 6 min", as the card says it."""
    if walk is None:
        return ""
    minutes = math.ceil(walk.seconds / 60)
    return ngettext(
        "%(distance)s on foot, about %(minutes)d min",
        "%(distance)s on foot, about %(minutes)d min",
        minutes,
    ) % {"distance": services.distance_text(walk.metres), "minutes": minutes}


def _task_card(incident: Incident, walk: services.Walk | None) -> dict:
    """A card of my tasks: the incident, the walk to it, and its accept and decline forms (each card's
    fields named apart, since a page holds several)."""
    offered = {}
    for move in (Move.ACCEPT, Move.DECLINE):
        if _allows(incident, move):
            slug = STEP_OF_MOVE[move]
            _move, form_class, _done = STEPS[slug]
            offered[slug] = form_class(
                initial={"version": incident.version}, auto_id=f"id_{slug}_{incident.pk}_%s"
            )
    return {
        "incident": incident,
        "walk": walk_text(walk),
        "has_route": walk is not None,
        "accept_form": offered.get("accept"),
        "decline_form": offered.get("decline"),
    }


def _route_map(incident: Incident, walk: services.Walk | None) -> dict:
    """What a card's map draws: the route from the responder's last known position, the place with
    its name, and the grid's boundary; places only, no personal data."""
    area = incident.grid or incident.community
    return {
        "route": walk.route if walk is not None else [],
        "place": incident.place_text,
        "area": area.boundary,
    }


# --- staff: open incidents by clock ----------------------------------------------------------------


@login_required
@require_GET
@service_errors
def incident_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Incidents in your scope: open ones first, those whose clock is missed before those still
    running, each by its next deadline; filtered by status, grade and category."""
    user = request.user
    _require(user, Action.VIEW_INCIDENTS)
    language = _language()
    form = IncidentFilterForm(request.GET, language=language)
    filters = form.filters()
    incidents = Incident.objects.restrict(user).select_related(*INCIDENT_RELATED)
    if filters["status"] == OPEN:
        incidents = incidents.filter(status__in=OPEN_STATUSES)
    elif filters["status"] != ANY:
        incidents = incidents.filter(status=filters["status"])
    if filters["grade"]:
        incidents = incidents.filter(grade=filters["grade"])
    if filters["category"]:
        incidents = incidents.filter(category__code=filters["category"])
    incidents = incidents.annotate(
        open_rank=Case(
            When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()
        ),
        next_due=_next_due(),
    ).order_by("open_rank", F("next_due").asc(nulls_last=True), "-created_at", "-id")
    page = Paginator(incidents, PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    for incident in page:
        describe(incident, now, language)
    context = {
        "form": form,
        "page": page,
        "incidents": page.object_list,
        "can_see_matrix": True,
        "nav": "incidents",
    }
    return render(request, "response/incident_list.html", context)


# --- an incident ---------------------------------------------------------------------------------


def _timeline(incident: Incident) -> list[dict]:
    rows = []
    for event in incident.events.select_related("actor"):
        label = str(EVENT_LABELS.get(event.kind, event.kind))
        if event.kind == "handed_over":
            label = _("Handed over from %(from)s to %(to)s") % {
                "from": event.details.get("from", "?"),
                "to": event.details.get("to", "?"),
            }
        elif event.kind == "escalated" and isinstance(event.details.get("level"), int):
            label = _("Escalated to level %(level)d") % {"level": event.details["level"]}
        elif event.details.get("with_alert") and event.kind in WITH_ALERT_LABELS:
            label = str(WITH_ALERT_LABELS[event.kind])
        note = event.note
        outcome = ALERT_OUTCOME_LABELS.get(event.details.get("alert"))
        if outcome is not None:
            label = f"{label} · {outcome}"
            note = "\n".join(filter(None, (note, event.details.get("alert_reason", ""))))
        actor = event.actor.display_name if event.actor is not None else _("the system")
        rows.append({"at": event.at, "label": label, "actor": actor, "note": note, "kind": event.kind})
    return rows


PHOTO_STAGE_LABELS = {
    "report": gettext_lazy("with the report"),
    "on_scene": gettext_lazy("on scene"),
    "resolve": gettext_lazy("when resolved"),
}


def _photos(incident: Incident) -> list[dict]:
    return [
        {
            "url": reverse("response:incident-photo", args=[incident.pk, photo.pk]),
            "at": photo.at,
            "stage": PHOTO_STAGE_LABELS.get(photo.stage, photo.stage),
            "by": photo.taken_by.display_name if photo.taken_by is not None else "",
        }
        for photo in incident.photos.defer("photo").select_related("taken_by")
    ]


@login_required
@require_GET
@service_errors
def incident_photo(request: AuthenticatedHttpRequest, pk: int, photo_id: int) -> HttpResponse:
    """A photo of an incident the user may see (the same 404 for "missing" and "not yours")."""
    _require(request.user, Action.VIEW_INCIDENTS)
    incident = services.get_incident_for(request.user, pk)
    photo = incident.photos.filter(pk=photo_id).first()
    if photo is None:
        raise Http404
    return photo_response(photo.photo, photo.photo_type, f"incident-{pk}-{photo_id}")


def _dispatch(incident: Incident) -> list[dict]:
    return [
        {
            "at": decision.at,
            "chosen": decision.chosen.display_name if decision.chosen is not None else "",
            "reason": services.DISPATCH_REASONS.get(decision.reason, decision.reason),
        }
        for decision in incident.dispatch_decisions.select_related("chosen")
    ]


def _responders(incident: Incident) -> dict[int, User]:
    """The accountable body's responders (with the cell's role), whom a manager may assign."""
    return {responder.user_id: responder.user for responder in services.candidates_for(incident)}


def _allows(incident: Incident, move: Move) -> bool:
    return Status(incident.status) in flow.MOVES[move][0]


def _step_form(slug: str, incident: Incident, data=None, files=None, *, language: str = "", viewer=None):
    """The form of a step, bound to ``data`` (and ``files``) or showing the incident's current
    version."""
    _move, form_class, _done = STEPS[slug]
    options: dict = {}
    if form_class is AssignForm:
        options["responders"] = [(pk, user.display_name) for pk, user in _responders(incident).items()]
    if form_class is ResolveForm:
        options["with_alert"] = viewer is not None and services.alert_to_settle(viewer, incident) is not None
    if data is None:
        return form_class(initial={"version": incident.version}, auto_id=f"id_{slug}_%s", **options)
    return form_class(data, files, auto_id=f"id_{slug}_%s", **options)


def _hand_over_form(incident: Incident, data=None, *, language: str = "") -> HandOverForm:
    options = {"language": language, "organisations": services.organisations_in_reach(incident)}
    if data is None:
        return HandOverForm(initial={"version": incident.version}, auto_id="id_hand_over_%s", **options)
    return HandOverForm(data, auto_id="id_hand_over_%s", **options)


def _render_incident(
    request: AuthenticatedHttpRequest, incident: Incident, *, bound: dict | None = None, status: int = 200
) -> HttpResponse:
    """The incident page, with the steps the user may take now; ``bound`` holds a submitted form (by
    its step) to show again with its errors."""
    user, language, bound = request.user, _language(), bound or {}
    incident = describe(incident, clock.now(), language)
    is_assignee = incident.assignee_id == user.pk and can(user, Action.HANDLE_INCIDENTS)
    can_manage = can(user, Action.MANAGE_INCIDENTS)
    offered = []
    if is_assignee:
        offered += [
            m for m in (Move.ACCEPT, Move.ON_SCENE, Move.RESOLVE, Move.DECLINE) if _allows(incident, m)
        ]
    if can_manage:
        if Status(incident.status) in ASSIGNABLE:
            offered.append(Move.ASSIGN)
        offered += [m for m in (Move.CLOSE, Move.CANCEL) if _allows(incident, m)]
    forms = {}
    for move in offered:
        slug = STEP_OF_MOVE[move]
        forms[slug.replace("-", "_")] = bound.get(slug) or _step_form(
            slug, incident, language=language, viewer=user
        )
    if can_manage and Status(incident.status) in flow.OPEN:
        forms["hand_over"] = bound.get("hand-over") or _hand_over_form(incident, language=language)
    walk = None
    if is_assignee and Status(incident.status) in flow.OPEN and incident.on_scene_at is None:
        walk = services.walks_for(Responder.objects.filter(user=user).first(), [incident])[incident.pk]
    context = {
        "incident": incident,
        "forms": forms,
        "is_assignee": is_assignee,
        "can_manage": can_manage,
        "timeline": _timeline(incident),
        "photos": _photos(incident),
        "dispatch": _dispatch(incident),
        "walk": walk_text(walk),
        "route": {str(incident.pk): _route_map(incident, walk)} if walk is not None else None,
        "alert": _its_alert(user, incident),
        "nav": "tasks" if is_assignee else "incidents",
    }
    return render(request, "response/incident_detail.html", context, status=status)


def _its_alert(user, incident: Incident) -> dict | None:
    """The alert the incident answers, as its page shows it: grade, rule, status, and a link for
    those who may see it there."""
    alert = incident.alert
    if alert is None:
        return None
    visible = can(user, Action.VIEW_ALERTS) and Alert.objects.restrict(user).filter(pk=alert.pk).exists()
    return {
        "pk": alert.pk,
        "grade": alert.grade,
        "grade_label": alert.get_grade_display(),
        "rule": str(alert.rule),
        "status": alert.status,
        "status_label": alert.get_status_display(),
        "url": reverse("warning:alert-detail", args=[alert.pk]) if visible else "",
    }


@login_required
@require_GET
@service_errors
def incident_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request.user, Action.VIEW_INCIDENTS)
    return _render_incident(request, _load(request.user, pk))


def _load(user, pk: int) -> Incident:
    incident = services.get_incident_for(user, pk)
    return Incident.objects.select_related(*INCIDENT_RELATED).filter(pk=incident.pk).first() or incident


def _changed(request: AuthenticatedHttpRequest, pk: int, exc: Conflict) -> HttpResponse:
    """Someone moved the incident on since the page was loaded: say so, show it as it is now (409)."""
    try:
        incident = _load(request.user, pk)
    except NotFound:
        messages.warning(request, _("The incident changed meanwhile and is no longer yours to see."))
        return redirect("response:task-list")
    messages.warning(
        request,
        _(
            "Nothing was changed: the incident changed meanwhile. The page has been reloaded; "
            "it is now “%(status)s”."
        )
        % {"status": incident.get_status_display()},
    )
    return _render_incident(request, incident, status=409)


def _stepping(view):
    """A POST on an incident: the role must be allowed the step (else 403) and the incident be in the
    user's scope (else 404)."""

    @login_required
    @require_POST
    @service_errors
    @functools.wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, pk: int, *args, **kwargs) -> HttpResponse:
        _require(request.user, Action.VIEW_INCIDENTS)
        return view(request, pk, *args, **kwargs)

    return wrapper


@_stepping
def incident_step(request: AuthenticatedHttpRequest, pk: int, step: str) -> HttpResponse:
    """Accept, decline, on scene, resolve (the assignee); assign, close, cancel (managers)."""
    if step not in STEPS:
        raise Http404
    move, _form_class, done = STEPS[step]
    user = request.user
    _require(user, Action.HANDLE_INCIDENTS if move in ASSIGNEE_MOVES else Action.MANAGE_INCIDENTS)
    incident = _load(user, pk)
    # Who may take the step, and whether the incident still allows it, before the form is read: the
    # page offers only the steps that are possible, so a refused form would have nowhere to show.
    if move in ASSIGNEE_MOVES and incident.assignee_id != user.pk:
        raise DjangoPermissionDenied(_("This incident is not assigned to you."))
    possible = Status(incident.status) in ASSIGNABLE if move == Move.ASSIGN else _allows(incident, move)
    if not possible:
        return _changed(request, pk, Conflict(_("This step is not possible now.")))
    form = _step_form(step, incident, request.POST, request.FILES, language=_language(), viewer=user)
    if form.is_valid():
        data = form.cleaned_data
        assignee = _responders(incident).get(data["assignee"]) if move == Move.ASSIGN else None
        photos = form.photo_bytes() if isinstance(form, PhotoStepForm) else ()
        try:
            throttle.check(request, "photos", count=len(photos), field="photos")
            services.act(
                actor=user,
                incident=incident,
                move=move,
                note=form.note_text(),
                version=data["version"],
                assignee=assignee,
                position=form.position() if isinstance(form, OnSceneForm) else None,
                reason=form.reason_text() if isinstance(form, OnSceneForm) else "",
                photos=photos,
                alert=data.get("alert"),
                alert_reason=data.get("alert_reason") or "",
            )
        except Conflict as exc:
            return _changed(request, pk, exc)
        except (InvalidInput, TooManyRequests) as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, done)
            if move == Move.DECLINE:
                return redirect("response:task-list")
            return redirect("response:incident-detail", pk=pk)
    return _render_incident(request, incident, bound={step: form})


@_stepping
def incident_backup(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The assignee asks for help: the nearest colleagues on duty are told."""
    _require(request.user, Action.HANDLE_INCIDENTS)
    incident = _load(request.user, pk)
    try:
        asked = services.request_backup(actor=request.user, incident=incident)
    except Conflict as exc:
        return _changed(request, pk, exc)
    if asked:
        messages.success(
            request,
            ngettext(
                "Backup asked: %(count)d colleague was told.",
                "Backup asked: %(count)d colleagues were told.",
                len(asked),
            )
            % {"count": len(asked)},
        )
    else:
        messages.warning(request, _("No colleague is on duty to ask; call the community office."))
    return redirect("response:incident-detail", pk=pk)


@_stepping
def incident_hand_over(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Make another body accountable, with the reason (managers)."""
    user = request.user
    _require(user, Action.MANAGE_INCIDENTS)
    incident = _load(user, pk)
    form = _hand_over_form(incident, request.POST, language=_language())
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["version"] != incident.version:
                raise Conflict(_("The incident changed meanwhile."), field="version")
            services.hand_over(
                actor=user,
                incident=incident,
                organisation=data["organisation"],
                role=data["role"],
                reason=data["reason"],
            )
        except Conflict as exc:
            return _changed(request, pk, exc)
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Incident handed over."))
            return redirect("response:incident-detail", pk=pk)
    return _render_incident(request, incident, bound={"hand-over": form})


# --- the responsibility matrix -------------------------------------------------------------------


def _matrix_region(user, code: str | None) -> Region:
    """The region asked for (in scope, else 404), else the user's own, else the first community."""
    if code:
        return get_region_by_code_for(user, code)
    if user.region_id is not None:
        return user.region
    region = Region.objects.restrict(user).filter(kind=RegionKind.COMMUNITY).order_by("path").first()
    if region is None:
        raise NotFound(_("Region not found."))
    return region


def _cell_rows(cells, language: str) -> list[dict]:
    """The matrix's rows in words: bodies by name, roles by label (an escalation step naming a body
    that is gone reads "unknown body")."""
    cells = list(cells)
    codes = {step.get("organisation") for cell in cells for step in cell.escalation or []}
    bodies = {o.code: organisation_label(o, language) for o in Organisation.objects.filter(code__in=codes)}
    return [
        {
            "cell": cell,
            "category": category_label(cell.category, language),
            "region": region_label(cell.region, language),
            "accountable": organisation_label(cell.accountable, language),
            "accountable_role": services.role_label(cell.accountable_role),
            "backup": organisation_label(cell.backup, language) if cell.backup_id else "",
            "backup_role": services.role_label(cell.backup_role),
            "escalation": [
                {
                    "body": bodies.get(step.get("organisation", ""), _("unknown body")),
                    "role": services.role_label(step.get("role") or ""),
                }
                for step in cell.escalation or []
            ],
        }
        for cell in cells
    ]


@login_required
@require_GET
@service_errors
def matrix(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Who answers for each category in a region and the regions above it, and the gaps: a category
    × grid that nobody answers for."""
    user = request.user
    _require(user, Action.VIEW_INCIDENTS)
    language = _language()
    region = _matrix_region(user, request.GET.get("region"))
    cells = (
        Responsibility.objects.restrict(user)
        .select_related("category", "region", "accountable", "backup")
        .filter(Q(region__path__startswith=region.path) | Q(region__path__in=region.ancestor_paths()))
        .order_by("category__position", "category__code", "region__path")
    )
    gaps = [
        {
            "category": c,
            "category_name": category_label(c, language),
            "region": g,
            "region_name": region_label(g, language),
        }
        for c, g in services.matrix_gaps(region)
    ]
    regions = Region.objects.restrict(user).filter(kind__in=MATRIX_KINDS).order_by("path")
    context = {
        "region": region,
        "region_name": region_label(region, language),
        "regions": [(r.code, region_label(r, language)) for r in regions],
        "rows": _cell_rows(cells, language),
        "gaps": gaps,
        "can_edit": can(user, Action.CHANGE_MATRIX),
        "nav": "incidents",
    }
    return render(request, "response/matrix.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def matrix_cell(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Edit one cell (``?category=…&region=…`` picks it; a new pair creates it): directors for their
    community and its grids, street officers for their street."""
    user = request.user
    _require(user, Action.CHANGE_MATRIX)
    language = _language()
    regions = list(
        Region.objects.restrict(user, Action.CHANGE_MATRIX).filter(kind__in=MATRIX_KINDS).order_by("path")
    )
    if request.method == "POST":
        form = CellForm(request.POST, regions=regions, language=language)
        if form.is_valid():
            cell = form.cell()
            try:
                services.set_cell(actor=user, **cell)
            except InvalidInput as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("The matrix cell is saved."))
                return redirect(f"{reverse('response:matrix')}?region={cell['region'].code}")
    else:
        initial = {"category": request.GET.get("category"), "region": request.GET.get("region")}
        existing = (
            Responsibility.objects.restrict(user)
            .select_related("accountable", "backup")
            .filter(category__code=initial["category"], region__code=initial["region"])
            .first()
        )
        if existing is not None:
            initial.update(CellForm.initial_for(existing))
        form = CellForm(initial=initial, regions=regions, language=language)
    return render(request, "response/cell_form.html", {"form": form, "nav": "incidents"})
