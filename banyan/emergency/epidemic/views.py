"""Epidemic mode's pages: an emergency's households by status with the forms to set a status and ask
for a delivery, its deliveries and the day's check-ins (``/emergency/<id>/epidemic/``), and the
resident's "OK / Need help" answer (also on their home page while it waits). Thin over
:mod:`banyan.emergency.epidemic.services`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from banyan.core import clock
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput
from banyan.core.views import private, service_errors
from banyan.emergency.epidemic import services
from banyan.emergency.epidemic.choices import CheckInStatus
from banyan.emergency.epidemic.forms import AnswerForm, DeliveryForm, StatusForm, first_error
from banyan.people.models import AuthenticatedHttpRequest, Household, User


def _page_of(pk: int) -> str:
    return f"/emergency/{pk}/epidemic/"


@login_required
@require_GET
@service_errors
def epidemic(request: AuthenticatedHttpRequest, pk: int):
    """Households by status, deliveries and today's check-ins; a search of the area's households (by
    building and flat, ``?unit=3幢 502``) with the forms to set a status and ask for a delivery."""
    emergency = services.get_emergency_for(request.user, pk)
    part = services.page(request.user, emergency)
    query = request.GET.get("unit", "")
    found: list[Household] = []
    search_error = ""
    if query and part.may_change:
        try:
            found = services.find_households(request.user, emergency, query)
        except InvalidInput as exc:
            search_error = exc.message
    context = {
        "emergency": emergency,
        "part": part,
        "query": query[:64],
        "found": found,
        "search_error": search_error,
        "today": clock.today().isoformat(),
        "status_form": StatusForm(),
        "delivery_form": DeliveryForm(),
        "nav": "emergency",
    }
    return private(render(request, "epidemic/epidemic.html", context))


def _post(request: AuthenticatedHttpRequest, pk: int, form_class, step, done: str):
    emergency = services.get_emergency_for(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(_page_of(emergency.pk))
    data = form.cleaned_data
    try:
        step(emergency, Household(pk=data.pop("household")), data)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(_page_of(emergency.pk))


@login_required
@require_POST
@service_errors
def set_status(request: AuthenticatedHttpRequest, pk: int):
    """Set a household's status (isolating, needs deliveries, cleared) from a date."""

    def step(emergency, household, data):
        services.set_status(actor=request.user, emergency=emergency, household=household, **data)

    return _post(request, pk, StatusForm, step, _("Status recorded."))


@login_required
@require_POST
@service_errors
def request_delivery(request: AuthenticatedHttpRequest, pk: int):
    """Ask for groceries or medicine to be taken to an isolating household (dispatched on foot)."""

    def step(emergency, household, data):
        services.request_delivery(actor=request.user, emergency=emergency, household=household, **data)

    return _post(request, pk, DeliveryForm, step, _("Delivery asked for: someone is being sent."))


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def answer(request: AuthenticatedHttpRequest, pk: int):
    """Today's check-in of a resident staying at home: two large buttons, "OK" and "Need help"."""
    checkin = services.get_checkin_to_answer(request.user, pk)
    form = AnswerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            checkin = services.answer(actor=request.user, checkin=checkin, status=form.cleaned_data["status"])
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            if checkin.status == CheckInStatus.NEED_HELP:
                messages.warning(request, _("Help is on the way: someone from your community will come."))
            else:
                messages.success(request, _("Thank you. We have noted that you are OK today."))
            return redirect("/")
    context = {"checkin": checkin, "emergency": checkin.emergency, "form": form}
    return private(render(request, "epidemic/answer.html", context))


def home_checkin(request: HttpRequest) -> dict | None:
    """The home page's "Are you OK today?" question while a check-in waits for the person's answer."""
    user = request.user
    if not isinstance(user, User) or user.role not in services.ANSWERING_ROLES:
        return None
    checkins = services.waiting_checkins_of(user)
    if not checkins:
        return None
    return {
        "template": "epidemic/_home_question.html",
        "top": user.role == Role.RESIDENT,
        "checkins": checkins,
    }
