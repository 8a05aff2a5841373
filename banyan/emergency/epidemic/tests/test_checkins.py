"""The daily check-ins of isolating residents in care, on simulated time: asked once a day from 09:00 on
their channel, answered in the app, by SMS or a key press (through the gateway's endpoint), and a visit
for "need help" or no answer by 18:00."""

from __future__ import annotations

import datetime as dt
import json

from django.test import Client

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.emergency.epidemic import services
from banyan.emergency.epidemic.models import CheckIn
from banyan.emergency.epidemic.tests.conftest import isolate
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.rollcall.models import Entry
from banyan.notify.models import Message
from banyan.people.models import CareProfile, Resident

TOKEN = "test-gateway-token-epidemic-0123456789"


def post(body):
    response = Client().post(
        "/api/v1/notify/inbound",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )
    return response.status_code, response.json()


def in_care(household) -> list[int]:
    return sorted(
        set(
            CareProfile.objects.filter(resident__household=household, is_active=True).values_list(
                "resident_id", flat=True
            )
        )
    )


def test_isolating_residents_in_care_are_asked_once_a_day_from_nine(users, epidemic, cared_household, sim):
    isolate(users, epidemic, cared_household)
    first = services.sweep()
    asked = list(CheckIn.objects.filter(emergency=epidemic).order_by("resident_id"))
    assert [c.resident_id for c in asked] == in_care(cared_household) and first["asked"] == len(asked)
    assert all(c.day == clock.today() and c.status == "waiting" for c in asked)
    for checkin in asked:
        if checkin.message_id:
            message = Message.objects.get(pk=checkin.message_id)
            assert message.kind == services.KIND and message.subject_type == "epidemic_checkin"
        else:
            assert checkin.channel == "none"
    assert services.sweep()["asked"] == 0  # once a day
    assert CheckIn.objects.filter(emergency=epidemic).count() == len(asked)
    # the next day before nine: nobody new is asked, yesterday's unanswered are visited
    sim.advance(dt.timedelta(hours=22))  # 08:00 local
    second = services.sweep()
    assert second["asked"] == 0
    assert not CheckIn.objects.filter(emergency=epidemic, status="waiting").exists()
    sim.advance(dt.timedelta(hours=1, minutes=5))  # 09:05
    assert services.sweep()["asked"] == len(asked)
    assert CheckIn.objects.filter(emergency=epidemic, day=clock.today()).count() == len(asked)


def test_no_answer_by_the_evening_sends_someone(users, epidemic, cared_household, sim):
    isolate(users, epidemic, cared_household)
    services.sweep()
    waiting = CheckIn.objects.filter(emergency=epidemic, status="waiting")
    count = waiting.count()
    assert count
    sim.advance(dt.timedelta(hours=7, minutes=59))  # 17:59: still waiting
    assert services.sweep()["missed"] == 0 and waiting.count() == count
    sim.advance(dt.timedelta(minutes=1))  # 18:00
    assert services.sweep()["missed"] == count
    for checkin in CheckIn.objects.filter(emergency=epidemic):
        assert checkin.status == "no_answer" and checkin.incident is not None
        assert checkin.incident.category.code == "wellness_check"
        assert checkin.incident.unit_id == cared_household.unit_id
    assert AuditEntry.objects.filter(action="epidemic.checkin", details__status="no_answer").count() == count


def test_a_cleared_household_and_other_hazards_are_not_asked(users, epidemic, cared_household):
    isolate(users, epidemic, cared_household, status="cleared")
    assert services.sweep()["asked"] == 0
    assert not CheckIn.objects.exists()
    # a typhoon's isolating household (made directly: the services refuse it) is not asked either
    isolate(users, epidemic, cared_household)
    epidemic.hazard = "typhoon"
    epidemic.save(update_fields=["hazard"])
    assert services.sweep()["asked"] == 0 and not CheckIn.objects.exists()


