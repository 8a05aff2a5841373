"""Step-up: before revealing personal data of many people at once, re-enter the second factor.

A session may export a grid's ledger in clear (or do anything else that returns clear personal
data for many people) only if it passed its second factor within the last
``BANYAN_OTP["STEP_UP_MINUTES"]`` (default 5) by :mod:`banyan.core.clock` — at sign-in, or again
at ``/otp/verify/``. Otherwise the answer is 403: for the API ``{"code": "step_up_required"}``,
for a page a page that says so and links to the code page, which sends the person back.

A request authenticated by a bearer token is not asked (a token cannot type a code; it was created
by a session that passed the second factor, or on the server's command line).

Use :func:`check` in API endpoints (it raises) and :func:`refusal` in views (it returns the 403
page, or ``None`` when the session may go on).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext

from banyan.core import clock
from banyan.core.errors import PermissionDenied
from banyan.people.otp import VERIFIED_AT_SESSION_KEY


def window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.BANYAN_OTP["STEP_UP_MINUTES"])


def _session_request(request) -> bool:
    """Is this request acting through the signed-in session (not a bearer token of its own)?"""
    session = getattr(request, "session", None)
    if session is None:
        return False
    return session.get(SESSION_KEY) == str(getattr(request.user, "pk", None))


def stepped_up(request) -> bool:
    """True for a token request, or a session that passed its second factor within the window."""
    if not _session_request(request):
        return True
    at = request.session.get(VERIFIED_AT_SESSION_KEY)
    if not isinstance(at, (int, float)):
        return False
    elapsed = clock.now() - dt.datetime.fromtimestamp(at, tz=dt.UTC)
    return dt.timedelta(0) <= elapsed <= window()


def message() -> str:
    return gettext(
        "Revealing personal data of many people needs your second factor again: enter the code "
        "from your authenticator app (step-up, valid for %(minutes)d minutes)."
    ) % {"minutes": settings.BANYAN_OTP["STEP_UP_MINUTES"]}


def check(request) -> None:
    """Raise 403 ``step_up_required`` unless :func:`stepped_up` (API endpoints)."""
    if not stepped_up(request):
        raise PermissionDenied(message(), code="step_up_required")


def refusal(request, *, back: str | None = None):
    """``None`` if :func:`stepped_up`; else the 403 page linking to the code page, which returns
    to ``back`` (default: the page the request came from, else the current path)."""
    if stepped_up(request):
        return None
    back = back or _same_site_referer(request) or request.get_full_path()
    verify_url = f"{reverse('account:otp-verify')}?{urlencode({'next': back, 'step_up': '1'})}"
    context = {"message": message(), "verify_url": verify_url}
    return TemplateResponse(request, "core/step_up_required.html", context, status=403).render()


def _same_site_referer(request) -> str | None:
    from urllib.parse import urlsplit

    referer = request.headers.get("Referer", "")
    parts = urlsplit(referer)
    if not referer or parts.netloc != request.get_host():
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
