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
from banyan.core.context_processors import ELDER_COOKIE, ELDER_FIELD, is_elder_mode
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
    """Turn elder mode on or off. A signed-in person's choice is kept on their account, so it follows
    them to the next sign-in and to other devices; the cookie keeps it for the browser too, so that it
    also works before sign-in and on shared devices."""
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = HttpResponseRedirect(target)
    enabled = not is_elder_mode(request)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and hasattr(user, ELDER_FIELD):
        # A preference of the person's own, not a domain change: no audit entry.
        setattr(user, ELDER_FIELD, enabled)
        user.save(update_fields=[ELDER_FIELD])
    response.set_cookie(ELDER_COOKIE, "1" if enabled else "0", max_age=365 * 24 * 3600, samesite="Lax")
    return response
