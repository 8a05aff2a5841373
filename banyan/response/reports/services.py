"""Resident reports: submitting one (it becomes an incident routed by the matrix), possible duplicates,
rating the outcome, who is responsible, satisfaction per category and body, and Open311 API keys.

A report and its incident are written in one transaction: either both exist or neither does. The
reporter's contact details (name, phone, email) are personal data: encrypted at rest, found by blind
index, masked in every output and never written to logs, errors, audit details or bus events.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Avg, Count
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.notify.services import Contact, normalise_phone, notify
from banyan.people import carers
from banyan.people.choices import ProxyScope
from banyan.people.models import Actor, Resident, User
from banyan.places.choices import RegionKind
from banyan.places.geo import haversine_m
from banyan.places.models import Building, Facility, Region, Unit
from banyan.response import flow, services
from banyan.response.flow import MOVES, Move
from banyan.response.models import (
    DESCRIPTION_MAX,
    RATING_COMMENT_MAX,
    Category,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    Open311Key,
    Report,
    Source,
)
from banyan.response.photos import clean_photo

logger = logging.getLogger(__name__)

DUPLICATE_RADIUS_M = 100.0
CONTACT_NAME_MAX = 100
OPEN311_KEY_PREFIX = "o311_"
PHONE_INDEX = "report_phone"
EMAIL_INDEX = "report_email"


def get_report_for(user: Actor, pk) -> Report:
    """A report the user filed, or (staff) one whose incident is in their scope; else the same 404."""
    report = (
        Report.objects.restrict(user)
        .select_related("incident", "incident__accountable", "category", "building", "facility")
        .filter(pk=pk)
        .first()
    )
    if report is None:
        raise NotFound(_("No such report."))
    return report


# --- contact details ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactDetails:
    """How to reach someone who reported without an account (Open311); personal data."""

    name: str = ""
    phone: str = ""
    email: str = ""

    def __repr__(self) -> str:  # never print them
        return "ContactDetails(…)"


def _clean_contact(contact: ContactDetails) -> ContactDetails:
    name = " ".join(contact.name.split())
    if len(name) > CONTACT_NAME_MAX:
        raise InvalidInput(
            _("The name is longer than %(max)d characters.") % {"max": CONTACT_NAME_MAX}, field="name"
        )
    phone = normalise_phone(contact.phone)
    email = contact.email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput(_("The email address is not valid."), field="email") from None
    return ContactDetails(name=name, phone=phone, email=email.lower())


# --- submitting ------------------------------------------------------------------------------------


def _home_unit(actor: Actor | None) -> Unit:
    resident = getattr(actor, "resident", None) if actor is not None else None
    unit = resident.household.unit if resident is not None else None
    if unit is None:
        raise InvalidInput(_("Your account is not linked to a home; pick the place instead."), field="place")
    return unit


def _category(category: Category | str) -> Category:
    if isinstance(category, Category):
        if not category.is_active:
            raise InvalidInput(_("This category is no longer in use."), field="category")
        return category
    found = Category.objects.filter(code=str(category)[:32], is_active=True).first()
    if found is None:
        known = ", ".join(Category.objects.filter(is_active=True).values_list("code", flat=True))
        raise InvalidInput(
            _("Unknown category %(code)r; one of: %(known)s.") % {"code": str(category)[:32], "known": known},
            field="category",
        )
    return found


@transaction.atomic(durable=True)
def submit_report(
    *,
    actor: Actor | None,
    category: Category | str,
    source: str = Source.REPORT,
    description: str = "",
    home: bool = False,
    unit: Unit | None = None,
    building: Building | None = None,
    facility: Facility | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    address_string: str = "",
    photo: bytes | None = None,
    media_url: str = "",
    contact: ContactDetails | None = None,
    open311_key: Open311Key | None = None,
    for_resident: Resident | None = None,
) -> Report:
    """File a report and open its incident (routed by the matrix, dispatched) in one transaction.

    ``for_resident``: a carer reports for the resident they look after, within a consent naming
    ``report`` (:mod:`banyan.people.carers`); ``home`` is then that resident's home, and the report
    records both people (the carer as reporter, the resident it is for).

    ``actor`` is the resident (or staff member) reporting; None for an Open311 request, which comes
    with ``open311_key`` and perhaps ``contact`` details. The place is ``home`` (the reporter's
    household unit), a unit, building, facility, or a point.
    """
    if source not in (Source.REPORT, Source.OPEN311):
        raise InvalidInput(_("A report comes from a resident or over Open311."), field="source")
    if actor is None and open311_key is None:
        raise PermissionDenied(_("Sign in to report a problem."))
    if actor is not None and not can(actor, Action.REPORT_INCIDENTS):
        raise PermissionDenied(_("You may not report problems."))
    proxy = None
    if for_resident is not None:
        proxy = carers.proxy_carer(actor, for_resident, ProxyScope.REPORT) if actor is not None else None
        if proxy is None:
            raise NotFound(_("Resident not found."))
    category = _category(category)
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("The description is longer than %(max)d characters.") % {"max": DESCRIPTION_MAX},
            field="description",
        )
    if home:
        unit = for_resident.household.unit if for_resident is not None else _home_unit(actor)
    if (latitude is None) != (longitude is None):
        raise InvalidInput(_("Give both latitude and longitude."), field="latitude")
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            raise InvalidInput(_("The media URL is not an http(s) address."), field="media_url") from None
        if len(media_url) > 500:
            raise InvalidInput(_("The media URL is longer than 500 characters."), field="media_url")
    photo_type = ""
    if photo is not None:
        photo, photo_type = clean_photo(photo)
    contact = _clean_contact(contact or ContactDetails())
    incident = services.open_incident(
        actor=actor,
        category=category,
        source=source,
        description=description,
        unit=unit,
        building=building,
        facility=facility,
        latitude=latitude,
        longitude=longitude,
    )
    now = clock.now()
    report = Report.objects.create(
        reporter=actor,
        for_resident=for_resident,
        source=source,
        contact_name=contact.name,
        contact_phone=contact.phone,
        contact_phone_index=vault.blind_index(PHONE_INDEX, contact.phone) if contact.phone else "",
        contact_email=contact.email,
        contact_email_index=vault.blind_index(EMAIL_INDEX, contact.email) if contact.email else "",
        category=category,
        is_home=home,
        unit=unit,
        building=unit.building if unit is not None else building,
        facility=facility,
        latitude=latitude,
        longitude=longitude,
        address_string=address_string[:255],
        description=description,
        photo=photo,
        photo_type=photo_type,
        media_url=media_url,
        incident=incident,
        open311_key=open311_key,
        token=secrets.token_hex(16),
        requested_at=now,
    )
    if photo is not None:
        IncidentPhoto.objects.create(
            incident=incident,
            at=now,
            stage=IncidentPhoto.Stage.REPORT,
            taken_by=actor,
            photo=photo,
            photo_type=photo_type,
        )
    record(
        actor=actor or (f"open311:{open311_key.name}" if open311_key is not None else None),
        events=[
            Event(
                AuditAction.REPORT_SUBMIT,
                "report",
                report.pk,
                details={
                    "category": category.code,
                    "source": source,
                    "incident": incident.pk,
                    "photo": bool(photo),
                    **(
                        {"for_resident": for_resident.pk, "carer": proxy.pk} if proxy and for_resident else {}
                    ),
                },
            )
        ],
    )
    _acknowledge_receipt(report, actor=actor, contact=contact)
    return report


def _acknowledge_receipt(report: Report, *, actor: Actor | None, contact: ContactDetails) -> None:
    """Tell the reporter their report arrived, and who answers for it (after commit, by notify)."""
    recipients: list = []
    if actor is not None:
        recipients.append(actor)
    elif contact.phone or contact.email:
        recipients.append(Contact(phone=contact.phone, email=contact.email))
    if not recipients:
        return
    notify(
        recipients,
        "report.received",
        _lazy("Report %(number)s received"),
        _lazy("%(category)s: %(body)s is responsible; you will hear when it is closed."),
        params={
            "number": report.pk,
            "category": category_name(report.category),
            "body": report.incident.accountable.name_zh,
        },
        reference=("report", report.pk),
    )


# --- reading ------------------------------------------------------------------------------------


def category_name(category: Category) -> str:
    """The category's name in the active language."""
    language = translation.get_language() or ""
    return category.name_zh if language.startswith("zh") else (category.name_en or category.name_zh)


