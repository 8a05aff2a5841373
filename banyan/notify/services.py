"""Notifications: the one interface every app uses to tell people something.

The interface (stable; ``response`` calls it for assignments, escalations and report status)::

    from banyan.notify.services import Contact, notify

    messages = notify(
        [grid_worker, Contact(phone="13900000000", language="zh-hans")],  # users and/or contacts
        "incident.assigned",                      # kind: what happened, dotted
        _("Incident %(number)s is yours"),        # subject and body: gettext_lazy (or plain) text,
        _("%(category)s at %(place)s."),          #   rendered per recipient in their language,
        params={"number": "I-42", "category": _("Flooding"), "place": "3幢"},  # then %-formatted
        reference=("incident", 42),               # what it is about (subject_type, subject_id)
        urgency="urgent",                         # "normal" | "urgent"
        channels=None,                            # None: the recipient's preferences, else defaults
    )

* ``notify`` writes one :class:`~banyan.notify.models.Message` per recipient and one
  :class:`~banyan.notify.models.Delivery` per channel in the caller's transaction; after it commits,
  the in-app deliveries are published on the bus (``notify.message``), and ``send_pending`` — run
  by ``banyan notify send-pending --loop`` (the worker) — sends the rest. Nothing is sent for a
  transaction that rolls back.
* Channels: the ones named by ``channels``; else the user's preference for that urgency; else
  ``DEFAULT_CHANNELS`` (normal → in-app + email; urgent → in-app + SMS + voice). Default channels the
  recipient has no address for are left out; channels asked for by name (by the caller or the
  preference) without an address are recorded as failed ("no address on file"). Contacts without
  an account get no in-app delivery; one with no address for any wanted channel gets whichever it has.
* Addresses: a user's email is ``User.email``; their phone that of their ``Preference``, else of the
  resident the account belongs to. A contact's phone and email are stored encrypted on the message.
* ``acknowledge(message, user)`` records that the recipient has seen it (idempotent; deliveries
  still queued are cancelled) and publishes ``notify.acknowledged`` after commit with the message's
  ``kind``, ``subject_type`` and ``subject_id``, so that escalation can stop.
* ``record_receipt(provider_message_id, status)`` takes a gateway's delivery receipt.
* ``send_pending()`` sends what is due, retrying failures with exponential backoff
  (``BANYAN_NOTIFY["RETRY_BASE_S"]`` doubling up to ``RETRY_MAX_S``) and marking a delivery failed
  after ``MAX_ATTEMPTS`` attempts, or at once when the channel says it never will succeed.

Personal data: phones and email addresses never appear in logs, errors, ``Delivery.last_error`` or
bus events; logs name deliveries by id.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import translation
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, NotFound
from banyan.core.events import EventName, NotifyAcknowledgedPayload, NotifyMessagePayload, publish_on_commit
from banyan.notify.channels import DeliveryError, Outgoing, adapter_for
from banyan.notify.choices import DEFAULT_CHANNELS, Channel, DeliveryStatus, Urgency
from banyan.notify.models import Delivery, Message, Preference

if TYPE_CHECKING:
    from banyan.people.models import Actor, User

logger = logging.getLogger(__name__)

PHONE = re.compile(r"^\+?[0-9]{5,20}$")
LEASE = dt.timedelta(minutes=2)  # a claimed delivery is retried after this if its sender died
PHONE_INDEX = "notify_phone"
EMAIL_INDEX = "notify_email"


@dataclass(frozen=True)
class Contact:
    """Someone without an account (a reporter over Open311): a phone and/or an email address."""

    phone: str = ""
    email: str = ""
    language: str = ""

    def __repr__(self) -> str:  # never print the address
        return f"Contact(phone={'…' if self.phone else ''!r}, email={'…' if self.email else ''!r})"


@dataclass
class SendCounts:
    sent: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.delivered + self.retrying + self.failed + self.cancelled


def _config() -> dict[str, Any]:
    return settings.BANYAN_NOTIFY


# --- access --------------------------------------------------------------------------------------


def get_message_for(user: Actor, pk) -> Message:
    """The user's own message; anyone else's answers the same 404 as a missing one."""
    message = Message.objects.restrict(user).prefetch_related("deliveries").filter(pk=pk).first()
    if message is None:
        raise NotFound(_("Notification not found."))
    return message


# --- creating messages -----------------------------------------------------------------------------


def normalise_phone(phone: str) -> str:
    value = re.sub(r"[\s()-]", "", phone or "")
    if value and not PHONE.match(value):
        raise InvalidInput(_("A phone number is 5 to 20 digits, with an optional leading +."), field="phone")
    return value


def _normalise_email(email: str) -> str:
    value = (email or "").strip()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise InvalidInput(_("This is not a valid email address."), field="email") from None
    return value.lower()


def _supported_language(code: str) -> str:
    codes = [language for language, _name in settings.LANGUAGES]
    code = (code or "").lower()
    if code in codes:
        return code
    for candidate in codes:
        if code and candidate.split("-")[0] == code.split("-")[0]:
            return candidate
    return settings.LANGUAGE_CODE


def _preferences(users: Sequence) -> dict[int, Preference]:
    return {p.user_id: p for p in Preference.objects.filter(user__in=[u.pk for u in users])}


def _user_phone(user: User, preference: Preference | None) -> str:
    if preference is not None and preference.phone:
        return preference.phone
    resident = getattr(user, "resident", None) if user.resident_id else None
    return (resident.phone or "") if resident is not None else ""


def _available(recipient, preference: Preference | None) -> dict[str, str]:
    """The channels ``recipient`` can be reached on, with the address for each."""
    if isinstance(recipient, Contact):
        addresses = {
            Channel.EMAIL: recipient.email,
            Channel.SMS: recipient.phone,
            Channel.VOICE: recipient.phone,
        }
    else:
        phone = _user_phone(recipient, preference)
        addresses = {
            Channel.IN_APP: str(recipient.pk),
            Channel.EMAIL: recipient.email,
            Channel.SMS: phone,
            Channel.VOICE: phone,
        }
    return {channel: address for channel, address in addresses.items() if address}


def _clean_channels(channels: Iterable[str]) -> list[str]:
    result: list[str] = []
    for channel in channels:
        if channel not in Channel.values:
            raise ValueError(f"unknown notification channel {channel!r}")
        if channel not in result:
            result.append(channel)
    return result


def resolve_channels(recipient, urgency: str, channels=None, preference: Preference | None = None):
    """``(channels to send on, channels asked for by name that have no address)`` for one recipient."""
    available = _available(recipient, preference)
    named = True
    if channels is not None:
        wanted = _clean_channels(channels)
    else:
        stored = []
        if preference is not None:
            stored = preference.urgent_channels if urgency == Urgency.URGENT else preference.normal_channels
        named = bool(stored)
        wanted = _clean_channels(stored or DEFAULT_CHANNELS[urgency])
    if isinstance(recipient, Contact):
        wanted = [channel for channel in wanted if channel != Channel.IN_APP]
        usable = [channel for channel in wanted if channel in available]
        if not usable:  # a contact always hears something on what they gave us
            usable = [c for c in (Channel.SMS, Channel.EMAIL) if c in available]
        return usable, []
    usable = [channel for channel in wanted if channel in available]
    missing = [channel for channel in wanted if channel not in available] if named else []
    return usable, missing


def _render(template, params: dict[str, Any] | None) -> str:
    text = str(template)
    if params:
        text = text % {key: str(value) for key, value in params.items()}
    return text


def notify(
    recipients: Iterable,
    kind: str,
    subject,
    body,
    *,
    channels: Sequence[str] | None = None,
    reference: tuple[str, Any] | None = None,
    urgency: str = Urgency.NORMAL,
    params: dict[str, Any] | None = None,
) -> list[Message]:
    """Tell each recipient (a user or a :class:`Contact`) ``subject`` and ``body`` on their channels.

    Rows are written in the caller's transaction (or a new one); sending starts after it commits.
    Returns the messages, one per distinct recipient, in the order given.
    """
    if urgency not in Urgency.values:
        raise ValueError(f"unknown urgency {urgency!r}")
    if not kind or len(kind) > 64:
        raise ValueError("a notification kind is 1 to 64 characters")
    subject_type, subject_id = ("", "") if reference is None else (str(reference[0]), str(reference[1]))
    people: list = []
    seen: set[int] = set()
    for recipient in recipients:
        if isinstance(recipient, Contact):
            recipient = Contact(
                phone=normalise_phone(recipient.phone),
                email=_normalise_email(recipient.email),
                language=recipient.language,
            )
            if not recipient.phone and not recipient.email:
                raise InvalidInput(_("A contact needs a phone number or an email address."), field="contact")
        elif recipient.pk in seen:
            continue
        else:
            seen.add(recipient.pk)
        people.append(recipient)
    preferences = _preferences([p for p in people if not isinstance(p, Contact)])
    now = clock.now()
    messages: list[Message] = []
    rendered: dict[str, tuple[str, str]] = {}
    with transaction.atomic():
        deliveries: list[Delivery] = []
        for recipient in people:
            preference = None if isinstance(recipient, Contact) else preferences.get(recipient.pk)
            language = _supported_language(
                recipient.language if isinstance(recipient, Contact) else getattr(preference, "language", "")
            )
            if language not in rendered:  # the same text for everyone reading this language
                with translation.override(language):
                    rendered[language] = (_render(subject, params)[:200], _render(body, params))
            subject_text, body_text = rendered[language]
            message = Message(
                language=language,
                kind=kind,
                subject=subject_text,
                body=body_text,
                subject_type=subject_type,
                subject_id=subject_id,
                urgency=urgency,
                created_at=now,
            )
            if isinstance(recipient, Contact):
                message.recipient_phone = recipient.phone
                message.recipient_phone_index = (
                    vault.blind_index(PHONE_INDEX, recipient.phone) if recipient.phone else ""
                )
                message.recipient_email = recipient.email
                message.recipient_email_index = (
                    vault.blind_index(EMAIL_INDEX, recipient.email) if recipient.email else ""
                )
            else:
                message.recipient = recipient
            messages.append(message)
            usable, missing = resolve_channels(recipient, urgency, channels, preference)
            for channel in usable:
                deliveries.append(
                    Delivery(message=message, channel=channel, queued_at=now, next_attempt_at=now)
                )
            for channel in missing:
                deliveries.append(
                    Delivery(
                        message=message,
                        channel=channel,
                        queued_at=now,
                        status=DeliveryStatus.FAILED,
                        last_error=_no_address(channel),
                    )
                )
        # Written together (thousands at once for the daily check-in); each delivery then takes its
        # message's id.
        Message.objects.bulk_create(messages, batch_size=500)
        Delivery.objects.bulk_create(deliveries, batch_size=1000)
        in_app = [
            (d.pk, now)
            for d in deliveries
            if d.channel == Channel.IN_APP and d.status == DeliveryStatus.QUEUED
        ]
        if in_app:
            transaction.on_commit(lambda: _send_claimed(in_app), robust=True)
    return messages


def _no_address(channel: str) -> str:
    return "no email address on file" if channel == Channel.EMAIL else "no phone number on file"


# --- sending ---------------------------------------------------------------------------------------


def _claim(pk: int, due_at: dt.datetime, now: dt.datetime) -> bool:
    """Take one due delivery for this sender (race-safe: only one of several workers wins it)."""
    return bool(
        Delivery.objects.filter(pk=pk, status=DeliveryStatus.QUEUED, next_attempt_at=due_at).update(
            attempts=F("attempts") + 1, next_attempt_at=now + LEASE
        )
    )


def _send_claimed(due: Iterable[tuple[int, dt.datetime]], counts: SendCounts | None = None) -> SendCounts:
    counts = counts if counts is not None else SendCounts()
    for pk, due_at in due:
        if _claim(pk, due_at, clock.now()):
            _attempt(pk, counts)
    return counts


def _address(message: Message, channel: str) -> str:
    if message.recipient_id is None:
        return message.recipient_email if channel == Channel.EMAIL else message.recipient_phone
    user = message.recipient
    if channel == Channel.IN_APP:
        return str(user.pk)
    if channel == Channel.EMAIL:
        return user.email
    return _user_phone(user, Preference.objects.filter(user=user).first())


def _text(message: Message, channel: str) -> str:
    if channel in (Channel.SMS, Channel.VOICE):
        return f"{message.subject}\n{message.body}".strip()
    return message.body or message.subject


def event_payload(message: Message) -> NotifyMessagePayload:
    """What the bus carries for a message (ids and kind, never an address or the text)."""
    return {
        "id": message.pk,
        "recipient": message.recipient_id,
        "kind": message.kind,
        "urgency": message.urgency,
        "subject_type": message.subject_type,
        "subject_id": message.subject_id,
    }


def _attempt(pk: int, counts: SendCounts) -> None:
    delivery = Delivery.objects.select_related("message", "message__recipient").get(pk=pk)
    message = delivery.message
    now = clock.now()
    if message.acknowledged_at is not None and delivery.channel != Channel.IN_APP:
        Delivery.objects.filter(pk=pk, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.CANCELLED, next_attempt_at=None
        )
        counts.cancelled += 1
        return
    if delivery.attempts > _config()["MAX_ATTEMPTS"]:
        _fail(delivery, DeliveryError("gave up: too many attempts", permanent=True), counts)
        return
    address = _address(message, delivery.channel)
    if not address:
        _fail(delivery, DeliveryError(_no_address(delivery.channel), permanent=True), counts)
        return
    outgoing = Outgoing(
        delivery_id=delivery.pk,
        message_id=message.pk,
        to=address,
        subject=message.subject,
        text=_text(message, delivery.channel),
        language=message.language,
        payload=event_payload(message),
    )
    try:
        sent = adapter_for(delivery.channel).send(outgoing)
    except DeliveryError as error:
        _fail(delivery, error, counts, address=address)
        return
    except Exception as exc:  # an adapter's bug: its message may quote the address, so only its type
        logger.error("notify: delivery %s (%s) raised %s", pk, delivery.channel, type(exc).__name__)
        _fail(delivery, DeliveryError(f"unexpected error ({type(exc).__name__})"), counts)
        return
    now = clock.now()
    fields: dict[str, Any] = {
        "status": DeliveryStatus.DELIVERED if sent.delivered else DeliveryStatus.SENT,
        "sent_at": now,
        "next_attempt_at": None,
        "last_error": "",
        "provider_message_id": sent.provider_message_id,
    }
    if sent.delivered:
        fields["delivered_at"] = now
    Delivery.objects.filter(pk=pk, status=DeliveryStatus.QUEUED).update(**fields)
    if sent.delivered:
        counts.delivered += 1
    else:
        counts.sent += 1


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: the base, doubling, up to the maximum."""
    config = _config()
    seconds = min(config["RETRY_BASE_S"] * 2 ** max(attempts - 1, 0), config["RETRY_MAX_S"])
    return dt.timedelta(seconds=seconds)


