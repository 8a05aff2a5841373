"""State changes and reads of people data. Every write is audited; personal values never are."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import REVEALABLE_FIELDS, Action, can, revealable_fields
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.core.schemas import hidden_character
from banyan.people.choices import (
    CareKind,
    CarerKind,
    ConsentGivenBy,
    ConsentScope,
    Relation,
    ResidenceStatus,
    ResidentTag,
    Sex,
)
from banyan.people.models import Actor, CareProfile, Carer, Consent, Household, Resident, Vehicle
from banyan.people.validators import (
    birth_date_from_id,
    id_number_problem,
    normalise_id_number,
    normalise_phone,
    phone_problem,
)

# --- access functions (one per secured model; missing and out-of-scope both answer 404) ---


def get_resident_for(user: Actor, pk, action: Action = Action.VIEW_PEOPLE) -> Resident:
    resident = (
        Resident.objects.restrict(user, action)
        .select_related("household__grid", "household__unit__building")
        .filter(pk=pk)
        .first()
    )
    if resident is None:
        raise NotFound(_("Resident not found."))
    return resident


def get_household_for(user: Actor, pk, action: Action = Action.VIEW_PEOPLE) -> Household:
    household = (
        Household.objects.restrict(user, action)
        .select_related("grid", "unit__building")
        .filter(pk=pk)
        .first()
    )
    if household is None:
        raise NotFound(_("Household not found."))
    return household


def get_care_profile_for(user: Actor, pk, action: Action = Action.VIEW_PEOPLE) -> CareProfile:
    profile = CareProfile.objects.restrict(user, action).select_related("resident").filter(pk=pk).first()
    if profile is None:
        raise NotFound(_("Care profile not found."))
    return profile


# --- validation ------------------------------------------------------------------------


def clean_id_number(value: str, *, field: str = "id_number") -> str:
    value = normalise_id_number(value or "")
    problem = id_number_problem(value, today=clock.today())
    if problem:
        raise InvalidInput(_("ID number %(problem)s.") % {"problem": problem}, field=field)
    return value


def clean_phone(value: str, *, field: str = "phone") -> str:
    value = normalise_phone(value or "")
    if not value:
        return ""
    problem = phone_problem(value)
    if problem:
        raise InvalidInput(_("Phone %(problem)s.") % {"problem": problem}, field=field)
    return value


def _clean_choice(value, choices, field: str):
    if value not in choices.values:
        accepted = ", ".join(str(v) for v in choices.values)
        raise InvalidInput(_("Must be one of: %(accepted)s.") % {"accepted": accepted}, field=field)
    return value


def clean_tags(tags) -> list[str]:
    tags = list(dict.fromkeys(tags or []))
    for tag in tags:
        _clean_choice(tag, ResidentTag, "tags")
    return tags


def refuse_hidden_characters(value: str, *, field: str) -> None:
    """A name (or other text) with control, zero-width or direction characters is refused, naming them."""
    found = hidden_character(value or "")
    if found:
        raise InvalidInput(
            _(
                "Must not contain control, zero-width or text-direction characters (found %(character)s): "
                "they hide what the text really says."
            )
            % {"character": found},
            field=field,
        )


@dataclass
class ResidentData:
    """Validated input for a new or changed resident."""

    name: str
    id_number: str
    household_id: int
    relation: str
    phone: str = ""
    sex: str | None = None
    birth_date: dt.date | None = None
    residence_status: str = ResidenceStatus.REGISTERED_LIVING_HERE
    registered_address: str = ""
    tags: list[str] | None = None


def _apply(resident: Resident, data: dict) -> list[str]:
    """Set validated fields on ``resident``; return the names of those that changed."""
    changed = []
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name or len(name) > 64:
            raise InvalidInput(_("Name must be 1–64 characters."), field="name")
        refuse_hidden_characters(name, field="name")
        data["name"] = name
    if "id_number" in data:
        data["id_number"] = clean_id_number(data["id_number"])
        data["id_number_index"] = vault.blind_index("id_number", data["id_number"])
        data.setdefault("birth_date", birth_date_from_id(data["id_number"]))
        if data.get("birth_date") != birth_date_from_id(data["id_number"]):
            raise InvalidInput(_("Birth date does not match the ID number."), field="birth_date")
        sex_digit = int(data["id_number"][16]) % 2
        data.setdefault("sex", Sex.MALE if sex_digit else Sex.FEMALE)
    if "phone" in data:
        data["phone"] = clean_phone(data["phone"])
        data["phone_index"] = vault.blind_index("phone", data["phone"]) if data["phone"] else ""
    if "relation" in data:
        _clean_choice(data["relation"], Relation, "relation")
    if "sex" in data and data["sex"] is not None:
        _clean_choice(data["sex"], Sex, "sex")
    if "residence_status" in data:
        _clean_choice(data["residence_status"], ResidenceStatus, "residence_status")
    if "tags" in data:
        data["tags"] = clean_tags(data["tags"])
    if data.get("registered_address"):
        refuse_hidden_characters(data["registered_address"], field="registered_address")
    if "registered_address" in data and len(data["registered_address"] or "") > 200:
        raise InvalidInput(
            _("Registered address must be at most 200 characters."), field="registered_address"
        )
    for name, value in data.items():
        if name == "household_id":
            if value != resident.household_id:
                resident.household_id = value
                changed.append("household")
            continue
        if getattr(resident, name, None) != value:
            setattr(resident, name, value)
            changed.append(name)
    return changed


def _audit_details(changed: list[str]) -> dict:
    personal = set(Resident.PERSONAL_FIELDS) | {"id_number_index", "phone_index"}
    return {
        "fields": sorted(f for f in changed if f not in {"id_number_index", "phone_index"}),
        "personal": sorted(f for f in changed if f in personal and not f.endswith("_index")),
    }


def _save_unique(resident: Resident, update_fields=None) -> None:
    try:
        with transaction.atomic():
            resident.save(update_fields=update_fields)
    except IntegrityError:
        raise InvalidInput(
            _("A resident with this ID number is already registered."), field="id_number"
        ) from None


@transaction.atomic
def create_resident(*, actor: Actor, household: Household, data: dict) -> Resident:
    """Register a resident in ``household`` (which the caller has already loaded in scope)."""
    if not can(actor, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role cannot register residents."))
    for required in ("name", "id_number", "relation"):
        if not data.get(required):
            raise InvalidInput(_("This field is required."), field=required)
    resident = Resident(household=household)
    data = dict(data)
    data.pop("household_id", None)
    changed = _apply(resident, data)
    _save_unique(resident)
    record(
        actor=actor,
        events=[Event(AuditAction.RESIDENT_CREATE, "resident", resident.pk, details=_audit_details(changed))],
    )
    _recheck_scope(actor, resident)
    return resident


@transaction.atomic
def update_resident(*, actor: Actor, resident: Resident, data: dict) -> Resident:
    if not can(actor, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role cannot change residents."))
    data = {k: v for k, v in data.items() if v is not None}
    if "household_id" in data:
        get_household_for(actor, data["household_id"], Action.CHANGE_PEOPLE)
    changed = _apply(resident, data)
    if not changed:
        return resident
    _save_unique(resident, update_fields=changed)
    record(
        actor=actor,
        events=[Event(AuditAction.RESIDENT_UPDATE, "resident", resident.pk, details=_audit_details(changed))],
    )
    _recheck_scope(actor, resident)
    return resident


def _recheck_scope(actor: Actor, resident: Resident) -> None:
    """After a write, the object must still be in the actor's scope, else roll back."""
    if not Resident.objects.restrict(actor, Action.CHANGE_PEOPLE).filter(pk=resident.pk).exists():
        raise NotFound(_("Household not found."))


