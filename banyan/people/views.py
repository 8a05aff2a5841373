"""Staff pages for households and residents: masked by default, revealed with a purpose.

Personal values (ID number, phone, care details) are shown only masked. The reveal form
POSTs to :func:`resident_reveal`, which calls :func:`~banyan.people.services.reveal_resident`
(one audit entry per field, with the purpose) and renders the clear values in that one
response, marked ``no-store``. Values and purpose never appear in a URL, a redirect or a log.

Ledgers (台账): :func:`ledger_import` checks an uploaded file (a dry run) and, when every row is
correct, offers to import it. The file is read within the request and never kept, since it holds
ID numbers; so the real run asks for the same file again, and imports it only if it is the file
that passed the check (a keyed digest travels in the form). :func:`ledger_export` downloads a
grid's residents masked; :func:`ledger_export_reveal` with the columns in clear, for a purpose.
"""

from __future__ import annotations

import csv
import io
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from banyan.core import clock
from banyan.core.access import REVEALABLE_FIELDS, Action, can, revealable_fields
from banyan.core.errors import Conflict, InvalidInput, NotFound
from banyan.core.views import private, service_errors
from banyan.people import carers, ledgers, rights, stepup
from banyan.people.caching import no_store
from banyan.people.choices import CareKind, CareLevel, CorrectionStatus, ResidentTag
from banyan.people.forms import (
    CorrectionForm,
    CorrectionRejectForm,
    LedgerExportForm,
    LedgerImportForm,
    OwnRevealForm,
    RevealForm,
)
from banyan.people.models import CareProfile, Resident, Vehicle, may_see_care
from banyan.people.pdf import render_own_data
from banyan.people.place_views import render_grid_detail
from banyan.people.services import get_household_for, get_resident_for, reveal_resident
from banyan.places.choices import RegionKind
from banyan.places.services import get_region_by_code_for

# Labels of the keys that care details use; an unknown key is shown as it is.
DETAIL_LABELS = {
    "conditions": _("Conditions"),
    "medications": _("Medications"),
    "needs": _("Needs"),
    "family_contact": _("Family contact"),
    "disability": _("Disability"),
    "grade": _("Grade"),
    "mobility_aid": _("Mobility aid"),
    "stage": _("Stage"),
    "weeks": _("Weeks of pregnancy"),
    "due_date": _("Due date"),
    "guardian": _("Guardian"),
    "subsidy": _("Subsidy"),
}


def _detail_rows(details) -> list[tuple[str, str]]:
    """Care details as (label, text) rows; lists are joined with the language's list separator."""
    if not isinstance(details, dict):
        return [("", str(details))] if details else []
    separator = pgettext("list separator", ", ")
    rows = []
    for key, value in details.items():
        text = separator.join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        rows.append((str(DETAIL_LABELS.get(key, key)), text))
    return rows


def _active_care_profiles(user):
    """Active care profiles the user may know of (care kinds are health data)."""
    return CareProfile.objects.restrict(user).filter(is_active=True).defer("details").order_by("kind")


def _allowed_reveals(user) -> frozenset[str]:
    return revealable_fields(user) & frozenset(REVEALABLE_FIELDS)


def _label(choices, value) -> str:
    try:
        return choices(value).label
    except ValueError:
        return str(value)


@login_required
@require_GET
@service_errors
def household_detail(request, pk: int):
    user = request.user
    household = get_household_for(user, pk)
    residents = list(
        Resident.objects.restrict(user)
        .filter(household=household)
        .prefetch_related(Prefetch("care_profiles", queryset=_active_care_profiles(user)))
    )
    today = clock.today()
    for resident in residents:
        resident.age = resident.age_on(today)
    context = {
        "household": household,
        "unit": household.unit,
        "building": household.unit.building,
        "grid": household.grid,
        "residents": residents,
        "care_shown": may_see_care(user),
        "vehicles": list(Vehicle.objects.restrict(user).filter(household=household)),
        "nav": "places",
    }
    return render(request, "people/household_detail.html", context)


