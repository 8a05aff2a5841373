"""What every Server-Sent Events stream of Banyan shares: the answer to nobody, and
the streaming response that proxies must not buffer."""

from __future__ import annotations

from collections.abc import AsyncIterator

from django.http import JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _

__all__ = ["event_stream", "unauthorized"]


def unauthorized() -> JsonResponse:
    body = {"detail": _("Sign in, or send Authorization: Bearer <token>."), "code": "unauthorized"}
    return JsonResponse(body, status=401)


def event_stream(events: AsyncIterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
