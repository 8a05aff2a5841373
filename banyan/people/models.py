"""People: accounts and organisations, households, residents, care, consent and vehicles.

Personal fields (``PERSONAL_FIELDS`` on each model) are kept in the vault: encrypted at rest,
looked up through blind indexes, masked in every output, and redacted from audit snapshots.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from banyan.core import vault
from banyan.core.access import Action, revealable_fields
from banyan.core.choices import Role
from banyan.people.choices import (
    CareKind,
    CareLevel,
    CarerKind,
    ConsentGivenBy,
    ConsentScope,
    CorrectableField,
    CorrectionStatus,
    OrganisationKind,
    Relation,
    ResidenceStatus,
    Sex,
    VehicleKind,
)
from banyan.places.models import Region, ScopedQuerySet, Unit


class User(AbstractUser):
    """A person who signs in: staff of every role, or a resident."""

    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.RESIDENT)
    region = models.ForeignKey(
        Region,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("region served"),
        help_text=_("The root of the region subtree this account sees."),
    )
    resident = models.OneToOneField(
        "people.Resident", models.SET_NULL, null=True, blank=True, related_name="account"
    )
    # Elder mode (large type, high contrast, few steps) as the person chose it on any device: it
    # follows them to the next sign-in. None: never chosen, the browser's cookie decides
    # (banyan.core.context_processors.is_elder_mode).
    elder_mode = models.BooleanField(_("elder mode"), null=True, blank=True)

    class Meta:
        verbose_name = _("account")

    def get_full_name(self) -> str:
        """A Chinese name is written family name first and without a space ("刘桂香"); other names
        given name first ("Anna Schmidt")."""
        given, family = self.first_name.strip(), self.last_name.strip()
        if any("\u3400" <= char <= "\u9fff" for char in given + family):
            return f"{family}{given}"
        return f"{given} {family}".strip()

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


# Who acts, in the signatures of the services above people; below people, core and audit take the
# protocol banyan.core.access.Actor, which a User is.
Actor = User


class AuthenticatedHttpRequest(HttpRequest):
    """A request whose account has signed in (behind ``login_required`` or the API's authentication), for
    annotations: Django builds a plain ``HttpRequest``; here ``request.user`` is a :class:`User`."""

    user: User


def _default_token_scopes() -> list[str]:
    return ["write"]


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored.

    Every token expires (``expires_at``, at most a year after it was made) and carries scopes
    (``read``, ``write``, ``readings:write``) that :class:`banyan.people.auth.BearerTokenAuth`
    enforces for every API call. See docs/adr/0006-api-tokens.md.
    """

    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=_default_token_scopes)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    is_revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.username})"


class Organisation(models.Model):
    """A body that serves regions: street office, committee, property company, clinic …"""

    code = models.CharField(_("code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=OrganisationKind.choices)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    regions = models.ManyToManyField(Region, related_name="organisations", verbose_name=_("regions served"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("organisation")

    def __str__(self) -> str:
        return self.name_zh


class Membership(models.Model):
    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, models.CASCADE, related_name="memberships")
    title = models.CharField(_("title"), max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "user"], name="membership_unique")]


class HouseholdQuerySet(ScopedQuerySet):
    region_path = "grid__path"
    default_action = Action.VIEW_PEOPLE

    def personal_scope(self, user):
        if user.role == Role.RESIDENT:
            return self.filter(members__account=user) if user.resident_id else self.none()
        if user.role == Role.VOLUNTEER:
            return self.filter(members__care_profiles__carers__user=user).distinct()
        return None


