"""Epidemic mode: households' isolation status, deliveries to isolating households and the daily
check-ins of isolating residents in care — every state change with its authorisation and audit, and
what the pages, the board and the worker read.

Only for an emergency whose hazard is ``epidemic`` (any other is refused at the field ``emergency``).

Who sees and does (:func:`may_see`): platform admins, street officers and community directors for
their communities' households, grid workers for the households of their own grid (``Household``'s
scope). Property staff, volunteers, auditors and residents see nothing of it: not the statuses, not the
deliveries, not the check-ins (403). The walker a delivery is dispatched to sees only its incident,
through response's pages: "Delivery: groceries" (or medicine) and the flat — never the status.

* :func:`set_status` adds a :class:`~.models.HouseholdStatus` row (isolating, needs deliveries,
  cleared; ``since`` and the planned ``until``) and retires the one in force: the rows are the history.
* :func:`request_delivery` (an isolating household only) opens a ``wellness_check`` incident for the
  flat, dispatched on foot by response to the nearest grid worker or volunteer like the roll call's
  visits, and a ``delivery`` task of the emergency (its title names the kind and the delivery's number,
  never the flat: the board shows tasks to roles that may not know who is isolating).
* :func:`sweep` (the worker, every round): deliveries follow their incidents (done when resolved or
  closed, cancelled when cancelled; their task too); each isolating resident in care is asked once a
  day from :data:`ASK_FROM` (local time) on the roll call's channels — the app, an SMS or a call, a
  carer; nobody to ask opens a visit at once; "need help", or no answer by :data:`EVENING`, opens a
  ``wellness_check`` incident.
* :func:`handle_inbound`: "1" OK, "2" need help, by SMS or key press, from a phone asked today.
* :func:`purge_emergency`: statuses and check-ins deleted, deliveries forget the household and what
  was needed.

No name, phone or address goes into an audit entry, a log line or an event: ids, statuses and dates.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.emergency.choices import EmergencyStatus, HazardKind, TaskKind, TaskStatus
from banyan.emergency.epidemic.choices import (
    ISOLATING_STATES,
    CheckInChannel,
    CheckInStatus,
    DeliveryKind,
    DeliveryStatus,
    HouseholdState,
)
from banyan.emergency.epidemic.models import WHAT_MAX, CheckIn, Delivery, HouseholdStatus
from banyan.emergency.models import Emergency, Task
from banyan.emergency.rollcall.services import KEYWORDS as ROLL_CALL_KEYS
from banyan.emergency.rollcall.services import _ask_household, _reply, households_of, may_see_names
from banyan.emergency.shelters import services as shelters
from banyan.notify.inbound import InboundAnswer, InboundMessage
from banyan.notify.models import Message, Preference
from banyan.notify.services import acknowledge, notify
from banyan.people.models import Actor, CareProfile, Household, Resident, User
from banyan.people.validators import normalise_phone
from banyan.response.flow import Status
from banyan.response.models import Incident, Source
from banyan.response.services import open_incident

logger = logging.getLogger(__name__)

CATEGORY = "wellness_check"
NEED_HELP_GRADE = "orange"
KIND = "emergency.epidemic_checkin"
REFERENCE = "epidemic_checkin"
SEARCH_MAX = 20
LIST_MAX = 500
# The day's check-in is asked from 09:00 (local time); no answer by 18:00 sends someone.
ASK_FROM = dt.time(9, 0)
EVENING = dt.time(18, 0)
# Roles that see epidemic mode at all (each within its scope of households).
EPIDEMIC_ROLES = frozenset(
    {Role.PLATFORM_ADMIN, Role.STREET_OFFICER, Role.COMMUNITY_DIRECTOR, Role.GRID_WORKER}
)
ANSWERING_ROLES = (Role.RESIDENT, Role.VOLUNTEER)
# "1" OK, "2" need help (full-width digits too), as the roll call reads a reply.
KEYWORDS = {
    key: CheckInStatus.OK if value == "safe" else CheckInStatus.NEED_HELP
    for key, value in ROLL_CALL_KEYS.items()
}
ANSWERS = (CheckInStatus.OK, CheckInStatus.NEED_HELP)
DONE_INCIDENT = (Status.RESOLVED, Status.CLOSED)
CANCELLED_INCIDENT = (Status.CANCELLED, Status.DUPLICATE)

SUBJECT = gettext_lazy("Are you OK today?")
TEXTS: dict[str, Any] = {
    CheckInChannel.APP: gettext_lazy(
        'Daily check-in while you stay at home: tap "OK" or "Need help" on your home page.'
    ),
    CheckInChannel.SMS: gettext_lazy(
        "Daily check-in while you stay at home: reply 1 if you are OK, 2 if you need help."
    ),
    CheckInChannel.VOICE: gettext_lazy(
        "Daily check-in while you stay at home: press 1 if you are OK, 2 if you need help."
    ),
    CheckInChannel.CARER: gettext_lazy(
        "Daily check-in: please ask %(name)s how they are today and answer: 1 if OK, 2 if they need help."
    ),
}
THANKS_OK = gettext_lazy("Thank you. We have noted that you are OK today.")
THANKS_HELP = gettext_lazy("Thank you. Help is on the way: someone from your community will come.")
NOT_UNDERSTOOD = gettext_lazy("We did not understand your answer. Reply 1 if you are OK, 2 if you need help.")
DELIVERY_TEXT = {
    DeliveryKind.GROCERIES: ("配送：生活物资", "Delivery: groceries"),
    DeliveryKind.MEDICINE: ("配送：药品", "Delivery: medicine"),
    DeliveryKind.OTHER: ("配送：其他物品", "Delivery: other"),
}


# --- who may ------------------------------------------------------------------------------------------


def may_see(user: Actor | None) -> bool:
    """Epidemic mode is for those who look after the households: not property staff, volunteers,
    auditors or residents."""
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.role in EPIDEMIC_ROLES
        and can(user, Action.VIEW_EMERGENCIES)
    )


def _require_role(user: Actor) -> None:
    if not may_see(user):
        raise PermissionDenied(_("Your role cannot see epidemic mode."))


def get_emergency_for(user: Actor, pk) -> Emergency:
    """An emergency in ``user``'s scope, for a role of epidemic mode; 403 for other roles, the same 404
    for missing and not theirs."""
    _require_role(user)
    emergency = Emergency.objects.restrict(user, Action.VIEW_EMERGENCIES).filter(pk=pk).first()
    if emergency is None:
        raise NotFound(_("Emergency not found."))
    return emergency


def is_epidemic(emergency: Emergency) -> bool:
    return emergency.hazard == HazardKind.EPIDEMIC


def _require_epidemic(emergency: Emergency, *, active: bool = True) -> None:
    if not is_epidemic(emergency):
        raise InvalidInput(
            _("Epidemic mode is for an emergency whose hazard is an epidemic; this one is “%(hazard)s”.")
            % {"hazard": emergency.get_hazard_display()},
            field="emergency",
        )
    if active and emergency.status != EmergencyStatus.ACTIVE:
        raise InvalidInput(_("This emergency is not active: nothing can be changed."), field="emergency")


def households_for(user: Actor, emergency: Emergency) -> QuerySet[Household]:
    """The households of the emergency's area that ``user`` looks after (their scope)."""
    return households_of(emergency).filter(pk__in=Household.objects.restrict(user).values("pk"))