# --- reveal ----------------------------------------------------------------------------


def _care_details(resident: Resident) -> list[dict]:
    return [
        {"kind": p.kind, "level": p.level, "details": p.details}
        for p in resident.care_profiles.filter(is_active=True).order_by("kind")
    ]


REVEAL_READERS = {
    "id_number": lambda r: r.id_number,
    "phone": lambda r: r.phone,
    "care_details": _care_details,
}


# Something that looks like an ID number or a mobile number must not be written into the audit log.
_PERSONAL_PATTERN = re.compile(r"\d{17}[\dXx]|(?<!\d)1[3-9]\d{9}(?!\d)|\d{6}(19|20)\d{6}")


def clean_purpose(purpose: str) -> str:
    """A stated purpose for seeing personal data: plain text, 4–500 characters, no personal values."""
    purpose = (purpose or "").strip()
    if any(ord(c) < 32 for c in purpose):
        raise InvalidInput(_("The purpose must be plain text without control characters."), field="purpose")
    if _PERSONAL_PATTERN.search(purpose.replace(" ", "")):
        raise InvalidInput(
            _("Do not write ID numbers or phone numbers in the purpose; it is kept in the audit log."),
            field="purpose",
        )
    if len(purpose) < 4:
        raise InvalidInput(_("State the purpose of revealing (at least 4 characters)."), field="purpose")
    if len(purpose) > 500:
        raise InvalidInput(_("The purpose must be at most 500 characters."), field="purpose")
    return purpose


