"""``banyan drill HAZARD`` (typhoon, flood, fire, heatwave, epidemic): one emergency through the product's
own services, on simulated time, on the synthetic community.

Everything runs on :mod:`banyan.core.clock` time (a SimulatedClock) and one seeded :class:`random.Random`,
so the same seed on the same seeded database gives the same JSON (no wall-clock value is in it).

**The cycle** (each step the product's own call):

1. *Setup*: the community's hazard register and plans (the seed installs them:
   ``emergency.hazards.install_register``, ``emergency.plans.install_plans``), its shelters and supplies
   (``emergency.shelters.services.install_shelters``).
2. *A government warning*: a CAP 1.2 message (``warning.cap.build_cap``: zh-CN and en infos, the sender a
   provincial or city office, the area a polygon or circle around the community or building) is imported
   through ``warning.services.import_official_warning`` (parsed and validated there). The worker's round
   (``emergency.triggers.sweep``) proposes the plan; the director sees the proposal and confirms it after
   ``HazardDrill.confirm_s`` (``emergency.services.activate``, one click; for a fire the area is narrowed to
   the building). ``activation_s`` is from the warning's arrival to the activation.
3. *Roll call*: the director starts it at once (``rollcall.services.start_roll_call``, the plan's wait).
   Households answer with log-normal delays (median ``HazardDrill.reply_median_s``), through the real
   paths: the app tap (``rollcall.services.answer`` as the resident's or carer's account), SMS and key
   presses through ``notify.inbound.receive`` from the phone that was asked. ``never_share`` of
   households never answer; others let a message pass (``ANSWER`` by channel). The worker's round
   (every ``TICK_S``: ``rollcall.services.follow_up_roll_calls``, ``response.services.escalate_due``,
   ``emergency.relay.services.sweep``; ``response.services.redispatch_waiting`` only in rounds where a
   responder is on duty and under capacity — without one it provably assigns nobody, and it ranks every
   waiting incident to find that out: :meth:`_Drill.someone_free`) sends door-knocking visits on
   foot; responders accept (86 %, after 5-25 s: the visits are urgent), decline (8 %) or see it 15-45 min
   late (the escalation may ask the next before); the one who accepts walks (the dispatch decision's
   ``walk_s`` plus 20-60 s to get going), knocks 2-6 min and resolves — one visit at a time: a responder
   holding several (dispatch gives up to their capacity) does them in turn; the next round marks the
   household accounted for.
   "Need help" answers open an incident worked 10-30 min.
4. *Shelters fill*: the shelters are opened for the emergency; households of the exposed flats (the
   hazard's ``shelter_from``: ground floors, buildings without lifts, the burning building) go there with
   probability ``shelter_share``, 20-180 min after activation, each member checked in by the director at
   the desk (``shelters.services.check_in``) and out at the stand-down. ``shelter_peak`` is from
   ``shelters.services.summary``.
5. *Checklist*: each task's assignee (else the director) marks it done after a log-normal share of its
   deadline (``emergency.services.complete_task``); ``tasks_late`` counts the tasks done after their due
   time or still open at the stand-down (``emergency.services.stand_down``, after ``duration_s``).

**Figures.** Shares are of the *vulnerable residents* (those with an active care profile) of the affected
area, whose household is accounted for (answered safe or need help, or seen by a visit), at 10, 30 and
60 minutes after the roll call started; ``all_accounted_min`` is when the last of them was (None if never).

**Resilience loss** (Bruneau et al. 2003): ``resilience_loss = ∫_{t0}^{t1} (100 − Q(t)) dt`` in
percent-hours, with ``Q(t)`` the percentage of the area's households accounted for at time ``t``,
``t0`` the warning's arrival (nobody is accounted for before the roll call begins: the activation delay
counts as loss) and ``t1`` the stand-down. ``Q`` is a step function rising at each household's
``accounted_at``, so the integral is exact: Σ over steps of (100 − Q) × the step's length in hours.
Services running are not modelled (no outages), so Q is the roll call's alone.

6. *Sensors* (:mod:`banyan.sim.emergency_sensors`): in a typhoon or flood the area's water-level sensors
   report every 5 minutes as the rain fills basements, ramps and sumps, in a fire the burning building's
   smoke detectors alarm — through the ingest writer and the community's rules, so alerts are raised and
   the worker's round opens their incidents (``response.services.open_incidents_for_alerts``), which
   responders work like the rest; a resolved flooding incident sets up a pump there.

The plan's call-up (:mod:`banyan.emergency.call_up`) puts the building leaders on duty at the activation,
so door-knocks go to the nearest of them or of the grid workers.

Not simulated: the notify gateway (messages are taken as delivered when queued), notices from the plan
(the relay of the official warning is run by the worker), the everyday reports of the other devices.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from banyan.core import clock
from banyan.core.errors import BanyanError
from banyan.emergency import services as emergency_services
from banyan.emergency.choices import EmergencyStatus, TaskKind, TaskStatus
from banyan.emergency.models import Emergency, Task
from banyan.emergency.relay.services import sweep as relay_sweep
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.rollcall.choices import AskChannel, EntryStatus
from banyan.emergency.rollcall.models import Entry, RollCall
from banyan.emergency.shelters import services as shelters
from banyan.emergency.shelters.models import Shelter, Stay
from banyan.emergency.triggers import sweep as propose_emergencies
from banyan.notify import inbound
from banyan.people.carers import consented_carers
from banyan.people.models import CareProfile, Resident, User
from banyan.places.models import Building, Region
from banyan.response import services as response
from banyan.response.flow import Status
from banyan.response.models import DispatchDecision, Incident, Responder
from banyan.sim.drill import _Job, _percentile
from banyan.sim.emergency_epidemic import EpidemicPart
from banyan.sim.emergency_sensors import INTERVAL_S, Sensors
from banyan.warning.cap import CapAlert, CapArea, CapInfo, build_cap, polygon_from_geojson
from banyan.warning.choices import ACTIVE_STATUSES
from banyan.warning.services import import_official_warning

HAZARDS = ("typhoon", "flood", "fire", "heatwave", "epidemic")
TICK_S = 60
SENSOR_INTERVAL_S = INTERVAL_S
ACCEPT, DECLINE = 0.86, 0.08  # the rest are seen 15-45 min late (escalation may ask the next before)
ANSWER = {AskChannel.APP: 0.9, AskChannel.SMS: 0.85, AskChannel.VOICE: 0.8, AskChannel.CARER: 0.85}
REPLY_SIGMA = 0.8
NEED_HELP_SHARE = 0.02
CANCELLED = Status.CANCELLED.value


@dataclass(frozen=True)
class HazardDrill:
    """What differs between hazards: the warning, the area, the people's pace, the shelters, the length."""

    hazard: str  # emergency.choices.HazardKind
    level: int  # 1 (I, red) … 4 (IV, blue): the warning's colour
    sender: str
    sender_zh: str
    sender_en: str
    category: str  # CAP <category>
    event_zh: str
    event_en: str
    headline_zh: str
    headline_en: str
    description_zh: str
    description_en: str
    response: str  # CAP <responseType>
    area: str  # "community" or "building" (one building: the warning is a circle around it)
    confirm_s: tuple[float, float]  # the director's delay from the proposal to the activation
    reply_median_s: float
    never_share: float  # households that never answer
    shelter_from: str  # "ground_floor", "no_lift", "area", "" (nobody goes to a shelter)
    shelter_share: float
    duration_s: float  # from the activation to the stand-down


