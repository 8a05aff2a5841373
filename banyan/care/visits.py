"""Missed means someone goes: a check-in missed past its grace period (or an inactivity alert of a device
serving a resident with a plan) is followed until the resident is seen.

:func:`follow_missed` (run by ``banyan worker`` every round, on :mod:`banyan.core.clock` time, safe to
run again) walks each missed check-in through the plan's next channels — SMS, then a voice call, then
the carers with a consent in force (``banyan.notify.carers.tell_carers``, ``checkin.missed``) — one
every ``retry_minutes``, and, when nobody answered, opens a wellness-visit incident
(category ``wellness_check``) through response, which dispatches it on foot to the nearest grid worker or
volunteer serving the community. A plan whose escalation is "send someone to visit" skips the retries;
one whose escalation is "tell the carer" tries the carer only. An inactivity alert is a sign already: its
visit is the alert's incident (opened by response), at once.

The one who goes records the visit (探视) from their phone (:func:`record_visit`): "well" records a
check-in (channel staff, by them) and resolves the incident; "in hospital" resolves it too; "needs help"
opens an urgent incident for the resident's home; "not at home" counts the tries, and after
``not_home_tries`` (default 2) tells the carers and the incident's escalation body.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.care.choices import (
    Channel,
    Escalation,
    FollowUpReason,
    FollowUpStatus,
    Outcome,
    VisitOutcome,
)
from banyan.care.models import CarePlan, CheckIn, FollowUp, Visit
from banyan.care.services import NEED_HELP_CATEGORY, NOTE_MAX, due_at
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.notify.carers import tell_carers
from banyan.notify.services import Contact, notify
from banyan.people.carers import consented_carers
from banyan.people.models import Actor, Resident, User, may_see_care
from banyan.response.flow import OPEN, Move, Status
from banyan.response.models import Incident, Source
from banyan.response.photos import clean_photo
from banyan.response.services import (
    AlertHasOpenIncident,
    act,
    escalation_target,
    open_incident,
)
from banyan.warning.choices import ACTIVE_STATUSES
from banyan.warning.models import Alert

logger = logging.getLogger(__name__)

DEFAULT_RETRY_MINUTES = 15
DEFAULT_NOT_HOME_TRIES = 2
DEFAULT_NEEDS_HELP_CATEGORY = "fall_medical"
# The channels a retry may go out on, in the order a plan names them (the app tap is the resident's own).
RETRY_CHANNELS = (Channel.SMS, Channel.VOICE, Channel.CARER)
OPEN_STATUSES = (FollowUpStatus.RETRYING, FollowUpStatus.VISITING)
# Follow-ups of a day's missed check-in: the worker's own, or someone sent from the care board first.
FOLLOWED_DAILY = (FollowUpReason.MISSED, FollowUpReason.REQUESTED)


def _options() -> dict:
    return getattr(settings, "BANYAN_CARE", None) or {}


def retry_minutes() -> int:
    return int(_options().get("RETRY_MINUTES", DEFAULT_RETRY_MINUTES))


def not_home_tries() -> int:
    """Visits finding nobody at home before the follow-up escalates (BANYAN_CARE["NOT_HOME_TRIES"])."""
    return int(_options().get("NOT_HOME_TRIES", DEFAULT_NOT_HOME_TRIES))


def retry_channels(plan: CarePlan) -> list[str]:
    """The channels a missed check-in is retried on: after the plan's first, in its order (SMS → voice →
    carer); only the carer when the plan's escalation says "tell the carer"; none for "send someone"."""
    if plan.escalation == Escalation.WELLNESS_VISIT:
        return []
    if plan.escalation == Escalation.CARER:
        return [Channel.CARER]
    return [c for c in list(plan.channels)[1:] if c in RETRY_CHANNELS]


# --- the job ------------------------------------------------------------------------------------------


