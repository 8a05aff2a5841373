"""Privacy in emergencies (issue 15, Must have 9): what was gathered about people for an emergency is
purged ``retention_days`` after its stand-down (the director sets it then; 30 by default).

Each part forgets its own: the roll call's entries (households and residents asked, accounts, phones'
blind indexes, answers, notes), shelter stays, the households supplies went to, who was told the
notices (:func:`banyan.emergency.shelters.services.purge_emergency`,
:func:`banyan.emergency.relay.services.purge_emergency`,
:func:`banyan.emergency.rollcall.services.purge_emergency`), and the messages written for its roll call
and notices (notify's rows and their deliveries). Door-knocking tasks lose the address in
their titles and their notes. What stays: counts, the timeline (ids only), the checklist and its
deadlines, the stock ledger, and the roll call's figures for the after-action review (kept in a
timeline note before the entries go). ``Emergency.purged_at`` is set and the purge is audited
(``emergency.purge``, with the counts). :func:`purge_due` is the worker's sweep.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.emergency.choices import EmergencyStatus, TaskKind, TimelineKind
from banyan.emergency.epidemic import services as epidemic
from banyan.emergency.models import Emergency, TimelineEntry
from banyan.emergency.relay import services as relay
from banyan.emergency.review import PURGE_NOTE, detection, roll_call_figures
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.shelters import services as shelters
from banyan.notify.models import Message

log = logging.getLogger("banyan.emergency")
SYSTEM = "system"
DOOR_KNOCK_TITLE = ("敲门确认（已清除地址）", "Door-knock (address purged)")


def due_at(emergency: Emergency) -> dt.datetime | None:
    """When ``emergency``'s data is due to be purged (None while it runs)."""
    if emergency.stood_down_at is None:
        return None
    return emergency.stood_down_at + dt.timedelta(days=emergency.retention_days)


@transaction.atomic
def purge_emergency(emergency: Emergency, *, actor=SYSTEM, now: dt.datetime | None = None) -> dict[str, int]:
    """Purge what ``emergency`` gathered about people (see the module); returns the counts. Idempotent:
    a purged emergency is left as it is."""
    now = now or clock.now()
    emergency = Emergency.objects.select_for_update().get(pk=emergency.pk)
    if emergency.purged_at is not None:
        return {}
    detected = detection(emergency)["detected_at"]
    end = emergency.stood_down_at or now
    figures = roll_call_figures(emergency, dt.datetime.fromisoformat(detected) if detected else None, end)
    counts: dict[str, int] = {}
    counts.update(rollcall.purge_emergency(emergency))
    counts.update(shelters.purge_emergency(emergency))
    counts.update(relay.purge_emergency(emergency))
    counts.update(epidemic.purge_emergency(emergency))
    # The messages written for it: "are you safe?" (a carer's names the one they look after) and its
    # notices, with their deliveries — whom they went to, on which phone's index.
    roll_calls = [str(pk) for pk in emergency.roll_calls.values_list("pk", flat=True)]
    _deleted, by_model = Message.objects.filter(
        Q(subject_type="roll_call", subject_id__in=roll_calls)
        | Q(subject_type="emergency", subject_id=str(emergency.pk))
    ).delete()
    counts["messages"] = by_model.get(Message._meta.label, 0)
    zh, en = DOOR_KNOCK_TITLE
    counts["door_knock_tasks"] = emergency.tasks.filter(kind=TaskKind.DOOR_KNOCK).update(
        title_zh=zh, title_en=en, note=""
    )
    emergency.purged_at = now
    emergency.save(update_fields=["purged_at"])
    TimelineEntry.objects.create(
        emergency=emergency,
        at=now,
        kind=TimelineKind.NOTE,
        actor=None,
        details={PURGE_NOTE: counts, "roll_call": figures},
    )
    record(
        actor=actor,
        events=[Event(AuditAction.EMERGENCY_PURGE, "emergency", emergency.pk, details=dict(counts))],
    )
    log.info("emergency %s purged: %s", emergency.pk, counts)
    return counts


def purge_due(now: dt.datetime | None = None) -> int:
    """Purge every stood-down (or dismissed) emergency whose retention has run out; returns how many."""
    now = now or clock.now()
    candidates = Emergency.objects.filter(
        status__in=[EmergencyStatus.STOOD_DOWN, EmergencyStatus.DISMISSED],
        purged_at__isnull=True,
        stood_down_at__isnull=False,
    ).only("pk", "stood_down_at", "retention_days")
    done = 0
    for emergency in candidates:
        moment = due_at(emergency)
        if moment is not None and moment <= now:
            purge_emergency(emergency, now=now)
            done += 1
    return done
