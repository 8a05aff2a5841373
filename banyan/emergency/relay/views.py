"""Warnings to residents, in pages: ``/emergency/relay/`` for the managers of emergencies (the official
warnings relayed, with counts; a notice form and the "not reached" list per active emergency), the
resident's subscriptions (``/emergency/relay/subscriptions``) and what they were told, as received
(``/emergency/relay/received``, and a block on the home page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import Conflict, InvalidInput
from banyan.core.vault import mask_name
from banyan.core.views import private, service_errors
from banyan.emergency.choices import EmergencyStatus
from banyan.emergency.models import Emergency
from banyan.emergency.relay import services
from banyan.emergency.relay.choices import SubscriptionPlace
from banyan.emergency.relay.forms import KnockForm, NoticeForm, SubscriptionForm
from banyan.emergency.relay.models import Notice, Recipient
from banyan.people.models import AuthenticatedHttpRequest, User

NOTICES_SHOWN = 5


def _managers_only(user) -> None:
    if not can(user, Action.MANAGE_EMERGENCIES):
        raise DjangoPermissionDenied(_("Your role cannot send warnings and notices to residents."))


def may_see_names(user) -> bool:
    """Staff who change people's records see names on the not-reached list; others see them masked."""
    return can(user, Action.CHANGE_PEOPLE)


def not_reached_rows(user, emergency: Emergency) -> list[dict]:
    """The not-reached list as the pages show it: names masked for roles that may not see people."""
    names = may_see_names(user)
    rows = []
    for entry in services.not_reached(emergency):
        unit = entry.resident.household.unit
        rows.append(
            {
                "resident_id": entry.resident.pk,
                "name": entry.resident.name if names else mask_name(entry.resident.name),
                "place": f"{unit.building.name} {unit.number}",
                "is_vulnerable": entry.is_vulnerable,
                "no_channel": entry.no_channel,
                "since": entry.since,
                "task": entry.knock_task,
            }
        )
    return rows


def emergency_summary(user, emergency: Emergency) -> dict:
    """What the board and the relay page show of an emergency's notices."""
    recipients = Recipient.objects.filter(notice__emergency=emergency)
    rows = not_reached_rows(user, emergency)
    return {
        "emergency": emergency,
        "notices": list(Notice.objects.filter(emergency=emergency)[:NOTICES_SHOWN]),
        "notice_count": Notice.objects.filter(emergency=emergency).count(),
        "counts": services.counts(recipients),
        "not_reached": rows,
        "pending": sum(1 for row in rows if row["task"] is None),
        "may_manage": can(user, Action.MANAGE_EMERGENCIES)
        and Emergency.objects.restrict(user, Action.MANAGE_EMERGENCIES).filter(pk=emergency.pk).exists(),
    }


def _page(
    request: AuthenticatedHttpRequest,
    *,
    forms: dict | None = None,
    knock_forms: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    forms = forms or {}
    knock_forms = knock_forms or {}
    active = Emergency.objects.restrict(user, Action.MANAGE_EMERGENCIES).filter(status=EmergencyStatus.ACTIVE)
    context = {
        "relays": services.relays_for(user),
        "emergencies": [
            {
                **emergency_summary(user, e),
                "form": forms.get(e.pk) or NoticeForm(auto_id=f"notice-{e.pk}-%s"),
                "knock_form": knock_forms.get(e.pk),
            }
            for e in active.select_related("community")
        ],
        "nav": "emergency",
    }
    return private(render(request, "relay/index.html", context, status=status))


@login_required
@require_GET
@service_errors
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The official warnings relayed (with who was told and reached) and a notice form per emergency."""
    _managers_only(request.user)
    return _page(request)


@login_required
@require_POST
@service_errors
def notice(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Send a community notice for the emergency; its form again with what was wrong."""
    user = request.user
    _managers_only(user)
    emergency = services.get_emergency_for(user, pk, Action.MANAGE_EMERGENCIES)
    form = NoticeForm(request.POST, auto_id=f"notice-{emergency.pk}-%s")
    if form.is_valid():
        try:
            sent = services.send_notice(actor=user, emergency=emergency, **form.cleaned_data)
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except Conflict as exc:
            form.add_error(None, exc.message)
            return _page(request, forms={emergency.pk: form}, status=409)
        else:
            told = sent.recipients.count()
            messages.success(
                request,
                ngettext("Notice sent to %(count)d resident.", "Notice sent to %(count)d residents.", told)
                % {"count": told},
            )
            return redirect("emergency:relay")
    return _page(request, forms={emergency.pk: form})


@login_required
@require_POST
@service_errors
def knock(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Door-knocking tasks for the households a notice did not reach."""
    user = request.user
    _managers_only(user)
    emergency = services.get_emergency_for(user, pk, Action.MANAGE_EMERGENCIES)
    # The page says how many it listed without a task: a stale or missing count makes nothing.
    pending = sum(1 for row in services.not_reached(emergency) if row.knock_task is None)
    form = KnockForm(request.POST)
    if form.is_valid() and form.cleaned_data["count"] != pending:
        form.add_error("count", _("The list has changed: look at it again, then knock on their doors."))
    if not form.is_valid():
        return _page(request, knock_forms={emergency.pk: form})
    made = services.knock_on_doors(actor=user, emergency=emergency)
    messages.success(
        request,
        ngettext("%(count)d door-knocking task made.", "%(count)d door-knocking tasks made.", len(made))
        % {"count": len(made)},
    )
    return redirect("emergency:relay")


def _resident_only(user):
    resident = getattr(user, "resident", None) if user.resident_id else None
    if user.role != Role.RESIDENT or resident is None:
        raise DjangoPermissionDenied(_("Only residents with a home here subscribe to warnings."))
    return resident


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def subscriptions(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A resident's choice of warnings below red and for which place; red ones always come."""
    user = request.user
    resident = _resident_only(user)
    current = services.subscription_of(resident)
    initial = (
        {"place": current.place, "grades": current.grades}
        if current is not None
        else {"place": SubscriptionPlace.BUILDING, "grades": list(services.GRADES_BELOW_RED)}
    )
    form = SubscriptionForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_subscription(actor=user, **form.cleaned_data)
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Your warning subscription is saved."))
            return redirect("emergency:relay-subscriptions")
    return private(render(request, "relay/subscriptions.html", {"form": form, "current": current}))


@login_required
@require_GET
def received(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The warnings and notices relayed to the signed-in person, as received."""
    context = {"received": services.messages_for_resident(request.user, limit=50)}
    return private(render(request, "relay/received.html", context))


def home_relayed(request: HttpRequest) -> dict | None:
    """The home page's block: the warnings and notices relayed to a resident, newest first, as received."""
    user = request.user
    if not isinstance(user, User) or user.role != Role.RESIDENT:
        return None
    return {"template": "relay/_home_relayed.html", "received": services.messages_for_resident(user, limit=3)}
