"""The Atom feed of current alerts, for feed readers and partner systems (sign-in or bearer token)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.auth import user_for_token
from banyan.warning import services
from banyan.warning.cap import atom_feed
from banyan.warning.choices import ACTIVE_STATUSES
from banyan.warning.models import Alert

FEED_LIMIT = 200


def _user(request: HttpRequest):
    if getattr(request.user, "is_authenticated", False):
        return request.user
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return user_for_token(token.strip())
    return None


@require_GET
def alerts_atom(request: HttpRequest) -> HttpResponse:
    """Open and acknowledged alerts in your scope, newest first, each linking to its CAP message."""
    user = _user(request)
    if user is None:
        body = {"detail": _("Sign in, or send Authorization: Bearer <token>."), "code": "unauthorized"}
        return JsonResponse(body, status=401)
    if not can(user, Action.VIEW_ALERTS):
        return JsonResponse({"detail": _("Your role may not see alerts."), "code": "forbidden"}, status=403)
    alerts = list(
        Alert.objects.restrict(user)
        .filter(status__in=ACTIVE_STATUSES)
        .select_related("rule", "community", "grid", "device", "facility")[:FEED_LIMIT]
    )
    caps = [services.cap_for_alert(alert) for alert in alerts]
    links = {
        cap.identifier: request.build_absolute_uri(f"/api/v1/alerts/{alert.pk}/cap")
        for cap, alert in zip(caps, alerts, strict=True)
    }
    feed = atom_feed(
        caps,
        feed_id=request.build_absolute_uri(request.path),
        title="Banyan alerts",
        updated=max((cap.sent for cap in caps), default=clock.now()),
        self_url=request.build_absolute_uri(request.get_full_path()),
        link_for=lambda cap: links[cap.identifier],
        language=request.LANGUAGE_CODE if hasattr(request, "LANGUAGE_CODE") else None,
    )
    return HttpResponse(feed, content_type="application/atom+xml; charset=utf-8")
