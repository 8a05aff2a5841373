"""API tokens over the API: list, create (the raw token answered once) and revoke.

Everyone signed in manages their own tokens; platform administrators list and revoke anyone's.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from ninja import Field, Query, Router, Schema, Status

from banyan.core.api import ErrorOut, page
from banyan.core.schemas import PageQuery
from banyan.people import tokens as services
from banyan.people.auth import DEFAULT_DAYS, MAX_DAYS, TokenScope, request_token

router = Router(tags=["tokens"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class TokenOut(Schema):
    id: int
    user: str = Field(..., alias="user.username", description="the owner's username")
    name: str
    prefix: str = Field(..., description="the first 8 characters of the token, to tell tokens apart")
    scopes: list[str]
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime
    is_revoked: bool
    revoked_at: dt.datetime | None


class TokenList(Schema):
    count: int
    items: list[TokenOut]


class TokenCreatedOut(TokenOut):
    token: str = Field(..., description="the token itself: shown in this answer only, never again")


class TokenIn(Schema):
    name: str = Field("", max_length=100)
    scopes: list[TokenScope] = Field(
        default_factory=lambda: [TokenScope.WRITE],
        min_length=1,
        max_length=3,
        description="read (GET only), write (all your role allows), readings:write (POST /readings only)",
    )
    days: int = Field(DEFAULT_DAYS, ge=1, le=MAX_DAYS, description=f"lifetime in days, 1–{MAX_DAYS}")


class TokenFilter(PageQuery):
    user: str | None = Field(None, max_length=150, description="administrators: one account's tokens")


@router.get("/tokens", response={200: TokenList, **ERRORS})
def list_tokens(request: HttpRequest, filters: Query[TokenFilter]):
    """Your API tokens, newest first (administrators: everyone's); never the token itself."""
    tokens = services.tokens_for(request.user)
    if filters.user:
        tokens = tokens.filter(user__username=filters.user)
    count, items = page(tokens, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS})
def create_token(request: HttpRequest, response: HttpResponse, payload: TokenIn):
    """A new token of yours; the answer holds the token itself, once (``Cache-Control: no-store``)."""
    issued = services.issue_token(
        actor=request.user,
        user=request.user,
        name=payload.name,
        scopes=[str(s) for s in payload.scopes],
        days=payload.days,
        via_token=request_token(request),
    )
    add_never_cache_headers(response)
    issued.token.token = issued.raw
    return Status(201, issued.token)


@router.post("/tokens/{int:token_id}/revoke", response={200: TokenOut, **ERRORS})
def revoke_token(request: HttpRequest, token_id: int):
    """Revoke a token of yours (administrators: anyone's); it stops working at once."""
    token = services.get_token_for(request.user, token_id)
    return services.revoke_token(actor=request.user, token=token)
