"""API authentication: personal bearer tokens (stored hashed) or the web session (with CSRF).

Every token expires (90 days by default, at most a year) and carries scopes, enforced here for
every API call, in one place (:meth:`BearerTokenAuth.authenticate`), never per endpoint:

* ``read`` — safe methods only (GET, HEAD, OPTIONS), within what the owner's role may see;
* ``write`` — everything the owner's role allows (the default of a personal token);
* ``readings:write`` — a gateway's token: ``POST /api/v1/readings`` and nothing else, not even a GET.

An expired, revoked or unknown token, or one whose owner is inactive, gets the same 401. A valid
token used for something its scopes do not allow gets 403 naming the scopes. See
docs/adr/0006-api-tokens.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from enum import StrEnum

from django.db.models import F
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth

from banyan.core import clock
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.people.models import ApiToken

TOKEN_PREFIX = "byn_"
DEFAULT_DAYS = 90
MAX_DAYS = 365
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenScope(StrEnum):
    READ = "read"
    WRITE = "write"
    READINGS_WRITE = "readings:write"


DEFAULT_SCOPES = (TokenScope.WRITE,)
# The API operations (Ninja url names) a ``readings:write`` token may call, with their method.
READINGS_OPERATIONS = frozenset({("POST", "post_readings")})


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def clean_scopes(scopes: Iterable[str] | None) -> list[str]:
    """The scopes as a sorted list without repeats; an unknown or missing scope names the field."""
    if scopes is None:
        return [str(s) for s in DEFAULT_SCOPES]
    if isinstance(scopes, str):
        scopes = [scopes]
    cleaned = set()
    for scope in scopes:
        if scope not in TokenScope.__members__.values():
            raise InvalidInput(
                _("Unknown token scope %(scope)r; use read, write or readings:write.")
                % {"scope": str(scope)},
                field="scopes",
            )
        cleaned.add(str(scope))
    if not cleaned:
        raise InvalidInput(
            _("Give a token at least one scope: read, write or readings:write."), field="scopes"
        )
    return sorted(cleaned)


def clean_days(days: int | None) -> int:
    if days is None:
        return DEFAULT_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(
            _("A token lives from 1 to %(max)d days.") % {"max": MAX_DAYS}, field="days", code="out_of_range"
        )
    return days


def create_token(
    user,
    *,
    name: str = "",
    scopes: Iterable[str] | None = None,
    days: int | None = None,
    not_after: dt.datetime | None = None,
) -> str:
    """Create a token for ``user`` and return it; only its hash is kept.

    The primitive under :func:`banyan.people.tokens.issue_token` (which checks who may have which
    scope and writes the audit entry); tests use it directly. Defaults: scope ``write``, 90 days.
    ``not_after`` caps the expiry: a token made with a token expires no later than that token.
    """

    scopes = clean_scopes(scopes)
    now = clock.now()
    expires_at = now + dt.timedelta(days=clean_days(days))
    if not_after is not None:
        expires_at = min(expires_at, not_after)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:8],
        key_hash=hash_token(raw),
        scopes=scopes,
        created_at=now,
        expires_at=expires_at,
    )
    return raw


def token_for(raw: str):
    """The live token whose hash matches ``raw`` (not revoked, not expired, owner active), or None.

    Marks it used. Expired tokens are refused exactly like unknown ones.
    """

    if not isinstance(raw, str) or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    now = clock.now()
    token = (
        ApiToken.objects.select_related("user", "user__region")
        .filter(key_hash=hash_token(raw), is_revoked=False, expires_at__gt=now, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    return token


def scopes_allow(scopes: Iterable[str], method: str, operation: str | None) -> bool:
    """Whether a token with ``scopes`` may make a ``method`` request to the API ``operation``
    (its Ninja url name; None outside the API)."""
    method = method.upper()
    for scope in scopes:
        if scope == TokenScope.WRITE:
            return True
        if scope == TokenScope.READ and method in SAFE_METHODS:
            return True
        if scope == TokenScope.READINGS_WRITE and (method, operation) in READINGS_OPERATIONS:
            return True
    return False


def check_token_scopes(token, request) -> None:
    """403 unless the token's scopes allow this request: the one place scopes are enforced."""
    match = getattr(request, "resolver_match", None)
    operation = match.url_name if match is not None else None
    if not scopes_allow(token.scopes, request.method, operation):
        raise PermissionDenied(
            _("This token's scopes (%(scopes)s) do not allow this request.")
            % {"scopes": ", ".join(token.scopes)},
            code="token_scope",
        )


def user_for_token(raw: str):
    """The owner of a live token that may read, for GET endpoints outside the API (feeds, streams);
    None otherwise (a gateway's ``readings:write`` token reads nothing)."""
    token = token_for(raw)
    if token is None or not scopes_allow(token.scopes, "GET", None):
        return None
    return token.user


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        api_token = token_for(token)
        if api_token is None:
            return None
        check_token_scopes(api_token, request)
        request.user = api_token.user
        request.api_token = api_token
        return api_token.user


api_auth = [BearerTokenAuth(), SessionAuth()]


def request_token(request):
    """The bearer token that signed in this API request, or None for a session."""
    return getattr(request, "api_token", None)


async def astream_user(request):
    """The user of a streaming request (Server-Sent Events): ``Authorization: Bearer <token>``, else the
    session; None when neither signs in an active user."""
    from asgiref.sync import sync_to_async

    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return await sync_to_async(user_for_token)(header[len("Bearer ") :].strip())
    user = await request.auser()
    return user if user.is_authenticated and user.is_active else None


__all__ = [
    "TokenScope",
    "api_auth",
    "astream_user",
    "check_token_scopes",
    "create_token",
    "request_token",
    "scopes_allow",
    "token_for",
    "user_for_token",
    "F",
]
