"""Error handling shared by every API router: a clear 4xx JSON body, never a 500."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError

from banyan.core.errors import BanyanError

logger = logging.getLogger(__name__)


class ErrorOut(Schema):
    detail: str
    code: str
    field: str | None = None


class ListOut(Schema):
    count: int


def _validation_body(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": name, "msg": " ".join(str(m) for e in errs for m in e.messages)}
            for name, errs in exc.error_dict.items()
        ]
    else:
        errors = [{"field": None, "msg": " ".join(exc.messages)}]
    first = errors[0]
    return {
        "detail": f"{first['field']}: {first['msg']}" if first["field"] else first["msg"],
        "code": "invalid",
        "field": first["field"],
        "errors": errors,
    }


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(BanyanError)
    def banyan_error(request, exc: BanyanError):
        return api.create_response(request, exc.as_dict(), status=exc.status)

    @api.exception_handler(DjangoValidationError)
    def django_validation(request, exc: DjangoValidationError):
        return api.create_response(request, _validation_body(exc), status=400)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        messages = {
            401: _("Sign in, or send Authorization: Bearer <token>."),
            # Ninja raises 403 only for a session request without a valid CSRF token.
            403: _("The CSRF check failed: reload the page, or use a bearer token."),
        }
        body = {
            "detail": messages.get(exc.status_code, exc.message),
            "code": codes.get(exc.status_code, "error"),
        }
        return api.create_response(request, body, status=exc.status_code)

    @api.exception_handler(UnicodeError)
    def broken_text(request, exc):
        body = {"detail": _("The request holds text that is not valid Unicode."), "code": "invalid"}
        return api.create_response(request, body, status=400)

    @api.exception_handler(OverflowError)
    def overflow(request, exc):
        body = {"detail": _("A number in the request is out of range."), "code": "out_of_range"}
        return api.create_response(request, body, status=400)

    @api.exception_handler(DataError)
    def data_error(request, exc):
        body = {"detail": _("A value in the request is out of range for its field."), "code": "out_of_range"}
        return api.create_response(request, body, status=400)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return api.create_response(request, {"detail": _("Not found."), "code": "not_found"}, status=404)

    @api.exception_handler(NinjaValidationError)
    def ninja_validation(request, exc: NinjaValidationError):
        errors = []
        for error in exc.errors:
            loc = [
                str(p) for p in error.get("loc", ()) if p not in ("body", "payload", "query", "path", "form")
            ]
            errors.append({"field": ".".join(loc) or None, "msg": error.get("msg", "invalid")})
        first = errors[0] if errors else {"field": None, "msg": "invalid"}
        detail = f"{first['field']}: {first['msg']}" if first["field"] else first["msg"]
        return api.create_response(
            request,
            {"detail": detail, "code": "invalid", "field": first["field"], "errors": errors},
            status=422,
        )


def require(user, action) -> None:
    """403 before anything else when the role may never do ``action``; scope checks give 404 later."""
    from banyan.core.access import can
    from banyan.core.errors import PermissionDenied

    if not can(user, action):
        raise PermissionDenied(_("Your role may not do this (%(action)s).") % {"action": action.value})


def page(queryset, limit: int, offset: int) -> tuple[int, list]:
    return queryset.count(), list(queryset[offset : offset + limit])
