"""``banyan drill response``: a day of the synthetic community's incidents on simulated time.

Incidents arrive through the day (a Poisson process per category at rates a community of a few
thousand residents sees, fewer at night) — some from alerts, most from residents — and go through
the real services: routed by the matrix, dispatched on foot, escalated when a clock is missed. The
responders are simulated: each assignment is accepted after a short delay (sooner for urgent
grades), or declined, or left unanswered; an accepted responder walks to the place over the walking
graph at ``BANYAN_WALKING_SPEED_MPS`` (the time dispatch measured) after getting ready, works there,
and resolves; a director closes. Everything is driven by a seeded RNG and ``core.clock`` (a
SimulatedClock), so the same seed gives the same day.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
import statistics
from dataclasses import dataclass, field

from banyan.core import clock
from banyan.people.models import User
from banyan.places.models import Building, Facility
from banyan.response import services
from banyan.response.flow import Status
from banyan.response.models import DispatchDecision, Incident, Responder
from banyan.warning.choices import GRADES_WORST_FIRST

DAY_S = 24 * 3600
TICK_S = 10
# Incidents a day by category, for a community of about 3,000 residents (street-office ledgers
# of Hangzhou communities report a few dozen work orders a day).
DAILY = {
    "repairs": 9.0,
    "sanitation": 5.0,
    "noise": 4.0,
    "wellness_check": 5.0,
    "fall_medical": 3.0,
    "device_fault": 3.0,
    "dispute": 2.0,
    "security": 2.0,
    "flooding": 1.5,
    "crowding": 1.0,
    "fire_smoke": 0.6,
    "gas": 0.4,
}
FROM_ALERTS = {"flooding", "fire_smoke", "gas", "fall_medical", "crowding", "device_fault"}
ACCEPT, DECLINE, SILENT = 0.86, 0.08, 0.06  # what a responder does with an assignment
WORK_MIN_S = {"red": 600, "orange": 900, "yellow": 1200, "blue": 1800}


@dataclass(order=True)
class _Job:
    at: float
    order: int
    kind: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


def _hour_weight(hour: int) -> float:
    """Fewer incidents at night."""
    return 0.3 if hour < 6 else 0.7 if hour < 8 else 1.2 if hour < 21 else 0.6


def arrivals(rng: random.Random) -> list[tuple[float, str]]:
    """(second of the day, category) of the day's incidents, in time order."""
    out = []
    peak = max(_hour_weight(h) for h in range(24))
    for category, per_day in sorted(DAILY.items()):
        mean_weight = sum(_hour_weight(h) for h in range(24)) / 24
        rate = per_day / DAY_S / mean_weight * peak  # thinned below by the hour's weight
        t = 0.0
        while True:
            t += rng.expovariate(rate)
            if t >= DAY_S:
                break
            if rng.random() < _hour_weight(int(t // 3600)) / peak:
                out.append((t, category))
    return sorted(out)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low, high = math.floor(k), math.ceil(k)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (k - low), 1)


def run(*, seed: int, start: dt.datetime, hours: float = 24) -> dict:
    """Simulate ``hours`` (a day) from ``start`` in the seeded database; returns the figures."""

    rng = random.Random(seed)
    director = User.objects.filter(role="community_director").order_by("username").first()
    buildings = list(Building.objects.order_by("code"))
    plazas = list(Facility.objects.filter(kind__in=["plaza", "sports_field"]).order_by("code"))
    jobs: list[_Job] = []
    counter = itertools.count()

    def at(seconds: float, kind: str, **data) -> None:
        heapq.heappush(jobs, _Job(seconds, next(counter), kind, data))

    span = int(hours * 3600)
    for t, category in arrivals(rng):
        if t < span:
            at(t, "open", category=category)
    for t in range(0, span + 4 * 3600, TICK_S):  # four more hours to finish what is open
        at(float(t), "tick")
    asked: set[tuple[int, int]] = set()  # (incident, responder) pairs already given a behaviour

    def schedule_answers(now_s: float) -> None:
        for incident in Incident.objects.filter(status=Status.ASSIGNED.value).exclude(assignee=None):
            key = (incident.pk, incident.assignee_id)
            if key in asked:
                continue
            asked.add(key)
            urgent = incident.grade in ("red", "orange")
            roll = rng.random()
            if roll < ACCEPT:
                delay = rng.uniform(5, 25) if urgent else rng.uniform(20, 240)
                decision = DispatchDecision.objects.filter(
                    incident=incident, chosen_id=incident.assignee_id
                ).last()
                walk = next(
                    (
                        r["walk_s"]
                        for r in (decision.ranking if decision else [])
                        if r["user"] == incident.assignee_id
                    ),
                    None,
                )
                at(now_s + delay, "accept", incident=incident.pk, user=incident.assignee_id, walk=walk)
            elif roll < ACCEPT + DECLINE:
                at(now_s + rng.uniform(10, 60), "decline", incident=incident.pk, user=incident.assignee_id)
            # else: silence — the acknowledge deadline passes and escalation asks the next one

    def act(incident_pk: int, user_pk: int, move: str, **kw) -> bool:
        incident = Incident.objects.filter(pk=incident_pk).first()
        user = User.objects.get(pk=user_pk)
        if incident is None or incident.assignee_id != user_pk:
            return False
        try:
            services.act(actor=user, incident=incident, move=move, **kw)
        except Exception:  # noqa: BLE001 -- a step the state no longer allows: the responder moves on
            return False
        return True

    with clock.use(clock.SimulatedClock(start)) as simulated:
        now_s = 0.0
        while jobs:
            job = heapq.heappop(jobs)
            if job.at > now_s:
                simulated.advance(job.at - now_s)
                now_s = job.at
            if job.kind == "open":
                category = job.data["category"]
                place: dict = {"building": rng.choice(buildings)}
                if category == "crowding" and plazas:
                    place = {"facility": rng.choice(plazas)}
                actor = None if category in FROM_ALERTS and rng.random() < 0.7 else director
                services.open_incident(
                    actor=actor, category=category, source="alert" if actor is None else "report", **place
                )
            elif job.kind == "tick":
                services.escalate_due()
            elif job.kind == "accept":
                if act(job.data["incident"], job.data["user"], "accept"):
                    walk = job.data["walk"]
                    travel = (walk if walk is not None else rng.uniform(120, 600)) + rng.uniform(20, 60)
                    at(now_s + travel, "arrive", incident=job.data["incident"], user=job.data["user"])
            elif job.kind == "decline":
                act(job.data["incident"], job.data["user"], "decline", note="busy")
            elif job.kind == "arrive":
                incident = Incident.objects.get(pk=job.data["incident"])
                if act(incident.pk, job.data["user"], "on_scene"):
                    responder = Responder.objects.filter(user_id=job.data["user"]).first()
                    building = incident.building or (incident.unit.building if incident.unit_id else None)
                    if responder is not None and building is not None and building.footprint:
                        lon, lat = building.footprint["coordinates"][0][0]
                        responder.latitude, responder.longitude = lat, lon
                        responder.save(update_fields=["latitude", "longitude"])
                    work = WORK_MIN_S[incident.grade] * rng.uniform(0.5, 2.0)
                    at(now_s + work, "resolve", incident=incident.pk, user=job.data["user"])
            elif job.kind == "resolve":
                if act(job.data["incident"], job.data["user"], "resolve", note="done"):
                    at(now_s + rng.uniform(60, 900), "close", incident=job.data["incident"])
            elif job.kind == "close":
                incident = Incident.objects.get(pk=job.data["incident"])
                try:
                    services.act(actor=director, incident=incident, move="close")
                except Exception:  # noqa: BLE001 -- reopened or changed meanwhile
                    pass
            schedule_answers(now_s)
    return figures(Incident.objects.all())


def figures(incidents) -> dict:
    """The drill's answer: per grade, times to acknowledge and to arrive, arrivals within 10 minutes."""
    by_grade: dict[str, dict] = {}
    rows = list(incidents.select_related("accountable"))
    for grade in GRADES_WORST_FIRST:
        mine = [i for i in rows if i.grade == grade]
        ack = [(i.accepted_at - i.created_at).total_seconds() for i in mine if i.accepted_at]
        arrive = [(i.on_scene_at - i.created_at).total_seconds() for i in mine if i.on_scene_at]
        by_grade[grade] = {
            "incidents": len(mine),
            "ack_p50_s": _percentile(ack, 0.5),
            "ack_p90_s": _percentile(ack, 0.9),
            "arrive_p50_s": _percentile(arrive, 0.5),
            "arrive_p90_s": _percentile(arrive, 0.9),
            "arrived_within_10min_share": round(sum(1 for a in arrive if a <= 600) / len(mine), 3)
            if mine
            else None,
            "escalations": sum(i.escalation_level for i in mine),
        }
    return {
        "incidents": len(rows),
        "unowned_incidents": sum(1 for i in rows if i.accountable_id is None),
        "never_assigned": sum(1 for i in rows if i.assigned_at is None),
        "escalations": sum(i.escalation_level for i in rows),
        "arrived": sum(1 for i in rows if i.on_scene_at),
        "closed": sum(1 for i in rows if i.status == "closed"),
        "by_grade": by_grade,
        "median_ack_s_all": statistics.median(
            [(i.accepted_at - i.created_at).total_seconds() for i in rows if i.accepted_at] or [0]
        ),
    }
