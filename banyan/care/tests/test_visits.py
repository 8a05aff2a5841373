"""Missed means someone goes: a check-in missed past its grace is retried on the plan's next channels,
then a wellness visit is dispatched on foot; the visit's outcome closes the loop or escalates. On
simulated time; the job is idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.care import services, visits
from banyan.care.choices import FollowUpStatus
from banyan.care.models import CheckIn, FollowUp, Visit
from banyan.care.tests.conftest import at
from banyan.core import clock, vault
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.notify.models import Delivery, Message
from banyan.people.carers import consented_carers
from banyan.people.models import Resident, User
from banyan.response.models import Incident, Responder, Shift
from banyan.response.services import candidates_for, open_incident


@pytest.fixture
def plan(users, sim):
    resident = (
        Resident.objects.restrict(users["grid01"])
        .filter(care_profiles__is_active=True, household__unit__isnull=False)
        .order_by("id")
        .first()
    )
    assert resident is not None
    resident.phone = "13912345678"  # SMS and voice retries reach them
    resident.phone_index = vault.blind_index("phone", "13912345678")
    resident.save(update_fields=["phone", "phone_index"])
    made = services.create_plan(actor=users["director"], resident=resident)
    return services.update_plan(
        actor=users["director"],
        plan=made,
        data={
            "channels": ["app", "sms", "voice", "carer"],
            "escalation": "next_channel",
            "grace_minutes": 60,
        },
    )


def _visit_of(plan, sim) -> Incident:
    """Walk the plan's missed check-in to its visit: the retries, 15 minutes apart, then the visit."""
    at(sim, 10, 1)
    for _step in range(4):
        if visits.follow_missed()["visits"]:
            break
        sim.advance(dt.timedelta(minutes=15))
    follow_up = FollowUp.objects.get(resident=plan.resident)
    assert follow_up.status == FollowUpStatus.VISITING
    return follow_up.incident


def test_nothing_is_missed_within_the_grace_period(plan, sim):
    at(sim, 9, 59)
    assert visits.follow_missed()["started"] == 0
    assert not FollowUp.objects.exists()


def test_a_missed_checkin_is_retried_on_the_next_channels_then_someone_goes(plan, sim):
    at(sim, 10, 1)
    first = visits.follow_missed()
    assert (first["started"], first["retried"]) == (1, 1)
    again = visits.follow_missed()  # the same minute: nothing more
    assert again == {"started": 0, "answered": 0, "retried": 0, "visits": 0}
    follow_up = FollowUp.objects.get(resident=plan.resident)
    assert [r["channel"] for r in follow_up.retries] == ["sms"]
    assert follow_up.retries[0]["sent"] is True
    message = Message.objects.filter(kind="care.checkin_retry").get()
    assert set(Delivery.objects.filter(message=message).values_list("channel", flat=True)) == {"sms"}
    sim.advance(dt.timedelta(minutes=15))
    visits.follow_missed()
    sim.advance(dt.timedelta(minutes=15))
    counts = visits.follow_missed()
    follow_up.refresh_from_db()
    assert [r["channel"] for r in follow_up.retries] == ["sms", "voice", "carer"]
    told = Message.objects.filter(kind="carer.checkin.missed").exists()
    assert follow_up.retries[2]["sent"] is told is bool(consented_carers(plan.resident))
    if told:  # someone to wait for: the visit comes after another 15 minutes
        assert follow_up.incident is None and counts["visits"] == 0
        sim.advance(dt.timedelta(minutes=15))
        assert visits.follow_missed()["visits"] == 1
    else:  # nobody to tell: the visit goes out in the same round
        assert counts["visits"] == 1
    follow_up.refresh_from_db()
    incident = follow_up.incident
    assert follow_up.status == FollowUpStatus.VISITING
    assert incident.category.code == "wellness_check" and incident.unit == plan.resident.household.unit
    assert incident.assignee is not None and incident.assignee.role in ("grid_worker", "volunteer")
    assert incident.status == "assigned"
    sim.advance(dt.timedelta(hours=1))
    assert visits.follow_missed()["visits"] == 0
    assert Incident.objects.filter(category__code="wellness_check", unit=incident.unit).count() == 1


def test_a_channel_that_reaches_nobody_is_passed_at_once(plan, sim):
    resident = plan.resident
    resident.phone, resident.phone_index = "", ""
    resident.save(update_fields=["phone", "phone_index"])
    at(sim, 10, 1)
    counts = visits.follow_missed()
    follow_up = FollowUp.objects.get(resident=resident)
    sent = [r["sent"] for r in follow_up.retries]
    assert sent[:2] == [False, False], "no phone: SMS and voice reach nobody"
    if bool(consented_carers(resident)):
        assert counts["retried"] == 1 and follow_up.status == FollowUpStatus.RETRYING
    else:
        assert counts["visits"] == 1 and follow_up.status == FollowUpStatus.VISITING, "nobody to wait for"


