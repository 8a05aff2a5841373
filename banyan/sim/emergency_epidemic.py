"""The epidemic drill's own part: households isolating, deliveries on foot, daily check-ins
(:mod:`banyan.emergency.epidemic`), through the product's services.

After the activation the community learns of cases through the first hours: ``ISOLATING_SHARE`` of the
area's households are set isolating by the director (``set_status``; one in two "needs deliveries"),
spread over ``SPREAD_S``; of those needing deliveries each asks for groceries or medicine 10-60 minutes
later (``request_delivery``: an on-foot incident the drill's responders take, walk to and hand over in
3-10 minutes). The worker's round runs ``epidemic.services.sweep``: from 09:00 each resident in care of
an isolating household is asked "are you all right today?"; ``CHECKIN_ANSWER`` of them answer (SMS "1",
or "2" for help, through ``notify.inbound.receive`` as the roll call's answers do) after a log-normal
delay; the others get a visit in the evening.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from typing import TYPE_CHECKING

from django.utils import timezone

from banyan.core import clock
from banyan.emergency.epidemic import services as epidemic
from banyan.emergency.epidemic.choices import CheckInStatus, DeliveryKind, DeliveryStatus, HouseholdState
from banyan.emergency.epidemic.models import CheckIn, Delivery, HouseholdStatus
from banyan.emergency.rollcall.models import Entry
from banyan.notify import inbound
from banyan.people.carers import consented_carers

if TYPE_CHECKING:
    from banyan.sim.emergency_drill import _Drill

ISOLATING_SHARE = 0.06
SPREAD_S = 3 * 3600
CHECKIN_ANSWER = 0.85
CHECKIN_MEDIAN_S = 900
NEED_HELP_SHARE = 0.04
WINDOWS = (epidemic.ASK_FROM, epidemic.EVENING)


class EpidemicPart:
    """The epidemic's households, deliveries and check-ins in one drill."""

    def __init__(self, drill: _Drill) -> None:
        self.drill = drill
        self.rng = drill.sensors.rng  # a stream apart from the roll call's
        self.counts: Counter = Counter()
        self.answered: set[int] = set()
        self.changed = False  # a status set or a delivery asked since the last round

    def plan(self) -> None:
        """Choose the isolating households and when the director records them."""
        drill = self.drill
        households = sorted(
            Entry.objects.filter(roll_call=drill.roll_call).values_list("household_id", flat=True)
        )
        chosen = sorted(self.rng.sample(households, round(len(households) * ISOLATING_SHARE)))
        for household in chosen:
            needs = self.rng.random() < 0.5
            drill.at(
                drill.now_s + self.rng.uniform(300, SPREAD_S), "isolate", household=household, needs=needs
            )

    def isolate(self, household_pk: int, needs: bool) -> None:
        drill = self.drill
        assert drill.emergency is not None
        status = HouseholdState.NEEDS_DELIVERIES if needs else HouseholdState.ISOLATING
        household = Entry.objects.select_related("household").filter(household_id=household_pk).first()
        if household is None:
            return
        today = timezone.localdate(clock.now())
        epidemic.set_status(
            actor=drill.director,
            emergency=drill.emergency,
            household=household.household,
            status=status,
            since=today,
            until=today + dt.timedelta(days=14),
        )
        self.counts["isolating"] += 1
        self.changed = True
        if needs:
            kind = self.rng.choice([DeliveryKind.GROCERIES, DeliveryKind.MEDICINE])
            drill.at(drill.now_s + self.rng.uniform(600, 3600), "deliver", household=household_pk, what=kind)

    def deliver(self, household_pk: int, kind: str) -> None:
        drill = self.drill
        assert drill.emergency is not None
        entry = Entry.objects.select_related("household").filter(household_id=household_pk).first()
        if entry is None:
            return
        epidemic.request_delivery(
            actor=drill.director, emergency=drill.emergency, household=entry.household, kind=kind
        )
        self.counts["deliveries_asked"] += 1
        self.changed = True

    def busy(self) -> bool:
        """Whether the worker's round has epidemic work: something changed, a delivery is under way, or
        it is the time of day the check-ins are asked (09:00) or missed ones followed up (18:00)."""
        if (
            self.changed
            or Delivery.objects.filter(emergency=self.drill.emergency, status=DeliveryStatus.OPEN).exists()
        ):
            return True
        local = timezone.localtime(clock.now()).time()
        return any(start <= local < (start.replace(minute=start.minute + 2)) for start in WINDOWS)

    def round(self) -> None:
        """The worker's epidemic sweep, then answers planned for the check-ins it asked."""
        self.changed = False
        done = epidemic.sweep()
        self.counts["checkins_missed_visits"] += done.get("missed", 0)
        drill = self.drill
        for checkin in (
            CheckIn.objects.filter(status=CheckInStatus.WAITING)
            .exclude(pk__in=self.answered)
            .select_related("resident")
            .order_by("pk")
        ):
            self.answered.add(checkin.pk)
            if checkin.channel == "none" or self.rng.random() >= CHECKIN_ANSWER:
                continue
            delay = self.rng.lognormvariate(math.log(CHECKIN_MEDIAN_S), 0.8)
            outcome = "2" if self.rng.random() < NEED_HELP_SHARE else "1"
            drill.at(drill.now_s + delay, "checkin", checkin=checkin.pk, outcome=outcome)

    def answer(self, checkin_pk: int, outcome: str) -> None:
        checkin = CheckIn.objects.select_related("resident", "asked_user").get(pk=checkin_pk)
        if checkin.status != CheckInStatus.WAITING:
            return
        if checkin.asked_user_id is not None and checkin.channel == "in_app":
            status = CheckInStatus.NEED_HELP if outcome == "2" else CheckInStatus.OK
            epidemic.answer(actor=checkin.asked_user, checkin=checkin, status=status)
            self.counts["checkins_answered"] += 1
            return
        resident = checkin.resident
        if checkin.channel == "carer":
            phone = next((c.phone for c in consented_carers(resident) if c.phone), "")
        else:
            phone = resident.phone
        if not phone:
            return
        channel = "voice" if checkin.channel == "voice" else "sms"
        reply = inbound.receive(
            channel=channel, phone=phone, text=outcome, provider_id=f"drill-ci-{checkin_pk}"
        )
        self.counts[f"checkin_inbound_{reply.status}"] += 1
        self.counts["checkins_answered"] += 1

    def figures(self) -> dict:
        """What epidemic mode did in the drill (counts only)."""
        emergency = self.drill.emergency
        deliveries = Delivery.objects.filter(emergency=emergency).select_related("incident")
        minutes = sorted(
            (d.done_at - d.requested_at).total_seconds() / 60 for d in deliveries if d.done_at is not None
        )
        checkins = Counter(CheckIn.objects.filter(emergency=emergency).values_list("status", flat=True))
        return {
            "isolating_households": HouseholdStatus.objects.filter(emergency=emergency, is_current=True)
            .exclude(status=HouseholdState.CLEARED)
            .count(),
            "deliveries": deliveries.count(),
            "deliveries_done": len(minutes),
            "delivery_minutes_p50": round(minutes[len(minutes) // 2], 1) if minutes else None,
            "checkins": sum(checkins.values()),
            "checkins_by_status": dict(sorted(checkins.items())),
        }
