"""Emergency operations through the resilience cycle (plan → absorb → recover → adapt): a community's hazard
register (风险预判), its plans per hazard and level (预案, versioned), and the emergencies opened from them
with their tasks and timeline. Roll call, shelters and supplies live in their own modules on top of these.

Every emergency belongs to a community; it is seen by the staff of that community and above (a grid
worker of one of its grids too: an emergency is the community's whole), managed by its director, the
street office and administrators (:data:`banyan.core.access.Action.MANAGE_EMERGENCIES`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.core.access import Action
from banyan.core.choices import Role
from banyan.emergency.choices import (
    EmergencyStatus,
    HazardKind,
    Level,
    TaskKind,
    TaskStatus,
    TimelineKind,
    Trigger,
)
from banyan.people.models import Organisation, User
from banyan.places.models import Region, ScopedQuerySet
from banyan.warning.models import Alert, OfficialWarning


class CommunityScopedQuerySet(ScopedQuerySet):
    """Rows of a community: seen by its staff, its street's and above, and by the staff of its grids."""

    community_path = "community__path"
    default_action = Action.VIEW_EMERGENCIES

    def region_q(self, region: Region) -> models.Q:
        return models.Q(**{f"{self.community_path}__startswith": region.path}) | models.Q(
            **{f"{self.community_path}__in": region.ancestor_paths()}
        )


class HazardQuerySet(CommunityScopedQuerySet):
    pass