def clean_reveal_request(actor: Actor, fields: list[str], purpose: str) -> tuple[list[str], str]:
    purpose = clean_purpose(purpose)
    fields = list(dict.fromkeys(fields or []))
    if not fields:
        raise InvalidInput(_("Name at least one field to reveal."), field="fields")
    unknown = [f for f in fields if f not in REVEALABLE_FIELDS]
    if unknown:
        accepted = ", ".join(REVEALABLE_FIELDS)
        raise InvalidInput(
            _("Cannot reveal %(fields)s; accepted: %(accepted)s.")
            % {"fields": ", ".join(unknown), "accepted": accepted},
            field="fields",
        )
    allowed = revealable_fields(actor)
    denied = [f for f in fields if f not in allowed]
    if denied:
        raise PermissionDenied(_("Your role may not reveal: %(fields)s.") % {"fields": ", ".join(denied)})
    return fields, purpose


@transaction.atomic
def reveal_resident(*, actor: Actor, resident: Resident, fields: list[str], purpose: str) -> dict:
    """Return clear values of ``fields``; one audit entry per field, with the purpose."""
    fields, purpose = clean_reveal_request(actor, fields, purpose)
    if actor.role == Role.RESIDENT and resident.pk != actor.resident_id and "care_details" in fields:
        raise PermissionDenied(_("Residents may reveal only their own care details."))
    values = {f: REVEAL_READERS[f](resident) for f in fields}
    record(
        actor=actor,
        events=[
            Event(AuditAction.RESIDENT_REVEAL, "resident", resident.pk, purpose, {"field": f}) for f in fields
        ],
    )
    return values


# --- lookup ----------------------------------------------------------------------------

# A lookup by a personal value tells whether that value belongs to someone: it is a reveal in
# disguise, so it needs the right to reveal that field, a purpose (staff), and leaves an audit entry.
LOOKUP_FIELDS = ("id_number", "phone")
LOOKUP_MAX_MATCHES = 50


def check_lookup_allowed(actor: Actor, field: str) -> None:
    """403 unless ``actor``'s role may view residents and reveal ``field`` (what the lookup confirms)."""
    if not can(actor, Action.VIEW_PEOPLE):
        raise PermissionDenied(_("Your role cannot look residents up."))
    if field not in LOOKUP_FIELDS:
        raise InvalidInput(
            _("Look up by one of: %(accepted)s.") % {"accepted": ", ".join(LOOKUP_FIELDS)}, field="field"
        )
    if field not in revealable_fields(actor):
        raise PermissionDenied(
            _("Your role may not look residents up by %(field)s, because it may not reveal that field.")
            % {"field": field}
        )


