"""Messages that come in from the SMS and voice gateways: a reply to an SMS, a key pressed during a call.

The gateway posts them to ``POST /api/v1/notify/inbound`` (authenticated like receipts, with the gateway
token). Notify knows nothing of what a reply means: an app above it (care: "1" fine / "2" need help to
the daily check-in) installs a handler with :func:`set_handler`. The handler answers with an
:class:`InboundAnswer`: what happened (``status``) and the text the gateway sends back (SMS) or speaks
(voice), in the sender's language. With no handler installed every message is answered "not expected".

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
BATCH_MAX = 500


def _not_expected(messages: list[InboundMessage]) -> list[InboundAnswer]:
    with translation.override(settings.LANGUAGE_CODE):
        reply = _("Banyan did not expect a message from this number.")
    return [InboundAnswer("not_expected", reply, settings.LANGUAGE_CODE) for _message in messages]


_handler: Handler = _not_expected


def set_handler(handler: Handler | None) -> Handler:
    """Use ``handler`` for inbound messages (``None``: none, all are 'not expected'); returns the old one."""
    global _handler
    previous, _handler = _handler, handler or _not_expected
    return previous


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
    answers = _handler(messages) if messages else []
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