def _household_for(user: Actor, emergency: Emergency, pk) -> Household:
    household = (
        households_for(user, emergency).filter(pk=pk).select_related("unit__building").first()
        if str(pk).isdigit() and int(pk) < 2**63
        else None
    )
    if household is None:
        raise InvalidInput(_("No household of the area in your care has this number."), field="household")
    return household


def find_households(user: Actor, emergency: Emergency, query: str) -> list[Household]:
    """Households of the area in ``user``'s scope whose flat matches every word of ``query`` (building
    name or code, flat number, household code), e.g. "3幢 502": the shelters' search of households, kept
    to the emergency's area."""
    found = shelters.find_households(user, query)
    area = set(households_of(emergency).filter(pk__in=[h.pk for h in found]).values_list("pk", flat=True))
    return [household for household in found if household.pk in area]


def _clean_text(value, *, field: str, limit: int) -> str:
    text = str(value or "").strip()
    if "\x00" in text:
        raise InvalidInput(_("This text contains a character that cannot be stored."), field=field)
    if len(text) > limit:
        raise InvalidInput(_("This text is longer than %(max)d characters.") % {"max": limit}, field=field)
    return text


# --- household status ---------------------------------------------------------------------------------


def current_status(emergency: Emergency, household: Household) -> HouseholdStatus | None:
    return HouseholdStatus.objects.filter(emergency=emergency, household=household, is_current=True).first()


