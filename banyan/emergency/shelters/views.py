"""Shelter and supply pages under ``/emergency/``: the shelters with their occupancy, a shelter's desk
(find a resident by name or ID number, check in, check out; open or close it for an emergency), the
supplies low ones first, and a stock's page (receive, reserve, distribute to a household, return,
count). Every POST goes back to its page with what happened, or why not."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from banyan.core.access import Action
from banyan.core.errors import InvalidInput
from banyan.core.views import private, service_errors
from banyan.emergency.shelters import services
from banyan.emergency.shelters.choices import SupplyUnit
from banyan.emergency.shelters.forms import ResidentSearchForm
from banyan.emergency.shelters.models import Move, Shelter, Stock
from banyan.people.models import AuthenticatedHttpRequest, Household
from banyan.people.services import get_resident_for

MOVES_SHOWN = 30


def _viewers_only(user) -> None:
    if not services.may_view(user):
        raise DjangoPermissionDenied(_("Your role cannot see shelters and supplies."))


def _operators_only(user) -> None:
    if not services.may_operate(user):
        raise DjangoPermissionDenied(_("Your role cannot check residents in or hand out supplies."))


def _managers_only(user) -> None:
    if not services.may_manage(user):
        raise DjangoPermissionDenied(_("Your role cannot manage shelters and supplies."))


def _id(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _search(request: AuthenticatedHttpRequest, parameter: str, find) -> tuple[str, list]:
    """The search asked for in ``parameter`` and what ``find(user, query)`` found (for those who operate)."""
    query = request.GET.get(parameter, "")
    if not query or not services.may_operate(request.user):
        return query[:64], []
    try:
        return query[:64], find(request.user, query)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return "", []


@login_required
@require_GET
@service_errors
def shelter_list(request: AuthenticatedHttpRequest):
    """The shelters in the caller's area: open ones first, each with its occupancy and what it offers."""
    user = request.user
    _viewers_only(user)
    shelters = sorted(
        Shelter.objects.restrict(user).select_related("facility", "opened_for"),
        key=lambda s: (not s.is_open, s.facility.code),
    )
    context = {
        "shelters": shelters,
        "occupied": sum(s.occupied for s in shelters if s.is_open),
        "capacity": sum(s.capacity for s in shelters if s.is_open),
        "nav": "emergency",
    }
    return render(request, "shelters/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def shelter_detail(request: AuthenticatedHttpRequest, pk: int):
    """A shelter's desk: who is in (names masked outside the caller's scope); a POST searches residents by
    name to check in (by POST, so that the name stays out of the address)."""
    user = request.user
    _viewers_only(user)
    if request.method == "POST":
        _operators_only(user)
    shelter = services.get_shelter_for(user, pk)
    search = ResidentSearchForm(request.POST if request.method == "POST" else None)
    found = services.find_residents(user, search.cleaned_data["q"]) if search.is_valid() else []
    others = []
    if shelter.is_open and shelter.free == 0:
        others = [
            s
            for s in Shelter.objects.restrict(user)
            .open()
            .filter(community=shelter.community)
            .exclude(pk=shelter.pk)
            .select_related("facility")
            if s.free > 0
        ]
    context = {
        "shelter": shelter,
        "stays": services.current_stays(user, shelter),
        "search": search,
        "found": found,
        "searched": search.is_bound and search.is_valid(),
        "others": others,
        "may_operate": services.may_operate(user),
        "may_manage": services.may_manage(user),
        "emergencies": list(services.open_emergencies(user, shelter.community, Action.MANAGE_EMERGENCIES))
        if services.may_manage(user)
        else [],
        "nav": "emergency",
    }
    return private(render(request, "shelters/detail.html", context))


@login_required
@require_POST
@service_errors
def check_in(request: AuthenticatedHttpRequest, pk: int):
    """Check a resident in: the one chosen from the search (``resident``) or found by ``id_number``."""
    user = request.user
    _operators_only(user)
    shelter = services.get_shelter_for(user, pk)
    try:
        resident_id = _id(request.POST.get("resident", ""))
        if resident_id is not None:
            resident, via = get_resident_for(user, resident_id), "name"
        elif request.POST.get("id_number", "").strip():
            resident, via = services.find_by_id_number(user, request.POST["id_number"]), "id_number"
        else:
            raise InvalidInput(_("Find the resident by name, or enter their ID number."), field="resident")
        services.check_in(actor=user, shelter=shelter, resident=resident, via=via)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Checked in to %(shelter)s: %(n)d of %(capacity)d places taken.")
            % {
                "shelter": shelter.facility.name_zh,
                "n": shelter.occupied + 1,
                "capacity": shelter.capacity,
            },
        )
    return redirect("emergency:shelter-detail", shelter.pk)