def _scrub(reason: str, address: str) -> str:
    """The reason as stored and logged: never the address, even if an adapter put it there."""
    if address:
        reason = reason.replace(address, "…")
    return reason[:200]


def _fail(delivery: Delivery, error: DeliveryError, counts: SendCounts, *, address: str = "") -> None:
    reason = _scrub(error.reason, address)
    final = error.permanent or delivery.attempts >= _config()["MAX_ATTEMPTS"]
    if final:
        fields = {"status": DeliveryStatus.FAILED, "next_attempt_at": None, "last_error": reason}
        counts.failed += 1
    else:
        fields = {"next_attempt_at": clock.now() + backoff(delivery.attempts), "last_error": reason}
        counts.retrying += 1
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.QUEUED).update(**fields)
    logger.warning(
        "notify: delivery %s (%s) attempt %s %s: %s",
        delivery.pk,
        delivery.channel,
        delivery.attempts,
        "failed for good" if final else "failed, will retry",
        reason,
    )


def send_pending(*, limit: int = 200) -> SendCounts:
    """Send every delivery that is due (the worker runs this every few seconds). Safe to run in
    several processes at once: each delivery is claimed by exactly one."""
    now = clock.now()
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    return _send_claimed(due)


# --- receipts and acknowledgement ------------------------------------------------------------------