def follow_missed(now: dt.datetime | None = None) -> dict[str, int]:
    """One round: start following today's missed check-ins and inactivity alerts, close those answered
    since, send the retries that are due, open the visits of those nobody answered. Idempotent: a
    missed check-in is followed once a day, an alert once."""
    now = now or clock.now()
    started = _start_missed(now) + _start_inactivity(now)
    counts = {"started": started, "answered": 0, "retried": 0, "visits": 0}
    for follow_up in (
        FollowUp.objects.filter(status=FollowUpStatus.RETRYING, next_at__lte=now)
        .select_related("plan", "resident__household__unit")
        .order_by("next_at", "pk")[:500]
    ):
        with transaction.atomic():
            locked = FollowUp.objects.select_for_update().filter(pk=follow_up.pk).first()
            if locked is None or locked.status != FollowUpStatus.RETRYING or locked.next_at > now:
                continue
            locked.plan, locked.resident = follow_up.plan, follow_up.resident
            counts[_step(locked, now)] += 1
    # A visit whose incident was resolved on its own page, without a visit recorded: seen all the same.
    FollowUp.objects.filter(
        status=FollowUpStatus.VISITING, incident__status__in=[Status.RESOLVED, Status.CLOSED]
    ).update(status=FollowUpStatus.SEEN, ended_at=now, next_at=None)
    return counts


def _start_missed(now: dt.datetime) -> int:
    """A follow-up for each active plan whose check-in today is past its grace with no check-in today."""
    local = timezone.localtime(now)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    answered = CheckIn.objects.filter(at__gte=day_start).values("resident_id")
    followed = FollowUp.objects.filter(day=local.date(), reason__in=FOLLOWED_DAILY).values("resident_id")
    started = 0
    for plan in (
        CarePlan.objects.filter(is_active=True, daily_checkin=True)
        .exclude(resident_id__in=answered)
        .exclude(resident_id__in=followed)
        .order_by("pk")
    ):
        if now <= due_at(plan, now) + dt.timedelta(minutes=plan.grace_minutes):
            continue
        started += _start(plan, FollowUpReason.MISSED, now, day=local.date())
    return started


def _start_inactivity(now: dt.datetime) -> int:
    """A follow-up for each active alert of a wellness (inactivity) rule whose device serves a resident
    with an active plan: its visit is the alert's incident, at once."""
    started = 0
    alerts = (
        Alert.objects.filter(
            status__in=ACTIVE_STATUSES,
            rule__incident_category=NEED_HELP_CATEGORY,
            device__resident__care_plan__is_active=True,
        )
        .exclude(pk__in=FollowUp.objects.filter(alert__isnull=False).values("alert_id"))
        .select_related("device__resident__care_plan")
        .order_by("pk")
    )
    for alert in alerts[:200]:
        plan = alert.device.resident.care_plan
        day = timezone.localtime(now).date()
        started += _start(plan, FollowUpReason.INACTIVITY, now, day=day, alert=alert)
    return started


def _start(plan: CarePlan, reason: str, now: dt.datetime, *, day: dt.date, alert: Alert | None = None) -> int:
    try:
        with transaction.atomic():
            follow_up = FollowUp.objects.create(
                resident_id=plan.resident_id,
                plan=plan,
                reason=reason,
                day=day,
                alert=alert,
                started_at=now,
                status=FollowUpStatus.RETRYING,
                next_at=now,
            )
            if alert is not None:
                follow_up.plan = plan
                _open_visit(follow_up, now)
    except IntegrityError:  # another worker started it meanwhile
        return 0
    return 1


def _answered(follow_up: FollowUp) -> bool:
    return CheckIn.objects.filter(resident_id=follow_up.resident_id, at__gte=follow_up.started_at).exists()


def _step(follow_up: FollowUp, now: dt.datetime) -> str:
    if _answered(follow_up):
        follow_up.status, follow_up.ended_at, follow_up.next_at = FollowUpStatus.ANSWERED, now, None
        follow_up.save(update_fields=["status", "ended_at", "next_at"])
        return "answered"
    channels = retry_channels(follow_up.plan)
    # The next channel that reaches someone; one that reaches nobody (no phone, no carer) is recorded
    # and passed at once: there is nobody to wait for.
    while len(follow_up.retries) < len(channels):
        channel = channels[len(follow_up.retries)]
        sent = _send_retry(follow_up, channel)
        follow_up.retries = [*follow_up.retries, {"channel": channel, "at": now.isoformat(), "sent": sent}]
        if sent:
            follow_up.next_at = now + dt.timedelta(minutes=retry_minutes())
            follow_up.save(update_fields=["retries", "next_at"])
            return "retried"
    follow_up.save(update_fields=["retries"])
    _open_visit(follow_up, now)
    return "visits"