def test_an_answer_during_the_retries_ends_the_follow_up(plan, sim, users):
    at(sim, 10, 1)
    visits.follow_missed()
    sim.advance(dt.timedelta(minutes=5))
    services.record_checkin(actor=users["grid01"], resident=plan.resident, outcome="fine", channel="sms")
    sim.advance(dt.timedelta(minutes=10))
    assert visits.follow_missed()["answered"] == 1
    follow_up = FollowUp.objects.get(resident=plan.resident)
    assert follow_up.status == FollowUpStatus.ANSWERED and follow_up.incident is None
    sim.advance(dt.timedelta(hours=2))
    assert visits.follow_missed() == {"started": 0, "answered": 0, "retried": 0, "visits": 0}


def test_a_plan_that_sends_someone_skips_the_retries(plan, sim, users):
    services.update_plan(actor=users["director"], plan=plan, data={"escalation": "wellness_visit"})
    at(sim, 10, 1)
    counts = visits.follow_missed()
    assert (counts["started"], counts["retried"], counts["visits"]) == (1, 0, 1)


def test_well_closes_the_loop(plan, sim):
    incident = _visit_of(plan, sim)
    visitor = incident.assignee
    visit = visits.record_visit(actor=visitor, incident=incident, outcome="well", note="Watching TV.")
    assert visit.by == visitor and visit.resident == plan.resident
    checkin = CheckIn.objects.get(resident=plan.resident)
    assert (checkin.channel, checkin.outcome, checkin.by) == ("staff", "fine", visitor)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert FollowUp.objects.get(resident=plan.resident).status == FollowUpStatus.SEEN
    entry = AuditEntry.objects.filter(action="care_visit.record").get()
    assert entry.subject_id == str(plan.resident.pk)
    assert entry.details == {"outcome": "well", "incident": incident.pk, "status": "seen"}


def test_not_at_home_twice_escalates(plan, sim):
    incident = _visit_of(plan, sim)
    visitor = incident.assignee
    visits.record_visit(actor=visitor, incident=incident, outcome="not_home")
    follow_up = FollowUp.objects.get(resident=plan.resident)
    assert (follow_up.not_home, follow_up.status) == (1, FollowUpStatus.VISITING)
    assert not Message.objects.filter(kind="care.not_home").exists()
    asked = Message.objects.filter(kind="care.not_home_first").exists()
    assert asked is bool(consented_carers(plan.resident)), "the carers are asked where they are at once"
    sim.advance(dt.timedelta(hours=1))
    visits.record_visit(actor=visitor, incident=incident, outcome="not_home", note="Neighbours away too.")
    follow_up.refresh_from_db()
    assert (follow_up.not_home, follow_up.status) == (2, FollowUpStatus.ESCALATED)
    assert Message.objects.filter(kind="care.not_home").exists()
    assert Visit.objects.filter(follow_up=follow_up, outcome="not_home").count() == 2


def test_needs_help_opens_an_urgent_incident(plan, sim):
    incident = _visit_of(plan, sim)
    visits.record_visit(actor=incident.assignee, incident=incident, outcome="needs_help", note="Fell.")
    checkin = CheckIn.objects.get(resident=plan.resident)
    assert checkin.outcome == "need_help" and checkin.incident is not None
    assert checkin.incident.category.code == "fall_medical" and checkin.incident.pk != incident.pk
    assert FollowUp.objects.get(resident=plan.resident).status == FollowUpStatus.ESCALATED


def test_only_the_one_sent_records_the_visit(plan, sim, users):
    incident = _visit_of(plan, sim)
    other = users["grid02"] if incident.assignee != users["grid02"] else users["grid01"]
    with pytest.raises(PermissionDenied):
        visits.record_visit(actor=other, incident=incident, outcome="well")
    with pytest.raises(InvalidInput) as bad:
        visits.record_visit(actor=incident.assignee, incident=incident, outcome="fine")
    assert bad.value.field == "outcome"
    plain = open_incident(
        actor=users["director"], category="flooding", source="staff", unit=plan.resident.household.unit
    )
    with pytest.raises(InvalidInput) as not_a_visit:
        visits.record_visit(actor=users["director"], incident=plain, outcome="well")
    assert not_a_visit.value.field == "incident"
    assert not Visit.objects.exists()