_SEVERITY = {1: "Extreme", 2: "Severe", 3: "Moderate", 4: "Minor"}
_COLOUR = {1: ("红色", "Red"), 2: ("橙色", "Orange"), 3: ("黄色", "Yellow"), 4: ("蓝色", "Blue")}

DRILLS: dict[str, HazardDrill] = {
    "typhoon": HazardDrill(
        hazard="typhoon",
        level=2,
        sender="zjqxt@weather.zj.gov.cn",
        sender_zh="浙江省气象台",
        sender_en="Zhejiang Provincial Meteorological Observatory",
        category="Met",
        event_zh="台风",
        event_en="Typhoon",
        headline_zh="浙江省气象台发布台风橙色预警",
        headline_en="Zhejiang Provincial Meteorological Observatory issues an orange typhoon warning",
        description_zh="受台风影响，未来24小时杭州市将出现10级以上大风和大暴雨，请做好防御准备。",
        description_en="The typhoon will bring winds of force 10 and above and very heavy rain to Hangzhou "
        "within 24 hours; prepare now.",
        response="Prepare",
        area="community",
        confirm_s=(180, 600),
        reply_median_s=300,
        never_share=0.04,
        shelter_from="no_lift",
        shelter_share=0.12,
        duration_s=6 * 3600,
    ),
    "flood": HazardDrill(
        hazard="flood",
        level=3,
        sender="hzqxt@weather.hangzhou.gov.cn",
        sender_zh="杭州市气象台",
        sender_en="Hangzhou Meteorological Observatory",
        category="Met",
        event_zh="暴雨",
        event_en="Rainstorm",
        headline_zh="杭州市气象台发布暴雨黄色预警",
        headline_en="Hangzhou Meteorological Observatory issues a yellow rainstorm warning",
        description_zh="预计未来6小时上城区降雨量将达50毫米以上，低洼地带和地下空间有积水风险。",
        description_en="More than 50 mm of rain is expected in Shangcheng within 6 hours; low-lying places "
        "and underground spaces may flood.",
        response="Prepare",
        area="community",
        confirm_s=(120, 480),
        reply_median_s=360,
        never_share=0.04,
        shelter_from="ground_floor",
        shelter_share=0.08,
        duration_s=4 * 3600,
    ),
    "fire": HazardDrill(
        hazard="fire",
        level=2,
        sender="scqyjglj@hangzhou.gov.cn",
        sender_zh="杭州市上城区应急管理局",
        sender_en="Shangcheng District Emergency Management Bureau",
        category="Fire",
        event_zh="火灾",
        event_en="Fire",
        headline_zh="上城区应急管理局发布火灾橙色预警",
        headline_en="Shangcheng District Emergency Management Bureau issues an orange fire warning",
        description_zh="该楼栋发生火灾，请楼内居民立即疏散至集合点。",
        description_en="A fire has broken out in the building; its residents evacuate to the assembly "
        "point now.",
        response="Evacuate",
        area="building",
        confirm_s=(30, 120),
        reply_median_s=120,
        never_share=0.03,
        shelter_from="area",
        shelter_share=0.6,
        duration_s=2 * 3600,
    ),
    "heatwave": HazardDrill(
        hazard="heat_wave",
        level=3,
        sender="zjqxt@weather.zj.gov.cn",
        sender_zh="浙江省气象台",
        sender_en="Zhejiang Provincial Meteorological Observatory",
        category="Met",
        event_zh="高温",
        event_en="Heat Wave",
        headline_zh="浙江省气象台发布高温黄色预警",
        headline_en="Zhejiang Provincial Meteorological Observatory issues a yellow heat wave warning",
        description_zh="未来三天杭州市最高气温将达37℃以上，请老人和慢性病患者避免午后外出。",
        description_en="Highs of 37 °C and above in Hangzhou for three days; the old and the chronically "
        "ill should stay in in the afternoon.",
        response="Prepare",
        area="community",
        confirm_s=(300, 1200),
        reply_median_s=480,
        never_share=0.04,
        shelter_from="no_lift",
        shelter_share=0.03,
        duration_s=10 * 3600,
    ),
    "epidemic": HazardDrill(
        hazard="epidemic",
        level=3,
        sender="wsjkw@hangzhou.gov.cn",
        sender_zh="杭州市卫生健康委员会",
        sender_en="Hangzhou Municipal Health Commission",
        category="Health",
        event_zh="传染病疫情",
        event_en="Epidemic",
        headline_zh="杭州市卫生健康委员会发布传染病疫情黄色预警",
        headline_en="Hangzhou Municipal Health Commission issues a yellow epidemic warning",
        description_zh="本市出现聚集性传染病疫情，请居民配合社区健康排查，出现症状居家隔离并报告。",
        description_en="A cluster of infectious disease in the city: residents take part in the "
        "community's health check, isolate at home and report symptoms.",
        response="Monitor",
        area="community",
        confirm_s=(600, 1800),
        reply_median_s=600,
        never_share=0.05,
        shelter_from="",
        shelter_share=0.0,
        duration_s=24 * 3600,
    ),
}