CHECKIN_SUBJECT = gettext_lazy("Are you well today?")
CHECKIN_BODY = gettext_lazy("We have not heard from you today. Reply 1 if you are fine, 2 if you need help.")


def _resident_recipient(resident: Resident):
    """An SMS or a call goes to the resident's phone in the vault (an account has none of its own)."""
    return Contact(phone=resident.phone) if resident.phone else None


def _carers(resident: Resident) -> list:
    """The carers who may be told about ``resident`` (a consent in force): accounts, else phones."""
    recipients: list = []
    for carer in consented_carers(resident):
        user = carer.user
        if user is not None and user.is_active:
            recipients.append(user)
        elif carer.phone:
            recipients.append(Contact(phone=carer.phone))
    return recipients


def _send_retry(follow_up: FollowUp, channel: str) -> bool:
    """The retry on ``channel`` as a notification: the resident by SMS or a voice call, or their carers.
    False where there is nobody to send it to (no phone, no carer): the next step comes all the same."""
    resident = follow_up.resident
    reference = ("care_follow_up", follow_up.pk)
    if channel == Channel.CARER:
        due = follow_up.plan.checkin_time
        told = tell_carers(
            resident, "checkin.missed", params={"time": f"{due.hour}:{due.minute:02d}"}, reference=reference
        )
        return bool(told)
    recipient = _resident_recipient(resident)
    if recipient is None:
        return False
    notify(
        [recipient],
        "care.checkin_retry",
        CHECKIN_SUBJECT,
        CHECKIN_BODY,
        channels=[channel],
        reference=reference,
    )
    return True


def _open_visit(follow_up: FollowUp, now: dt.datetime, *, actor: Actor | None = None) -> None:
    """The wellness visit: the alert's open incident, else a ``wellness_check`` incident for the
    resident's home, dispatched on foot by response."""
    resident = follow_up.resident
    if follow_up.reason == FollowUpReason.INACTIVITY:
        description = _("Inactivity of a resident with a care plan: visit them (探视).")
    elif follow_up.reason == FollowUpReason.REQUESTED or actor is not None:
        description = _("Today's check-in is missing; sent from the care board: visit them (探视).")
    else:
        description = _("Missed check-in, no answer on any channel: visit them (探视).")
    incident = None
    if follow_up.alert_id is not None:
        incident = (
            Incident.objects.filter(alert_id=follow_up.alert_id, status__in=[s.value for s in OPEN])
            .order_by("-created_at")
            .first()
        )
    if incident is None:
        try:
            incident = open_incident(
                actor=actor,
                category=NEED_HELP_CATEGORY,
                source=Source.ALERT if follow_up.alert_id else Source.STAFF,
                description=description,
                unit=resident.household.unit,
                alert=follow_up.alert,
            )
        except AlertHasOpenIncident as exc:
            incident = exc.incident
        except InvalidInput as exc:
            logger.warning("follow-up %s opens no visit: %s", follow_up.pk, exc.message)
            follow_up.next_at = now + dt.timedelta(minutes=retry_minutes())
            follow_up.save(update_fields=["next_at"])
            return
    follow_up.incident = incident
    follow_up.status, follow_up.next_at = FollowUpStatus.VISITING, None
    follow_up.save(update_fields=["incident", "status", "next_at"])


def may_send_someone(actor: Actor) -> bool:
    """Staff who make care plans (directors, street officers, grid workers) send someone from the board."""
    return can(actor, Action.CHANGE_PEOPLE) and can(actor, Action.REPORT_INCIDENTS) and may_see_care(actor)


