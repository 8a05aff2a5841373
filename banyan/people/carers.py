"""The carer circle: family carers who sign in, and what they may do for the resident they look after.

A carer (:class:`~banyan.people.models.Carer`) may be linked to the account they sign in with. They act
for the resident only within a :class:`~banyan.people.models.CarerConsent` the resident gave (or, for one
who cannot consent, their guardian): its scopes (report, check in, sign up, vote), between its dates,
until it is withdrawn — which takes effect at once, since :func:`proxy_scope` reads the consent on every
act. Every act by a proxy records both people.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.people.choices import ConsentGivenBy, ConsentScope, ProxyScope
from banyan.people.models import Actor, Carer, CarerConsent, Consent, Resident, User, may_see_care

# Roles a family carer may sign in with: a resident's account (the usual case) or a volunteer's.
CARER_ACCOUNT_ROLES = (Role.RESIDENT, Role.VOLUNTEER)


def _active_consents(now: dt.datetime | None = None) -> QuerySet[CarerConsent]:
    now = now or clock.now()
    return CarerConsent.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        withdrawn_at__isnull=True,
        valid_from__lte=now,
        carer__care_profile__is_active=True,
    )


def proxy_scope(user: Actor | None, resident: Resident) -> frozenset[str]:
    """What ``user`` may do for ``resident`` as their carer, now: the union of the scopes of their
    consents in force (empty for anyone else, and the moment a consent is withdrawn or runs out)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    scopes: set[str] = set()
    for granted in (
        _active_consents()
        .filter(carer__user_id=user.pk, carer__care_profile__resident=resident)
        .values_list("scopes", flat=True)
    ):
        scopes.update(granted)
    return frozenset(scopes)


def proxy_carer(user: Actor, resident: Resident, scope: str) -> Carer | None:
    """The carer record through which ``user`` may act for ``resident`` within ``scope``, or None."""
    if scope not in proxy_scope(user, resident):
        return None
    consents = _active_consents().filter(carer__user_id=user.pk, carer__care_profile__resident=resident)
    for consent in consents.select_related("carer").order_by("-carer__is_primary", "carer_id"):
        if scope in consent.scopes:
            return consent.carer
    return None


def residents_cared_for(user: Actor, scope: str | None = None) -> QuerySet[Resident]:
    """The residents ``user`` may act for now (within ``scope`` when given), for their home page."""
    if user is None or not user.is_authenticated:
        return Resident.objects.none()
    consents = _active_consents().filter(carer__user_id=user.pk)
    ids = {
        resident_id
        for resident_id, scopes in consents.values_list("carer__care_profile__resident_id", "scopes")
        if scope is None or scope in scopes
    }
    return Resident.objects.filter(pk__in=ids).order_by("name", "id")


def get_proxied_resident(user: Actor, pk, scope: str) -> Resident:
    """A resident ``user`` may act for within ``scope``: 404 otherwise (nothing said about who exists)."""
    resident = residents_cared_for(user, scope).filter(pk=pk).select_related("household__unit").first()
    if resident is None:
        raise NotFound(_("Resident not found."))
    return resident


def consented_carers(resident: Resident) -> list[Carer]:
    """The carers of ``resident``'s active care profiles who may be told what happens to them: those
    with a carer consent in force, or all of them while the resident's consent to share with named
    carers stands."""
    return consented_carers_of([resident]).get(resident.pk, [])


def consented_carers_of(residents: Iterable[Resident]) -> dict[int, list[Carer]]:
    """:func:`consented_carers` of several residents in one query, by resident id (those with none are
    left out): a warning relayed to a community asks it for everyone in care at once."""
    ids = [resident.pk for resident in residents]
    sharing = Consent.objects.filter(
        resident__in=ids, scope=ConsentScope.SHARE_WITH_CARERS, withdrawn_at__isnull=True
    ).values("resident_id")
    carers = Carer.objects.filter(care_profile__resident__in=ids, care_profile__is_active=True).filter(
        Q(care_profile__resident__in=sharing) | Q(pk__in=_active_consents().values("carer_id"))
    )
    found: dict[int, list[Carer]] = {}
    rows = carers.select_related("user").annotate(cared_for=F("care_profile__resident_id"))
    for carer in rows.order_by("-is_primary", "id"):
        found.setdefault(carer.cared_for, []).append(carer)
    return found


# --- managing the circle (staff who may change people and see care) ---------------------------------


def may_manage(actor: Actor) -> bool:
    return can(actor, Action.CHANGE_PEOPLE) and may_see_care(actor)


def carers_of(resident: Resident) -> QuerySet[Carer]:
    return Carer.objects.filter(care_profile__resident=resident).select_related("user", "care_profile")


