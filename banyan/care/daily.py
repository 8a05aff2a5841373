"""The daily check-in message, and the replies to it that come in by SMS or a key press.

* :func:`send_daily_checkins` (the worker runs it every round, on :mod:`banyan.core.clock` time): each
  active plan whose check-in time has come today, and whose window (the grace period) is still open, is
  sent its check-in message once — on its first channel that can reach the resident: an SMS or a call
  to the resident's phone, a notification in the app to their account, or one to the carer's account
  (asking them to check in). Each is recorded as a :class:`~banyan.care.models.CheckInRequest` with its
  window; a second run the same day sends nothing again (one request per plan, day and channel, held by
  the database).
* :func:`handle_inbound` is notify's handler for ``POST /api/v1/notify/inbound``: the sender's phone is
  matched through the vault's blind index to residents, and to the one with a request whose window is
  open; "1" records a check-in "fine", "2" "need help" (which opens a wellness-check incident at once),
  on channel sms or voice, by no account (the gateway). Unknown numbers, unknown keywords and replies
  after the window get a clear answer in the resident's language and are never acted on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.care.choices import Channel, FollowUpReason, FollowUpStatus, Outcome
from banyan.care.models import CarePlan, CheckIn, CheckInRequest, FollowUp
from banyan.core import clock, vault
from banyan.notify.inbound import InboundAnswer, InboundMessage
from banyan.notify.models import Preference
from banyan.notify.services import Contact, notify
from banyan.people.models import Resident, User
from banyan.people.validators import normalise_phone
from banyan.places.models import Unit
from banyan.response.models import Source
from banyan.response.services import open_incident

KIND = "care.checkin_request"
NEED_HELP_CATEGORY = "wellness_check"
# The keys of a reply: "1" fine, "2" need help (full-width digits too: a Chinese phone's keyboard).
KEYWORDS = {"1": Outcome.FINE, "１": Outcome.FINE, "2": Outcome.NEED_HELP, "２": Outcome.NEED_HELP}

SUBJECT = gettext_lazy("Daily check-in")
TEXTS: dict[str, Any] = {
    Channel.SMS: gettext_lazy("Good morning. Reply 1 if you are fine, 2 if you need help."),
    Channel.VOICE: gettext_lazy("Good morning. Press 1 if you are fine, 2 if you need help."),
    Channel.APP: gettext_lazy('Good morning. Tap "I\'m fine" on your home page, or call for help.'),
    Channel.CARER: gettext_lazy("Please check on %(name)s today and record how they are."),
}


def _day_start(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def _due(plan: CarePlan, day_start: dt.datetime) -> dt.datetime:
    return day_start.replace(hour=plan.checkin_time.hour, minute=plan.checkin_time.minute)


def _languages(resident_ids: Sequence[int]) -> tuple[dict[int, str], dict[int, User]]:
    """The language of each resident's account (their notification preference) and the account."""
    accounts: dict[int, User] = {}
    for user in User.objects.filter(resident_id__in=resident_ids, is_active=True).order_by("id"):
        if user.resident_id is not None:
            accounts.setdefault(user.resident_id, user)
    by_user = dict(
        Preference.objects.filter(user__in=[u.pk for u in accounts.values()])
        .exclude(language="")
        .values_list("user_id", "language")
    )
    languages = {rid: by_user[user.pk] for rid, user in accounts.items() if user.pk in by_user}
    return languages, accounts


def _recipient(plan: CarePlan, channel: str, account: User | None, language: str):
    """Whom the message on ``channel`` goes to, or None if the plan's resident cannot be reached on it."""
    resident = plan.resident
    if channel in (Channel.SMS, Channel.VOICE):
        return Contact(phone=resident.phone, language=language) if resident.phone else None
    if channel == Channel.APP:
        return account
    if channel == Channel.CARER:
        carer_user = plan.checker_user or (plan.checker_carer.user if plan.checker_carer else None)
        return carer_user if carer_user is not None and carer_user.is_active else None
    return None


PLAN_FIELDS = (
    "id",
    "resident_id",
    "is_active",
    "channels",
    "checkin_time",
    "grace_minutes",
    "checker_user_id",
    "checker_carer_id",
)