@transaction.atomic(durable=True)
def set_status(
    *,
    actor: Actor,
    emergency: Emergency,
    household: Household,
    status: str,
    since: dt.date,
    until: dt.date | None = None,
) -> HouseholdStatus:
    """Give ``household`` a status in ``emergency`` from ``since`` (to the planned ``until``); the one
    in force before stays as history."""
    emergency = get_emergency_for(actor, emergency.pk)
    _require_epidemic(emergency)
    if status not in HouseholdState.values:
        raise InvalidInput(
            _("The status is one of: %(values)s.") % {"values": ", ".join(HouseholdState.values)},
            field="status",
        )
    if not isinstance(since, dt.date):
        raise InvalidInput(_("Give the date the status starts (since)."), field="since")
    if until is not None and until < since:
        raise InvalidInput(_("The planned end (until) is before the start (since)."), field="until")
    household = _household_for(actor, emergency, household.pk)
    now = clock.now()
    Emergency.objects.select_for_update().filter(pk=emergency.pk).first()  # one change at a time
    before = current_status(emergency, household)
    HouseholdStatus.objects.filter(emergency=emergency, household=household, is_current=True).update(
        is_current=False
    )
    row = HouseholdStatus.objects.create(
        emergency=emergency,
        household=household,
        status=status,
        since=since,
        until=until,
        set_by=actor,
        set_at=now,
        is_current=True,
    )
    details = {
        "emergency": emergency.pk,
        "status": status,
        "since": since.isoformat(),
        "until": until.isoformat() if until else None,
        "before": before.status if before else None,
    }
    record(
        actor=actor, events=[Event(AuditAction.EPIDEMIC_STATUS, "household", household.pk, details=details)]
    )
    return row


# --- deliveries ---------------------------------------------------------------------------------------


def _delivery_titles(delivery: Delivery) -> tuple[str, str]:
    zh, en = DELIVERY_TEXT[DeliveryKind(delivery.kind)]
    return f"{zh}（#{delivery.pk}）", f"{en} (#{delivery.pk})"


@transaction.atomic(durable=True)
def request_delivery(
    *, actor: Actor, emergency: Emergency, household: Household, kind: str, what: str = ""
) -> Delivery:
    """Ask for groceries or medicine to be taken to an isolating household: an on-foot incident for its
    flat (dispatched by response) and a ``delivery`` task of the emergency."""
    emergency = get_emergency_for(actor, emergency.pk)
    _require_epidemic(emergency)
    if kind not in DeliveryKind.values:
        raise InvalidInput(
            _("The kind is one of: %(values)s.") % {"values": ", ".join(DeliveryKind.values)}, field="kind"
        )
    what = _clean_text(what, field="what", limit=WHAT_MAX)
    household = _household_for(actor, emergency, household.pk)
    state = current_status(emergency, household)
    if state is None or state.status not in ISOLATING_STATES:
        raise InvalidInput(
            _("Deliveries are for households that are isolating; set this household's status first."),
            field="household",
        )
    now = clock.now()
    delivery = Delivery.objects.create(
        emergency=emergency, household=household, kind=kind, what=what, requested_at=now, requested_by=actor
    )
    description = " / ".join(DELIVERY_TEXT[DeliveryKind(kind)])  # the kind only, never the status
    try:
        incident = open_incident(
            actor=actor, category=CATEGORY, source=Source.STAFF, description=description, unit=household.unit
        )
    except InvalidInput:
        raise InvalidInput(
            _("Nobody can be sent to this household: the community has no one answering for it."),
            field="household",
        ) from None
    title_zh, title_en = _delivery_titles(delivery)
    task = Task.objects.create(
        emergency=emergency,
        kind=TaskKind.DELIVERY,
        title_zh=title_zh,
        title_en=title_en,
        key=f"delivery:{delivery.pk}",
        assignee_id=incident.assignee_id,
        due_at=incident.arrive_due,
        incident=incident,
        created_at=now,
    )
    delivery.incident, delivery.task = incident, task
    delivery.save(update_fields=["incident", "task"])
    details = {
        "emergency": emergency.pk,
        "delivery": delivery.pk,
        "kind": kind,
        "incident": incident.pk,
        "task": task.pk,
    }
    record(
        actor=actor, events=[Event(AuditAction.EPIDEMIC_DELIVERY, "household", household.pk, details=details)]
    )
    return delivery


