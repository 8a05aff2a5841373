"""Staff pages that browse places with the people who live there: grids, then buildings, then units
with their households (served under /places/, URL names `places:…`).
Every object is loaded through the scoped access functions, so a grid worker sees only their
grid and gets the same 404 for "missing" and "not yours".
"""

from __future__ import annotations

import json
from collections import defaultdict

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.core.views import service_errors
from banyan.people.forms import LedgerExportForm
from banyan.people.models import Household, Resident
from banyan.places import gridding
from banyan.places.choices import RegionKind
from banyan.places.models import Building, Region
from banyan.places.services import get_building_for, get_region_by_code_for, get_region_for


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
    editable = Region.objects.none()
    if can(user, Action.CHANGE_PLACES):
        editable = Region.objects.restrict(user, Action.CHANGE_PLACES).filter(kind=RegionKind.COMMUNITY)
    context = {
        "grids": grids,
        "editable_communities": list(editable.order_by("code")),
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


# --- the grid editor: grids drawn on the map, proposed by target size, renamed, saved ---------------------

MAX_GRIDS_TEXT = 4_000_000  # characters of GeoJSON: hundreds of grids with detailed outlines


class GridProposalForm(forms.Form):
    """Propose grids of about ``target`` households, residents or buildings (a GET: nothing changes)."""

    target = forms.IntegerField(
        label=gettext_lazy("Target size of a grid"),
        min_value=1,
        max_value=gridding.MAX_TARGET,
        help_text=gettext_lazy("About how many of the chosen measure each grid should hold."),
    )
    measure = forms.ChoiceField(
        label=gettext_lazy("Counted in"),
        choices=[
            ("households", gettext_lazy("Households")),
            ("residents", gettext_lazy("Residents")),
            ("buildings", gettext_lazy("Buildings")),
        ],
        initial="households",
    )


class GridsForm(forms.Form):
    """The community's grids as they should be: a GeoJSON FeatureCollection whose features carry
    ``code``, ``name_zh`` and ``name_en`` (drawn on the map, or pasted), and the grids to remove."""

    grids = forms.CharField(
        label=gettext_lazy("The grids as GeoJSON"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "geojson"}),
        max_length=MAX_GRIDS_TEXT,
        help_text=gettext_lazy(
            "Each grid is a Polygon with its code and its names. Drawing on the map writes it here; "
            "you may also paste or edit it."
        ),
    )

    def clean_grids(self) -> list[dict]:
        text = self.cleaned_data["grids"]
        if "\x00" in text:
            raise forms.ValidationError(_("The grids contain a NUL character."))
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(
                _("The grids are not valid JSON (line %(line)s, column %(column)s).")
                % {"line": getattr(exc, "lineno", "?"), "column": getattr(exc, "colno", "?")}
            ) from None
        if not isinstance(data, dict):
            data = {}
        features = data.get("features")
        if data.get("type") != "FeatureCollection" or not isinstance(features, list):
            raise forms.ValidationError(
                _('Expected a GeoJSON FeatureCollection: {"type": "FeatureCollection", "features": [...]}.')
            )
        grids = []
        for number, feature in enumerate(features, start=1):
            properties = feature.get("properties") if isinstance(feature, dict) else None
            if not isinstance(properties, dict):
                raise forms.ValidationError(
                    _("Feature %(number)s has no properties with a code and names.") % {"number": number}
                )
            grids.append(
                {
                    "code": properties.get("code"),
                    "name_zh": properties.get("name_zh"),
                    "name_en": properties.get("name_en") or "",
                    "boundary": feature.get("geometry"),
                }
            )
        return grids


def _grids_geojson(grids) -> str:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": g.code, "name_zh": g.name_zh, "name_en": g.name_en},
                    "geometry": g.boundary,
                }
                for g in grids
            ],
        },
        ensure_ascii=False,
    )


def _renamed(grids: list[dict], post) -> list[dict]:
    """The names typed in the grid table (``name_zh-CODE``, ``name_en-CODE``) over those of the GeoJSON,
    without the grids ticked for removal."""
    removed = set(post.getlist("remove"))
    kept = []
    for grid in grids:
        code = grid.get("code")
        if isinstance(code, str) and code in removed:
            continue
        if isinstance(code, str):
            for name in ("name_zh", "name_en"):
                typed = post.get(f"{name}-{code}")
                if typed is not None:
                    grid[name] = typed
        kept.append(grid)
    return kept