def get_carer_for(user: Actor, pk) -> Carer:
    """A carer of a resident ``user`` may change, for managing the circle."""
    if not may_manage(user):
        raise NotFound(_("Carer not found."))
    residents = Resident.objects.restrict(user, Action.CHANGE_PEOPLE)
    carer = (
        Carer.objects.filter(care_profile__resident__in=residents, pk=pk)
        .select_related("care_profile__resident", "user")
        .first()
    )
    if carer is None:
        raise NotFound(_("Carer not found."))
    return carer


def get_carer_consent_for(user: Actor, pk) -> CarerConsent:
    if not may_manage(user):
        raise NotFound(_("Consent not found."))
    residents = Resident.objects.restrict(user, Action.CHANGE_PEOPLE)
    consent = (
        CarerConsent.objects.filter(carer__care_profile__resident__in=residents, pk=pk)
        .select_related("carer__care_profile")
        .first()
    )
    if consent is None:
        raise NotFound(_("Consent not found."))
    return consent


@transaction.atomic
def link_account(*, actor: Actor, carer: Carer, username: str) -> Carer:
    """Join ``carer`` to the account they sign in with (a resident's or a volunteer's); audited."""
    if not may_manage(actor):
        raise PermissionDenied(_("Your role cannot manage carers."))
    get_carer_for(actor, carer.pk)
    username = (username or "").strip()
    account = User.objects.filter(username=username, is_active=True).first()
    if account is None or account.role not in CARER_ACCOUNT_ROLES:
        raise InvalidInput(
            _("No active resident's or volunteer's account has this user name."), field="username"
        )
    carer.user = account
    carer.save(update_fields=["user"])
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.CARER_LINK,
                "resident",
                carer.care_profile.resident_id,
                details={"carer": carer.pk, "account": account.pk},
            )
        ],
    )
    return carer


@transaction.atomic
def grant(
    *,
    actor: Actor,
    carer: Carer,
    given_by: str,
    scopes: list[str],
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
) -> CarerConsent:
    """Record that the resident (``given_by`` self) or their guardian lets ``carer`` act for them."""
    if not may_manage(actor):
        raise PermissionDenied(_("Your role cannot manage carers."))
    carer = get_carer_for(actor, carer.pk)
    if given_by not in ConsentGivenBy.values:
        raise InvalidInput(
            _("given_by is one of: %(values)s.") % {"values": ", ".join(ConsentGivenBy.values)},
            field="given_by",
        )
    resident = carer.care_profile.resident
    if resident.age_on(clock.today()) < 14 and given_by != ConsentGivenBy.GUARDIAN:
        raise InvalidInput(
            _("A resident under 14 needs the consent of a parent or guardian."), field="given_by"
        )
    scopes = list(dict.fromkeys(scopes or []))
    if not scopes or any(scope not in ProxyScope.values for scope in scopes):
        raise InvalidInput(
            _("Name at least one of: %(values)s.") % {"values": ", ".join(ProxyScope.values)},
            field="scopes",
        )
    if carer.user_id is None:
        raise InvalidInput(_("Link the carer to an account first."), field="carer")
    now = clock.now()
    valid_from = valid_from or now
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidInput(_("The end comes after the start."), field="valid_until")
    consent = CarerConsent.objects.create(
        carer=carer,
        given_by=given_by,
        scopes=scopes,
        valid_from=valid_from,
        valid_until=valid_until,
        recorded_at=now,
        recorded_by=actor,
    )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.PROXY_GRANT,
                "resident",
                resident.pk,
                details={"carer": carer.pk, "scopes": scopes, "given_by": given_by},
            )
        ],
    )
    return consent


@transaction.atomic
def withdraw(*, actor: Actor, consent: CarerConsent) -> CarerConsent:
    """Withdraw a proxy grant: from this moment the carer may no longer act for the resident. The
    resident themselves may withdraw it, as may staff who manage the circle."""
    resident_id = consent.carer.care_profile.resident_id
    own = actor.role == Role.RESIDENT and getattr(actor, "resident_id", None) == resident_id
    if not own:
        if not may_manage(actor):
            raise PermissionDenied(_("Only the resident or staff who manage carers can withdraw this."))
        get_carer_consent_for(actor, consent.pk)
    if consent.withdrawn_at is not None:
        raise InvalidInput(_("This consent was withdrawn already."), field="consent")
    consent.withdrawn_at = clock.now()
    consent.save(update_fields=["withdrawn_at"])
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.PROXY_WITHDRAW,
                "resident",
                resident_id,
                details={"carer": consent.carer_id, "scopes": consent.scopes},
            )
        ],
    )
    return consent