def _follow_deliveries(now: dt.datetime, limit: int) -> int:
    """Deliveries whose incident ended: done (resolved or closed) or cancelled; their task too."""
    changed = 0
    ended = [s.value for s in (*DONE_INCIDENT, *CANCELLED_INCIDENT)]
    for pk in list(
        Delivery.objects.filter(status=DeliveryStatus.OPEN, incident__status__in=ended).values_list(
            "pk", flat=True
        )[:limit]
    ):
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update(of=("self",))
                .filter(pk=pk, status=DeliveryStatus.OPEN)
                .select_related("incident")
                .first()
            )
            if delivery is None or delivery.incident is None:
                continue
            done = delivery.incident.status in {s.value for s in DONE_INCIDENT}
            delivery.status = DeliveryStatus.DONE if done else DeliveryStatus.CANCELLED
            delivery.done_at = now
            delivery.save(update_fields=["status", "done_at"])
            if delivery.task_id:
                Task.objects.filter(pk=delivery.task_id, status=TaskStatus.OPEN).update(
                    status=TaskStatus.DONE if done else TaskStatus.CANCELLED, done_at=now if done else None
                )
            record(
                actor="system",
                events=[
                    Event(
                        AuditAction.EPIDEMIC_DELIVERY_DONE,
                        "emergency",
                        delivery.emergency_id,
                        details={
                            "delivery": delivery.pk,
                            "status": delivery.status,
                            "incident": delivery.incident_id,
                        },
                    )
                ],
            )
            changed += 1
    return changed


# --- daily check-ins ----------------------------------------------------------------------------------


def _local(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now)


def _isolating_in_care(emergency: Emergency, day: dt.date) -> QuerySet[Resident]:
    """Residents in care (an active care profile) of households isolating on ``day``."""
    households = HouseholdStatus.objects.filter(
        emergency=emergency, is_current=True, status__in=ISOLATING_STATES, since__lte=day
    ).filter(Q(until__isnull=True) | Q(until__gte=day))
    return (
        Resident.objects.filter(
            household_id__in=households.values("household_id"), care_profiles__is_active=True
        )
        .distinct()
        .order_by("household_id", "pk")
    )


def _ask_day(emergency: Emergency, day: dt.date, now: dt.datetime, limit: int) -> tuple[int, list[int]]:
    """Ask today's check-in of each isolating resident in care not asked yet; the ids of those nobody
    could be asked (sent a visit at once)."""
    asked_already = CheckIn.objects.filter(emergency=emergency, day=day).values("resident_id")
    residents = list(
        _isolating_in_care(emergency, day)
        .exclude(pk__in=asked_already)
        .only("pk", "household_id", "name", "phone", "phone_index")[:limit]
    )
    if not residents:
        return 0, []
    ids = [r.pk for r in residents]
    kinds: dict[int, set[str]] = {}
    for resident_id, kind in CareProfile.objects.filter(is_active=True, resident_id__in=ids).values_list(
        "resident_id", "kind"
    ):
        kinds.setdefault(resident_id, set()).add(kind)
    accounts: dict[int, User] = {}
    for user in User.objects.filter(resident_id__in=ids, is_active=True, role=Role.RESIDENT).order_by("pk"):
        if user.resident_id is not None:
            accounts.setdefault(user.resident_id, user)
    asked, unreachable = 0, []
    for resident in residents:
        ask = _ask_household(resident.household_id, True, [resident], kinds, accounts)
        message_id = None
        if ask.channel != CheckInChannel.NONE:
            recipient = ask.user or ask.contact
            send_on = [str(ask.channel)]
            if ask.channel == CheckInChannel.CARER:
                send_on = ["in_app"] if ask.user is not None else ["sms"]
            messages = notify(
                [recipient],
                KIND,
                SUBJECT,
                TEXTS[ask.channel],
                params={"name": resident.name},
                channels=send_on,
                reference=(REFERENCE, emergency.pk),
            )
            message_id = messages[0].pk if messages else None
        try:
            with transaction.atomic():
                checkin = CheckIn.objects.create(
                    emergency=emergency,
                    household_id=resident.household_id,
                    resident=resident,
                    day=day,
                    channel=ask.channel,
                    asked_user=ask.user,
                    phone_index=ask.phone_index,
                    asked_at=now,
                    message_id=message_id,
                )
        except IntegrityError:  # another worker asked the same resident a moment ago
            if message_id:
                Message.objects.filter(pk=message_id).delete()
            continue
        asked += 1
        if ask.channel == CheckInChannel.NONE:
            unreachable.append(checkin.pk)
    return asked, unreachable