def send_someone(*, actor: Actor, resident: Resident) -> FollowUp:
    """ "Send someone" from the care board: a wellness visit for ``resident`` now, dispatched on foot like
    the worker's — the open follow-up's (skipping its remaining retries), else a new one (reason
    ``requested``). Refused when someone is already on the way, or the resident has no active plan."""
    if not may_send_someone(actor):
        raise PermissionDenied(_("Your role cannot send someone on a wellness visit."))
    plan = (
        CarePlan.objects.restrict(actor, Action.CHANGE_PEOPLE)
        .filter(resident_id=resident.pk, is_active=True)
        .select_related("resident__household__unit")
        .first()
    )
    if plan is None:
        raise InvalidInput(_("This resident has no active care plan."), field="resident")
    now = clock.now()
    with transaction.atomic():
        follow_up = (
            FollowUp.objects.select_for_update()
            .filter(resident_id=plan.resident_id, status__in=OPEN_STATUSES, ended_at__isnull=True)
            .order_by("-started_at", "-pk")
            .first()
        )
        if follow_up is not None and follow_up.status == FollowUpStatus.VISITING:
            raise InvalidInput(
                _("Someone is already on the way (incident %(number)s).") % {"number": follow_up.incident_id},
                field="resident",
            )
        if follow_up is None:
            follow_up = FollowUp.objects.create(
                resident_id=plan.resident_id,
                plan=plan,
                reason=FollowUpReason.REQUESTED,
                day=timezone.localtime(now).date(),
                started_at=now,
                status=FollowUpStatus.RETRYING,
                next_at=None,
            )
        follow_up.plan, follow_up.resident = plan, plan.resident
        _open_visit(follow_up, now, actor=actor)
        if follow_up.status != FollowUpStatus.VISITING:
            raise InvalidInput(
                _("No visit could be opened: the resident's home has no place on the map."), field="resident"
            )
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.CARE_VISIT_REQUEST,
                    "resident",
                    plan.resident_id,
                    details={"incident": follow_up.incident_id, "follow_up": follow_up.pk},
                )
            ],
        )
    return follow_up


# --- the visit ----------------------------------------------------------------------------------------


def follow_up_of(incident: Incident) -> FollowUp | None:
    """The follow-up whose visit ``incident`` is (the newest), or None."""
    follow_ups = FollowUp.objects.filter(incident=incident).select_related("resident", "plan")
    return follow_ups.order_by("-pk").first()


def visit_with_photo(user: Actor, pk) -> Visit:
    """A visit with a photo that ``user`` may see (care in their scope, or their own visit); the same
    404 for "missing", "no photo" and "not yours"."""
    visit = Visit.objects.restrict(user).filter(pk=pk).exclude(photo=None).first()
    if visit is None:
        raise NotFound(_("Photo not found."))
    return visit


def may_record_visit(user, incident: Incident) -> bool:
    """The one the visit was given to, while it is open."""
    return (
        incident.assignee_id is not None
        and incident.assignee_id == getattr(user, "pk", None)
        and incident.status in {s.value for s in OPEN}
    )


