"""The header's bell on every page: how many notifications wait, and the urgent ones pinned on top."""

from __future__ import annotations

from django.http import HttpRequest

from banyan.notify import services
from banyan.notify.views import subject_url
from banyan.people import otp


def inbox(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or otp.pending(request):
        return {}  # nobody signed in, or half-way: the second factor is still to come
    waiting = services.inbox(user)
    pinned = [{"message": message, "url": subject_url(message)} for message in waiting.urgent]
    return {"inbox": True, "inbox_unread": waiting.unread, "inbox_urgent": pinned}
