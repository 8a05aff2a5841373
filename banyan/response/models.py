"""Response: incidents (工单), the responsibility matrix, responders and their shifts, SLA policies.

An incident stands in a community and, where known, a grid; it is scoped like alerts (by the grid's
path, else the community's). Exactly one body is accountable for it at any moment
(``accountable`` + ``accountable_role``), taken from the responsibility matrix and changed only by a
hand-over with a reason; the person working on it is the ``assignee``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.core import vault
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.people.models import Organisation, Resident
from banyan.places.models import Building, Facility, Region, ScopedQuerySet, Unit
from banyan.response.flow import ENDED, Status
from banyan.warning.choices import Grade

DESCRIPTION_MAX = 4000

# django-stubs types only the class form of TextChoices, not the functional one used here.
StatusChoices = models.TextChoices(  # type: ignore[call-overload]
    "StatusChoices",
    [
        ("NEW", ("new", _("New"))),
        ("ASSIGNED", ("assigned", _("Assigned"))),
        ("ACCEPTED", ("accepted", _("Accepted"))),
        ("ON_SCENE", ("on_scene", _("On scene"))),
        ("RESOLVED", ("resolved", _("Resolved"))),
        ("CLOSED", ("closed", _("Closed"))),
        ("CANCELLED", ("cancelled", _("Cancelled"))),
        ("DUPLICATE", ("duplicate", _("Duplicate"))),
    ],
)
assert {c.value for c in StatusChoices} == {s.value for s in Status}


class Source(models.TextChoices):
    ALERT = "alert", _("Alert")
    REPORT = "report", _("Resident report")
    STAFF = "staff", _("Staff")
    OPEN311 = "open311", _("Open311 request")


class Category(models.Model):
    """An entry of the incident catalogue (fire/smoke, gas, flooding, fall/medical …)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64)
    default_grade = models.CharField(_("default grade"), max_length=8, choices=Grade.choices)
    skill = models.CharField(_("skill needed"), max_length=32, blank=True)
    # Alerts of these device kinds / metrics become incidents of this category.
    alert_metrics = models.JSONField(_("alert metrics"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("incident category")
        verbose_name_plural = _("incident categories")

    def __str__(self) -> str:
        return self.code


class ResponsibilityQuerySet(ScopedQuerySet):
    """Cells of the regions in scope and of the regions above (a grid worker sees who answers for
    the community and the street too)."""

    default_action = Action.VIEW_INCIDENTS

    def region_q(self, region: Region) -> models.Q:
        return models.Q(region__path__startswith=region.path) | models.Q(
            region__path__in=region.ancestor_paths()
        )


class Responsibility(models.Model):
    """One cell of the matrix: who answers for a category in a region (a grid, community or street).

    The cell nearest an incident's place wins (grid, then community, then street).
    ``escalation`` is the chain a missed deadline climbs: ``[{"organisation": code, "role": role}]``.
    """

    category = models.ForeignKey(Category, models.CASCADE, related_name="responsibilities")
    region = models.ForeignKey(Region, models.CASCADE, related_name="responsibilities")
    accountable = models.ForeignKey(
        Organisation, models.PROTECT, related_name="+", verbose_name=_("accountable body")
    )
    accountable_role = models.CharField(
        _("accountable role"), max_length=32, choices=Role.choices, blank=True
    )
    backup = models.ForeignKey(
        Organisation, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("backup")
    )
    backup_role = models.CharField(_("backup role"), max_length=32, choices=Role.choices, blank=True)
    escalation = models.JSONField(_("escalation chain"), default=list, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"))

    objects = ResponsibilityQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "region"], name="responsibility_one_per_cell")
        ]
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibility matrix")

    def __str__(self) -> str:
        return f"{self.category_id} @ {self.region_id}"


