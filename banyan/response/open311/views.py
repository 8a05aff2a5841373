"""Open311 GeoReport v2 under ``/open311/v2/``: service discovery, the service list and definitions,
posting a service request (it becomes a report and an incident routed by the matrix), querying
requests, and request ids from tokens. Spec: http://wiki.open311.org/GeoReport_v2 (summary and
schemas in ``shared/standards/open311/``).

* The format is the resource's extension: ``.json`` (``application/json``) or ``.xml``
  (``text/xml``, no namespace, built with lxml so every value is escaped).
* Errors are a list of ``{code, description}`` (``<errors><error>…``) with status 400, 403 (missing
  or invalid ``api_key``) or 404 (unknown service code, request or token).
* An empty parameter counts as absent. ``jurisdiction_id`` is accepted and ignored: one endpoint
  serves one jurisdiction.
* Public answers carry the spec's request fields only: never the reporter's contact details, never
  a unit number; a description only for requests that came in over Open311 (a resident's report in
  the app was not written for the public).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt
from lxml import etree

from banyan.core import clock, throttle
from banyan.core.errors import BanyanError, NotFound, PermissionDenied, TooManyRequests
from banyan.core.throttle import BY_ADDRESS, BY_API_KEY
from banyan.places.models import Building
from banyan.response.flow import ENDED
from banyan.response.models import Category, Report, Source, StatusChoices
from banyan.response.reports import services as reports

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-07-01T00:00:00Z"  # move it on when what the endpoint offers changes
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
DEFAULT_SPAN = dt.timedelta(days=90)
MAX_REQUESTS = 1000
# XML 1.0 cannot carry most control characters; they are dropped from answers.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# List elements in XML and the name of each item in them (JSON drops the wrapper).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}

GROUPS = {
    "fire_smoke": _lazy("safety"),
    "gas": _lazy("safety"),
    "security": _lazy("safety"),
    "crowding": _lazy("safety"),
    "flooding": _lazy("environment"),
    "sanitation": _lazy("environment"),
    "noise": _lazy("neighbourhood"),
    "dispute": _lazy("neighbourhood"),
    "fall_medical": _lazy("health and care"),
    "wellness_check": _lazy("health and care"),
    "repairs": _lazy("property"),
    "device_fault": _lazy("property"),
}


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


# --- rendering --------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_UNSAFE.sub("", str(value))


def _append(parent, tag: str, value: Any) -> None:
    element = etree.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _append(element, key, inner)
    elif isinstance(value, list):
        for item in value:
            _append(element, ITEM_TAGS[tag], item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: list | dict) -> bytes:
    """``value`` as GeoReport XML: a list under ``root`` (each item named by ``ITEM_TAGS``) or an
    object as ``root``'s children."""
    element = etree.Element(root)
    if isinstance(value, list):
        for item in value:
            _append(element, ITEM_TAGS[root], item)
    else:
        for key, inner in value.items():
            _append(element, key, inner)
    return etree.tostring(element, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _respond(fmt: str, root: str, value: list | dict, status: int = 200) -> HttpResponse:
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False, default=str).encode()
    else:
        body = to_xml(root, value)
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    response["Cache-Control"] = "no-store"
    return response


def error_response(fmt: str, status: int, description: str) -> HttpResponse:
    return _respond(fmt, "errors", [{"code": status, "description": str(description)}], status=status)