@login_required
@service_errors
def grid_editor(request, code: str):
    """A community's grids on a map: draw one, paste GeoJSON, propose grids of a target size, rename
    and remove; every save goes through :func:`banyan.places.gridding.apply_grids`."""
    user = request.user
    if not can(user, Action.CHANGE_PLACES):
        raise PermissionDenied(_("Your role cannot change places."))
    community = get_region_by_code_for(user, code, Action.CHANGE_PLACES)
    if community.kind != RegionKind.COMMUNITY:
        raise Http404
    save_form = None
    if request.method == "POST":
        save_form = GridsForm(request.POST)
        if save_form.is_valid():
            grids = _renamed(save_form.cleaned_data["grids"], request.POST)
            try:
                result = gridding.apply_grids(community, grids, actor=user)
            except InvalidInput as exc:
                save_form.add_error("grids", exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "Grids saved: %(created)s new, %(updated)s changed, %(removed)s removed; "
                        "%(moved)s buildings moved."
                    )
                    % {
                        "created": len(result.created),
                        "updated": len(result.updated),
                        "removed": len(result.removed),
                        "moved": result.moved,
                    },
                )
                for problem in result.outside:
                    messages.warning(request, problem["problem"])
                return redirect("places:grid-editor", community.code)
    return _render_grid_editor(request, community, save_form)


def _render_grid_editor(request, community: Region, save_form: GridsForm | None):
    user = request.user
    grids = list(community.children.filter(kind=RegionKind.GRID).order_by("code"))
    buildings = list(gridding.community_buildings(community).select_related("grid").order_by("code"))
    households = _counts(
        Household.objects.restrict(user).filter(unit__building__in=buildings), "unit__building"
    )
    residents = _counts(
        Resident.objects.restrict(user).filter(household__unit__building__in=buildings),
        "household__unit__building",
    )
    by_grid: dict[int, list[Building]] = defaultdict(list)
    for building in buildings:
        by_grid[building.grid_id].append(building)
    for grid in grids:
        grid.building_count = len(by_grid[grid.pk])
        grid.household_count = sum(households.get(b.pk, 0) for b in by_grid[grid.pk])
        grid.resident_count = sum(residents.get(b.pk, 0) for b in by_grid[grid.pk])
    if save_form is None:
        save_form = GridsForm(initial={"grids": _grids_geojson(grids)})

    proposal_form = GridProposalForm(request.GET if "target" in request.GET else None)
    proposals: list[gridding.Proposal] = []
    proposal_rows: list[dict] = []
    proposal_geojson = ""
    if proposal_form.is_bound and proposal_form.is_valid():
        measure = proposal_form.cleaned_data["measure"]
        weights = {"households": households, "residents": residents}.get(measure)
        try:
            proposals = gridding.propose_grids(
                community, target=proposal_form.cleaned_data["target"], measure=measure, weights=weights
            )
        except InvalidInput as exc:
            proposal_form.add_error(exc.field if exc.field in proposal_form.fields else None, exc.message)
        else:
            proposal_geojson = json.dumps(
                {"type": "FeatureCollection", "features": [p.as_feature() for p in proposals]},
                ensure_ascii=False,
            )
            proposal_rows = [
                {
                    "code": p.code,
                    "name_zh": p.name_zh,
                    "name_en": p.name_en,
                    "building_count": len(p.building_ids),
                    "household_count": sum(households.get(pk, 0) for pk in p.building_ids),
                    "resident_count": sum(residents.get(pk, 0) for pk in p.building_ids),
                }
                for p in proposals
            ]
    map_data = {
        "community": community.boundary,
        "buildings": [
            {
                "code": b.code,
                "name": b.name,
                "grid": b.grid.code,
                "latitude": b.latitude,
                "longitude": b.longitude,
                "footprint": b.footprint,
            }
            for b in buildings
        ],
        "proposal": json.loads(proposal_geojson) if proposal_geojson else None,
    }
    context = {
        "community": community,
        "grids": grids,
        "save_form": save_form,
        "proposal_form": proposal_form,
        "proposals": proposals,
        "proposal_rows": proposal_rows,
        "proposal_geojson": proposal_geojson,
        "map_data": map_data,
        "nav": "places",
    }
    return render(request, "places/grid_editor.html", context)
