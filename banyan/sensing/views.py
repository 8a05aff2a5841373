"""The device pages under ``/devices/``: the devices of one's area by community, grid and building (kind
and place in words, online, offline or low battery, last seen in the community's time), a device with a
summary of its recent readings, registering a device and taking one out of service or back.

The rights are the API's (``/api/v1/devices``): every role that may see places lists the devices
``services.devices_for`` gives it (a home's devices only to the roles that may see them; a wearable's
readings only to those who may see its wearer's care, ``services.may_read_readings``); the roles that may
change places (administrators, street officers, community directors) register devices and change their
status, through ``services.create_device`` and ``update_device``, as the API does. They also import a
community's devices from a spreadsheet (``/devices/import/``: check first, then every row or none,
``device_import.import_devices``); everyone downloads the installer's list of the devices they see
(``/devices/installer-list.xlsx`` or ``.csv?community=CODE``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, NotFound
from banyan.core.views import service_errors
from banyan.people.models import AuthenticatedHttpRequest, Resident
from banyan.places.choices import RegionKind
from banyan.places.models import Building, Facility, Region, Unit
from banyan.places.words import facility_words, region_words, unit_words
from banyan.sensing import device_import, services
from banyan.sensing.choices import DeviceStatus
from banyan.sensing.forms import (
    LOW_BATTERY,
    MAINTENANCE,
    NO_CONSENT,
    OFFLINE,
    ONLINE,
    DeviceFilterForm,
    DeviceForm,
    DeviceImportForm,
    DeviceStatusForm,
)
from banyan.sensing.kinds import MetricSpec
from banyan.sensing.models import Device

PAGE_SIZE = 50
LOW_BATTERY_PCT = 20
# A device is offline once it has missed this many of its expected reports (as the offline rule counts).
MISSED_REPORTS = 3
SUMMARY_HOURS = 24


def _require(user, action: Action) -> None:
    if not can(user, action):
        raise DjangoPermissionDenied


# --- a device in words -------------------------------------------------------------------------------


def place_words(device: Device) -> str:
    """Where the device stands, as residents say it: the unit ("3幢2单元2201"), else the facility, else
    the building, else the grid."""
    if device.unit_id is not None and device.unit is not None:
        return unit_words(device.unit)
    if device.facility is not None:
        return facility_words(device.facility)
    if device.building is not None:
        return device.building.name
    return region_words(device.grid)


@dataclass(frozen=True)
class DeviceState:
    """The device's state in words: online, offline (nothing heard for too long) or out of service, and
    whether its battery is low."""

    code: str
    label: str
    low_battery: bool


def device_state(device: Device, now: dt.datetime) -> DeviceState:
    low = device.battery_pct is not None and device.battery_pct <= LOW_BATTERY_PCT
    if device.status == DeviceStatus.MAINTENANCE:
        return DeviceState(MAINTENANCE, _("Out of service"), low)
    if device.status == DeviceStatus.CONSENT_WITHDRAWN:
        # Silent because its readings are dropped, not because it is broken (banyan.sensing.consent).
        return DeviceState(NO_CONSENT, pgettext("device state", "Consent withdrawn"), low)
    silent_after = dt.timedelta(seconds=device.expected_interval_s * MISSED_REPORTS)
    if device.last_seen_at is None:
        return DeviceState(OFFLINE, _("Not heard from yet"), low)
    if device.status == DeviceStatus.OFFLINE or now - device.last_seen_at > silent_after:
        return DeviceState(OFFLINE, _("Offline"), low)
    return DeviceState(ONLINE, _("Online"), low)


def _row(device: Device, now: dt.datetime) -> dict:
    return {"device": device, "place": place_words(device), "state": device_state(device, now)}


# --- the list ----------------------------------------------------------------------------------------


def _devices(user, action: Action = Action.VIEW_PLACES):
    return services.devices_for(user, action).select_related(
        "community", "grid", "building", "unit__building", "facility"
    )


@login_required
@require_GET
@service_errors
def device_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The devices of one's area, by community, grid, building, kind and state."""
    user = request.user
    _require(user, Action.VIEW_PLACES)
    devices = _devices(user)
    communities = list(Region.objects.filter(pk__in=devices.values("community_id")).order_by("path"))
    form = DeviceFilterForm(
        request.GET,
        communities=communities,
        grids=Region.objects.filter(pk__in=devices.values("grid_id")).order_by("path"),
        buildings=Building.objects.filter(pk__in=devices.values("building_id"))
        .select_related("grid")
        .order_by("grid__path", "name"),
    )
    filters = form.filters()
    for name in ("community", "grid", "building"):
        if filters[name]:
            devices = devices.filter(**{f"{name}_id": filters[name]})
    if filters["kind"]:
        devices = devices.filter(kind=filters["kind"])
    state = filters["state"]
    if state == MAINTENANCE:
        devices = devices.filter(status=DeviceStatus.MAINTENANCE)
    elif state == NO_CONSENT:
        devices = devices.filter(status=DeviceStatus.CONSENT_WITHDRAWN)
    elif state == LOW_BATTERY:
        devices = devices.filter(battery_pct__lte=LOW_BATTERY_PCT)
    elif state in (ONLINE, OFFLINE):
        devices = devices.exclude(status__in=[DeviceStatus.MAINTENANCE, DeviceStatus.CONSENT_WITHDRAWN])
    devices = devices.order_by("community__path", "grid__path", "building__name", "code")
    now = clock.now()
    rows = [_row(device, now) for device in devices]
    if state in (ONLINE, OFFLINE):
        rows = [row for row in rows if row["state"].code == state]
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    can_register = can(user, Action.CHANGE_PLACES)
    context = {
        "form": form,
        "page": page,
        "rows": page.object_list,
        "can_register": can_register,
        "installer_communities": [(region.code, region_words(region)) for region in communities],
        "import_form": DeviceImportForm(communities=_import_communities(user)) if can_register else None,
        "max_rows": device_import.MAX_ROWS,
        "max_megabytes": device_import.MAX_BYTES // 2**20,
        "low_battery_pct": LOW_BATTERY_PCT,
        "nav": "devices",
    }
    return render(request, "sensing/device_list.html", context)


