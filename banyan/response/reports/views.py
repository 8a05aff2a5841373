"""Resident report pages: report a problem in a few steps (what, where, a description, a photo),
see possible duplicates before submitting, follow my reports, and rate the outcome once closed.

Anyone who may report problems (residents, and staff who report on their rounds) may use them; the
pages show the user's own reports only: a report of someone else is the same 404 as a missing one.
Every page works without JavaScript: the duplicate check is a step of its own (``check=1``). A photo
checked at that step is kept in the session until the report is submitted, so it is not asked again.
"""

from __future__ import annotations

import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from banyan.core import throttle
from banyan.core.access import Action, can
from banyan.core.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from banyan.core.views import service_errors
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places.choices import RegionKind
from banyan.places.geo import haversine_m
from banyan.places.models import Building, Region
from banyan.response.forms import category_label
from banyan.response.models import Report, StatusChoices
from banyan.response.photos import photo_response
from banyan.response.reports import services as reports
from banyan.response.reports.forms import NotSolvedForm, RatingForm, ReportForm, first_aid, icon

KEPT_PHOTO = "report_photo"  # the session key of a photo checked at the duplicate step


def _require_reporter(user) -> None:
    if not can(user, Action.REPORT_INCIDENTS):
        raise DjangoPermissionDenied


def _language() -> str:
    return get_language() or ""


def _home_unit(user):
    resident = getattr(user, "resident", None)
    household = getattr(resident, "household", None) if resident is not None else None
    return household.unit if household is not None else None


def _buildings(user, home_unit) -> list[Building]:
    """The buildings of the user's community (their home's, else their region's), else in scope."""
    community = None
    if home_unit is not None:
        community = home_unit.building.grid.parent
    elif user.region_id is not None:
        region = user.region
        community = region.parent if region.kind == RegionKind.GRID else region
        if community is not None and community.kind != RegionKind.COMMUNITY:
            community = None
    if community is not None:
        found = Building.objects.filter(grid__path__startswith=community.path)
    else:
        found = Building.objects.restrict(user)
    return list(found.order_by("code"))


def _place_map(form: ReportForm) -> dict:
    """What the report form's map draws: the grids of the resident's community and its buildings
    (footprint, else a point), from Banyan's own data; no personal data."""
    buildings = list(form.buildings.values())
    grids = Region.objects.filter(pk__in={b.grid_id for b in buildings}).exclude(boundary=None)
    return {
        "areas": [{"boundary": grid.boundary} for grid in grids.order_by("code")],
        "buildings": [
            {
                "name": b.name,
                "footprint": b.footprint,
                "latitude": b.latitude,
                "longitude": b.longitude,
            }
            for b in buildings
        ],
    }


def _report_form(request: AuthenticatedHttpRequest, data=None, files=None) -> ReportForm:
    user = request.user
    home_unit = _home_unit(user)
    form = ReportForm(
        data,
        files,
        has_home=home_unit is not None,
        buildings=_buildings(user, home_unit),
        language=_language(),
    )
    if data is None:
        # "Get help" on the home page opens the form with the category (and place) chosen: any value
        # that is not one of the choices is left out.
        for name in ("category", "place"):
            value = request.GET.get(name, "")
            if value in {str(code) for code, _label in form.fields[name].choices}:  # type: ignore[attr-defined]
                form.initial[name] = value
    return form


def _chosen_category(form: ReportForm) -> str:
    """The category the form shows chosen (sent, or preset by the page's address)."""
    if form.is_bound:
        return str(form.data.get("category", ""))
    return str(form.initial.get("category", ""))


def _first_aid_context(form: ReportForm) -> dict:
    """The first-aid advice of every category that has one (the page's script shows the chosen one;
    without script, the chosen one is shown)."""
    chosen = _chosen_category(form)
    advice = [first_aid(code) for code, _label in form.fields["category"].choices]  # type: ignore[attr-defined]
    return {"first_aid": [a for a in advice if a is not None], "first_aid_chosen": chosen}


def status_label(status: str) -> str:
    return str(StatusChoices(status).label) if status in StatusChoices.values else status


def _nearest_building(report: Report) -> Building | None:
    """The building nearest a spot chosen on the map, among those of the report's community."""
    if report.latitude is None or report.longitude is None:
        return None
    community = report.incident.community
    buildings = Building.objects.filter(grid__path__startswith=community.path).only(
        "name", "latitude", "longitude"
    )
    return min(
        buildings,
        key=lambda b: haversine_m(report.longitude, report.latitude, b.longitude, b.latitude),  # type: ignore[arg-type]
        default=None,
    )


