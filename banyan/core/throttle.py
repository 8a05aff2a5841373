"""Rate limits for what residents and outside systems may send: one mechanism for the API and the pages.

Django Ninja's ``SimpleRateThrottle`` (a sliding window of timestamps in Django's cache) does the
counting; :class:`RateLimit` adds what Banyan needs: the rates come from one place,
``settings.BANYAN_RATE_LIMITS`` (read at each request, so they can be changed in settings and tests),
the time from :mod:`banyan.core.clock`, a key per user, address or Open311 ``api_key``, and a count
above one (five photos spend five). API operations pass a ``RateLimit`` as Ninja's ``throttle=``;
views and Open311 call :func:`check`, which raises :class:`~banyan.core.errors.TooManyRequests`.

The cache is per process by default (``LocMemCache``): with several ``banyan serve`` processes, set
``CACHES`` to a shared cache (database or Redis) so that they count together.
"""

from __future__ import annotations

import hashlib
import math
from typing import cast

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja.throttling import SimpleRateThrottle

from banyan.core import clock
from banyan.core.errors import TooManyRequests

BY_USER, BY_ADDRESS, BY_API_KEY = "user", "address", "api_key"


def _now() -> float:
    return clock.now().timestamp()


class RateLimit(SimpleRateThrottle):
    """At most ``settings.BANYAN_RATE_LIMITS[scope]`` (e.g. ``"10/hour"``) per user, address or key."""

    scope: str  # always set, so the rate, its count and window are never None
    num_requests: int
    duration: int

    def __init__(self, scope: str, *, by: str = BY_USER):
        self.scope = scope
        self.by = by
        super().__init__()

    def get_rate(self) -> str:
        return settings.BANYAN_RATE_LIMITS[self.scope]

    def get_cache_key(self, request) -> str | None:
        if self.by == BY_API_KEY:
            key = request.POST.get("api_key") or request.GET.get("api_key") or ""
            ident = hashlib.sha256(key.encode()).hexdigest() if key else None
        elif self.by == BY_USER and getattr(request, "user", None) and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = self.get_ident(request)
        if not ident:
            return None
        return f"banyan_rate_{self.scope}_{self.by}_{ident}"

    def allow_request(self, request, count: int = 1) -> bool:
        """Spend ``count`` from the window and say True, or spend nothing and say False."""
        self.num_requests, self.duration = cast(tuple[int, int], self.parse_rate(self.get_rate()))
        self.key = self.get_cache_key(request)
        if self.key is None or count <= 0:
            return True
        self.now = _now()
        since = self.now - self.duration
        self.history = [at for at in self.cache.get(self.key, []) if since < at <= self.now]
        if len(self.history) + count > self.num_requests:
            return False
        self.history[:0] = [self.now] * count
        self.cache.set(self.key, self.history, self.duration)
        return True

    def wait(self) -> float:
        """Seconds until the oldest counted request leaves the window."""
        if not self.history:
            return float(self.duration)
        return max(1.0, self.duration - (self.now - self.history[-1]))


def refusal(wait_seconds: float | None) -> str:
    minutes = max(1, math.ceil((wait_seconds or 60) / 60))
    return ngettext(
        "Too many requests: try again in %(minutes)d minute.",
        "Too many requests: try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def check(request, scope: str, *, by: str = BY_USER, count: int = 1, field: str | None = None) -> None:
    """Spend ``count`` of ``scope``'s rate, or raise :class:`TooManyRequests` (nothing spent)."""
    limit = RateLimit(scope, by=by)
    if not limit.allow_request(request, count):
        wait = limit.wait()
        message = refusal(wait)
        if scope == "photos":
            message = _("Too many photos sent. %(refusal)s") % {"refusal": message}
        raise TooManyRequests(message, retry_after=math.ceil(wait), field=field)