def send_daily_checkins(*, now: dt.datetime | None = None) -> int:
    """Send today's check-in message of every active plan that is due and not yet asked; returns how
    many were sent. Safe to run in several workers: a plan asked twice the same day rolls back."""
    now = now or clock.now()
    day_start = _day_start(now)
    day = day_start.date()
    asked = CheckInRequest.objects.filter(day=day).values("plan_id")
    plans = []
    for plan in (
        CarePlan.objects.filter(
            is_active=True, daily_checkin=True, checkin_time__lte=timezone.localtime(now).time()
        )
        .exclude(pk__in=asked)
        .select_related("resident")
        .only(*PLAN_FIELDS, "resident__name", "resident__phone")  # no more to decrypt than the phone
    ):
        due = _due(plan, day_start)
        if due <= now < due + dt.timedelta(minutes=plan.grace_minutes):
            plans.append((plan, due))
    if not plans:
        return 0
    languages, accounts = _languages([plan.resident_id for plan, _due_at in plans])
    contacts: dict[str, list[tuple[CarePlan, dt.datetime, Contact]]] = {Channel.SMS: [], Channel.VOICE: []}
    requests: list[CheckInRequest] = []
    try:
        with transaction.atomic():
            for plan, due in plans:
                language = languages.get(plan.resident_id, "")
                for channel in plan.channels:
                    recipient = _recipient(plan, channel, accounts.get(plan.resident_id), language)
                    if recipient is None:
                        continue
                    if isinstance(recipient, Contact):
                        contacts[channel].append((plan, due, recipient))
                    else:
                        (message,) = notify(
                            [recipient],
                            KIND,
                            SUBJECT,
                            TEXTS[channel],
                            params={"name": plan.resident.name} if channel == Channel.CARER else None,
                            channels=["in_app"],
                            reference=("resident", plan.resident_id),
                        )
                        requests.append(_request(plan, channel, due, now, message.pk))
                    break
            for channel, items in contacts.items():
                if not items:
                    continue
                messages = notify(
                    [contact for _plan, _due_at, contact in items],
                    KIND,
                    SUBJECT,
                    TEXTS[channel],
                    channels=[channel],
                    reference=("care", "checkin"),
                )
                for (plan, due, _contact), message in zip(items, messages, strict=True):
                    requests.append(_request(plan, channel, due, now, message.pk))
            CheckInRequest.objects.bulk_create(requests)
    except IntegrityError:  # another worker asked the same plans first
        return 0
    return len(requests)


def _request(plan: CarePlan, channel: str, due: dt.datetime, now: dt.datetime, message_id) -> CheckInRequest:
    return CheckInRequest(
        plan_id=plan.pk,
        resident_id=plan.resident_id,
        day=due.date(),
        channel=channel,
        sent_at=now,
        expires_at=max(due, now) + dt.timedelta(minutes=plan.grace_minutes),
        message_id=message_id,
    )


# --- replies ----------------------------------------------------------------------------------------


def _answer(status: str, reply, language: str) -> InboundAnswer:
    language = language or settings.LANGUAGE_CODE
    with translation.override(language):
        return InboundAnswer(status, str(reply), language)


def _languages_of(resident_ids) -> dict[int, str]:
    """The language of each resident's account (their notification preference), where they set one."""
    return dict(
        Preference.objects.filter(user__resident_id__in=resident_ids, user__is_active=True)
        .exclude(language="")
        .values_list("user__resident_id", "language")
    )


UNKNOWN_NUMBER = gettext_lazy(
    "This number is not registered for daily check-ins. Please call your community."
)
TOO_LATE = gettext_lazy(
    "No check-in is waiting for your answer now (the time to answer has passed). "
    "If you need help, call your community or 110/120."
)
THANKS_FINE = gettext_lazy("Thank you. We have noted that you are fine today.")
THANKS_HELP = gettext_lazy("Thank you. Help is on the way: someone from your community will come.")


