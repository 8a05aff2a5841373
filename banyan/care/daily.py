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
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.care.choices import Channel, Outcome
from banyan.care.models import CarePlan, CheckIn, CheckInRequest
from banyan.core import clock, vault
from banyan.notify.inbound import InboundAnswer, InboundMessage
from banyan.notify.models import Preference
from banyan.notify.services import Contact, notify
from banyan.people.models import Resident, User
from banyan.people.validators import normalise_phone
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


def send_daily_checkins(*, now: dt.datetime | None = None) -> int:
    """Send today's check-in message of every active plan that is due and not yet asked; returns how
    many were sent. Safe to run in several workers: a plan asked twice the same day rolls back."""
    now = now or clock.now()
    day_start = _day_start(now)
    day = day_start.date()
    asked = CheckInRequest.objects.filter(day=day).values("plan_id")
    plans = []
    for plan in (
        CarePlan.objects.filter(is_active=True)
        .exclude(pk__in=asked)
        .select_related("resident", "checker_user", "checker_carer__user")
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
        plan=plan,
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


def _resident_language(resident_id: int) -> str:
    language = (
        Preference.objects.filter(user__resident_id=resident_id, user__is_active=True)
        .exclude(language="")
        .values_list("language", flat=True)
        .first()
    )
    return language or ""


def handle_inbound(message: InboundMessage) -> InboundAnswer:
    """Notify's handler for replies and key presses (see the module's docstring)."""
    phone = normalise_phone(message.phone)
    residents = list(
        Resident.objects.filter(phone_index=vault.blind_index("phone", phone)).values_list("pk", flat=True)
    )
    if not residents:
        return _answer(
            "unknown_number",
            gettext_lazy("This number is not registered for daily check-ins. Please call your community."),
            "",
        )
    now = clock.now()
    # The resident with the request asked first whose window is open; an unanswered one before one
    # already answered (two residents sharing a phone answer one after the other).
    open_requests = CheckInRequest.objects.filter(
        resident_id__in=residents, sent_at__lte=now, expires_at__gt=now
    ).order_by("answered_at", "sent_at", "id")
    request = open_requests.first() if message.text in KEYWORDS else None
    language = _resident_language(request.resident_id if request else residents[0])
    outcome = KEYWORDS.get(message.text)
    if outcome is None:
        hint = TEXTS[Channel.VOICE] if message.channel == Channel.VOICE else TEXTS[Channel.SMS]
        return _answer("unknown_keyword", _keyword_reply(hint, language), language)
    if request is None:
        return _answer(
            "too_late",
            gettext_lazy(
                "No check-in is waiting for your answer now (the time to answer has passed). "
                "If you need help, call your community or 110/120."
            ),
            language,
        )
    _record(request, message.channel, outcome, now)
    if outcome == Outcome.NEED_HELP:
        reply = gettext_lazy("Thank you. Help is on the way: someone from your community will come.")
    else:
        reply = gettext_lazy("Thank you. We have noted that you are fine today.")
    return _answer("recorded", reply, language)


def _keyword_reply(hint, language: str) -> str:
    with translation.override(language or settings.LANGUAGE_CODE):
        return _("We did not understand your answer. %(hint)s") % {"hint": str(hint)}


@transaction.atomic
def _record(request: CheckInRequest, channel: str, outcome: str, now: dt.datetime) -> CheckIn:
    checkin = CheckIn.objects.create(
        resident_id=request.resident_id, at=now, channel=channel, outcome=outcome, by=None
    )
    details: dict = {"outcome": outcome, "channel": channel, "request": request.pk}
    if outcome == Outcome.NEED_HELP:
        resident = Resident.objects.select_related("household__unit").get(pk=request.resident_id)
        with translation.override(settings.LANGUAGE_CODE):
            description = _("Check-in: needs help (%(channel)s).") % {"channel": Channel(channel).label}
        checkin.incident = open_incident(
            actor=None,
            category=NEED_HELP_CATEGORY,
            source=Source.REPORT,
            description=description,
            unit=resident.household.unit,
        )
        checkin.save(update_fields=["incident"])
        details["incident"] = checkin.incident.pk
    CheckInRequest.objects.filter(pk=request.pk, answered_at__isnull=True).update(
        answered_at=now, checkin=checkin
    )
    record(
        actor=f"gateway:{channel}",
        events=[Event(AuditAction.CHECK_IN_RECORD, "resident", request.resident_id, details=details)],
    )
    return checkin