@transaction.atomic
def lookup_residents(*, actor: Actor, field: str, value: str, purpose: str = "") -> list[Resident]:
    """Residents in ``actor``'s scope whose ``field`` is exactly ``value`` (through the blind index).

    Staff state a purpose, as for a reveal; a resident (whose scope is their own household) may
    leave it empty. One audit entry per lookup: the field, the purpose and the number of matches,
    never the value; its subject is the resident found, or ``none`` (several matches: one entry
    per resident found, each with the same count).
    """
    check_lookup_allowed(actor, field)
    purpose = (purpose or "").strip()
    if purpose or actor.role != Role.RESIDENT:
        purpose = clean_purpose(purpose)
    if field == "id_number":
        clear = clean_id_number(value)
        residents = Resident.objects.restrict(actor).filter(
            id_number_index=vault.blind_index("id_number", clear)
        )
    else:
        clear = clean_phone(value)
        if not clear:
            raise InvalidInput(_("This field is required."), field="phone")
        residents = Resident.objects.restrict(actor).filter(phone_index=vault.blind_index("phone", clear))
    found = list(
        residents.select_related("household__grid", "household__unit__building").order_by("id")[
            :LOOKUP_MAX_MATCHES
        ]
    )
    details = {"field": field, "matches": len(found)}
    subjects = [r.pk for r in found] or ["none"]
    record(
        actor=actor,
        events=[
            Event(AuditAction.RESIDENT_LOOKUP, "resident", subject, purpose, details) for subject in subjects
        ],
    )
    return found


# --- overview --------------------------------------------------------------------------

AGE_BANDS = [(0, 14), (15, 29), (30, 44), (45, 59), (60, 69), (70, 79), (80, 200)]


def community_overview(user: Actor) -> dict:
    """Counts for the home page: residents by age band and sex, care profiles by kind."""
    residents = Resident.objects.restrict(user)
    today = clock.today()
    pyramid = Counter()
    total = 0
    for birth_date, sex in residents.values_list("birth_date", "sex").iterator(chunk_size=5000):
        age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
        # A birth after "today" (a drill's clock set in the past) counts as age 0, never a crash.
        age = min(max(age, 0), AGE_BANDS[-1][1])
        band = next(i for i, (lo, hi) in enumerate(AGE_BANDS) if lo <= age <= hi)
        pyramid[(band, sex)] += 1
        total += 1
    bands = []
    for i, (lo, hi) in enumerate(AGE_BANDS):
        label = f"{lo}+" if hi >= 200 else f"{lo}–{hi}"
        bands.append({"label": label, "male": pyramid[(i, "M")], "female": pyramid[(i, "F")]})
    peak = max([max(b["male"], b["female"]) for b in bands] + [1])
    for band in bands:
        band["male_pct"] = round(100 * band["male"] / peak)
        band["female_pct"] = round(100 * band["female"] / peak)
    care = Counter(CareProfile.objects.restrict(user).filter(is_active=True).values_list("kind", flat=True))
    return {
        "residents": total,
        "households": Household.objects.restrict(user).count(),
        "pyramid": bands,
        "care": [{"kind": CareKind(k).label, "count": n} for k, n in sorted(care.items())],
    }


def validation_error_to_input(exc: ValidationError) -> InvalidInput:
    if hasattr(exc, "error_dict"):
        name, errors = next(iter(exc.error_dict.items()))
        return InvalidInput(" ".join(m for e in errors for m in e.messages), field=name)
    return InvalidInput(" ".join(exc.messages))


# --- households, care, consent -----------------------------------------------------------