def _render_resident(request, resident: Resident, *, form=None, reveal_open=False, revealed=None):
    user = request.user
    allowed = _allowed_reveals(user)
    if form is None and allowed:
        form = RevealForm(allowed=allowed)
    household = resident.household
    context = {
        "resident": resident,
        "household": household,
        "unit": household.unit,
        "building": household.unit.building,
        "grid": household.grid,
        "age": resident.age_on(clock.today()),
        "tags": [_label(ResidentTag, tag) for tag in resident.tags or []],
        "care_profiles": list(_active_care_profiles(user).filter(resident=resident)),
        # Whether care profiles exist is health data: a role that may not see care is told so, never
        # "none" (an 83-year-old living alone with two profiles is not someone without care).
        "care_shown": may_see_care(user),
        "may_manage_carers": carers.may_manage(user),
        "reveal_form": form,
        "reveal_open": reveal_open,
        "revealed": revealed or {},
        "nav": "places",
    }
    return render(request, "people/resident_detail.html", context)


@login_required
@require_GET
@service_errors
def resident_detail(request, pk: int):
    resident = get_resident_for(request.user, pk)
    return _render_resident(request, resident)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def resident_reveal(request, pk: int):
    """GET: the reveal form on the page (the fallback without JavaScript). POST: reveal."""
    user = request.user
    resident = get_resident_for(user, pk)
    allowed = _allowed_reveals(user)
    if not allowed:
        raise PermissionDenied
    if request.method == "GET":
        return _render_resident(request, resident, form=RevealForm(allowed=allowed), reveal_open=True)
    form = RevealForm(request.POST, allowed=allowed)
    if form.is_valid():
        try:
            values = reveal_resident(
                actor=user,
                resident=resident,
                fields=form.cleaned_data["field"],
                purpose=form.cleaned_data["purpose"],
            )
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            if "care_details" in values:
                values["care_details"] = [
                    {
                        "kind": _label(CareKind, item["kind"]),
                        "level": _label(CareLevel, item["level"]),
                        "details": _detail_rows(item["details"]),
                    }
                    for item in values["care_details"]
                ]
            return no_store(_render_resident(request, resident, revealed=values))
    return no_store(_render_resident(request, resident, form=form, reveal_open=True))


# --- ledgers ---------------------------------------------------------------------------

# What to enter in each import column, by column key (the keys and headers are in ledgers.COLUMNS).
COLUMN_HELP = {
    "household_code": _("The household's code. Rows with the same code form one household."),
    "building_code": _("The code of a building in your area, as its page shows it."),
    "unit_number": _("The unit in that building, e.g. 1-01-101."),
    "name": _("The resident's full name."),
    "id_number": _("The 18-character resident ID number; its check character is verified."),
    "phone": _("An 11-digit mobile number."),
    "relation": _("Relation to the head of household, e.g. 户主, 配偶, 子女, 父母, 租户."),
    "residence_status": _("户在人在 (the default), 人在户不在 or 户在人不在."),
    "tags": _("Any of 党员, 退役军人, 志愿者, 楼栋长, 业主, 租户, 重点关爱, separated by “;”."),
}
TEMPLATE_FILENAME = "ledger-template.csv"


def _require(user, action: Action) -> None:
    if not can(user, action):
        raise PermissionDenied


def _file_digest(data: bytes) -> str:
    """A keyed digest of a ledger file: ties the real run to the file that passed the check."""
    return salted_hmac("banyan.people.ledger-import", data, algorithm="sha256").hexdigest()


def _import_columns() -> list[dict]:
    return [
        {"key": c.key, "header": c.header_zh, "required": c.required, "help": COLUMN_HELP[c.key]}
        for c in ledgers.COLUMNS
    ]


def _error_rows(report) -> list[dict]:
    """The report's problems with the column named as in the file: Chinese header and key."""
    headers = {c.key: c.header_zh for c in ledgers.COLUMNS}
    return [
        {
            "row": error.row,
            "header": headers.get(error.field) or gettext("The whole file"),
            "key": error.field if error.field in headers else "",
            "message": error.message,
        }
        for error in report.errors
    ]


