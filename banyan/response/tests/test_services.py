"""Incidents through the database: routing, dispatch, transitions, hand-over, clocks, escalation."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.response import services
from banyan.response.models import DispatchDecision, Incident, Responsibility
from banyan.response.tests.conftest import NOW


def flood(site, actor=None, **kw):
    return services.open_incident(
        actor=actor,
        category="flooding",
        source="staff" if actor else "alert",
        building=site["building"],
        **kw,
    )


def test_an_incident_is_routed_by_the_nearest_cell_and_sent_to_the_nearest_responder(site, users):
    incident = flood(site, users["director"], description="地下车库积水")
    near, middle, far = site["responders"]
    assert (incident.status, incident.accountable, incident.accountable_role) == (
        "assigned",
        site["committee"],
        "grid_worker",
    )
    assert incident.assignee_id == near.user_id
    assert incident.grade == "orange" and incident.acknowledge_due == NOW + dt.timedelta(minutes=2)
    decision = DispatchDecision.objects.get(incident=incident)
    walks = {row["user"]: row["walk_s"] for row in decision.ranking}
    assert walks[near.user_id] < walks[middle.user_id] < walks[far.user_id]
    assert decision.chosen_id == near.user_id and decision.reason == "nearest"
    kinds = list(incident.events.values_list("kind", flat=True))
    assert kinds == ["opened", "assign"]
    assert AuditEntry.objects.filter(subject_type="incident", subject_id=str(incident.pk)).count() == 2


def test_a_grid_cell_wins_over_the_community_cell(site, users):
    from banyan.people.models import Organisation

    property_company = Organisation.objects.get(code="ORG-PROPERTY")
    Responsibility.objects.create(
        category=site["flooding"], region=site["grid"], accountable=property_company, updated_at=NOW
    )
    incident = flood(site, users["director"])
    assert incident.accountable == property_company
    assert incident.status == "new"  # the property company has no responder on duty
    assert DispatchDecision.objects.get(incident=incident).chosen is None


def test_a_matrix_gap_falls_to_the_committee_and_shows_as_a_warning(site, users):
    gaps = services.matrix_gaps(site["grid"].parent)
    assert ("flooding", site["grid"].code) not in {(c.code, g.code) for c, g in gaps}
    assert ("gas", site["grid"].code) in {(c.code, g.code) for c, g in gaps}
    incident = services.open_incident(
        actor=users["director"], category="gas", source="staff", building=site["building"]
    )
    assert incident.accountable == site["committee"] and incident.responsibility is None
    assert incident.events.get(kind="opened").details["matrix_gap"] is True


def test_the_skipped_responders_and_why(site, users):
    near, middle, far = site["responders"]
    near.shifts.all().delete()  # off duty
    middle.capacity = 0
    middle.save()
    incident = flood(site, users["director"])
    assert incident.assignee_id == far.user_id
    reasons = {row["user"]: row["reason"] for row in DispatchDecision.objects.get(incident=incident).ranking}
    assert reasons == {far.user_id: "walking time", near.user_id: "off duty", middle.user_id: "at capacity"}


def test_only_the_assignee_acts_and_a_stale_step_is_refused(site, users):
    incident = flood(site, users["director"])
    near, middle, _far = site["responders"]
    with pytest.raises(NotFound):  # another grid's worker does not even see it
        services.act(actor=middle.user, incident=incident, move="accept")
    with pytest.raises(PermissionDenied):  # the director sees it, but it is not theirs to accept
        services.act(actor=users["director"], incident=incident, move="accept")
    accepted = services.act(actor=near.user, incident=incident, move="accept", version=incident.version)
    assert accepted.status == "accepted" and accepted.accepted_at == NOW
    with pytest.raises(Conflict):  # the same step again, with the old version
        services.act(actor=near.user, incident=incident, move="accept", version=incident.version)
    with pytest.raises(Conflict):  # the same step again, whatever the version
        services.act(actor=near.user, incident=incident, move="accept")
    with pytest.raises(InvalidInput) as error:
        services.act(actor=near.user, incident=incident, move="resolve", note="  ")
    assert error.value.field == "note"
    incident.refresh_from_db()
    assert incident.status == "accepted"


def test_a_decline_sends_it_to_the_next_nearest(site, users):
    incident = flood(site, users["director"])
    near, middle, _far = site["responders"]
    services.act(actor=near.user, incident=incident, move="decline", note="在处理另一起")
    incident.refresh_from_db()
    assert (incident.status, incident.assignee_id) == ("assigned", middle.user_id)
    services.act(actor=middle.user, incident=incident, move="decline")
    incident.refresh_from_db()
    assert incident.assignee_id == site["responders"][2].user_id


def test_the_whole_way_and_a_reopen_keeps_the_history(site, users, now):
    incident = flood(site, users["director"])
    worker = site["responders"][0].user
    door = (site["building"].latitude, site["building"].longitude)
    for move, note in (("accept", ""), ("on_scene", ""), ("resolve", "抽水完毕")):
        now.advance(60)
        services.act(actor=worker, incident=incident, move=move, note=note, position=door)
    services.act(actor=users["director"], incident=incident, move="close")
    incident.refresh_from_db()
    # The phone's position on scene is kept beside the reported place, never over it.
    assert (incident.status, incident.on_scene_at, incident.latitude, incident.on_scene_latitude) == (
        "closed",
        NOW + dt.timedelta(minutes=2),
        None,
        door[0],
    )
    services.act(actor=users["director"], incident=incident, move="reopen", note="又漏水了", assignee=worker)
    incident.refresh_from_db()
    assert incident.status == "assigned" and incident.resolved_at is None
    assert list(incident.events.values_list("kind", flat=True)) == [
        "opened",
        "assign",
        "accept",
        "on_scene",
        "resolve",
        "close",
        "reopen",
    ]


def test_a_hand_over_needs_a_reason_and_shows_on_the_timeline(site, users):
    incident = flood(site, users["director"])
    with pytest.raises(InvalidInput):
        services.hand_over(
            actor=users["director"], incident=incident, organisation=site["street"], reason=" "
        )
    services.hand_over(
        actor=users["director"], incident=incident, organisation=site["street"], reason="需街道协调排水"
    )
    incident.refresh_from_db()
    assert incident.accountable == site["street"] and incident.assignee is None
    event = incident.events.get(kind="handed_over")
    assert event.details == {"from": "ORG-COMMITTEE", "to": "ORG-STREET"} and event.note == "需街道协调排水"
    with pytest.raises(PermissionDenied):
        services.hand_over(
            actor=users["grid01"], incident=incident, organisation=site["committee"], reason="x"
        )


def test_missed_clocks_escalate_along_the_chain_and_silence_moves_on(site, users, now):
    incident = flood(site, None)  # from an alert
    near, middle, _far = site["responders"]
    assert incident.assignee_id == near.user_id
    now.advance(119)
    assert services.escalate_due() == []
    now.advance(2)  # the 2-minute acknowledge deadline has passed in silence
    [escalated] = services.escalate_due()
    assert escalated.escalation_level == 1 and escalated.assignee_id == middle.user_id
    event = escalated.events.get(kind="escalated")
    assert event.details == {
        "level": 1,
        "to": {"organisation": "ORG-COMMITTEE", "role": "community_director"},
    }
    assert services.escalate_due() == []  # once per level
    services.act(actor=middle.user, incident=escalated, move="accept")
    now.advance(20 * 60)  # nobody on scene within 20 minutes
    [again] = services.escalate_due()
    assert again.escalation_level == 2 and again.assignee_id == middle.user_id  # accepted: kept
    assert again.events.filter(kind="escalated").last().details["to"] == {"organisation": "ORG-STREET"}


def test_each_assignment_has_its_own_acknowledge_window(site, users, now):
    incident = flood(site, None)
    near, middle, far = site["responders"]
    now.advance(121)  # the first is silent for the 2-minute window: escalated, the next asked
    [escalated] = services.escalate_due()
    assert (escalated.escalation_level, escalated.assignee_id) == (1, middle.user_id)
    now.advance(119)  # the second has had less than the window
    assert services.reassign_silent() == 0
    assert Incident.objects.get(pk=incident.pk).assignee_id == middle.user_id
    now.advance(2)  # and now as long as the window in silence: the third is asked, no new escalation
    assert services.escalate_due() == []
    moved = Incident.objects.get(pk=incident.pk)
    assert (moved.assignee_id, moved.escalation_level, moved.status) == (far.user_id, 1, "assigned")
    assert list(moved.events.filter(kind="timed_out").values_list("details__timed_out", flat=True)) == [
        near.user_id,
        middle.user_id,
    ]
    services.act(actor=far.user, incident=moved, move="accept")
    now.advance(600)  # accepted: nobody takes it away
    assert services.reassign_silent() == 0


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"category": "volcano"}, "category"),
        ({"description": "水" * 4001}, "description"),
        ({"building": None, "latitude": 10.0, "longitude": 10.0}, "latitude"),
        ({"building": None}, "place"),
        ({"grade": "purple"}, "grade"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(site, users, kwargs, field):
    arguments = {
        "actor": users["director"],
        "category": "flooding",
        "source": "staff",
        "building": site["building"],
    }
    before = Incident.objects.count()
    with pytest.raises(InvalidInput) as error:
        services.open_incident(**{**arguments, **kwargs})
    assert error.value.field == field
    assert Incident.objects.count() == before


def test_who_may_open_and_act(site, users):
    with pytest.raises(PermissionDenied):
        services.open_incident(
            actor=users["auditor"], category="flooding", source="staff", building=site["building"]
        )
    incident = flood(site, users["grid01"])
    with pytest.raises(PermissionDenied):
        services.act(actor=users["grid02"], incident=incident, move="close")


def test_the_assignee_and_the_escalation_chain_are_notified(site, users, now):
    from banyan.notify.models import Message

    incident = flood(site, None)
    near = site["responders"][0]
    [assigned] = Message.objects.filter(kind="incident.assigned", subject_id=str(incident.pk))
    assert (assigned.recipient_id, assigned.urgency, assigned.subject_type) == (
        near.user_id,
        "urgent",
        "incident",
    )
    assert str(incident.pk) in assigned.subject
    grade = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}[incident.grade]
    if assigned.language.startswith("zh"):  # the grade in words, never its code
        assert grade in assigned.body and incident.grade not in assigned.body, assigned.body
    else:
        assert f"grade {incident.grade})" not in assigned.body, assigned.body
    now.advance(121)
    services.escalate_due()
    escalated = Message.objects.filter(kind="incident.escalated", subject_id=str(incident.pk))
    assert {m.recipient.username for m in escalated} == {"director"}  # the chain's first step
    # The next responder, asked after the silence, is told too.
    assert Message.objects.filter(kind="incident.assigned", subject_id=str(incident.pk)).count() == 2


def test_an_incident_at_a_point_or_a_facility_is_notified_with_its_place(site, users):
    from banyan.notify.models import Message
    from banyan.places.models import Facility

    point = services.open_incident(
        actor=users["director"],
        category="flooding",
        source="staff",
        latitude=site["grid"].boundary["coordinates"][0][0][1] + 0.0001,
        longitude=site["grid"].boundary["coordinates"][0][0][0] + 0.0001,
    )
    facility = (
        Facility.objects.filter(region__path__startswith=site["grid"].parent.path).order_by("code").first()
    )
    at_facility = services.open_incident(
        actor=users["director"], category="flooding", source="staff", facility=facility
    )
    texts = {m.subject_id: m.body for m in Message.objects.filter(kind="incident.assigned")}
    assert site["grid"].name_zh in texts[str(point.pk)] or point.grid.name_zh in texts[str(point.pk)]
    assert facility.name_zh in texts[str(at_facility.pk)]


def test_the_reporter_hears_how_their_report_stands(site, users):
    from banyan.notify.models import Message
    from banyan.response.reports.services import submit_report

    report = submit_report(actor=users["resident01"], category="flooding", building=site["building"])
    incident = report.incident
    worker = site["responders"][0].user
    services.act(actor=worker, incident=incident, move="accept")
    assert not Message.objects.filter(kind="report.status").exists()
    services.act(actor=worker, incident=incident, move="resolve", note="已处理")
    services.act(actor=users["director"], incident=incident, move="close")
    told = Message.objects.filter(kind="report.status", subject_id=str(report.pk)).order_by("id")
    assert [m.recipient.username for m in told] == ["resident01", "resident01"]
    assert (
        "closed" in told.last().subject
        or "办结" in told.last().subject
        or str(report.pk) in told.last().subject
    )


def test_asking_for_backup_tells_the_nearest_colleagues_on_duty(site, users):
    from banyan.notify.models import Message

    incident = flood(site, users["director"])
    near, middle, far = site["responders"]
    with pytest.raises(Conflict):  # accept first
        services.request_backup(actor=near.user, incident=incident)
    services.act(actor=near.user, incident=incident, move="accept")
    with pytest.raises(PermissionDenied):
        services.request_backup(actor=users["director"], incident=incident)
    asked = services.request_backup(actor=near.user, incident=incident, note="水太深，需要抽水泵")
    assert [u.pk for u in asked] == [middle.user_id, far.user_id]  # nearest first, not the asker
    told = Message.objects.filter(kind="incident.backup", subject_id=str(incident.pk))
    assert {m.recipient_id for m in told} == {middle.user_id, far.user_id}
    event = incident.events.get(kind="backup_requested")
    assert event.details["asked"] == [middle.user_id, far.user_id] and event.note == "水太深，需要抽水泵"


# --- positions and the nearest responders -------------------------------------------------------


def test_a_responder_reports_a_position_and_the_bus_carries_ids_only(
    site, users, django_capture_on_commit_callbacks
):
    from banyan.core import bus

    near, _middle, far = site["responders"]
    heard = []
    unsubscribe = bus.subscribe("responder.*", lambda topic, payload: heard.append((topic, payload)))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.report_position(
                actor=far.user, latitude=site["building"].latitude, longitude=site["building"].longitude
            )
    finally:
        unsubscribe()
    far.refresh_from_db()
    assert (far.latitude, far.longitude) == (site["building"].latitude, site["building"].longitude)
    assert far.position_at == NOW
    assert heard == [
        ("responder.moved", {"id": far.pk, "user": far.user_id, "community": site["grid"].parent.code})
    ]
    with pytest.raises(InvalidInput) as bad:
        services.report_position(actor=far.user, latitude=91, longitude=0)
    assert bad.value.field == "latitude"
    with pytest.raises(PermissionDenied):
        services.report_position(actor=users["resident01"], latitude=30, longitude=120)
    from banyan.people.models import User

    unrostered = User.objects.create_user("grid-new", password="x-pass-2026", role="grid_worker")
    with pytest.raises(NotFound):
        services.report_position(actor=unrostered, latitude=30, longitude=120)


def test_the_nearest_responders_of_a_place_on_duty_first_by_walking_time(site, users):
    near, middle, far = site["responders"]
    community = site["grid"].parent
    ranked = services.nearest_responders(community, {"building_id": site["building"].pk}, limit=5)
    assert [r["responder"] for r in ranked] == [near, middle, far]
    assert ranked[0]["walk_s"] < ranked[1]["walk_s"] < ranked[2]["walk_s"]
    flood(site, users["director"])  # assigned to the nearest: their load counts
    assert services.nearest_responders(community, {"building_id": site["building"].pk})[0]["load"] == 1
    assert len(services.nearest_responders(community, {"building_id": site["building"].pk}, limit=2)) == 2


def test_arriving_on_scene_with_a_position_moves_the_responder(site, users):
    incident = flood(site, users["director"])
    near = site["responders"][0]
    services.act(actor=near.user, incident=incident, move="accept")
    services.act(
        actor=near.user, incident=incident, move="on_scene", position=(30.2601, 120.1702), reason="在东门"
    )
    near.refresh_from_db()
    assert (near.latitude, near.longitude) == (30.2601, 120.1702)


def test_an_incident_nobody_was_free_for_goes_to_the_first_who_is(site, users, now):
    for responder in site["responders"]:
        responder.capacity = 0
        responder.save(update_fields=["capacity"])
    incident = flood(site, users["director"])
    assert incident.assignee_id is None
    assert DispatchDecision.objects.get(incident=incident).reason == "none_available"
    now.advance(dt.timedelta(minutes=2))
    assert services.redispatch_waiting() == 0, "still nobody free"
    assert DispatchDecision.objects.filter(incident=incident).count() == 1, "nothing recorded meanwhile"
    far = site["responders"][2]
    far.capacity = 3
    far.save(update_fields=["capacity"])
    assert services.redispatch_waiting() == 1
    incident.refresh_from_db()
    assert (incident.status, incident.assignee_id) == ("assigned", far.user_id)
    assert services.redispatch_waiting() == 0, "once"