@transaction.atomic
def create_household(*, actor: Actor, unit, code: str, is_owner_occupied: bool = True) -> Household:
    """Open a household in ``unit`` (loaded in scope by the caller)."""
    if not can(actor, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role cannot register households."))
    if Household.objects.filter(code=code).exists():
        raise InvalidInput(_("A household with this code exists already."), field="code")
    household = Household(
        code=code, unit=unit, grid_id=unit.building.grid_id, is_owner_occupied=is_owner_occupied
    )
    household.save()
    record(
        actor=actor,
        events=[Event(AuditAction.HOUSEHOLD_CREATE, "household", household.pk, details={"unit": unit.pk})],
    )
    if not Household.objects.restrict(actor, Action.CHANGE_PEOPLE).filter(pk=household.pk).exists():
        raise NotFound(_("Unit not found."))
    return household


def has_consent(resident: Resident, scope: str) -> bool:
    return resident.consents.filter(scope=scope, withdrawn_at__isnull=True).exists()


@transaction.atomic
def record_consent(*, actor: Actor, resident: Resident, scope: str, given_by: str) -> Consent:
    """Record separate consent (PIPL Art. 29); a minor under 14 needs a guardian's (Art. 31)."""
    if not can(actor, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role cannot record consent."))
    _clean_choice(scope, ConsentScope, "scope")
    _clean_choice(given_by, ConsentGivenBy, "given_by")
    if resident.age_on(clock.today()) < 14 and given_by != ConsentGivenBy.GUARDIAN:
        raise InvalidInput(
            _("A resident under 14 needs the consent of a parent or guardian."), field="given_by"
        )
    consent = Consent.objects.create(
        resident=resident, scope=scope, given_by=given_by, granted_at=clock.now(), recorded_by=actor
    )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.CONSENT_GRANT,
                "resident",
                resident.pk,
                details={"scope": scope, "given_by": given_by},
            )
        ],
    )
    return consent


@transaction.atomic
def create_care_profile(*, actor: Actor, resident: Resident, data: dict) -> CareProfile:
    """Open a care profile. Health details are kept only with the resident's health-data consent."""
    if not can(actor, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role cannot open care profiles."))
    _clean_choice(data["kind"], CareKind, "kind")
    if data.get("details") and not has_consent(resident, ConsentScope.HEALTH_DATA):
        raise InvalidInput(
            _("Health and care details need the resident's recorded consent for health data."),
            field="details",
        )
    if resident.care_profiles.filter(kind=data["kind"]).exists():
        raise InvalidInput(_("This resident already has a care profile of that kind."), field="kind")
    profile = CareProfile.objects.create(
        resident=resident,
        kind=data["kind"],
        level=data.get("level", 2),
        details=data.get("details") or {},
        visit_interval_days=data.get("visit_interval_days", 7),
        since=clock.today(),
    )
    carers = []
    for i, carer in enumerate(data.get("carers") or []):
        _clean_choice(carer["kind"], CarerKind, f"carers.{i}.kind")
        phone = clean_phone(carer.get("phone", ""), field=f"carers.{i}.phone")
        carers.append(
            Carer(
                care_profile=profile,
                kind=carer["kind"],
                name=carer["name"].strip(),
                phone=phone,
                is_primary=carer.get("is_primary", False),
            )
        )
    Carer.objects.bulk_create(carers)
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.CARE_PROFILE_CREATE,
                "resident",
                resident.pk,
                details={"care_profile": profile.pk, "kind": profile.kind, "carers": len(carers)},
            )
        ],
    )
    return profile


# --- key rotation ----------------------------------------------------------------------

BLIND_INDEXES = {
    Resident: {"id_number": "id_number_index", "phone": "phone_index"},
}


def rekey_all() -> dict[str, int]:
    """Re-encrypt every vault column with the newest data key and recompute blind indexes.

    Reading decrypts with any configured key; saving encrypts with the first one.
    """

    plans = [
        (Resident, ["id_number", "phone", "registered_address"], BLIND_INDEXES[Resident]),
        (CareProfile, ["details"], {}),
        (Carer, ["phone"], {}),
        (Vehicle, ["plate"], {"plate": "plate_index"}),
    ]
    counts = {}
    for model, fields, indexes in plans:
        batch, total = [], 0
        for obj in model.objects.only("pk", *fields).iterator(chunk_size=1000):
            for field, index in indexes.items():
                value = getattr(obj, field)
                setattr(obj, index, vault.blind_index(field, value) if value else "")
            batch.append(obj)
            if len(batch) >= 1000:
                model.objects.bulk_update(batch, fields + list(indexes.values()))
                total += len(batch)
                batch = []
        if batch:
            model.objects.bulk_update(batch, fields + list(indexes.values()))
            total += len(batch)
        counts[model.__name__] = total
    record(actor=None, events=[Event(AuditAction.VAULT_REKEY, "vault", "all", details=counts)])
    return counts


