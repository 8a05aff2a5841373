"""The glue every page view uses (service errors, private responses), the health check and elder mode.

The account's pages (sign-in, second factor, home) are :mod:`banyan.people.account_views`."""

from __future__ import annotations

import functools

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from banyan.core import clock
from banyan.core.errors import NotFound, PermissionDenied


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "time": clock.now().isoformat()})


def service_errors(view):
    """Turn the services' errors into HTTP answers: NotFound → 404 page, PermissionDenied → 403 page.

    ``InvalidInput`` is not caught here: a view that submits a form catches it and puts the
    message next to the field it names.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None

    return wrapper


def private(response):
    """Mark a response that shows personal values as never to be cached or stored."""
    add_never_cache_headers(response)
    return response


@require_POST
def toggle_elder_mode(request):
    """Elder mode is a cookie, so it works before sign-in and on shared devices."""
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = HttpResponseRedirect(target)
    enabled = request.COOKIES.get("banyan_elder") != "1"
    response.set_cookie("banyan_elder", "1" if enabled else "0", max_age=365 * 24 * 3600, samesite="Lax")
    return response