def build_warning(drill: HazardDrill, community: Region, *, sent: dt.datetime, building: Building | None):
    """The government's CAP 1.2 message for the drill: zh-CN and en infos, the area the community's outline
    (a circle of 300 m around the building for a fire)."""
    colour_zh, colour_en = _COLOUR[drill.level]
    if building is not None:
        area = CapArea(
            description=f"{community.name_zh} {building.name}",
            circles=(f"{building.latitude:.6f},{building.longitude:.6f} 0.3",),
        )
    elif community.boundary:
        area = CapArea(
            description=f"杭州市上城区 {community.name_zh}",
            polygons=(polygon_from_geojson(community.boundary),),
        )
    else:  # no outline: the administrative code of the district (GB/T 2260), which covers the community
        area = CapArea(description="杭州市上城区", geocodes=(("GB/T 2260", community.code[:6]),))
    common: dict[str, Any] = {
        "categories": (drill.category,),
        "urgency": "Expected" if drill.area == "community" else "Immediate",
        "severity": _SEVERITY[drill.level],
        "certainty": "Likely" if drill.area == "community" else "Observed",
        "response_types": (drill.response,),
        "effective": sent,
        "expires": sent + dt.timedelta(seconds=drill.duration_s + 24 * 3600),
        "areas": (area,),
    }
    infos = (
        CapInfo(
            language="zh-CN",
            event=drill.event_zh,
            headline=drill.headline_zh,
            description=drill.description_zh,
            sender_name=drill.sender_zh,
            parameters=(("warningLevel", colour_zh),),
            **common,
        ),
        CapInfo(
            language="en",
            event=drill.event_en,
            headline=drill.headline_en,
            description=drill.description_en,
            sender_name=drill.sender_en,
            parameters=(("warningLevel", colour_en),),
            **common,
        ),
    )
    identifier = f"{drill.hazard}-{sent.strftime('%Y%m%d%H%M%S')}-{community.code}"
    return build_cap(CapAlert(identifier=identifier, sender=drill.sender, sent=sent, infos=infos))


