"""Real local servers for the channels: an SMTP server (aiosmtpd) and the fake SMS/voice gateway,
each on a free port of 127.0.0.1; a simulated clock; a capturing log handler."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading

import pytest
from django.test import Client

from banyan.core import clock

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
GATEWAY_TOKEN = "test-gateway-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


@pytest.fixture
def notify_settings(settings):
    """Gateway token and small retry waits; returns a function that changes more of BANYAN_NOTIFY."""
    settings.BANYAN_NOTIFY = {
        **settings.BANYAN_NOTIFY,
        "GATEWAY_TOKEN": GATEWAY_TOKEN,
        "MAX_ATTEMPTS": 3,
        "RETRY_BASE_S": 10,
        "RETRY_MAX_S": 60,
        "GATEWAY_TIMEOUT_S": 5.0,
        "SSE_POLL_S": 0.05,
        "SSE_HEARTBEAT_S": 0.2,
    }

    def change(**values):
        settings.BANYAN_NOTIFY = {**settings.BANYAN_NOTIFY, **values}

    return change


class SmtpRecorder:
    """An aiosmtpd handler that keeps every message; ``refuse`` refuses recipients (550),
    ``fail_next`` answers that many messages with 451 (try again later)."""

    def __init__(self):
        self.messages: list[dict] = []
        self.refuse = False
        self.fail_next = 0
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return f"550 5.1.1 <{address}>: no such mailbox"  # quotes the address, as real servers do
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                return "451 4.3.0 try again later"
            self.messages.append(
                {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "content": envelope.content}
            )
        return "250 OK"


@pytest.fixture
def smtp(settings):
    from aiosmtpd.controller import Controller

    recorder = SmtpRecorder()
    port = free_port()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command it reads
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield recorder
    finally:
        controller.stop()


def _client_poster(url, body, headers):
    """Receipts reach Django through the test client, in the test's thread and transaction."""
    extra = {"HTTP_AUTHORIZATION": headers["Authorization"]} if "Authorization" in headers else {}
    response = Client().post(url, data=json.dumps(body), content_type="application/json", **extra)
    return response.status_code


@pytest.fixture
def gateway(notify_settings):
    """The fake gateway on a free port; both the SMS and voice URLs point at it."""
    from banyan.notify.fakegateway import FakeGateway

    fake = FakeGateway(
        receipt_url="/api/v1/notify/receipts", token=GATEWAY_TOKEN, poster=_client_poster
    ).start()
    notify_settings(SMS_GATEWAY_URL=fake.url("sms"), VOICE_GATEWAY_URL=fake.url("voice"))
    try:
        yield fake
    finally:
        fake.stop()


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        if not record.name.startswith("mail.log"):  # the test's SMTP server, standing in for the world
            self.lines.append(self.format(record))


@pytest.fixture
def log_lines():
    """Every log line Banyan, Django and the libraries write while the test runs (with tracebacks)."""
    handler = _Capture()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """``with on_commit(): notify(...)`` runs what notify does after its transaction commits."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
