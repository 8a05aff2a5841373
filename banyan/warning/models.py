"""Early warning: rules (data the engine evaluates), the alerts they raise, and official CAP warnings.

Alerts are scoped like places: by the path of the grid they stand in (the device's grid), or, for
a place subject no grid could be found for, by the rule's community. Rules are scoped by their
community: a role sees the rules of the communities in its subtree and of the one it works in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from banyan.core.access import Action
from banyan.places.models import Facility, Region, ScopedQuerySet
from banyan.places.words import unit_words
from banyan.warning.choices import ACTIVE_STATUSES, AlertStatus, Grade, RuleKind
from banyan.warning.engine import RuleError, parse_rule

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Keys of a rule that are columns; every other key of the engine's rule dict is kept in ``params``.
RULE_COLUMNS = ("name", "name_en", "kind", "grade", "auto_clear", "incident_category")


class RuleQuerySet(ScopedQuerySet):
    """Rules of the communities in scope and of the community a grid worker works in."""

    default_action = Action.VIEW_ALERTS

    def region_q(self, region: Region) -> models.Q:
        return models.Q(community__path__startswith=region.path) | models.Q(
            community__path__in=region.ancestor_paths()
        )


class Rule(models.Model):
    """A warning rule of one community, stored as data and validated by the engine's ``parse_rule``
    whenever it is saved (see docs/adr/0005-rule-engine.md for the kinds and their fields)."""

    name = models.CharField(
        _("name"), max_length=100, help_text=_("in Chinese, as residents and staff say it")
    )
    name_en = models.CharField(
        _("name in English"),
        max_length=100,
        blank=True,
        help_text=_("shown on English pages; empty: the name"),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=RuleKind.choices)
    params = models.JSONField(_("settings"), default=dict, blank=True)
    grade = models.CharField(
        _("grade"),
        max_length=8,
        choices=Grade.choices,
        blank=True,
        help_text=_("empty for crowd density rules, which take their grades from their levels"),
    )
    auto_clear = models.BooleanField(_("clears by itself"), default=True)
    incident_category = models.CharField(
        _("opens an incident of"),
        max_length=32,
        blank=True,
        help_text=_("an incident category code: each alert of this rule opens an incident; empty: none"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    community = models.ForeignKey(
        Region, models.PROTECT, related_name="warning_rules", verbose_name=_("community")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("warning rule")

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        self.clean()  # a rule the engine cannot read is never stored
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        """The rule's name in the page's language: English pages take ``name_en`` when there is one."""
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name

    def engine_spec(self) -> dict:
        """The dict the engine takes (``parse_rule``): columns and settings, with the id as text and the
        community's code, so that the engine applies the rule only to that community's devices."""
        spec = {
            "id": str(self.pk or "new"),
            "name": self.name,
            "kind": self.kind,
            "auto_clear": self.auto_clear,
        }
        if self.grade:
            spec["grade"] = self.grade
        spec.update(self.params or {})
        if self.community_id is not None:
            spec["community"] = self.community.code
        return spec

    def engine_rule(self):
        return parse_rule(self.engine_spec())

    def clean(self) -> None:
        if not isinstance(self.params, dict):
            raise ValidationError({"params": _("The rule's settings must be an object.")})
        if self.incident_category:
            from django.apps import apps

            categories = apps.get_model("response", "Category").objects
            if not categories.filter(code=self.incident_category, is_active=True).exists():
                raise ValidationError({"incident_category": _("No such incident category.")})
        clash = sorted(set(self.params) & {"id", "community", *RULE_COLUMNS})
        if clash:
            raise ValidationError({clash[0]: _("This is a column of the rule, not one of its settings.")})
        try:
            parse_rule(self.engine_spec())
        except RuleError as error:
            raise ValidationError({error.field: error.message}, code="invalid_rule") from None


class AlertQuerySet(ScopedQuerySet):
    default_action = Action.VIEW_ALERTS

    def region_q(self, region: Region) -> models.Q:
        return models.Q(grid__path__startswith=region.path) | models.Q(
            grid__isnull=True, community__path__startswith=region.path
        )

    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)


class Alert(models.Model):
    """What a rule raised for a subject (a device code, or a place key for place rules).

    One alert per rule × subject is active (open or acknowledged) at a time: repeats update its
    ``count`` and ``last_value``. Its life: open → acknowledged → resolved (by a person, with a note),
    or cleared automatically when the rule's clear condition holds and the rule says so.
    """

    rule = models.ForeignKey(Rule, models.PROTECT, related_name="alerts", verbose_name=_("rule"))
    subject = models.CharField(_("subject"), max_length=64, help_text=_("device code or place key"))
    place = models.CharField(_("place"), max_length=64, blank=True)
    community = models.ForeignKey(Region, models.PROTECT, related_name="+", verbose_name=_("community"))
    grid = models.ForeignKey(
        Region, models.PROTECT, null=True, blank=True, related_name="alerts", verbose_name=_("grid")
    )
    device = models.ForeignKey(
        "sensing.Device",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("device"),
    )
    facility = models.ForeignKey(
        Facility, models.SET_NULL, null=True, blank=True, related_name="alerts", verbose_name=_("facility")
    )
    grade = models.CharField(_("grade"), max_length=8, choices=Grade.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN
    )
    count = models.PositiveIntegerField(_("readings meeting the rule"), default=1)
    last_value = models.FloatField(_("last value"), null=True, blank=True)
    reading_at = models.DateTimeField(_("reading time"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised"), db_index=True)
    updated_at = models.DateTimeField(_("updated"))
    pushed_at = models.DateTimeField(_("pushed"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    next_escalation_at = models.DateTimeField(_("next escalation"), null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    level_label: str  # set by its page for the template (banyan.warning.views), never stored

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("alert")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="alert_one_active_per_rule_subject",
                violation_error_message=_("This rule already has an open alert for this subject."),
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_escalation_at"], name="alert_escalation_due"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.subject} {self.grade} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def place_words(self) -> str:
        """Where the alert's device is, as residents say it ("3幢2单元2201", "3幢"); "" when the
        device has no home in the registry (the ``place`` key stays the code beside it)."""
        device = self.device
        if device is None:
            return ""
        if device.unit is not None:
            return unit_words(device.unit)
        return device.building.name if device.building is not None else ""


class OfficialWarning(models.Model):
    """A warning imported from a government CAP feed (``banyan cap import``), shown beside local alerts.

    Only county-level or higher governments issue warnings (Emergency Response Law Art. 64); Banyan relays
    them as received. The raw CAP is kept; its signature, if any, is not verified."""

    identifier = models.CharField(_("identifier"), max_length=255)
    sender = models.CharField(_("sender"), max_length=255)
    sent = models.DateTimeField(_("sent"))
    status = models.CharField(_("status"), max_length=16)
    msg_type = models.CharField(_("message type"), max_length=16)
    scope = models.CharField(_("scope"), max_length=16)
    event = models.CharField(_("event"), max_length=255, blank=True)
    severity = models.CharField(_("severity"), max_length=16, blank=True)
    grade = models.CharField(_("grade"), max_length=8, choices=Grade.choices, blank=True)
    sender_name = models.CharField(_("sender name"), max_length=255, blank=True)
    headline_zh = models.TextField(_("Chinese headline"), blank=True)
    headline_en = models.TextField(_("English headline"), blank=True)
    description = models.TextField(_("description"), blank=True)
    instruction = models.TextField(_("instruction"), blank=True)
    areas = models.JSONField(_("areas"), default=list, blank=True, help_text="area descriptions and GeoJSON")
    effective = models.DateTimeField(_("effective"), null=True, blank=True)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    signed = models.BooleanField(_("carries a signature (not verified)"), default=False)
    source_url = models.CharField(_("source"), max_length=500, blank=True)
    raw = models.TextField(_("CAP XML"))
    imported_at = models.DateTimeField(_("imported"))

    # Set by the pages for their templates (banyan.warning.views._describe_official), never stored.
    headline: str
    headline_lang: str
    content_lang: str
    severity_label: StrOrPromise
    status_label: StrOrPromise
    msg_type_label: StrOrPromise
    area_names: list[str]

    class Meta:
        ordering = ["-sent", "-id"]
        verbose_name = _("official warning")
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "identifier", "sent"],
                name="official_warning_once",
                violation_error_message=_("This warning has already been imported."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender} {self.identifier}"


class EngineCheckpoint(models.Model):
    """The rule engine's state for one partition (a community, or "all"), saved with the alerts it
    produced so that a restarted ingest worker resumes hysteresis, windows and timers."""

    key = models.CharField(max_length=64, unique=True)
    state = models.JSONField(default=dict)
    # The last reading (by id) the state has seen; readings after it are replayed on restore.
    state_mark = models.BigIntegerField(null=True, blank=True)
    resolved_seen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key


class EngineProgress(models.Model):
    """The last reading (by id) whose events a partition's engine has written.

    Moved on with every batch, in the batch's transaction, while the full state is saved about once
    a second (:class:`EngineCheckpoint`): readings between the two are replayed on restore without
    writing their events again, and readings after this mark (stored by someone else, e.g. an HTTP
    gateway) are evaluated as new."""

    key = models.CharField(max_length=64, unique=True)
    reading_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key} @ {self.reading_id}"
