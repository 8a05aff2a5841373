"""Messages that come in from the SMS and voice gateways: a reply to an SMS, a key pressed during a call.

The gateway posts them to ``POST /api/v1/notify/inbound`` (authenticated like receipts, with the gateway
token). Notify knows nothing of what a reply means: the apps above it say, as a chain of handlers.

* :func:`add_handler` adds a *claiming* handler (the emergency roll call: "1" safe / "2" need help from a
  phone with a roll-call question waiting). It is given the messages not yet claimed and answers each
  with an :class:`InboundAnswer`, or ``None`` for one it does not claim, which goes on down the chain.
  Claiming handlers are asked in the order they were added, before the default one.
* :func:`set_handler` installs the *default* handler (care: "1" fine / "2" need help to the daily
  check-in), which answers every message left. With none, each is answered "not expected".

An answer says what happened (``status``) and the text the gateway sends back (SMS) or speaks (voice),
in the sender's language.

The sender's phone never appears in a log line: the line names the channel, the status and the
gateway's id of the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from banyan.core.errors import InvalidInput
from banyan.notify.choices import Channel
from banyan.notify.services import normalise_phone

logger = logging.getLogger(__name__)

INBOUND_CHANNELS = (Channel.SMS, Channel.VOICE)
TEXT_MAX = 160


@dataclass(frozen=True)
class InboundMessage:
    """One reply or key press: ``phone`` is normalised (digits, optional leading +), ``text`` stripped."""

    channel: str
    phone: str
    text: str
    provider_id: str = ""

    def __repr__(self) -> str:  # never print the phone
        return (
            f"InboundMessage(channel={self.channel!r}, text={self.text!r}, provider_id={self.provider_id!r})"
        )


@dataclass(frozen=True)
class InboundAnswer:
    """``status``: ``recorded`` (acted on), or why not: ``unknown_number``, ``unknown_keyword``,
    ``too_late``, ``not_expected``. ``reply`` is sent back to the sender."""

    status: str
    reply: str
    language: str = ""

    @property
    def acted_on(self) -> bool:
        return self.status == "recorded"


# Takes the messages of one post in order and answers each, in the same order.
Handler = Callable[[list[InboundMessage]], list[InboundAnswer]]
# The same, answering None for a message it leaves to the next handler of the chain.
ClaimingHandler = Callable[[list[InboundMessage]], list[InboundAnswer | None]]
BATCH_MAX = 500


def _not_expected(messages: list[InboundMessage]) -> list[InboundAnswer]:
    with translation.override(settings.LANGUAGE_CODE):
        reply = _("Banyan did not expect a message from this number.")
    return [InboundAnswer("not_expected", reply, settings.LANGUAGE_CODE) for _message in messages]


_handler: Handler = _not_expected
_claiming: list[ClaimingHandler] = []


def set_handler(handler: Handler | None) -> Handler:
    """Use ``handler`` as the default for inbound messages no claiming handler took (``None``: none, all
    are 'not expected'); returns the old one."""
    global _handler
    previous, _handler = _handler, handler or _not_expected
    return previous


def add_handler(handler: ClaimingHandler) -> Callable[[], None]:
    """Ask ``handler`` first (after those added before it) about each inbound message; it answers the
    ones it claims and ``None`` for the others. Added once however often; returns a function that
    removes it."""
    if handler not in _claiming:
        _claiming.append(handler)

    def remove() -> None:
        if handler in _claiming:
            _claiming.remove(handler)

    return remove


def _answer_all(messages: list[InboundMessage]) -> list[InboundAnswer]:
    """Each message's answer from the first handler of the chain that claims it, else the default's."""
    answers: list[InboundAnswer | None] = [None] * len(messages)
    for handler in list(_claiming):
        left = [i for i, answer in enumerate(answers) if answer is None]
        if not left:
            break
        claimed = handler([messages[i] for i in left])
        for i, answer in zip(left, claimed, strict=True):
            answers[i] = answer
    left = [i for i, answer in enumerate(answers) if answer is None]
    if left:
        for i, answer in zip(left, _handler([messages[i] for i in left]), strict=True):
            answers[i] = answer
    return [answer for answer in answers if answer is not None]


def _message(item: dict, prefix: str) -> InboundMessage:
    if item.get("channel") not in INBOUND_CHANNELS:
        raise InvalidInput(_("The channel is sms or voice."), field=f"{prefix}channel")
    try:
        phone = normalise_phone(item.get("phone") or "")
    except InvalidInput as error:
        raise InvalidInput(error.message, field=f"{prefix}from") from None
    if not phone:
        raise InvalidInput(_("The sender's phone number is missing."), field=f"{prefix}from")
    text = (item.get("text") or "").strip()[:TEXT_MAX]
    return InboundMessage(item["channel"], phone, text, item.get("provider_id") or "")


def receive_many(items: list[dict]) -> list[InboundAnswer]:
    """Hand inbound messages (dicts of ``channel``, ``phone``, ``text``, ``provider_id``) to the installed
    handler, all checked first (a bad one is named by its position), and log what became of each — one
    line each, without the phone."""
    if len(items) > BATCH_MAX:
        raise InvalidInput(_("At most %(max)d messages in one post.") % {"max": BATCH_MAX}, field="messages")
    several = len(items) > 1
    messages = [_message(item, f"messages[{i}]." if several else "") for i, item in enumerate(items)]
    answers = _answer_all(messages) if messages else []
    for message, answer in zip(messages, answers, strict=True):
        log = logger.info if answer.acted_on else logger.warning
        log(
            "notify: inbound %s %s: %s%s",
            message.channel,
            message.provider_id or "(no id)",
            answer.status,
            "" if answer.acted_on else " (not acted on)",
        )
    return answers


def receive(*, channel: str, phone: str, text: str, provider_id: str = "") -> InboundAnswer:
    """One inbound message (see :func:`receive_many`)."""
    item = {"channel": channel, "phone": phone, "text": text, "provider_id": provider_id}
    return receive_many([item])[0]
