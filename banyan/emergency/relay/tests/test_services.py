"""Relaying official warnings as received (area, language, channels, subscriptions, once), community
notices (audience, channels, who may), the not-reached list and the door-knocking it becomes."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency.models import Task, TimelineEntry
from banyan.emergency.relay import services
from banyan.emergency.relay.models import Notice, Recipient, RelayedWarning, Subscription
from banyan.emergency.relay.tests.conftest import (
    DESCRIPTION_EN,
    DESCRIPTION_ZH,
    HEADLINE_EN,
    HEADLINE_ZH,
    INSTRUCTION_ZH,
    import_warning,
    make_emergency,
)
from banyan.notify.models import Delivery, Message, Preference
from banyan.people.models import CareProfile, Carer, Resident
from banyan.places.geo import rectangle
from banyan.places.models import Building
from banyan.processes.management.commands.worker import run_once
from banyan.response.models import Incident


def residents_in(region) -> set[int]:
    return set(
        Resident.objects.filter(household__grid__path__startswith=region.path).values_list("pk", flat=True)
    )


def test_a_red_warning_reaches_everyone_in_its_area_as_received(users, sim, community):
    warning = import_warning("HZ-RED-1", region=community)
    assert services.relay_new_warnings() == 1
    relay = RelayedWarning.objects.get(warning=warning, community=community)
    assert relay.is_red
    told = Recipient.objects.filter(relay=relay)
    assert set(told.values_list("resident_id", flat=True)) == residents_in(community)
    # resident01 has an account: told in the app, the Chinese CAP info word for word, the sender named
    mine = told.get(resident=users["resident01"].resident)
    [message] = mine.messages.filter(recipient=users["resident01"])
    assert message.subject == HEADLINE_ZH
    assert message.body == f"{DESCRIPTION_ZH}\n\n{INSTRUCTION_ZH}\n\n来源：杭州市气象台"
    assert "in_app" in mine.channels
    assert message.deliveries.filter(channel="in_app").exists()
    # the others (no account) by SMS to the phone in the vault, in Chinese
    others = told.exclude(resident__account__isnull=False).exclude(resident__phone="")
    sample = others.first()
    assert "sms" in sample.channels
    sms = sample.messages.get(recipient__isnull=True)
    assert sms.subject == HEADLINE_ZH and sms.deliveries.filter(channel="sms").exists()
    # those in care first: in the order, and their messages (so their sending) before anyone else's
    flags = list(told.order_by("position").values_list("is_vulnerable", flat=True))
    assert flags == sorted(flags, reverse=True) and flags[0]
    first_other = min(
        Message.objects.filter(relay_recipients__in=told.filter(is_vulnerable=False)).values_list(
            "pk", flat=True
        )
    )
    assert all(
        pk < first_other
        for pk in Message.objects.filter(relay_recipients__in=told.filter(is_vulnerable=True)).values_list(
            "pk", flat=True
        )
    )
    # audited, with counts only
    entry = AuditEntry.objects.get(action="relay.warning", subject_id=str(warning.pk))
    assert entry.details["recipients"] == told.count()
    assert "name" not in str(entry.details) and "139" not in str(entry.details)


def test_a_resident_reading_english_gets_the_english_info(users, sim, community):
    Preference.objects.create(user=users["resident01"], language="en")
    import_warning("HZ-RED-EN", region=community)
    services.relay_new_warnings()
    message = Message.objects.get(recipient=users["resident01"], kind="relay.warning")
    assert message.subject == HEADLINE_EN
    assert message.body.startswith(DESCRIPTION_EN)
    assert message.body.endswith("Source: Hangzhou Meteorological Observatory")


def test_a_warning_without_english_reaches_an_english_reader_in_chinese(users, sim, community):
    Preference.objects.create(user=users["resident01"], language="en")
    import_warning("HZ-ZH-ONLY", region=community, english=False)
    services.relay_new_warnings()
    message = Message.objects.get(recipient=users["resident01"], kind="relay.warning")
    assert message.subject == HEADLINE_ZH
    assert message.body.startswith(DESCRIPTION_ZH)
    assert message.body.endswith("Source: 杭州市气象台")


def test_each_resident_is_told_once_per_warning(users, sim, community):
    import_warning("HZ-ONCE", region=community)
    services.relay_new_warnings()
    messages = Message.objects.filter(kind="relay.warning").count()
    assert services.relay_new_warnings() == 0
    assert run_once()["relayed"] == 0
    assert Message.objects.filter(kind="relay.warning").count() == messages


def test_only_the_buildings_inside_the_warning_area_are_told(users, sim, community, grid_g01):
    inside = Building.objects.filter(grid=grid_g01).order_by("code").first()
    box = rectangle(inside.longitude, inside.latitude, 10, 10)
    warning = import_warning("HZ-ONE-BUILDING", polygon=box)
    services.relay_new_warnings()
    told = set(
        Recipient.objects.filter(warning=warning).values_list(
            "resident__household__unit__building", flat=True
        )
    )
    assert told == {inside.pk}


def test_a_warning_far_away_is_not_relayed(sim):
    import_warning("HZ-FAR", polygon=rectangle(100.0, 40.0, 2000, 2000))
    assert services.relay_new_warnings() == 0
    assert not Recipient.objects.exists()


def test_an_expired_or_cancelled_warning_is_not_relayed(sim, community):
    import_warning("HZ-OLD", region=community, expires_in=dt.timedelta(minutes=-1))
    assert services.relay_new_warnings() == 0


def test_lower_grades_follow_subscriptions_red_reaches_everyone(users, sim, community):
    resident = users["resident01"].resident
    services.set_subscription(actor=users["resident01"], place="community", grades=[])
    orange = import_warning("HZ-ORANGE", region=community, severity="Severe", headline_zh="台风橙色预警")
    services.relay_new_warnings()
    assert orange.grade == "orange"
    told = set(Recipient.objects.filter(warning=orange).values_list("resident_id", flat=True))
    assert resident.pk not in told
    assert told == residents_in(community) - {resident.pk}  # no subscription: every grade
    red = import_warning("HZ-RED-2", region=community)
    services.relay_new_warnings()
    assert Recipient.objects.filter(warning=red, resident=resident).exists()
    services.set_subscription(actor=users["resident01"], place="building", grades=["orange"])
    again = import_warning("HZ-ORANGE-2", region=community, severity="Severe", headline_zh="暴雨橙色预警")
    services.relay_new_warnings()
    assert Recipient.objects.filter(warning=again, resident=resident).exists()


def test_red_in_the_headline_is_red_whatever_the_severity(sim, community):
    warning = import_warning("HZ-HEAD-RED", region=community, severity="Moderate", headline_zh="高温红色预警")
    assert services.is_red(warning)


def test_subscriptions_are_the_residents_own_and_checked(users, sim):
    with pytest.raises(PermissionDenied):
        services.set_subscription(actor=users["director"], place="community", grades=[])
    with pytest.raises(InvalidInput) as error:
        services.set_subscription(actor=users["resident01"], place="street", grades=[])
    assert error.value.field == "place"
    with pytest.raises(InvalidInput) as error:
        services.set_subscription(actor=users["resident01"], place="grid", grades=["red"])
    assert error.value.field == "grades"
    assert not Subscription.objects.exists()
    subscription = services.set_subscription(
        actor=users["resident01"], place="grid", grades=["orange", "blue"]
    )
    assert subscription.grades == ["blue", "orange"]
    assert AuditEntry.objects.filter(
        action="relay.subscription", subject_id=str(subscription.resident_id)
    ).exists()


def test_channels_voice_for_care_kinds_and_carers_for_those_who_cannot_receive(
    users, sim, community, grid_g01
):
    account_less = Resident.objects.filter(household__grid=grid_g01, account__isnull=True)
    called = account_less.exclude(phone="").first()
    CareProfile.objects.update_or_create(
        resident=called, kind="disability", defaults={"since": dt.date(2020, 1, 1), "is_active": True}
    )
    unreachable = account_less.exclude(pk=called.pk).first()
    Resident.objects.filter(pk=unreachable.pk).update(phone="", phone_index="")
    profile, _created = CareProfile.objects.update_or_create(
        resident=unreachable, kind="elderly_alone", defaults={"since": dt.date(2020, 1, 1), "is_active": True}
    )
    Carer.objects.filter(care_profile__resident=unreachable).delete()
    carer = Carer.objects.create(care_profile=profile, kind="family", name="女儿", phone="13812345678")
    unreachable.consents.create(
        scope="share_with_carers", given_by="self", granted_at=clock.now(), recorded_by=users["director"]
    )
    warning = import_warning("HZ-CHANNELS", region=community)
    services.relay_new_warnings()
    row = Recipient.objects.get(warning=warning, resident=called)
    assert row.channels == ["sms", "voice"]
    assert set(Delivery.objects.filter(message__relay_recipients=row).values_list("channel", flat=True)) == {
        "sms",
        "voice",
    }
    row = Recipient.objects.get(warning=warning, resident=unreachable)
    assert row.channels == ["carer"]
    [message] = row.messages.all()
    assert message.kind == "relay.warning.carer" and message.subject == HEADLINE_ZH
    assert message.recipient_phone == carer.phone
    assert message.kind in services.RELAY_KINDS


# --- notices ----------------------------------------------------------------------------------------


def test_a_notice_goes_to_the_affected_area_on_every_channel_vulnerable_first(users, emergency, grid_g01):
    notice = services.send_notice(
        actor=users["director"],
        emergency=emergency,
        text_zh="请到3号楼避难点。",
        text_en="Go to shelter 3.",
        audience="area",
    )
    told = Recipient.objects.filter(notice=notice)
    assert set(told.values_list("resident_id", flat=True)) == residents_in(grid_g01)
    mine = told.get(resident=users["resident01"].resident)
    message = mine.messages.get(recipient=users["resident01"])
    assert message.body == "请到3号楼避难点。" and message.subject == "社区通知：台风“梅花”"
    channels = set(message.deliveries.values_list("channel", flat=True))
    assert "in_app" in channels and ("sms" in channels) == bool(users["resident01"].resident.phone)
    flags = list(told.order_by("position").values_list("is_vulnerable", flat=True))
    assert flags == sorted(flags, reverse=True)
    entry = TimelineEntry.objects.get(emergency=emergency, kind="notice_sent")
    assert entry.actor == users["director"] and entry.details["recipients"] == told.count()
    assert AuditEntry.objects.filter(action="relay.notice", subject_id=str(emergency.pk)).exists()


def test_a_notice_to_the_vulnerable_only_reaches_residents_in_care(users, emergency, grid_g01):
    notice = services.send_notice(
        actor=users["director"], emergency=emergency, text_zh="注意", audience="vulnerable"
    )
    in_care = set(
        CareProfile.objects.filter(is_active=True, resident__household__grid=grid_g01).values_list(
            "resident", flat=True
        )
    )
    assert in_care and set(notice.recipients.values_list("resident_id", flat=True)) == in_care


def test_only_managers_of_an_active_emergency_send_notices(users, emergency):
    for username in ("grid01", "volunteer01", "auditor", "resident01", "property01"):
        with pytest.raises(NotFound):
            services.send_notice(actor=users[username], emergency=emergency, text_zh="x", audience="area")
    with pytest.raises(InvalidInput) as error:
        services.send_notice(actor=users["director"], emergency=emergency, text_zh="  ", audience="area")
    assert error.value.field == "text_zh"
    with pytest.raises(InvalidInput) as error:
        services.send_notice(actor=users["director"], emergency=emergency, text_zh="好", audience="street")
    assert error.value.field == "audience"
    with pytest.raises(InvalidInput) as error:
        services.send_notice(
            actor=users["director"], emergency=emergency, text_zh="x" * 1001, audience="area"
        )
    assert error.value.field == "text_zh"
    stood_down = make_emergency(status="stood_down")
    with pytest.raises(Conflict):
        services.send_notice(actor=users["director"], emergency=stood_down, text_zh="好", audience="area")
    assert not Notice.objects.exists() and not Message.objects.filter(kind__startswith="relay").exists()


def test_those_not_reached_become_door_knocking_tasks_dispatched_on_foot(users, emergency, sim, grid_g01):
    notice = services.send_notice(
        actor=users["director"], emergency=emergency, text_zh="请撤离", audience="area"
    )
    # within the wait only those without any channel are listed
    without = {r.resident_id for r in notice.recipients.all() if not r.channels}
    assert {n.resident.pk for n in services.not_reached(emergency)} == without
    sim.advance(dt.timedelta(minutes=services.NOT_REACHED_AFTER_MIN + 1))
    everyone = set(notice.recipients.values_list("resident_id", flat=True))
    assert {n.resident.pk for n in services.not_reached(emergency)} == everyone
    # resident01 read it; another's SMS was delivered: both reached
    reader = users["resident01"].resident
    Message.objects.filter(recipient=users["resident01"], kind="relay.notice").update(
        acknowledged_at=clock.now()
    )
    delivered = next(r for r in notice.recipients.exclude(resident=reader) if "sms" in r.channels)
    Delivery.objects.filter(message__relay_recipients=delivered).update(status="delivered")
    missing = {n.resident.pk for n in services.not_reached(emergency)}
    assert missing == everyone - {reader.pk, delivered.resident_id}
    with pytest.raises(NotFound):
        services.knock_on_doors(actor=users["grid01"], emergency=emergency)
    tasks = services.knock_on_doors(actor=users["director"], emergency=emergency)
    households = set(Resident.objects.filter(pk__in=missing).values_list("household_id", flat=True))
    assert len(tasks) == len(households)
    assert all(t.kind == "door_knock" and t.status == "open" for t in tasks)
    assert {t.key for t in tasks} == {f"knock:{h}" for h in households}
    incidents = Incident.objects.filter(pk__in=[t.incident_id for t in tasks if t.incident_id])
    assert incidents.count() == len(tasks) and all(i.unit is not None for i in incidents)
    assert AuditEntry.objects.filter(action="relay.door_knock", subject_id=str(emergency.pk)).exists()
    # again: nothing new
    assert services.knock_on_doors(actor=users["director"], emergency=emergency) == []
    assert Task.objects.filter(emergency=emergency, kind="door_knock").count() == len(tasks)
    assert all(n.knock_task is not None for n in services.not_reached(emergency))


def test_the_worker_knocks_on_doors_for_notices_missed(users, emergency, sim):
    services.send_notice(
        actor=users["director"], emergency=emergency, text_zh="请撤离", audience="vulnerable"
    )
    run_once()
    before = Task.objects.filter(emergency=emergency, kind="door_knock").count()
    sim.advance(dt.timedelta(minutes=services.NOT_REACHED_AFTER_MIN + 1))
    run_once()
    assert Task.objects.filter(emergency=emergency, kind="door_knock").count() > before


def test_a_relayed_warning_is_on_the_timeline_of_the_open_emergencies(users, emergency, community):
    warning = import_warning("HZ-TIMELINE", region=community)
    services.relay_new_warnings()
    entry = TimelineEntry.objects.get(emergency=emergency, kind="warning_relayed")
    assert entry.details["warning"] == warning.pk and entry.details["recipients"] > 0


def test_a_resident_nobody_can_reach_is_not_reached_at_once(users, emergency, grid_g01):
    lost = Resident.objects.filter(household__grid=grid_g01, account__isnull=True).order_by("id").first()
    Resident.objects.filter(pk=lost.pk).update(phone="", phone_index="")
    Carer.objects.filter(care_profile__resident=lost).delete()
    notice = services.send_notice(
        actor=users["director"], emergency=emergency, text_zh="请撤离", audience="area"
    )
    row = notice.recipients.get(resident=lost)
    assert row.channels == [] and not row.messages.exists()
    [entry] = [n for n in services.not_reached(emergency) if n.resident.pk == lost.pk]
    assert entry.no_channel
    assert services.counts(notice.recipients.all()).no_channel >= 1


def test_a_wider_subscription_takes_warnings_over_another_part_of_the_community(users, sim, grid_g01):
    resident = users["resident01"].resident
    # a corner of resident01's grid, away from its one building
    lon, lat = grid_g01.boundary["coordinates"][0][0]
    corner = rectangle(lon, lat, 10, 10)
    orange = import_warning("HZ-CORNER-1", polygon=corner, severity="Severe", headline_zh="暴雨橙色预警")
    services.relay_new_warnings()
    assert not Recipient.objects.filter(warning=orange, resident=resident).exists()  # default: my building
    services.set_subscription(actor=users["resident01"], place="grid", grades=["orange"])
    again = import_warning("HZ-CORNER-2", polygon=corner, severity="Severe", headline_zh="暴雨橙色预警")
    services.relay_new_warnings()
    assert Recipient.objects.filter(warning=again, resident=resident).exists()
    # another grid's building: only a subscription for the whole community takes it, at its grade
    other = (
        Building.objects.exclude(grid=grid_g01).filter(grid__parent=grid_g01.parent).order_by("code").first()
    )
    there = rectangle(other.longitude, other.latitude, 10, 10)
    services.set_subscription(actor=users["resident01"], place="community", grades=["yellow"])
    third = import_warning("HZ-THERE-1", polygon=there, severity="Severe", headline_zh="暴雨橙色预警")
    services.relay_new_warnings()
    assert not Recipient.objects.filter(warning=third, resident=resident).exists()  # not that grade
    services.set_subscription(actor=users["resident01"], place="community", grades=["orange"])
    fourth = import_warning("HZ-THERE-2", polygon=there, severity="Severe", headline_zh="暴雨橙色预警")
    services.relay_new_warnings()
    told = set(Recipient.objects.filter(warning=fourth).values_list("resident_id", flat=True))
    in_building = set(Resident.objects.filter(household__unit__building=other).values_list("pk", flat=True))
    assert told == in_building | {resident.pk}
    # a red warning there does not reach a resident of another building by default
    red = import_warning("HZ-THERE-RED", polygon=there)
    services.relay_new_warnings()
    assert (
        not Recipient.objects.filter(warning=red).exclude(resident__in=in_building | {resident.pk}).exists()
    )


def test_the_purge_forgets_who_was_told_the_notices(users, emergency):
    notice = services.send_notice(
        actor=users["director"], emergency=emergency, text_zh="请撤离", audience="area"
    )
    told = notice.recipients.count()
    assert told
    counts = services.purge_emergency(emergency)
    assert counts == {"notice_recipients": told}
    assert not Recipient.objects.filter(notice__emergency=emergency).exists()
    assert Notice.objects.filter(pk=notice.pk, text_zh="请撤离").exists()
    assert not Recipient.messages.through.objects.filter(recipient__notice=notice).exists()


def test_a_cancel_tells_those_told_of_the_warning_that_it_is_lifted_once(users, sim, community):
    warning = import_warning("HZ-TO-CANCEL", region=community)
    services.sweep()
    told = set(Recipient.objects.filter(warning=warning).values_list("resident_id", flat=True))
    cancel = import_warning(
        "HZ-CANCEL-1", region=community, cancels=warning, headline_zh="解除台风红色预警信号", english=False
    )
    services.sweep()
    assert set(Recipient.objects.filter(warning=cancel).values_list("resident_id", flat=True)) == told
    message = Message.objects.filter(recipient=users["resident01"], subject_id=str(cancel.pk)).get()
    assert message.subject == "解除台风红色预警信号" and message.body.endswith("来源：杭州市气象台")
    before = Message.objects.count()
    services.sweep()
    assert Message.objects.count() == before


def test_a_cancel_without_words_says_lifted_and_a_cancelled_warning_is_never_relayed(users, sim, community):
    warning = import_warning("HZ-TO-CANCEL-2", region=community)
    services.sweep()
    cancel = import_warning("HZ-CANCEL-2", cancels=warning, infos=False)
    services.sweep()
    message = Message.objects.filter(recipient=users["resident01"], subject_id=str(cancel.pk)).get()
    assert message.subject == f"预警解除：{HEADLINE_ZH}"
    late = import_warning("HZ-LIFTED-EARLY", region=community)
    import_warning("HZ-CANCEL-3", cancels=late, infos=False)
    services.sweep()
    assert not Recipient.objects.filter(warning=late).exists()
