import re
import uuid

from banyan.core import context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Give every request an id (``X-Request-ID`` if sane, else new) for the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        rid = supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = rid
        with context.request_scope(rid):
            response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


class RefuseNulMiddleware:
    """A query-string value holding a NUL character is refused (400, naming the parameter) before any
    view sees it: no code or text Banyan stores may hold one, and PostgreSQL refuses it in a lookup.
    (Form fields refuse it themselves, next to the field: Django's ``ProhibitNullCharactersValidator``.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        from django.http import JsonResponse
        from django.shortcuts import render
        from django.utils.translation import gettext as _

        message = _("“%(field)s” holds a NUL character, which no value may hold.") % {"field": field[:64]}
        if request.path.startswith("/api/") or request.path.startswith("/open311/"):
            return JsonResponse({"detail": message, "code": "invalid", "field": field[:64]}, status=400)
        return render(request, "400.html", {"message": message}, status=400)


def _nul_field(request) -> str | None:
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "")
    return None
