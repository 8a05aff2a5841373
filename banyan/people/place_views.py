"""Staff pages that browse places with the people who live there: grids, then buildings, then units
with their households (served under /places/, URL names `places:…`).
Every object is loaded through the scoped access functions, so a grid worker sees only their
grid and gets the same 404 for "missing" and "not yours".
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import render

from banyan.core.access import Action, can
from banyan.core.views import service_errors
from banyan.people.forms import LedgerExportForm
from banyan.people.models import Household, Resident
from banyan.places.choices import RegionKind
from banyan.places.models import Building, Region
from banyan.places.services import get_building_for, get_region_for


def _counts(queryset, key: str) -> dict[int, int]:
    return dict(queryset.order_by().values_list(key).annotate(n=Count("id", distinct=True)))


def _households_in_part(user) -> bool:
    """Whether the user sees only some households of a place (a resident their own, a volunteer those of
    the people they care for): the pages then say that the others are hidden, never that there are none."""
    return Household.objects.none().personal_scope(user) is not None


@login_required
@service_errors
def grid_list(request):
    user = request.user
    grids = list(Region.objects.restrict(user).filter(kind=RegionKind.GRID).select_related("parent"))
    buildings = _counts(Building.objects.restrict(user), "grid")
    households = _counts(Household.objects.restrict(user), "grid")
    residents = _counts(Resident.objects.restrict(user), "household__grid")
    for grid in grids:
        grid.building_count = buildings.get(grid.pk, 0)
        grid.household_count = households.get(grid.pk, 0)
        grid.resident_count = residents.get(grid.pk, 0)
    context = {
        "grids": grids,
        "can_export": can(user, Action.EXPORT_LEDGER),
        "households_in_part": _households_in_part(user),
        "nav": "places",
    }
    return render(request, "places/grid_list.html", context)


@login_required
@service_errors
def grid_detail(request, pk: int):
    grid = get_region_for(request.user, pk)
    if grid.kind != RegionKind.GRID:
        raise Http404
    return render_grid_detail(request, grid)


def render_grid_detail(request, grid: Region, *, export_form: LedgerExportForm | None = None):
    """The grid page; ``export_form`` is a submitted ledger export form to show with its errors."""
    user = request.user
    can_export = can(user, Action.EXPORT_LEDGER)
    if export_form is None and can_export:
        allowed = LedgerExportForm.allowed_for(user)
        export_form = LedgerExportForm(allowed=allowed) if allowed else None
    buildings = list(Building.objects.restrict(user).filter(grid=grid).annotate(unit_count=Count("units")))
    households = _counts(Household.objects.restrict(user).filter(grid=grid), "unit__building")
    residents = _counts(
        Resident.objects.restrict(user).filter(household__grid=grid), "household__unit__building"
    )
    for building in buildings:
        building.household_count = households.get(building.pk, 0)
        building.resident_count = residents.get(building.pk, 0)
    context = {
        "grid": grid,
        "buildings": buildings,
        "can_export": can_export,
        "export_form": export_form,
        "households_in_part": _households_in_part(user),
        "nav": "places",
    }
    return render(request, "places/grid_detail.html", context)


@login_required
@service_errors
def building_detail(request, pk: int):
    user = request.user
    building = get_building_for(user, pk)
    households_by_unit = defaultdict(list)
    members = _counts(Resident.objects.restrict(user).filter(household__unit__building=building), "household")
    for household in Household.objects.restrict(user).filter(unit__building=building).order_by("code"):
        household.member_count = members.get(household.pk, 0)
        households_by_unit[household.unit_id].append(household)
    units = list(building.units.all())
    for unit in units:
        unit.visible_households = households_by_unit.get(unit.pk, [])
    context = {
        "building": building,
        "grid": building.grid,
        "units": units,
        "households_in_part": _households_in_part(user),
        "nav": "places",
    }
    return render(request, "places/building_detail.html", context)
