"""Accounts and roles: who sees which accounts, and every change an administrator makes to one.

Platform administrators see and change every account: they make staff accounts (an initial password is
generated, shown once and kept nowhere but as its hash), change their names, roles and regions,
deactivate and reactivate them, and give one a new password. Street officers and community directors
see the accounts of their area (read-only) and, as ``banyan auth --as`` lets them, help the people
below them sign in: they remove a lost phone's second factor and end a lockout. Every other role sees
no account. Every change is audited (``user.*``, ``otp.reset``, ``login.unlocked``); the audit entry
holds the user name, role and region, never a name or a password.

Residents' accounts belong to their registry entry: this module neither makes them nor changes their
role, and no staff account becomes a resident's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import record_one
from banyan.core import clock
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.core.schemas import hidden_character
from banyan.people import login, otp
from banyan.people.models import Actor, User
from banyan.places.choices import RegionKind
from banyan.places.models import Region

# The roles that see accounts at all: administrators every account, the others those of their area.
ACCOUNT_VIEWERS = frozenset({Role.PLATFORM_ADMIN, Role.STREET_OFFICER, Role.COMMUNITY_DIRECTOR})
# Whose sign-in each role may help with (second factor, lockout): the roles below it, in its area.
SIGN_IN_HELPERS: dict[str, frozenset[str]] = {
    Role.PLATFORM_ADMIN: frozenset(Role.values),
    Role.STREET_OFFICER: frozenset(
        {Role.COMMUNITY_DIRECTOR, Role.GRID_WORKER, Role.PROPERTY_STAFF, Role.VOLUNTEER, Role.RESIDENT}
    ),
    Role.COMMUNITY_DIRECTOR: frozenset(
        {Role.GRID_WORKER, Role.PROPERTY_STAFF, Role.VOLUNTEER, Role.RESIDENT}
    ),
}
# The roles an administrator gives on the accounts page, and the kind of region each serves (none for
# the unscoped roles, whose scope is everything).
STAFF_ROLES: tuple[str, ...] = tuple(role for role in Role.values if role != Role.RESIDENT)
REGION_KINDS: dict[str, frozenset[str]] = {
    Role.PLATFORM_ADMIN: frozenset(),
    Role.AUDITOR: frozenset(),
    Role.STREET_OFFICER: frozenset({RegionKind.STREET}),
    Role.COMMUNITY_DIRECTOR: frozenset({RegionKind.COMMUNITY}),
    Role.GRID_WORKER: frozenset({RegionKind.GRID}),
    Role.PROPERTY_STAFF: frozenset({RegionKind.COMMUNITY, RegionKind.GRID}),
    Role.VOLUNTEER: frozenset({RegionKind.COMMUNITY, RegionKind.GRID}),
}
NAME_MAX = 150
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I
PASSWORD_GROUPS = 4


def _is_active_user(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active


def may_view_accounts(user) -> bool:
    return _is_active_user(user) and user.role in ACCOUNT_VIEWERS


def may_change_accounts(user) -> bool:
    return _is_active_user(user) and user.role == Role.PLATFORM_ADMIN


def accounts_for(user) -> QuerySet[User]:
    """The accounts ``user`` may see: every one for an administrator, those whose region lies in a street
    officer's or director's area for them, none for anyone else."""
    accounts = User.objects.select_related("region", "resident")
    if not may_view_accounts(user):
        return accounts.none()
    if user.role == Role.PLATFORM_ADMIN:
        return accounts
    if user.region_id is None:
        return accounts.none()
    return accounts.filter(region__path__startswith=user.region.path)


def get_account_for(user, pk) -> User:
    """One account ``user`` may see; the same 404 for "missing" and "not yours"."""
    account = accounts_for(user).filter(pk=pk).first()
    if account is None:
        raise NotFound(_("Account not found."))
    return account


def may_help_sign_in(actor, account: User) -> bool:
    """Whether ``actor`` may remove ``account``'s second factor or end its lockout."""
    if not may_view_accounts(actor) or account.pk == actor.pk:
        return False
    return account.role in SIGN_IN_HELPERS.get(actor.role, frozenset())


