"""The response's figures for its managers: SLA performance by grade, by accountable body and over
time, and residents' satisfaction, over the incidents the caller may see (the page
``/response/metrics/`` and its XLSX export).

Read-only. The shares are the API's (``GET /api/v1/response/metrics``): a deadline counts once it is
decided — met in time, met late, or missed (still open past it) — and a running one is left out.
A median time runs from the incident's opening to the step (accepted, on scene, resolved), over the
incidents that took it. "On scene far" counts the arrivals marked from farther than the radius from
the place (each with its reason), as the API's ``on_scene_far``. A rating counts in the period it was
given, for the incidents opened in the period (as the API's ``satisfaction``); 4 and 5 are
"satisfied".
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from banyan.core import clock
from banyan.core.access import Action, Actor, can
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.places.models import Region
from banyan.response import flow, services
from banyan.response.models import Incident, Report
from banyan.warning.choices import GRADES_WORST_FIRST

DAY, WEEK = "day", "week"
DEFAULT_DAYS = 30
MAX_DAYS = 366
RATINGS = (1, 2, 3, 4, 5)
SATISFIED = 4  # this rating and above


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_date(moment: dt.datetime) -> dt.date:
    """The day ``moment`` falls on in the community's time zone."""
    return moment.astimezone(_zone()).date()


@dataclass(frozen=True)
class Period:
    """Whole days in the community's time zone, ``first`` to ``last`` inclusive."""

    first: dt.date
    last: dt.date

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=_zone())

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=_zone())

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def recent_period(days: int = DEFAULT_DAYS) -> Period:
    """The last ``days`` days, today included."""
    today = local_date(clock.now())
    return Period(today - dt.timedelta(days=days - 1), today)


def buckets(period: Period, step: str) -> list[dt.date]:
    """The first day of each bucket of the trend: every day, or every week (Monday to Sunday; the
    first and last weeks cut at the period's ends)."""
    if step == DAY:
        return [period.first + dt.timedelta(days=n) for n in range(period.days)]
    starts = [period.first]
    monday = period.first + dt.timedelta(days=7 - period.first.weekday())
    while monday <= period.last:
        starts.append(monday)
        monday += dt.timedelta(days=7)
    return starts


def _bucket_of(day: dt.date, period: Period, step: str) -> dt.date:
    if step == DAY:
        return day
    return max(day - dt.timedelta(days=day.weekday()), period.first)


@dataclass
class Tally:
    """SLA figures of a group of incidents."""

    incidents: int = 0
    escalations: int = 0
    on_scene_far: int = 0  # marked on scene from farther than the radius from the place (with a reason)
    decided: dict[str, int] = field(default_factory=lambda: dict.fromkeys(flow.CLOCKS, 0))
    met: dict[str, int] = field(default_factory=lambda: dict.fromkeys(flow.CLOCKS, 0))
    durations: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in flow.CLOCKS})

    def add(self, incident: Incident, clocks: Iterable[flow.Clock], now: dt.datetime) -> None:
        self.incidents += 1
        self.escalations += incident.escalation_level
        self.on_scene_far += incident.on_scene_far
        for c in clocks:
            state = c.state(now)
            if state != "running":
                self.decided[c.name] += 1
                self.met[c.name] += state == "met"
            if c.met_at is not None:
                self.durations[c.name].append((c.met_at - incident.created_at).total_seconds())

    def share(self, name: str) -> float | None:
        """The share of the decided ``name`` deadlines met in time (None: none decided)."""
        decided = self.decided[name]
        return round(self.met[name] / decided, 4) if decided else None

    def median_s(self, name: str) -> float | None:
        durations = self.durations[name]
        return float(statistics.median(durations)) if durations else None