@login_required
@require_POST
@service_errors
def check_out(request: AuthenticatedHttpRequest, pk: int):
    user = request.user
    _operators_only(user)
    stay = services.get_stay_for(user, pk)
    try:
        services.check_out(actor=user, stay=stay)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Checked out."))
    return redirect("emergency:shelter-detail", stay.shelter_id)


@login_required
@require_POST
@service_errors
def shelter_open(request: AuthenticatedHttpRequest, pk: int):
    user = request.user
    _managers_only(user)
    shelter = services.get_shelter_for(user, pk, Action.MANAGE_EMERGENCIES)
    try:
        emergency_id = _id(request.POST.get("emergency", ""))
        if emergency_id is None:
            raise InvalidInput(_("Choose the emergency to open it for."), field="emergency")
        emergency = (
            services.open_emergencies(user, shelter.community, Action.MANAGE_EMERGENCIES)
            .filter(pk=emergency_id)
            .first()
        )
        if emergency is None:
            raise InvalidInput(services.not_active(), field="emergency")
        services.open_shelter(actor=user, shelter=shelter, emergency=emergency)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The shelter is open."))
    return redirect("emergency:shelter-detail", shelter.pk)


@login_required
@require_POST
@service_errors
def shelter_close(request: AuthenticatedHttpRequest, pk: int):
    user = request.user
    _managers_only(user)
    shelter = services.get_shelter_for(user, pk, Action.MANAGE_EMERGENCIES)
    try:
        services.close_shelter(actor=user, shelter=shelter)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The shelter is closed."))
    return redirect("emergency:shelter-detail", shelter.pk)


@login_required
@require_GET
@service_errors
def supplies(request: AuthenticatedHttpRequest):
    """Every stock in the caller's area, low ones first."""
    user = request.user
    _viewers_only(user)
    stocks = services.stocks_low_first(user)
    context = {"stocks": stocks, "low": sum(s.is_low for s in stocks), "nav": "emergency"}
    return render(request, "shelters/supplies.html", context)


@login_required
@require_GET
@service_errors
def stock_detail(request: AuthenticatedHttpRequest, pk: int):
    """A stock: what is on hand and held, its moves, and the forms to change it (household by unit search)."""
    user = request.user
    _viewers_only(user)
    stock = services.get_stock_for(user, pk)
    query, households = _search(request, "unit", services.find_households)
    emergencies = list(services.open_emergencies(user, stock.community)) if services.may_operate(user) else []
    moves = list(
        Move.objects.restrict(user)
        .filter(stock=stock)
        .select_related("household__unit__building", "emergency", "by")[:MOVES_SHOWN]
    )
    context = {
        "stock": stock,
        "unit_label": SupplyUnit(stock.unit).label,
        "moves": moves,
        "query": query[:64],
        "households": households,
        "searched": bool(query),
        "emergencies": emergencies,
        "held": [(e, services.reserved_for(stock, e)) for e in emergencies],
        "may_operate": services.may_operate(user),
        "may_manage": services.may_manage(user),
        "nav": "emergency",
    }
    return private(render(request, "shelters/stock.html", context))


@login_required
@require_POST
@service_errors
def stock_move(request: AuthenticatedHttpRequest, pk: int):
    """Record a move of the stock (``kind``: received, reserved, distributed, returned, adjusted)."""
    user = request.user
    _operators_only(user)
    stock: Stock = services.get_stock_for(user, pk)
    kind = request.POST.get("kind", "")
    back = redirect("emergency:stock-detail", stock.pk)
    try:
        emergency = household = None
        emergency_id = _id(request.POST.get("emergency", ""))
        if request.POST.get("emergency", "") and emergency_id is None:
            raise InvalidInput(_("Choose an emergency from the list."), field="emergency")
        if emergency_id is not None:
            emergency = services.open_emergencies(user, stock.community).filter(pk=emergency_id).first()
            if emergency is None:
                raise InvalidInput(services.not_active(), field="emergency")
        household_id = _id(request.POST.get("household", ""))
        if request.POST.get("household", "") and household_id is None:
            raise InvalidInput(_("Choose the household from the list."), field="household")
        if household_id is not None:
            household = Household.objects.restrict(user).filter(pk=household_id).first()
            if household is None:
                raise InvalidInput(_("Choose a household in your area."), field="household")
        services.move_stock(
            actor=user,
            stock=stock,
            kind=kind,
            quantity=request.POST.get("quantity", ""),
            emergency=emergency,
            household=household,
            note=request.POST.get("note", ""),
        )
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        stock.refresh_from_db()
        messages.success(
            request,
            _("Recorded: %(quantity)d %(unit)s on hand, %(reserved)d reserved.")
            % {"quantity": stock.quantity, "unit": SupplyUnit(stock.unit).label, "reserved": stock.reserved},
        )
    return back