class Responder(models.Model):
    """A person who can be dispatched: a grid worker, property security, a micro fire station member,
    a volunteer. Their last known position is where dispatch measures the walk from."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="responder")
    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="responders")
    skills = models.JSONField(_("skills"), default=list, blank=True)
    capacity = models.PositiveSmallIntegerField(_("open incidents at most"), default=3)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(_("position reported"), null=True, blank=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"responder {self.user_id}"


class Shift(models.Model):
    """When a responder is on duty."""

    responder = models.ForeignKey(Responder, models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="shift_window")]


class SlaPolicy(models.Model):
    """Deadlines for a grade, for one category or (category empty) for all."""

    category = models.ForeignKey(Category, models.CASCADE, null=True, blank=True, related_name="sla_policies")
    grade = models.CharField(_("grade"), max_length=8, choices=Grade.choices)
    acknowledge_s = models.PositiveIntegerField(_("seconds to acknowledge"))
    arrive_s = models.PositiveIntegerField(_("seconds to arrive"))
    resolve_s = models.PositiveIntegerField(_("seconds to resolve"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "grade"], name="sla_one_per_category_grade"),
            models.UniqueConstraint(
                fields=["grade"], condition=models.Q(category__isnull=True), name="sla_one_default_per_grade"
            ),
        ]


# An incident is open until it is resolved, closed, cancelled or marked a duplicate.
OPEN_Q = models.Q(
    status__in=[s.value for s in (Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.ON_SCENE)]
)


class IncidentQuerySet(ScopedQuerySet):
    default_action = Action.VIEW_INCIDENTS

    def region_q(self, region: Region) -> models.Q:
        return models.Q(grid__path__startswith=region.path) | models.Q(
            grid__isnull=True, community__path__startswith=region.path
        )

    def restrict(self, user, action: Action | None = None):
        """The region's incidents, and wherever they stand, those assigned to the user (dispatch may
        send a responder across grid lines)."""
        scoped = super().restrict(user, action)
        if not can(user, action or self.default_action):
            return scoped
        return self.filter(pk__in=scoped.values("pk")) | self.filter(assignee=user)

    def personal_scope(self, user):
        if user.role == Role.VOLUNTEER:
            return self.filter(assignee=user)  # volunteers see what they were sent to
        if user.role == Role.RESIDENT:
            return self.filter(created_by=user)  # their own reports' incidents
        return None

    def open(self):
        return self.filter(OPEN_Q)


class Incident(models.Model):
    category = models.ForeignKey(Category, models.PROTECT, related_name="incidents")
    community = models.ForeignKey(Region, models.PROTECT, related_name="incidents")
    grid = models.ForeignKey(Region, models.PROTECT, null=True, blank=True, related_name="+")
    building = models.ForeignKey(Building, models.SET_NULL, null=True, blank=True, related_name="incidents")
    unit = models.ForeignKey(Unit, models.SET_NULL, null=True, blank=True, related_name="incidents")
    facility = models.ForeignKey(Facility, models.SET_NULL, null=True, blank=True, related_name="incidents")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=8, choices=Grade.choices)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=StatusChoices.choices, default="new")
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    alert = models.ForeignKey(
        "warning.Alert", models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The one accountable body, and the person working on it.
    responsibility = models.ForeignKey(
        Responsibility, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accountable = models.ForeignKey(Organisation, models.PROTECT, related_name="incidents")
    accountable_role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="assigned_incidents"
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    # Times that matter, and the deadlines of the three SLA clocks.
    created_at = models.DateTimeField(_("created"), db_index=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    on_scene_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    acknowledge_due = models.DateTimeField()
    arrive_due = models.DateTimeField()
    resolve_due = models.DateTimeField()
    # Where the responder's phone was at "on scene", kept apart from the reported place above (which it
    # never changes): the distance to that place, whether it was farther than the radius
    # (``BANYAN_RESPONSE["ON_SCENE_RADIUS_M"]``) and the reason the responder gave then.
    on_scene_latitude = models.FloatField(null=True, blank=True)
    on_scene_longitude = models.FloatField(null=True, blank=True)
    on_scene_distance_m = models.FloatField(_("distance from the place on scene (m)"), null=True, blank=True)
    on_scene_far = models.BooleanField(_("on scene far from the place"), default=False)
    on_scene_reason = models.TextField(
        _("why on scene far from the place"), max_length=DESCRIPTION_MAX, blank=True
    )
    # Bumped by every change: a stale transition (two responders accepting at once) is refused.
    version = models.PositiveIntegerField(default=0)

    objects = IncidentQuerySet.as_manager()

    # Set by the pages for their templates (banyan.response.views.describe), never stored.
    category_name: str
    place_text: str
    accountable_name: str
    accountable_role_name: str
    clocks: list[dict]
    next_clock: dict | None
    on_scene_text: str

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="incident_status_created")]
        constraints = [
            # The worker and a person's click both open incidents for alerts (under the alert's row
            # lock, ``response.services._lock_alert``); this is the guarantee behind the lock.
            models.UniqueConstraint(
                fields=["alert"],
                condition=OPEN_Q & models.Q(alert__isnull=False),
                name="incident_one_open_per_alert",
                violation_error_message=_("This alert already has an open incident."),
            )
        ]

    def __str__(self) -> str:
        return f"incident {self.pk}"


class IncidentEvent(models.Model):
    """The incident's timeline: every transition, hand-over, dispatch decision and escalation."""

    incident = models.ForeignKey(Incident, models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    note = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class IncidentPhoto(models.Model):
    """A photo of the scene: the resident's (from their report) or the responder's, sent with "on
    scene" or "resolve". Stored checked and re-encoded, its EXIF and GPS position removed
    (``banyan/response/photos.py``)."""

    class Stage(models.TextChoices):
        REPORT = "report", _("with the report")
        ON_SCENE = "on_scene", _("on scene")
        RESOLVE = "resolve", _("when resolved")

    incident = models.ForeignKey(Incident, models.CASCADE, related_name="photos")
    at = models.DateTimeField()
    stage = models.CharField(max_length=16, choices=Stage.choices)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    photo = models.BinaryField(editable=False)
    photo_type = models.CharField(max_length=32)

    class Meta:
        ordering = ["at", "id"]


class DispatchDecision(models.Model):
    """Whom dispatch chose for an incident, and why: the ranking it made, with walking times."""

    incident = models.ForeignKey(Incident, models.CASCADE, related_name="dispatch_decisions")
    at = models.DateTimeField()
    chosen = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=200)
    ranking = models.JSONField(default=list)

    class Meta:
        ordering = ["at", "id"]


