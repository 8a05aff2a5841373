"""The worker's round follows a missed check-in: once its grace is over and nobody answered, someone is
sent (a plan that sends someone at once), and the next round sends nobody else."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from banyan.care import services
from banyan.care.models import FollowUp
from banyan.core import clock
from banyan.people.models import Resident
from banyan.processes.management.commands.worker import run_once
from banyan.response.models import Shift


def test_a_round_sends_someone_to_a_missed_checkin_once(users):
    first_shift = Shift.objects.order_by("starts_at").values_list("starts_at", flat=True).first()
    day = timezone.localtime(first_shift + dt.timedelta(days=2)).replace(hour=0, minute=0, second=0)
    with clock.use(clock.SimulatedClock(day.replace(hour=8))) as sim:
        resident = (
            Resident.objects.restrict(users["grid01"])
            .filter(care_profiles__is_active=True, household__unit__isnull=False)
            .order_by("id")
            .first()
        )
        plan = services.create_plan(actor=users["director"], resident=resident)
        services.update_plan(actor=users["director"], plan=plan, data={"escalation": "wellness_visit"})
        assert run_once()["visits"] == 0  # 8:00: not due yet
        sim.advance(day.replace(hour=23) - clock.now())
        assert run_once()["visits"] == 1
        assert run_once()["visits"] == 0
        follow_up = FollowUp.objects.get(resident=resident)
        assert follow_up.status == "visiting" and follow_up.incident.category.code == "wellness_check"
