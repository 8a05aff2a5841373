"""Residents' own rights (PIPL Art. 44–47): what Banyan holds about me, who viewed it, a copy, corrections.

A person whose account is linked to a registry entry (``User.resident``) sees what Banyan holds
about them — masked like everywhere else, with the usual reveal for their own fields — and "who
viewed my data": the audit entries about them (who as a role and organisation, when, which field,
the stated purpose). They may take a copy (JSON or PDF, in clear, audited) and ask for a
correction; staff who may change people in scope accept it (the change goes through
:func:`banyan.people.services.update_resident`, audited) or reject it with a reason.

Banyan has no legal-guardian relation between accounts (carers care; they do not represent), so
these rights are exercised by the resident's own account; a guardian asks staff.

Devices and reports belong to apps above ``people``; they are read by model name, as the audit
app reads the registry, so that ``people`` imports nothing above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.models import AuditEntry
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.people import services
from banyan.people.choices import (
    CareKind,
    CareLevel,
    ConsentGivenBy,
    ConsentScope,
    CorrectableField,
    CorrectionStatus,
    Relation,
    ResidenceStatus,
    ResidentTag,
    Sex,
)
from banyan.people.models import CorrectionRequest, Resident, User, Vehicle

OWN_PURPOSE = "own data (PIPL Art. 45)"
OWN_FIELDS = ("id_number", "phone", "registered_address", "care_details")
MAX_PENDING_CORRECTIONS = 10
VIEWS_SHOWN = 500

# What each audited action means to the person it is about (keyed by AuditAction, read by value).
ACTION_LABELS: dict[str, Promise] = {
    AuditAction.RESIDENT_REVEAL: gettext_lazy("Viewed in clear"),
    AuditAction.RESIDENT_LOOKUP: gettext_lazy("Found by a lookup"),
    AuditAction.RESIDENT_CREATE: gettext_lazy("Registered"),
    AuditAction.RESIDENT_UPDATE: gettext_lazy("Changed"),
    AuditAction.RESIDENT_EXPORT: gettext_lazy("Copy of own data taken"),
    AuditAction.CONSENT_GRANT: gettext_lazy("Consent recorded"),
    AuditAction.CONSENT_WITHDRAW: gettext_lazy("Consent withdrawn"),
    AuditAction.CARE_PROFILE_CREATE: gettext_lazy("Care profile opened"),
    AuditAction.CARE_PROFILE_UPDATE: gettext_lazy("Care profile changed"),
    AuditAction.CORRECTION_REQUEST: gettext_lazy("Correction requested"),
    AuditAction.CORRECTION_ACCEPT: gettext_lazy("Correction accepted"),
    AuditAction.CORRECTION_REJECT: gettext_lazy("Correction rejected"),
}
FIELD_LABELS = {
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("Phone"),
    "care_details": gettext_lazy("Care details"),
    "registered_address": gettext_lazy("Registered address"),
    "name": gettext_lazy("Name"),
}


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


# --- access ------------------------------------------------------------------------------


def get_own_resident(user) -> Resident:
    """The registry entry linked to ``user``'s account; 404 when there is none."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or not user.resident_id:
        raise NotFound(_("No registry entry is linked to your account."))
    resident = (
        Resident.objects.select_related("household__grid", "household__unit__building")
        .filter(pk=user.resident_id)
        .first()
    )
    if resident is None:
        raise NotFound(_("No registry entry is linked to your account."))
    return resident


def get_correction_for(user, pk, action: Action = Action.VIEW_PEOPLE) -> CorrectionRequest:
    """A correction request the user may see: their own, or (staff who may change people) in scope."""
    correction = (
        CorrectionRequest.objects.restrict(user, action)
        .select_related("resident__household__grid", "decided_by")
        .filter(pk=pk)
        .first()
    )
    if correction is None:
        raise NotFound(_("Correction request not found."))
    return correction


