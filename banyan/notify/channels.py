"""Channel adapters: one ``send(outgoing) -> Sent`` method each (STYLE 13).

* :class:`InAppChannel` — the message is already stored; its event ``notify.message``
  (:mod:`banyan.core.events`) wakes open SSE streams at once, and it counts as delivered.
* :class:`EmailChannel` — Django's SMTP email backend (``EMAIL_HOST``/``EMAIL_PORT`` from
  ``BANYAN_EMAIL_HOST``/``BANYAN_EMAIL_PORT``).
* :class:`GatewayChannel` — SMS and voice: an HTTP POST of ``{"to", "text", "id"}`` (JSON) to
  ``BANYAN_SMS_GATEWAY_URL`` / ``BANYAN_VOICE_GATEWAY_URL``; the gateway's JSON answer gives its own
  message id (``id``), which its delivery receipts name later (``POST /api/v1/notify/receipts``).
* :class:`MemoryChannel` — an in-memory fake for tests of callers.

An adapter that fails raises :class:`DeliveryError` with a reason written here, never the text of
the underlying exception: SMTP and HTTP errors may quote the address, which is personal data.
"""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass
from typing import Protocol

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from banyan.core import events
from banyan.core.events import EventName, NotifyMessagePayload
from banyan.notify.choices import Channel


@dataclass(frozen=True)
class Outgoing:
    """What an adapter sends: ``to`` is an email address or phone (or the user id, in the app)."""

    delivery_id: int
    message_id: int
    to: str
    subject: str
    text: str
    language: str
    payload: NotifyMessagePayload | None = None  # the in-app event


@dataclass(frozen=True)
class Sent:
    provider_message_id: str = ""
    delivered: bool = False  # the channel itself confirms delivery (in the app)


class DeliveryError(Exception):
    """A delivery attempt failed. ``reason`` holds no personal data; ``permanent`` failures are not
    retried (a refused address, a gateway's 4xx)."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class ChannelAdapter(Protocol):
    def send(self, outgoing: Outgoing) -> Sent: ...


class InAppChannel:
    def send(self, outgoing: Outgoing) -> Sent:
        if outgoing.payload is not None:  # without one no stream would know whose it is; they poll too
            events.publish(EventName.NOTIFY_MESSAGE, outgoing.payload)
        return Sent(delivered=True)


class EmailChannel:
    """Sends through Django's email backends; the SMTP one unless ``BANYAN_NOTIFY["EMAIL_BACKEND"]``
    says otherwise (the test runner replaces ``EMAIL_BACKEND`` itself, this one it leaves alone)."""

    def __init__(self, backend: str | None = None):
        self.backend = backend or settings.BANYAN_NOTIFY["EMAIL_BACKEND"]

    def send(self, outgoing: Outgoing) -> Sent:
        try:
            connection = get_connection(self.backend, fail_silently=False)
            email = EmailMessage(
                subject=outgoing.subject,
                body=outgoing.text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[outgoing.to],
                connection=connection,
                headers={"X-Banyan-Delivery": str(outgoing.delivery_id)},
            )
            email.send()
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("the mail server refused the recipient", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"the mail server answered {int(exc.smtp_code)}") from None
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"mail error ({type(exc).__name__})") from None
        except (OSError, TimeoutError) as exc:
            raise DeliveryError(f"mail server unreachable ({type(exc).__name__})") from None
        return Sent()


class GatewayChannel:
    """An SMS or voice gateway behind an HTTP POST (JSON in, JSON out)."""

    def __init__(self, name: str, url: str, *, token: str = "", timeout: float = 10.0):
        self.name = name
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, outgoing: Outgoing) -> Sent:
        if not self.url:
            raise DeliveryError(f"no {self.name} gateway is configured")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"to": outgoing.to, "text": outgoing.text, "id": str(outgoing.delivery_id)}
        try:
            response = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise DeliveryError(f"the {self.name} gateway timed out") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"the {self.name} gateway is unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            # 4xx: the gateway will never take this message (a bad number); 429 and 5xx may pass later.
            permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
            raise DeliveryError(
                f"the {self.name} gateway answered HTTP {response.status_code}", permanent=permanent
            )
        try:
            provider_id = str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise DeliveryError(f"the {self.name} gateway's answer holds no message id") from None
        if not provider_id or len(provider_id) > 100:
            raise DeliveryError(f"the {self.name} gateway's message id is not usable")
        return Sent(provider_message_id=provider_id)


class MemoryChannel:
    """Records what it is given; ``fail_next`` makes that many sends fail (temporarily)."""

    def __init__(self, *, delivered: bool = False):
        self.sent: list[Outgoing] = []
        self.fail_next = 0
        self.delivered = delivered
        self._lock = threading.Lock()

    def send(self, outgoing: Outgoing) -> Sent:
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise DeliveryError("the fake channel was told to fail")
            self.sent.append(outgoing)
            return Sent(provider_message_id=f"mem-{len(self.sent)}", delivered=self.delivered)


_installed: dict[str, ChannelAdapter] = {}


def adapter_for(channel: str) -> ChannelAdapter:
    """The adapter for ``channel``: an installed one (tests), else one built from the settings."""
    if channel in _installed:
        return _installed[channel]
    config = settings.BANYAN_NOTIFY
    if channel == Channel.IN_APP:
        return InAppChannel()
    if channel == Channel.EMAIL:
        return EmailChannel()
    if channel in (Channel.SMS, Channel.VOICE):
        return GatewayChannel(
            str(channel),
            config["SMS_GATEWAY_URL"] if channel == Channel.SMS else config["VOICE_GATEWAY_URL"],
            token=config["GATEWAY_TOKEN"],
            timeout=config["GATEWAY_TIMEOUT_S"],
        )
    raise ValueError(f"unknown channel {channel!r}")


def install(channel: str, adapter: ChannelAdapter | None) -> ChannelAdapter | None:
    """Use ``adapter`` for ``channel`` in this process (``None`` goes back to the settings); returns
    the one it replaced."""
    previous = _installed.pop(channel, None)
    if adapter is not None:
        _installed[channel] = adapter
    return previous