def regions_for_accounts(actor) -> QuerySet[Region]:
    """The streets, communities and grids an administrator may give an account (every one in reach)."""
    kinds = (RegionKind.STREET, RegionKind.COMMUNITY, RegionKind.GRID)
    return Region.objects.restrict(actor).filter(kind__in=kinds).order_by("path")


# --- checks ----------------------------------------------------------------------------------------


def _require_change(actor) -> None:
    if not may_change_accounts(actor):
        raise PermissionDenied(_("Only platform administrators change accounts."))


def _plain(value: str, *, field: str, required: bool = False) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise InvalidInput(_("This field is required."), field=field)
    if len(value) > NAME_MAX:
        raise InvalidInput(_("At most %(n)d characters.") % {"n": NAME_MAX}, field=field)
    found = hidden_character(value)
    if found:
        raise InvalidInput(
            _("Must not hold control, zero-width or text-direction characters (found %(character)s).")
            % {"character": found},
            field=field,
        )
    return value


def clean_username(value: str) -> str:
    username = (value or "").strip()
    if not username:
        raise InvalidInput(_("Give the account a user name."), field="username")
    if len(username) > NAME_MAX:
        raise InvalidInput(_("At most %(n)d characters.") % {"n": NAME_MAX}, field="username")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise InvalidInput(
            _("A user name holds only letters, digits and the characters @ . + - _."), field="username"
        ) from None
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("An account with this user name exists already."), field="username")
    return username


def _role_and_region(actor, role: str, region: Region | None) -> tuple[str, Region | None]:
    if role not in STAFF_ROLES:
        raise InvalidInput(_("Choose one of the staff roles."), field="role")
    kinds = REGION_KINDS[role]
    if not kinds:
        if region is not None:
            raise InvalidInput(
                _("A %(role)s serves every region: leave the region empty.") % {"role": Role(role).label},
                field="region",
            )
        return role, None
    if region is None:
        raise InvalidInput(_("Choose the region this account serves."), field="region")
    if not regions_for_accounts(actor).filter(pk=region.pk).exists():
        raise NotFound(_("Region not found."), field="region")
    if region.kind not in kinds:
        accepted = _(" or ").join(str(RegionKind(kind).label) for kind in sorted(kinds))
        raise InvalidInput(
            _("A %(role)s serves a %(kinds)s, not a %(kind)s.")
            % {"role": Role(role).label, "kinds": accepted, "kind": RegionKind(region.kind).label},
            field="region",
        )
    return role, region


def _details(account: User, **more) -> dict:
    return {
        "username": account.username,
        "role": account.role,
        "region": account.region.code if account.region_id and account.region else "",
        **more,
    }


def _audit(actor, action: AuditAction, account: User, **more) -> None:
    record_one(
        actor=actor,
        action=action,
        subject_type="user",
        subject_id=account.pk,
        details=_details(account, **more),
    )


def _new_password(account: User) -> str:
    """A random password of four groups of four letters and digits ("k7Qm-9xTf-…"), easy to read out."""
    while True:
        groups = (
            "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(PASSWORD_GROUPS)
        )
        password = "-".join(groups)
        try:
            validate_password(password, account)
        except ValidationError:
            continue
        return password


# --- changes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPassword:
    """An account and the password just given to it: shown once, never stored in clear."""

    account: User
    password: str


@transaction.atomic(durable=True)
def create_account(
    *,
    actor: Actor,
    username: str,
    family_name: str,
    given_name: str,
    role: str,
    region: Region | None,
) -> NewPassword:
    """Make a staff account with a generated initial password (returned once). Staff roles that may
    see personal data enrol a second factor at their first sign-in (``banyan.people.otp``)."""
    _require_change(actor)
    username = clean_username(username)
    last_name = _plain(family_name, field="family_name", required=True)
    first_name = _plain(given_name, field="given_name")
    role, region = _role_and_region(actor, role, region)
    account = User(username=username, last_name=last_name, first_name=first_name, role=role, region=region)
    password = _new_password(account)
    account.set_password(password)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise InvalidInput(_("An account with this user name exists already."), field="username") from None
    _audit(actor, AuditAction.USER_CREATE, account)
    return NewPassword(account, password)