def place_words(report: Report, language: str) -> str:
    """Where the report is, as residents say it: "My home (3幢2单元502)", "3幢2单元502", "3幢", a
    facility's name, or near which building a spot on the map is."""
    unit_text = reports.unit_words(report.unit, language) if report.unit is not None else ""
    if report.is_home:
        return _("My home (%(place)s)") % {"place": unit_text} if unit_text else _("My home")
    if unit_text:
        return unit_text
    if report.facility is not None:
        facility = report.facility
        return facility.name_zh if language.startswith("zh") or not facility.name_en else facility.name_en
    if report.building is not None:
        return report.building.name
    nearest = _nearest_building(report)
    if nearest is not None:
        return _("The spot marked on the map, near %(building)s") % {"building": nearest.name}
    if report.address_string:
        return report.address_string
    return _("The spot marked on the map") if report.latitude is not None else ""


def _map_of(report: Report) -> dict | None:
    """What the report's map draws: its point, the building's footprint, and the place in words (the
    map's label). None when the report has no point."""
    building = report.unit.building if report.unit is not None else report.building
    if building is not None:
        point = (building.latitude, building.longitude)
    elif report.facility is not None:
        point = (report.facility.latitude, report.facility.longitude)
    elif report.latitude is not None and report.longitude is not None:
        point = (report.latitude, report.longitude)
    else:
        return None
    return {
        "latitude": point[0],
        "longitude": point[1],
        "footprint": building.footprint if building is not None else None,
        "label": report.place_text,
    }


def describe(report: Report, language: str) -> Report:
    """Set what the pages show of a report: the category with its icon, status in words, the place
    in words and who is responsible."""
    report.category_name = category_label(report.category, language)
    report.category_icon = icon(report.category)
    report.status_label = status_label(report.incident.status)
    report.responsible = reports.who_is_responsible(report)
    report.place_text = place_words(report, language)
    return report


def _duplicate_rows(user, incidents, language: str) -> list[dict]:
    """What the duplicate step shows of each open report nearby: what, where (the building, never a
    neighbour's flat), its status, when, how many said "me too", and whether the user did already."""
    mine = set(
        Report.objects.filter(reporter=user, incident__in=incidents).values_list("incident", flat=True)
    )
    return [
        {
            "pk": incident.pk,
            "category": category_label(incident.category, language),
            "icon": icon(incident.category),
            "status": status_label(incident.status),
            "place": incident.building.name if incident.building_id else "",
            "created_at": incident.created_at,
            "supporters": reports.supporters(incident),
            "mine": incident.pk in mine,
        }
        for incident in incidents
    ]


def _photo(request: AuthenticatedHttpRequest, form: ReportForm) -> tuple[bool, bytes | None]:
    """The photo sent with the form (checked), else the one kept from the duplicate step; False when
    the photo is refused (the error is on its field)."""
    upload = form.cleaned_data.get("photo")
    if upload:
        try:
            clean, _type = reports.clean_photo(upload.read())
        except InvalidInput as exc:
            form.add_service_error(exc)
            return False, None
        return True, clean
    kept = request.session.get(KEPT_PHOTO)
    if kept and request.POST.get("kept_photo") == "1":
        return True, base64.b64decode(kept)
    return True, None