def corrections_for(user, status: str | None = None):
    """The correction requests ``user`` may see, newest first (staff: the queue of their scope)."""
    if user.role != Role.RESIDENT and not can(user, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role does not handle correction requests."))
    queryset = CorrectionRequest.objects.restrict(user).select_related("resident__household__grid")
    if status:
        if status not in CorrectionStatus.values:
            accepted = ", ".join(CorrectionStatus.values)
            raise InvalidInput(_("Must be one of: %(accepted)s.") % {"accepted": accepted}, field="status")
        queryset = queryset.filter(status=status)
    return queryset.order_by("-requested_at", "-id")


# --- what Banyan holds ---------------------------------------------------------------------


def _registry(resident: Resident, clear: bool) -> dict:
    return {
        "id": resident.pk,
        "name": resident.name,
        "id_number": resident.id_number if clear else vault.mask_id_number(resident.id_number),
        "phone": resident.phone if clear else vault.mask_phone(resident.phone),
        "registered_address": (
            resident.registered_address if clear else vault.mask_text(resident.registered_address)
        ),
        "sex": _label(Sex, resident.sex),
        "birth_date": resident.birth_date.isoformat(),
        "age": resident.age_on(clock.today()),
        "relation": _label(Relation, resident.relation),
        "residence_status": _label(ResidenceStatus, resident.residence_status),
        "tags": [_label(ResidentTag, t) for t in resident.tags or []],
        "is_living_alone": resident.is_living_alone,
    }


def _household(resident: Resident) -> dict:
    household = resident.household
    return {
        "code": household.code,
        "grid": household.grid.name_zh,
        "building": household.unit.building.name,
        "unit": household.unit.number,
        "is_owner_occupied": household.is_owner_occupied,
        "members": household.members.count(),
        "vehicles": [
            {
                "kind": v.get_kind_display(),
                "plate": vault.mask_plate(v.plate),
                "parking_space": v.parking_space,
            }
            for v in Vehicle.objects.filter(household=household).order_by("id")
        ],
    }


def _care(resident: Resident, clear: bool) -> list[dict]:
    items = []
    for profile in resident.care_profiles.order_by("kind"):
        items.append(
            {
                "kind": _label(CareKind, profile.kind),
                "level": _label(CareLevel, profile.level),
                "since": profile.since.isoformat(),
                "is_active": profile.is_active,
                "visit_interval_days": profile.visit_interval_days,
                "details": profile.details if clear else vault.mask_text("x" if profile.details else ""),
            }
        )
    return items


def _consents(resident: Resident) -> list[dict]:
    return [
        {
            "scope": _label(ConsentScope, c.scope),
            "given_by": _label(ConsentGivenBy, c.given_by),
            "granted_at": c.granted_at.isoformat(),
            "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
        }
        for c in resident.consents.order_by("granted_at", "id")
    ]


def _devices(resident: Resident) -> list[dict]:
    """Devices at the household's home or serving one of its members (sensing, read by model name)."""
    try:
        device_model = apps.get_model("sensing", "Device")
    except LookupError:
        return []
    household = resident.household
    devices = device_model.objects.filter(
        Q(unit_id=household.unit_id) | Q(resident__household_id=household.pk)
    ).order_by("code")
    return [
        {
            "code": d.code,
            "kind": d.kind_label,
            "status": d.get_status_display(),
            "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None,
            "serves_me": d.resident_id == resident.pk,
        }
        for d in devices
    ]


def _reports(user) -> list[dict]:
    """The reports this account made (response, read by model name)."""
    try:
        report_model = apps.get_model("response", "Report")
    except LookupError:
        return []
    reports = report_model.objects.filter(reporter=user).select_related("category", "incident")
    return [
        {
            "id": r.pk,
            "category": r.category.name_zh,
            "requested_at": r.requested_at.isoformat(),
            "status": r.incident.get_status_display(),
            "description": r.description,
        }
        for r in reports.order_by("-requested_at", "-id")
    ]


def _who(entry: AuditEntry, user, accounts: dict) -> str:
    if entry.actor_id is None:
        return _("Banyan (automatic)") if entry.actor == "system" else entry.actor
    if entry.actor_id == user.pk:
        return _("You")
    account = accounts.get(entry.actor_id)
    if account is None:
        return _("A former staff account")
    role = str(account.get_role_display())
    organisations = [m.organisation.name_zh for m in account.memberships.all()]
    return f"{role} · {', '.join(organisations)}" if organisations else role


def who_viewed(user, resident: Resident, *, limit: int = VIEWS_SHOWN) -> list[dict]:
    """The audit entries about ``resident``, newest first: who (role and organisation), when, what, why."""
    entries = list(
        AuditEntry.objects.filter(subject_type="resident", subject_id=str(resident.pk)).order_by("-id")[
            :limit
        ]
    )
    actor_ids = {e.actor_id for e in entries if e.actor_id is not None}
    accounts = {
        u.pk: u for u in User.objects.filter(pk__in=actor_ids).prefetch_related("memberships__organisation")
    }
    items = []
    for entry in entries:
        field = (entry.details or {}).get("field", "")
        items.append(
            {
                "at": entry.at.isoformat(),
                "action": entry.action,
                "what": str(ACTION_LABELS.get(entry.action, entry.action)),
                "who": _who(entry, user, accounts),
                "is_me": entry.actor_id == user.pk,
                "field": str(FIELD_LABELS.get(field, field)) if field else "",
                "purpose": entry.purpose,
            }
        )
    return items


def _corrections(resident: Resident) -> list[dict]:
    return [correction_summary(c) for c in resident.correction_requests.order_by("-requested_at", "-id")]


def correction_summary(correction: CorrectionRequest, *, clear: bool = True) -> dict:
    return {
        "id": correction.pk,
        "resident": correction.resident_id,
        "field": correction.field,
        "field_label": _label(CorrectableField, correction.field),
        "proposed_value": correction.proposed_value if clear else vault.mask_text(correction.proposed_value),
        "note": correction.note,
        "status": correction.status,
        "status_label": _label(CorrectionStatus, correction.status),
        "requested_at": correction.requested_at.isoformat(),
        "decided_at": correction.decided_at.isoformat() if correction.decided_at else None,
        "reason": correction.reason,
    }


def held_about(user) -> dict:
    """Everything Banyan holds about ``user``'s registry entry, personal values masked."""
    resident = get_own_resident(user)
    return {
        "registry": _registry(resident, clear=False),
        "household": _household(resident),
        "care_profiles": _care(resident, clear=False),
        "consents": _consents(resident),
        "devices": _devices(resident),
        "reports": _reports(user),
        "corrections": _corrections(resident),
        "who_viewed": who_viewed(user, resident),
    }


@transaction.atomic
def reveal_own(*, actor, fields: list[str]) -> dict:
    """Clear values of one's own fields (no purpose to state: it is one's own); audited as a reveal."""
    resident = get_own_resident(actor)
    fields = list(dict.fromkeys(fields or []))
    unknown = [f for f in fields if f not in OWN_FIELDS]
    if not fields or unknown:
        raise InvalidInput(
            _("Name fields to reveal; accepted: %(accepted)s.") % {"accepted": ", ".join(OWN_FIELDS)},
            field="fields",
        )
    values = {}
    for field in fields:
        if field == "care_details":
            values[field] = services.REVEAL_READERS["care_details"](resident)
        else:
            values[field] = getattr(resident, field)
    record(
        actor=actor,
        events=[
            Event(AuditAction.RESIDENT_REVEAL, "resident", resident.pk, OWN_PURPOSE, {"field": f})
            for f in fields
        ],
    )
    return values


@dataclass(frozen=True)
class Export:
    """A copy of one's own data (PIPL Art. 45), in clear."""

    data: dict
    resident: Resident


@transaction.atomic
def export_own_data(*, actor, file_format: str) -> Export:
    """Everything held about ``actor`` in clear, for a copy; one audit entry (the format, no values)."""
    resident = get_own_resident(actor)
    if file_format not in ("json", "pdf"):
        raise InvalidInput(_("Must be one of: %(accepted)s.") % {"accepted": "json, pdf"}, field="format")
    data = {
        "generated_at": clock.now().isoformat(),
        "registry": _registry(resident, clear=True),
        "household": _household(resident),
        "care_profiles": _care(resident, clear=True),
        "consents": _consents(resident),
        "devices": _devices(resident),
        "reports": _reports(actor),
        "corrections": _corrections(resident),
        "who_viewed": who_viewed(actor, resident),
    }
    record(
        actor=actor,
        events=[
            Event(AuditAction.RESIDENT_EXPORT, "resident", resident.pk, OWN_PURPOSE, {"format": file_format})
        ],
    )
    return Export(data, resident)


# --- corrections -----------------------------------------------------------------------------


def _clean_free_text(value: str, *, field: str, maximum: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(_("This field is required."), field=field)
    if len(value) > maximum:
        raise InvalidInput(
            _("At most %(maximum)d characters.") % {"maximum": maximum},
            field=field,
        )
    services.refuse_hidden_characters(value, field=field)
    return value


def _clean_proposed(field: str, value: str) -> str:
    if field == CorrectableField.ID_NUMBER:
        return services.clean_id_number(value, field="proposed_value")
    if field == CorrectableField.PHONE:
        value = services.clean_phone(value, field="proposed_value")
        if not value:
            raise InvalidInput(_("This field is required."), field="proposed_value")
        return value
    maximum = {CorrectableField.NAME: 64, CorrectableField.REGISTERED_ADDRESS: 200}.get(field, 500)
    return _clean_free_text(value, field="proposed_value", maximum=maximum, required=True)


@transaction.atomic
def request_correction(*, actor, field: str, proposed_value: str, note: str = "") -> CorrectionRequest:
    """File a correction of one's own registry entry (PIPL Art. 46); the values go to the vault only."""
    resident = get_own_resident(actor)
    if field not in CorrectableField.values:
        accepted = ", ".join(CorrectableField.values)
        raise InvalidInput(_("Must be one of: %(accepted)s.") % {"accepted": accepted}, field="field")
    proposed = _clean_proposed(field, proposed_value)
    note = _clean_free_text(note, field="note", maximum=500, required=False)
    pending = resident.correction_requests.filter(status=CorrectionStatus.PENDING)
    if pending.count() >= MAX_PENDING_CORRECTIONS:
        raise InvalidInput(
            _("You have %(count)d requests waiting already; wait for staff to answer them.")
            % {"count": MAX_PENDING_CORRECTIONS},
            field="field",
        )
    correction = CorrectionRequest.objects.create(
        resident=resident,
        requested_by=actor,
        field=field,
        proposed_value=proposed,
        note=note,
        requested_at=clock.now(),
    )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.CORRECTION_REQUEST,
                "resident",
                resident.pk,
                details={"correction": correction.pk, "field": field},
            )
        ],
    )
    return correction


