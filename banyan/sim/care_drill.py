"""``banyan drill care``: simulated days of everyday care on the synthetic community.

Everything goes through the product's own paths, on :mod:`banyan.core.clock` time (a SimulatedClock)
and one seeded :class:`random.Random`, so the same seed on the same seeded database gives the same
figures (no wall-clock value is in them).

**Setting up** (what a community director does when care starts): a care plan for every resident with
an active care profile (``care.services.create_plan``, the template of their care kind). The seed
records no consent to share with carers, so the carer step of a missed check-in would reach nobody;
as the carer circle is rolled out, ``SHARE_WITH_CARERS_SHARE`` of those residents give it
(``people.services.record_consent``, what ``POST /residents/{id}/consents`` calls; a guardian's for
minors and residents with dementia). Accounts are the seed's: residents with an account get the app
tap, the others an SMS or a call; carers with an account (grid workers, the volunteer) check in as
carer.

**The worker** runs on a tick every ``TICK_S`` of simulated time: ``care.daily.send_daily_checkins``,
``care.visits.follow_missed`` and ``response.services.escalate_due`` (as ``banyan worker`` does); a
round that provably does nothing (see :meth:`_Drill.idle`: at night, nothing open) is skipped, which
changes no figure. Messages are taken as delivered when queued (the gateway is not simulated). The
director, every 10 min, sends someone (``response.services.act``, move assign, to the candidate with
the fewest open incidents) to an incident that has waited 10 min with nobody assigned — dispatch
finds nobody when every on-foot responder is at capacity, has declined or kept silent.

**People** (assumptions, each drawn from the seeded RNG):

* ``NEVER_ANSWER_SHARE`` of residents never answer anything on any day (asleep with the phone off, hard
  of hearing, away without saying): only a visit or a carer finds them.
* A daily request or a retry is answered with the probability of its channel (``ANSWER``; a retry,
  ``RETRY_ANSWER``: those who let the first one pass are less likely to take the next).
  An app tap and an SMS reply come after a log-normal delay (median ``REPLY_MEDIAN_S`` ≈ 8 min, 93 %
  within 30 min, a tail of a few hours: out shopping, at the clinic); a voice call is answered at once
  (15-90 s to listen and press a key) or not at all.
* ``NEED_HELP_SHARE`` of answers are "need help" (2 instead of 1): an incident opens at once.
* A carer with an account told of a missed check-in (the retry on the carer channel) checks in for the
  resident with probability ``CARER_ANSWER`` after 10-60 min (they phone or drop by). The family
  carer without an account cannot record a check-in.
* SMS and voice replies go to the handler behind ``POST /api/v1/notify/inbound``
  (``notify.inbound.receive``) from the resident's phone; a reply after the window is answered
  "too late" and not acted on, as the product does. App taps and carers' check-ins go through
  ``care.services.get_resident_for_checkin`` and ``record_checkin``, as ``POST /care/checkins`` does.
* Responders (as in ``banyan drill response``): an assignment is accepted (86 %, after 20-240 s, 5-25 s
  when urgent), declined (8 %) or left unanswered (6 %: escalation asks the next one); the one who
  accepts walks there (the dispatch decision's walking time plus 20-60 s to get going), spends 2-10
  min at the door and records the visit: ``VISIT_OUTCOMES`` (well, not at home, in hospital, needs
  help). Not at home: they come back 1-3 h later (second try: well 70 %, not at home 30 %); after
  the product's ``not_home_tries`` it escalates (carers and director told) and the family finds the
  resident 1-6 h later: a carer with an account checks in, else the director records the family's call
  (channel carer). A resident found in hospital stays there for the rest of the drill. Other incidents
  (a "need help") are worked 10-30 min and resolved.

**Consent at ingest**: at 08:00-09:00 of day 1 the care-monitoring consent of ``CONSENT_WITHDRAWALS``
residents with monitoring devices is withdrawn (``people.services.withdraw_consent``, what ``POST
/residents/{id}/consents/{consent_id}/withdraw`` calls); their devices' readings and those of
``OTHER_FED_DEVICES`` other residents' devices (the scenario simulator's values) go through
``sensing.services.ingest_messages`` with a ``sensing.consent.ConsentGate`` every ``READINGS_EVERY_S``
(the rule engine is not run). ``stored_after_withdrawal`` counts what the withdrawn residents'
monitoring devices stored after the withdrawal (an SOS button is not monitoring: it is kept).

**Figures** (for the drilled days; the run goes on after the last one until every missed check-in of
them is seen, or 24 h after the last miss):

* ``checkins_due``: one per active plan and day; ``checkins_answered``: a check-in of the resident that
  day at or before the check-in time + the plan's grace; ``answered_by_channel``: the channel of the
  first of those; ``missed``: due and not answered so.
* A missed check-in is **seen** at the first later sign of the person: a check-in on any channel (a
  retry answered, a carer, a visit that found them well or needing help — those record check-ins), or a
  visit that found them in hospital. Time to seen is measured **from the miss moment (check-in time +
  grace)**; ``missed_seen_within_60min_share`` and ``..._24h_share`` are over all missed.
* ``missed_never_asked``: missed check-ins of plans no channel reached that day (no account, no
  phone, no carer with an account named as checker): nobody was asked, the follow-up found them.
* ``wellness_visits``: wellness-visit incidents opened for the drilled days' missed check-ins;
  ``readings_dropped_without_consent``: ``sensing.consent.readings_dropped()``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
from collections import Counter

from django.db.models import Max
from django.utils import timezone

from banyan.care import services as care
from banyan.care.choices import Channel, FollowUpReason, FollowUpStatus, Outcome, VisitOutcome
from banyan.care.daily import send_daily_checkins
from banyan.care.models import CarePlan, CheckIn, CheckInRequest, FollowUp, Visit
from banyan.care.visits import follow_missed, follow_up_of, not_home_tries, record_visit, retry_minutes
from banyan.core import clock
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.notify import inbound
from banyan.notify.models import Message
from banyan.people import carers
from banyan.people import services as people
from banyan.people.carers import consented_carers
from banyan.people.choices import CareKind, CarerKind, ConsentGivenBy, ConsentScope, ProxyScope
from banyan.people.models import CareProfile, Carer, Consent, Resident, User
from banyan.response import services as response
from banyan.response.flow import Status
from banyan.response.models import DispatchDecision, Incident, Responder
from banyan.sensing import consent
from banyan.sensing.kinds import get_kind
from banyan.sensing.models import Device, Reading
from banyan.sensing.services import ingest_messages
from banyan.sim.drill import _Job, _percentile
from banyan.sim.scenario import Scenario
from banyan.sim.services import load_fleet
from banyan.warning.choices import ACTIVE_STATUSES
from banyan.warning.models import Alert

DAY_S = 24 * 3600
DEFAULT_DAYS = 2
TICK_S = 60
READINGS_EVERY_S = 600
SHARE_WITH_CARERS_SHARE = 0.9
NEVER_ANSWER_SHARE = 0.03
NEED_HELP_SHARE = 0.015
ANSWER: dict[str, float] = {Channel.APP: 0.93, Channel.SMS: 0.9, Channel.VOICE: 0.8, Channel.CARER: 0.9}
RETRY_ANSWER: dict[str, float] = {Channel.SMS: 0.6, Channel.VOICE: 0.6}
CARER_ANSWER = 0.75
REPLY_MEDIAN_S = 480.0
REPLY_SIGMA = 0.9
VISIT_OUTCOMES = {
    VisitOutcome.WELL: 0.82,
    VisitOutcome.NOT_HOME: 0.10,
    VisitOutcome.HOSPITAL: 0.04,
    VisitOutcome.NEEDS_HELP: 0.04,
}
ACCEPT, DECLINE = 0.86, 0.08  # the rest of assignments are left unanswered
CONSENT_WITHDRAWALS = 3
OTHER_FED_DEVICES = 12
DIRECTOR_AFTER = dt.timedelta(minutes=10)  # an unassigned incident the director sees and sends someone to
DIRECTOR_EVERY_S = 600
GUARDIAN_KINDS = {CareKind.DEMENTIA, CareKind.MINOR_UNDER_14}
# Who uses the app (smartphone use among older urban Chinese: most under 80, a few over; none with
# dementia), and which family carers signed up to the app and to act for their relative.
APP_SHARE_UNDER_80 = 0.55
APP_SHARE_80_PLUS = 0.2
CARER_ACCOUNT_SHARE = 0.6
CARER_KNOWS_WHERE = 0.7  # a carer asked at the first "not at home" who knows where their relative is


def _reply_delay(rng: random.Random) -> float:
    return min(6 * 3600.0, rng.lognormvariate(math.log(REPLY_MEDIAN_S), REPLY_SIGMA))


def _outcome(rng: random.Random) -> str:
    return Outcome.NEED_HELP if rng.random() < NEED_HELP_SHARE else Outcome.FINE


class _Drill:
    """The state of one run: the RNG, the job queue, who was given a behaviour already, the counts."""

    def __init__(self, *, seed: int, start: dt.datetime) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.start = start
        self.now_s = 0.0
        self.jobs: list[_Job] = []
        self.counter = itertools.count()
        self.director = User.objects.filter(role="community_director", is_active=True).order_by("username")[0]
        self.request_seen = 0  # the highest CheckInRequest id given a behaviour
        self.retries_seen: dict[int, int] = {}  # follow-up → retries given a behaviour
        self.asked: set[tuple[int, int]] = set()  # (incident, assignee) given a behaviour
        self.never: set[int] = set()
        self.in_hospital: set[int] = set()
        self.counts: Counter = Counter()
        self.inbound: Counter = Counter()
        self.accounts: dict[int, User] = {}
        self.withdrawn: dict[int, dt.datetime] = {}  # device id → when its resident withdrew consent
        self.fed: list[str] = []

    def at(self, seconds: float, kind: str, **data) -> None:
        heapq.heappush(self.jobs, _Job(seconds, next(self.counter), kind, data))

    # -- setting up ------------------------------------------------------------------------------

    def set_up(self) -> None:
        residents = list(
            Resident.objects.filter(care_profiles__is_active=True)
            .distinct()
            .select_related("household__unit")
            .order_by("pk")
        )
        kinds: dict[int, set[str]] = {}
        for resident_id, kind in CareProfile.objects.filter(is_active=True).values_list(
            "resident_id", "kind"
        ):
            kinds.setdefault(resident_id, set()).add(kind)
        sharing = set(
            Consent.objects.filter(
                scope=ConsentScope.SHARE_WITH_CARERS, withdrawn_at__isnull=True
            ).values_list("resident_id", flat=True)
        )
        for resident in residents:
            if not CarePlan.objects.filter(resident=resident).exists():
                care.create_plan(actor=self.director, resident=resident)
                self.counts["plans_made"] += 1
            if resident.pk not in sharing and self.rng.random() < SHARE_WITH_CARERS_SHARE:
                guardian = bool(kinds.get(resident.pk, set()) & GUARDIAN_KINDS) or (
                    resident.age_on(clock.today()) < 14
                )
                people.record_consent(
                    actor=self.director,
                    resident=resident,
                    scope=ConsentScope.SHARE_WITH_CARERS,
                    given_by=ConsentGivenBy.GUARDIAN if guardian else ConsentGivenBy.SELF,
                )
                self.counts["share_with_carers_consents_recorded"] += 1
            if self.rng.random() < NEVER_ANSWER_SHARE:
                self.never.add(resident.pk)
        for user in User.objects.filter(resident__in=residents, is_active=True).order_by("pk"):
            if user.resident_id is not None:
                self.accounts.setdefault(user.resident_id, user)
        self.sign_up(residents, kinds)
        self.request_seen = CheckInRequest.objects.aggregate(top=Max("id"))["top"] or 0

    def sign_up(self, residents: list[Resident], kinds: dict[int, set[str]]) -> None:
        """Residents in care who use a smartphone have the app (an account of their own); family carers
        who signed up are linked to their account and allowed to check in and report for their relative
        (``people.carers.link_account`` and ``grant``, as the carer circle's pages do)."""
        today = clock.today()
        for resident in residents:
            if resident.pk in self.accounts or CareKind.DEMENTIA in kinds.get(resident.pk, set()):
                continue
            age = resident.age_on(today)
            share = APP_SHARE_UNDER_80 if age < 80 else APP_SHARE_80_PLUS
            if age >= 14 and self.rng.random() < share:
                self.accounts[resident.pk] = User.objects.create(
                    username=f"drill-resident-{resident.pk}",
                    role=Role.RESIDENT,
                    region_id=resident.household.grid_id,
                    resident=resident,
                )
                self.counts["app_accounts_made"] += 1
        family = (
            Carer.objects.filter(
                care_profile__is_active=True, care_profile__resident__in=residents, user__isnull=True
            )
            .filter(kind=CarerKind.FAMILY)
            .select_related("care_profile__resident__household")
            .order_by("pk")
        )
        for carer in family:
            if self.rng.random() >= CARER_ACCOUNT_SHARE:
                continue
            resident = carer.care_profile.resident
            account = User.objects.create(
                username=f"drill-carer-{carer.pk}",
                role=Role.RESIDENT,
                region_id=resident.household.grid_id,
            )
            carers.link_account(actor=self.director, carer=carer, username=account.username)
            guardian = bool(kinds.get(resident.pk, set()) & GUARDIAN_KINDS) or resident.age_on(today) < 14
            carers.grant(
                actor=self.director,
                carer=carer,
                given_by=ConsentGivenBy.GUARDIAN if guardian else ConsentGivenBy.SELF,
                scopes=[ProxyScope.CHECK_IN, ProxyScope.REPORT],
            )
            self.counts["carer_accounts_made"] += 1

    def plan_consent(self) -> None:
        """Who withdraws care-monitoring consent on day 1, and which devices' readings are fed."""
        monitoring: dict[int, list[Device]] = {}
        for device in Device.objects.filter(resident__isnull=False).order_by("code"):
            kind = get_kind(device.kind)
            if kind is not None and kind.monitoring:
                monitoring.setdefault(device.resident_id, []).append(device)
        in_force = sorted(
            set(
                Consent.objects.filter(
                    scope=ConsentScope.CARE_MONITORING,
                    withdrawn_at__isnull=True,
                    resident_id__in=list(monitoring),
                ).values_list("resident_id", flat=True)
            )
        )
        chosen = self.rng.sample(in_force, min(CONSENT_WITHDRAWALS, len(in_force)))
        others = sorted(
            device.code for pk, devices in monitoring.items() if pk not in chosen for device in devices
        )
        fed = {device.code for pk in chosen for device in monitoring[pk]}
        fed |= set(self.rng.sample(others, min(OTHER_FED_DEVICES, len(others))))
        self.fed = sorted(fed)
        for resident_id in sorted(chosen):
            self.at(8 * 3600 + self.rng.uniform(0, 3600), "withdraw", resident=resident_id)

    # -- the people ----------------------------------------------------------------------------------

    def new_requests(self) -> None:
        for request in (
            CheckInRequest.objects.filter(pk__gt=self.request_seen).select_related("plan").order_by("pk")
        ):
            self.request_seen = request.pk
            self.counts[f"requests_{request.channel}"] += 1
            if request.channel == Channel.CARER:
                carer = request.plan.checker_user or (
                    request.plan.checker_carer.user if request.plan.checker_carer else None
                )
                if carer is not None and self.rng.random() < ANSWER[Channel.CARER]:
                    self.at(
                        self.now_s + self.rng.uniform(600, 3600),
                        "carer",
                        resident=request.resident_id,
                        user=carer.pk,
                        since=self.now_s,
                    )
                continue
            self.resident_answers(request.resident_id, request.channel, ANSWER[request.channel])

    def resident_answers(self, resident_id: int, channel: str, probability: float) -> None:
        if resident_id in self.never or resident_id in self.in_hospital:
            return
        if self.rng.random() >= probability:
            return
        delay = self.rng.uniform(15, 90) if channel == Channel.VOICE else _reply_delay(self.rng)
        self.at(
            self.now_s + delay,
            "answer",
            resident=resident_id,
            channel=channel,
            outcome=_outcome(self.rng),
            since=self.now_s,
        )

    def new_retries(self) -> None:
        for follow_up in (
            FollowUp.objects.filter(reason=FollowUpReason.MISSED).exclude(retries=[]).order_by("pk")
        ):
            seen = self.retries_seen.get(follow_up.pk, 0)
            for retry in follow_up.retries[seen:]:
                self.counts[f"retries_{retry['channel']}_{'sent' if retry['sent'] else 'unsent'}"] += 1
                if not retry["sent"]:
                    continue
                if retry["channel"] == Channel.CARER:
                    self.carers_told(follow_up.resident)
                else:
                    self.resident_answers(
                        follow_up.resident_id, retry["channel"], RETRY_ANSWER[retry["channel"]]
                    )
            self.retries_seen[follow_up.pk] = len(follow_up.retries)

    def carers_told(self, resident: Resident) -> None:
        with_account = [c.user for c in consented_carers(resident) if c.user is not None and c.user.is_active]
        if with_account and self.rng.random() < CARER_ANSWER:
            self.at(
                self.now_s + self.rng.uniform(600, 3600),
                "carer",
                resident=resident.pk,
                user=with_account[0].pk,
                since=self.now_s,
            )

    def answer(self, resident_id: int, channel: str, outcome: str, since: float) -> None:
        resident = Resident.objects.get(pk=resident_id)
        if CheckIn.objects.filter(
            resident=resident, at__gte=self.start + dt.timedelta(seconds=since)
        ).exists():
            return  # already checked in since they were asked: nobody answers twice
        if channel == Channel.APP:
            account = self.accounts.get(resident_id)
            if account is not None:
                self.checkin(account, resident_id, outcome, Channel.APP)
            return
        text = "2" if outcome == Outcome.NEED_HELP else "1"
        reply = inbound.receive(
            channel=channel, phone=resident.phone, text=text, provider_id=f"drill-{next(self.counter)}"
        )
        self.inbound[reply.status] += 1

    def checkin(self, user: User, resident_id: int, outcome: str, channel: str, note: str = "") -> bool:
        """As ``POST /care/checkins``: the resident looked up in the actor's scope, then the service."""
        try:
            resident = care.get_resident_for_checkin(user, resident_id)
            care.record_checkin(actor=user, resident=resident, outcome=outcome, channel=channel, note=note)
        except (NotFound, PermissionDenied, InvalidInput) as error:
            self.counts[f"checkins_refused_{channel}_{type(error).__name__}"] += 1
            return False
        return True

    # -- the responders ------------------------------------------------------------------------------

    def new_assignments(self) -> None:
        assigned = Incident.objects.filter(status=Status.ASSIGNED.value).exclude(assignee=None)
        fresh = [
            key for key in assigned.order_by("pk").values_list("pk", "assignee_id") if key not in self.asked
        ]
        if not fresh:
            return
        for incident in Incident.objects.filter(pk__in=[pk for pk, _user in fresh]).order_by("pk"):
            key = (incident.pk, incident.assignee_id)
            if key in self.asked:
                continue
            self.asked.add(key)
            urgent = incident.grade in ("red", "orange")
            roll = self.rng.random()
            if roll < ACCEPT:
                delay = self.rng.uniform(5, 25) if urgent else self.rng.uniform(20, 240)
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
                self.at(
                    self.now_s + delay, "accept", incident=incident.pk, user=incident.assignee_id, walk=walk
                )
            elif roll < ACCEPT + DECLINE:
                self.at(
                    self.now_s + self.rng.uniform(10, 60),
                    "decline",
                    incident=incident.pk,
                    user=incident.assignee_id,
                )

    def director_assigns(self) -> None:
        """The director's "send someone" for incidents dispatch found nobody for (everyone at capacity,
        declined or silent) and that wait unassigned: to the responder with the fewest open incidents."""
        waiting = Incident.objects.filter(
            status=Status.NEW.value, assignee=None, created_at__lte=clock.now() - DIRECTOR_AFTER
        ).order_by("pk")
        for incident in waiting:
            candidates = response.candidates_for(incident)
            if not candidates:
                continue
            load = Counter(
                Incident.objects.open()
                .filter(assignee__in=[r.user_id for r in candidates])
                .values_list("assignee_id", flat=True)
            )
            chosen = min(candidates, key=lambda r: (load[r.user_id], r.user_id))
            try:
                response.act(actor=self.director, incident=incident, move="assign", assignee=chosen.user_id)
            except Exception:  # noqa: BLE001 -- changed meanwhile
                self.counts["director_assign_refused"] += 1
                continue
            self.counts["director_assigned"] += 1

    def act(self, incident_pk: int, user_pk: int, move: str, **kw) -> bool:
        incident = Incident.objects.filter(pk=incident_pk).first()
        if incident is None or incident.assignee_id != user_pk:
            return False
        try:
            response.act(actor=User.objects.get(pk=user_pk), incident=incident, move=move, **kw)
        except Exception:  # noqa: BLE001 -- a step the state no longer allows: the responder moves on
            self.counts[f"moves_refused_{move}"] += 1
            return False
        return True

    def arrive(self, incident_pk: int, user_pk: int) -> None:
        if not self.act(incident_pk, user_pk, "on_scene"):
            return
        incident = Incident.objects.select_related("building", "unit__building").get(pk=incident_pk)
        responder = Responder.objects.filter(user_id=user_pk).first()
        building = incident.building or (incident.unit.building if incident.unit_id else None)
        if responder is not None and building is not None and building.footprint:
            lon, lat = building.footprint["coordinates"][0][0]
            responder.latitude, responder.longitude = lat, lon
            responder.save(update_fields=["latitude", "longitude"])
        if follow_up_of(incident) is not None:
            self.at(
                self.now_s + self.rng.uniform(120, 600),
                "visit",
                incident=incident_pk,
                user=user_pk,
                attempt=1,
            )
        else:
            self.at(self.now_s + self.rng.uniform(600, 1800), "resolve", incident=incident_pk, user=user_pk)

    def visit(self, incident_pk: int, user_pk: int, attempt: int) -> None:
        incident = Incident.objects.get(pk=incident_pk)
        follow_up = follow_up_of(incident)
        if follow_up is None:
            return
        if follow_up.resident_id in self.in_hospital:
            outcome = VisitOutcome.HOSPITAL
        elif attempt == 1:
            roll, outcome = self.rng.random(), VisitOutcome.WELL
            for name, share in VISIT_OUTCOMES.items():
                if roll < share:
                    outcome = name
                    break
                roll -= share
        else:
            outcome = VisitOutcome.WELL if self.rng.random() < 0.7 else VisitOutcome.NOT_HOME
        try:
            record_visit(actor=User.objects.get(pk=user_pk), incident=incident, outcome=outcome)
        except (InvalidInput, PermissionDenied):
            self.counts["visits_refused"] += 1
            return
        if outcome == VisitOutcome.HOSPITAL:
            self.in_hospital.add(follow_up.resident_id)
        elif outcome == VisitOutcome.NEEDS_HELP:
            self.at(self.now_s + self.rng.uniform(60, 300), "resolve", incident=incident_pk, user=user_pk)
        elif outcome == VisitOutcome.NOT_HOME:
            follow_up.refresh_from_db()
            if (
                attempt == 1
                and Message.objects.filter(
                    kind="care.not_home_first", subject_type="incident", subject_id=str(incident_pk)
                ).exists()
            ):
                # The carers were asked where their relative is: one who knows checks in for them.
                resident = follow_up.resident
                with_account = [
                    c.user for c in consented_carers(resident) if c.user is not None and c.user.is_active
                ]
                if with_account and self.rng.random() < CARER_KNOWS_WHERE:
                    self.at(
                        self.now_s + self.rng.uniform(300, 2400),
                        "carer",
                        resident=resident.pk,
                        user=with_account[0].pk,
                        since=self.now_s,
                    )
            if follow_up.ended_at is None:
                self.at(
                    self.now_s + self.rng.uniform(3600, 3 * 3600),
                    "visit",
                    incident=incident_pk,
                    user=user_pk,
                    attempt=attempt + 1,
                )
            else:  # escalated: the family looks for them
                self.at(
                    self.now_s + self.rng.uniform(3600, 6 * 3600),
                    "family_found",
                    resident=follow_up.resident_id,
                    incident=incident_pk,
                    user=user_pk,
                )

    def family_found(self, resident_id: int, incident_pk: int, user_pk: int) -> None:
        resident = Resident.objects.get(pk=resident_id)
        with_account = [c.user for c in consented_carers(resident) if c.user is not None and c.user.is_active]
        note = "Found by the family."
        if not (
            with_account and self.checkin(with_account[0], resident_id, Outcome.FINE, Channel.CARER, note)
        ):
            self.checkin(self.director, resident_id, Outcome.FINE, Channel.CARER, note)
        self.act(incident_pk, user_pk, "resolve", note=note)

    # -- consent at ingest ---------------------------------------------------------------------------

    def withdraw(self, resident_id: int) -> None:
        for item in Consent.objects.filter(
            resident_id=resident_id, scope=ConsentScope.CARE_MONITORING, withdrawn_at__isnull=True
        ).order_by("pk"):
            people.withdraw_consent(actor=self.director, consent=item)
            self.counts["consents_withdrawn"] += 1
        for pk in Device.objects.filter(resident_id=resident_id).order_by("pk").values_list("pk", flat=True):
            self.withdrawn[pk] = clock.now()

    # -- the run -------------------------------------------------------------------------------------

    def run(self, *, days: int) -> dict:
        simulated = clock.SimulatedClock(self.start)
        with clock.use(simulated):
            self.set_up()
            self.plan_consent()
            fleet = [device for device in load_fleet() if device.code in set(self.fed)]
            scenario = Scenario(fleet, seed=self.seed, start=self.start)
            gate = consent.ConsentGate()
            span = days * DAY_S
            plans = list(CarePlan.objects.filter(is_active=True, daily_checkin=True).order_by("pk"))
            first_due = min(
                (p.checkin_time.hour * 3600 + p.checkin_time.minute * 60 for p in plans), default=0
            )
            last_miss = max(
                (
                    p.checkin_time.hour * 3600 + p.checkin_time.minute * 60 + p.grace_minutes * 60
                    for p in plans
                ),
                default=0,
            )
            horizon = span - DAY_S + last_miss + DAY_S + 2 * TICK_S
            for t in range(0, int(horizon), TICK_S):
                self.at(float(t), "tick")
            for t in range(READINGS_EVERY_S, int(span), READINGS_EVERY_S):
                self.at(float(t), "readings")
            for t in range(span, int(horizon), 3600):
                self.at(float(t), "done?")
            while self.jobs:
                job = heapq.heappop(self.jobs)
                if job.at > self.now_s:
                    simulated.advance(job.at - self.now_s)
                    self.now_s = job.at
                kind, data = job.kind, job.data
                if kind == "tick":
                    if self.idle(first_due, last_miss):
                        self.counts["worker_rounds_skipped_idle"] += 1
                        continue
                    self.counts["worker_rounds"] += 1
                    if self.now_s % DIRECTOR_EVERY_S == 0:
                        self.director_assigns()
                    send_daily_checkins()
                    followed = follow_missed()
                    response.escalate_due()
                    self.new_requests()
                    if followed["retried"]:
                        self.new_retries()
                    self.new_assignments()
                elif kind == "answer":
                    self.answer(data["resident"], data["channel"], data["outcome"], data["since"])
                elif kind == "carer":
                    since = self.start + dt.timedelta(seconds=data["since"])
                    if not CheckIn.objects.filter(resident_id=data["resident"], at__gte=since).exists():
                        self.checkin(
                            User.objects.get(pk=data["user"]),
                            data["resident"],
                            _outcome(self.rng),
                            Channel.CARER,
                        )
                elif kind == "accept":
                    if self.act(data["incident"], data["user"], "accept"):
                        walk = data["walk"]
                        travel = (
                            walk if walk is not None else self.rng.uniform(120, 600)
                        ) + self.rng.uniform(20, 60)
                        self.at(self.now_s + travel, "arrive", incident=data["incident"], user=data["user"])
                elif kind == "decline":
                    self.act(data["incident"], data["user"], "decline", note="busy")
                elif kind == "arrive":
                    self.arrive(data["incident"], data["user"])
                elif kind == "visit":
                    self.visit(data["incident"], data["user"], data["attempt"])
                elif kind == "resolve":
                    self.act(data["incident"], data["user"], "resolve", note="done")
                elif kind == "family_found":
                    self.family_found(data["resident"], data["incident"], data["user"])
                elif kind == "withdraw":
                    self.withdraw(data["resident"])
                elif kind == "readings":
                    gate.refresh(force=True)
                    step = scenario.step(clock.now())
                    report = ingest_messages([(m.topic, m.payload()) for m in step.messages], gate=gate)
                    self.counts["readings_stored"] += report.accepted
                elif kind == "done?" and all(row["seen_s"] is not None for row in self.missed(days)):
                    break
                if kind in ("answer", "carer", "visit", "family_found", "decline", "resolve"):
                    self.new_assignments()
            return self.figures(days)

    def idle(self, first_due: int, last_miss: int) -> bool:
        """Whether the worker's round would do nothing now, so the drill may skip it (the same figures,
        sooner): no follow-up, incident or inactivity alert open (nothing to retry, visit or escalate),
        and either before the day's first check-in time (``first_due``, seconds of the local day), or
        after every plan's grace (``last_miss``) with each plan answered or followed today (nothing to
        send or to start following)."""
        local = timezone.localtime(clock.now())
        second = local.hour * 3600 + local.minute * 60 + local.second
        if first_due <= second <= last_miss:
            return False
        if (
            FollowUp.objects.filter(status__in=[FollowUpStatus.RETRYING, FollowUpStatus.VISITING]).exists()
            or Incident.objects.open().exists()
            or Alert.objects.filter(status__in=ACTIVE_STATUSES).exists()
        ):
            return False
        if second < first_due:
            return True
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return not (
            CarePlan.objects.filter(is_active=True, daily_checkin=True)
            .exclude(resident_id__in=CheckIn.objects.filter(at__gte=day_start).values("resident_id"))
            .exclude(
                resident_id__in=FollowUp.objects.filter(
                    day=local.date(), reason=FollowUpReason.MISSED
                ).values("resident_id")
            )
            .exists()
        )

    # -- the figures ---------------------------------------------------------------------------------

    def missed(self, days: int) -> list[dict]:
        return [row for row in self.rows(days) if row["answered"] is None]

    def rows(self, days: int) -> list[dict]:
        """The drilled days' due check-ins: the channel that answered within grace, else the seconds from
        the miss to the first sign of the person (None: not seen yet) and what it was."""
        out = []
        plans = list(CarePlan.objects.filter(is_active=True, daily_checkin=True).order_by("pk"))
        checkins: dict[int, list[tuple[dt.datetime, str]]] = {}
        for resident_id, at, channel in CheckIn.objects.order_by("at", "pk").values_list(
            "resident_id", "at", "channel"
        ):
            checkins.setdefault(resident_id, []).append((at, channel))
        hospital: dict[int, list[dt.datetime]] = {}
        for resident_id, at in (
            Visit.objects.filter(outcome=VisitOutcome.HOSPITAL)
            .order_by("at")
            .values_list("resident_id", "at")
        ):
            hospital.setdefault(resident_id, []).append(at)
        asked = set(CheckInRequest.objects.values_list("plan_id", "day"))
        for day in range(days):
            day_start = self.start + dt.timedelta(days=day)
            for plan in plans:
                due = day_start.replace(hour=plan.checkin_time.hour, minute=plan.checkin_time.minute)
                miss = due + dt.timedelta(minutes=plan.grace_minutes)
                mine = checkins.get(plan.resident_id, [])
                answered = [c for at, c in mine if day_start <= at <= miss]
                row = {
                    "resident": plan.resident_id,
                    "day": day,
                    "answered": answered[0] if answered else None,
                    "kind": plan.care_kind,
                    "asked": (plan.pk, day_start.date()) in asked,
                }
                if not answered:
                    signs = [(at, c) for at, c in mine if at > miss]
                    signs += [
                        (at, "visit_hospital") for at in hospital.get(plan.resident_id, []) if at > miss
                    ]
                    first = min(signs) if signs else None
                    row["seen_s"] = (first[0] - miss).total_seconds() if first else None
                    row["seen_by"] = first[1] if first else None
                out.append(row)
        return out

    def figures(self, days: int) -> dict:
        rows = self.rows(days)
        missed = [r for r in rows if r["answered"] is None]
        seen = [r["seen_s"] for r in missed if r["seen_s"] is not None]
        answered = Counter(r["answered"] for r in rows if r["answered"] is not None)
        end = self.start + dt.timedelta(days=days)
        follow_ups = FollowUp.objects.filter(reason=FollowUpReason.MISSED, day__lt=end.date())
        visit_incidents = {
            pk for pk in follow_ups.exclude(incident=None).values_list("incident_id", flat=True)
        }
        visits = Visit.objects.filter(incident__in=visit_incidents)
        drilled = CheckIn.objects.filter(at__gte=self.start, at__lt=end)
        result = {
            "seed": self.seed,
            "days": days,
            "retry_minutes": retry_minutes(),
            "not_home_tries": not_home_tries(),
            "residents": Resident.objects.count(),
            "vulnerable_total": Resident.objects.filter(care_profiles__is_active=True).distinct().count(),
            "plans": CarePlan.objects.filter(is_active=True, daily_checkin=True).count(),
            "checkins_due": len(rows),
            "checkins_answered": sum(answered.values()),
            "answered_by_channel": dict(sorted(answered.items())),
            "missed": len(missed),
            "wellness_visits": len(visit_incidents),
            "missed_seen_within_60min_share": round(sum(1 for s in seen if s <= 3600) / len(missed), 3)
            if missed
            else None,
            "missed_seen_within_24h_share": round(sum(1 for s in seen if s <= DAY_S) / len(missed), 3)
            if missed
            else None,
            "missed_seen_p50_s": _percentile(seen, 0.5),
            "missed_seen_p90_s": _percentile(seen, 0.9),
            "missed_seen_max_s": max(seen) if seen else None,
            "missed_seen_by": dict(sorted(Counter(r["seen_by"] for r in missed if r["seen_by"]).items())),
            "not_seen": len(missed) - len(seen),
            "missed_never_asked": sum(1 for r in missed if not r["asked"]),
            "missed_by_care_kind": {
                kind: {
                    "missed": sum(1 for r in missed if r["kind"] == kind),
                    "seen_within_60min": sum(
                        1
                        for r in missed
                        if r["kind"] == kind and r["seen_s"] is not None and r["seen_s"] <= 3600
                    ),
                }
                for kind in sorted({r["kind"] for r in missed})
            },
            "checkins_by_channel": dict(sorted(Counter(drilled.values_list("channel", flat=True)).items())),
            "need_help": drilled.filter(outcome=Outcome.NEED_HELP).count(),
            "visits_recorded": visits.count(),
            "visits_by_outcome": dict(sorted(Counter(visits.values_list("outcome", flat=True)).items())),
            "inbound_by_status": dict(sorted(self.inbound.items())),
            "never_answer_residents": len(self.never),
            "readings_dropped_without_consent": consent.readings_dropped(),
            "readings_stored": self.counts["readings_stored"],
            "devices_fed": len(self.fed),
            "stored_after_withdrawal": sum(
                Reading.objects.filter(device_id=pk, ts__gt=at).count()
                for pk, at in sorted(self.withdrawn.items())
                if (kind := get_kind(Device.objects.get(pk=pk).kind)) is not None and kind.monitoring
            ),
            "setup_and_steps": dict(sorted((k, v) for k, v in self.counts.items() if k != "readings_stored")),
        }
        result["goals"] = {
            "all_missed_seen_within_24h": all(s <= DAY_S for s in seen) and len(seen) == len(missed),
            "missed_seen_within_60min_at_least_90pct": sum(1 for s in seen if s <= 3600) >= 0.9 * len(missed),
            "answers_on_at_least_3_channels": len(answered) >= 3,
        }
        return result


def run(*, seed: int, start: dt.datetime, days: int = 3) -> dict:
    """Simulate ``days`` from ``start`` (a local midnight) in the seeded database; returns the figures."""
    return _Drill(seed=seed, start=start).run(days=days)


def first_midnight() -> dt.datetime:
    """The local midnight after now: where a drill's simulated days begin."""
    local = timezone.localtime(clock.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


def summary(result: dict) -> list[str]:
    """The figures in a few lines, and the issue's goals met or not."""

    def share(value) -> str:
        return "-" if value is None else f"{value:.1%}"

    def minutes(value) -> str:
        return "-" if value is None else f"{value / 60:.0f} min"

    channels = ", ".join(f"{c} {n}" for c, n in result["answered_by_channel"].items()) or "none"
    lines = [
        f"{result['days']} days, {result['vulnerable_total']} vulnerable of {result['residents']} residents; "
        f"retries every {result['retry_minutes']} min",
        f"check-ins due {result['checkins_due']}, answered in time {result['checkins_answered']} "
        f"({channels}), missed {result['missed']}, need help {result['need_help']}",
        f"missed seen: within 60 min {share(result['missed_seen_within_60min_share'])}, within 24 h "
        f"{share(result['missed_seen_within_24h_share'])}, p50 {minutes(result['missed_seen_p50_s'])}, "
        f"p90 {minutes(result['missed_seen_p90_s'])}, not seen {result['not_seen']}",
        f"wellness visits {result['wellness_visits']}: "
        + (", ".join(f"{o} {n}" for o, n in result["visits_by_outcome"].items()) or "none recorded"),
        f"readings dropped without consent {result['readings_dropped_without_consent']}, "
        f"stored after a withdrawal {result['stored_after_withdrawal']}",
    ]
    for goal, met in result["goals"].items():
        lines.append(f"{'met' if met else 'NOT MET'}: {goal.replace('_', ' ')}")
    return lines