def _duplicates(user, form: ReportForm) -> list:
    """Open incidents of the form's category at or near its place (my home: my home's building). None
    for a category about one person (a fall, a wellness check): a neighbour's is never shown, and an
    emergency is not held up."""
    if form.cleaned_data["category"] in reports.PERSONAL_CATEGORIES:
        return []
    place = form.place_arguments()
    if place.get("home"):
        place = {"unit": _home_unit(user)}
    return reports.possible_duplicates(form.cleaned_data["category"], **place)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def report_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Report a problem. "Next" (``check=1``) looks for open reports of the same kind nearby: when
    there are some, they are shown with the form again and a "Submit anyway" button; when there are
    none, the report is submitted at once."""
    user = request.user
    _require_reporter(user)
    language = _language()
    context: dict = {"nav": "report"}
    if request.method != "POST":
        request.session.pop(KEPT_PHOTO, None)
        form = _report_form(request)
        context.update(form=form, place_map=_place_map(form), **_first_aid_context(form))
        return render(request, "response/reports/report_form.html", context)
    form = _report_form(request, request.POST, request.FILES)
    context.update(place_map=_place_map(form), **_first_aid_context(form))
    if form.is_valid():
        accepted, photo = _photo(request, form)
        if accepted:
            data = form.cleaned_data
            place = form.place_arguments()
            try:
                duplicates = _duplicates(user, form) if request.POST.get("check") == "1" else []
                if duplicates:
                    if photo is not None:
                        request.session[KEPT_PHOTO] = base64.b64encode(photo).decode()
                    context.update(
                        form=form,
                        duplicates=_duplicate_rows(user, duplicates, language),
                        checked=True,
                        kept_photo=photo is not None,
                    )
                    return render(request, "response/reports/report_form.html", context)
                throttle.check(request, "reports")
                throttle.check(request, "photos", count=int(photo is not None), field="photo")
                report = reports.submit_report(
                    actor=user,
                    category=data["category"],
                    description=data["description"],
                    photo=photo,
                    **place,
                )
            except TooManyRequests as exc:
                form.add_service_error(exc)
                context.update(form=form)
                return render(request, "response/reports/report_form.html", context, status=429)
            except InvalidInput as exc:
                form.add_service_error(exc)
            else:
                request.session.pop(KEPT_PHOTO, None)
                messages.success(
                    request,
                    _("Thank you. Your report %(number)s was received; %(body)s is responsible.")
                    % {"number": report.pk, "body": reports.who_is_responsible(report)["name"]},
                )
                return redirect("reports:detail", pk=report.pk)
    context.update(
        form=form, kept_photo=bool(request.session.get(KEPT_PHOTO)) and "kept_photo" in request.POST
    )
    return render(request, "response/reports/report_form.html", context)


REPORT_RELATED = (
    "incident",
    "incident__accountable",
    "incident__community",
    "category",
    "building",
    "facility",
    "unit__building",
)


@login_required
@require_GET
@service_errors
def report_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """My reports, newest first: what, where, the status in words and who is responsible."""
    _require_reporter(request.user)
    return _render_list(request)


def _render_list(request: AuthenticatedHttpRequest, status: int = 200) -> HttpResponse:
    user = request.user
    language = _language()
    mine = Report.objects.restrict(user).filter(reporter=user).select_related(*REPORT_RELATED)[:100]
    rows = [describe(report, language) for report in mine]
    return render(
        request, "response/reports/report_list.html", {"reports": rows, "nav": "reports"}, status=status
    )


def _load(user, pk: int) -> Report:
    """The user's own report (staff see other people's reports on the incident pages)."""
    report = reports.get_report_for(user, pk)
    if report.reporter_id != user.pk:
        raise NotFound(_("No such report."))
    return Report.objects.select_related(*REPORT_RELATED).filter(pk=report.pk).first() or report


def _render_report(
    request: AuthenticatedHttpRequest,
    report: Report,
    *,
    form: RatingForm | None = None,
    not_solved_form: NotSolvedForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """A report's page: status and place (in words and on the map), first-aid advice where it fits,
    the resolution (note and photos) before the rating and "not solved", and the steps so far."""
    language = _language()
    report = describe(report, language)
    timeline = [
        {**step, "status_label": status_label(step["status"])} for step in reports.timeline_summary(report)
    ]
    resolution = (
        reports.resolution_of(report) if report.incident.resolved_at is not None or report.is_closed else None
    )
    photos = [
        {"url": reverse("reports:photo", args=[report.pk, photo.pk]), "at": photo.at}
        for photo in (resolution.photos if resolution is not None else ())
    ]
    can_rate = report.is_closed and report.rating is None
    can_reopen = reports.can_reopen(report)
    context = {
        "report": report,
        "timeline": timeline,
        "resolution": resolution,
        "resolution_photos": photos,
        "rating_form": (form or RatingForm(auto_id="id_rating_%s")) if can_rate else None,
        "not_solved_form": (not_solved_form or NotSolvedForm(auto_id="id_reopen_%s")) if can_reopen else None,
        "supporters": reports.supporters(report.incident),
        "first_reporter": report.incident.reports.order_by("pk").values_list("pk", flat=True).first()
        == report.pk,
        "report_map": _map_of(report),
        "first_aid_advice": first_aid(report.category.code),
        "nav": "reports",
    }
    return render(request, "response/reports/report_detail.html", context, status=status)


@login_required
@require_GET
@service_errors
def report_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A report: its status, who is responsible, the steps so far, and the rating once closed."""
    _require_reporter(request.user)
    return _render_report(request, _load(request.user, pk))