def _help_incident(checkin: CheckIn, status: str) -> Incident | None:
    with translation.override(settings.LANGUAGE_CODE):
        if status == CheckInStatus.NEED_HELP:
            description = _("Daily check-in: this resident needs help; go and see them.")
        else:
            description = _(
                "Daily check-in: no answer from this resident today; go and see that they are well."
            )
    try:
        return open_incident(
            actor=None,
            category=CATEGORY,
            source=Source.REPORT if status == CheckInStatus.NEED_HELP else Source.STAFF,
            grade=NEED_HELP_GRADE if status == CheckInStatus.NEED_HELP else None,
            description=description,
            unit=checkin.household.unit,
        )
    except InvalidInput as exc:  # no responsible body: the page still shows the check-in
        logger.warning("epidemic check-in %s opens no incident: %s", checkin.pk, exc.message)
        return None


def _close_checkin(checkin: CheckIn, status: str, via: str, now: dt.datetime) -> dict:
    """Write an answer (or its absence) on a locked check-in, in the caller's transaction; the audit
    details."""
    checkin.status, checkin.answered_via = status, via
    fields = ["status", "answered_via"]
    if status in ANSWERS:
        checkin.answered_at = now
        fields.append("answered_at")
    if status != CheckInStatus.OK:
        incident = _help_incident(checkin, status)
        if incident is not None:
            checkin.incident = incident
            fields.append("incident")
    checkin.save(update_fields=fields)
    details: dict = {"emergency": checkin.emergency_id, "checkin": checkin.pk, "status": status, "via": via}
    if checkin.incident_id:
        details["incident"] = checkin.incident_id
    return details


def _miss(pks: list[int], now: dt.datetime) -> int:
    missed = 0
    for pk in pks:
        with transaction.atomic():
            checkin = (
                CheckIn.objects.select_for_update()
                .filter(pk=pk, status=CheckInStatus.WAITING)
                .select_related("household__unit")
                .first()
            )
            if checkin is None:
                continue
            details = _close_checkin(checkin, CheckInStatus.NO_ANSWER, "", now)
            record(
                actor="system",
                events=[
                    Event(AuditAction.EPIDEMIC_CHECKIN, "household", checkin.household_id, details=details)
                ],
            )
            missed += 1
    return missed


def sweep(now: dt.datetime | None = None, *, limit: int = 500) -> dict[str, int]:
    """One round of the worker (see the module): deliveries follow their incidents; today's check-ins
    are asked from :data:`ASK_FROM`; those not answered by :data:`EVENING` (or on an earlier day) and
    those nobody could ask get a visit. Safe to run again and in several workers."""
    now = now or clock.now()
    local = _local(now)
    today = local.date()
    counts = {"asked": 0, "missed": 0, "deliveries": _follow_deliveries(now, limit)}
    emergencies = list(Emergency.objects.filter(status=EmergencyStatus.ACTIVE, hazard=HazardKind.EPIDEMIC))
    unreachable: list[int] = []
    if ASK_FROM <= local.time() < EVENING:
        for emergency in emergencies:
            asked, nobody = _ask_day(emergency, today, now, limit)
            counts["asked"] += asked
            unreachable += nobody
    # Check-ins of emergencies that ended are closed without a visit.
    CheckIn.objects.filter(status=CheckInStatus.WAITING).exclude(
        emergency__status=EmergencyStatus.ACTIVE
    ).update(status=CheckInStatus.NO_ANSWER)
    late = _open_checkins().filter(
        day__lte=today if local.time() >= EVENING else today - dt.timedelta(days=1)
    )
    due = unreachable + list(late.order_by("day", "pk").values_list("pk", flat=True)[:limit])
    counts["missed"] = _miss(due, now)
    return counts


# --- answers ------------------------------------------------------------------------------------------


def _open_checkins() -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(
        status=CheckInStatus.WAITING,
        emergency__status=EmergencyStatus.ACTIVE,
        emergency__hazard=HazardKind.EPIDEMIC,
    )


