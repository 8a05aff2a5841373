"""Every channel end to end against real servers on 127.0.0.1: SMTP (aiosmtpd) and the fake gateway.

Addresses are personal data: each failure test also checks that no phone or email reached the logs,
the stored error or the bus.
"""

from __future__ import annotations

import datetime as dt
import email
from email import policy

import pytest

from banyan.core import bus
from banyan.notify import services
from banyan.notify.models import Delivery
from banyan.notify.services import Contact, notify

from .conftest import free_port

PHONE = "13987654321"
EMAIL = "zhang.wei@example.org"


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def assert_nowhere(secret: str, log_lines: list[str], *deliveries: Delivery) -> None:
    assert not [line for line in log_lines if secret in line]
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert secret not in delivery.last_error


def test_email_reaches_a_real_smtp_server(users, smtp, notify_settings):
    worker = users["grid01"]
    worker.email = "grid01@example.org"
    worker.save(update_fields=["email"])
    [message] = notify([worker], "incident.assigned", "事件 I-7 已分派给你", "3幢地下室进水。")

    counts = services.send_pending()

    assert (counts.sent, counts.delivered) == (1, 1)
    [received] = smtp.messages
    assert received["to"] == ["grid01@example.org"]
    mail = parse(received["content"])
    assert mail["Subject"] == "事件 I-7 已分派给你"
    assert mail.get_content().strip() == "3幢地下室进水。"
    assert mail["X-Banyan-Delivery"] == str(message.deliveries.get(channel="email").pk)
    email_delivery = message.deliveries.get(channel="email")
    assert (email_delivery.status, email_delivery.attempts) == ("sent", 1)


def test_a_mail_server_that_says_try_later_is_tried_again(db, smtp, now, notify_settings, log_lines):
    [message] = notify([Contact(email=EMAIL)], "report.status", "S", "B")
    smtp.fail_next = 1

    assert services.send_pending().retrying == 1
    delivery = message.deliveries.get()
    assert delivery.last_error == "the mail server answered 451"
    now.advance(dt.timedelta(seconds=10))
    assert services.send_pending().sent == 1

    assert [m["to"] for m in smtp.messages] == [[EMAIL]]
    assert_nowhere(EMAIL, log_lines, delivery)


def test_a_refused_recipient_fails_at_once_without_the_address_anywhere(db, smtp, notify_settings, log_lines):
    [message] = notify([Contact(email=EMAIL)], "report.status", "S", "B")
    smtp.refuse = True

    with bus.collect() as events:
        counts = services.send_pending()

    delivery = message.deliveries.get()
    assert counts.failed == 1
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == "the mail server refused the recipient"
    assert_nowhere(EMAIL, log_lines, delivery)
    assert EMAIL not in repr(events)


def test_an_unreachable_mail_server_is_retried(db, settings, notify_settings, log_lines):
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    [message] = notify([Contact(email=EMAIL)], "report.status", "S", "B")

    assert services.send_pending().retrying == 1

    delivery = message.deliveries.get()
    assert delivery.status == "queued"
    assert delivery.last_error == "mail server unreachable (ConnectionRefusedError)"
    assert_nowhere(EMAIL, log_lines, delivery)


def test_sms_and_voice_reach_the_gateway_and_receipts_come_back(users, gateway, now, notify_settings):
    worker = users["grid01"]
    services.set_preference(actor=worker, user=worker, phone=PHONE)
    [message] = notify([worker], "incident.escalated", "红色告警", "3幢水位 62 cm。", urgency="urgent")

    counts = services.send_pending()

    assert (counts.sent, counts.delivered) == (2, 1)
    sms, voice = (message.deliveries.get(channel=c) for c in ("sms", "voice"))
    assert sorted((r["channel"], r["to"], r["text"], r["id"]) for r in gateway.received) == [
        ("sms", PHONE, "红色告警\n3幢水位 62 cm。", str(sms.pk)),
        ("voice", PHONE, "红色告警\n3幢水位 62 cm。", str(voice.pk)),
    ]
    assert gateway.requests[0]["headers"]["Authorization"] == "Bearer test-gateway-token-0123456789"
    providers = {r["channel"]: r["provider_id"] for r in gateway.received}
    assert (sms.provider_message_id, voice.provider_message_id) == (providers["sms"], providers["voice"])
    assert (sms.status, voice.status) == ("sent", "sent")

    now.advance(5)
    assert gateway.send_receipts("delivered") == [200, 200]

    sms.refresh_from_db()
    voice.refresh_from_db()
    assert (sms.status, sms.delivered_at) == ("delivered", now.now())
    assert voice.status == "delivered"


def test_a_voice_call_confirmed_by_a_key_press_acknowledges_the_message(db, gateway, now, notify_settings):
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B", channels=["voice", "sms"])
    services.send_pending()

    [voice] = [r for r in gateway.received if r["channel"] == "voice"]
    body = gateway.receipt(voice["provider_id"], "acknowledged")
    assert gateway._post_receipt(body) == 200

    message.refresh_from_db()
    assert message.acknowledged_at == now.now()
    assert {d.channel: d.status for d in message.deliveries.all()} == {"voice": "acknowledged", "sms": "sent"}


def test_a_gateway_error_is_retried_then_marked_failed(db, gateway, now, notify_settings, log_lines):
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")
    gateway.fail_next(3, status=503)
    delivery = message.deliveries.get()

    for _ in range(3):
        services.send_pending()
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            now.advance(delivery.next_attempt_at - now.now())

    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "the sms gateway answered HTTP 503"
    assert gateway.received == []
    assert_nowhere(PHONE, log_lines, delivery)


def test_a_gateway_that_refuses_the_message_is_not_asked_again(db, gateway, notify_settings, log_lines):
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")
    gateway.fail_next(1, status=400)

    assert services.send_pending().failed == 1

    delivery = message.deliveries.get()
    assert (delivery.status, delivery.last_error) == ("failed", "the sms gateway answered HTTP 400")
    assert len(gateway.requests) == 1
    assert_nowhere(PHONE, log_lines, delivery)


def test_an_unreachable_gateway_is_retried(db, notify_settings, log_lines):
    notify_settings(SMS_GATEWAY_URL=f"http://127.0.0.1:{free_port()}/sms")
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")

    assert services.send_pending().retrying == 1

    delivery = message.deliveries.get()
    assert delivery.last_error == "the sms gateway is unreachable (ConnectError)"
    assert_nowhere(PHONE, log_lines, delivery)


def test_no_gateway_configured_is_a_failure_that_says_so(db, notify_settings):
    notify_settings(SMS_GATEWAY_URL="")
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")

    services.send_pending()

    assert message.deliveries.get().last_error == "no sms gateway is configured"


@pytest.mark.parametrize("answer", [{"status": "ok"}, "not json"])
def test_a_gateway_answer_without_an_id_is_an_error(db, notify_settings, answer, monkeypatch):
    import httpx

    def fake_post(url, **kwargs):
        if isinstance(answer, dict):
            return httpx.Response(200, json=answer)
        return httpx.Response(200, text=answer)

    monkeypatch.setattr(httpx, "post", fake_post)
    notify_settings(SMS_GATEWAY_URL="http://127.0.0.1:9/sms")
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")

    services.send_pending()

    assert message.deliveries.get().last_error == "the sms gateway's answer holds no message id"
