"""notify(): recipients, channels, languages, the vault; sending, retries, acknowledgement, receipts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils.translation import gettext_lazy

from banyan.audit.models import AuditEntry
from banyan.core import bus, vault
from banyan.core.errors import InvalidInput, NotFound
from banyan.notify import channels, services
from banyan.notify.models import Delivery, Message, Preference
from banyan.notify.services import Contact, notify

PHONE = "13912345678"
EMAIL = "reporter@example.org"


@pytest.fixture
def memory():
    """In-memory adapters for email, SMS and voice (the end-to-end tests use real servers)."""
    fakes = {name: channels.MemoryChannel() for name in ("email", "sms", "voice")}
    previous = {name: channels.install(name, fake) for name, fake in fakes.items()}
    yield fakes
    for name, adapter in previous.items():
        channels.install(name, adapter)


def statuses(message):
    return {d.channel: d.status for d in Delivery.objects.filter(message=message)}


def test_normal_goes_in_app_and_by_email_urgent_by_sms_and_voice(users, now, notify_settings):
    worker = users["grid01"]
    worker.email = "grid01@example.org"
    worker.save(update_fields=["email"])
    services.set_preference(actor=worker, user=worker, phone="139 0000 0001")

    [normal] = notify([worker], "incident.assigned", "Subject", "Body")
    [urgent] = notify([worker], "incident.escalated", "Subject", "Body", urgency="urgent")

    assert statuses(normal) == {"in_app": "queued", "email": "queued"}
    assert statuses(urgent) == {"in_app": "queued", "sms": "queued", "voice": "queued"}
    assert normal.recipient == worker and normal.created_at == now.now()


def test_default_channels_without_an_address_are_left_out(users, notify_settings):
    director = users["director"]
    director.email = ""
    director.save(update_fields=["email"])
    Preference.objects.filter(user=director).delete()

    [message] = notify([director], "incident.escalated", "S", "B", urgency="urgent")

    assert statuses(message) == {"in_app": "queued"}


def test_channels_asked_for_without_an_address_are_recorded_as_failed(users, notify_settings):
    director = users["director"]
    director.email = ""
    director.save(update_fields=["email"])

    [message] = notify([director], "incident.assigned", "S", "B", channels=["in_app", "email", "sms"])

    deliveries = {d.channel: d for d in message.deliveries.all()}
    assert deliveries["in_app"].status == "queued"
    assert deliveries["email"].status == "failed"
    assert deliveries["email"].last_error == "no email address on file"
    assert deliveries["sms"].last_error == "no phone number on file"


def test_preferences_choose_the_channels(users, notify_settings):
    worker = users["grid02"]
    services.set_preference(actor=worker, user=worker, urgent_channels=["in_app", "sms"], phone="13900000002")

    [message] = notify([worker], "incident.escalated", "S", "B", urgency="urgent")

    assert statuses(message) == {"in_app": "queued", "sms": "queued"}


def test_a_residents_account_uses_the_residents_phone(users, notify_settings):
    account = users["resident01"]
    assert account.resident.phone

    [message] = notify([account], "report.status", "S", "B", urgency="urgent")

    assert set(statuses(message)) == {"in_app", "sms", "voice"}
    assert services._address(message, "sms") == account.resident.phone


def test_text_is_rendered_in_each_recipients_language(users, notify_settings):
    english, chinese = users["grid01"], users["grid02"]
    services.set_preference(actor=english, user=english, language="en")
    services.set_preference(actor=chinese, user=chinese, language="zh-hans")
    subject = gettext_lazy("Alert not found.")  # a msgid the catalogue already translates
    body = gettext_lazy("%(name)s: %(what)s")

    first, second = notify(
        [english, chinese], "incident.assigned", subject, body, params={"name": "I-1", "what": subject}
    )

    assert (first.language, first.subject, first.body) == ("en", "Alert not found.", "I-1: Alert not found.")
    assert second.language == "zh-hans"
    assert second.subject == "未找到该告警。" and second.body == f"I-1: {second.subject}"


def test_a_contacts_address_is_encrypted_with_a_blind_index(db, notify_settings):
    [message] = notify(
        [Contact(phone="139-1234-5678", email=EMAIL)],
        "report.status",
        "S",
        "B",
        reference=("report", 7),
    )

    assert message.recipient is None
    assert (message.subject_type, message.subject_id) == ("report", "7")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT recipient_phone, recipient_email FROM notify_message WHERE id = %s", [message.pk]
        )
        raw_phone, raw_email = cursor.fetchone()
    assert PHONE not in raw_phone and EMAIL not in raw_email
    assert raw_phone.startswith(vault.TOKEN_PREFIX)
    stored = Message.objects.get(recipient_phone_index=vault.blind_index(services.PHONE_INDEX, PHONE))
    assert stored.pk == message.pk and stored.recipient_phone == PHONE and stored.recipient_email == EMAIL
    # No inbox for a contact: SMS (normal urgency asks for email, which the contact also has).
    assert statuses(message) == {"email": "queued"}
    assert PHONE not in repr(Contact(phone=PHONE))


def test_a_contact_gets_what_they_gave_when_no_wanted_channel_fits(db, notify_settings):
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")  # normal: in-app + email

    assert statuses(message) == {"sms": "queued"}


@pytest.mark.parametrize(
    ("contact", "field"),
    [(Contact(), "contact"), (Contact(phone="call me maybe"), "phone"), (Contact(email="nope"), "email")],
)
def test_a_bad_contact_is_refused_naming_the_field_and_nothing_is_written(db, contact, field):
    before = Message.objects.count()
    with pytest.raises(InvalidInput) as caught:
        notify([contact], "report.status", "S", "B")
    assert caught.value.field == field
    assert Message.objects.count() == before


def test_one_message_per_distinct_recipient(users, notify_settings):
    worker = users["grid01"]
    assert len(notify([worker, worker], "incident.assigned", "S", "B")) == 1


def test_unknown_urgency_or_channel_is_a_programming_error(users):
    with pytest.raises(ValueError):
        notify([users["grid01"]], "incident.assigned", "S", "B", urgency="panic")
    with pytest.raises(ValueError):
        notify([users["grid01"]], "incident.assigned", "S", "B", channels=["pigeon"])


def test_in_app_is_published_after_commit_and_nothing_on_rollback(users, now, on_commit, notify_settings):
    worker = users["grid01"]
    with bus.collect("notify.*") as events:
        with on_commit(), transaction.atomic():
            [message] = notify([worker], "incident.assigned", "S", "B", channels=["in_app"])
        try:
            with on_commit(), transaction.atomic():
                notify([worker], "incident.assigned", "S", "B", channels=["in_app"])
                raise RuntimeError("the caller's transaction fails")
        except RuntimeError:
            pass

    assert events == [("notify.message", services.event_payload(message))]
    assert events[0][1]["recipient"] == worker.pk
    delivery = message.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("delivered", 1, now.now())


def test_send_pending_sends_due_deliveries_once(users, memory, notify_settings):
    worker = users["grid01"]
    services.set_preference(actor=worker, user=worker, phone=PHONE)
    [message] = notify([worker], "incident.escalated", "S", "Body", urgency="urgent")

    counts = services.send_pending()
    again = services.send_pending()

    assert (counts.delivered, counts.sent, again.total) == (1, 2, 0)
    assert [o.to for o in memory["sms"].sent] == [PHONE]
    assert memory["sms"].sent[0].text == "S\nBody"
    assert statuses(message) == {"in_app": "delivered", "sms": "sent", "voice": "sent"}
    assert Delivery.objects.get(message=message, channel="sms").provider_message_id == "mem-1"


def test_failures_are_retried_with_backoff_then_marked_failed(users, memory, now, notify_settings):
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")
    memory["sms"].fail_next = 10
    delivery = message.deliveries.get()

    waits = []
    for _attempt in range(3):
        counts = services.send_pending()
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - now.now()).total_seconds())
            assert services.send_pending().total == 0  # not due yet
            now.advance(delivery.next_attempt_at - now.now())

    assert waits == [10, 20]  # RETRY_BASE_S doubling
    assert counts.failed == 1
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "the fake channel was told to fail"
    assert memory["sms"].sent == []


def test_a_retry_that_succeeds_clears_the_error(users, memory, now, notify_settings):
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")
    memory["sms"].fail_next = 1

    assert services.send_pending().retrying == 1
    now.advance(dt.timedelta(seconds=10))
    assert services.send_pending().sent == 1

    delivery = message.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")


def test_backoff_is_capped(notify_settings):
    assert [services.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [10, 20, 40, 60, 60, 60]


def test_a_claimed_delivery_is_sent_by_one_sender_only(users, memory, notify_settings):
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")
    delivery = message.deliveries.get()
    due = delivery.next_attempt_at

    assert services._claim(delivery.pk, due, due) is True
    assert services._claim(delivery.pk, due, due) is False  # a second worker with the same view loses


def test_acknowledge_records_it_once_cancels_queued_and_publishes(
    users, now, on_commit, memory, notify_settings
):
    worker = users["grid01"]
    services.set_preference(actor=worker, user=worker, phone=PHONE)
    with on_commit():
        [message] = notify(
            [worker], "incident.escalated", "S", "B", urgency="urgent", reference=("incident", 3)
        )

    with bus.collect("notify.acknowledged") as events, on_commit():
        acknowledged = services.acknowledge(message, worker)
    with on_commit():
        services.acknowledge(message, worker)  # twice is harmless

    assert acknowledged.acknowledged_at == now.now()
    assert acknowledged.acknowledged_by == worker
    assert statuses(message) == {"in_app": "acknowledged", "sms": "cancelled", "voice": "cancelled"}
    assert services.send_pending().total == 0 and memory["sms"].sent == []
    [(_topic, payload)] = events
    assert (
        payload["subject_type"] == "incident"
        and payload["subject_id"] == "3"
        and payload["user"] == worker.pk
    )
    entries = AuditEntry.objects.filter(action="notify.acknowledge", subject_id=str(message.pk))
    assert entries.count() == 1


def test_nobody_acknowledges_anothers_message(users, notify_settings):
    [message] = notify([users["grid01"]], "incident.assigned", "S", "B")

    with pytest.raises(NotFound):
        services.acknowledge(message, users["grid02"])

    message.refresh_from_db()
    assert message.acknowledged_at is None


def test_receipts_mark_delivered_failed_or_acknowledged(users, memory, now, notify_settings):
    [first, second, third] = notify(
        [Contact(phone=PHONE), Contact(phone="13900000003"), Contact(phone="13900000004")],
        "report.status",
        "S",
        "B",
    )
    services.send_pending()
    ids = [m.deliveries.get().provider_message_id for m in (first, second, third)]

    delivered = services.record_receipt(provider_message_id=ids[0], status="delivered")
    failed = services.record_receipt(provider_message_id=ids[1], status="failed", error=f"bad {PHONE}!")
    services.record_receipt(provider_message_id=ids[2], status="acknowledged")

    assert (delivered.status, delivered.delivered_at) == ("delivered", now.now())
    assert (failed.status, failed.last_error) == ("failed", "the gateway reported it undeliverable")
    third.refresh_from_db()
    assert third.acknowledged_at == now.now()
    assert statuses(third) == {"sms": "acknowledged"}
    with pytest.raises(NotFound):
        services.record_receipt(provider_message_id="unknown-1", status="delivered")


def test_a_gateways_error_code_is_kept_only_when_it_cannot_hold_a_phone(users, memory, notify_settings):
    messages = notify([Contact(phone=PHONE), Contact(phone="13900000005")], "report.status", "S", "B")
    services.send_pending()
    first, second = (m.deliveries.get() for m in messages)

    services.record_receipt(provider_message_id=first.provider_message_id, status="failed", error="E_ABSENT")
    services.record_receipt(
        provider_message_id=second.provider_message_id, status="failed", error="to:13900000005"
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.last_error == "the gateway reported it undeliverable (E_ABSENT)"
    assert second.last_error == "the gateway reported it undeliverable"
