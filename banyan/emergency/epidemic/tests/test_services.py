"""Epidemic mode's services: statuses with their history, deliveries dispatched on foot and following
their incidents, who sees what, bad input named by its field, and the purge."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.emergency.epidemic import services
from banyan.emergency.epidemic.models import CheckIn, Delivery, HouseholdStatus
from banyan.emergency.epidemic.tests.conftest import isolate
from banyan.emergency.models import Task
from banyan.emergency.purge import purge_emergency
from banyan.emergency.rollcall.tests.conftest import make_emergency
from banyan.notify.models import Message
from banyan.people.models import Household
from banyan.response.flow import Status
from banyan.response.models import Incident


def test_a_status_change_keeps_the_history_and_is_audited(users, epidemic, cared_household):
    first = isolate(users, epidemic, cared_household)
    until = clock.today() + dt.timedelta(days=7)
    second = services.set_status(
        actor=users["grid01"],
        emergency=epidemic,
        household=cared_household,
        status="needs_deliveries",
        since=clock.today(),
        until=until,
    )
    first.refresh_from_db()
    assert (first.is_current, second.is_current, second.until, second.set_by) == (
        False,
        True,
        until,
        users["grid01"],
    )
    rows = services.history(users["director"], epidemic, cared_household)
    assert [row.status for row in rows] == ["needs_deliveries", "isolating"]
    audit = AuditEntry.objects.filter(action="epidemic.status", subject_id=str(cared_household.pk)).order_by(
        "pk"
    )
    assert [entry.details["status"] for entry in audit] == ["isolating", "needs_deliveries"]
    assert audit.last().details["before"] == "isolating"
    # no name, phone or address in the audit details
    text = str(list(audit.values_list("details", flat=True)))
    unit = cared_household.unit
    assert unit.number not in text and cared_household.members.first().name not in text


def test_only_an_epidemic_takes_statuses_and_bad_input_names_its_field(
    users, epidemic, cared_household, grid_g01
):
    typhoon = make_emergency([grid_g01])
    with pytest.raises(InvalidInput) as refused:
        isolate(users, typhoon, cared_household)
    assert refused.value.field == "emergency" and "疫情" in refused.value.message
    today = clock.today()
    cases = [
        ({"status": "quarantined", "since": today}, "status"),
        ({"status": "isolating", "since": "tomorrow"}, "since"),
        ({"status": "isolating", "since": today, "until": today - dt.timedelta(days=1)}, "until"),
    ]
    for arguments, field in cases:
        with pytest.raises(InvalidInput) as refused:
            services.set_status(
                actor=users["director"], emergency=epidemic, household=cared_household, **arguments
            )
        assert refused.value.field == field
    with pytest.raises(InvalidInput) as refused:
        services.set_status(
            actor=users["director"],
            emergency=epidemic,
            household=Household(pk=10**20),
            status="isolating",
            since=today,
        )
    assert refused.value.field == "household"
    with pytest.raises(InvalidInput) as refused:
        services.request_delivery(
            actor=users["director"], emergency=epidemic, household=cared_household, kind="groceries"
        )
    assert refused.value.field == "household"  # not isolating
    isolate(users, epidemic, cared_household)
    for arguments, field in (({"kind": "pizza"}, "kind"), ({"kind": "medicine", "what": "x" * 201}, "what")):
        with pytest.raises(InvalidInput) as refused:
            services.request_delivery(
                actor=users["director"], emergency=epidemic, household=cared_household, **arguments
            )
        assert refused.value.field == field
    assert not Delivery.objects.exists() and HouseholdStatus.objects.count() == 1


def test_who_sees_and_changes(users, epidemic, cared_household, grid_g01):
    for username in ("property01", "volunteer01", "auditor", "resident01"):
        with pytest.raises(PermissionDenied):
            services.get_emergency_for(users[username], epidemic.pk)
        with pytest.raises(PermissionDenied):
            isolate(users, epidemic, cared_household, username=username)
        assert services.board_part(users[username], epidemic) is None
    # grid02 sees the emergency but no household of G01: refused as not theirs, and sees none listed
    isolate(users, epidemic, cared_household)
    with pytest.raises(InvalidInput) as refused:
        isolate(users, epidemic, cared_household, username="grid02")
    assert refused.value.field == "household"
    assert services.page(users["grid02"], epidemic).households == []
    for username in ("admin", "street01", "director", "grid01"):
        shown = services.page(users[username], epidemic)
        assert [row.status.household_id for row in shown.households] == [cared_household.pk]
    with pytest.raises(NotFound):
        services.get_emergency_for(users["director"], 10**9)
    typhoon = make_emergency([grid_g01])
    assert services.board_part(users["director"], typhoon) is None


def test_a_delivery_is_dispatched_on_foot_and_follows_its_incident(users, epidemic, cared_household):
    isolate(users, epidemic, cared_household, status="needs_deliveries")
    delivery = services.request_delivery(
        actor=users["grid01"], emergency=epidemic, household=cared_household, kind="medicine", what="降压药"
    )
    incident = delivery.incident
    assert incident.category.code == "wellness_check" and incident.unit_id == cared_household.unit_id
    assert incident.description == "配送：药品 / Delivery: medicine"
    assert "降压药" not in incident.description
    assert incident.assignee is not None and incident.assignee.role in ("grid_worker", "volunteer")
    task = Task.objects.get(pk=delivery.task_id)
    assert (task.kind, task.incident_id, task.assignee_id) == ("delivery", incident.pk, incident.assignee_id)
    assert cared_household.unit.number not in task.title_zh + task.title_en
    audit = AuditEntry.objects.get(action="epidemic.delivery")
    assert audit.details["delivery"] == delivery.pk and "降压药" not in str(audit.details)
    assert services.sweep()["deliveries"] == 0  # still on its way
    Incident.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    assert services.sweep()["deliveries"] == 1
    delivery.refresh_from_db()
    task.refresh_from_db()
    assert (delivery.status, task.status) == ("done", "done")
    assert services.sweep()["deliveries"] == 0


def test_a_cancelled_incident_cancels_the_delivery(users, epidemic, cared_household):
    isolate(users, epidemic, cared_household)
    delivery = services.request_delivery(
        actor=users["director"], emergency=epidemic, household=cared_household, kind="groceries"
    )
    Incident.objects.filter(pk=delivery.incident_id).update(status=Status.CANCELLED)
    services.sweep()
    delivery.refresh_from_db()
    assert delivery.status == "cancelled" and Task.objects.get(pk=delivery.task_id).status == "cancelled"


def test_the_purge_leaves_nothing_of_it(users, epidemic, cared_household, sim):
    isolate(users, epidemic, cared_household)
    isolate(users, epidemic, cared_household, status="needs_deliveries")
    delivery = services.request_delivery(
        actor=users["director"], emergency=epidemic, household=cared_household, kind="medicine", what="胰岛素"
    )
    services.sweep()
    checkins = list(CheckIn.objects.filter(emergency=epidemic).values_list("message_id", flat=True))
    assert checkins, "the resident in care was asked"
    epidemic.status, epidemic.stood_down_at = "stood_down", clock.now()
    epidemic.save(update_fields=["status", "stood_down_at"])
    counts = purge_emergency(epidemic)
    assert counts["epidemic_statuses"] == 2 and counts["epidemic_checkins"] == len(checkins)
    assert counts["epidemic_deliveries"] == 1
    assert not HouseholdStatus.objects.filter(emergency=epidemic).exists()
    assert not CheckIn.objects.filter(emergency=epidemic).exists()
    assert not Message.objects.filter(pk__in=[pk for pk in checkins if pk]).exists()
    assert not Message.objects.filter(subject_type="epidemic_checkin", subject_id=str(epidemic.pk)).exists()
    delivery.refresh_from_db()
    assert (delivery.household_id, delivery.what, delivery.kind) == (None, "", "medicine")
    audit = AuditEntry.objects.get(action="emergency.purge", subject_id=str(epidemic.pk))
    assert audit.details["epidemic_statuses"] == 2