RECEIPT_STATUSES = ("delivered", "failed", "acknowledged")
# A gateway's error code is kept only when it is a short token without a run of digits that could be
# a phone number: whatever else a gateway says may quote the address.
_SAFE_CODE = re.compile(r"^(?!.*[0-9]{5})[A-Za-z0-9_.-]{1,40}$")


@transaction.atomic(durable=True)
def record_receipt(
    *, provider_message_id: str, status: str, channel: str | None = None, error: str = ""
) -> Delivery:
    """A gateway's delivery receipt: ``delivered``, ``failed`` (with an optional error code) or
    ``acknowledged`` (the person confirmed, e.g. by pressing a key during the call). Repeats are
    harmless; a receipt for something already further along changes nothing."""
    if status not in RECEIPT_STATUSES:
        raise InvalidInput(_("A receipt's status is delivered, failed or acknowledged."), field="status")
    deliveries = Delivery.objects.select_for_update().filter(provider_message_id=provider_message_id)
    deliveries = deliveries.exclude(provider_message_id="").exclude(channel=Channel.IN_APP)
    if channel:
        deliveries = deliveries.filter(channel=channel)
    delivery = deliveries.select_related("message").order_by("-id").first()
    if delivery is None:
        raise NotFound(_("No message was sent with this id."), field="id")
    now = clock.now()
    if status == "delivered":
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENT).update(
            status=DeliveryStatus.DELIVERED, delivered_at=now
        )
    elif status == "failed":
        code = error if _SAFE_CODE.match(error or "") else ""
        reason = "the gateway reported it undeliverable" + (f" ({code})" if code else "")
        Delivery.objects.filter(
            pk=delivery.pk, status__in=[DeliveryStatus.SENT, DeliveryStatus.DELIVERED]
        ).update(status=DeliveryStatus.FAILED, last_error=reason)
    else:
        Delivery.objects.filter(pk=delivery.pk, delivered_at__isnull=True).update(delivered_at=now)
        _acknowledge(
            delivery.message, actor=f"gateway:{delivery.channel}", user=None, channel=delivery.channel
        )
    delivery.refresh_from_db()
    return delivery


