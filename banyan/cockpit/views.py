"""The cockpit pages and their live stream.

``/cockpit/`` — one community's screen (``?community=CODE`` for another the user may see);
``/cockpit/street/`` — every community the user may see, on one map with their figures (a street
officer's street, every one for admins and auditors, a director's own community);
``/readiness/`` — go-live readiness: what a community still lacks (``?community=CODE``; without it,
one's community, or every community in scope with how ready each is) — banyan/cockpit/readiness.py;
``/cockpit/stream`` — Server-Sent Events: first ``state`` (what ``GET /api/v1/cockpit/state``
answers), then one event per change (``alert``, ``incident``, ``responder``) as the bus carries it —
from this process, or from ingest and the worker over MQTT (``BANYAN_BUS=mqtt``) — and ``emergency``
(the state's ``emergency`` key: None or the active emergency, banyan/cockpit/emergency_mode.py) each
time it has changed, read again every ``EMERGENCY_POLL_S``. A browser that
reconnects (by itself, after ``retry``) gets a fresh ``state`` first, so it catches up on whatever it
missed; a comment line every ``HEARTBEAT_S`` keeps proxies from closing an idle stream.

Events carry ids only over the bus; each item is read here, through the user's scope, before it is
sent — an alert the user may not see is sent as ``{"id", "status": "hidden"}`` (the page drops it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import close_old_connections, connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from banyan.cockpit import readiness, services
from banyan.cockpit.emergency_mode import emergency_state
from banyan.core import clock, events
from banyan.core.access import Action, can
from banyan.core.errors import NotFound, PermissionDenied
from banyan.core.events import EventPattern
from banyan.core.sse import event_stream, unauthorized
from banyan.core.views import service_errors
from banyan.people import accounts
from banyan.people.auth import astream_user
from banyan.places.models import Region
from banyan.response.models import Incident
from banyan.warning.choices import GRADES_WORST_FIRST, URGENT_GRADES

HEARTBEAT_S = 15.0
EMERGENCY_POLL_S = 10.0  # how often the stream looks whether the emergency mode has changed
BURST_MAX = 200  # events read together in one round (at 50 events/s, one round every few ms)
PATTERNS = (EventPattern.ALERTS, EventPattern.INCIDENTS, EventPattern.RESPONDERS)


def _language() -> str:
    return get_language() or ""


@login_required
@require_GET
@service_errors
def cockpit(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not can(user, Action.VIEW_COCKPIT):
        raise PermissionDenied(
            _(
                "The cockpit is for community directors, street officers, auditors and platform "
                "administrators."
            )
        )
    community = services.community_for(user, request.GET.get("community") or None)
    communities = list(services.communities_for(user))
    context = {
        "community": community,
        "community_name": services._name(community, _language()),
        "communities": [(c.code, services._name(c, _language())) for c in communities],
        "may_dispatch": can(user, Action.MANAGE_INCIDENTS),
        "may_see_street": can(user, Action.VIEW_FEDERATION) and len(communities) > 1,
        "may_see_readiness": can(user, readiness.READINESS_ACTION),
        "nav": "cockpit",
        "time_zone": settings.TIME_ZONE,
        "grades": {"worst_first": list(GRADES_WORST_FIRST), "urgent": sorted(URGENT_GRADES)},
    }
    return render(request, "cockpit/cockpit.html", context)


@login_required
@require_GET
@service_errors
def street(request: HttpRequest) -> HttpResponse:
    """Every community the user may see on the cockpit, on one labelled map with their figures. A
    director sees her own community (``whole_street`` false): the street's other communities are the
    street office's."""
    user = request.user
    if not can(user, Action.VIEW_COCKPIT):
        raise PermissionDenied(services.street_refusal())
    context = {
        "nav": "cockpit",
        "whole_street": can(user, Action.VIEW_FEDERATION),
        "time_zone": settings.TIME_ZONE,
    }
    return render(request, "cockpit/street.html", context)


def _how_to_fix(user, what: str) -> str:
    """How a gap is fixed, said to the reader: grid workers' accounts are made by platform
    administrators only, so a director or street officer is told whom to ask."""
    if what == "grid_without_worker" and not accounts.may_change_accounts(user):
        return _(
            "Ask a platform administrator for a grid-worker account for each of these grids, with the "
            "grid as its region. The accounts of your area are listed behind the button."
        )
    return str(readiness.HOW_TO_FIX[what])