def _mine(user: Actor) -> Q:
    mine = Q(asked_user_id=user.pk)
    if getattr(user, "resident_id", None):
        mine |= Q(resident_id=user.resident_id)
    return mine


def get_checkin_to_answer(user: Actor, pk) -> CheckIn:
    """A check-in waiting for ``user``'s answer: their own, or one they were asked as a carer. The same
    404 for missing, answered and not theirs."""
    checkin = (
        _open_checkins().filter(_mine(user), pk=pk).select_related("emergency", "household__unit").first()
        if getattr(user, "is_active", False) and user.role in ANSWERING_ROLES
        else None
    )
    if checkin is None:
        raise NotFound(_("Check-in not found."))
    return checkin


def waiting_checkins_of(user: Actor) -> list[CheckIn]:
    """The check-ins waiting for ``user``'s answer, for their home page."""
    if user.role not in ANSWERING_ROLES:
        return []
    return list(_open_checkins().filter(_mine(user)).select_related("emergency").order_by("asked_at", "pk"))


def answer(*, actor: Actor, checkin: CheckIn, status: str) -> CheckIn:
    """The resident's (or the asked carer's) answer in the app: "OK" or "need help"."""
    if status not in ANSWERS:
        raise InvalidInput(
            _("The answer is one of: %(values)s.") % {"values": ", ".join(ANSWERS)}, field="status"
        )
    checkin = get_checkin_to_answer(actor, checkin.pk)
    now = clock.now()
    with transaction.atomic():
        locked = (
            CheckIn.objects.select_for_update()
            .filter(pk=checkin.pk, status=CheckInStatus.WAITING)
            .select_related("household__unit")
            .first()
        )
        if locked is None:
            raise InvalidInput(_("This check-in has been answered already."), field="status")
        details = _close_checkin(locked, status, CheckInChannel.APP, now)
        record(
            actor=actor,
            events=[Event(AuditAction.EPIDEMIC_CHECKIN, "household", locked.household_id, details=details)],
        )
    if locked.message_id and locked.asked_user_id == actor.pk:
        acknowledge(Message(pk=locked.message_id), actor)
    return locked


def handle_inbound(messages: list[InboundMessage]) -> list[InboundAnswer | None]:
    """Notify's claiming handler: a reply or key press from a phone asked today's check-in ("1" OK, "2"
    need help; anything else is answered with the keys). Others go on down the chain."""
    indexes = [vault.blind_index("phone", normalise_phone(message.phone)) for message in messages]
    waiting: dict[str, list[int]] = {}
    for pk, index in (
        _open_checkins()
        .filter(phone_index__in=set(indexes))
        .order_by("asked_at", "pk")
        .values_list("pk", "phone_index")
    ):
        waiting.setdefault(index, []).append(pk)
    if not waiting:
        return [None] * len(messages)
    languages = dict(
        Preference.objects.filter(user__resident__phone_index__in=list(waiting), user__is_active=True)
        .exclude(language="")
        .values_list("user__resident__phone_index", "language")
    )
    answers: list[InboundAnswer | None] = []
    now = clock.now()
    for message, index in zip(messages, indexes, strict=True):
        pks = waiting.get(index) or []
        if not pks:
            answers.append(None)
            continue
        language = languages.get(index, "")
        status = KEYWORDS.get(message.text)
        if status is None:
            answers.append(_reply("unknown_keyword", NOT_UNDERSTOOD, language))
            continue
        pk = pks.pop(0)
        with transaction.atomic():
            locked = (
                CheckIn.objects.select_for_update()
                .filter(pk=pk, status=CheckInStatus.WAITING)
                .select_related("household__unit")
                .first()
            )
            if locked is not None:
                details = _close_checkin(locked, status, message.channel, now)
                record(
                    actor=f"gateway:{message.channel}",
                    events=[
                        Event(AuditAction.EPIDEMIC_CHECKIN, "household", locked.household_id, details=details)
                    ],
                )
        answers.append(
            _reply("recorded", THANKS_HELP if status == CheckInStatus.NEED_HELP else THANKS_OK, language)
        )
    return answers


# --- what the pages show ------------------------------------------------------------------------------


@dataclass
class HouseholdRow:
    status: HouseholdStatus
    building: str
    unit: str


@dataclass
class CheckInRow:
    checkin: CheckIn
    name: str