# --- resident reports ---------------------------------------------------------------------------
# A resident's report (from the web or app) or an Open311 service request becomes a Report and, in
# the same transaction, an Incident routed by the matrix. Owned by ``banyan/response/reports/services.py``.

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTOS_PER_STEP = 5  # photos a responder may send with one step (on scene, resolve)
RATING_COMMENT_MAX = 1000


class Open311Key(models.Model):
    """An ``api_key`` that may post Open311 service requests; only its hash is kept."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"))
    is_revoked = models.BooleanField(_("revoked"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Open311 API key")

    def __str__(self) -> str:
        return self.name


class ReportQuerySet(models.QuerySet):
    def restrict(self, user, action: Action | None = None):
        """A person's own reports, and for staff the reports whose incidents they may see."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        mine = self.filter(reporter=user)
        if not can(user, action or Action.VIEW_INCIDENTS):
            return mine
        visible = Incident.objects.restrict(user, action or Action.VIEW_INCIDENTS).values("pk")
        return self.filter(models.Q(reporter=user) | models.Q(incident__in=visible))


class Report(models.Model):
    """What a resident (or an Open311 client) reported; the incident it became carries the work.

    Its status is the incident's. Contact details are personal data: encrypted at rest, found by
    blind index, masked in every output. ``service_request_id`` (Open311) is the report's id.
    """

    PERSONAL_FIELDS = ("contact_name", "contact_phone", "contact_email")

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    # A carer's report for the resident they look after (within a consent naming "report"): the
    # reporter is the carer, this the one it is for. Both people are recorded.
    for_resident = models.ForeignKey(
        Resident, models.SET_NULL, null=True, blank=True, related_name="proxy_reports"
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    contact_name = vault.EncryptedTextField(_("contact name"), blank=True)
    contact_phone = vault.EncryptedTextField(_("contact phone"), blank=True)
    contact_phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    contact_email = vault.EncryptedTextField(_("contact email"), blank=True)
    contact_email_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    category = models.ForeignKey(Category, models.PROTECT, related_name="reports")
    # The place: a unit ("my home" is the reporter's household unit), building, facility or point.
    is_home = models.BooleanField(_("at my home"), default=False)
    unit = models.ForeignKey(Unit, models.SET_NULL, null=True, blank=True, related_name="reports")
    building = models.ForeignKey(Building, models.SET_NULL, null=True, blank=True, related_name="reports")
    facility = models.ForeignKey(Facility, models.SET_NULL, null=True, blank=True, related_name="reports")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    address_string = models.CharField(_("address"), max_length=255, blank=True)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX, blank=True)
    # The photo as stored: checked, re-encoded, EXIF (and GPS) removed.
    photo = models.BinaryField(null=True, blank=True, editable=False)
    photo_type = models.CharField(max_length=32, blank=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    incident = models.ForeignKey(Incident, models.PROTECT, related_name="reports")
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.TextField(_("comment"), max_length=RATING_COMMENT_MAX, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    # Open311: the key the request came with and the token a client may look it up by.
    open311_key = models.ForeignKey(Open311Key, models.SET_NULL, null=True, blank=True, related_name="+")
    token = models.CharField(max_length=32, unique=True)
    requested_at = models.DateTimeField(_("requested"), db_index=True)

    objects = ReportQuerySet.as_manager()

    # Set by the pages for their templates (banyan.response.reports.views.describe), never stored.
    category_name: str
    category_icon: str
    status_label: str
    responsible: dict[str, str]
    place_text: str

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("resident report")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="report_rating_1_to_5",
                violation_error_message=_("A rating is a whole number from 1 to 5."),
            )
        ]

    def __str__(self) -> str:
        return f"report {self.pk}"

    @property
    def status(self) -> str:
        return self.incident.status

    @property
    def is_closed(self) -> bool:
        return self.incident.status in {s.value for s in ENDED}

    @property
    def updated_at(self):
        times = [self.incident.updated_at, self.rated_at]
        return max(t for t in times if t is not None)

    @property
    def contact_masked(self) -> dict[str, str]:
        return {
            "name": mask_name(self.contact_name),
            "phone": vault.mask_phone(self.contact_phone),
            "email": mask_email(self.contact_email),
        }


def mask_name(value: str | None) -> str:
    """The first character of a name, e.g. ``张**``."""
    if not value:
        return ""
    return value[0] + vault.MASK * max(len(value) - 1, 1)


def mask_email(value: str | None) -> str:
    """The first character and the domain, e.g. ``w***@example.org``."""
    if not value:
        return ""
    local, _at, domain = value.partition("@")
    return (local[:1] + vault.MASK * 3) + (f"@{domain}" if domain else "")
