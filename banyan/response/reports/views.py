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
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from banyan.core import throttle
from banyan.core.access import Action, can
from banyan.core.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from banyan.core.views import service_errors
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places.choices import RegionKind
from banyan.places.models import Building, Region
from banyan.response.forms import category_label
from banyan.response.models import Report, StatusChoices
from banyan.response.reports import services as reports
from banyan.response.reports.forms import RatingForm, ReportForm, icon

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
    return ReportForm(
        data,
        files,
        has_home=home_unit is not None,
        buildings=_buildings(user, home_unit),
        language=_language(),
    )


def status_label(status: str) -> str:
    return str(StatusChoices(status).label) if status in StatusChoices.values else status


def describe(report: Report, language: str) -> Report:
    """Set what the pages show of a report: the category with its symbol, status in words, the place
    and who is responsible."""
    report.category_name = category_label(report.category, language)
    report.category_icon = icon(report.category)
    report.status_label = status_label(report.incident.status)
    report.responsible = reports.who_is_responsible(report)
    if report.is_home:
        report.place_text = _("My home")
    elif report.unit is not None:
        report.place_text = f"{report.unit.building.name} {report.unit.number}"
    elif report.building is not None:
        report.place_text = report.building.name
    else:
        report.place_text = ""
    return report


def _duplicate_rows(incidents, language: str) -> list[dict]:
    return [
        {
            "pk": incident.pk,
            "category": category_label(incident.category, language),
            "status": status_label(incident.status),
            "place": incident.building.name if incident.building_id else "",
            "created_at": incident.created_at,
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
    """Open incidents of the form's category at or near its place (my home: my home's building)."""
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
        context.update(form=form, place_map=_place_map(form))
        return render(request, "response/reports/report_form.html", context)
    form = _report_form(request, request.POST, request.FILES)
    context["place_map"] = _place_map(form)
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
                        duplicates=_duplicate_rows(duplicates, language),
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


REPORT_RELATED = ("incident", "incident__accountable", "category", "building", "unit__building")


@login_required
@require_GET
@service_errors
def report_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """My reports, newest first: what, where, the status in words and who is responsible."""
    user = request.user
    _require_reporter(user)
    language = _language()
    mine = Report.objects.restrict(user).filter(reporter=user).select_related(*REPORT_RELATED)[:100]
    rows = [describe(report, language) for report in mine]
    return render(request, "response/reports/report_list.html", {"reports": rows, "nav": "reports"})


def _load(user, pk: int) -> Report:
    """The user's own report (staff see other people's reports on the incident pages)."""
    report = reports.get_report_for(user, pk)
    if report.reporter_id != user.pk:
        raise NotFound(_("No such report."))
    return Report.objects.select_related(*REPORT_RELATED).filter(pk=report.pk).first() or report


def _render_report(
    request: AuthenticatedHttpRequest, report: Report, *, form: RatingForm | None = None, status: int = 200
) -> HttpResponse:
    language = _language()
    report = describe(report, language)
    timeline = [
        {**step, "status_label": status_label(step["status"])} for step in reports.timeline_summary(report)
    ]
    can_rate = report.is_closed and report.rating is None
    context = {
        "report": report,
        "timeline": timeline,
        "rating_form": (form or RatingForm(auto_id="id_rating_%s")) if can_rate else None,
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
