"""Rate limits of the resident lookup, on Django Ninja's throttles (counts in Django's cache).

A lookup by ID number or phone confirms whether a value belongs to someone; without a limit a
caller can try candidates until one matches (a masked ID leaves a few thousand). Each account
may look up ``LOOKUP_RATES`` — 10 a minute and 100 a day. The counts live in Django's cache
(``CACHES``): several ``banyan serve`` processes must share one cache, or each counts alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _
from ninja.throttling import SimpleRateThrottle

from banyan.core import clock

LOOKUP_RATES = (("minute", "10/min"), ("day", "100/day"))


class LookupThrottle(SimpleRateThrottle):
    """One window of the lookup limit, counted per account (never per address: tokens travel)."""

    cache_format = "banyan_lookup_%(scope)s_%(ident)s"
    timer = staticmethod(lambda: clock.now().timestamp())  # drills and tests run on simulated time

    def __init__(self, scope: str, rate: str):
        self.scope = scope
        super().__init__(rate)

    def get_cache_key(self, request) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


@dataclass(frozen=True)
class Limited:
    """A refused lookup: which limit was reached and how many seconds until the next is allowed."""

    limit: int
    window: str
    retry_after: int

    def body(self) -> dict:
        windows = {"minute": _("a minute"), "day": _("a day")}
        return {
            "detail": _(
                "Too many lookups: at most %(limit)d %(window)s per account. "
                "Try again in %(seconds)d seconds."
            )
            % {"limit": self.limit, "window": windows[self.window], "seconds": self.retry_after},
            "code": "rate_limited",
            "limit": f"{self.limit}/{self.window}",
            "retry_after": self.retry_after,
        }


def check_lookup_rate(request) -> Limited | None:
    """Count this lookup in every window; the refused window that frees up last, or ``None``."""
    refused = []
    for scope, rate in LOOKUP_RATES:
        throttle = LookupThrottle(scope, rate)
        if not throttle.allow_request(request):
            refused.append(Limited(throttle.num_requests, scope, max(1, math.ceil(throttle.wait() or 1))))
    return max(refused, key=lambda limited: limited.retry_after) if refused else None
