"""API tokens: issuing, listing and revoking them, with an audit entry for each change.

The owner lists and revokes their own tokens; platform administrators list and revoke anyone's.
A token made through the API with a bearer token may not outreach the token that made it (its
scopes are a subset) and expires no later than it, so a stolen token cannot mint a stronger one.
A gateway's ``readings:write`` token belongs to an account whose role may send readings
(directors, street officers, property staff, administrators): a community's gateway account is
typically a property-staff account of that community that never signs in
(``banyan token gateway COMMUNITY``). Enforcement of scopes is in :mod:`banyan.people.auth`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import record_one
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound
from banyan.people.auth import TokenScope, clean_days, clean_scopes, create_token, hash_token
from banyan.people.models import ApiToken, User

MAX_NAME = 100


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the stored row and the raw value, which is shown once and never again."""

    token: ApiToken
    raw: str


def may_manage_all_tokens(user) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False)) and user.is_active and user.role == Role.PLATFORM_ADMIN
    )


def tokens_for(actor, *, owner: User | None = None):
    """The tokens ``actor`` may see: their own, or anyone's for an administrator (``owner`` filters)."""
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    if may_manage_all_tokens(actor):
        return tokens.filter(user=owner) if owner is not None else tokens
    if owner is not None and owner.pk != actor.pk:
        return tokens.none()
    return tokens.filter(user=actor)


def get_token_for(actor, pk: int) -> ApiToken:
    """One token of ``actor`` (any token for an administrator); the same 404 for missing and not yours."""
    token = tokens_for(actor).filter(pk=pk).first()
    if token is None:
        raise NotFound(_("No such token."))
    return token


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(_("A token's name has at most %(n)d characters.") % {"n": MAX_NAME}, field="name")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput(_("A token's name must be plain text without control characters."), field="name")
    return name


@transaction.atomic
def issue_token(
    *,
    actor,
    user: User,
    name: str = "",
    scopes=None,
    days: int | None = None,
    via_token: ApiToken | None = None,
) -> IssuedToken:
    """Make a token for ``user`` (the actor themselves, or anyone for an administrator or the CLI,
    whose ``actor`` is None) and audit it. ``via_token``: the bearer token of the request, which the
    new token may not outreach."""
    if actor is not None and actor.pk != user.pk and not may_manage_all_tokens(actor):
        raise NotFound(_("No such account."))
    if not user.is_active:
        raise InvalidInput(_("This account is not active."), field="user")
    name = _clean_name(name)
    scopes = clean_scopes(scopes)
    days = clean_days(days)
    if TokenScope.READINGS_WRITE in scopes and not can(user, Action.SEND_READINGS):
        raise InvalidInput(
            _("This account's role may not send readings, so it cannot have a readings:write token."),
            field="scopes",
        )
    if via_token is not None:
        granted = set(via_token.scopes)
        wanted = set(scopes)
        if TokenScope.WRITE not in granted and not wanted <= granted:
            raise InvalidInput(
                _("A token cannot make a token with more scopes than its own (%(scopes)s).")
                % {"scopes": ", ".join(via_token.scopes)},
                field="scopes",
            )
    raw = create_token(
        user, name=name, scopes=scopes, days=days, not_after=via_token.expires_at if via_token else None
    )
    token = ApiToken.objects.select_related("user").get(key_hash=hash_token(raw))
    record_one(
        actor=actor,
        action=AuditAction.TOKEN_CREATE,
        subject_type="api_token",
        subject_id=token.pk,
        details={
            "user_id": user.pk,
            "scopes": scopes,
            "expires_at": token.expires_at.isoformat(timespec="seconds"),
        },
    )
    return IssuedToken(token, raw)


@transaction.atomic
def revoke_token(*, actor, token: ApiToken) -> ApiToken:
    """Revoke one token (at once: the next request with it gets 401) and audit it; idempotent."""
    if actor is not None:
        token = get_token_for(actor, token.pk)
    if token.is_revoked:
        return token
    token.is_revoked = True
    token.revoked_at = clock.now()
    token.save(update_fields=["is_revoked", "revoked_at"])
    record_one(
        actor=actor,
        action=AuditAction.TOKEN_REVOKE,
        subject_type="api_token",
        subject_id=token.pk,
        details={"user_id": token.user_id},
    )
    return token


@transaction.atomic
def revoke_all_tokens(*, actor, user: User) -> int:
    """Revoke every live token of ``user`` (the CLI's ``banyan token revoke USERNAME``)."""
    count = 0
    for token in ApiToken.objects.select_related("user").filter(user=user, is_revoked=False).order_by("id"):
        revoke_token(actor=actor, token=token)
        count += 1
    return count


@transaction.atomic
def ensure_gateway_account(*, actor, community) -> User:
    """The account of a community's readings gateways: ``gateway-<code>``, property staff of the
    community, with no usable password (it never signs in; it only holds ``readings:write`` tokens)."""
    username = f"gateway-{community.code}"
    user = User.objects.filter(username=username).first()
    if user is not None:
        if user.role != Role.PROPERTY_STAFF or user.region_id != community.pk:
            raise InvalidInput(
                _("The account %(name)s exists but is not this community's gateway account.")
                % {"name": username},
                field="community",
            )
        return user
    user = User.objects.create(
        username=username,
        role=Role.PROPERTY_STAFF,
        region=community,
        password=make_password(None),
        first_name="",
        last_name="",
    )
    record_one(
        actor=actor,
        action=AuditAction.ACCOUNT_CREATE,
        subject_type="user",
        subject_id=user.pk,
        details={"role": user.role, "region": community.code, "gateway": True},
    )
    return user