class _Drill:
    """The state of one run: the RNG, the job queue, who was given a behaviour already, the counts."""

    def __init__(self, *, name: str, seed: int, start: dt.datetime):
        self.name = name
        self.spec = DRILLS[name]
        self.rng = random.Random(f"{name}:{seed}")
        self.seed = seed
        self.start = start
        self.now_s = 0.0
        self.jobs: list[_Job] = []
        self.counter = itertools.count()
        self.community = Region.objects.filter(kind="community").order_by("pk")[0]
        self.director = User.objects.filter(
            role="community_director", is_active=True, region__path__startswith=self.community.path
        ).order_by("username")[0]
        self.emergency: Emergency | None = None
        self.roll_call: RollCall | None = None
        self.asked: set[tuple[int, int]] = set()
        self.looked_at: dt.datetime | None = None
        self.busy_until: dict[int, float] = {}  # responder → when their visits in hand are done
        self.entries_seen = 0
        self.counts: Counter = Counter()
        self.building: Building | None = None
        self.warning_at = 0.0
        self.activated_s = 0.0
        self.stood_down_s: float | None = None
        self.shelter_summary: dict = {}
        # A random stream of its own: the sensors do not shift the people's draws.
        self.sensors = Sensors(self.spec.hazard, self.community, random.Random(f"{name}:{seed}:sensors"))
        self.epidemic = EpidemicPart(self) if self.spec.hazard == "epidemic" else None

    def at(self, seconds: float, kind: str, **data) -> None:
        heapq.heappush(self.jobs, _Job(seconds, next(self.counter), kind, data))

    # -- setup and the warning -------------------------------------------------------------------------

    def set_up(self) -> None:
        made = shelters.install_shelters(self.community)
        self.counts["shelters_installed"] += made["shelters"]
        if self.spec.area == "building":  # the fire: the building with the most residents in care
            in_care = Counter(
                CareProfile.objects.filter(
                    is_active=True, resident__household__grid__path__startswith=self.community.path
                ).values_list("resident__household__unit__building_id", flat=True)
            )
            ranked = sorted(in_care.items(), key=lambda item: (-item[1], item[0]))
            self.building = Building.objects.get(pk=ranked[0][0]) if ranked else Building.objects.first()
        self.warning_at = self.rng.uniform(60, 600)
        self.at(self.warning_at, "warning")

    def warning(self) -> None:
        data = build_warning(self.spec, self.community, sent=clock.now(), building=self.building)
        warning, _created = import_official_warning(actor="gateway:cap", data=data, source_url="")
        self.counts["cap_bytes"] = len(data)

    def proposals(self) -> None:
        proposed = (
            Emergency.objects.filter(community=self.community, status=EmergencyStatus.PROPOSED)
            .order_by("pk")
            .first()
        )
        if proposed is not None and self.emergency is None:
            self.emergency = proposed
            self.at(self.now_s + self.rng.uniform(*self.spec.confirm_s), "confirm")

    def confirm(self) -> None:
        assert self.emergency is not None
        buildings = [self.building.pk] if self.building is not None else None
        self.emergency = emergency_services.activate(
            actor=self.director, emergency=self.emergency, area_buildings=buildings
        )
        self.activated_s = self.now_s
        body = self.emergency.plan.body if self.emergency.plan is not None else {}
        wait = (body.get("roll_call") or {}).get("wait_minutes")
        self.roll_call = rollcall.start_roll_call(
            actor=self.director, emergency=self.emergency, wait_minutes=wait
        )
        self.plan_answers()
        self.plan_tasks()
        self.plan_shelters()
        self.sensors.arm(
            activated_s=self.activated_s,
            rain_h=self.spec.duration_s / 3600 / 2,
            grids=list(self.emergency.area_grids.all()),
            buildings=list(self.emergency.area_buildings or []),
            fire=self.building if self.spec.hazard == "fire" else None,
        )
        if self.sensors.active:
            self.at(self.now_s, "sensors")
        if self.epidemic is not None:
            self.epidemic.plan()
        self.at(self.now_s + self.spec.duration_s, "stand_down")

    # -- the households --------------------------------------------------------------------------------

    def plan_answers(self) -> None:
        entries = (
            Entry.objects.filter(roll_call=self.roll_call)
            .exclude(channel=AskChannel.NONE)
            .select_related("resident")
            .order_by("pk")
        )
        for entry in entries:
            self.counts[f"asked_{entry.channel}"] += 1
            if self.rng.random() < self.spec.never_share or self.rng.random() >= ANSWER[entry.channel]:
                continue
            if entry.channel == AskChannel.VOICE:
                delay = self.rng.uniform(20, 120) + self.rng.choice([0, 0, 0, 300, 900])  # a call back
            else:
                delay = self.rng.lognormvariate(math.log(self.spec.reply_median_s), REPLY_SIGMA)
            outcome = "2" if self.rng.random() < NEED_HELP_SHARE else "1"
            self.at(self.now_s + delay, "answer", entry=entry.pk, outcome=outcome)

    def answer(self, entry_pk: int, outcome: str) -> None:
        entry = Entry.objects.select_related("resident").get(pk=entry_pk)
        if entry.status not in (EntryStatus.WAITING, EntryStatus.VISITING):
            return  # a door-knock found them first (one on its way is withdrawn by their answer)
        status = EntryStatus.NEED_HELP if outcome == "2" else EntryStatus.SAFE
        if entry.asked_user_id is not None:
            try:
                rollcall.answer(actor=entry.asked_user, entry=entry, status=status)
            except BanyanError as error:
                self.counts[f"answers_refused_{type(error).__name__}"] += 1
                return
            self.counts[f"answered_{entry.channel}"] += 1
            return
        phone = self.phone_of(entry)
        if not phone:
            self.counts["answers_without_phone"] += 1
            return
        channel = "voice" if entry.channel == AskChannel.VOICE else "sms"
        reply = inbound.receive(channel=channel, phone=phone, text=outcome, provider_id=f"drill-{entry_pk}")
        self.counts[f"inbound_{reply.status}"] += 1
        self.counts[f"answered_{entry.channel}"] += 1

    def phone_of(self, entry: Entry) -> str:
        resident = entry.resident
        if resident is None:
            return ""
        if entry.channel != AskChannel.CARER:
            return resident.phone
        return next((carer.phone for carer in consented_carers(resident) if carer.phone), "")

    # -- the responders (as in ``banyan drill response``) ----------------------------------------------

    def new_assignments(self) -> None:
        # Only the assignments since the last look (time moves forward only; the set drops repeats).
        since, self.looked_at = self.looked_at, clock.now()
        assigned = Incident.objects.filter(status=Status.ASSIGNED.value).exclude(assignee=None)
        if since is not None:
            assigned = assigned.filter(assigned_at__gte=since)
        fresh = [
            key for key in assigned.order_by("pk").values_list("pk", "assignee_id") if key not in self.asked
        ]
        for pk, user_pk in fresh:
            self.asked.add((pk, user_pk))
            roll = self.rng.random()
            if roll < ACCEPT:
                decision = DispatchDecision.objects.filter(incident_id=pk, chosen_id=user_pk).last()
                walk = next(
                    (r["walk_s"] for r in (decision.ranking if decision else []) if r["user"] == user_pk),
                    None,
                )
                self.at(self.now_s + self.rng.uniform(5, 25), "accept", incident=pk, user=user_pk, walk=walk)
            elif roll < ACCEPT + DECLINE:
                self.at(self.now_s + self.rng.uniform(10, 60), "decline", incident=pk, user=user_pk)
            else:  # the phone in a pocket: seen late (if the escalation has not given it to another by then)
                self.at(
                    self.now_s + self.rng.uniform(900, 2700), "accept", incident=pk, user=user_pk, walk=None
                )

    def act(self, incident_pk: int, user_pk: int, move: str, **kw) -> bool:
        incident = Incident.objects.filter(pk=incident_pk).first()
        if incident is None or incident.assignee_id != user_pk:
            return False
        try:
            response.act(actor=User.objects.get(pk=user_pk), incident=incident, move=move, **kw)
        except BanyanError:  # a step the state no longer allows: the responder moves on
            self.counts[f"moves_refused_{move}"] += 1
            return False
        return True

    def go(self, incident_pk: int, user_pk: int, walk: float | None) -> None:
        """One person does one visit at a time: an accepted visit starts when the responder's current one
        ends (a responder may hold ``capacity`` incidents, and works them in turn)."""
        start = max(self.now_s, self.busy_until.get(user_pk, 0.0))
        travel = (walk if walk is not None else self.rng.uniform(120, 600)) + self.rng.uniform(20, 60)
        kind = Task.objects.filter(incident_id=incident_pk).values_list("kind", flat=True).first()
        if kind == TaskKind.DOOR_KNOCK:
            work = self.rng.uniform(120, 360)
        elif kind == TaskKind.DELIVERY:  # hand the bag over at the door
            work = self.rng.uniform(180, 600)
        else:
            work = self.rng.uniform(600, 1800)
        self.busy_until[user_pk] = start + travel + work
        self.at(start + travel, "arrive", incident=incident_pk, user=user_pk, work=work)

    def arrive(self, incident_pk: int, user_pk: int, work: float) -> None:
        if not self.act(incident_pk, user_pk, "on_scene"):
            return
        incident = Incident.objects.select_related("unit__building").get(pk=incident_pk)
        building = incident.unit.building if incident.unit_id else None
        responder = Responder.objects.filter(user_id=user_pk).first()
        if responder is not None and building is not None:
            responder.latitude, responder.longitude = building.latitude, building.longitude
            responder.save(update_fields=["latitude", "longitude"])
        self.at(self.now_s + work, "resolve", incident=incident_pk, user=user_pk)

    def resolved(self, incident_pk: int) -> None:
        """A flooding incident resolved: the pump is set up where it was (the sensors' water falls)."""
        incident = Incident.objects.filter(pk=incident_pk, category__code="flooding").first()
        if incident is not None:
            self.sensors.pumped((incident.building_id, incident.facility_id), self.now_s)

    # -- checklist and shelters ------------------------------------------------------------------------

    def plan_tasks(self) -> None:
        assert self.emergency is not None
        for task in Task.objects.filter(emergency=self.emergency, kind=TaskKind.CHECKLIST).order_by("pk"):
            due_s = (task.due_at - clock.now()).total_seconds() if task.due_at else 3600.0
            share = self.rng.lognormvariate(math.log(0.6), 0.45)  # most in time, about one in eight late
            self.at(self.now_s + max(60.0, due_s * share), "task", task=task.pk)

    def task(self, task_pk: int) -> None:
        task = Task.objects.select_related("emergency").get(pk=task_pk)
        actor = task.assignee if task.assignee_id and task.assignee.is_active else self.director
        try:
            emergency_services.complete_task(actor=actor, task=task)
        except BanyanError as error:
            self.counts[f"tasks_refused_{type(error).__name__}"] += 1

    def plan_shelters(self) -> None:
        assert self.emergency is not None
        if not self.spec.shelter_from:
            return
        opened = 0
        for shelter in Shelter.objects.filter(community=self.community, is_open=False).order_by("pk"):
            try:
                shelters.open_shelter(actor=self.director, shelter=shelter, emergency=self.emergency)
                opened += 1
            except BanyanError:
                self.counts["shelters_not_opened"] += 1
        self.counts["shelters_opened"] = opened
        area = rollcall.households_of(self.emergency)
        if self.spec.shelter_from == "ground_floor":
            area = area.filter(unit__floor__lte=1)
        elif self.spec.shelter_from == "no_lift":
            area = area.filter(
                Q(unit__building__lift=False) | Q(unit__building__lift=None, unit__floor__gte=4)
            )
        for household in area.order_by("pk").values_list("pk", flat=True):
            if self.rng.random() < self.spec.shelter_share:
                self.at(self.now_s + self.rng.uniform(1200, 10800), "shelter", household=household)

    def shelter(self, household_pk: int) -> None:
        # The shelters' occupancy read once for the household, counted on as its members check in.
        open_now = list(
            Shelter.objects.filter(opened_for=self.emergency, is_open=True).order_by("-capacity", "pk")
        )
        for resident in Resident.objects.filter(household_id=household_pk).order_by("pk"):
            for shelter in open_now:
                if shelter.occupied >= shelter.capacity:
                    continue
                try:
                    shelters.check_in(actor=self.director, shelter=shelter, resident=resident)
                except BanyanError:
                    self.counts["check_ins_refused"] += 1
                    continue
                shelter.occupied += 1
                self.counts["checked_in"] += 1
                break
            else:
                self.counts["no_shelter_place"] += 1

    def stand_down(self) -> None:
        assert self.emergency is not None
        from_stays = shelters.summary(self.emergency)
        self.shelter_summary = from_stays
        for stay in self.emergency_stays():
            shelters.check_out(actor=self.director, stay=stay)
        self.emergency = emergency_services.stand_down(actor=self.director, emergency=self.emergency)
        self.stood_down_s = self.now_s

    def emergency_stays(self):
        return list(Stay.objects.filter(emergency=self.emergency, checked_out_at__isnull=True).order_by("pk"))

    # -- the run ---------------------------------------------------------------------------------------

    def idle(self) -> bool:
        """Whether the worker's round would do nothing (no entry waiting or visited, no incident open)."""
        if self.roll_call is None:
            return False
        return not (
            Entry.objects.filter(
                roll_call=self.roll_call, status__in=[EntryStatus.WAITING, EntryStatus.VISITING]
            ).exists()
            or Incident.objects.open().exists()
            or self.sensors.alerts().filter(status__in=ACTIVE_STATUSES, incidents__isnull=True).exists()
            or (self.epidemic is not None and self.epidemic.busy())
        )

    def someone_free(self) -> bool:
        """Whether a responder serving the community is on duty and under capacity: else
        ``redispatch_waiting`` can assign nobody (dispatch's eligibility), and the drill skips it."""
        now = clock.now()
        on_duty = list(
            response.responders_serving(self.community)
            .filter(shifts__starts_at__lte=now, shifts__ends_at__gt=now)
            .distinct()
            .values_list("user_id", "capacity")
        )
        load = Counter(
            Incident.objects.open()
            .filter(assignee__in=[user for user, _capacity in on_duty])
            .values_list("assignee_id", flat=True)
        )
        return any(load[user] < capacity for user, capacity in on_duty)

    def run(self) -> dict:
        simulated = clock.SimulatedClock(self.start)
        with clock.use(simulated):
            self.set_up()
            self.at(TICK_S, "tick")
            while self.jobs:
                job = heapq.heappop(self.jobs)
                if job.at > self.now_s:
                    simulated.advance(job.at - self.now_s)
                    self.now_s = job.at
                kind, data = job.kind, job.data
                if kind == "tick":
                    if self.stood_down_s is not None:
                        continue
                    self.at(self.now_s + TICK_S, "tick")
                    if self.idle():
                        self.counts["worker_rounds_skipped_idle"] += 1
                        continue
                    self.counts["worker_rounds"] += 1
                    if self.emergency is None:
                        propose_emergencies()
                        self.proposals()
                        continue
                    response.escalate_due()
                    self.counts["sensor_incidents"] += len(response.open_incidents_for_alerts())
                    if self.someone_free():
                        self.counts["redispatch_rounds"] += 1
                        response.redispatch_waiting()
                    else:
                        self.counts["redispatch_rounds_skipped_nobody_free"] += 1
                    rollcall.follow_up_roll_calls()
                    if self.epidemic is not None:
                        self.epidemic.round()
                    relay_sweep()
                elif kind == "warning":
                    self.warning()
                elif kind == "confirm":
                    self.confirm()
                elif kind == "answer":
                    self.answer(data["entry"], data["outcome"])
                elif kind == "accept":
                    if self.act(data["incident"], data["user"], "accept"):
                        self.go(data["incident"], data["user"], data["walk"])
                elif kind == "decline":
                    self.act(data["incident"], data["user"], "decline", note="busy")
                elif kind == "arrive":
                    self.arrive(data["incident"], data["user"], data["work"])
                elif kind == "resolve":
                    if self.act(data["incident"], data["user"], "resolve", note="seen, safe"):
                        self.resolved(data["incident"])
                elif kind == "isolate" and self.epidemic is not None:
                    self.epidemic.isolate(data["household"], data["needs"])
                elif kind == "deliver" and self.epidemic is not None:
                    self.epidemic.deliver(data["household"], data["what"])
                elif kind == "checkin" and self.epidemic is not None:
                    self.epidemic.answer(data["checkin"], data["outcome"])
                elif kind == "sensors":
                    if self.stood_down_s is None:
                        self.counts["sensor_alerts_written"] += self.sensors.report(self.now_s, clock.now())
                        self.at(self.now_s + SENSOR_INTERVAL_S, "sensors")
                elif kind == "task":
                    self.task(data["task"])
                elif kind == "shelter":
                    self.shelter(data["household"])
                elif kind == "stand_down":
                    self.stand_down()
                    break
                if kind in ("tick", "answer", "decline", "resolve"):
                    self.new_assignments()
            return self.figures()

    # -- the figures -----------------------------------------------------------------------------------

    def figures(self) -> dict:
        assert self.emergency is not None and self.roll_call is not None and self.stood_down_s is not None
        roll_call = self.roll_call
        started = roll_call.started_at
        entries = list(
            Entry.objects.filter(roll_call=roll_call).values_list(
                "household_id", "vulnerable", "accounted_at"
            )
        )
        in_care = Counter(
            household
            for _resident, household in set(
                CareProfile.objects.filter(
                    is_active=True,
                    resident__household_id__in=[h for h, vulnerable, _a in entries if vulnerable],
                ).values_list("resident_id", "resident__household_id")
            )
        )
        vulnerable_total = sum(in_care.values())

        def minutes(at: dt.datetime) -> float:
            return (at - started).total_seconds() / 60

        weighted = sorted(
            (minutes(at), in_care[household]) for household, vulnerable, at in entries if vulnerable and at
        )
        accounted_vulnerable = sum(n for _m, n in weighted)

        def share_at(limit: float) -> float | None:
            if not vulnerable_total:
                return None
            return round(sum(n for m, n in weighted if m <= limit) / vulnerable_total, 4)

        all_min = round(weighted[-1][0], 1) if weighted and accounted_vulnerable == vulnerable_total else None
        tasks = Task.objects.filter(emergency=self.emergency)
        # A door-knock withdrawn because the household answered first is not late (nor done).
        late = [
            t
            for t in tasks.select_related("incident")
            if t.due_at is not None
            and not (
                t.status == TaskStatus.CANCELLED and t.incident and t.incident.status == Status.CANCELLED
            )
            and (t.status != TaskStatus.DONE or (t.done_at and t.done_at > t.due_at))
        ]
        households = [at for _h, _v, at in entries]
        result = {
            "hazard": self.name,
            "seed": self.seed,
            "residents": Resident.objects.count(),
            "vulnerable_total": vulnerable_total,
            "activation_s": round(self.activated_s - self.warning_at, 1),
            "accounted_share_at_10min": share_at(10),
            "accounted_share_at_30min": share_at(30),
            "accounted_share_at_60min": share_at(60),
            "all_accounted_min": all_min,
            "tasks_late": len(late),
            "shelter_peak": self.shelter_summary["shelter_peak"],
            "resilience_loss": self.resilience_loss(households),
            "level": self.emergency.level,
            "area_households": len(entries),
            "area_vulnerable_households": sum(1 for _h, vulnerable, _a in entries if vulnerable),
            "households_accounted": sum(1 for at in households if at is not None),
            "households_all_accounted_min": round(max(minutes(at) for at in households), 1)
            if households and all(households)
            else None,
            "roll_call_wait_min": roll_call.wait_minutes,
            "answered_by": dict(
                sorted(
                    Counter(
                        Entry.objects.filter(roll_call=roll_call).values_list("answered_via", flat=True)
                    ).items()
                )
            ),
            "door_knocks": tasks.filter(kind=TaskKind.DOOR_KNOCK).count(),
            "door_knock_minutes_p50": _percentile(self.knock_minutes(), 0.5),
            "door_knock_minutes_p90": _percentile(self.knock_minutes(), 0.9),
            "tasks": tasks.count(),
            "tasks_checklist": tasks.filter(kind=TaskKind.CHECKLIST).count(),
            "tasks_late_checklist": sum(1 for t in late if t.kind == TaskKind.CHECKLIST),
            "need_help": Entry.objects.filter(roll_call=roll_call, status=EntryStatus.NEED_HELP).count(),
            "shelters": {k: v for k, v in self.shelter_summary.items() if k != "shelter_peak_at"},
            "stand_down_h": round((self.stood_down_s - self.activated_s) / 3600, 2),
            **self.sensor_figures(),
            **({"epidemic": self.epidemic.figures()} if self.epidemic is not None else {}),
            "steps": dict(sorted(self.counts.items())),
        }
        result["goals"] = {
            "vulnerable_accounted_at_30min_at_least_90pct": (result["accounted_share_at_30min"] or 0) >= 0.9,
            "all_vulnerable_accounted_within_60min": all_min is not None and all_min <= 60,
        }
        return result

    def sensor_figures(self) -> dict:
        """What the area's own sensors did: readings, the alerts they raised (the first one's minutes
        after the activation) and the incidents opened for those alerts."""
        alerts = list(self.sensors.alerts().order_by("raised_at").values_list("pk", "raised_at"))
        activated = self.start + dt.timedelta(seconds=self.activated_s)
        incidents = Incident.objects.filter(alert_id__in=[pk for pk, _at in alerts])
        return {
            "sensor_readings": self.sensors.readings,
            "sensor_alerts": len(alerts),
            "first_sensor_alert_min": round((alerts[0][1] - activated).total_seconds() / 60, 1)
            if alerts
            else None,
            "sensor_incidents": incidents.count(),
            "sensor_incidents_resolved": incidents.exclude(resolved_at=None).count(),
        }

    def knock_minutes(self) -> list[float]:
        return [
            (accounted - sent).total_seconds() / 60
            for sent, accounted in Entry.objects.filter(
                roll_call=self.roll_call, visit_sent_at__isnull=False, status=EntryStatus.ACCOUNTED
            ).values_list("visit_sent_at", "accounted_at")
        ]

    def resilience_loss(self, accounted: list[dt.datetime | None]) -> float:
        """∫ (100 − Q(t)) dt from the warning to the stand-down, in percent-hours (see the docstring)."""
        if not accounted:
            return 0.0
        t0 = self.start + dt.timedelta(seconds=self.warning_at)
        t1 = self.start + dt.timedelta(seconds=self.stood_down_s or 0.0)
        total = len(accounted)
        loss, previous, done = 0.0, t0, 0
        for moment in sorted(at for at in accounted if at is not None and at <= t1):
            loss += (100.0 * (1 - done / total)) * (moment - previous).total_seconds() / 3600
            previous, done = moment, done + 1
        loss += (100.0 * (1 - done / total)) * (t1 - previous).total_seconds() / 3600
        return round(loss, 2)