class Household(models.Model):
    """People who live together in one unit (a unit may hold several households)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    unit = models.ForeignKey(Unit, models.PROTECT, related_name="households", verbose_name=_("unit"))
    # The unit's grid, kept here so that scoping is one join.
    grid = models.ForeignKey(Region, models.PROTECT, related_name="households", editable=False)
    is_owner_occupied = models.BooleanField(_("owner occupied"), default=True)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("household")

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        if self.unit_id and not self.grid_id:
            self.grid_id = Unit.objects.values_list("building__grid_id", flat=True).get(pk=self.unit_id)
        super().save(*args, **kwargs)


class ResidentQuerySet(ScopedQuerySet):
    region_path = "household__grid__path"
    default_action = Action.VIEW_PEOPLE

    def personal_scope(self, user):
        if user.role == Role.RESIDENT:
            return self.filter(household__members__account=user) if user.resident_id else self.none()
        if user.role == Role.VOLUNTEER:
            return self.filter(care_profiles__carers__user=user).distinct()
        return None


class Resident(models.Model):
    PERSONAL_FIELDS = ("id_number", "phone", "registered_address")

    household = models.ForeignKey(
        Household, models.PROTECT, related_name="members", verbose_name=_("household")
    )
    name = models.CharField(_("name"), max_length=64)
    id_number = vault.EncryptedTextField(_("ID number"))
    id_number_index = models.CharField(max_length=64, unique=True, editable=False)
    phone = vault.EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    relation = models.CharField(_("relation to head"), max_length=16, choices=Relation.choices)
    residence_status = models.CharField(
        _("residence"),
        max_length=16,
        choices=ResidenceStatus.choices,
        default=ResidenceStatus.REGISTERED_LIVING_HERE,
    )
    registered_address = vault.EncryptedTextField(_("registered address"), blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    is_living_alone = models.BooleanField(_("lives alone"), default=False)

    objects = ResidentQuerySet.as_manager()

    class Meta:
        ordering = ["household", "id"]
        verbose_name = _("resident")

    def __str__(self) -> str:
        return self.name

    @property
    def id_number_masked(self) -> str:
        return vault.mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return vault.mask_phone(self.phone)

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def may_see_care(user) -> bool:
    """Care kinds are health data: only roles that may reveal care details see that a profile exists."""
    return "care_details" in revealable_fields(user)


class CareProfileQuerySet(models.QuerySet):
    def restrict(self, user, action: Action = Action.VIEW_PEOPLE):
        if not may_see_care(user):
            return self.none()
        return self.filter(resident__in=Resident.objects.restrict(user, action))


class CareProfile(models.Model):
    """A reason to look after a resident, with the health or care details kept in the vault."""

    PERSONAL_FIELDS = ("details",)

    resident = models.ForeignKey(Resident, models.CASCADE, related_name="care_profiles")
    kind = models.CharField(_("kind"), max_length=32, choices=CareKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=CareLevel.choices, default=CareLevel.MEDIUM)
    details = vault.EncryptedJSONField(_("care details"), blank=True)
    visit_interval_days = models.PositiveSmallIntegerField(_("visit every (days)"), default=7)
    since = models.DateField(_("since"))
    is_active = models.BooleanField(_("active"), default=True)

    objects = CareProfileQuerySet.as_manager()

    class Meta:
        ordering = ["resident", "kind"]
        verbose_name = _("care profile")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "kind"],
                name="care_profile_kind_unique",
                violation_error_message=_("This resident already has a care profile of that kind."),
            )
        ]


class Carer(models.Model):
    PERSONAL_FIELDS = ("phone",)

    care_profile = models.ForeignKey(CareProfile, models.CASCADE, related_name="carers")
    kind = models.CharField(_("kind"), max_length=16, choices=CarerKind.choices)
    name = models.CharField(_("name"), max_length=64)
    phone = vault.EncryptedTextField(_("phone"), blank=True)
    user = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="cared_profiles")
    resident = models.ForeignKey(Resident, models.SET_NULL, null=True, blank=True, related_name="caring_for")
    is_primary = models.BooleanField(_("primary carer"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]


class CarerConsent(models.Model):
    """A proxy grant: the resident (or their guardian, for one who cannot consent) lets a carer who signs
    in act for them within ``scopes`` (:class:`~banyan.people.choices.ProxyScope`), from ``valid_from``
    until ``valid_until`` (open-ended when unset) or its withdrawal, which takes effect at once."""

    carer = models.ForeignKey(Carer, models.CASCADE, related_name="consents", verbose_name=_("carer"))
    given_by = models.CharField(_("given by"), max_length=16, choices=ConsentGivenBy.choices)
    scopes = models.JSONField(_("may act for them to"), default=list)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-valid_from", "-id"]
        verbose_name = _("carer consent")


class Consent(models.Model):
    """Separate consent (PIPL Art. 29/31) for health data and monitoring; withdrawals are kept."""

    resident = models.ForeignKey(Resident, models.CASCADE, related_name="consents")
    scope = models.CharField(_("scope"), max_length=32, choices=ConsentScope.choices)
    given_by = models.CharField(_("given by"), max_length=16, choices=ConsentGivenBy.choices)
    granted_at = models.DateTimeField(_("granted at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    recorded_by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-granted_at"]


class VehicleQuerySet(models.QuerySet):
    def restrict(self, user, action: Action = Action.VIEW_PEOPLE):
        return self.filter(household__in=Household.objects.restrict(user, action))


class Vehicle(models.Model):
    PERSONAL_FIELDS = ("plate",)

    household = models.ForeignKey(Household, models.CASCADE, related_name="vehicles")
    kind = models.CharField(_("kind"), max_length=16, choices=VehicleKind.choices, default=VehicleKind.CAR)
    plate = vault.EncryptedTextField(_("plate"))
    plate_index = models.CharField(max_length=64, unique=True, editable=False)
    parking_space = models.CharField(_("parking space"), max_length=32, blank=True)

    objects = VehicleQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    @property
    def plate_masked(self) -> str:
        return vault.mask_plate(self.plate)


class CorrectionRequestQuerySet(models.QuerySet):
    def restrict(self, user, action: Action = Action.VIEW_PEOPLE):
        """A resident sees their own requests; staff who may change people, those of residents in scope."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.role == Role.RESIDENT:
            return self.filter(resident_id=user.resident_id) if user.resident_id else self.none()
        return self.filter(resident__in=Resident.objects.restrict(user, Action.CHANGE_PEOPLE))


class CorrectionRequest(models.Model):
    """A resident's request to correct what Banyan holds about them (PIPL Art. 46).

    The proposed value and the notes may be personal data: they are kept in the vault, never in
    the audit log (which records the field and the status only) or in a URL.
    """

    PERSONAL_FIELDS = ("proposed_value", "note", "reason")

    resident = models.ForeignKey(Resident, models.CASCADE, related_name="correction_requests")
    requested_by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")
    field = models.CharField(_("what is wrong"), max_length=32, choices=CorrectableField.choices)
    proposed_value = vault.EncryptedTextField(_("what it should be"))
    note = vault.EncryptedTextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CorrectionStatus.choices, default=CorrectionStatus.PENDING
    )
    requested_at = models.DateTimeField(_("requested"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    reason = vault.EncryptedTextField(_("reason"), blank=True)

    objects = CorrectionRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("correction request")
        indexes = [models.Index(fields=["status", "requested_at"], name="correction_status_idx")]