def record_visit(
    *, actor: Actor, incident: Incident, outcome: str, note: str = "", photo: bytes | None = None
) -> Visit:
    """Record what the one sent to ``incident`` found (see the module's docstring for each outcome)."""
    follow_up = follow_up_of(incident)
    if follow_up is None:
        raise InvalidInput(_("This incident is not a wellness visit."), field="incident")
    if not may_record_visit(actor, incident):
        raise PermissionDenied(_("Only the one sent on this visit records it, while it is open."))
    if outcome not in VisitOutcome.values:
        raise InvalidInput(
            _("%(field)s is one of: %(values)s.")
            % {"field": "outcome", "values": ", ".join(VisitOutcome.values)},
            field="outcome",
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(_("The note is longer than %(max)d characters.") % {"max": NOTE_MAX}, field="note")
    if "\x00" in note:
        raise InvalidInput(_("The note contains a character that cannot be stored."), field="note")
    cleaned = clean_photo(photo) if photo else None
    now = clock.now()
    resident = follow_up.resident
    with transaction.atomic():
        visit = Visit.objects.create(
            resident=resident,
            follow_up=follow_up,
            incident=incident,
            by=actor,
            at=now,
            outcome=outcome,
            note=note,
            photo=cleaned[0] if cleaned else None,
            photo_type=cleaned[1] if cleaned else "",
        )
        said = note or str(VisitOutcome(outcome).label)
        if outcome == VisitOutcome.WELL:
            CheckIn.objects.create(
                resident=resident, at=now, channel=Channel.STAFF, outcome=Outcome.FINE, by=actor, note=said
            )
            _resolve(actor, incident, said)
            _end(follow_up, FollowUpStatus.SEEN, now)
        elif outcome == VisitOutcome.HOSPITAL:
            _resolve(actor, incident, said)
            _end(follow_up, FollowUpStatus.SEEN, now)
        elif outcome == VisitOutcome.NEEDS_HELP:
            help_incident = open_incident(
                actor=actor,
                category=_options().get("NEEDS_HELP_CATEGORY", DEFAULT_NEEDS_HELP_CATEGORY),
                source=Source.STAFF,
                description=_("Wellness visit: the resident needs help."),
                unit=resident.household.unit,
            )
            CheckIn.objects.create(
                resident=resident,
                at=now,
                channel=Channel.STAFF,
                outcome=Outcome.NEED_HELP,
                by=actor,
                note=said,
                incident=help_incident,
            )
            _end(follow_up, FollowUpStatus.ESCALATED, now)
        else:  # not at home
            follow_up.not_home += 1
            follow_up.save(update_fields=["not_home"])
            if follow_up.not_home >= not_home_tries():
                _escalate_not_home(follow_up, incident)
                _end(follow_up, FollowUpStatus.ESCALATED, now)
            elif follow_up.not_home == 1:
                _ask_carers_where(follow_up, incident)
        details = {"outcome": outcome, "incident": incident.pk, "status": follow_up.status}
        if cleaned:
            details["photo"] = True
        record(
            actor=actor,
            events=[Event(AuditAction.CARE_VISIT_RECORD, "resident", resident.pk, details=details)],
        )
    return visit


def _resolve(actor: Actor, incident: Incident, note: str) -> None:
    locked = Incident.objects.get(pk=incident.pk)
    if locked.status == Status.ASSIGNED:
        act(actor=actor, incident=locked, move=Move.ACCEPT)
        locked = Incident.objects.get(pk=incident.pk)
    act(actor=actor, incident=locked, move=Move.RESOLVE, note=note[:NOTE_MAX])


def _end(follow_up: FollowUp, status: str, now: dt.datetime) -> None:
    follow_up.status, follow_up.ended_at, follow_up.next_at = status, now, None
    follow_up.save(update_fields=["status", "ended_at", "next_at"])


NOT_HOME_SUBJECT = gettext_lazy("%(name)s not found at home")
NOT_HOME_BODY = gettext_lazy(
    "A wellness visit found nobody at home %(tries)s times (incident %(number)s). "
    "Please find out where they are."
)


WHERE_SUBJECT = gettext_lazy("%(name)s is not at home")
WHERE_BODY = gettext_lazy(
    "We visited %(name)s because they did not check in today, and nobody answered the door. If you know "
    "where they are, or have spoken to them, please check in for them; we will try again."
)


def _ask_carers_where(follow_up: FollowUp, incident: Incident) -> None:
    """At the first visit finding nobody at home, the consenting carers are asked at once: they often
    know where their relative is (and can check in for them) before the next try."""
    carers = _carers(follow_up.resident)
    if carers:
        notify(
            carers,
            "care.not_home_first",
            WHERE_SUBJECT,
            WHERE_BODY,
            params={"name": follow_up.resident.name},
            reference=("incident", incident.pk),
            urgency="urgent",
        )


def _escalate_not_home(follow_up: FollowUp, incident: Incident) -> None:
    """After N visits finding nobody: the plan's escalation — the carers, and the incident's escalation
    body (the community's director in the matrix)."""
    step = escalation_target(incident, 1)
    people: list = []
    if step and step.get("organisation"):
        staff = User.objects.filter(is_active=True, memberships__organisation__code=step["organisation"])
        if step.get("role"):
            staff = staff.filter(role=step["role"])
        people.extend(staff.distinct().order_by("pk"))
    if follow_up.plan.escalation in (Escalation.CARER, Escalation.NEXT_CHANNEL):
        people.extend(_carers(follow_up.resident))
    if people:
        notify(
            people,
            "care.not_home",
            NOT_HOME_SUBJECT,
            NOT_HOME_BODY,
            params={"name": follow_up.resident.name, "tries": follow_up.not_home, "number": incident.pk},
            reference=("incident", incident.pk),
            urgency="urgent",
        )