@transaction.atomic(durable=True)
def update_account(
    *,
    actor: Actor,
    account: User,
    family_name: str,
    given_name: str,
    role: str,
    region: Region | None,
) -> User:
    """Change an account's name, role and region. A resident's account keeps its role (it belongs to the
    registry entry); nobody changes their own role or region."""
    _require_change(actor)
    account = User.objects.select_for_update(of=("self",)).select_related("region").get(pk=account.pk)
    changes: dict[str, object] = {
        "last_name": _plain(family_name, field="family_name", required=True),
        "first_name": _plain(given_name, field="given_name"),
    }
    if account.role == Role.RESIDENT:
        if role != Role.RESIDENT:
            raise InvalidInput(_("A resident's account keeps its role."), field="role")
    else:
        role, region = _role_and_region(actor, role, region)
        if account.pk == actor.pk and (role != account.role or region != account.region):
            raise InvalidInput(_("You cannot change your own role or region."), field="role")
        changes.update(role=role, region=region)
    changed = sorted(name for name, value in changes.items() if getattr(account, name) != value)
    if not changed:
        return account
    for name in changed:
        setattr(account, name, changes[name])
    account.save(update_fields=changed)
    _audit(actor, AuditAction.USER_UPDATE, account, changed=changed)
    return account


@transaction.atomic(durable=True)
def set_active(*, actor: Actor, account: User, active: bool) -> User:
    """Deactivate an account (it can no longer sign in; its sessions and API tokens stop at once) or
    reactivate it. Nobody deactivates their own account."""
    _require_change(actor)
    if account.pk == actor.pk and not active:
        raise InvalidInput(_("You cannot deactivate your own account."), field="active")
    updated = User.objects.filter(pk=account.pk, is_active=not active).update(is_active=active)
    account.is_active = active
    if updated:
        _audit(actor, AuditAction.USER_REACTIVATE if active else AuditAction.USER_DEACTIVATE, account)
    return account


@transaction.atomic(durable=True)
def give_new_password(*, actor: Actor, account: User) -> NewPassword:
    """A new generated password for an account (a forgotten one), returned once; the old one stops."""
    _require_change(actor)
    if account.pk == actor.pk:
        raise InvalidInput(_("Change your own password by signing in with it, not here."), field="password")
    account = User.objects.select_for_update().get(pk=account.pk)
    password = _new_password(account)
    account.set_password(password)
    account.save(update_fields=["password"])
    _audit(actor, AuditAction.USER_PASSWORD, account)
    return NewPassword(account, password)


def _require_sign_in_help(actor, account: User) -> None:
    if not accounts_for(actor).filter(pk=account.pk).exists():
        raise NotFound(_("Account not found."))
    if not may_help_sign_in(actor, account):
        raise PermissionDenied(_("Your role may not help this account sign in."))


def reset_second_factor(*, actor: Actor, account: User) -> int:
    """Remove the account's second factor (a lost phone): it enrols again at the next sign-in. Audited
    (``otp.reset``) by ``banyan.people.otp``. Returns how many devices were removed."""
    _require_sign_in_help(actor, account)
    return otp.reset_second_factor(actor=actor, username=account.username)


def unlock(*, actor: Actor, account: User) -> int:
    """End the account's lockout after too many wrong passwords; audited (``login.unlocked``)."""
    _require_sign_in_help(actor, account)
    return login.unlock_account(actor=actor, username=account.username)


def is_locked(account: User) -> bool:
    """Whether wrong passwords have locked the account now (``banyan.people.login``'s account limit within
    its lockout window)."""
    recent = AccessAttempt.objects.filter(
        username=account.username, attempt_time__gte=clock.now() - login.lockout_duration()
    )
    return (recent.aggregate(n=Sum("failures_since_start"))["n"] or 0) >= login.account_limit()


def person_name(account: User, language: str) -> str:
    """The account holder's name as it is said: a Chinese name family name first and unspaced ("刘桂香"),
    another name given name first on English pages ("Anna Schmidt"); the user name when there is none."""
    family, given = account.last_name.strip(), account.first_name.strip()
    if not family and not given:
        return account.username
    if any("\u3400" <= c <= "\u9fff" for c in family + given):
        return f"{family}{given}"
    if language.startswith("zh"):
        return f"{family} {given}".strip()
    return f"{given} {family}".strip()