# --- importing devices and the installer's list ---------------------------------------------------------


def _import_communities(user):
    regions = Region.objects.restrict(user, Action.CHANGE_PLACES)
    return regions.filter(kind=RegionKind.COMMUNITY).order_by("path")


def _render_import(request, form: DeviceImportForm, report=None) -> HttpResponse:
    context = {
        "import_form": form,
        "report": report,
        # Each problem by its row and column heading, the words as ``message`` (as the ledgers' report).
        "problems": [
            {"row": p["row"], "column": p["column"], "message": p["problem"]} for p in report.problems
        ]
        if report is not None
        else [],
        "max_rows": device_import.MAX_ROWS,
        "max_megabytes": device_import.MAX_BYTES // 2**20,
        "nav": "devices",
    }
    return render(request, "sensing/device_import.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def device_import_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: the form. POST: check a device list (the default), or import it: every row or none
    (``device_import.import_devices``, audited)."""
    user = request.user
    _require(user, Action.CHANGE_PLACES)
    communities = _import_communities(user)
    if request.method == "GET":
        return _render_import(request, DeviceImportForm(communities=communities))
    form = DeviceImportForm(request.POST, request.FILES, communities=communities)
    if not form.is_valid():
        return _render_import(request, form)
    upload = form.cleaned_data["file"]
    community = form.cleaned_data["community"]
    try:
        report = device_import.import_devices(
            upload.read(device_import.MAX_BYTES + 1),
            filename=upload.name,
            community_code=community,
            dry_run=form.cleaned_data["dry_run"],
            actor=user,
        )
    except InvalidInput as exc:
        form.add_error("file", exc.message)
        return _render_import(request, form)
    if not report.dry_run and not report.refused:
        messages.success(
            request,
            _("The devices were imported: %(created)d new, %(updated)d updated.")
            % {"created": report.created, "updated": report.updated},
        )
        return redirect("sensing:device-list")
    form = DeviceImportForm(initial={"community": community, "dry_run": True}, communities=communities)
    return _render_import(request, form, report)


def _installer_list(request: AuthenticatedHttpRequest, suffix: str) -> HttpResponse:
    user = request.user
    _require(user, Action.VIEW_PLACES)
    community = device_import.installer_community(user, request.GET.get("community"))
    if suffix == "xlsx":
        response = HttpResponse(
            device_import.installer_xlsx(user, community), content_type=device_import.XLSX_CONTENT_TYPE
        )
    else:
        response = HttpResponse(
            device_import.installer_csv(user, community), content_type="text/csv; charset=utf-8"
        )
    filename = device_import.installer_filename(community, suffix)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
@service_errors
def installer_list_xlsx(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The devices of ``?community=CODE`` one may see, as a workbook to hand to the installer."""
    return _installer_list(request, "xlsx")


@login_required
@require_GET
@service_errors
def installer_list_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The same list as CSV (UTF-8 with a BOM)."""
    return _installer_list(request, "csv")


# --- one device --------------------------------------------------------------------------------------


def _is_switch(metric: MetricSpec) -> bool:
    return not metric.unit and metric.minimum == 0 and metric.maximum == 1


def _value_words(metric: MetricSpec, value: float | None) -> str:
    if value is None:
        return "—"
    if _is_switch(metric):
        return _("Yes") if value >= 0.5 else _("No")
    number = f"{value:g}"
    return f"{number} {metric.unit}".strip()


def readings_summary(device: Device, now: dt.datetime) -> list[dict]:
    """Each metric of the device's kind: its latest value and time, and how many readings came in the
    last day with their lowest and highest value. Call only for someone who may read them."""
    kind = device.kind_spec
    if kind is None:
        return []
    since = now - dt.timedelta(hours=SUMMARY_HOURS)
    day = {
        row["metric"]: row
        for row in device.readings.filter(ts__gte=since)
        .order_by()
        .values("metric")
        .annotate(count=Count("id"), low=Min("value"), high=Max("value"))
    }
    rows = []
    for metric in kind.metrics:
        latest = device.readings.filter(metric=metric.name).order_by("-ts").only("value", "ts").first()
        stats = day.get(metric.name, {})
        rows.append(
            {
                "label": str(metric.label),
                "latest": _value_words(metric, latest.value if latest else None),
                "at": latest.ts if latest else None,
                "count": stats.get("count", 0),
                "range": ""
                if not stats or _is_switch(metric)
                else _("%(low)s to %(high)s")
                % {"low": _value_words(metric, stats["low"]), "high": _value_words(metric, stats["high"])},
            }
        )
    return rows


def _render_device(request: AuthenticatedHttpRequest, device: Device, *, status_form=None) -> HttpResponse:
    user = request.user
    now = clock.now()
    readable = services.may_read_readings(user, device)
    resident = None
    if device.resident_id is not None and services.visible_resident_ids(user, [device.resident_id]):
        resident = Resident.objects.restrict(user).filter(pk=device.resident_id).first()
    changeable = can(user, Action.CHANGE_PLACES) and (
        services.devices_for(user, Action.CHANGE_PLACES).filter(pk=device.pk).exists()
    )
    context = {
        **_row(device, now),
        "kind": device.kind_spec,
        "readings": readings_summary(device, now) if readable else None,
        "summary_hours": SUMMARY_HOURS,
        "resident": resident,
        "status_form": (status_form or DeviceStatusForm()) if changeable else None,
        "nav": "devices",
    }
    return render(request, "sensing/device_detail.html", context)


@login_required
@require_GET
@service_errors
def device_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request.user, Action.VIEW_PLACES)
    device = services.get_device_for(request.user, pk)
    return _render_device(request, _devices(request.user).get(pk=device.pk))


@login_required
@require_POST
@service_errors
def device_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Take the device out of service, or put it back (``services.update_device``, audited)."""
    user = request.user
    _require(user, Action.CHANGE_PLACES)
    device = services.get_device_for(user, pk, Action.CHANGE_PLACES)
    form = DeviceStatusForm(request.POST)
    if form.is_valid():
        status = form.cleaned_data["status"]
        services.update_device(actor=user, device=device, data={"status": status})
        if status == DeviceStatus.MAINTENANCE:
            messages.success(request, _("The device is out of service."))
        else:
            messages.success(request, _("The device is back in service."))
        return redirect("sensing:device-detail", pk=device.pk)
    return _render_device(request, _devices(user).get(pk=device.pk), status_form=form)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def device_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Register a device where one may change places (``services.create_device``, audited)."""
    user = request.user
    _require(user, Action.CHANGE_PLACES)
    change = Action.CHANGE_PLACES
    places = {
        "grids": Region.objects.restrict(user, change).filter(kind=RegionKind.GRID).order_by("path"),
        "buildings": Building.objects.restrict(user, change)
        .select_related("grid")
        .order_by("grid__path", "name"),
        "facilities": Facility.objects.restrict(user, change).order_by("code"),
        "units": Unit.objects.restrict(user, change),
    }
    if request.method == "POST":
        form = DeviceForm(request.POST, **places)
        if form.is_valid():
            try:
                device = services.create_device(actor=user, data=form.service_data())
            except (InvalidInput, NotFound) as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("The device is registered."))
                return redirect("sensing:device-detail", pk=device.pk)
    else:
        form = DeviceForm(**places)
    return render(request, "sensing/device_new.html", {"form": form, "nav": "devices"})
