"""The response drill on the session's seeded community, a few simulated hours of it."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from banyan.core import clock
from banyan.sim import drill


def test_arrivals_are_seeded_and_follow_the_day():
    one, again = drill.arrivals(random.Random(7)), drill.arrivals(random.Random(7))
    assert one == again and one != drill.arrivals(random.Random(8))
    night = [t for t, _c in one if t < 6 * 3600]
    day = [t for t, _c in one if 8 * 3600 <= t < 14 * 3600]
    assert len(day) > len(night)  # six day hours busier than six night hours
    assert {c for _t, c in one} <= set(drill.DAILY)


@pytest.mark.slow
def test_a_drilled_morning_leaves_nobody_unowned_and_reaches_the_urgent_quickly(db):
    from banyan.response.models import Incident

    start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    result = drill.run(seed=7, start=start, hours=6)
    incidents = list(Incident.objects.all())
    assert result["incidents"] == len(incidents) > 0
    assert result["unowned_incidents"] == 0
    assert set(result["by_grade"]) == {"red", "orange", "yellow", "blue"}
    for incident in incidents:
        if incident.on_scene_at:
            assert incident.created_at <= incident.accepted_at <= incident.on_scene_at
    reached = [i for i in incidents if i.on_scene_at]
    assert len(reached) >= 0.8 * len(incidents)
    for row in result["by_grade"].values():
        if row["ack_p50_s"] is not None:
            assert row["ack_p50_s"] <= row["ack_p90_s"] and row["arrive_p50_s"] <= row["arrive_p90_s"]
    assert start + dt.timedelta(hours=6) > max(i.created_at for i in incidents)
