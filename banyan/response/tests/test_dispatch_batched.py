"""Re-dispatching waiting incidents in one round: what it reads once for all of them, and that it decides
as one ranking per incident would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banyan.response import services
from banyan.response.models import DispatchDecision, Incident, IncidentEvent
from banyan.response.tests.conftest import NOW

WAITING = 12


def waiting_floods(site, users, n: int) -> list[Incident]:
    for responder in site["responders"]:
        responder.capacity = 0
        responder.save(update_fields=["capacity"])
    incidents = [
        services.open_incident(
            actor=users["director"], category="flooding", source="staff", building=site["building"]
        )
        for _ in range(n)
    ]
    assert all(i.assignee_id is None for i in incidents)
    return incidents


def free(responder, capacity: int) -> None:
    responder.capacity = capacity
    responder.save(update_fields=["capacity"])


def test_a_round_where_the_one_free_responder_turned_them_all_down_reads_a_few_queries(
    site, users, now, django_assert_max_num_queries
):
    incidents = waiting_floods(site, users, WAITING)
    far = site["responders"][2]
    free(far, 3)
    for incident in incidents:
        IncidentEvent.objects.create(incident=incident, at=NOW, kind="decline", actor=far.user)
    now.advance(dt.timedelta(minutes=2))
    # free places (2), the waiting, the incidents, their communities, who turned them down, who is on
    # duty, the candidates, their load: not a ranking (candidates, load, shifts, graph) per incident
    with django_assert_max_num_queries(9):
        assert services.redispatch_waiting() == 0
    assert DispatchDecision.objects.filter(incident__in=incidents).count() == WAITING, "nothing recorded"


def test_a_round_gives_the_free_places_oldest_first_and_counts_those_it_gave(
    site, users, now, django_assert_max_num_queries
):
    incidents = waiting_floods(site, users, WAITING)
    near, middle, _far = site["responders"]
    free(near, 1)
    free(middle, 1)
    IncidentEvent.objects.create(incident=incidents[0], at=NOW, kind="decline", actor=near.user)
    now.advance(dt.timedelta(minutes=2))
    with django_assert_max_num_queries(120):  # two dispatches; the rest weighed from what was read once
        assert services.redispatch_waiting() == 2
    assignees = [Incident.objects.get(pk=i.pk).assignee_id for i in incidents]
    assert assignees[:2] == [middle.user_id, near.user_id], "the oldest first; near had declined the first"
    assert assignees[2:] == [None] * (WAITING - 2)
    assert DispatchDecision.objects.filter(incident__in=incidents[2:]).count() == WAITING - 2
    assert services.redispatch_waiting() == 0, "both are full now"


@pytest.mark.parametrize("turned_down", [False, True])
def test_the_round_and_a_single_ranking_agree_on_whether_anyone_is_free(site, users, now, turned_down):
    (incident,) = waiting_floods(site, users, 1)
    near = site["responders"][0]
    free(near, 1)
    if turned_down:
        IncidentEvent.objects.create(
            incident=incident, at=NOW, kind="timed_out", details={"timed_out": near.user_id}
        )
    now.advance(dt.timedelta(minutes=2))
    weighing = services._Round(now.now(), [incident.pk])
    ranking = services._rank(incident, exclude=services._turned_down(incident), now=now.now())
    assert weighing.anyone_free(incident.pk) == any(r.eligible for r in ranking) == (not turned_down)


def test_a_round_of_escalations_reads_what_the_incidents_share_once(site, users, now):
    for responder in site["responders"]:
        free(responder, 10)
    incidents = [
        services.open_incident(
            actor=users["director"], category="flooding", source="staff", building=site["building"]
        )
        for _ in range(4)
    ]
    assert {i.status for i in incidents} == {"assigned"}
    now.advance(dt.timedelta(minutes=3))  # nobody accepted within the orange grade's two minutes
    with CaptureQueriesContext(connection) as queries:
        escalated = services.escalate_due()
    assert sorted(i.pk for i in escalated) == sorted(i.pk for i in incidents)
    for incident in incidents:
        incident.refresh_from_db()
        assert incident.escalation_level == 1 and incident.status == "assigned"
        assert incident.events.filter(kind="timed_out").count() == 1
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    for table in ("response_category", "people_organisation", "response_responsibility"):
        by_pk = [sql for sql in reads if f'FROM "{table}" WHERE "{table}"."id" =' in sql]
        assert len(by_pk) == 1, table