def _render_import(request, form, *, report=None, confirm_form=None, other_file=False):
    context = {
        "form": form,
        "report": report,
        "errors": _error_rows(report) if report else [],
        "confirm_form": confirm_form,
        "other_file": other_file,
        "columns": _import_columns(),
        "max_rows": ledgers.MAX_ROWS,
        "max_megabytes": ledgers.MAX_BYTES // 2**20,
        "nav": "ledgers",
    }
    return private(render(request, "people/ledger_import.html", context))


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def ledger_import(request):
    """GET: the form. POST: check the file (dry run), or import it if it is the file that passed."""
    user = request.user
    _require(user, Action.IMPORT_LEDGER)
    if request.method == "GET":
        return _render_import(request, LedgerImportForm())
    form = LedgerImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_import(request, form)
    upload = form.cleaned_data["file"]
    data = upload.read(ledgers.MAX_BYTES + 1)
    digest = _file_digest(data)
    wanted_real_run = not form.cleaned_data["dry_run"]
    other_file = wanted_real_run and not constant_time_compare(form.cleaned_data["checked"], digest)
    try:
        report = ledgers.import_residents(
            actor=user, file=data, filename=upload.name, dry_run=not wanted_real_run or other_file
        )
    except InvalidInput as exc:
        form.add_service_error(exc)
        return _render_import(request, form, other_file=other_file)
    if not report.dry_run and report.is_valid:
        messages.success(
            request,
            gettext("The ledger was imported. New households: %(households)d. New residents: %(residents)d.")
            % {"households": report.created_households, "residents": report.created_residents},
        )
        return redirect("places:grid-list")
    confirm_form = None
    if report.dry_run and report.is_valid:
        confirm_form = LedgerImportForm(initial={"dry_run": "0", "checked": digest}, auto_id="confirm_%s")
    return _render_import(
        request, LedgerImportForm(), report=report, confirm_form=confirm_form, other_file=other_file
    )


@login_required
@require_GET
@service_errors
def ledger_template(request):
    """An empty ledger to fill in: the Chinese headers only, as UTF-8 with a BOM for Excel."""
    _require(request.user, Action.IMPORT_LEDGER)
    buffer = io.StringIO()
    csv.writer(buffer).writerow([c.header_zh for c in ledgers.COLUMNS])
    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILENAME}"'
    return response


