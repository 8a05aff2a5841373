"""The "are you safe?" roll call: ask every household of an emergency's area, take the answers, send
someone to those who do not answer, and count until each is accounted for.

* :func:`start_roll_call` (a manager, from the board): every household of the area (the emergency's grids
  and buildings; the whole community when it names none) is asked once, through its own channel — the
  app when a member has an account; else an SMS to a member's phone (a voice call for a member in care
  who needs one: :data:`VOICE_KINDS`); else a carer with a consent in force; else nobody can be asked and
  someone goes at the first sweep. Households with a member in care (an active care profile) are
  "vulnerable" and are queued first.
* Answers: the resident's tap on ``/emergency/rollcall/<entry>/answer`` (or on their home page), an SMS
  reply or a key press ("1" safe, "2" need help) through ``POST /api/v1/notify/inbound`` — the roll call
  claims a message from a phone with a question waiting, before care's daily check-in — or staff after a
  phone call (:func:`record_safe`). "Need help" opens a ``wellness_check`` incident (orange) for the
  household's flat at once, dispatched on foot by response.
* :func:`follow_up_roll_calls` (the worker, every round): a household still waiting after the roll call's
  wait (the plan's ``roll_call.wait_minutes``; a vulnerable household's shorter
  ``vulnerable_wait_minutes``, 5 by default) gets a door-knocking visit — a ``wellness_check`` incident
  dispatched on foot to the nearest grid worker or volunteer (the plan's call-up puts the building
  leaders on duty: :mod:`banyan.emergency.call_up`), and a ``door_knock`` task of the emergency linked
  to it; when that incident is resolved the household is accounted for and the task done.

Accounted for: safe, needs help (the community knows and help is on its way), or seen by a visit.
:func:`accounted_curve` gives the share of vulnerable households accounted for over time, for the
after-action review and the drills. Nothing here logs or stores a phone or a name; the board masks names
for roles that may not see the person (:func:`board`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import Action, can, revealable_fields
from banyan.core.choices import Role
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency.choices import EmergencyStatus, TaskKind, TaskStatus, TimelineKind
from banyan.emergency.models import Emergency, Task, TimelineEntry
from banyan.emergency.rollcall.choices import (
    ACCOUNTED_STATUSES,
    UNACCOUNTED_STATUSES,
    AnswerChannel,
    AskChannel,
    EntryStatus,
)
from banyan.emergency.rollcall.models import (
    DEFAULT_VULNERABLE_WAIT_MINUTES,
    DEFAULT_WAIT_MINUTES,
    Entry,
    RollCall,
)
from banyan.notify.inbound import InboundAnswer, InboundMessage
from banyan.notify.models import Message, Preference
from banyan.notify.services import Contact, acknowledge, notify
from banyan.people.carers import consented_carers
from banyan.people.choices import CareKind
from banyan.people.models import Actor, CareProfile, Household, Resident, User
from banyan.people.validators import normalise_phone
from banyan.response.flow import Status
from banyan.response.models import Incident, Source
from banyan.response.services import open_incident, withdraw

logger = logging.getLogger(__name__)

KIND = "emergency.roll_call"
CATEGORY = "wellness_check"
NEED_HELP_GRADE = "orange"
VISIT_WITHDRAWN = gettext_lazy("The household answered the roll call before the door-knock: not needed.")
WAIT_MAX = 720
# Care kinds whose residents are called rather than texted (they may not read an SMS).
VOICE_KINDS = frozenset({CareKind.ELDERLY_ALONE, CareKind.EMPTY_NEST, CareKind.DISABILITY, CareKind.DEMENTIA})
# The keys of a reply: "1" safe, "2" need help (full-width digits too: a Chinese phone's keyboard).
KEYWORDS = {
    "1": EntryStatus.SAFE,
    "１": EntryStatus.SAFE,
    "2": EntryStatus.NEED_HELP,
    "２": EntryStatus.NEED_HELP,
}
ANSWERS = (EntryStatus.SAFE, EntryStatus.NEED_HELP)
RESOLVED = (Status.RESOLVED, Status.CLOSED)
# Accounts that answer for a household: a resident's own, a carer's (a resident or a volunteer).
ANSWERING_ROLES = (Role.RESIDENT, Role.VOLUNTEER)

SUBJECT = gettext_lazy("Are you safe? (%(title)s)")
TEXTS: dict[str, Any] = {
    AskChannel.APP: gettext_lazy(
        'Emergency: %(title)s. Are you and your household safe? Tap "Safe" or "Need help" on your home page.'
    ),
    AskChannel.SMS: gettext_lazy(
        "Emergency: %(title)s. Are you and your household safe? Reply 1 if safe, 2 if you need help."
    ),
    AskChannel.VOICE: gettext_lazy(
        "Emergency: %(title)s. Are you and your household safe? Press 1 if safe, 2 if you need help."
    ),
    AskChannel.CARER: gettext_lazy(
        "Emergency: %(title)s. Please check on the household of %(name)s and answer: reply 1 if they are "
        "safe, 2 if they need help."
    ),
}
THANKS_SAFE = gettext_lazy("Thank you. We have noted that your household is safe.")
THANKS_HELP = gettext_lazy("Thank you. Help is on the way: someone from your community will come.")
NOT_UNDERSTOOD = gettext_lazy(
    "We did not understand your answer. Reply 1 if you are safe, 2 if you need help."
)
NOT_UNDERSTOOD_VOICE = gettext_lazy("We did not understand. Press 1 if you are safe, 2 if you need help.")


# --- who may do what ----------------------------------------------------------------------------------


def may_start(user: Actor) -> bool:
    return can(user, Action.MANAGE_EMERGENCIES)


def may_mark(user: Actor) -> bool:
    """Staff who may record a household safe after a phone call: the emergency's managers and the grid
    workers of its grids (roles who see emergencies and may change people's records)."""
    return can(user, Action.MANAGE_EMERGENCIES) or (
        can(user, Action.VIEW_EMERGENCIES) and can(user, Action.CHANGE_PEOPLE)
    )


def may_see_names(user: Actor, residents: Iterable[int]) -> set[int]:
    """Which of ``residents`` ``user`` may see by name: those in their scope of people, for roles that work
    with people's details (not auditors, who reveal nothing). The rest are masked."""
    if not revealable_fields(user):
        return set()
    return set(Resident.objects.restrict(user).filter(pk__in=list(residents)).values_list("pk", flat=True))


# --- access -------------------------------------------------------------------------------------------


def get_emergency_for(user: Actor, pk, action: Action = Action.VIEW_EMERGENCIES) -> Emergency:
    """An emergency in ``user``'s scope; the same 404 for missing and not theirs."""
    emergency = Emergency.objects.restrict(user, action).filter(pk=pk).first()
    if emergency is None:
        raise NotFound(_("Emergency not found."))
    return emergency


def open_roll_call(emergency: Emergency) -> RollCall | None:
    return RollCall.objects.filter(emergency=emergency, closed_at__isnull=True).first()


def latest_roll_call(emergency: Emergency) -> RollCall | None:
    return RollCall.objects.filter(emergency=emergency).order_by("-started_at", "-pk").first()


def _open_entries() -> QuerySet[Entry]:
    return Entry.objects.filter(
        roll_call__closed_at__isnull=True, roll_call__emergency__status=EmergencyStatus.ACTIVE
    )


def get_entry_to_answer(user: Actor, pk) -> Entry:
    """An entry of an open roll call that ``user`` answers for: their own household's, or one they were
    asked about (a carer's account). The same 404 for missing, closed and not theirs."""
    mine = Q(asked_user_id=user.pk)
    resident = getattr(user, "resident", None) if getattr(user, "resident_id", None) else None
    if resident is not None:
        mine |= Q(household_id=resident.household_id)
    entry = (
        _open_entries()
        .filter(mine, pk=pk)
        .select_related("roll_call__emergency", "household__unit__building")
        .first()
    )
    if entry is None or not user.is_active:
        raise NotFound(_("Roll-call question not found."))
    return entry


def get_entry_for(user: Actor, pk) -> Entry:
    """An entry ``user`` may mark (staff with the household in their scope); the same 404 otherwise."""
    entry = (
        Entry.objects.restrict(user, Action.VIEW_EMERGENCIES)
        .filter(pk=pk, household__in=Household.objects.restrict(user))
        .select_related("roll_call__emergency", "household__unit__building")
        .first()
    )
    if entry is None:
        raise NotFound(_("Roll-call entry not found."))
    return entry


def waiting_entries_of(user: Actor) -> list[Entry]:
    """The questions waiting for ``user``'s answer in open roll calls (their household's, and those they
    were asked as a carer), for their home page."""
    mine = Q(asked_user_id=user.pk)
    if getattr(user, "resident_id", None):
        mine |= Q(household__members__pk=user.resident_id)
    return list(
        _open_entries()
        .filter(mine, status__in=UNACCOUNTED_STATUSES)
        .select_related("roll_call__emergency", "household__unit__building")
        .distinct()
        .order_by("asked_at", "pk")
    )


# --- the area -----------------------------------------------------------------------------------------


def households_of(emergency: Emergency) -> QuerySet[Household]:
    """The households of the emergency's area: in its grids or buildings, the whole community if none."""
    grids = list(emergency.area_grids.values_list("pk", flat=True))
    buildings = [int(b) for b in emergency.area_buildings or [] if str(b).isdigit()]
    households = Household.objects.filter(grid__path__startswith=emergency.community.path)
    if grids or buildings:
        households = households.filter(Q(grid_id__in=grids) | Q(unit__building_id__in=buildings))
    return households.order_by("pk")


# --- starting -----------------------------------------------------------------------------------------


@dataclass
class _Ask:
    household_id: int
    vulnerable: bool
    channel: str
    resident: Resident | None = None
    user: User | None = None
    contact: Contact | None = None
    phone_index: str = ""
    carer_of: str = ""  # the name the carer's message names


def _plan_asks(area: QuerySet[Household]) -> list[_Ask]:
    """How each household of ``area`` is asked (see the module's docstring), vulnerable households first.
    Residents are read with no more personal fields than the phone (nothing else is decrypted)."""
    households = list(area.values_list("pk", flat=True))
    area_ids = area.values("pk")
    residents = list(
        Resident.objects.filter(household_id__in=area_ids)
        .only("pk", "household_id", "name", "phone", "phone_index")
        .order_by("household_id", "pk")
    )
    by_household: dict[int, list[Resident]] = {}
    for resident in residents:
        by_household.setdefault(resident.household_id, []).append(resident)
    kinds: dict[int, set[str]] = {}
    for resident_id, kind in CareProfile.objects.filter(
        is_active=True, resident__household_id__in=area_ids
    ).values_list("resident_id", "kind"):
        kinds.setdefault(resident_id, set()).add(kind)
    accounts: dict[int, User] = {}
    for user in User.objects.filter(
        resident__household_id__in=area_ids, is_active=True, role=Role.RESIDENT
    ).order_by("pk"):
        if user.resident_id is not None:
            accounts.setdefault(user.resident_id, user)
    asks = []
    for household_id in households:
        members = by_household.get(household_id, [])
        in_care = [m for m in members if m.pk in kinds]
        vulnerable = bool(in_care)
        # The one in care is asked first where they can be; then the others.
        ordered = in_care + [m for m in members if m.pk not in kinds]
        asks.append(_ask_household(household_id, vulnerable, ordered, kinds, accounts))
    asks.sort(key=lambda ask: not ask.vulnerable)  # stable: vulnerable first, then by household
    return asks


def _ask_household(
    household_id: int, vulnerable: bool, members: list[Resident], kinds: dict[int, set[str]], accounts
) -> _Ask:
    for member in members:
        if member.pk in accounts:
            return _Ask(household_id, vulnerable, AskChannel.APP, resident=member, user=accounts[member.pk])
    for member in members:
        if member.phone:
            channel = AskChannel.VOICE if kinds.get(member.pk, set()) & VOICE_KINDS else AskChannel.SMS
            return _Ask(
                household_id,
                vulnerable,
                channel,
                resident=member,
                contact=Contact(phone=member.phone),
                phone_index=member.phone_index or vault.blind_index("phone", normalise_phone(member.phone)),
            )
    for member in members:
        if member.pk not in kinds:
            continue
        for carer in consented_carers(member):
            if carer.user is not None and carer.user.is_active:
                return _Ask(household_id, vulnerable, AskChannel.CARER, resident=member, user=carer.user)
            if carer.phone:
                return _Ask(
                    household_id,
                    vulnerable,
                    AskChannel.CARER,
                    resident=member,
                    contact=Contact(phone=carer.phone),
                    phone_index=vault.blind_index("phone", normalise_phone(carer.phone)),
                    carer_of=member.name,
                )
    return _Ask(household_id, vulnerable, AskChannel.NONE, resident=members[0] if members else None)


def _send(asks: list[_Ask], emergency: Emergency, roll_call: RollCall) -> list[int | None]:
    """Notify each ask (in the order given: vulnerable first), one ``notify`` call per channel and group;
    the message id of each, None where nobody could be asked."""
    ids: list[int | None] = [None] * len(asks)
    groups: dict[tuple[bool, str, bool], list[int]] = {}
    for i, ask in enumerate(asks):
        if ask.channel == AskChannel.NONE:
            continue
        # A carer's message names the one they look after: one call each.
        key = (not ask.vulnerable, ask.channel, ask.channel == AskChannel.CARER)
        groups.setdefault(key, []).append(i)
    reference = ("roll_call", roll_call.pk)
    for (_later, channel, per_person), indexes in sorted(groups.items()):
        batches = [[i] for i in indexes] if per_person else [indexes]
        for batch in batches:
            recipients = [asks[i].user or asks[i].contact for i in batch]
            if channel == AskChannel.CARER:
                send_on = ["in_app"] if asks[batch[0]].user is not None else ["sms"]
            else:
                send_on = [str(channel)]
            params = {"title": emergency.title}
            if channel == AskChannel.CARER:
                resident = asks[batch[0]].resident
                params["name"] = resident.name if resident is not None else ""
            messages = notify(
                recipients,
                KIND,
                SUBJECT,
                TEXTS[channel],
                params=params,
                channels=send_on,
                reference=reference,
                urgency="urgent",
            )
            for i, message in zip(batch, messages, strict=True):
                ids[i] = message.pk
    return ids


def _waits(
    emergency: Emergency, wait_minutes: int | None, vulnerable_wait_minutes: int | None
) -> tuple[int, int]:
    """The roll call's waits: as given, else as the emergency's plan says, else the defaults (15 and 5
    minutes); a vulnerable household never waits longer than the others."""
    planned = (emergency.plan.body.get("roll_call") if emergency.plan_id and emergency.plan else None) or {}
    wait = wait_minutes if wait_minutes is not None else planned.get("wait_minutes", DEFAULT_WAIT_MINUTES)
    if isinstance(wait, bool) or not isinstance(wait, int) or not 1 <= wait <= WAIT_MAX:
        raise InvalidInput(_("The wait is a whole number of minutes from 1 to 720."), field="wait_minutes")
    vulnerable = vulnerable_wait_minutes
    if vulnerable is None:
        vulnerable = min(planned.get("vulnerable_wait_minutes", DEFAULT_VULNERABLE_WAIT_MINUTES), wait)
    if isinstance(vulnerable, bool) or not isinstance(vulnerable, int) or not 1 <= vulnerable <= wait:
        raise InvalidInput(
            _("A vulnerable household's wait is a whole number of minutes from 1 to %(wait)d (the others').")
            % {"wait": wait},
            field="vulnerable_wait_minutes",
        )
    return wait, vulnerable


def start_roll_call(
    *,
    actor: Actor | None,
    emergency: Emergency,
    wait_minutes: int | None = None,
    vulnerable_wait_minutes: int | None = None,
) -> RollCall:
    """Ask every household of ``emergency``'s area "are you safe?" (see the module's docstring). ``actor``
    is a manager of the emergency, or None for the system (a drill). The waits before a door-knock are
    the plan's unless given (:func:`_waits`). Refused for an emergency that is not active, or with a roll
    call already under way."""
    wait, vulnerable_wait = _waits(emergency, wait_minutes, vulnerable_wait_minutes)
    if actor is not None:
        if not may_start(actor):
            raise PermissionDenied(_("Your role cannot start a roll call."))
        emergency = get_emergency_for(actor, emergency.pk, Action.MANAGE_EMERGENCIES)
    now = clock.now()
    try:
        with transaction.atomic():
            emergency = Emergency.objects.select_for_update().select_related("community").get(pk=emergency.pk)
            if emergency.status != EmergencyStatus.ACTIVE:
                raise InvalidInput(
                    _("A roll call is started for an active emergency only."), field="emergency"
                )
            if open_roll_call(emergency) is not None:
                raise Conflict(_("This emergency already has a roll call under way."))
            roll_call = RollCall.objects.create(
                emergency=emergency,
                started_at=now,
                started_by=actor,
                wait_minutes=wait,
                vulnerable_wait_minutes=vulnerable_wait,
            )
            asks = _plan_asks(households_of(emergency))
            message_ids = _send(asks, emergency, roll_call)
            Entry.objects.bulk_create(
                [
                    Entry(
                        roll_call=roll_call,
                        household_id=ask.household_id,
                        resident=ask.resident,
                        asked_user=ask.user,
                        phone_index=ask.phone_index,
                        vulnerable=ask.vulnerable,
                        channel=ask.channel,
                        asked_at=now,
                        message_id=message_id,
                    )
                    for ask, message_id in zip(asks, message_ids, strict=True)
                ],
                batch_size=1000,
            )
            counts = {
                "households": len(asks),
                "vulnerable": sum(1 for ask in asks if ask.vulnerable),
                "wait_minutes": wait,
                "vulnerable_wait_minutes": vulnerable_wait,
                "roll_call": roll_call.pk,
            }
            TimelineEntry.objects.create(
                emergency=emergency, at=now, kind=TimelineKind.ROLL_CALL_STARTED, actor=actor, details=counts
            )
            record(
                actor=actor or "system",
                events=[Event(AuditAction.ROLL_CALL_START, "emergency", emergency.pk, details=counts)],
            )
    except IntegrityError:  # another manager started one at the same moment
        raise Conflict(_("This emergency already has a roll call under way.")) from None
    return roll_call


# --- answers ------------------------------------------------------------------------------------------


def _need_help_incident(entry: Entry, channel: str) -> Incident | None:
    with translation.override(settings.LANGUAGE_CODE):
        description = _("Roll call: a household needs help (%(channel)s).") % {
            "channel": AnswerChannel(channel).label
        }
    try:
        return open_incident(
            actor=None,
            category=CATEGORY,
            source=Source.REPORT,
            grade=NEED_HELP_GRADE,
            description=description,
            unit=entry.household.unit,
        )
    except InvalidInput as exc:  # no responsible body: the board still shows the household
        logger.warning("roll-call entry %s opens no incident: %s", entry.pk, exc.message)
        return None


def _apply(entry: Entry, status: str, via: str, by: User | None, now: dt.datetime, note: str = "") -> dict:
    """Write an answer on a locked entry (in the caller's transaction); the audit event's details. A
    household that answers while its door-knock is on the way: "safe" withdraws the visit if nobody is
    at the door yet (the walker is free for the next), "need help" keeps it as the help sent."""
    visiting = entry.status == EntryStatus.VISITING and entry.incident_id is not None
    entry.status, entry.answered_via, entry.answered_by = status, via, by
    entry.answered_at = entry.answered_at or now
    entry.accounted_at = entry.accounted_at or now
    fields = ["status", "answered_via", "answered_by", "answered_at", "accounted_at"]
    if note:
        entry.note = note
        fields.append("note")
    withdrawn = False
    if visiting and status == EntryStatus.SAFE and entry.incident_id is not None:
        with translation.override(settings.LANGUAGE_CODE):
            withdrawn = withdraw(entry.incident_id, note=str(VISIT_WITHDRAWN))
        if withdrawn and entry.task_id:
            Task.objects.filter(pk=entry.task_id, status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    if status == EntryStatus.NEED_HELP and not visiting:
        incident = _need_help_incident(entry, via)
        if incident is not None:
            entry.incident = incident
            fields.append("incident")
    entry.save(update_fields=fields)
    details: dict = {"status": status, "via": via, "entry": entry.pk, "roll_call": entry.roll_call_id}
    if withdrawn:
        details["visit_withdrawn"] = entry.incident_id
    if status == EntryStatus.NEED_HELP and entry.incident_id:
        details["incident"] = entry.incident_id
    return details


def _clean_answer(status: str) -> str:
    if status not in ANSWERS:
        raise InvalidInput(
            _("The answer is one of: %(values)s.") % {"values": ", ".join(ANSWERS)}, field="status"
        )
    return status


def answer(*, actor: Actor, entry: Entry, status: str) -> Entry:
    """The resident's (or the asked carer's) own answer in the app: "safe" or "need help". A household
    that said "safe" may still say "need help" later; one that asked for help keeps its incident."""
    status = _clean_answer(status)
    entry = get_entry_to_answer(actor, entry.pk)
    now = clock.now()
    with transaction.atomic():
        locked = Entry.objects.select_for_update().select_related("household__unit").get(pk=entry.pk)
        if locked.status == EntryStatus.NEED_HELP:
            raise InvalidInput(_("You have already asked for help; someone is on the way."), field="status")
        if locked.status == status:
            return locked
        details = _apply(locked, status, AnswerChannel.APP, actor, now)
        record(
            actor=actor,
            events=[Event(AuditAction.ROLL_CALL_ANSWER, "household", locked.household_id, details=details)],
        )
    # The question in their notifications is answered too (it leaves the unread list).
    if locked.message_id and locked.asked_user_id == actor.pk:
        acknowledge(Message(pk=locked.message_id), actor)
    return locked


def record_safe(*, actor: Actor, entry: Entry, note: str = "") -> Entry:
    """Staff record a household safe after reaching it by phone (or in person), with an optional note."""
    if not may_mark(actor):
        raise PermissionDenied(_("Your role cannot record roll-call answers."))
    note = (note or "").strip()
    if len(note) > 500:
        raise InvalidInput(_("The note is longer than %(max)d characters.") % {"max": 500}, field="note")
    if "\x00" in note:
        raise InvalidInput(_("The note contains a character that cannot be stored."), field="note")
    entry = get_entry_for(actor, entry.pk)
    now = clock.now()
    with transaction.atomic():
        locked = (
            Entry.objects.select_for_update()
            .filter(pk=entry.pk, roll_call__closed_at__isnull=True)
            .select_related("household__unit")
            .first()
        )
        if locked is None:
            raise InvalidInput(_("This roll call has ended."), field="entry")
        if locked.status not in UNACCOUNTED_STATUSES:
            raise InvalidInput(_("This household is already accounted for."), field="entry")
        details = _apply(locked, EntryStatus.SAFE, AnswerChannel.STAFF, actor, now, note)
        record(
            actor=actor,
            events=[Event(AuditAction.ROLL_CALL_ANSWER, "household", locked.household_id, details=details)],
        )
    return locked


def _reply(status: str, text, language: str) -> InboundAnswer:
    language = language or settings.LANGUAGE_CODE
    with translation.override(language):
        return InboundAnswer(status, str(text), language)


def handle_inbound(messages: list[InboundMessage]) -> list[InboundAnswer | None]:
    """Notify's claiming handler: a reply or key press from a phone asked by an open roll call whose
    household has not been accounted for ("1" safe, "2" need help; anything else is answered with the
    keys). Other messages are left to the next handler (care's daily check-in)."""
    indexes = [vault.blind_index("phone", normalise_phone(message.phone)) for message in messages]
    waiting: dict[str, list[Entry]] = {}
    for entry in (
        _open_entries()
        .filter(phone_index__in=set(indexes), status__in=UNACCOUNTED_STATUSES)
        .order_by("asked_at", "pk")
    ):
        waiting.setdefault(entry.phone_index, []).append(entry)
    if not waiting:
        return [None] * len(messages)
    languages = dict(
        Preference.objects.filter(user__resident__phone_index__in=list(waiting), user__is_active=True)
        .exclude(language="")
        .values_list("user__resident__phone_index", "language")
    )
    answers: list[InboundAnswer | None] = []
    to_write: list[tuple[Entry, str, str]] = []
    for message, index in zip(messages, indexes, strict=True):
        entries = waiting.get(index) or []
        if not entries:
            answers.append(None)
            continue
        language = languages.get(index, "")
        status = KEYWORDS.get(message.text)
        if status is None:
            hint = NOT_UNDERSTOOD_VOICE if message.channel == AnswerChannel.VOICE else NOT_UNDERSTOOD
            answers.append(_reply("unknown_keyword", hint, language))
            continue
        entry = entries.pop(0)  # one phone asked for two households answers them in turn
        to_write.append((entry, status, message.channel))
        answers.append(
            _reply("recorded", THANKS_HELP if status == EntryStatus.NEED_HELP else THANKS_SAFE, language)
        )
    if to_write:
        _write_replies(to_write)
    return answers


def _write_replies(replies: list[tuple[Entry, str, str]]) -> None:
    now = clock.now()
    by_channel: dict[str, list[Event]] = {}
    with transaction.atomic():
        for entry, status, channel in replies:
            locked = Entry.objects.select_for_update().select_related("household__unit").get(pk=entry.pk)
            if locked.status not in UNACCOUNTED_STATUSES:
                continue
            details = _apply(locked, status, channel, None, now)
            by_channel.setdefault(channel, []).append(
                Event(AuditAction.ROLL_CALL_ANSWER, "household", locked.household_id, details=details)
            )
        for channel, events in by_channel.items():
            record(actor=f"gateway:{channel}", events=events)


# --- the sweep ----------------------------------------------------------------------------------------


def _visit_title(entry: Entry) -> tuple[str, str]:
    unit = entry.household.unit
    place = f"{unit.building.name} {unit.number}"
    return f"敲门确认平安：{place}", f"Door-knock, are they safe: {place}"


def _send_visit(entry: Entry, now: dt.datetime) -> bool:
    """A door-knocking visit for an entry (locked, in the caller's transaction): the incident dispatched
    on foot and the emergency's task."""
    with translation.override(settings.LANGUAGE_CODE):
        description = _(
            "Roll call: no answer from this household; knock on the door and see that they are safe."
        )
    try:
        incident = open_incident(
            actor=None,
            category=CATEGORY,
            source=Source.STAFF,
            description=description,
            unit=entry.household.unit,
        )
    except InvalidInput as exc:
        logger.warning("roll-call entry %s opens no visit: %s", entry.pk, exc.message)
        return False
    title_zh, title_en = _visit_title(entry)
    task = Task.objects.create(
        emergency_id=entry.roll_call.emergency_id,
        kind=TaskKind.DOOR_KNOCK,
        title_zh=title_zh[:200],
        title_en=title_en[:200],
        key=f"roll_call:{entry.pk}",
        assignee_id=incident.assignee_id,
        due_at=incident.arrive_due,
        incident=incident,
        created_at=now,
    )
    entry.status, entry.visit_sent_at, entry.incident, entry.task = EntryStatus.VISITING, now, incident, task
    entry.save(update_fields=["status", "visit_sent_at", "incident", "task"])
    record(
        actor="system",
        events=[
            Event(
                AuditAction.ROLL_CALL_VISIT,
                "household",
                entry.household_id,
                details={
                    "entry": entry.pk,
                    "incident": incident.pk,
                    "task": task.pk,
                    "vulnerable": entry.vulnerable,
                },
            )
        ],
    )
    return True


# Door-knocking visits written in one transaction (one commit, not one a visit): the round after the wait
# sends hundreds at once in a large community.
VISITS_PER_COMMIT = 50


def follow_up_roll_calls(now: dt.datetime | None = None, *, limit: int = 500) -> dict[str, int]:
    """One round of the worker: roll calls of emergencies no longer active are closed; households still
    waiting past the wait (vulnerable households nobody could ask at once, the others nobody could ask
    after the vulnerable households' wait) get a door-knocking visit, vulnerable ones first (and the
    others of a roll call only while none of its vulnerable households' visits waits for someone
    free); households whose visit's incident was resolved are accounted for and their task done.
    Safe to run again and in several workers (each entry is locked and re-checked)."""
    now = now or clock.now()
    counts = {"closed": 0, "visits": 0, "accounted": 0}
    counts["closed"] = (
        RollCall.objects.filter(closed_at__isnull=True)
        .exclude(emergency__status=EmergencyStatus.ACTIVE)
        .update(closed_at=now)
    )
    due = []
    for entry in (
        _open_entries()
        .filter(status=EntryStatus.WAITING)
        .select_related("roll_call")
        .order_by("-vulnerable", "asked_at", "pk")[: limit * 4]
    ):
        roll_call = entry.roll_call
        if entry.channel == AskChannel.NONE:
            # Nobody could be asked: a vulnerable household at once; the others once the vulnerable
            # households' wait is over, so that they do not take the people on foot first.
            minutes = 0 if entry.vulnerable else roll_call.vulnerable_wait_minutes
        else:
            minutes = roll_call.vulnerable_wait_minutes if entry.vulnerable else roll_call.wait_minutes
        if entry.asked_at + dt.timedelta(minutes=minutes) <= now:
            due.append(entry.pk)
        if len(due) >= limit:
            break
    # Vulnerable first on the ground too: while a vulnerable household's visit waits for someone free,
    # the other households of that roll call are not given visits that would take the next free person.
    blocked = set(
        _open_entries()
        .filter(
            status=EntryStatus.VISITING,
            vulnerable=True,
            incident__status=Status.NEW.value,
            incident__assignee__isnull=True,
        )
        .values_list("roll_call_id", flat=True)
    )
    standing = {
        pk: (vulnerable, roll_call)
        for pk, vulnerable, roll_call in Entry.objects.filter(pk__in=due).values_list(
            "pk", "vulnerable", "roll_call_id"
        )
    }
    for start in range(0, len(due), VISITS_PER_COMMIT):
        with transaction.atomic():
            for pk in due[start : start + VISITS_PER_COMMIT]:
                vulnerable, roll_call_id = standing.get(pk, (True, None))
                if not vulnerable and roll_call_id in blocked:
                    continue  # it waits (as below): not locked and read only to be skipped
                waiting = (
                    Entry.objects.select_for_update()
                    .filter(pk=pk, status=EntryStatus.WAITING)
                    .select_related("roll_call", "household__unit__building")
                    .first()
                )
                if waiting is None or (not waiting.vulnerable and waiting.roll_call_id in blocked):
                    continue
                if _send_visit(waiting, now):
                    counts["visits"] += 1
                    if waiting.vulnerable and waiting.incident and waiting.incident.assignee_id is None:
                        blocked.add(waiting.roll_call_id)
    seen = list(
        _open_entries()
        .filter(status=EntryStatus.VISITING, incident__status__in=[s.value for s in RESOLVED])
        .values_list("pk", flat=True)[:limit]
    )
    accounted: list[Event] = []
    with transaction.atomic():  # the round's visited households: one commit, one audit record
        for pk in seen:
            visited = Entry.objects.select_for_update().filter(pk=pk, status=EntryStatus.VISITING).first()
            if visited is None:
                continue
            visited.status, visited.answered_via = EntryStatus.ACCOUNTED, AnswerChannel.VISIT
            visited.accounted_at = visited.accounted_at or now
            visited.save(update_fields=["status", "answered_via", "accounted_at"])
            if visited.task_id:
                Task.objects.filter(pk=visited.task_id, status=TaskStatus.OPEN).update(
                    status=TaskStatus.DONE, done_at=now
                )
            accounted.append(
                Event(
                    AuditAction.ROLL_CALL_ACCOUNTED,
                    "household",
                    visited.household_id,
                    details={"entry": visited.pk, "incident": visited.incident_id},
                )
            )
        record(actor="system", events=accounted)
    counts["accounted"] = len(accounted)
    # A household that asked for help while its knock was on the way: the visit was the help, and its
    # task is done when the visit is.
    Task.objects.filter(
        kind=TaskKind.DOOR_KNOCK,
        status=TaskStatus.OPEN,
        emergency__status=EmergencyStatus.ACTIVE,
        incident__status__in=[s.value for s in RESOLVED],
    ).update(status=TaskStatus.DONE, done_at=now)
    return counts


# --- purge -------------------------------------------------------------------------------------------


def purge_emergency(emergency: Emergency) -> dict[str, int]:
    """Forget whom the emergency's roll calls asked once its retention has run out: every entry's
    household, resident, account asked, phone's blind index, answer, note, message and links are
    deleted with the entry. The roll calls themselves stay (when, how long the wait); the after-action
    review keeps its counts from before. The caller (the emergency's purge) audits it; returns how many."""
    entries = Entry.objects.filter(roll_call__emergency=emergency)
    _deleted, by_model = entries.delete()
    return {"roll_call_entries": by_model.get(Entry._meta.label, 0)}


# --- figures ------------------------------------------------------------------------------------------


@dataclass
class Counts:
    asked: int = 0
    safe: int = 0
    need_help: int = 0
    waiting: int = 0
    visiting: int = 0
    accounted: int = 0  # by a visit
    vulnerable: int = 0
    vulnerable_accounted: int = 0

    @property
    def accounted_for(self) -> int:
        """Safe, needs help or seen by a visit: the community knows how they are."""
        return self.safe + self.need_help + self.accounted

    @property
    def unaccounted(self) -> int:
        return self.waiting + self.visiting

    @property
    def vulnerable_share(self) -> float | None:
        """The share of vulnerable households accounted for (None when there are none)."""
        return self.vulnerable_accounted / self.vulnerable if self.vulnerable else None

    @property
    def vulnerable_percent(self) -> int | None:
        share = self.vulnerable_share
        return None if share is None else int(share * 100)


def counts(roll_call: RollCall) -> Counts:
    """The live counts of a roll call, in one query."""
    accounted = Q(status__in=ACCOUNTED_STATUSES)
    figures = Entry.objects.filter(roll_call=roll_call).aggregate(
        n_asked=Count("pk"),
        n_safe=Count("pk", filter=Q(status=EntryStatus.SAFE)),
        n_need_help=Count("pk", filter=Q(status=EntryStatus.NEED_HELP)),
        n_waiting=Count("pk", filter=Q(status=EntryStatus.WAITING)),
        n_visiting=Count("pk", filter=Q(status=EntryStatus.VISITING)),
        n_accounted=Count("pk", filter=Q(status=EntryStatus.ACCOUNTED)),
        n_vulnerable=Count("pk", filter=Q(vulnerable=True)),
        n_vulnerable_accounted=Count("pk", filter=Q(vulnerable=True) & accounted),
    )
    return Counts(**{key.removeprefix("n_"): value for key, value in figures.items()})


def accounted_curve(roll_call: RollCall) -> list[tuple[float, float]]:
    """``[(minutes since the start, share of vulnerable households accounted for)]``: (0, share at the
    start) and one point each time the share rose; [] when the area has no vulnerable household."""
    moments = list(
        Entry.objects.filter(roll_call=roll_call, vulnerable=True)
        .values_list("accounted_at", flat=True)
        .order_by("accounted_at")
    )
    total = len(moments)
    if not total:
        return []
    points: list[tuple[float, float]] = [(0.0, 0.0)]
    done = 0
    for moment in sorted(m for m in moments if m is not None):
        done += 1
        minutes = round(max((moment - roll_call.started_at).total_seconds(), 0.0) / 60, 2)
        if points[-1][0] == minutes:
            points[-1] = (minutes, done / total)
        else:
            points.append((minutes, done / total))
    return points


@dataclass
class Row:
    """A household still unaccounted for, as the board shows it (``name`` masked when the viewer may not
    see the person)."""

    entry: Entry
    name: str
    building: str
    unit: str

    @property
    def incident(self):
        return self.entry.incident


@dataclass
class Board:
    roll_call: RollCall | None
    counts: Counts = field(default_factory=Counts)
    unaccounted: list[Row] = field(default_factory=list)
    may_start: bool = False
    may_mark: bool = False


UNACCOUNTED_SHOWN = 200


def board(user: Actor, emergency: Emergency) -> Board:
    """What the emergency's board shows of its roll call (the open one, else the last) to ``user``."""
    roll_call = open_roll_call(emergency) or latest_roll_call(emergency)
    result = Board(
        roll_call=roll_call,
        may_start=may_start(user)
        and emergency.status == EmergencyStatus.ACTIVE
        and (roll_call is None or roll_call.closed_at is not None),
        may_mark=may_mark(user) and roll_call is not None and roll_call.closed_at is None,
    )
    if roll_call is None:
        return result
    result.counts = counts(roll_call)
    entries = list(
        Entry.objects.filter(roll_call=roll_call, status__in=UNACCOUNTED_STATUSES)
        .select_related("resident", "household__unit__building", "incident__assignee")
        .order_by("-vulnerable", "status", "asked_at", "pk")[:UNACCOUNTED_SHOWN]
    )
    visible = may_see_names(user, [e.resident_id for e in entries if e.resident_id])
    for entry in entries:
        name = entry.resident.name if entry.resident is not None else ""
        if entry.resident_id not in visible:
            name = vault.mask_name(name)
        unit = entry.household.unit
        result.unaccounted.append(Row(entry, name, unit.building.name, unit.number))
    return result