def _acknowledge(message: Message, *, actor: Actor | str, user: User | None, channel: str) -> bool:
    now = clock.now()
    first = Message.objects.filter(pk=message.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=user
    )
    if not first:
        return False
    Delivery.objects.filter(
        message=message, channel=channel, status__in=[DeliveryStatus.SENT, DeliveryStatus.DELIVERED]
    ).update(status=DeliveryStatus.ACKNOWLEDGED, acknowledged_at=now)
    Delivery.objects.filter(message=message, status=DeliveryStatus.QUEUED).exclude(
        channel=Channel.IN_APP
    ).update(status=DeliveryStatus.CANCELLED, next_attempt_at=None)
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.NOTIFY_ACKNOWLEDGE,
                "notify_message",
                message.pk,
                details={"kind": message.kind, "channel": channel},
            )
        ],
    )
    payload: NotifyAcknowledgedPayload = {
        **event_payload(message),
        "channel": channel,
        "user": getattr(user, "pk", None),
    }
    publish_on_commit(EventName.NOTIFY_ACKNOWLEDGED, payload)
    return True


@transaction.atomic(durable=True)
def acknowledge(message: Message, user: Actor, *, channel: str = Channel.IN_APP) -> Message:
    """``user`` has seen ``message`` (theirs only: anyone else's is the same 404 as a missing one).
    Acknowledging twice is harmless; the first time is the one recorded."""
    message = get_message_for(user, message.pk)
    _acknowledge(message, actor=user, user=user, channel=channel)
    return get_message_for(user, message.pk)


