"""The flats page (``/people/units/import/``): directors, street officers and administrators give a
community's buildings their flats (units), from the property register's flat list or generated.

- The flat list is checked first and written nothing (a dry run of ``unit_import.import_units``); when
  every row is right the same file is chosen again and imported: every row or none, as the ledgers'
  import (``/people/ledgers/import/``) does. A file other than the one that passed is only checked.
- The generator (``/people/units/generate/``, POST) makes the flats of every building of the community
  that has none: so many on each floor of each entrance, of one typical area
  (``unit_import.generate_community_units``).

The page lists, for each community in the person's area, the buildings without a unit: the go-live
readiness check (``buildings without units``) links here.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput
from banyan.core.views import service_errors
from banyan.people import unit_import
from banyan.people.unit_forms import UnitGenerateForm, UnitImportForm
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.places.words import region_words

# Buildings named per community on the page; the rest are counted.
NAMES_SHOWN = 12


def _require(user) -> None:
    if not can(user, Action.CHANGE_PLACES):
        raise PermissionDenied


def _communities(user):
    return (
        Region.objects.restrict(user, Action.CHANGE_PLACES).filter(kind=RegionKind.COMMUNITY).order_by("path")
    )


def _file_digest(data: bytes) -> str:
    """A keyed digest of a flat list: ties the real run to the file that passed the check."""
    return salted_hmac("banyan.people.unit-import", data, algorithm="sha256").hexdigest()


def _lacking(user, communities) -> list[dict]:
    """Each community with the buildings that have no flat yet (named up to ``NAMES_SHOWN``)."""
    rows = []
    for community in communities:
        names = list(unit_import.buildings_without_units(user, community).values_list("name", flat=True))
        rows.append(
            {
                "code": community.code,
                "name": region_words(community),
                "count": len(names),
                "names": names[:NAMES_SHOWN],
                "more": max(len(names) - NAMES_SHOWN, 0),
            }
        )
    return rows


def _columns() -> list[dict]:
    help_by_key = {
        "building": gettext("The building's code, or its name as residents say it, e.g. 3幢."),
        "number": gettext("The unit: 2-05-502 (entrance, floor, room), 2单元502, or 502 with its 单元."),
        "entrance": gettext("The entrance (单元): 2, 2单元, or a name the building gives it."),
        "floor": gettext("The floor; read from the number when it is 2-05-502 or 502."),
        "area": gettext("The exclusive (套内) area in m²; this or 建筑面积."),
        "floor_area": gettext("The gross area in m², used when 专有面积 is not given."),
        "use": gettext("住宅 (the default), 商铺 or 公用."),
    }
    return [
        {
            "header": column.header_zh,
            "key": column.key,
            "required": column.key in ("building", "number"),
            "help": help_by_key[column.key],
        }
        for column in unit_import.COLUMNS
    ]


def _render(
    request, *, import_form, generate_form, report=None, confirm_form=None, other_file=False, status=200
):
    user = request.user
    context = {
        "form": import_form,
        "generate_form": generate_form,
        "report": report,
        # Each problem by its row and column heading, the words as ``message`` (as the ledgers' report).
        "problems": [
            {"row": p["row"], "feature": p["feature"], "column": p["column"], "message": p["problem"]}
            for p in report.problems
        ]
        if report is not None
        else [],
        "confirm_form": confirm_form,
        "other_file": other_file,
        "lacking": _lacking(user, _communities(user)),
        "columns": _columns(),
        "max_rows": unit_import.MAX_ROWS,
        "max_megabytes": unit_import.MAX_BYTES // 2**20,
        "nav": "units",
    }
    return render(request, "people/unit_import.html", context, status=status)


def _initial_community(request, communities) -> str:
    code = request.GET.get("community", "")
    return code if code and any(c.code == code for c in communities) else ""


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def unit_import_view(request):
    """GET: the forms. POST: check a flat list (a dry run), or import it if it is the file that passed."""
    user = request.user
    _require(user)
    communities = list(_communities(user))
    if request.method == "GET":
        initial = {"community": _initial_community(request, communities)}
        return _render(
            request,
            import_form=UnitImportForm(initial=initial, communities=communities),
            generate_form=UnitGenerateForm(initial=initial, communities=communities, auto_id="generate_%s"),
        )
    form = UnitImportForm(request.POST, request.FILES, communities=communities)
    generate_form = UnitGenerateForm(communities=communities, auto_id="generate_%s")
    if not form.is_valid():
        return _render(request, import_form=form, generate_form=generate_form)
    upload = form.cleaned_data["file"]
    community = form.cleaned_data["community"]
    data = upload.read(unit_import.MAX_BYTES + 1)
    digest = _file_digest(data)
    wanted_real_run = not form.cleaned_data["dry_run"]
    other_file = wanted_real_run and not constant_time_compare(form.cleaned_data["checked"], digest)
    try:
        report = unit_import.import_units(
            data,
            filename=upload.name,
            community_code=community,
            dry_run=not wanted_real_run or other_file,
            actor=user,
        )
    except InvalidInput as exc:
        form.add_error("file", exc.message)
        return _render(request, import_form=form, generate_form=generate_form, other_file=other_file)
    if not report.dry_run and not report.refused:
        messages.success(
            request,
            gettext("The flats were imported: %(created)d new, %(updated)d updated.")
            % {"created": report.created, "updated": report.updated},
        )
        return redirect(f"{reverse('people:units-import')}?community={community}")
    confirm_form = None
    if report.dry_run and not report.refused:
        confirm_form = UnitImportForm(
            initial={"community": community, "dry_run": "0", "checked": digest},
            communities=communities,
            auto_id="confirm_%s",
        )
    return _render(
        request,
        import_form=UnitImportForm(initial={"community": community}, communities=communities),
        generate_form=generate_form,
        report=report,
        confirm_form=confirm_form,
        other_file=other_file,
    )


@login_required
@require_POST
@service_errors
def unit_generate_view(request):
    """Make the flats of every building of the community that has none (audited), then show the page."""
    user = request.user
    _require(user)
    communities = list(_communities(user))
    form = UnitGenerateForm(request.POST, communities=communities, auto_id="generate_%s")
    import_form = UnitImportForm(communities=communities)
    if not form.is_valid():
        return _render(request, import_form=import_form, generate_form=form)
    community = form.cleaned_data["community"]
    report = unit_import.generate_community_units(
        actor=user,
        community_code=community,
        flats_per_floor=form.cleaned_data["flats_per_floor"],
        area_m2=form.cleaned_data["area_m2"],
        first_floor=form.cleaned_data["first_floor"] or 1,
    )
    if report.refused:
        for problem in report.problems:
            form.add_error(None, f"{problem['feature']}: {problem['problem']}")
        return _render(request, import_form=import_form, generate_form=form)
    if report.created:
        messages.success(
            request,
            gettext("Flats made: %(units)d, in buildings: %(buildings)d.")
            % {"units": report.created, "buildings": report.buildings},
        )
    else:
        messages.info(request, gettext("Every building of this community already has flats."))
    return redirect(f"{reverse('people:units-import')}?community={community}")
