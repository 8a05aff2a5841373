"""Resident reports over the JSON API: file one (form with a photo, or JSON), list mine, follow one
(status, the body responsible, a timeline without other people's data), rate it, and see possible
duplicates before filing. Contact details are masked in every answer."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ValidationError as PydanticValidationError

from banyan.core import throttle
from banyan.core.api import ErrorOut, ListOut, page, parse_json_object
from banyan.core.errors import InvalidInput
from banyan.core.throttle import RateLimit
from banyan.people import carers
from banyan.people.choices import ProxyScope
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places.models import Building, Facility, Unit
from banyan.response.models import DESCRIPTION_MAX, PHOTO_MAX_BYTES, RATING_COMMENT_MAX, Report, StatusChoices
from banyan.response.photos import decode_photo, photo_response
from banyan.response.reports import services as reports

router = Router(tags=["reports"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class ReportIn(Schema):
    category: str = Field(max_length=32)
    description: str = Field("", max_length=DESCRIPTION_MAX)
    home: bool = False
    unit: int | None = None
    building: str | None = Field(None, max_length=32, description="building code")
    facility: str | None = Field(None, max_length=32, description="facility code")
    latitude: float | None = None
    longitude: float | None = None
    photo_base64: str | None = Field(None, description="JSON only; a form sends the file as `photo`")
    for_resident: int | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="a carer reporting for the resident they look after (a consent naming report)",
    )


class ContactOut(Schema):
    name: str
    phone: str
    email: str


class ResponsibleOut(Schema):
    code: str
    name: str
    role: str


class ReportOut(Schema):
    id: int
    category: str
    category_name: str
    status: str
    status_label: str
    is_home: bool
    building: str | None
    facility: str | None
    latitude: float | None
    longitude: float | None
    description: str
    has_photo: bool
    incident: int
    responsible: ResponsibleOut
    contact: ContactOut
    rating: int | None
    rating_comment: str
    requested_at: dt.datetime
    updated_at: dt.datetime


class StepOut(Schema):
    at: dt.datetime
    step: str
    label: str
    status: str


class ReportDetailOut(ReportOut):
    timeline: list[StepOut]


class ReportList(ListOut):
    items: list[ReportOut]


class RateIn(Schema):
    rating: int
    comment: str = Field("", max_length=RATING_COMMENT_MAX)


class DuplicateFilter(Schema):
    category: str = Field(max_length=32)
    unit: int | None = None
    building: str | None = Field(None, max_length=32)
    facility: str | None = Field(None, max_length=32)
    latitude: float | None = None
    longitude: float | None = None


class DuplicateOut(Schema):
    incident: int
    category: str
    status: str
    status_label: str
    building: str | None
    facility: str | None
    created_at: dt.datetime


class ListFilter(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


def report_out(report: Report, *, detail: bool = False) -> dict:

    incident = report.incident
    body = {
        "id": report.pk,
        "category": report.category.code,
        "category_name": reports.category_name(report.category),
        "status": incident.status,
        "status_label": str(StatusChoices(incident.status).label),
        "is_home": report.is_home,
        "building": report.building.code if report.building is not None else None,
        "facility": report.facility.code if report.facility is not None else None,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "description": report.description,
        "has_photo": bool(report.photo_type),
        "incident": incident.pk,
        "responsible": reports.who_is_responsible(report),
        "contact": report.contact_masked,
        "rating": report.rating,
        "rating_comment": report.rating_comment,
        "requested_at": report.requested_at,
        "updated_at": report.updated_at,
    }
    if detail:
        body["timeline"] = reports.timeline_summary(report)
    return body


def _place(data: ReportIn | DuplicateFilter, user) -> dict:
    """Load the place the request names, through the same scoping as any other read."""
    place: dict = {"latitude": data.latitude, "longitude": data.longitude}
    if data.unit is not None:
        unit = Unit.objects.select_related("building").filter(pk=data.unit).first()
        if unit is None:
            raise InvalidInput(_("Unknown unit %(unit)s.") % {"unit": data.unit}, field="unit")
        place["unit"] = unit
    if data.building:
        building = Building.objects.filter(code=data.building).first()
        if building is None:
            raise InvalidInput(_("Unknown building %(code)s.") % {"code": data.building}, field="building")
        place["building"] = building
    if data.facility:
        facility = Facility.objects.filter(code=data.facility).first()
        if facility is None:
            raise InvalidInput(_("Unknown facility %(code)s.") % {"code": data.facility}, field="facility")
        place["facility"] = facility
    return place


def _parse_submission(request: AuthenticatedHttpRequest) -> tuple[ReportIn, bytes | None]:
    if request.content_type == "application/json":
        raw = parse_json_object(request.body or b"{}")  # bounded depth; an object, or 400 naming body
        photo = None
    else:
        raw = {key: request.POST.get(key) for key in request.POST}
        raw = {key: value for key, value in raw.items() if value not in ("", None)}
        if "home" in raw:
            raw["home"] = raw["home"].lower() in ("1", "true", "on", "yes")
        upload = request.FILES.get("photo")
        if upload is not None and (upload.size or 0) > PHOTO_MAX_BYTES:
            raise InvalidInput(
                _("The photo is larger than %(max)d MB.") % {"max": PHOTO_MAX_BYTES // (1024 * 1024)},
                field="photo",
                code="too_large",
            )
        photo = upload.read() if upload is not None else None
    if not isinstance(raw, dict):
        raise InvalidInput(_("The request body is a JSON object."))
    try:
        data = ReportIn.model_validate(raw)
    except PydanticValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error.get("loc", ())) or None
        message = f"{field}: {error.get('msg', 'invalid')}" if field else _("Invalid input.")
        raise InvalidInput(message, field=field) from None
    if data.photo_base64:
        photo = decode_photo(data.photo_base64, field="photo")
    return data, photo


SUBMIT_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": ReportIn.json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **{
                            name: {"type": "string"}
                            for name in ReportIn.model_fields
                            if name != "photo_base64"
                        },
                        "photo": {"type": "string", "format": "binary"},
                    },
                    "required": ["category"],
                }
            },
        }
    }
}


@router.post(
    "/reports",
    response={201: ReportOut, **ERRORS},
    openapi_extra=SUBMIT_BODY,
    throttle=RateLimit("reports"),
)
def submit_report(request: AuthenticatedHttpRequest):
    """Report a problem: category, place (``home``, a unit, a building or facility code, or a
    position), description, optional photo (JPEG, PNG or WebP up to 5 MB; its EXIF is removed). It
    becomes an incident routed to the body responsible. At most 10 reports an hour, and photos count
    towards the hourly photo limit (429)."""
    data, photo = _parse_submission(request)
    throttle.check(request, "photos", count=int(photo is not None), field="photo")
    for_resident = None
    if data.for_resident is not None:
        for_resident = carers.get_proxied_resident(request.user, data.for_resident, ProxyScope.REPORT)
    report = reports.submit_report(
        actor=request.user,
        category=data.category,
        description=data.description,
        home=data.home,
        photo=photo,
        for_resident=for_resident,
        **_place(data, request.user),
    )
    return Status(201, report_out(report))


@router.get("/reports", response={200: ReportList, **ERRORS})
def list_my_reports(request: AuthenticatedHttpRequest, filters: Query[ListFilter]):
    """The reports you filed, newest first."""
    mine = Report.objects.filter(reporter=request.user).select_related(
        "incident", "incident__accountable", "category", "building", "facility"
    )
    count, items = page(mine, filters.limit, filters.offset)
    return {"count": count, "items": [report_out(r) for r in items]}


@router.get("/reports/duplicates", response={200: list[DuplicateOut], **ERRORS})
def duplicates(request: AuthenticatedHttpRequest, filters: Query[DuplicateFilter]):
    """Open incidents of the same category at the same building or within 100 m: perhaps your
    problem is known already. None for a category about one person (a neighbour's fall is not shown)."""
    if filters.category in reports.PERSONAL_CATEGORIES:
        return []
    found = reports.possible_duplicates(filters.category, **_place(filters, request.user))
    return [
        {
            "incident": i.pk,
            "category": i.category.code,
            "status": i.status,
            "status_label": str(StatusChoices(i.status).label),
            "building": i.building.code if i.building is not None else None,
            "facility": i.facility.code if i.facility is not None else None,
            "created_at": i.created_at,
        }
        for i in found
    ]


@router.get("/reports/{int:report_id}", response={200: ReportDetailOut, **ERRORS})
def get_report(request: AuthenticatedHttpRequest, report_id: int):
    """One report: its status, the body responsible for it, and its timeline."""
    return report_out(reports.get_report_for(request.user, report_id), detail=True)


@router.get("/reports/{int:report_id}/photo", response={200: None, **ERRORS})
def get_photo(request: AuthenticatedHttpRequest, report_id: int):
    """The report's photo as stored (metadata removed)."""
    report = reports.get_report_for(request.user, report_id)
    if not report.photo_type or report.photo is None:
        raise reports.NotFound(_("This report has no photo."))
    return photo_response(report.photo, report.photo_type, f"report-{report.pk}")


@router.post("/reports/{int:report_id}/rate", response={200: ReportOut, **ERRORS})
def rate_report(request: AuthenticatedHttpRequest, report_id: int, payload: RateIn):
    """Rate the outcome of your closed report: 1 (poor) to 5 (very good), with a comment."""
    report = reports.get_report_for(request.user, report_id)
    rated = reports.rate_report(
        actor=request.user, report=report, rating=payload.rating, comment=payload.comment
    )
    return report_out(reports.get_report_for(request.user, rated.pk))