@dataclass
class Ratings:
    """Residents' ratings of a group of incidents."""

    count: int = 0
    total: int = 0
    satisfied: int = 0
    by_stars: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))

    def add(self, rating: int) -> None:
        self.count += 1
        self.total += rating
        self.satisfied += rating >= SATISFIED
        if rating in self.by_stars:
            self.by_stars[rating] += 1

    @property
    def mean(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None

    @property
    def satisfied_share(self) -> float | None:
        return round(self.satisfied / self.count, 4) if self.count else None


@dataclass
class Figures:
    """Everything the metrics page shows. Groups are keyed by grade code, organisation id, category
    id and bucket start; grades come worst first, every grade present."""

    period: Period
    step: str
    total: Tally
    by_grade: dict[str, Tally]
    by_body: dict[int, Tally]
    trend: dict[dt.date, Tally]
    ratings: Ratings
    ratings_by_body: dict[int, Ratings]
    ratings_by_category: dict[int, Ratings]
    ratings_trend: dict[dt.date, Ratings]


def check_viewer(actor: Actor) -> None:
    """Who may see the figures: the roles that see incidents (the API's metrics ask the same), each
    over their own scope."""
    if not can(actor, Action.VIEW_INCIDENTS):
        raise PermissionDenied(_("Your role cannot see the response's figures."))


def incidents_for(actor: Actor, period: Period, region: Region | None = None) -> QuerySet[Incident]:
    """The incidents opened in ``period`` that ``actor`` may see (as the API's metrics: their region's,
    and those assigned to them), in ``region`` if given (one of the actor's, looked up by the caller)."""
    check_viewer(actor)
    incidents = Incident.objects.restrict(actor).filter(
        created_at__gte=period.since, created_at__lt=period.until
    )
    if region is not None:
        incidents = incidents.filter(
            Q(grid__path__startswith=region.path)
            | Q(grid__isnull=True, community__path__startswith=region.path)
        )
    return incidents


def figures(*, actor: Actor, period: Period, step: str = DAY, region: Region | None = None) -> Figures:
    """The SLA and satisfaction figures of the incidents ``actor`` may see, opened in ``period``."""
    if period.days < 1:
        raise InvalidInput(_("The last day is before the first day."), field="end")
    if period.days > MAX_DAYS:
        raise InvalidInput(_("A period is at most %(days)d days long.") % {"days": MAX_DAYS}, field="start")
    incidents = incidents_for(actor, period, region)
    now = clock.now()
    total = Tally()
    by_grade = {grade: Tally() for grade in GRADES_WORST_FIRST}
    by_body: dict[int, Tally] = defaultdict(Tally)
    trend = {start: Tally() for start in buckets(period, step)}
    fields = (
        "grade",
        "accountable",
        "escalation_level",
        "on_scene_far",
        "created_at",
        "accepted_at",
        "on_scene_at",
    )
    dues = ("resolved_at", "acknowledge_due", "arrive_due", "resolve_due")
    for incident in incidents.only(*fields, *dues).order_by("created_at", "id"):
        clocks = services.incident_clocks(incident)
        groups = [total, by_body[incident.accountable_id]]
        groups.append(trend[_bucket_of(local_date(incident.created_at), period, step)])
        if incident.grade in by_grade:
            groups.append(by_grade[incident.grade])
        for tally in groups:
            tally.add(incident, clocks, now)

    ratings = Ratings()
    ratings_by_body: dict[int, Ratings] = defaultdict(Ratings)
    ratings_by_category: dict[int, Ratings] = defaultdict(Ratings)
    ratings_trend = {start: Ratings() for start in buckets(period, step)}
    rated = Report.objects.filter(
        rating__isnull=False,
        incident__in=incidents.values("pk"),
        rated_at__gte=period.since,
        rated_at__lt=period.until,
    ).values_list("rating", "rated_at", "incident__accountable_id", "category_id")
    for rating, rated_at, body, category in rated.order_by("rated_at", "id"):
        for rated_group in (
            ratings,
            ratings_by_body[body],
            ratings_by_category[category],
            ratings_trend[_bucket_of(local_date(rated_at), period, step)],
        ):
            rated_group.add(rating)

    return Figures(
        period=period,
        step=step,
        total=total,
        by_grade=by_grade,
        by_body=dict(by_body),
        trend=trend,
        ratings=ratings,
        ratings_by_body=dict(ratings_by_body),
        ratings_by_category=dict(ratings_by_category),
        ratings_trend=ratings_trend,
    )
