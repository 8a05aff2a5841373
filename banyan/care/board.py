"""What the director and the cockpit see of everyday care today: per vulnerable resident (an active care
plan in the caller's scope) the last time they were confirmed well (when, by which channel, by whom),
the next check-in due, what is being done if today's was missed (retrying the next channel, someone on
the way), and per grid the share confirmed well today.

A resident's state today, in the order a director acts on them:

- ``visiting`` — a wellness visit is open: someone has been sent (the incident and its assignee);
- ``overdue`` — past the check-in's grace period with no check-in today and nobody sent yet (the worker
  may be retrying the plan's next channels: ``retrying`` says so);
- ``need_help`` — said "need help" today (an incident was opened);
- ``waiting`` — today's check-in is not yet past its grace period;
- ``confirmed`` — confirmed well today.

"Confirmed today" counts a check-in "fine" since midnight (the site's time zone) on any channel, or a
wellness visit that found the resident in hospital. Care is health data: only roles that may see care
get anything (:func:`banyan.people.models.may_see_care`), for residents in their scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from banyan.care.choices import FollowUpStatus, Outcome, VisitOutcome
from banyan.care.models import CarePlan, CheckIn, FollowUp, Visit
from banyan.core import clock
from banyan.people.models import Actor, may_see_care
from banyan.places.models import Region

STATES = ("visiting", "overdue", "need_help", "waiting", "confirmed")
OPEN_FOLLOW_UPS = (FollowUpStatus.RETRYING, FollowUpStatus.VISITING)


@dataclass
class Row:
    plan: CarePlan
    state: str
    due: dt.datetime  # today's check-in time
    next_due: dt.datetime  # the next check-in to come (tomorrow's once today's is done or missed)
    last_well: CheckIn | None = None
    follow_up: FollowUp | None = None

    @property
    def resident(self):
        return self.plan.resident

    @property
    def building(self):
        unit = self.plan.resident.household.unit
        return unit.building if unit is not None else None

    @property
    def grid(self) -> Region:
        return self.plan.resident.household.grid

    @property
    def retrying(self) -> bool:
        return self.follow_up is not None and self.follow_up.status == FollowUpStatus.RETRYING

    @property
    def incident(self):
        return self.follow_up.incident if self.follow_up is not None else None

    @property
    def may_send(self) -> bool:
        """Whether "send someone" applies: today's check-in is missed and nobody is on the way."""
        return self.state == "overdue"


@dataclass
class GridShare:
    grid: Region
    total: int = 0
    confirmed: int = 0
    overdue: int = 0

    @property
    def share(self) -> float | None:
        return round(self.confirmed / self.total, 4) if self.total else None


@dataclass
class Board:
    rows: list[Row] = field(default_factory=list)
    grids: list[GridShare] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def confirmed(self) -> int:
        return sum(row.state == "confirmed" for row in self.rows)

    @property
    def share(self) -> float | None:
        return round(self.confirmed / self.total, 4) if self.total else None

    @property
    def overdue(self) -> list[Row]:
        """Missed today: nobody sent yet first (longest overdue first), then those someone is visiting."""
        missed = [row for row in self.rows if row.state in ("overdue", "visiting")]
        return sorted(missed, key=lambda row: (row.state != "overdue", row.due, row.plan.resident_id))

    def count(self, state: str) -> int:
        return sum(row.state == state for row in self.rows)


def day_start(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def care_board(
    user: Actor,
    *,
    community: Region | None = None,
    grid: Region | None = None,
    now: dt.datetime | None = None,
) -> Board:
    """Today's care for the active plans in ``user``'s scope (within ``community`` or ``grid``)."""
    if not may_see_care(user):
        return Board()
    now = now or clock.now()
    start = day_start(now)
    plans = CarePlan.objects.restrict(user).filter(is_active=True, daily_checkin=True)
    if community is not None:
        plans = plans.filter(resident__household__grid__parent=community)
    if grid is not None:
        plans = plans.filter(resident__household__grid=grid)
    last_well = CheckIn.objects.filter(resident=OuterRef("resident"), outcome=Outcome.FINE)
    last_well = last_well.order_by("-at", "-id")
    plans = list(
        plans.select_related("resident__household__grid", "resident__household__unit__building")
        .annotate(last_well_id=Subquery(last_well.values("id")[:1]))
        .order_by("resident__household__grid__code", "checkin_time", "resident_id")
    )
    residents = [plan.resident_id for plan in plans]
    wanted = [plan.last_well_id for plan in plans if plan.last_well_id]
    checkins = {c.pk: c for c in CheckIn.objects.filter(pk__in=wanted).select_related("by")}
    today: dict[int, set[str]] = {}
    for resident, outcome in CheckIn.objects.filter(resident_id__in=residents, at__gte=start).values_list(
        "resident_id", "outcome"
    ):
        today.setdefault(resident, set()).add(outcome)
    for resident in Visit.objects.filter(
        resident_id__in=residents, at__gte=start, outcome=VisitOutcome.HOSPITAL
    ).values_list("resident_id", flat=True):
        today.setdefault(resident, set()).add(Outcome.FINE)
    follow_ups: dict[int, FollowUp] = {}
    for follow_up in (
        FollowUp.objects.filter(resident_id__in=residents, status__in=OPEN_FOLLOW_UPS, ended_at__isnull=True)
        .select_related("incident__assignee")
        .order_by("started_at", "pk")
    ):
        follow_ups[follow_up.resident_id] = follow_up  # the newest open one
    board = Board()
    grids: dict[int, GridShare] = {}
    for plan in plans:
        due = start.replace(hour=plan.checkin_time.hour, minute=plan.checkin_time.minute)
        heard = today.get(plan.resident_id, set())
        follow_up = follow_ups.get(plan.resident_id)
        if Outcome.FINE in heard:
            state = "confirmed"
        elif follow_up is not None and follow_up.status == FollowUpStatus.VISITING:
            state = "visiting"
        elif Outcome.NEED_HELP in heard:
            state = "need_help"
        elif now > due + dt.timedelta(minutes=plan.grace_minutes):
            state = "overdue"
        else:
            state = "waiting"
        next_due = due if state == "waiting" else due + dt.timedelta(days=1)
        row = Row(plan, state, due, next_due, checkins.get(plan.last_well_id), follow_up)
        board.rows.append(row)
        share = grids.setdefault(plan.resident.household.grid_id, GridShare(plan.resident.household.grid))
        share.total += 1
        share.confirmed += state == "confirmed"
        share.overdue += state in ("overdue", "visiting")
    board.grids = sorted(grids.values(), key=lambda g: g.grid.code)
    return board
