"""Error handling shared by every API router: a clear 4xx JSON body, never a 500."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from banyan.core.access import can
from banyan.core.errors import BanyanError, InvalidInput, PermissionDenied, TooManyRequests
from banyan.core.throttle import refusal

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from banyan.core.access import Action, Actor

logger = logging.getLogger(__name__)

# A JSON body nested deeper than this is refused before anything walks it (Python's own recursion
# limit is about 1,000 frames; no Banyan body needs more than a handful of levels).
MAX_JSON_DEPTH = 32


class ErrorOut(Schema):
    detail: str
    code: str
    field: str | None = None


class FieldErrorOut(Schema):
    field: str | None
    msg: str


class ValidationErrorOut(ErrorOut):
    errors: list[FieldErrorOut] = []


def _body_refusal(value, limit: int) -> tuple[str, str] | None:
    """Why a parsed body is refused, and the field to name: nested deeper than ``limit`` (``body``), or a
    NUL character, which no field accepts and PostgreSQL cannot store (the field holding it, e.g.
    ``purpose`` or ``details.note``); None when neither. Without recursion."""
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(value, 1, ())]
    while stack:
        item, depth, path = stack.pop()
        if depth > limit:
            return _("The request body is nested more than %(depth)d levels deep.") % {"depth": limit}, "body"
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in pairs:
            where = (*path, str(key))
            if isinstance(key, str) and "\x00" in key:
                where = path or ("body",)
            elif isinstance(child, (dict, list)):
                stack.append((child, depth + 1, where))
                continue
            elif not (isinstance(child, str) and "\x00" in child):
                continue
            field = ".".join(where).replace("\x00", "")[:64]
            return _("“%(field)s” holds a NUL character, which no value may hold.") % {"field": field}, field
    return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _loads(raw: bytes):
    """orjson (fast, strict; stops at 1,024 levels by itself); what it refuses only for a lone surrogate
    (which Python's ``json`` reads) is read again by ``json``, so that the schema can name the field."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = str(exc).split(":")[0]
        if "surrogate" not in reason:
            raise InvalidInput(
                _("The request body is not valid JSON (%(reason)s).") % {"reason": reason}, field="body"
            ) from None
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidInput(_("The request is nested too deeply."), field="body") from None
    except ValueError:
        raise InvalidInput(
            _("The request body is not valid JSON (%(reason)s).") % {"reason": "surrogate"}, field="body"
        ) from None


def parse_json_object(raw: bytes) -> dict:
    """A request body as a JSON object, or :class:`InvalidInput` naming ``body``: not JSON, not an
    object, nested deeper than :data:`MAX_JSON_DEPTH`, or holding a NUL character. orjson refuses NaN,
    Infinity and integers beyond 64 bits rather than letting them fail later, and a body of 100,000
    ``[`` never reaches a recursive walk."""
    data = _loads(raw)
    if not isinstance(data, dict):
        raise InvalidInput(_("The request body must be a JSON object {…}."), field="body")
    refusal = _body_refusal(data, MAX_JSON_DEPTH)
    if refusal:
        raise InvalidInput(refusal[0], field=refusal[1])
    return data


class JsonObjectParser(Parser):
    """Ninja's body parser for Banyan: every operation's body is a JSON object (the OpenAPI test checks
    this), so anything else is a 400 naming ``body`` instead of an AttributeError deep in Ninja."""

    def parse_body(self, request) -> dict:
        return parse_json_object(request.body)


# Statuses every operation may answer, whatever its router declares (the handlers below and the
# ASGI body limit make them): OpenAPI lists them all, so clients and `make fuzz` can rely on it.
ERROR_STATUSES = {
    400: "Bad input: `detail` says what is wrong, `field` names the field.",
    401: "Not signed in: no session, or no valid bearer token.",
    403: "Your role may not do this, or the CSRF check of a session request failed.",
    404: "Not found, or not in your scope (the same answer for both).",
    422: "The request does not match the schema: `field` and `errors` name each field.",
    429: "Too many requests: wait the `Retry-After` seconds.",
}
BODY_STATUSES = {413: "The request body is larger than the limit the answer names."}


def declare_error_statuses(schema: dict) -> dict:
    """Add the error answers every operation may give to each operation's ``responses``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, ValidationErrorOut):
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components.setdefault(model.__name__, body)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = dict(ERROR_STATUSES)
            if "requestBody" in operation:
                statuses.update(BODY_STATUSES)
            if "security" not in operation:
                statuses.pop(401)
            for status, description in statuses.items():
                name = "ValidationErrorOut" if status == 422 else "ErrorOut"
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                    },
                )
            operation["responses"] = dict(sorted(operation["responses"].items(), key=lambda kv: int(kv[0])))
    return schema


class BanyanAPI(NinjaAPI):
    """NinjaAPI with Banyan's JSON body parser, error handlers and the error answers declared in OpenAPI."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parser", JsonObjectParser())
        super().__init__(*args, **kwargs)
        install_error_handlers(self)

    def get_openapi_schema(self, *args, **kwargs):
        return declare_error_statuses(super().get_openapi_schema(*args, **kwargs))


class ListOut(Schema):
    count: int


def _validation_body(exc: DjangoValidationError) -> dict:
    errors: list[dict[str, str | None]]
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
        response = api.create_response(request, exc.as_dict(), status=exc.status)
        if isinstance(exc, TooManyRequests):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(RequestDataTooBig)
    def too_big(request, exc):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = {
            "detail": _("The request body is larger than %(limit)s MB.") % {"limit": f"{limit / 2**20:g}"},
            "code": "too_large",
            "field": "body",
        }
        return api.create_response(request, body, status=413)

    @api.exception_handler(RecursionError)
    def too_deep(request, exc):
        body = {"detail": _("The request is nested too deeply."), "code": "invalid", "field": "body"}
        return api.create_response(request, body, status=400)

    @api.exception_handler(Throttled)
    def throttled(request, exc: Throttled):  # Ninja adds Retry-After
        return api.create_response(request, {"detail": refusal(exc.wait), "code": "throttled"}, status=429)

    @api.exception_handler(DjangoValidationError)
    def django_validation(request, exc: DjangoValidationError):
        return api.create_response(request, _validation_body(exc), status=400)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, BanyanError):  # Ninja wraps what the body parser raised
            return banyan_error(request, exc.__cause__)
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


def require(user: Actor | AnonymousUser | None, action: Action) -> None:
    """403 before anything else when the role may never do ``action``; scope checks give 404 later."""

    if not can(user, action):
        raise PermissionDenied(_("Your role may not do this (%(action)s).") % {"action": action.value})


def page(queryset, limit: int, offset: int) -> tuple[int, list]:
    return queryset.count(), list(queryset[offset : offset + limit])