# --- updates and withdrawal ------------------------------------------------------------------


@transaction.atomic
def update_household(
    *, actor: Actor, household: Household, unit=None, is_owner_occupied: bool | None = None
) -> Household:
    """Move a household to another unit (loaded in scope by the caller) or change its tenure."""
    if not can(actor, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role cannot change households."))
    changed = []
    if unit is not None and unit.pk != household.unit_id:
        household.unit, household.grid_id = unit, unit.building.grid_id
        changed += ["unit", "grid"]
    if is_owner_occupied is not None and is_owner_occupied != household.is_owner_occupied:
        household.is_owner_occupied = is_owner_occupied
        changed.append("is_owner_occupied")
    if changed:
        household.save(update_fields=changed)
        record(
            actor=actor,
            events=[
                Event(AuditAction.HOUSEHOLD_UPDATE, "household", household.pk, details={"fields": changed})
            ],
        )
        if not Household.objects.restrict(actor, Action.CHANGE_PEOPLE).filter(pk=household.pk).exists():
            raise NotFound(_("Unit not found."))
    return household


@transaction.atomic
def update_care_profile(*, actor: Actor, profile: CareProfile, data: dict) -> CareProfile:
    """Change level, visiting interval, details (with consent) or close a care profile."""
    if not can(actor, Action.CHANGE_PEOPLE):
        raise PermissionDenied(_("Your role cannot change care profiles."))
    if data.get("details") and not has_consent(profile.resident, ConsentScope.HEALTH_DATA):
        raise InvalidInput(
            _("Health and care details need the resident's recorded consent for health data."),
            field="details",
        )
    changed = [name for name, value in data.items() if value is not None and getattr(profile, name) != value]
    for name in changed:
        setattr(profile, name, data[name])
    if changed:
        profile.save(update_fields=changed)
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.CARE_PROFILE_UPDATE,
                    "resident",
                    profile.resident_id,
                    details={"care_profile": profile.pk, "fields": sorted(changed)},
                )
            ],
        )
    return profile


def get_consent_for(user: Actor, resident_pk, consent_pk) -> Consent:
    resident = get_resident_for(user, resident_pk)
    consent = resident.consents.filter(pk=consent_pk).first()
    if consent is None:
        raise NotFound(_("Consent not found."))
    return consent


@transaction.atomic
def withdraw_consent(*, actor: Actor, consent: Consent) -> Consent:
    """Withdraw a consent (PIPL Art. 15). Withdrawing health-data consent erases stored care details."""
    own = actor.role == Role.RESIDENT and actor.resident_id == consent.resident_id
    if not (can(actor, Action.CHANGE_PEOPLE) or own):
        raise PermissionDenied(_("Only the resident or a registry editor can withdraw this consent."))
    if consent.withdrawn_at is not None:
        raise InvalidInput(_("This consent was withdrawn already."), field="consent")
    consent.withdrawn_at = clock.now()
    consent.save(update_fields=["withdrawn_at"])
    cleared = 0
    if consent.scope == ConsentScope.HEALTH_DATA and not has_consent(
        consent.resident, ConsentScope.HEALTH_DATA
    ):
        for profile in consent.resident.care_profiles.all():
            if profile.details:
                profile.details = {}
                profile.save(update_fields=["details"])
                cleared += 1
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.CONSENT_WITHDRAW,
                "resident",
                consent.resident_id,
                details={"scope": consent.scope, "cleared_care_details": cleared},
            )
        ],
    )
    return consent
