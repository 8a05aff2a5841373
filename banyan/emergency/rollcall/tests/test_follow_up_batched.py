"""The worker's round writes the households its visits saw in one transaction, with one audit record."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from banyan.audit.models import AuditEntry
from banyan.emergency.rollcall import services
from banyan.emergency.rollcall.models import Entry
from banyan.response.flow import Status
from banyan.response.models import Incident


def test_the_households_a_round_finds_seen_are_accounted_in_one_audit_record(users, emergency, sim):
    roll_call = services.start_roll_call(
        actor=users["director"], emergency=emergency, wait_minutes=15, vulnerable_wait_minutes=15
    )
    services.follow_up_roll_calls()
    sim.advance(dt.timedelta(minutes=15))
    services.follow_up_roll_calls()
    visiting = Entry.objects.filter(roll_call=roll_call, status="visiting")
    seen = visiting.count()
    assert seen > 2
    Incident.objects.filter(pk__in=visiting.values("incident_id")).update(status=Status.RESOLVED)
    sim.advance(dt.timedelta(minutes=5))
    with CaptureQueriesContext(connection) as queries:
        assert services.follow_up_roll_calls()["accounted"] == seen
    head_moves = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "audit_chainhead"')]
    assert len(head_moves) == 1
    assert AuditEntry.objects.filter(action="roll_call.accounted").count() == seen
    assert not Entry.objects.filter(roll_call=roll_call, status="visiting").exists()