def test_volunteers_serving_the_community_are_candidates_for_a_visit(plan, sim, users):
    volunteer = User.objects.filter(role="volunteer", is_active=True).order_by("pk").first()
    incident = open_incident(
        actor=users["director"],
        category="wellness_check",
        source="staff",
        unit=plan.resident.household.unit,
        dispatch_now=False,
    )
    roles = {r.user.role for r in candidates_for(incident)}
    assert "grid_worker" in roles
    if Responder.objects.filter(user=volunteer).exists():
        assert "volunteer" in roles
    flooding = open_incident(
        actor=users["director"], category="flooding", source="staff", unit=plan.resident.household.unit
    )
    assert {r.user.role for r in candidates_for(flooding)} <= {"property_staff"}
    assert Shift.objects.exists()


def test_an_inactivity_alert_of_a_resident_with_a_plan_sends_someone(plan, sim):
    from banyan.response.services import open_incidents_for_alerts
    from banyan.sensing.models import Device
    from banyan.warning.models import Alert, Rule

    at(sim, 8, 30)  # before the check-in is due: the alert alone sends someone
    unit = plan.resident.household.unit
    rule = Rule.objects.filter(incident_category="wellness_check", kind="no_data").order_by("pk").first()
    device = Device.objects.create(
        code="T-WATER-CARE",
        kind="water_meter",
        community=unit.building.grid.parent,
        grid=unit.building.grid,
        building=unit.building,
        unit=unit,
        resident=plan.resident,
        expected_interval_s=3600,
        installed_at=clock.now(),
    )
    alert = Alert.objects.create(
        rule=rule,
        subject=device.code,
        community=device.community,
        grid=device.grid,
        device=device,
        grade=rule.grade,
        raised_at=clock.now(),
        updated_at=clock.now(),
    )
    open_incidents_for_alerts()
    counts = visits.follow_missed()
    assert (counts["started"], counts["retried"]) == (1, 0)
    follow_up = FollowUp.objects.get(resident=plan.resident)
    assert follow_up.reason == "inactivity" and follow_up.status == FollowUpStatus.VISITING
    assert follow_up.incident is not None and follow_up.incident.alert_id == alert.pk
    assert Incident.objects.filter(alert=alert).count() == 1
    assert visits.follow_missed()["started"] == 0


def test_the_visit_is_recorded_from_the_task_page(plan, sim, signed_in):
    incident = _visit_of(plan, sim)
    visitor = incident.assignee
    client = signed_in(visitor.username, "zh-hans")
    tasks = client.get("/response/tasks/")
    assert f"/care/visits/{incident.pk}/" in tasks.content.decode()
    page = client.get(f"/care/visits/{incident.pk}/")
    assert page.status_code == 200 and "登记探视" in page.content.decode()
    refused = client.post(f"/care/visits/{incident.pk}/", {"outcome": "fine"})
    assert refused.status_code == 200 and not Visit.objects.exists()
    done = client.post(f"/care/visits/{incident.pk}/", {"outcome": "not_home", "note": "敲门无人应"})
    assert done.status_code == 302
    visit = Visit.objects.get()
    assert (visit.outcome, visit.note, visit.by) == ("not_home", "敲门无人应", visitor)
    client.post("/elder-mode/", {"next": "/"})
    elder = client.get(f"/care/visits/{incident.pk}/").content.decode()
    assert 'class="elder"' in elder and "button--big" in elder and "不在家" in elder  # the earlier visit
    english = signed_in(visitor.username, "en").get(f"/care/visits/{incident.pk}/").content.decode()
    assert "Record the visit" in english and "Not at home" in english


def test_a_visit_resolved_on_the_incident_page_is_seen(plan, sim):
    from banyan.response.services import act

    incident = _visit_of(plan, sim)
    act(actor=incident.assignee, incident=incident, move="accept")
    incident.refresh_from_db()
    visits.follow_missed()
    assert FollowUp.objects.get(resident=plan.resident).status == FollowUpStatus.VISITING
    act(actor=incident.assignee, incident=incident, move="resolve", note="她在家，一切安好。")
    visits.follow_missed()
    follow_up = FollowUp.objects.get(resident=plan.resident)
    assert follow_up.status == FollowUpStatus.SEEN and follow_up.ended_at == clock.now()


def test_the_visit_photo_is_kept_clean_and_shown_to_those_who_may_see_care(plan, sim, signed_in, users):
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 180, 20)).save(picture, "JPEG")
    incident = _visit_of(plan, sim)
    visitor = incident.assignee
    visit = visits.record_visit(
        actor=visitor, incident=incident, outcome="well", note="门口合影", photo=picture.getvalue()
    )
    url = f"/care/visits/photos/{visit.pk}"
    page = signed_in("director").get(f"/care/residents/{plan.resident_id}/checkin").content.decode()
    assert url in page and "门口合影" in page
    shown = signed_in(visitor.username).get(url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(shown.content)).size == (40, 30)
    assert signed_in("grid02").get(url).status_code == 404, "another grid's care"
    assert signed_in("auditor").get(url).status_code == 404, "a role that may not see care"
    assert signed_in("director").get("/care/visits/photos/999999").status_code == 404
