"""The care board (``/care/today/``): per vulnerable resident the last time they were confirmed well (when,
how, by whom), the next check-in, what is being done about a missed one; the share confirmed today per
grid; the overdue list with one click to send someone, dispatched on foot like the worker's visit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from banyan.audit.models import AuditEntry
from banyan.care import services, visits
from banyan.care.board import care_board
from banyan.care.choices import FollowUpReason, FollowUpStatus
from banyan.care.models import FollowUp
from banyan.care.tests.conftest import at, local_today
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.people.models import Resident
from banyan.response.models import Incident

BOARD = "/care/today/"


@pytest.fixture
def plans(users, sim):
    """Plans for three residents in care of grid01 (9:00 check-in, an hour's grace)."""
    residents = list(
        Resident.objects.restrict(users["grid01"])
        .filter(care_profiles__is_active=True, household__unit__isnull=False)
        .distinct()
        .order_by("id")[:3]
    )
    assert len(residents) == 3
    made = []
    for resident in residents:
        plan = services.create_plan(actor=users["director"], resident=resident)
        made.append(
            services.update_plan(
                actor=users["director"],
                plan=plan,
                data={"channels": ["sms", "voice"], "grace_minutes": 60, "escalation": "next_channel"},
            )
        )
    for plan in made:
        plan.checkin_time = dt.time(9, 0)
        plan.save(update_fields=["checkin_time"])
    return made


def test_states_last_well_next_due_and_the_grid_share(plans, users, sim):
    first, second, third = plans
    services.record_checkin(
        actor=users["grid01"], resident=first.resident, outcome="fine", channel="voice", note="phoned"
    )
    before = care_board(users["director"])
    assert {row.plan.pk: row.state for row in before.rows} == {
        first.pk: "confirmed",
        second.pk: "waiting",
        third.pk: "waiting",
    }
    row = next(row for row in before.rows if row.plan.pk == first.pk)
    assert (row.last_well.channel, row.last_well.by) == ("voice", users["grid01"])
    assert row.next_due == local_today(9, 0) + dt.timedelta(days=1), "today's is done: tomorrow's is next"
    waiting = next(row for row in before.rows if row.plan.pk == second.pk)
    assert waiting.next_due == local_today(9, 0) and waiting.last_well is None
    at(sim, 10, 5)
    after = care_board(users["director"])
    assert [row.resident.pk for row in after.overdue] == [second.resident_id, third.resident_id]
    assert all(row.may_send for row in after.overdue)
    (share,) = [g for g in after.grids if g.grid == first.resident.household.grid]
    assert (share.total, share.confirmed, share.overdue) == (3, 1, 2)
    assert after.share == round(1 / 3, 4)
    visits.follow_missed()  # the worker starts retrying the next channel
    retrying = care_board(users["director"])
    assert all(row.retrying and row.state == "overdue" for row in retrying.overdue)


def test_send_someone_opens_the_visit_now_and_only_once(plans, users, sim):
    _, second, _ = plans
    at(sim, 10, 5)
    visits.follow_missed()  # retrying on voice: send someone skips the remaining retries
    follow_up = visits.send_someone(actor=users["director"], resident=second.resident)
    assert follow_up.status == FollowUpStatus.VISITING and follow_up.reason == FollowUpReason.MISSED
    incident = Incident.objects.get(pk=follow_up.incident_id)
    assert incident.category.code == "wellness_check" and incident.unit == second.resident.household.unit
    assert incident.assignee is not None, "dispatched on foot to someone on duty"
    row = next(r for r in care_board(users["director"]).rows if r.plan.pk == second.pk)
    assert (row.state, row.incident.pk, row.may_send) == ("visiting", incident.pk, False)
    with translation.override("en"), pytest.raises(InvalidInput, match="already on the way"):
        visits.send_someone(actor=users["director"], resident=second.resident)
    entry = AuditEntry.objects.filter(action="care_visit.request").get()
    assert entry.details == {"incident": incident.pk, "follow_up": follow_up.pk}


def test_send_someone_before_the_worker_starts_a_follow_up_the_worker_then_leaves_alone(plans, users, sim):
    _, _, third = plans
    at(sim, 10, 5)
    follow_up = visits.send_someone(actor=users["grid01"], resident=third.resident)
    assert follow_up.reason == FollowUpReason.REQUESTED and follow_up.status == FollowUpStatus.VISITING
    visits.follow_missed()
    assert FollowUp.objects.filter(resident=third.resident).count() == 1, "no second visit for the same day"


def test_who_may_send_someone(plans, users, sim):
    at(sim, 10, 5)
    resident = plans[1].resident
    for role in ("volunteer01", "property01", "resident01"):
        with pytest.raises(PermissionDenied):
            visits.send_someone(actor=users[role], resident=resident)
    assert not FollowUp.objects.exists()


def test_the_page_in_chinese_with_the_send_button(plans, users, sim, signed_in):
    at(sim, 10, 5)
    client = signed_in("director", "zh-hans")
    page = client.get(BOARD).content.decode()
    assert "今日关爱" in page and "派人上门" in page
    assert f'data-send="{plans[1].resident_id}"' in page
    for english in ("Care today", "Send someone", "Overdue", "Confirmed well"):
        assert english not in page
    send = reverse("care:send", args=[plans[1].resident_id])
    response = client.post(send, {"next": BOARD + "?state=overdue"})
    assert response.status_code == 302 and response["Location"] == BOARD + "?state=overdue"
    assert FollowUp.objects.get(resident_id=plans[1].resident_id).status == FollowUpStatus.VISITING
    page = client.get(BOARD).content.decode()
    assert f'data-send="{plans[1].resident_id}"' not in page
    assert "正在上门" in page or "赶往" in page


def test_the_page_by_grid_and_state_in_english(plans, users, sim, signed_in):
    at(sim, 10, 5)
    grid = plans[0].resident.household.grid
    client = signed_in("director")
    page = client.get(BOARD, {"grid": grid.code, "state": "overdue"}).content.decode()
    assert "Care today" in page and f'data-grid="{grid.code}"' in page
    assert page.count('data-state="overdue"') >= 3  # the filter link and the three rows
    assert "That grid is not in your area" in client.get(BOARD, {"grid": "NOPE"}).content.decode()


def test_the_board_is_scoped(plans, users, sim, signed_in):
    at(sim, 10, 5)
    assert care_board(users["grid02"]).total == 0, "another grid's worker sees none of grid01's residents"
    assert signed_in("grid02").post(reverse("care:send", args=[plans[1].resident_id])).status_code == 404
    assert signed_in("property01").get(BOARD).status_code == 403
    assert signed_in("resident01").get(BOARD).status_code == 403
    assert not FollowUp.objects.exists()


def test_an_unsafe_next_goes_back_to_the_board(plans, users, sim, signed_in):
    at(sim, 10, 5)
    response = signed_in("director").post(
        reverse("care:send", args=[plans[1].resident_id]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == BOARD