@login_required
@require_GET
@service_errors
def readiness_page(request: HttpRequest) -> HttpResponse:
    """What a community still lacks before going live, each gap with a link to the page that fixes it.
    Without ``?community=``: one's only community, else every community in scope with its state."""
    user = request.user
    code = request.GET.get("community") or None
    community: Region | None
    if code is not None or not can(user, readiness.READINESS_ACTION):
        community = readiness.get_community_for(user, code or "")
    else:
        communities = list(readiness.communities_for(user))
        community = communities[0] if len(communities) == 1 else None
    language = _language()
    context: dict = {"nav": "readiness"}
    if community is None:
        results = [readiness.readiness(c) for c in communities]
        context["overview"] = [
            {
                "code": result.community.code,
                "name": services._name(result.community, language),
                "ready": result.ready,
                "gaps": len(result.missing),
            }
            for result in results
        ]
        return render(request, "cockpit/readiness.html", context)
    result = readiness.readiness(community)
    context.update(
        community=community,
        community_name=services._name(community, language),
        ready=result.ready,
        gaps=[
            {
                "what": gap.what,
                "title": readiness.TITLES[gap.what],
                "how": _how_to_fix(user, gap.what),
                "count": gap.count,
                "where": (gap.words if gap.words is not None else gap.where)[: readiness.SHOWN],
                "codes": gap.words is None,
                "more": max(0, len(gap.where) - readiness.SHOWN),
                "fix_url": gap.fix_url,
            }
            for gap in result.missing
        ],
        may_see_all=readiness.communities_for(user).count() > 1,
        plan_covered=readiness.plan_covered(result),
    )
    return render(request, "cockpit/readiness.html", context)


# --- the live stream ------------------------------------------------------------------------------


def _sse(event: str, data) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _sync(fn):
    """Run ``fn`` in a thread, without keeping a database connection open between rounds."""

    def run(*args, **kwargs):
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            if not connection.in_atomic_block:
                connection.close()

    return sync_to_async(run)


def _items(user, community, changes: list[tuple[str, int]], language: str) -> list[str]:
    """The current items behind a burst of changes, as SSE events (each object once)."""
    now = clock.now()
    out: list[str] = []
    alert_ids = [pk for kind, pk in changes if kind == "alert"]
    incident_ids = [pk for kind, pk in changes if kind == "incident"]
    responder_ids = [pk for kind, pk in changes if kind == "responder"]
    if alert_ids:
        found = {a.pk: a for a in services.scoped_alerts(user, community).filter(pk__in=alert_ids)}
        for pk in alert_ids:
            alert = found.get(pk)
            item = services.alert_item(alert, language=language) if alert else {"id": pk, "status": "hidden"}
            out.append(_sse("alert", item))
    if incident_ids:
        found_incidents: dict[int, Incident] = {
            i.pk: i for i in services.scoped_incidents(user, community).filter(pk__in=incident_ids)
        }
        for pk in incident_ids:
            incident = found_incidents.get(pk)
            item = (
                services.incident_item(incident, now=now, language=language)
                if incident
                else {"id": pk, "status": "hidden"}
            )
            out.append(_sse("incident", item))
    if responder_ids:
        for item in services.responder_items(community, now=now, only=responder_ids):
            out.append(_sse("responder", item))
    return out


async def _events(user, community, language: str) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()

    def on_event(topic: str, payload: dict) -> None:
        if payload.get("community") != community.code:
            return
        kind, pk = topic.split(".", 1)[0], payload.get("id")
        if isinstance(pk, int):
            loop.call_soon_threadsafe(queue.put_nowait, (kind, pk))

    unsubscribe = [events.subscribe(pattern, on_event) for pattern in PATTERNS]
    try:
        yield "retry: 2000\n: connected\n\n"
        state = await _sync(services.live_state)(user, community, language=language)
        yield _sse("state", state)
        # The emergency mode: no bus event tells of a task done, a roll-call answer or a check-in, so
        # the stream reads it again every EMERGENCY_POLL_S and sends it when it has changed.
        shown = state["emergency"]
        written = polled = loop.time()
        while True:
            wait = min(HEARTBEAT_S - (loop.time() - written), EMERGENCY_POLL_S - (loop.time() - polled))
            try:
                first = await asyncio.wait_for(queue.get(), timeout=max(wait, 0.0))
            except TimeoutError:
                first = None
            if first is not None:
                changes = [first]
                while not queue.empty() and len(changes) < BURST_MAX:
                    changes.append(queue.get_nowait())
                unique = list(dict.fromkeys(changes))
                for text in await _sync(_items)(user, community, unique, language):
                    written = loop.time()
                    yield text
            if loop.time() - polled >= EMERGENCY_POLL_S:
                polled = loop.time()
                emergency = await _sync(emergency_state)(user, community, language=language)
                if emergency != shown:
                    shown, written = emergency, loop.time()
                    yield _sse("emergency", emergency)
            if loop.time() - written >= HEARTBEAT_S:
                written = loop.time()
                yield ": heartbeat\n\n"
    finally:
        for undo in unsubscribe:
            undo()


@require_GET
async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = await astream_user(request)
    if user is None:
        return unauthorized()
    code = request.GET.get("community") or None
    try:
        community = await _sync(services.community_for)(user, code)
    except PermissionDenied as exc:
        return JsonResponse(exc.as_dict(), status=403)
    except NotFound as exc:
        return JsonResponse({**exc.as_dict(), "field": "community"}, status=404)
    return event_stream(_events(user, community, _language()))