def _xlsx_response(content: bytes, grid_code: str) -> HttpResponse:
    response = HttpResponse(content, content_type=ledgers.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{ledgers.export_filename(grid_code)}"'
    return no_store(response)


@login_required
@require_GET
@service_errors
def ledger_export(request):
    """The residents of the grid ``?grid=CODE`` as XLSX, ID numbers and phones masked (audited)."""
    grid_code = request.GET.get("grid", "")
    content = ledgers.export_residents_xlsx(actor=request.user, grid_code=grid_code)
    return _xlsx_response(content, grid_code)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def ledger_export_reveal(request):
    """The grid's residents with the chosen columns in clear, for a stated purpose.

    The grid is in the URL (``?grid=CODE``); columns and purpose in the body only. An invalid
    form shows the grid page again with the errors, and nothing is exported or audited. A GET
    (the language or elder-mode switch on that page) goes back to the grid page's form.
    """
    user = request.user
    _require(user, Action.EXPORT_LEDGER)
    allowed = LedgerExportForm.allowed_for(user)
    if not allowed:
        raise PermissionDenied
    grid = get_region_by_code_for(user, request.GET.get("grid", ""), Action.EXPORT_LEDGER)
    if grid.kind != RegionKind.GRID:
        raise NotFound(gettext("Grid not found."))
    if request.method == "GET":
        return redirect(reverse("places:grid-detail", args=[grid.pk]) + "#ledger-reveal")
    form = LedgerExportForm(request.POST, allowed=allowed)
    if form.is_valid():
        back = reverse("places:grid-detail", args=[grid.pk])
        if (refused := stepup.refusal(request, back=back)) is not None:
            return refused
        try:
            content = ledgers.export_residents_xlsx(
                actor=user,
                grid_code=grid.code,
                reveal_fields=form.cleaned_data["field"],
                purpose=form.cleaned_data["purpose"],
            )
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            return _xlsx_response(content, grid.code)
    return no_store(render_grid_detail(request, grid, export_form=form))


# --- residents' own rights (PIPL Art. 44–47) -----------------------------------------------------


def _render_my_data(request, *, revealed=None, reveal_form=None, correction_form=None):
    data = rights.held_about(request.user)
    if revealed and "care_details" in revealed:
        revealed["care_details"] = [
            {
                "kind": _label(CareKind, item["kind"]),
                "level": _label(CareLevel, item["level"]),
                "details": _detail_rows(item["details"]),
            }
            for item in revealed["care_details"]
        ]
    context = {
        "data": data,
        "revealed": revealed or {},
        "reveal_form": reveal_form or OwnRevealForm(),
        "correction_form": correction_form or CorrectionForm(),
        "nav": "my-data",
    }
    response = render(request, "people/my_data.html", context)
    return no_store(response) if revealed else private(response)


@login_required
@require_GET
@service_errors
def my_data(request):
    """What Banyan holds about me, masked; who viewed it; a copy; a correction request."""
    return _render_my_data(request)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def my_data_reveal(request):
    """POST: my own fields in clear on this answer only (audited). GET goes back to the page."""
    if request.method == "GET":
        return redirect(reverse("people:my-data"))
    form = OwnRevealForm(request.POST)
    if not form.is_valid():
        return _render_my_data(request, reveal_form=form)
    values = rights.reveal_own(actor=request.user, fields=form.cleaned_data["field"])
    return _render_my_data(request, revealed=values)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def my_data_export(request):
    """POST ``format=json|pdf``: a copy of everything held about me, in clear (audited, never cached)."""
    if request.method == "GET":
        return redirect(reverse("people:my-data"))
    file_format = request.POST.get("format", "")
    try:
        export = rights.export_own_data(actor=request.user, file_format=file_format)
        if file_format == "pdf":
            response = HttpResponse(render_own_data(export.data), content_type="application/pdf")
            response["Content-Disposition"] = 'attachment; filename="banyan-my-data.pdf"'
            return no_store(response)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect(reverse("people:my-data") + "#copy")
    response = HttpResponse(
        json.dumps(export.data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="banyan-my-data.json"'
    return no_store(response)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def my_correction_new(request):
    """POST: file a correction request; then back to my data (the values never travel in a URL)."""
    if request.method == "GET":
        return redirect(reverse("people:my-data") + "#corrections")
    form = CorrectionForm(request.POST)
    if form.is_valid():
        try:
            rights.request_correction(actor=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, gettext("Your correction request was sent to the staff of your area."))
            return redirect(reverse("people:my-data") + "#corrections")
    return _render_my_data(request, correction_form=form)


@login_required
@require_GET
@service_errors
def correction_list(request):
    """Staff: the correction requests of residents in scope, pending first."""
    _require(request.user, Action.CHANGE_PEOPLE)
    status = request.GET.get("status") or CorrectionStatus.PENDING
    if status not in CorrectionStatus.values:
        status = CorrectionStatus.PENDING
    corrections = list(rights.corrections_for(request.user, status)[:200])
    context = {
        "corrections": corrections,
        "status": status,
        "statuses": CorrectionStatus.choices,
        "nav": "corrections",
    }
    return private(render(request, "people/correction_list.html", context))


def _render_correction(request, correction, *, reject_form=None, status=200):
    context = {
        "correction": correction,
        "summary": rights.correction_summary(correction),
        "reject_form": reject_form or CorrectionRejectForm(),
        "nav": "corrections",
    }
    return no_store(render(request, "people/correction_detail.html", context, status=status))


@login_required
@require_GET
@service_errors
def correction_detail(request, pk: int):
    _require(request.user, Action.CHANGE_PEOPLE)
    return _render_correction(request, rights.get_correction_for(request.user, pk, Action.CHANGE_PEOPLE))


@login_required
@require_http_methods(["POST"])
@service_errors
def correction_accept(request, pk: int):
    _require(request.user, Action.CHANGE_PEOPLE)
    correction = rights.get_correction_for(request.user, pk, Action.CHANGE_PEOPLE)
    try:
        rights.accept_correction(actor=request.user, correction=correction)
    except (InvalidInput, Conflict) as exc:  # answered meanwhile, or the value no longer fits (409)
        correction.refresh_from_db()
        messages.warning(request, exc.message)
        return _render_correction(request, correction, status=409)
    messages.success(request, gettext("The correction was accepted and the registry entry changed."))
    return redirect("people:correction-list")


@login_required
@require_http_methods(["POST"])
@service_errors
def correction_reject(request, pk: int):
    _require(request.user, Action.CHANGE_PEOPLE)
    correction = rights.get_correction_for(request.user, pk, Action.CHANGE_PEOPLE)
    form = CorrectionRejectForm(request.POST)
    if form.is_valid():
        try:
            rights.reject_correction(
                actor=request.user, correction=correction, reason=form.cleaned_data["reason"]
            )
        except InvalidInput as exc:
            form.add_service_error(exc)
        except Conflict as exc:
            correction.refresh_from_db()
            messages.warning(request, exc.message)
            return _render_correction(request, correction, status=409)
        else:
            messages.success(request, gettext("The correction was rejected; the resident sees your reason."))
            return redirect("people:correction-list")
    return _render_correction(request, correction, reject_form=form)