# --- preferences -----------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def set_preference(
    *,
    actor: Actor,
    user: User,
    language: str | None = None,
    normal_channels: Sequence[str] | None = None,
    urgent_channels: Sequence[str] | None = None,
    phone: str | None = None,
) -> Preference:
    """Change how ``user`` is told (the user themselves, or an administrator). ``None`` keeps a
    setting; an empty list of channels means the defaults; an empty phone removes it."""
    if getattr(actor, "pk", None) != user.pk and not getattr(actor, "is_superuser", False):
        if not can(actor, Action.CHANGE_PEOPLE):
            raise NotFound(_("Account not found."))
    preference, _created = Preference.objects.select_for_update().get_or_create(user=user)
    changed: list[str] = []
    if language is not None:
        if language and language not in [code for code, _name in settings.LANGUAGES]:
            raise InvalidInput(_("This language is not offered."), field="language")
        preference.language = language
        changed.append("language")
    for name, value in (("normal_channels", normal_channels), ("urgent_channels", urgent_channels)):
        if value is not None:
            try:
                setattr(preference, name, _clean_channels(value))
            except ValueError:
                raise InvalidInput(_("Channels are in_app, email, sms and voice."), field=name) from None
            changed.append(name)
    if phone is not None:
        preference.phone = normalise_phone(phone)
        preference.phone_index = vault.blind_index(PHONE_INDEX, preference.phone) if preference.phone else ""
        changed += ["phone", "phone_index"]
    if changed:
        preference.save(update_fields=changed)
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.NOTIFY_PREFERENCE,
                    "user",
                    user.pk,
                    details={"changed": sorted(set(changed) - {"phone_index"})},
                )
            ],
        )
    return preference