def handle_inbound(messages: list[InboundMessage]) -> list[InboundAnswer]:
    """Notify's handler for replies and key presses (see the module's docstring), several at a time: the
    residents, their open requests and languages are looked up once for all, and the check-ins written
    in one transaction with one audit entry each."""
    now = clock.now()
    indexes = [vault.blind_index("phone", normalise_phone(message.phone)) for message in messages]
    by_index: dict[str, list[int]] = {}
    for pk, index in Resident.objects.filter(phone_index__in=set(indexes)).values_list("pk", "phone_index"):
        by_index.setdefault(index, []).append(pk)
    known = [pk for pks in by_index.values() for pk in pks]
    # Each resident's request asked first whose window is open; an unanswered one before one already
    # answered (two residents sharing a phone answer one after the other).
    # A missed check-in being followed up (retried on the next channels, or someone on the way) keeps
    # the day's request open: the retry's SMS or call is answered the same way.
    followed = set(
        FollowUp.objects.filter(
            resident_id__in=known,
            reason__in=[FollowUpReason.MISSED, FollowUpReason.REQUESTED],
            status__in=[FollowUpStatus.RETRYING, FollowUpStatus.VISITING],
            ended_at__isnull=True,
        ).values_list("resident_id", "day")
    )
    open_requests: dict[int, list[CheckInRequest]] = {}
    for item in (
        CheckInRequest.objects.filter(resident_id__in=known, sent_at__lte=now)
        .filter(Q(expires_at__gt=now) | Q(day__in={day for _resident, day in followed}))
        .order_by(F("answered_at").asc(nulls_first=True), "sent_at", "id")
    ):
        if item.expires_at > now or (item.resident_id, item.day) in followed:
            open_requests.setdefault(item.resident_id, []).append(item)
    languages = _languages_of(known)
    answers: list[InboundAnswer] = []
    to_record: list[tuple[CheckInRequest, str, str]] = []
    taken: set[int] = set()
    for message, index in zip(messages, indexes, strict=True):
        residents = by_index.get(index, [])
        if not residents:
            answers.append(_answer("unknown_number", UNKNOWN_NUMBER, ""))
            continue
        candidates = [r for pk in residents for r in open_requests.get(pk, [])]
        candidates.sort(key=lambda r: (r.answered_at is not None or r.pk in taken, r.sent_at, r.pk))
        request = candidates[0] if candidates else None
        language = languages.get(request.resident_id if request else residents[0], "")
        outcome = KEYWORDS.get(message.text)
        if outcome is None:
            hint = TEXTS[Channel.VOICE] if message.channel == Channel.VOICE else TEXTS[Channel.SMS]
            answers.append(_answer("unknown_keyword", _keyword_reply(hint, language), language))
        elif request is None:
            answers.append(_answer("too_late", TOO_LATE, language))
        else:
            taken.add(request.pk)
            to_record.append((request, message.channel, outcome))
            thanks = THANKS_HELP if outcome == Outcome.NEED_HELP else THANKS_FINE
            answers.append(_answer("recorded", thanks, language))
    if to_record:
        _record(to_record, now)
    return answers


def _keyword_reply(hint, language: str) -> str:
    with translation.override(language or settings.LANGUAGE_CODE):
        return _("We did not understand your answer. %(hint)s") % {"hint": str(hint)}


@transaction.atomic
def _record(replies: list[tuple[CheckInRequest, str, str]], now: dt.datetime) -> list[CheckIn]:
    """Write the check-ins of ``replies`` (request, channel, outcome); "need help" opens an incident."""
    helped = {request.resident_id for request, _channel, outcome in replies if outcome == Outcome.NEED_HELP}
    units = dict(Resident.objects.filter(pk__in=helped).values_list("pk", "household__unit"))
    checkins = []
    for request, channel, outcome in replies:
        checkin = CheckIn(resident_id=request.resident_id, at=now, channel=channel, outcome=outcome, by=None)
        if outcome == Outcome.NEED_HELP:
            unit_id = units.get(request.resident_id)
            with translation.override(settings.LANGUAGE_CODE):
                description = _("Check-in: needs help (%(channel)s).") % {"channel": Channel(channel).label}
            checkin.incident = open_incident(
                actor=None,
                category=NEED_HELP_CATEGORY,
                source=Source.REPORT,
                description=description,
                unit=Unit.objects.filter(pk=unit_id).first() if unit_id else None,
            )
        checkins.append(checkin)
    CheckIn.objects.bulk_create(checkins)
    answered = []
    events = []
    for (request, channel, outcome), checkin in zip(replies, checkins, strict=True):
        if request.answered_at is None:
            request.answered_at, request.checkin = now, checkin
            answered.append(request)
        details: dict = {"outcome": outcome, "channel": channel, "request": request.pk}
        if checkin.incident is not None:
            details["incident"] = checkin.incident.pk
        events.append(Event(AuditAction.CHECK_IN_RECORD, "resident", request.resident_id, details=details))
    CheckInRequest.objects.bulk_update(answered, ["answered_at", "checkin"], batch_size=500)
    # One chain append per channel for the lot (each check-in its own entry), by that gateway.
    by_channel: dict[str, list[Event]] = {}
    for (_request, channel, _outcome), event in zip(replies, events, strict=True):
        by_channel.setdefault(channel, []).append(event)
    for channel, channel_events in by_channel.items():
        record(actor=f"gateway:{channel}", events=channel_events)
    return checkins