def test_an_answer_in_the_app(users, epidemic, sim):
    resident = users["resident01"].resident
    CareProfile.objects.create(resident=resident, kind="elderly_alone", since=clock.today())
    isolate(users, epidemic, resident.household)
    services.sweep()
    checkin = CheckIn.objects.get(emergency=epidemic, resident=resident)
    assert (checkin.channel, checkin.asked_user) == ("in_app", users["resident01"])
    client = Client()
    client.force_login(users["resident01"])
    home = client.get("/")
    assert f"/emergency/epidemic/checkins/{checkin.pk}/answer" in home.content.decode()
    response = client.post(f"/emergency/epidemic/checkins/{checkin.pk}/answer", {"status": "fine"})
    assert response.status_code == 200 and "ok, need_help" in response.content.decode()
    response = client.post(f"/emergency/epidemic/checkins/{checkin.pk}/answer", {"status": "need_help"})
    assert response.status_code == 302
    checkin.refresh_from_db()
    assert checkin.status == "need_help" and checkin.answered_via == "in_app"
    assert checkin.incident.grade == "orange" and checkin.incident.unit_id == resident.household.unit_id
    # answered: the page is gone, and the evening sends nobody more
    assert client.get(f"/emergency/epidemic/checkins/{checkin.pk}/answer").status_code == 404
    sim.advance(dt.timedelta(hours=9))
    assert services.sweep()["missed"] == 0
    # another resident may not answer it
    other = Client()
    other.force_login(users["volunteer01"])
    assert other.get(f"/emergency/epidemic/checkins/{checkin.pk}/answer").status_code == 404


def test_a_key_press_answers_the_check_in(users, epidemic, settings):
    settings.BANYAN_NOTIFY = {**settings.BANYAN_NOTIFY, "GATEWAY_TOKEN": TOKEN}
    resident = (
        Resident.objects.filter(
            household__grid__code="G01", care_profiles__is_active=True, account__isnull=True
        )
        .exclude(phone_index="")
        .order_by("pk")
        .first()
    )
    assert resident is not None
    resident.household.members.exclude(pk=resident.pk).update(phone="", phone_index="")
    isolate(users, epidemic, resident.household)
    services.sweep()
    checkin = CheckIn.objects.get(emergency=epidemic, resident=resident)
    assert checkin.channel in ("sms", "voice") and checkin.phone_index == resident.phone_index
    status, body = post({"channel": "voice", "from": resident.phone, "text": "9"})
    assert status == 200 and body["status"] == "unknown_keyword"
    status, body = post({"channel": "voice", "from": resident.phone, "text": "１"})
    assert status == 200 and body["status"] == "recorded"
    checkin.refresh_from_db()
    assert (checkin.status, checkin.answered_via, checkin.incident) == ("ok", "voice", None)
    entry = AuditEntry.objects.get(action="epidemic.checkin", subject_id=str(resident.household_id))
    assert entry.actor == "gateway:voice" and resident.phone not in str(entry.details)
    # answered: the next reply is not the check-in's
    status, body = post({"channel": "voice", "from": resident.phone, "text": "2"})
    checkin.refresh_from_db()
    assert checkin.status == "ok"


def test_the_roll_call_claims_a_reply_before_the_check_in(users, epidemic, settings):
    """A phone with a roll-call question and a check-in waiting: the first key answers the roll call,
    the next one the check-in."""
    settings.BANYAN_NOTIFY = {**settings.BANYAN_NOTIFY, "GATEWAY_TOKEN": TOKEN}
    resident = (
        Resident.objects.filter(
            household__grid__code="G01", care_profiles__is_active=True, account__isnull=True
        )
        .exclude(phone_index="")
        .order_by("pk")
        .first()
    )
    resident.household.members.exclude(pk=resident.pk).update(phone="", phone_index="")
    isolate(users, epidemic, resident.household)
    services.sweep()
    checkin = CheckIn.objects.get(emergency=epidemic, resident=resident)
    roll_call = rollcall.start_roll_call(actor=users["director"], emergency=epidemic)
    entry = Entry.objects.get(roll_call=roll_call, household=resident.household)
    assert entry.phone_index == checkin.phone_index
    assert post({"channel": "sms", "from": resident.phone, "text": "1"})[1]["status"] == "recorded"
    entry.refresh_from_db()
    checkin.refresh_from_db()
    assert (entry.status, checkin.status) == ("safe", "waiting")
    assert post({"channel": "sms", "from": resident.phone, "text": "2"})[1]["status"] == "recorded"
    checkin.refresh_from_db()
    assert checkin.status == "need_help" and checkin.incident is not None
