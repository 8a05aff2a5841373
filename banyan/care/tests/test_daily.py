"""The daily check-in message (sent once per plan per day, on its first channel that reaches the
resident, recorded as a request with its window) and the replies that come back through the fake
gateway to ``POST /api/v1/notify/inbound``: "1" fine, "2" need help (an incident at once); unknown
numbers, unknown keywords and replies after the window answered and logged, never acted on."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.test import Client

from banyan.audit.models import AuditEntry
from banyan.care.choices import Channel
from banyan.care.daily import send_daily_checkins
from banyan.care.models import CarePlan, CheckIn, CheckInRequest, FollowUp
from banyan.core import clock, vault
from banyan.notify.fakegateway import FakeGateway, main, post_json_answer
from banyan.notify.models import Message, Preference
from banyan.notify.services import send_pending
from banyan.people.choices import CareKind
from banyan.people.models import Resident
from banyan.response.models import Incident

TOKEN = "test-gateway-token-care-0123456789"
PHONE = "13912345678"
# Shanghai is UTC+8: 01:05 UTC is 9:05 there, five minutes after a 9:00 check-in.
NINE_OH_FIVE = dt.datetime(2026, 12, 7, 1, 5, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NINE_OH_FIVE)) as simulated:
        yield simulated


def _client_poster(url, body, headers):
    """The fake gateway's replies reach Django through the test client, in the test's transaction."""
    extra = {"HTTP_AUTHORIZATION": headers["Authorization"]} if "Authorization" in headers else {}
    response = Client().post(url, data=json.dumps(body), content_type="application/json", **extra)
    return response.status_code, response.json()


@pytest.fixture
def gateway(settings):
    settings.BANYAN_NOTIFY = {**settings.BANYAN_NOTIFY, "GATEWAY_TOKEN": TOKEN, "GATEWAY_TIMEOUT_S": 5.0}
    fake = FakeGateway(
        receipt_url="/api/v1/notify/receipts", token=TOKEN, inbound_poster=_client_poster
    ).start()
    settings.BANYAN_NOTIFY = {
        **settings.BANYAN_NOTIFY,
        "SMS_GATEWAY_URL": fake.url("sms"),
        "VOICE_GATEWAY_URL": fake.url("voice"),
    }
    try:
        yield fake
    finally:
        fake.stop()


def _plan(resident: Resident, channels: list[str], *, phone: str = PHONE) -> CarePlan:
    resident.phone = phone
    resident.phone_index = vault.blind_index("phone", phone)
    resident.save(update_fields=["phone", "phone_index"])
    return CarePlan.objects.create(
        resident=resident,
        care_kind=CareKind.ELDERLY_ALONE,
        checker_kind="grid_worker",
        checkin_time=dt.time(9, 0),
        grace_minutes=60,
        channels=channels,
        created_at=clock.now(),
        updated_at=clock.now(),
    )


@pytest.fixture
def cared(users):
    """A resident of grid01 in care (not the one with an account)."""
    resident = (
        Resident.objects.restrict(users["grid01"])
        .filter(care_profiles__is_active=True)
        .exclude(pk=users["resident01"].resident_id)
        .order_by("id")
        .first()
    )
    assert resident is not None
    return resident


@pytest.fixture
def asked(now, gateway, cared):
    """The daily SMS went out to ``cared`` at 9:05."""
    plan = _plan(cared, [Channel.SMS, Channel.VOICE, Channel.CARER])
    assert send_daily_checkins() == 1
    send_pending()
    return plan


def test_the_daily_sms_goes_out_once_at_its_time_with_its_window(now, gateway, cared):
    plan = _plan(cared, [Channel.SMS, Channel.VOICE, Channel.CARER])
    with clock.use(clock.SimulatedClock(NINE_OH_FIVE - dt.timedelta(minutes=10))):
        assert send_daily_checkins() == 0  # 8:55: not yet
    assert send_daily_checkins() == 1
    assert send_daily_checkins() == 0  # idempotent: once per plan per day
    request = CheckInRequest.objects.get(plan=plan)
    assert request.channel == "sms" and request.resident_id == cared.pk
    assert request.day == dt.date(2026, 12, 7)
    assert request.expires_at == NINE_OH_FIVE + dt.timedelta(minutes=60)
    assert request.answered_at is None
    send_pending()
    [sms] = gateway.received
    assert sms["channel"] == "sms" and sms["to"] == PHONE
    assert "1" in sms["text"] and "2" in sms["text"]
    assert Message.objects.get(pk=request.message_id).kind == "care.checkin_request"
    now.advance(dt.timedelta(days=1))
    assert send_daily_checkins() == 1  # the next day: asked again


def test_nothing_is_sent_after_the_window_nor_for_an_inactive_plan(now, gateway, cared):
    plan = _plan(cared, [Channel.SMS])
    now.advance(dt.timedelta(minutes=60))  # 10:05: the hour of grace has passed
    assert send_daily_checkins() == 0
    plan.is_active = False
    plan.save()
    with clock.use(clock.SimulatedClock(NINE_OH_FIVE + dt.timedelta(days=1))):
        assert send_daily_checkins() == 0
    assert not CheckInRequest.objects.exists()


def test_the_first_channel_that_reaches_the_resident_is_used(now, gateway, users):
    resident = users["resident01"].resident
    _plan(resident, [Channel.APP, Channel.SMS])
    other = Resident.objects.exclude(pk=resident.pk).filter(account__isnull=True).order_by("id").first()
    _plan(other, [Channel.APP, Channel.VOICE], phone="13912340000")  # no account: the call instead
    assert send_daily_checkins() == 2
    by_resident = {r.resident_id: r for r in CheckInRequest.objects.all()}
    assert by_resident[resident.pk].channel == "app"
    assert Message.objects.get(pk=by_resident[resident.pk].message_id).recipient == users["resident01"]
    assert by_resident[other.pk].channel == "voice"
    send_pending()
    assert [item["channel"] for item in gateway.received] == ["voice"]


def test_a_reply_1_records_fine_by_sms(asked, gateway, cared):
    status, answer = gateway.reply(PHONE, "1")
    assert status == 200, answer
    assert answer["status"] == "recorded"
    checkin = CheckIn.objects.get(resident=cared)
    assert (checkin.channel, checkin.outcome, checkin.by, checkin.incident) == ("sms", "fine", None, None)
    request = CheckInRequest.objects.get(plan=asked)
    assert request.answered_at is not None and request.checkin == checkin
    entry = AuditEntry.objects.filter(action="check_in.record").order_by("-id").first()
    assert entry is not None and entry.actor == "gateway:sms" and entry.subject_id == str(cared.pk)
    assert gateway.replies[-1]["reply"] == answer["reply"]


def test_a_key_press_2_during_the_call_opens_an_incident_at_once(asked, gateway, cared):
    before = Incident.objects.count()
    status, answer = gateway.press("+86" + PHONE, "2")
    assert status == 200 and answer["status"] == "recorded"
    checkin = CheckIn.objects.get(resident=cared)
    assert (checkin.channel, checkin.outcome) == ("voice", "need_help")
    assert checkin.incident is not None
    assert Incident.objects.count() == before + 1
    assert checkin.incident.category.code == "wellness_check"
    assert checkin.incident.unit_id == cared.household.unit_id


def test_the_checkin_list_shows_the_gateway_reply(asked, gateway, cared, api):
    gateway.reply(PHONE, "1")
    response = api("grid01").get(f"care/checkins?resident={cared.pk}")
    assert response.status_code == 200
    [item] = response.data["items"]
    assert (item["channel"], item["outcome"], item["by"]) == ("sms", "fine", None)


def test_unknown_numbers_keywords_and_late_replies_are_answered_not_acted_on(asked, gateway, now, caplog):
    caplog.set_level(logging.INFO, logger="banyan.notify.inbound")
    status, unknown = gateway.reply("13800000001", "1")
    assert status == 200 and unknown["status"] == "unknown_number" and unknown["reply"]
    status, keyword = gateway.reply(PHONE, "yes")
    assert status == 200 and keyword["status"] == "unknown_keyword"
    assert "1" in keyword["reply"] and "2" in keyword["reply"]
    now.advance(dt.timedelta(minutes=61))  # past 10:05
    status, late = gateway.reply(PHONE, "1")
    assert status == 200 and late["status"] == "too_late" and late["reply"]
    assert not CheckIn.objects.exists()
    assert CheckInRequest.objects.get().answered_at is None
    lines = [record.getMessage() for record in caplog.records if record.name == "banyan.notify.inbound"]
    assert len(lines) == 3
    assert all("not acted on" in line for line in lines)
    assert not any(PHONE in line or "13800000001" in line for line in lines)
    assert {line.split(": ")[-1].split(" ")[0] for line in lines} == {
        "unknown_number",
        "unknown_keyword",
        "too_late",
    }


def test_the_answer_is_in_the_residents_language(now, gateway, users):
    account = users["resident01"]
    _plan(account.resident, [Channel.SMS])
    send_daily_checkins()
    Preference.objects.update_or_create(user=account, defaults={"language": "en"})
    _status, english = gateway.reply(PHONE, "1")
    assert english["language"] == "en"
    assert english["reply"] == "Thank you. We have noted that you are fine today."
    Preference.objects.filter(user=account).update(language="zh-hans")
    _status, chinese = gateway.reply(PHONE, "x")
    assert chinese["language"] == "zh-hans"
    assert "1" in chinese["reply"] and not any("a" <= ch <= "z" for ch in chinese["reply"].lower())


def test_inbound_needs_the_gateway_token(asked, gateway, settings):
    body = {"channel": "sms", "from": PHONE, "text": "1"}
    client = Client()
    assert client.post("/api/v1/notify/inbound", body, content_type="application/json").status_code == 401
    wrong = client.post(
        "/api/v1/notify/inbound", body, content_type="application/json", HTTP_AUTHORIZATION="Bearer nope"
    )
    assert wrong.status_code == 401
    settings.BANYAN_NOTIFY = {**settings.BANYAN_NOTIFY, "GATEWAY_TOKEN": ""}
    assert gateway.reply(PHONE, "1")[0] == 401
    assert not CheckIn.objects.exists()


def test_bad_inbound_bodies_are_refused_with_the_field(gateway, db):
    status, answer = gateway.reply("", "1")
    assert status in (400, 422)
    status, answer = gateway.reply(PHONE, "1", channel="email")
    assert status in (400, 422) and "channel" in json.dumps(answer)


def test_replies_travel_over_http(gateway):
    """The default poster speaks real HTTP (here to the fake gateway itself, which answers JSON)."""
    status, answer = post_json_answer(gateway.url("sms"), {"to": PHONE, "text": "hello"}, {})
    assert status == 200 and answer["id"].startswith("sms-")
    status, answer = post_json_answer(gateway.url("sms"), {"text": "no recipient"}, {})
    assert status == 400 and "to" in answer["error"]


def test_a_batch_of_replies_is_answered_in_order_and_shared_phones_answer_in_turn(now, gateway, users):
    first, second, third = (
        Resident.objects.restrict(users["grid01"])
        .filter(care_profiles__is_active=True)
        .distinct()
        .order_by("id")[:3]
    )
    _plan(first, [Channel.SMS])
    _plan(second, [Channel.SMS])  # the same landline as the first
    _plan(third, [Channel.SMS], phone="13912349999")
    assert send_daily_checkins() == 3
    status, answer = gateway.reply_many(
        [(PHONE, "1"), ("13912349999", "maybe"), ("13800000002", "1"), (PHONE, "2")]
    )
    assert status == 200, answer
    assert answer["count"] == 4
    assert [item["status"] for item in answer["items"]] == [
        "recorded",
        "unknown_keyword",
        "unknown_number",
        "recorded",
    ]
    outcomes = dict(CheckIn.objects.values_list("resident_id", "outcome"))
    assert outcomes == {first.pk: "fine", second.pk: "need_help"}
    assert CheckIn.objects.get(resident=second).incident is not None
    assert CheckInRequest.objects.filter(answered_at__isnull=False).count() == 2
    entries = AuditEntry.objects.filter(action="check_in.record", actor="gateway:sms")
    assert sorted(entries.values_list("subject_id", flat=True)) == sorted([str(first.pk), str(second.pk)])


def test_a_bad_message_in_a_batch_refuses_the_post_naming_it(asked, gateway):
    status, answer = gateway.reply_many([(PHONE, "1"), ("12ab", "1")])
    assert status == 400
    assert answer["field"] == "messages[1].from"
    assert not CheckIn.objects.exists()


def test_the_worker_sends_the_daily_checkins(now, gateway, cared):
    from banyan.processes.management.commands.worker import run_once

    _plan(cared, [Channel.SMS])
    counts = run_once()
    assert counts["asked"] == 1 and counts["sent"] >= 1
    assert [item["channel"] for item in gateway.received] == ["sms"]
    assert run_once()["asked"] == 0


def test_a_plan_checked_by_a_carer_asks_the_carer(now, gateway, users, cared):
    plan = _plan(cared, [Channel.CARER, Channel.SMS])
    plan.checker_user = users["grid01"]
    plan.save()
    assert send_daily_checkins() == 1
    request = CheckInRequest.objects.get()
    assert request.channel == "carer"
    message = Message.objects.get(pk=request.message_id)
    assert message.recipient == users["grid01"] and cared.name in message.body
    send_pending()
    assert gateway.received == []  # no SMS: the carer was reached


def test_the_shell_command_posts_a_reply_over_http(gateway, capsys):
    """``python -m banyan.notify.fakegateway reply URL PHONE KEY --voice --token T`` (the demo's way);
    here the URL is the fake gateway itself, which records the request and refuses it (no ``to``)."""
    with pytest.raises(SystemExit) as refused:
        main(["reply", gateway.url("inbound"), PHONE, "2", "--voice", "--token", TOKEN])
    assert refused.value.code == 1
    request = gateway.requests[-1]
    assert request["body"] == {"channel": "voice", "from": PHONE, "text": "2", "id": ""}
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert capsys.readouterr().out.startswith("400 ")


def test_a_reply_to_a_retry_after_the_window_is_taken_while_the_missed_checkin_is_followed(
    asked, gateway, now, cared
):
    now.advance(dt.timedelta(minutes=90))  # 10:35: the window closed, the SMS was missed
    follow_up = FollowUp.objects.create(
        resident=cared,
        plan=asked,
        reason="missed",
        day=dt.date(2026, 12, 7),
        started_at=clock.now(),
        status="retrying",
    )
    status, answer = gateway.press(PHONE, "1")  # the retry's call
    assert status == 200 and answer["status"] == "recorded"
    assert CheckIn.objects.get(resident=cared).channel == "voice"
    follow_up.status, follow_up.ended_at = "answered", clock.now()
    follow_up.save()
    assert gateway.reply(PHONE, "1")[1]["status"] == "too_late"  # once it is over, late again


def test_a_staff_check_in_answers_the_days_sms(asked, users):
    from banyan.care import services

    services.record_checkin(actor=users["grid01"], resident=asked.resident, outcome="fine", channel="staff")
    request = CheckInRequest.objects.get(plan=asked)
    assert request.answered_at is not None and request.checkin == CheckIn.objects.get()