def _decide(actor, correction: CorrectionRequest, status: str, reason: str = "") -> CorrectionRequest:
    """Move a pending request to ``status`` at once (a compare-and-set), else 409."""
    if not can(actor, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role does not handle correction requests."))
    now = clock.now()
    moved = CorrectionRequest.objects.filter(pk=correction.pk, status=CorrectionStatus.PENDING).update(
        status=status, decided_at=now, decided_by=actor
    )
    if not moved:
        raise Conflict(_("This request was answered already."))
    correction.status, correction.decided_at, correction.decided_by = status, now, actor
    if reason:
        correction.reason = reason
        correction.save(update_fields=["reason"])
    return correction


@transaction.atomic
def accept_correction(*, actor, correction: CorrectionRequest) -> CorrectionRequest:
    """Accept: the registry entry takes the proposed value through ``update_resident`` (audited there too).

    ``other`` requests change nothing by themselves: staff fix what the note describes, then accept.
    """
    correction = _decide(actor, correction, CorrectionStatus.ACCEPTED)
    if correction.field != CorrectableField.OTHER:
        resident = services.get_resident_for(actor, correction.resident_id, Action.CHANGE_PEOPLE)
        try:
            services.update_resident(
                actor=actor, resident=resident, data={correction.field: correction.proposed_value}
            )
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field="proposed_value") from None
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.CORRECTION_ACCEPT,
                "resident",
                correction.resident_id,
                details={"correction": correction.pk, "field": correction.field},
            )
        ],
    )
    return correction


@transaction.atomic
def reject_correction(*, actor, correction: CorrectionRequest, reason: str) -> CorrectionRequest:
    """Reject with a reason the resident reads (kept in the vault; the audit entry holds no text)."""
    reason = _clean_free_text(reason, field="reason", maximum=500, required=True)
    if len(reason) < 4:
        raise InvalidInput(_("Tell the resident why (at least 4 characters)."), field="reason")
    correction = _decide(actor, correction, CorrectionStatus.REJECTED, reason)
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.CORRECTION_REJECT,
                "resident",
                correction.resident_id,
                details={"correction": correction.pk, "field": correction.field},
            )
        ],
    )
    return correction