class Hazard(models.Model):
    """A hazard in a community's register: how likely, how bad, what and who is exposed, when reviewed."""

    community = models.ForeignKey(Region, models.CASCADE, related_name="hazards", verbose_name=_("community"))
    kind = models.CharField(_("hazard"), max_length=16, choices=HazardKind.choices)
    likelihood = models.PositiveSmallIntegerField(_("likelihood (1–5)"), default=3)
    impact = models.PositiveSmallIntegerField(_("impact (1–5)"), default=3)
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    # What the register found exposed, as counts and ids (never names): {"buildings": [...], "facilities":
    # [...], "residents_in_care": n, ...}; recomputed by banyan.emergency.hazards.exposure.
    exposure = models.JSONField(_("exposed"), default=dict, blank=True)
    reviewed_at = models.DateTimeField(_("last reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("made"))
    updated_at = models.DateTimeField(_("changed"))

    objects = HazardQuerySet.as_manager()

    class Meta:
        ordering = ["community", "kind"]
        verbose_name = _("hazard")
        constraints = [
            models.UniqueConstraint(fields=["community", "kind"], name="hazard_once_per_community"),
            models.CheckConstraint(
                condition=models.Q(likelihood__gte=1, likelihood__lte=5, impact__gte=1, impact__lte=5),
                name="hazard_scores_1_to_5",
            ),
        ]

    @property
    def risk(self) -> int:
        return self.likelihood * self.impact


class PlanQuerySet(CommunityScopedQuerySet):
    def current(self):
        return self.filter(is_current=True)


class Plan(models.Model):
    """One version of a community's plan (预案) for a hazard at a level. A change is a new version; the
    previous one stays as it was (emergencies name the version they ran).

    ``body`` holds the plan as data (see :mod:`banyan.emergency.plans` for its schema and checks):
    triggers, who takes charge, the checklist of tasks with owners and deadlines relative to activation,
    notices to send to which audiences, facilities to open and supplies to stage."""

    community = models.ForeignKey(Region, models.CASCADE, related_name="emergency_plans")
    hazard = models.CharField(_("hazard"), max_length=16, choices=HazardKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    version = models.PositiveIntegerField(_("version"), default=1)
    is_current = models.BooleanField(_("current"), default=True)
    title_zh = models.CharField(_("Chinese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    body = models.JSONField(_("plan"), default=dict)
    change_note = models.CharField(_("what changed"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("made"))
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["community", "hazard", "level", "-version"]
        verbose_name = _("emergency plan")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "hazard", "level", "version"], name="plan_version_once"
            ),
            models.UniqueConstraint(
                fields=["community", "hazard", "level"],
                condition=models.Q(is_current=True),
                name="plan_one_current",
            ),
        ]


class EmergencyQuerySet(CommunityScopedQuerySet):
    def open(self):
        return self.filter(status__in=[EmergencyStatus.PROPOSED, EmergencyStatus.ACTIVE])


class Emergency(models.Model):
    """An emergency of a community: proposed (by a government warning or an alert) or opened by a director
    from a plan, at a level, over an area; stood down at the end, with the retention of what it gathered."""

    community = models.ForeignKey(Region, models.PROTECT, related_name="emergencies")
    plan = models.ForeignKey(Plan, models.PROTECT, null=True, blank=True, related_name="emergencies")
    hazard = models.CharField(_("hazard"), max_length=16, choices=HazardKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    status = models.CharField(_("status"), max_length=16, choices=EmergencyStatus.choices)
    title = models.CharField(_("title"), max_length=200)
    # The affected area: grids and buildings chosen (ids), or the whole community when both are empty.
    area_grids = models.ManyToManyField(
        Region, blank=True, related_name="+", verbose_name=_("affected grids")
    )
    area_buildings = models.JSONField(_("affected buildings"), default=list, blank=True)
    trigger = models.CharField(_("trigger"), max_length=8, choices=Trigger.choices)
    official_warning = models.ForeignKey(
        OfficialWarning, models.SET_NULL, null=True, blank=True, related_name="emergencies"
    )
    alert = models.ForeignKey(Alert, models.SET_NULL, null=True, blank=True, related_name="+")
    lead = models.ForeignKey(
        User, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("in charge")
    )
    proposed_at = models.DateTimeField(_("proposed"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    activated_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    stood_down_at = models.DateTimeField(_("stood down"), null=True, blank=True)
    # What was gathered for it is purged this many days after stand-down (the director sets it then).
    retention_days = models.PositiveSmallIntegerField(_("keep its data (days)"), default=30)
    purged_at = models.DateTimeField(_("data purged"), null=True, blank=True)
    created_at = models.DateTimeField(_("made"))

    objects = EmergencyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("emergency")


class TaskQuerySet(CommunityScopedQuerySet):
    community_path = "emergency__community__path"

    def personal_scope(self, user):
        if user.role == Role.VOLUNTEER:
            return self.filter(assignee=user)
        return None


class Task(models.Model):
    """A task of an emergency: from the plan's checklist (an owner body and role, a deadline relative to
    activation), a door to knock on, a recovery job or a delivery."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=16, choices=TaskKind.choices, default=TaskKind.CHECKLIST)
    title_zh = models.CharField(_("Chinese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    # The checklist item's key in the plan (stable across versions), for the after-action review.
    key = models.CharField(max_length=64, blank=True)
    owner = models.ForeignKey(Organisation, models.SET_NULL, null=True, blank=True, related_name="+")
    owner_role = models.CharField(_("owner's role"), max_length=32, blank=True)
    assignee = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="emergency_tasks")
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)
    # A task done on the ground goes through response (dispatched on foot): its incident.
    incident = models.ForeignKey(
        "response.Incident", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("made"))

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("emergency task")


class TimelineQuerySet(CommunityScopedQuerySet):
    community_path = "emergency__community__path"


class TimelineEntry(models.Model):
    """One line of an emergency's timeline: a decision or an event, with who and when (ids in details,
    never personal data)."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("at"), db_index=True)
    kind = models.CharField(_("what"), max_length=24, choices=TimelineKind.choices)
    actor = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    details = models.JSONField(default=dict, blank=True)

    objects = TimelineQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("timeline entry")


class LessonQuerySet(CommunityScopedQuerySet):
    community_path = "emergency__community__path"


class Lesson(models.Model):
    """A lesson of an emergency's after-action review: what to change, who owns it (a body and/or a
    person), by when, and whether it is done. No personal data of residents."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="lessons")
    text = models.CharField(_("lesson"), max_length=500)
    owner = models.ForeignKey(
        Organisation, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("owner")
    )
    owner_user = models.ForeignKey(
        User, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("person in charge")
    )
    due = models.DateField(_("due"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    created_at = models.DateTimeField(_("made"))
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = LessonQuerySet.as_manager()

    class Meta:
        ordering = ["done", "due", "id"]
        verbose_name = _("lesson")


class CallUp(models.Model):
    """A volunteer put on duty for an emergency by its plan's call-up (``call_up.hours``): the shift made
    for it, cut short at the stand-down. Dispatch sees the shift like any other."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="call_ups")
    shift = models.OneToOneField("response.Shift", models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("volunteer called up")
