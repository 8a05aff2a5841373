"""Devices, their readings, the HTTP batch for gateways, dead letters and the kinds table."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.errors import PermissionDenied
from banyan.places.services import get_region_by_code_for
from banyan.sensing import services
from banyan.sensing.kinds import KINDS
from banyan.sensing.models import DeadLetter, Device
from banyan.sensing.schemas import (
    BatchOut,
    DeadLetterFilter,
    DeadLetterList,
    DeviceFilter,
    DeviceIn,
    DeviceKindList,
    DeviceList,
    DeviceOut,
    DevicePatch,
    ReadingBatchIn,
    ReadingFilter,
    ReadingList,
)

router = Router(tags=["sensing"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _devices(user, action=Action.VIEW_PLACES):
    return services.devices_for(user, action).select_related("community", "grid")


def _with_residents(user, devices: list[Device]) -> list[Device]:
    """Attach the resident each device serves, for roles that may see it (care data), else None."""
    visible = services.visible_resident_ids(user, (d.resident_id for d in devices))
    for device in devices:
        device.visible_resident_id = device.resident_id if device.resident_id in visible else None
    return devices


@router.get("/device-kinds", response={200: DeviceKindList, **ERRORS})
def list_device_kinds(request: HttpRequest):
    """Device kinds with their metrics, units and physical ranges."""
    require(request.user, Action.VIEW_PLACES)
    return {"count": len(KINDS), "items": list(KINDS.values())}


@router.get("/devices", response={200: DeviceList, **ERRORS})
def list_devices(request: HttpRequest, filters: Query[DeviceFilter]):
    """Devices in your scope. ``community`` is the community code, ``code`` the device id in MQTT topics."""
    require(request.user, Action.VIEW_PLACES)
    devices = _devices(request.user)
    if filters.kind:
        devices = devices.filter(kind=filters.kind)
    if filters.grid:
        devices = devices.filter(grid__code=filters.grid)
    if filters.community:
        region = get_region_by_code_for(request.user, filters.community)
        devices = devices.filter(grid__path__startswith=region.path)
    if filters.status:
        devices = devices.filter(status=filters.status)
    if filters.building is not None:
        devices = devices.filter(building_id=filters.building)
    if filters.unit is not None:
        devices = devices.filter(unit_id=filters.unit)
    if filters.facility is not None:
        devices = devices.filter(facility_id=filters.facility)
    if filters.code:
        devices = devices.filter(code=filters.code)
    count, items = page(devices, filters.limit, filters.offset)
    return {"count": count, "items": _with_residents(request.user, items)}


@router.get("/devices/{int:device_id}", response={200: DeviceOut, **ERRORS})
def get_device(request: HttpRequest, device_id: int):
    require(request.user, Action.VIEW_PLACES)
    device = services.get_device_for(request.user, device_id)
    return _with_residents(request.user, [device])[0]


@router.post("/devices", response={201: DeviceOut, **ERRORS})
def create_device(request: HttpRequest, payload: DeviceIn):
    require(request.user, Action.CHANGE_PLACES)
    device = services.create_device(actor=request.user, data=payload.dict())
    return Status(201, _with_residents(request.user, [services.get_device_for(request.user, device.pk)])[0])


@router.patch("/devices/{int:device_id}", response={200: DeviceOut, **ERRORS})
def update_device(request: HttpRequest, device_id: int, payload: DevicePatch):
    require(request.user, Action.CHANGE_PLACES)
    device = services.get_device_for(request.user, device_id, Action.CHANGE_PLACES)
    services.update_device(actor=request.user, device=device, data=payload.dict(exclude_unset=True))
    return _with_residents(request.user, [services.get_device_for(request.user, device_id)])[0]


@router.get("/devices/{int:device_id}/readings", response={200: ReadingList, **ERRORS})
def list_readings(request: HttpRequest, device_id: int, filters: Query[ReadingFilter]):
    """A device's readings, newest first. A home's devices (door contact, SOS button, meter, wearable)
    only for the household itself and roles that may see care, in their scope; a wearable's readings
    only for those who may see its wearer's care."""
    require(request.user, Action.VIEW_PLACES)
    device = services.get_device_for(request.user, device_id)
    if not services.may_read_readings(request.user, device):
        raise PermissionDenied(_("These readings are health data of the wearer; your role may not see them."))
    readings = device.readings.order_by("-ts")
    if filters.metric:
        readings = readings.filter(metric=filters.metric)
    if filters.since:
        readings = readings.filter(ts__gte=filters.since)
    if filters.until:
        readings = readings.filter(ts__lt=filters.until)
    count, items = page(readings, filters.limit, 0)
    return {"count": count, "items": items}


@router.post("/readings", response={200: BatchOut, **ERRORS})
def post_readings(request: HttpRequest, payload: ReadingBatchIn):
    """A gateway's batch of up to 10,000 readings; bad items are dead-lettered and reported by index."""
    require(request.user, Action.SEND_READINGS)
    report = services.ingest_http_batch(actor=request.user, items=payload.readings)
    return {
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": len(report.rejected),
        "gaps": report.gaps,
        "rejected_items": report.rejected,
    }


@router.get("/dead-letters", response={200: DeadLetterList, **ERRORS})
def list_dead_letters(request: HttpRequest, filters: Query[DeadLetterFilter]):
    """Messages and items that could not be stored, newest first, with the reason."""
    require(request.user, Action.CHANGE_PLACES)
    letters = DeadLetter.objects.restrict(request.user)
    if filters.source:
        letters = letters.filter(source=filters.source)
    if filters.reason:
        letters = letters.filter(reason=filters.reason)
    if filters.device:
        letters = letters.filter(device_code=filters.device)
    count, items = page(letters, filters.limit, filters.offset)
    return {"count": count, "items": items}
