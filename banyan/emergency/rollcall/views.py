"""Roll-call pages: the emergency's roll call (live counts, who is still unaccounted for, "start" for
managers, "safe after a call" for staff), the resident's "Safe / Need help" question (also on their home
page while it waits), thin over :mod:`banyan.emergency.rollcall.services`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from banyan.core.choices import Role
from banyan.core.errors import Conflict, InvalidInput, PermissionDenied
from banyan.core.views import private, service_errors
from banyan.emergency.rollcall import services
from banyan.emergency.rollcall.choices import EntryStatus
from banyan.emergency.rollcall.forms import AnswerForm
from banyan.people.models import AuthenticatedHttpRequest, User


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=False):
        return target
    return default


@login_required
@require_http_methods(["GET"])
@service_errors
def roll_call(request: AuthenticatedHttpRequest, pk: int):
    """The emergency's roll call: the same panel as on its board, on a page of its own."""
    emergency = services.get_emergency_for(request.user, pk)
    return private(render(request, "rollcall/roll_call.html", {"emergency": emergency, "nav": "emergency"}))


@login_required
@require_POST
@service_errors
def start(request: AuthenticatedHttpRequest, pk: int):
    """A manager starts the roll call of an active emergency (every household of its area is asked)."""
    emergency = services.get_emergency_for(request.user, pk)
    try:
        roll_call = services.start_roll_call(actor=request.user, emergency=emergency)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Roll call started: %(count)d households asked.") % {"count": roll_call.entries.count()},
        )
    return redirect(_back(request, f"/emergency/{emergency.pk}/rollcall/"))


@login_required
@require_POST
@service_errors
def record_safe(request: AuthenticatedHttpRequest, pk: int):
    """Staff record a household safe after reaching it by phone."""
    if not services.may_mark(request.user):
        raise PermissionDenied(_("Your role cannot record roll-call answers."))
    entry = services.get_entry_for(request.user, pk)
    try:
        if request.POST.get("status") != EntryStatus.SAFE:
            raise InvalidInput(_("Press “Safe” once you have reached the household."), field="status")
        services.record_safe(actor=request.user, entry=entry, note=request.POST.get("note", ""))
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Recorded as safe."))
    return redirect(_back(request, f"/emergency/{entry.roll_call.emergency_id}/rollcall/"))


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def answer(request: AuthenticatedHttpRequest, pk: int):
    """The question "are you safe?" for the resident's own household (or the one a carer was asked
    about): two large buttons, "Safe" and "Need help"."""
    entry = services.get_entry_to_answer(request.user, pk)
    form = AnswerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.answer(actor=request.user, entry=entry, status=form.cleaned_data["status"])
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            if entry.status == EntryStatus.NEED_HELP:
                messages.warning(request, _("Help is on the way: someone from your community will come."))
            else:
                messages.success(request, _("Thank you. We have noted that your household is safe."))
            return redirect(f"/emergency/rollcall/{entry.pk}/answer")
    context = {"entry": entry, "emergency": entry.roll_call.emergency, "form": form}
    return private(render(request, "rollcall/answer.html", context))


def home_rollcall(request: HttpRequest) -> dict | None:
    """The home page's "Are you safe?" question while a roll call waits for the person's answer."""
    user = request.user
    if not isinstance(user, User) or user.role not in services.ANSWERING_ROLES:
        return None
    entries = services.waiting_entries_of(user)
    if not entries:
        return None
    # Above a resident's large buttons; on a carer's (volunteer's) home page, among the other blocks.
    top = user.role == Role.RESIDENT
    return {"template": "rollcall/_home_question.html", "top": top, "entries": entries}
