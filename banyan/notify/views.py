"""The signed-in user's inbox (``/notify/``, the header's bell leads there) and, at
``GET /notify/stream``, their new notifications as Server-Sent Events.

Each notification is one ``event: notification`` whose ``id:`` is the message id and whose ``data:``
is one line of JSON (``id``, ``kind``, ``subject``, ``body``, ``urgency``, ``subject_type``,
``subject_id``, ``created_at``). A client that reconnects sends ``Last-Event-ID`` (browsers do it by
themselves; ``?last_event_id=`` works too) and first gets every message after that id from the
database; without it the stream starts with the messages that arrive after it opened. A comment
line every ``SSE_HEARTBEAT_S`` seconds keeps idle connections and proxies open.

The stream wakes at once on ``notify.message`` events of this process and otherwise looks in
the database every ``SSE_POLL_S`` seconds, so messages written by other processes (the worker,
``banyan ingest``) arrive too. Sign in with the session, or send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from banyan.core import events
from banyan.core.events import EventName
from banyan.core.sse import event_stream, unauthorized
from banyan.core.views import service_errors
from banyan.notify import services
from banyan.notify.models import Message
from banyan.people.auth import astream_user


def _last_event_id(request: HttpRequest) -> int | None | str:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        return "bad"
    return int(raw)


def event_text(message: Message) -> str:
    data = {
        "id": message.pk,
        "kind": message.kind,
        "subject": message.subject,
        "body": message.body,
        "urgency": message.urgency,
        "subject_type": message.subject_type,
        "subject_id": message.subject_id,
        "created_at": message.created_at.isoformat(),
    }
    return f"id: {message.pk}\nevent: notification\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _messages_after(user, last_id: int) -> list[Message]:
    try:
        return services.messages_after(user, last_id)
    finally:
        if not connection.in_atomic_block:  # a long stream does not hold a database connection
            connection.close()


async def _events(user, last_id: int) -> AsyncIterator[str]:
    config = settings.BANYAN_NOTIFY
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def on_message(topic: str, payload: dict) -> None:
        if payload.get("recipient") == user.pk:
            loop.call_soon_threadsafe(wake.set)

    unsubscribe = events.subscribe(EventName.NOTIFY_MESSAGE, on_message)
    try:
        yield "retry: 3000\n: connected\n\n"
        written = loop.time()
        while True:
            wake.clear()
            messages = await sync_to_async(_messages_after)(user, last_id)
            for message in messages:
                last_id = message.pk
                yield event_text(message)
            if messages:
                written = loop.time()
                continue
            try:
                await asyncio.wait_for(wake.wait(), timeout=config["SSE_POLL_S"])
            except TimeoutError:
                pass
            if loop.time() - written >= config["SSE_HEARTBEAT_S"]:
                yield ": heartbeat\n\n"
                written = loop.time()
    finally:
        unsubscribe()


@require_GET
async def stream(request: HttpRequest) -> HttpResponse:
    user = await astream_user(request)
    if user is None:
        return unauthorized()
    last_id = _last_event_id(request)
    if last_id == "bad":
        body = {
            "detail": _("Last-Event-ID must be a message id."),
            "code": "invalid",
            "field": "Last-Event-ID",
        }
        return JsonResponse(body, status=400)
    if last_id is None:
        last_id = await sync_to_async(services.latest_message_id)(user)
    return event_stream(_events(user, int(last_id)))


# --- the inbox -------------------------------------------------------------------------------------
# What a message is about, as the page that shows it (URL names, so notify needs no higher app).
SUBJECT_PAGES = {
    "incident": "response:incident-detail",
    "alert": "warning:alert-detail",
    "report": "reports:detail",
    "household": "people:household-detail",
}


def subject_url(message: Message) -> str:
    """The page of what ``message`` is about, or "" when there is none (the page itself still
    checks that the reader may see it)."""
    name = SUBJECT_PAGES.get(message.subject_type)
    if not name or not message.subject_id.isdigit():
        return ""
    try:
        return reverse(name, args=[int(message.subject_id)])
    except NoReverseMatch:
        return ""


def _back(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("next") or reverse("notify:inbox")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("notify:inbox")
    return HttpResponseRedirect(target)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """The user's notifications: those not yet acknowledged first (urgent on top), then the rest."""
    show_all = request.GET.get("show") == "all"
    waiting = services.unread(request.user)
    listed = Message.objects.restrict(request.user).order_by("-id") if show_all else waiting
    page = Paginator(listed, 25).get_page(request.GET.get("page"))
    items = [{"message": message, "url": subject_url(message)} for message in page]
    context = {
        "nav": "inbox",
        "page": page,
        "items": items,
        "show_all": show_all,
        "unread_count": waiting.count(),
        "newest_unread": waiting.order_by("-id").values_list("pk", flat=True).first() or 0,
    }
    return render(request, "notify/inbox.html", context)


@login_required
@require_POST
@service_errors
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Seen": the message leaves the inbox and its pending SMS or call is cancelled."""
    message = services.get_message_for(request.user, pk)
    services.acknowledge(message, request.user)
    return _back(request)


@login_required
@require_POST
def acknowledge_all(request: HttpRequest) -> HttpResponse:
    """ "All seen", as the inbox stood when it was shown (``up_to``: its newest message's id)."""
    raw = request.POST.get("up_to", "")
    if not raw.isdigit() or len(raw) > 18:
        flash.error(
            request, _("The inbox changed or the form was incomplete: nothing was marked. Try again.")
        )
        return _back(request)
    count = services.acknowledge_all(request.user, int(raw))
    text = ngettext(
        "%(count)d notification marked as seen.", "%(count)d notifications marked as seen.", count
    )
    flash.success(request, text % {"count": count})
    return _back(request)