def open311_view(*methods: str) -> Callable:
    """Parse the format, allow ``methods``, and turn every refusal into the spec's error list."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, fmt: str, **kwargs) -> HttpResponse:
            if fmt not in CONTENT_TYPES:
                return error_response(
                    "xml", 400, _("Unknown format %(format)s; use .xml or .json.") % {"format": fmt[:16]}
                )
            if request.method not in methods:
                return error_response(
                    fmt, 400, _("%(method)s is not accepted here.") % {"method": request.method}
                )
            try:
                return view(request, fmt, *args, **kwargs)
            except Open311Error as exc:
                return error_response(fmt, exc.status, exc.description)
            except BanyanError as exc:
                status = exc.status if exc.status in (403, 404) else 400
                return error_response(fmt, status, exc.message)

        return wrapper

    return decorate


def _param(request: HttpRequest, name: str) -> str:
    """A parameter of the query or the form; empty is the same as absent."""
    source = request.POST if request.method == "POST" else request.GET
    return (source.get(name) or "").strip()


def _datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _in_language(zh: str, en: str) -> str:
    return zh if (translation.get_language() or "").startswith("zh") else (en or zh)


# --- discovery and services ---------------------------------------------------------------------------


@open311_view("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    root = request.build_absolute_uri(reverse("open311:root"))
    document = {
        "changeset": CHANGESET,
        "contact": _("Your community office (residents' committee); in an emergency call 110 or 119."),
        "key_service": _(
            "Ask the community office for an api_key; operators create one with "
            "`banyan open311 key create NAME`."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": root,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return _respond(fmt, "discovery", document)


def service_out(category: Category) -> dict[str, Any]:
    name = _in_language(category.name_zh, category.name_en)
    return {
        "service_code": category.code,
        "service_name": name,
        "description": _("Report: %(name)s") % {"name": name},
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys([category.code, category.name_zh, category.name_en])),
        "group": str(GROUPS.get(category.code, _lazy("other"))),
    }


@open311_view("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    services = [service_out(c) for c in Category.objects.filter(is_active=True)]
    return _respond(fmt, "services", services)


def _service(code: str) -> Category:
    category = Category.objects.filter(code=code[:32], is_active=True).first()
    if category is None:
        raise Open311Error(404, _("service_code %(code)s was not found.") % {"code": code[:32]})
    return category


@open311_view("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    """Our services ask for no attributes (``metadata`` is false): the definition lists none."""
    category = _service(code)
    return _respond(fmt, "service_definition", {"service_code": category.code, "attributes": []})


# --- requests ---------------------------------------------------------------------------------------


def _status(report: Report) -> str:
    return "closed" if report.incident.status in {s.value for s in ENDED} else "open"


def _address(report: Report) -> str | None:
    """Building and facility names, or the address the request gave; never the unit."""
    parts = []
    if report.building is not None:
        parts.append(report.building.name)
    if report.facility is not None:
        parts.append(_in_language(report.facility.name_zh, report.facility.name_en))
    if not parts and report.address_string:
        parts.append(report.address_string)
    return " / ".join(parts) or None


def _point(report: Report) -> tuple[float | None, float | None]:
    if report.latitude is not None and report.longitude is not None:
        return report.latitude, report.longitude
    for place in (report.building, report.facility):
        if place is not None:
            return place.latitude, place.longitude
    return None, None


def request_out(report: Report) -> dict[str, Any]:
    incident = report.incident
    status = _status(report)
    latitude, longitude = _point(report)
    updated = incident.closed_at if status == "closed" and incident.closed_at else report.updated_at
    body = incident.accountable
    return {
        "service_request_id": str(report.pk),
        "status": status,
        "status_notes": str(StatusChoices(incident.status).label),
        "service_name": _in_language(report.category.name_zh, report.category.name_en),
        "service_code": report.category.code,
        "description": (report.description or None) if report.source == Source.OPEN311 else None,
        "agency_responsible": _in_language(body.name_zh, body.name_en),
        "service_notice": None,
        "requested_datetime": _datetime(report.requested_at),
        "updated_datetime": _datetime(updated),
        "expected_datetime": _datetime(incident.resolve_due),
        "address": _address(report),
        "address_id": report.building.code if report.building is not None else None,
        "zipcode": None,
        "lat": latitude,
        "long": longitude,
        "media_url": report.media_url or None,
    }


def _reports():
    return Report.objects.defer("photo").select_related(
        "incident", "incident__accountable", "category", "building", "facility"
    )


def _parse_time(name: str, value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise Open311Error(
            400,
            _("%(name)s is a date and time with its zone, e.g. 2026-07-01T09:00:00Z.") % {"name": name},
        )
    return parsed


def _comma_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def query_requests(request: HttpRequest) -> list[Report]:
    """GET requests' filters: ``service_request_id`` (a list; overrides the rest) or ``service_code``
    (a list), ``start_date``/``end_date`` (at most 90 days apart; the last 90 days by default) and
    ``status`` (``open``, ``closed``); newest first, 1000 at most."""
    ids = _comma_list(_param(request, "service_request_id"))
    if ids:
        if not all(i.isdigit() and len(i) <= 18 for i in ids):
            raise Open311Error(400, _("service_request_id is a comma-separated list of request ids."))
        return list(_reports().filter(pk__in=[int(i) for i in ids])[:MAX_REQUESTS])
    start = _parse_time("start_date", _param(request, "start_date"))
    end = _parse_time("end_date", _param(request, "end_date"))
    if start is None:
        if end is None:
            end = clock.now()
        start = end - DEFAULT_SPAN
    elif end is None:
        end = start + DEFAULT_SPAN
    if start > end:
        raise Open311Error(400, _("start_date is after end_date."))
    if end - start > DEFAULT_SPAN:
        raise Open311Error(400, _("start_date and end_date may be at most 90 days apart."))
    found = _reports().filter(requested_at__gte=start, requested_at__lte=end)
    codes = _comma_list(_param(request, "service_code"))
    if codes:
        found = found.filter(category__code__in=codes)
    statuses = set(_comma_list(_param(request, "status")))
    if statuses - {"open", "closed"}:
        raise Open311Error(400, _("status is open, closed, or both separated by a comma."))
    ended = [s.value for s in ENDED]
    if statuses == {"open"}:
        found = found.exclude(incident__status__in=ended)
    elif statuses == {"closed"}:
        found = found.filter(incident__status__in=ended)
    return list(found[:MAX_REQUESTS])


def _place_of(request: HttpRequest) -> dict[str, Any]:
    """The request's location: lat and long, else address_string or address_id naming a building by
    its code or name."""
    lat, long_ = _param(request, "lat"), _param(request, "long")
    address = _param(request, "address_string")[:255]
    address_id = _param(request, "address_id")
    if lat or long_:
        try:
            latitude, longitude = float(lat), float(long_)
        except ValueError:
            raise Open311Error(400, _("lat and long are decimal degrees (WGS84), both given.")) from None
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            raise Open311Error(400, _("lat and long are decimal degrees (WGS84), both given."))
        return {"latitude": latitude, "longitude": longitude, "address_string": address}
    for given in (address, address_id):
        if given:
            building = Building.objects.filter(Q(code__iexact=given) | Q(name=given)).order_by("code").first()
            if building is not None:
                return {"building": building, "address_string": address}
    if address or address_id:
        raise Open311Error(
            400, _("No building matches the address; give its code or name, or lat and long instead.")
        )
    raise Open311Error(400, _("A location is required: lat and long, or address_string."))


@open311_view("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "GET":
        return _respond(fmt, "service_requests", [request_out(r) for r in query_requests(request)])
    return create_request(request, fmt)


def _limit(request: HttpRequest, scope: str, by: str) -> None:
    try:
        throttle.check(request, scope, by=by)
    except TooManyRequests as exc:
        raise Open311Error(429, exc.message) from None


def create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    _limit(request, "open311_address", BY_ADDRESS)  # before the key is checked: guessing keys is limited too
    key = reports.key_for(_param(request, "api_key"))
    if key is None:
        raise PermissionDenied(_("Invalid api_key received -- can't proceed with create_request."))
    _limit(request, "open311_key", BY_API_KEY)
    code = _param(request, "service_code")
    if not code:
        raise Open311Error(400, _("service_code is required."))
    category = _service(code)
    place = _place_of(request)
    name = " ".join(filter(None, [_param(request, "first_name"), _param(request, "last_name")]))
    report = reports.submit_report(
        actor=None,
        category=category,
        source=Source.OPEN311,
        description=_param(request, "description"),
        media_url=_param(request, "media_url"),
        contact=reports.ContactDetails(
            name=name, phone=_param(request, "phone"), email=_param(request, "email")
        ),
        open311_key=key,
        **place,
    )
    responsible = reports.who_is_responsible(report)
    notice = _("%(body)s is responsible; expected by %(time)s.") % {
        "body": responsible["name"],
        "time": _datetime(report.incident.resolve_due),
    }
    answer = {"service_request_id": str(report.pk), "service_notice": notice, "account_id": None}
    return _respond(fmt, "service_requests", [answer])


@open311_view("GET")
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    report = (
        _reports().filter(pk=int(request_id)).first()
        if request_id.isdigit() and len(request_id) <= 18
        else None
    )
    if report is None:
        raise NotFound(_("service_request_id %(id)s was not found.") % {"id": request_id[:20]})
    return _respond(fmt, "service_requests", [request_out(report)])


@open311_view("GET")
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    report = Report.objects.only("pk", "token").filter(token=token[:32]).first()
    if report is None:
        raise NotFound(_("Token %(token)s was not found.") % {"token": token[:32]})
    return _respond(fmt, "service_requests", [{"service_request_id": str(report.pk), "token": report.token}])


@open311_view("GET", "POST")
def unknown(request: HttpRequest, fmt: str, path: str = "") -> HttpResponse:
    raise NotFound(_("No such Open311 resource; start from discovery.xml."))


def root(request: HttpRequest) -> HttpResponse:
    """The endpoint's base URL: points to the discovery document."""
    return error_response("xml", 404, _("No such Open311 resource; start from discovery.xml."))