def run(*, hazard: str, seed: int, start: dt.datetime) -> dict:
    """One emergency of ``hazard`` from ``start`` in the seeded database; returns the contract's figures."""
    if hazard not in DRILLS:
        raise ValueError(f"unknown hazard {hazard!r}: one of {', '.join(HAZARDS)}")
    return _Drill(name=hazard, seed=seed, start=start).run()


def first_morning() -> dt.datetime:
    """08:00 local time of the day after now: where a drill's simulated time begins."""
    local = timezone.localtime(clock.now())
    return local.replace(hour=8, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


def summary(result: dict) -> list[str]:
    """The figures in a few lines, and the issue's goals met or not."""

    def share(value) -> str:
        return "-" if value is None else f"{value:.1%}"

    lines = [
        f"{result['hazard']}: level {result['level']}, {result['area_households']} households "
        f"({result['vulnerable_total']} vulnerable residents) of {result['residents']} residents; "
        f"activated {result['activation_s'] / 60:.1f} min after the warning",
        f"vulnerable accounted for: 10 min {share(result['accounted_share_at_10min'])}, 30 min "
        f"{share(result['accounted_share_at_30min'])}, 60 min {share(result['accounted_share_at_60min'])}, "
        f"all at {result['all_accounted_min'] if result['all_accounted_min'] is not None else 'never'} min",
        f"door-knocks {result['door_knocks']}, tasks late {result['tasks_late']} of {result['tasks']}, "
        f"shelter peak {result['shelter_peak']}, resilience loss {result['resilience_loss']} %·h",
    ]
    for goal, met in result["goals"].items():
        lines.append(f"{'met' if met else 'NOT MET'}: {goal.replace('_', ' ')}")
    return lines