@login_required
@require_POST
@service_errors
def report_rate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Rate the outcome of my closed report, once."""
    user = request.user
    _require_reporter(user)
    report = _load(user, pk)
    if not report.is_closed or report.rating is not None:
        # The page offers the rating only for a closed report not yet rated: say why, change nothing.
        messages.warning(
            request,
            _("A report can be rated once it is closed.")
            if not report.is_closed
            else _("This report has been rated already."),
        )
        return _render_report(request, report, status=409)
    form = RatingForm(request.POST, auto_id="id_rating_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            reports.rate_report(actor=user, report=report, rating=data["rating"], comment=data["comment"])
        except Conflict as exc:
            messages.warning(request, exc.message)
            return _render_report(request, _load(user, pk), status=409)
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Thank you for rating how your report was dealt with."))
            return redirect("reports:detail", pk=pk)
    return _render_report(request, report, form=form)


@login_required
@require_POST
@service_errors
def report_reopen(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """ "Not solved": my resolved or closed report goes back, with my reason, to those who had it."""
    user = request.user
    _require_reporter(user)
    report = _load(user, pk)
    if not reports.can_reopen(report):
        messages.warning(
            request,
            _("You have rated this report already; if the problem is back, report it again.")
            if report.rating is not None
            else _("Only a resolved or closed report can be reopened."),
        )
        return _render_report(request, report, status=409)
    form = NotSolvedForm(request.POST, auto_id="id_reopen_%s")
    if form.is_valid():
        try:
            throttle.check(request, "reports")
            reports.reopen_report(actor=user, report=report, reason=form.cleaned_data["reason"])
        except TooManyRequests as exc:
            messages.warning(request, exc.message)
            return _render_report(request, report, not_solved_form=form, status=429)
        except Conflict as exc:
            messages.warning(request, exc.message)
            return _render_report(request, _load(user, pk), status=409)
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("Your report is open again and has gone back to %(body)s, with what you wrote.")
                % {"body": reports.who_is_responsible(report)["name"]},
            )
            return redirect("reports:detail", pk=pk)
    return _render_report(request, report, not_solved_form=form)


@login_required
@require_POST
@service_errors
def report_support(request: AuthenticatedHttpRequest, incident_id: int) -> HttpResponse:
    """ "Me too" on an open report nearby: I join it instead of reporting it again, and follow it
    among my reports."""
    user = request.user
    _require_reporter(user)
    try:
        throttle.check(request, "reports")
        report = reports.support_incident(actor=user, incident_id=incident_id)
    except TooManyRequests as exc:
        messages.warning(request, exc.message)
        return redirect("reports:new")
    except Conflict as exc:
        messages.warning(request, exc.message)
        return _render_list(request, status=409)
    count = reports.supporters(report.incident)
    messages.success(
        request,
        _("Thank you: you are one of %(count)d neighbours who reported it too. You will hear how it goes.")
        % {"count": count},
    )
    return redirect("reports:detail", pk=report.pk)


@login_required
@require_GET
@service_errors
def report_photo(request: AuthenticatedHttpRequest, pk: int, photo_id: int) -> HttpResponse:
    """A photo of my report's resolution (the same 404 for "missing" and "not mine")."""
    _require_reporter(request.user)
    photo = reports.resolution_photo(_load(request.user, pk), photo_id)
    return photo_response(photo.photo, photo.photo_type, f"report-{pk}-{photo_id}")


def _grid_worker_names(workers, language: str) -> list[str]:
    """Grid workers' names as they are addressed: family name first in Chinese."""
    if language.startswith("zh"):
        return [f"{w.last_name}{w.first_name}" or w.username for w in workers]
    return [w.get_full_name() or w.username for w in workers]


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def contact(request: AuthenticatedHttpRequest) -> HttpResponse:
    """My grid worker: who they are, and a button that asks them to get in touch."""
    user = request.user
    _require_reporter(user)
    language = _language()
    grid, workers = reports.grid_workers_of(user)
    status = 200
    if request.method == "POST":
        try:
            throttle.check(request, "reports")
        except TooManyRequests as exc:
            messages.warning(request, exc.message)
            status = 429
        else:
            if reports.ask_grid_worker(actor=user):
                messages.success(request, _("Your grid worker has been asked to get in touch with you."))
                return redirect("reports:contact")
            messages.warning(request, _("There is no grid worker to ask: call the community office."))
            status = 409
    context = {
        "grid": grid,
        "grid_name": (grid.name_zh if language.startswith("zh") or not grid.name_en else grid.name_en)
        if grid
        else "",
        "workers": _grid_worker_names(workers, language),
        "nav": "contact",
    }
    return render(request, "response/reports/contact.html", context, status=status)
