"""Replies through the gateway's endpoint (``POST /api/v1/notify/inbound``): the roll call claims a key
pressed by a phone it asked, before care's daily check-in waiting for the same phone; once answered, the
next reply is care's again."""

from __future__ import annotations

import datetime as dt
import json

from django.test import Client

from banyan.care.models import CarePlan, CheckIn, CheckInRequest
from banyan.core import clock
from banyan.emergency.rollcall import services
from banyan.emergency.rollcall.models import Entry
from banyan.people.choices import CareKind

TOKEN = "test-gateway-token-rollcall-0123456789"


def post(body):
    response = Client().post(
        "/api/v1/notify/inbound",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )
    return response.status_code, response.json()


def test_a_key_press_answers_the_roll_call_before_the_daily_check_in(users, emergency, settings):
    settings.BANYAN_NOTIFY = {**settings.BANYAN_NOTIFY, "GATEWAY_TOKEN": TOKEN}
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    entry = Entry.objects.filter(roll_call=roll_call, channel="voice").select_related("resident").first()
    resident = entry.resident
    now = clock.now()
    plan = CarePlan.objects.create(
        resident=resident,
        care_kind=CareKind.ELDERLY_ALONE,
        checker_kind="grid_worker",
        checkin_time=dt.time(0, 0),
        grace_minutes=1440,
        channels=["voice"],
        created_at=now,
        updated_at=now,
    )
    CheckInRequest.objects.create(
        plan=plan,
        resident=resident,
        day=now.date(),
        channel="voice",
        sent_at=now,
        expires_at=now + dt.timedelta(hours=2),
    )
    status, body = post({"channel": "voice", "from": resident.phone, "text": "1", "id": "call-1"})
    assert status == 200 and body["status"] == "recorded"
    entry.refresh_from_db()
    assert (entry.status, entry.answered_via) == ("safe", "voice")
    assert not CheckIn.objects.filter(resident=resident).exists()  # the roll call took it
    status, body = post({"channel": "voice", "from": resident.phone, "text": "1", "id": "call-2"})
    assert status == 200 and body["status"] == "recorded"
    assert CheckIn.objects.filter(resident=resident, outcome="fine").count() == 1  # now care's
