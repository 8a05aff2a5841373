"""API authentication: personal bearer tokens (stored hashed) or the web session (with CSRF)."""

from __future__ import annotations

import hashlib
import secrets

from django.db.models import F
from ninja.security import HttpBearer, SessionAuth

from banyan.core import clock

TOKEN_PREFIX = "byn_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(user, *, name: str = "") -> str:
    """Create a personal token for ``user`` and return it; only its hash is kept."""
    from banyan.people.models import ApiToken

    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user, name=name, prefix=raw[:8], key_hash=hash_token(raw), created_at=clock.now()
    )
    return raw


def user_for_token(raw: str):
    from banyan.people.models import ApiToken

    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__region")
        .filter(key_hash=hash_token(raw), is_revoked=False, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=clock.now())
    return token.user


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


api_auth = [BearerTokenAuth(), SessionAuth()]


async def astream_user(request):
    """The user of a streaming request (Server-Sent Events): ``Authorization: Bearer <token>``, else the
    session; None when neither signs in an active user."""
    from asgiref.sync import sync_to_async

    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return await sync_to_async(user_for_token)(header[len("Bearer ") :].strip())
    user = await request.auser()
    return user if user.is_authenticated and user.is_active else None


__all__ = ["api_auth", "astream_user", "create_token", "user_for_token", "F"]
