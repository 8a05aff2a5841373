"""The roll call's services: who is asked how, answers in the app, by SMS and by staff, the visits for
those who do not answer, the counts, the curve and the names the board masks."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency.models import Plan, Task, TimelineEntry
from banyan.emergency.rollcall import services
from banyan.emergency.rollcall.models import Entry, RollCall
from banyan.emergency.rollcall.tests.conftest import make_emergency
from banyan.notify.inbound import receive
from banyan.notify.models import Message
from banyan.people.models import CareProfile, Household
from banyan.response.flow import Status
from banyan.response.models import Incident


def test_every_household_of_the_area_is_asked_once_vulnerable_first(users, emergency, grid_g01):
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    entries = list(Entry.objects.filter(roll_call=roll_call).order_by("pk"))
    households = set(Household.objects.filter(grid=grid_g01).values_list("pk", flat=True))
    assert {e.household_id for e in entries} == households
    assert len(entries) == len(households)
    in_care = set(
        CareProfile.objects.filter(is_active=True, resident__household__grid=grid_g01).values_list(
            "resident__household_id", flat=True
        )
    )
    assert in_care, "the seed has residents in care in G01"
    assert {e.household_id for e in entries if e.vulnerable} == in_care
    # queued first: the vulnerable households' entries and messages come before the others'
    flags = [e.vulnerable for e in entries]
    assert flags == sorted(flags, reverse=True)
    asked = [e for e in entries if e.message_id]
    first_other = min(e.message_id for e in asked if not e.vulnerable)
    assert all(e.message_id < first_other for e in asked if e.vulnerable)
    # resident01 has an account: asked in the app, to that account
    mine = next(e for e in entries if e.household_id == users["resident01"].resident.household_id)
    assert (mine.channel, mine.asked_user_id) == ("in_app", users["resident01"].pk)
    message = Message.objects.get(pk=mine.message_id)
    assert message.recipient_id == users["resident01"].pk and message.kind == "emergency.roll_call"
    assert list(message.deliveries.values_list("channel", flat=True)) == ["in_app"]
    # the others by SMS (a call for those in care who need one), their phone kept as a blind index only
    by_phone = [e for e in entries if e.channel in ("sms", "voice")]
    assert by_phone and all(e.phone_index and e.asked_user_id is None for e in by_phone)
    for entry in by_phone:
        kinds = set(
            CareProfile.objects.filter(resident=entry.resident, is_active=True).values_list("kind", flat=True)
        )
        assert (entry.channel == "voice") == bool(kinds & services.VOICE_KINDS)
    timeline = TimelineEntry.objects.get(emergency=emergency, kind="roll_call_started")
    assert timeline.details["households"] == len(entries) and timeline.actor == users["director"]
    audit = AuditEntry.objects.filter(action="roll_call.start", subject_id=str(emergency.pk)).get()
    assert audit.details["vulnerable"] == len(in_care)


def test_a_household_nobody_can_reach_is_visited_at_the_first_sweep_after_the_vulnerable_wait(
    users, emergency, grid_g01, sim
):
    household = Household.objects.filter(grid=grid_g01).exclude(members__account__isnull=False).first()
    household.members.update(phone="", phone_index="")
    CareProfile.objects.filter(resident__household=household).delete()
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    entry = Entry.objects.get(roll_call=roll_call, household=household)
    assert entry.channel == "none" and entry.message_id is None and not entry.vulnerable
    services.follow_up_roll_calls()
    entry.refresh_from_db()
    assert entry.status == "waiting"  # not vulnerable: the vulnerable households' visits go first
    sim.advance(dt.timedelta(minutes=roll_call.vulnerable_wait_minutes))
    counts = services.follow_up_roll_calls()
    entry.refresh_from_db()
    assert entry.status == "visiting" and counts["visits"] >= 1


def test_only_managers_start_and_only_once_for_an_active_emergency(users, emergency):
    for username in ("grid01", "volunteer01", "auditor", "resident01"):
        with pytest.raises(PermissionDenied):
            services.start_roll_call(actor=users[username], emergency=emergency)
    assert not RollCall.objects.exists()
    proposed = make_emergency(status="proposed")
    with pytest.raises(InvalidInput) as error:
        services.start_roll_call(actor=users["director"], emergency=proposed)
    assert error.value.field == "emergency"
    with pytest.raises(InvalidInput) as error:
        services.start_roll_call(actor=users["director"], emergency=emergency, wait_minutes=0)
    assert error.value.field == "wait_minutes"
    services.start_roll_call(actor=users["director"], emergency=emergency)
    with pytest.raises(Conflict):
        services.start_roll_call(actor=users["street01"], emergency=emergency)
    assert RollCall.objects.filter(emergency=emergency).count() == 1


def test_the_resident_answers_safe_then_need_help_which_opens_an_incident(users, emergency):
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    resident = users["resident01"]
    entry = Entry.objects.get(roll_call=roll_call, household_id=resident.resident.household_id)
    with pytest.raises(InvalidInput) as error:
        services.answer(actor=resident, entry=entry, status="fine")
    assert error.value.field == "status"
    entry = services.answer(actor=resident, entry=entry, status="safe")
    assert (entry.status, entry.answered_via, entry.answered_by) == ("safe", "in_app", resident)
    assert entry.accounted_at == clock.now() and entry.incident is None
    entry = services.answer(actor=resident, entry=entry, status="need_help")
    assert entry.status == "need_help"
    incident = Incident.objects.get(pk=entry.incident_id)
    assert (
        incident.category.code == "wellness_check" and incident.unit_id == resident.resident.household.unit_id
    )
    assert incident.grade == "orange" and incident.assignee_id is not None  # dispatched at once
    with pytest.raises(InvalidInput):
        services.answer(actor=resident, entry=entry, status="safe")
    assert AuditEntry.objects.filter(action="roll_call.answer").count() == 2
    # another resident's household is not theirs to answer
    other = Entry.objects.filter(roll_call=roll_call).exclude(pk=entry.pk).first()
    with pytest.raises(NotFound):
        services.answer(actor=resident, entry=other, status="safe")


def test_sms_replies_are_claimed_before_the_daily_check_in(users, emergency, grid_g01):
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    entry = Entry.objects.filter(roll_call=roll_call, channel="sms").select_related("resident").first()
    phone = entry.resident.phone
    answer = receive(channel="sms", phone=phone, text="hello")
    assert answer.status == "unknown_keyword" and "1" in answer.reply
    answer = receive(channel="sms", phone=phone, text="2")
    assert answer.status == "recorded"
    entry.refresh_from_db()
    assert (entry.status, entry.answered_via, entry.answered_by) == ("need_help", "sms", None)
    assert entry.incident is not None
    audit = AuditEntry.objects.get(action="roll_call.answer")
    assert (audit.actor, audit.actor_id, audit.details["status"]) == ("gateway:sms", None, "need_help")
    assert phone not in str(audit.details)
    # answered: the next message from that phone is no longer the roll call's (care answers it)
    answer = receive(channel="sms", phone=phone, text="1")
    entry.refresh_from_db()
    assert entry.status == "need_help"
    # a phone nobody asked: left to care's handler, which does not know it
    assert receive(channel="sms", phone="13800000001", text="1").status == "unknown_number"


def test_no_answer_after_the_wait_sends_someone_on_foot_until_accounted(users, emergency, sim):
    roll_call = services.start_roll_call(
        actor=users["director"], emergency=emergency, wait_minutes=15, vulnerable_wait_minutes=15
    )
    entry = Entry.objects.filter(roll_call=roll_call, vulnerable=True, channel__in=["sms", "voice"]).first()
    nobody = Entry.objects.filter(roll_call=roll_call, channel="none", vulnerable=True).count()
    assert services.follow_up_roll_calls()["visits"] == nobody  # vulnerable, nobody could ask: at once
    sim.advance(dt.timedelta(minutes=14))
    assert services.follow_up_roll_calls()["visits"] == 0
    sim.advance(dt.timedelta(minutes=1))
    counts = services.follow_up_roll_calls()
    assert counts["visits"] + nobody == Entry.objects.filter(roll_call=roll_call, status="visiting").count()
    assert counts["visits"] > 0
    entry.refresh_from_db()
    assert entry.status == "visiting" and entry.visit_sent_at == clock.now()
    incident = entry.incident
    assert incident.category.code == "wellness_check" and incident.unit_id == entry.household.unit_id
    assert incident.assignee is not None and incident.assignee.role in ("grid_worker", "volunteer")
    task = Task.objects.get(pk=entry.task_id)
    assert (task.kind, task.incident_id, task.emergency_id) == ("door_knock", incident.pk, emergency.pk)
    assert task.assignee_id == incident.assignee_id and task.status == "open"
    assert services.follow_up_roll_calls()["visits"] == 0  # once
    Incident.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    sim.advance(dt.timedelta(minutes=5))
    assert services.follow_up_roll_calls()["accounted"] == 1
    entry.refresh_from_db()
    task.refresh_from_db()
    assert (entry.status, entry.answered_via, entry.accounted_at) == ("accounted", "visit", clock.now())
    assert (task.status, task.done_at) == ("done", clock.now())
    assert AuditEntry.objects.filter(action="roll_call.accounted").count() == 1


def test_an_answer_after_the_visit_was_sent_withdraws_it_or_keeps_it_as_the_help(users, emergency, sim):
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    sim.advance(dt.timedelta(minutes=roll_call.vulnerable_wait_minutes))
    services.follow_up_roll_calls()
    visiting = list(
        Entry.objects.filter(roll_call=roll_call, status="visiting", channel="sms")
        .select_related("resident", "incident", "task")
        .order_by("pk")[:2]
    )
    assert len(visiting) == 2
    safe, help_ = visiting
    assert receive(channel="sms", phone=safe.resident.phone, text="1").status == "recorded"
    safe.refresh_from_db()
    incident, task = Incident.objects.get(pk=safe.incident_id), Task.objects.get(pk=safe.task_id)
    assert (safe.status, incident.status, task.status) == ("safe", "cancelled", "cancelled")
    assert "无需上门" in incident.events.filter(kind="cancel").get().note  # why, on its timeline
    audit = AuditEntry.objects.filter(action="roll_call.answer", subject_id=str(safe.household_id)).get()
    assert audit.details["visit_withdrawn"] == incident.pk
    # "need help" while the knock is on its way: that visit is the help, no second incident
    before = Incident.objects.count()
    assert receive(channel="sms", phone=help_.resident.phone, text="2").status == "recorded"
    help_.refresh_from_db()
    assert help_.status == "need_help" and Incident.objects.count() == before
    assert Incident.objects.get(pk=help_.incident_id).status in ("new", "assigned")


def test_a_vulnerable_household_is_visited_after_its_shorter_wait(users, emergency, sim):
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency, wait_minutes=15)
    assert (roll_call.wait_minutes, roll_call.vulnerable_wait_minutes) == (15, 5)  # the default: 5 minutes
    asked = Entry.objects.filter(roll_call=roll_call).exclude(channel="none")
    nobody = Entry.objects.filter(roll_call=roll_call, channel="none")
    # the vulnerable households nobody could ask: at once; the others nobody could ask wait 5 minutes
    assert services.follow_up_roll_calls()["visits"] == nobody.filter(vulnerable=True).count()
    sim.advance(dt.timedelta(minutes=4))
    assert services.follow_up_roll_calls()["visits"] == 0
    sim.advance(dt.timedelta(minutes=1))
    others_nobody = nobody.filter(vulnerable=False).count()
    assert services.follow_up_roll_calls()["visits"] == asked.filter(vulnerable=True).count() + others_nobody
    assert asked.filter(vulnerable=True).exists()
    assert not asked.filter(vulnerable=False, status="visiting").exists()
    sim.advance(dt.timedelta(minutes=10))
    assert services.follow_up_roll_calls()["visits"] == asked.filter(vulnerable=False).count() > 0


def test_the_waits_come_from_the_plan_and_are_checked(users, emergency):
    plan = Plan.objects.filter(community=emergency.community, hazard="typhoon", level=2).first()
    assert plan is not None, "the seed installs the community's plans"
    plan.body = {**plan.body, "roll_call": {"wait_minutes": 20, "vulnerable_wait_minutes": 7}}
    plan.save(update_fields=["body"])
    emergency.plan = plan
    emergency.save(update_fields=["plan"])
    with pytest.raises(InvalidInput) as error:
        services.start_roll_call(actor=users["director"], emergency=emergency, vulnerable_wait_minutes=21)
    assert error.value.field == "vulnerable_wait_minutes" and "20" in error.value.message
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    assert (roll_call.wait_minutes, roll_call.vulnerable_wait_minutes) == (20, 7)


def test_counts_and_the_accounted_curve(users, emergency, sim):
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    vulnerable = list(Entry.objects.filter(roll_call=roll_call, vulnerable=True).order_by("pk"))
    assert len(vulnerable) >= 2
    assert services.accounted_curve(roll_call) == [(0.0, 0.0)]
    sim.advance(dt.timedelta(minutes=3))
    Entry.objects.filter(pk=vulnerable[0].pk).update(status="safe", accounted_at=clock.now())
    sim.advance(dt.timedelta(minutes=7))
    Entry.objects.filter(pk=vulnerable[1].pk).update(status="accounted", accounted_at=clock.now())
    total = len(vulnerable)
    assert services.accounted_curve(roll_call) == [(0.0, 0.0), (3.0, 1 / total), (10.0, 2 / total)]
    counts = services.counts(roll_call)
    assert (counts.safe, counts.accounted, counts.vulnerable, counts.vulnerable_accounted) == (1, 1, total, 2)
    assert counts.asked == Entry.objects.filter(roll_call=roll_call).count()
    assert counts.waiting == counts.asked - 2 and counts.accounted_for == 2


def test_staff_mark_safe_and_the_board_masks_names(users, emergency):
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    entry = Entry.objects.filter(roll_call=roll_call, vulnerable=True).select_related("resident").first()
    for username in ("volunteer01", "auditor", "property01"):
        with pytest.raises(PermissionDenied):
            services.record_safe(actor=users[username], entry=entry)
    with pytest.raises(NotFound):  # grid02 does not see G01's households
        services.record_safe(actor=users["grid02"], entry=entry)
    with pytest.raises(InvalidInput) as error:
        services.record_safe(actor=users["grid01"], entry=entry, note="x\x00")
    assert error.value.field == "note"
    services.record_safe(actor=users["grid01"], entry=entry, note="电话联系上了")
    entry.refresh_from_db()
    assert (entry.status, entry.answered_via, entry.answered_by) == ("safe", "staff", users["grid01"])
    with pytest.raises(InvalidInput):
        services.record_safe(actor=users["grid01"], entry=entry)
    other = Entry.objects.filter(roll_call=roll_call, status="waiting").select_related("resident").first()
    director = services.board(users["director"], emergency)
    row = next(r for r in director.unaccounted if r.entry.pk == other.pk)
    assert row.name == other.resident.name and director.may_mark and not director.may_start
    auditor = services.board(users["auditor"], emergency)
    row = next(r for r in auditor.unaccounted if r.entry.pk == other.pk)
    assert row.name != other.resident.name and row.name.startswith(other.resident.name[0]) and "*" in row.name
    assert not auditor.may_mark and not auditor.may_start
    assert director.counts.safe == 1 and all(r.entry.pk != entry.pk for r in director.unaccounted)


def test_a_stood_down_emergency_closes_its_roll_call(users, emergency):
    roll_call = services.start_roll_call(actor=users["director"], emergency=emergency)
    type(emergency).objects.filter(pk=emergency.pk).update(status="stood_down")
    assert services.follow_up_roll_calls()["closed"] == 1
    roll_call.refresh_from_db()
    assert roll_call.closed_at == clock.now()
    assert services.follow_up_roll_calls()["visits"] == 0