def who_is_responsible(report: Report) -> dict[str, str]:
    """The body accountable for the report's incident now, as a resident may see it (no names of
    people: the body and, where the matrix names one, the role)."""
    incident = report.incident
    body = incident.accountable
    language = translation.get_language() or ""
    name = body.name_zh if language.startswith("zh") else (body.name_en or body.name_zh)
    return {"code": body.code, "name": name, "role": services.role_label(incident.accountable_role)}


TIMELINE_KINDS = {
    "opened": _lazy("Received"),
    "assign": _lazy("Assigned to a responder"),
    "accept": _lazy("Accepted"),
    "decline": _lazy("Passed to another responder"),
    "timed_out": _lazy("Passed to another responder"),
    "on_scene": _lazy("Responder on scene"),
    "resolve": _lazy("Resolved"),
    "close": _lazy("Closed"),
    "cancel": _lazy("Cancelled"),
    "duplicate": _lazy("Marked as a duplicate"),
    "reopen": _lazy("Reopened"),
    "handed_over": _lazy("Handed over to another body"),
    "escalated": _lazy("Escalated"),
}


def timeline_summary(report: Report) -> list[dict[str, Any]]:
    """The incident's steps a resident may see: when, what, and the status after it. No notes, no
    names: notes written by staff may hold other people's personal data."""
    return [
        {
            "at": event.at,
            "step": event.kind,
            "label": str(TIMELINE_KINDS[event.kind]),
            "status": event.to_status,
        }
        for event in report.incident.events.all()
        if event.kind in TIMELINE_KINDS
    ]


