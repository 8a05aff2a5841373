"""Staff pages for households and residents: masked by default, revealed with a purpose.

Personal values (ID number, phone, care details) are shown only masked. The reveal form
POSTs to :func:`resident_reveal`, which calls :func:`~banyan.people.services.reveal_resident`
(one audit entry per field, with the purpose) and renders the clear values in that one
response, marked ``no-store``. Values and purpose never appear in a URL, a redirect or a log.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods

from banyan.core import clock
from banyan.core.access import REVEALABLE_FIELDS, revealable_fields
from banyan.core.errors import InvalidInput
from banyan.core.views import private, service_errors
from banyan.people.choices import CareKind, CareLevel, ResidentTag
from banyan.people.forms import RevealForm
from banyan.people.models import CareProfile, Resident, Vehicle
from banyan.people.services import get_household_for, get_resident_for, reveal_resident

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


def _active_care_profiles():
    return CareProfile.objects.filter(is_active=True).defer("details").order_by("kind")


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
        .prefetch_related(Prefetch("care_profiles", queryset=_active_care_profiles()))
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
        "care_profiles": list(_active_care_profiles().filter(resident=resident)),
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
            return private(_render_resident(request, resident, revealed=values))
    return private(_render_resident(request, resident, form=form, reveal_open=True))