# --- the inbox (the header's bell) ---------------------------------------------------------------


def unread(user: Actor) -> QuerySet[Message]:
    """The user's messages not yet acknowledged, urgent first, then newest first."""
    urgent_first = Case(When(urgency=Urgency.URGENT, then=Value(0)), default=Value(1))
    return Message.objects.restrict(user).filter(acknowledged_at__isnull=True).order_by(urgent_first, "-id")


@dataclass(frozen=True)
class Inbox:
    """What every page's header shows: how many messages wait, and the urgent ones pinned on top."""

    unread: int
    urgent: list[Message]


def inbox(user: Actor, *, pinned: int = 3) -> Inbox:
    """The bell's count and the (at most ``pinned``) newest urgent messages not yet acknowledged."""
    waiting = unread(user)
    count = waiting.count()
    urgent = list(waiting.filter(urgency=Urgency.URGENT)[:pinned]) if count else []
    return Inbox(unread=count, urgent=urgent)


@transaction.atomic(durable=True)
def acknowledge_all(user: Actor, up_to: int) -> int:
    """The user has seen the inbox as it stood when its newest message was ``up_to``: each of those
    is acknowledged as if one by one (one that arrived later stays, so nothing goes unseen)."""
    count = 0
    waiting = Message.objects.restrict(user).filter(acknowledged_at__isnull=True, pk__lte=up_to)
    for message in waiting.order_by("id"):
        count += _acknowledge(message, actor=user, user=user, channel=Channel.IN_APP)
    return count


def messages_after(user: Actor, last_id: int, *, limit: int = 100) -> list[Message]:
    """The user's messages with an id above ``last_id``, oldest first (the SSE stream's catch-up)."""
    return list(Message.objects.restrict(user).filter(pk__gt=last_id).order_by("id")[:limit])


def latest_message_id(user: Actor) -> int:
    message = Message.objects.restrict(user).order_by("-id").values_list("pk", flat=True).first()
    return message or 0


__all__ = [
    "Contact",
    "Inbox",
    "SendCounts",
    "acknowledge",
    "acknowledge_all",
    "backoff",
    "get_message_for",
    "inbox",
    "latest_message_id",
    "messages_after",
    "notify",
    "record_receipt",
    "resolve_channels",
    "send_pending",
    "set_preference",
    "unread",
]