def _place_point(
    *,
    unit: Unit | None = None,
    building: Building | None = None,
    facility: Facility | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> tuple[float, float] | None:
    if unit is not None:
        building = unit.building
    if building is not None:
        return building.latitude, building.longitude
    if facility is not None:
        return facility.latitude, facility.longitude
    if latitude is not None and longitude is not None:
        return latitude, longitude
    return None


def possible_duplicates(
    category: Category | str,
    *,
    unit: Unit | None = None,
    building: Building | None = None,
    facility: Facility | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    radius_m: float = DUPLICATE_RADIUS_M,
    limit: int = 10,
) -> list[Incident]:
    """Open incidents of the same category at the same building or within ``radius_m`` of the place,
    nearest first: shown to a resident before they submit, so they may add to one instead."""
    category = _category(category)
    if unit is not None:
        building = unit.building
    point = _place_point(building=building, facility=facility, latitude=latitude, longitude=longitude)
    if point is None:
        return []
    community, _grid = services.locate(
        building=building, facility=facility, latitude=latitude, longitude=longitude
    )
    found: list[tuple[float, int, Incident]] = []
    candidates = (
        Incident.objects.open()
        .filter(category=category, community=community)
        .select_related("building", "facility", "category")
    )
    for incident in candidates:
        if building is not None and incident.building_id == building.pk:
            distance = 0.0
        else:
            there = _place_point(
                building=incident.building,
                facility=incident.facility,
                latitude=incident.latitude,
                longitude=incident.longitude,
            )
            if there is None:
                continue
            distance = haversine_m(point[1], point[0], there[1], there[0])
        if distance <= radius_m:
            found.append((distance, -incident.pk, incident))
    found.sort(key=lambda item: item[:2])
    return [incident for _d, _pk, incident in found[:limit]]


# --- rating -------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def rate_report(*, actor: Actor, report: Report, rating: int, comment: str = "") -> Report:
    """The reporter rates the outcome of their closed report, once: 1 (poor) to 5 (very good)."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput(_("A rating is a whole number from 1 to 5."), field="rating")
    comment = (comment or "").strip()
    if len(comment) > RATING_COMMENT_MAX:
        raise InvalidInput(
            _("The comment is longer than %(max)d characters.") % {"max": RATING_COMMENT_MAX},
            field="comment",
        )
    if actor is None or report.reporter_id is None or report.reporter_id != actor.pk:
        raise PermissionDenied(_("Only the person who reported it may rate it."))
    locked = Report.objects.select_for_update().select_related("incident").filter(pk=report.pk).first()
    if locked is None:
        raise NotFound(_("No such report."))
    if not locked.is_closed:
        raise Conflict(_("A report can be rated once it is closed."), field="rating")
    if locked.rating is not None:
        raise Conflict(_("This report has been rated already."), field="rating")
    locked.rating, locked.rating_comment, locked.rated_at = rating, comment, clock.now()
    locked.save(update_fields=["rating", "rating_comment", "rated_at"])
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.REPORT_RATE,
                "report",
                locked.pk,
                details={"rating": rating, "category": locked.category.code},
            )
        ],
    )
    return locked


def satisfaction(*, since=None, until=None, incidents=None) -> dict[str, list[dict[str, Any]]]:
    """Ratings per category and per accountable body: how many, their mean, and how many of them
    were 4 or 5 (of the reports whose incidents are in ``incidents``, if given: the caller's scope)."""
    rated = Report.objects.filter(rating__isnull=False)
    if incidents is not None:
        rated = rated.filter(incident__in=incidents.values("pk"))
    if since is not None:
        rated = rated.filter(rated_at__gte=since)
    if until is not None:
        rated = rated.filter(rated_at__lt=until)

    def rows(field: str) -> list[dict[str, Any]]:
        grouped = rated.values(field).annotate(ratings=Count("id"), mean=Avg("rating")).order_by(field)
        satisfied = dict(
            rated.filter(rating__gte=4).values_list(field).annotate(n=Count("id")).order_by(field)
        )
        return [
            {
                "code": row[field],
                "ratings": row["ratings"],
                "mean": round(float(row["mean"]), 2),
                "satisfied_share": round(satisfied.get(row[field], 0) / row["ratings"], 3),
            }
            for row in grouped
        ]

    return {"by_category": rows("category__code"), "by_body": rows("incident__accountable__code")}


# --- Open311 API keys ---------------------------------------------------------------------------


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic(durable=True)
def create_open311_key(name: str) -> str:
    """A new ``api_key`` named ``name``; returns it (only its hash is kept). A revoked key's name may
    be used again: the row gets the new key."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput(_("A key's name is 1 to 64 characters."), field="name")
    raw = OPEN311_KEY_PREFIX + secrets.token_urlsafe(32)
    existing = Open311Key.objects.select_for_update().filter(name=name).first()
    if existing is not None and not existing.is_revoked:
        raise Conflict(_("A key named %(name)s exists; revoke it first.") % {"name": name}, field="name")
    key, _created = Open311Key.objects.update_or_create(
        name=name,
        defaults={
            "prefix": raw[:8],
            "key_hash": hash_key(raw),
            "created_at": clock.now(),
            "is_revoked": False,
        },
    )
    record(
        actor="open311",
        events=[Event(AuditAction.OPEN311_KEY_CREATE, "open311_key", key.pk, details={"name": name})],
    )
    return raw


@transaction.atomic(durable=True)
def revoke_open311_key(name: str) -> Open311Key:
    key = Open311Key.objects.select_for_update().filter(name=name, is_revoked=False).first()
    if key is None:
        raise NotFound(_("No active key named %(name)s.") % {"name": name[:64]})
    key.is_revoked = True
    key.save(update_fields=["is_revoked"])
    record(
        actor="open311",
        events=[Event(AuditAction.OPEN311_KEY_REVOKE, "open311_key", key.pk, details={"name": name})],
    )
    return key


def key_for(raw: str | None) -> Open311Key | None:
    """The active key ``raw`` is, or None."""
    if not raw or not raw.startswith(OPEN311_KEY_PREFIX) or len(raw) > 200:
        return None
    return Open311Key.objects.filter(key_hash=hash_key(raw), is_revoked=False).first()


# --- the resident's loop: the resolution, "not solved", "me too", my grid worker -----------------

REOPEN_REASON_MAX = 1000
# Categories about one person's health or home: never offered to neighbours as "me too", nor shown to
# them as possible duplicates.
PERSONAL_CATEGORIES = frozenset({"fall_medical", "wellness_check"})
SUPPORTED = "supported"  # the incident's timeline step when a neighbour says "me too"
TIMELINE_KINDS[SUPPORTED] = _lazy("A neighbour reported it too")


@dataclass(frozen=True)
class Resolution:
    """What the responder said was done (the latest "resolve" step's note), when, and the photos they
    sent with it: what the reporter sees before she rates or says it is not solved."""

    note: str
    at: Any
    photos: tuple[IncidentPhoto, ...]


def resolution_of(report: Report) -> Resolution | None:
    """The resolution of the report's incident, or None if it was never resolved. The photos are those
    taken at "resolve" (not the scene's, which may show other people)."""
    step = report.incident.events.filter(kind=Move.RESOLVE.value).order_by("-at", "-id").first()
    if step is None:
        return None
    # The photos of this resolution: those sent at "resolve" since the incident was last reopened.
    reopened = (
        report.incident.events.filter(kind=Move.REOPEN.value, at__lte=step.at).order_by("-at", "-id").first()
    )
    sent = report.incident.photos.filter(stage=IncidentPhoto.Stage.RESOLVE, at__lte=step.at)
    if reopened is not None:
        sent = sent.filter(at__gt=reopened.at)
    return Resolution(note=step.note, at=step.at, photos=tuple(sent.defer("photo").order_by("at", "id")))


def resolution_photo(report: Report, photo_id) -> IncidentPhoto:
    """A photo of the report's resolution (see ``resolution_of``); else the same 404."""
    found = resolution_of(report)
    if found is None or not isinstance(photo_id, int) or photo_id not in {p.pk for p in found.photos}:
        raise NotFound(_("No such photo."))
    photo = IncidentPhoto.objects.filter(pk=photo_id, incident_id=report.incident_id).first()
    if photo is None:
        raise NotFound(_("No such photo."))
    return photo


def can_reopen(report: Report) -> bool:
    """The reporter may say "not solved" while the incident is resolved or closed and she has not rated it."""
    return report.incident.status in MOVES[Move.REOPEN][0] and report.rating is None


@transaction.atomic(durable=True)
def reopen_report(*, actor: Actor, report: Report, reason: str) -> Report:
    """The reporter says her resolved or closed report is not solved: its incident is reopened with her
    reason (kept on its timeline for the staff) and goes back to the same accountable body and, if one
    had it, the same responder; without one, dispatch picks the nearest. Only the reporter, only before
    she rates it. This is the resident's own path: the staff's "reopen" step stays the managers'."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say what is still wrong, so that they know what to do."), field="reason")
    if len(reason) > REOPEN_REASON_MAX:
        raise InvalidInput(
            _("The reason is longer than %(max)d characters.") % {"max": REOPEN_REASON_MAX}, field="reason"
        )
    if actor is None or report.reporter_id is None or report.reporter_id != actor.pk:
        raise PermissionDenied(_("Only the person who reported it may say it is not solved."))
    locked = Report.objects.select_for_update().filter(pk=report.pk).first()
    incident = Incident.objects.select_for_update().filter(pk=report.incident_id).first()
    if locked is None or incident is None:
        raise NotFound(_("No such report."))
    if locked.rating is not None:
        raise Conflict(
            _("You have rated this report already; if the problem is back, report it again."), field="reason"
        )
    if incident.status not in MOVES[Move.REOPEN][0]:
        raise Conflict(_("Only a resolved or closed report can be reopened."), field="reason")
    # The move keeps the accountable body and the assignee: it goes back to those who had it.
    services._apply(incident, Move.REOPEN, actor=actor, note=reason)
    if incident.assignee_id is None:
        services.dispatch(incident)
    locked.incident = incident
    return locked


def community_of(actor: Actor) -> Region | None:
    """The community of the actor's home, else of the region they serve (a grid's or their own)."""
    household = getattr(getattr(actor, "resident", None), "household", None)
    if household is not None and household.grid is not None:
        return household.grid.parent
    region = actor.region if actor.region_id is not None else None
    if region is not None and region.kind == RegionKind.GRID:
        return region.parent
    return region if region is not None and region.kind == RegionKind.COMMUNITY else None


def supporters(incident: Incident) -> int:
    """How many neighbours said "me too": the reports of the incident but the one that opened it."""
    count = incident.reports.count()
    return max(count - 1, 0) if incident.source in (Source.REPORT, Source.OPEN311) else count


@transaction.atomic(durable=True)
def support_incident(*, actor: Actor, incident_id) -> Report:
    """ "Me too": the actor adds herself to an open incident a neighbour reported (a duplicate or a
    report nearby), instead of reporting it again. She becomes one of its supporters — a report of hers
    on the same incident: counted, listed among her reports, and told of every change as the first
    reporter is. Only open incidents of her own community, not of a category about one person; any
    other is the same 404."""
    if not can(actor, Action.REPORT_INCIDENTS):
        raise PermissionDenied(_("You may not report problems."))
    community = community_of(actor)
    incident = (
        Incident.objects.select_for_update()
        .filter(pk=incident_id if isinstance(incident_id, int) else None)
        .exclude(category__code__in=PERSONAL_CATEGORIES)
        .first()
    )
    if incident is None or community is None or incident.community_id != community.pk:
        raise NotFound(_("No such report."))
    if incident.status not in {s.value for s in flow.OPEN}:
        raise Conflict(_("This problem is no longer open; if it is still there, report it again."))
    if Report.objects.filter(incident=incident, reporter=actor).exists():
        raise Conflict(_("You have already reported this problem."))
    now = clock.now()
    report = Report.objects.create(
        reporter=actor,
        source=Source.REPORT,
        category=incident.category,
        building=incident.building,
        facility=incident.facility,
        latitude=incident.latitude if incident.building_id is None else None,
        longitude=incident.longitude if incident.building_id is None else None,
        incident=incident,
        token=secrets.token_hex(16),
        requested_at=now,
    )
    count = supporters(incident)
    IncidentEvent.objects.create(
        incident=incident,
        at=now,
        kind=SUPPORTED,
        actor=actor,
        details={"report": report.pk, "supporters": count},
    )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.REPORT_SUBMIT,
                "report",
                report.pk,
                details={
                    "category": incident.category.code,
                    "source": Source.REPORT,
                    "incident": incident.pk,
                    "support": True,
                },
            )
        ],
    )
    _acknowledge_receipt(report, actor=actor, contact=ContactDetails())
    return report


def grid_workers_of(actor: Actor) -> tuple[Region | None, list[User]]:
    """The grid of the actor's home and its grid workers (active accounts), whom she may contact."""
    household = getattr(getattr(actor, "resident", None), "household", None)
    grid = household.grid if household is not None else None
    if grid is None:
        return None, []
    workers = User.objects.filter(role=Role.GRID_WORKER, region=grid, is_active=True).order_by("pk")
    return grid, list(workers)


@transaction.atomic(durable=True)
def ask_grid_worker(*, actor: Actor) -> int:
    """Ask the grid workers of the actor's home to get in touch (a notification to each, naming her
    home as residents say it; her phone stays in the registry, where they may look it up). Returns how
    many were asked; 0 when her account is not linked to a home or the grid has no worker."""
    household = getattr(getattr(actor, "resident", None), "household", None)
    grid, workers = grid_workers_of(actor)
    if household is None or grid is None or not workers:
        return 0
    place = unit_words(household.unit, "zh") if household.unit is not None else grid.name_zh
    notify(
        workers,
        "resident.contact",
        _lazy("A resident asks you to get in touch"),
        _lazy("A resident of %(place)s asks you to get in touch."),
        params={"place": place},
        reference=("household", household.pk),
    )
    return len(workers)


def unit_words(unit: Unit, language: str) -> str:
    """A unit as residents say it: "3幢2单元502" for unit "2-05-502" of building "3幢" (English:
    "3幢, entrance 2, room 502"); a number of another shape is kept as it is."""
    parts = unit.number.split("-")
    building = unit.building.name
    if len(parts) == 3 and all(part.isdigit() for part in parts):
        entrance, _floor, room = parts
        if language.startswith("zh"):
            return f"{building}{int(entrance)}单元{room}"
        return _("%(building)s, entrance %(entrance)d, room %(room)s") % {
            "building": building,
            "entrance": int(entrance),
            "room": room,
        }
    return f"{building} {unit.number}"