@dataclass
class Page:
    """Epidemic mode of an emergency as ``user`` may see it: households by status, deliveries, today's
    check-ins and their counts."""

    emergency: Emergency
    is_epidemic: bool
    may_change: bool = False
    households: list[HouseholdRow] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    open_deliveries: int = 0
    checkins: list[CheckInRow] = field(default_factory=list)
    checkin_counts: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Households by status and today's check-ins by answer, every key present."""
        counts = dict.fromkeys([*HouseholdState.values, *CheckInStatus.values], 0)
        counts.update(self.by_status)
        counts.update(self.checkin_counts)
        return counts

    @property
    def isolating(self) -> list[HouseholdRow]:
        """The households a delivery may be asked for."""
        return [row for row in self.households if row.status.status in ISOLATING_STATES]


def page(user: Actor, emergency: Emergency) -> Page:
    """What ``user`` (a role of epidemic mode, else 403) sees of ``emergency``'s epidemic mode."""
    _require_role(user)
    result = Page(emergency=emergency, is_epidemic=is_epidemic(emergency))
    if not result.is_epidemic:
        return result
    result.may_change = emergency.status == EmergencyStatus.ACTIVE
    mine = Household.objects.restrict(user).values("pk")
    statuses = list(
        HouseholdStatus.objects.filter(emergency=emergency, is_current=True, household__in=mine)
        .select_related("household__unit__building", "set_by")
        .order_by("status", "since", "household__code")[:LIST_MAX]
    )
    for row in statuses:
        unit = row.household.unit
        result.households.append(HouseholdRow(row, unit.building.name, unit.number))
    result.by_status = dict(Counter(row.status.status for row in result.households))
    result.deliveries = list(
        Delivery.objects.filter(emergency=emergency, household__in=mine)
        .select_related("household__unit__building", "incident__assignee")
        .order_by("status", "-requested_at", "-pk")[:LIST_MAX]
    )
    result.open_deliveries = sum(1 for d in result.deliveries if d.status == DeliveryStatus.OPEN)
    checkins = list(
        CheckIn.objects.filter(emergency=emergency, household__in=mine, day=_local(clock.now()).date())
        .select_related("resident", "household__unit__building", "incident")
        .order_by("status", "household__code", "pk")[:LIST_MAX]
    )
    visible = may_see_names(user, [c.resident_id for c in checkins])
    for checkin in checkins:
        name = checkin.resident.name
        result.checkins.append(
            CheckInRow(checkin, name if checkin.resident_id in visible else vault.mask_name(name))
        )
    result.checkin_counts = dict(Counter(row.checkin.status for row in result.checkins))
    return result


def board_part(user: Actor, emergency: Emergency) -> Page | None:
    """The board's epidemic section: None (nothing shown) for other hazards and other roles."""
    if not may_see(user) or not is_epidemic(emergency):
        return None
    return page(user, emergency)


def history(user: Actor, emergency: Emergency, household: Household) -> list[HouseholdStatus]:
    """Every status the household had in the emergency, newest first."""
    household = _household_for(user, emergency, household.pk)
    return list(
        HouseholdStatus.objects.filter(emergency=emergency, household=household).select_related("set_by")
    )


# --- purge --------------------------------------------------------------------------------------------


def purge_emergency(emergency: Emergency) -> dict[str, int]:
    """Forget the emergency's epidemic data about people: its statuses (with their history) and
    check-ins are deleted, with the check-ins' messages; its deliveries forget the household and what was
    needed (kind, times and incident stay, for the counts). The caller audits it."""
    messages = [
        pk for pk in CheckIn.objects.filter(emergency=emergency).values_list("message_id", flat=True) if pk
    ]
    _deleted, by_model = Message.objects.filter(
        Q(pk__in=messages) | Q(subject_type=REFERENCE, subject_id=str(emergency.pk))
    ).delete()
    counts = {"epidemic_messages": by_model.get(Message._meta.label, 0)}
    _deleted, by_model = HouseholdStatus.objects.filter(emergency=emergency).delete()
    counts["epidemic_statuses"] = by_model.get(HouseholdStatus._meta.label, 0)
    _deleted, by_model = CheckIn.objects.filter(emergency=emergency).delete()
    counts["epidemic_checkins"] = by_model.get(CheckIn._meta.label, 0)
    counts["epidemic_deliveries"] = Delivery.objects.filter(emergency=emergency).update(
        household=None, what=""
    )
    return counts
