"""Sensing: the device registry, the readings they report, sequence gaps and dead letters.

Devices are places infrastructure: seeing them takes ``VIEW_PLACES`` and changing them
``CHANGE_PLACES``, scoped by the grid they stand in. The resident a device serves is care data
and shown only to roles that may see care (see ``banyan.people.models.may_see_care``).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.core.access import Action
from banyan.places.geo import validate_polygon
from banyan.places.models import Building, Facility, Region, ScopedQuerySet, Unit
from banyan.sensing.choices import DeadLetterSource, DeviceStatus, DropReason
from banyan.sensing.kinds import KINDS, get_kind

# A device code is one MQTT topic level: no "/", "+", "#" or spaces.
DEVICE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
PAYLOAD_EXCERPT_BYTES = 2048


class DeviceQuerySet(ScopedQuerySet):
    region_path = "grid__path"


class Device(models.Model):
    """A sensor, meter, wearable, button or camera, where it stands and whom it serves."""

    code = models.CharField(
        _("code"), max_length=64, unique=True, help_text=_("the device id in MQTT topics")
    )
    kind = models.CharField(_("kind"), max_length=32)
    community = models.ForeignKey(
        Region, models.PROTECT, related_name="community_devices", verbose_name=_("community")
    )
    grid = models.ForeignKey(Region, models.PROTECT, related_name="devices", verbose_name=_("grid"))
    building = models.ForeignKey(
        Building, models.PROTECT, null=True, blank=True, related_name="devices", verbose_name=_("building")
    )
    unit = models.ForeignKey(
        Unit, models.PROTECT, null=True, blank=True, related_name="devices", verbose_name=_("unit")
    )
    facility = models.ForeignKey(
        Facility, models.PROTECT, null=True, blank=True, related_name="devices", verbose_name=_("facility")
    )
    zone = models.JSONField(_("zone"), null=True, blank=True, help_text="GeoJSON Polygon, WGS84")
    resident = models.ForeignKey(
        "people.Resident",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="devices",
        verbose_name=_("resident served"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.ONLINE
    )
    battery_pct = models.PositiveSmallIntegerField(_("battery (%)"), null=True, blank=True)
    expected_interval_s = models.PositiveIntegerField(_("expected reporting interval (s)"))
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_seq = models.BigIntegerField(_("last sequence number"), null=True, blank=True)
    installed_at = models.DateTimeField(_("installed"))
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    # The device's MQTT password as Mosquitto's password file holds it ($7$: PBKDF2-SHA512, salted);
    # the secret itself is shown once when issued (``banyan mqtt secret``) and kept nowhere.
    # Empty: the device has no broker account and cannot connect.
    mqtt_password_hash = models.CharField(_("MQTT password hash"), max_length=255, blank=True, default="")
    mqtt_secret_issued_at = models.DateTimeField(_("MQTT secret issued"), null=True, blank=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("device")
        indexes = [models.Index(fields=["kind", "grid"], name="device_kind_grid")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(battery_pct__lte=100),
                name="device_battery_at_most_100",
                violation_error_message=_("The battery level is between 0 and 100 %."),
            ),
            models.CheckConstraint(
                condition=models.Q(expected_interval_s__gte=1, expected_interval_s__lte=7 * 86400),
                name="device_interval_in_range",
                violation_error_message=_("The reporting interval is between 1 s and 7 days."),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def kind_label(self) -> str:
        """The kind as people say it (a smoke detector, a door contact), in the active language."""
        kind = KINDS.get(self.kind)
        return str(kind.label) if kind else self.kind

    @property
    def kind_spec(self):
        return get_kind(self.kind)

    def clean(self) -> None:
        if not DEVICE_CODE.match(self.code or ""):
            raise ValidationError(
                {
                    "code": _(
                        "A device code is 1–64 letters, digits, '_', '.', ':' or '-' "
                        "(it is one level of an MQTT topic)."
                    )
                }
            )
        if self.kind not in KINDS:
            raise ValidationError(
                {"kind": _("Unknown kind; one of: %(kinds)s.") % {"kinds": ", ".join(sorted(KINDS))}}
            )
        if self.zone is not None:
            validate_polygon(self.zone, field="zone")


class Reading(models.Model):
    """One value of one metric at one time. Stored once: (device, metric, ts) is unique.

    The unique constraint doubles as the (device, metric, ts) index that history queries use.
    """

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, models.CASCADE, related_name="readings")
    metric = models.CharField(max_length=32)
    value = models.FloatField()
    ts = models.DateTimeField()
    seq = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device", "metric", "ts"], name="reading_once_per_device_metric_ts"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.metric}={self.value} @ {self.ts.isoformat()}"


class SequenceGap(models.Model):
    """Sequence numbers a device skipped: messages lost between the device and us."""

    device = models.ForeignKey(Device, models.CASCADE, related_name="sequence_gaps")
    expected_seq = models.BigIntegerField()
    got_seq = models.BigIntegerField()
    detected_at = models.DateTimeField()

    class Meta:
        ordering = ["-detected_at", "-id"]

    @property
    def missing(self) -> int:
        return self.got_seq - self.expected_seq


class DeadLetterQuerySet(ScopedQuerySet):
    """Dead letters of the regions in scope; those of no known region only for unscoped roles."""

    default_action = Action.CHANGE_PLACES

    def region_q(self, region: Region) -> models.Q:
        return models.Q(region__path__startswith=region.path) | models.Q(
            device__grid__path__startswith=region.path
        )


class DeadLetter(models.Model):
    """A message or item that could not be stored, kept with the reason so that nothing is silently lost.

    ``payload`` is an excerpt of at most 2 KB. Values of health metrics (heart rate, SpO2, falls)
    and every value of a device whose kind carries health data are replaced by ``null`` before
    the excerpt is kept: the metric names, timestamps and sequence numbers are enough to find the
    fault. A payload that is not JSON from such a device is not kept at all.
    """

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=16, choices=DeadLetterSource.choices)
    topic = models.CharField(max_length=255, blank=True)
    device_code = models.CharField(max_length=64, blank=True)
    device = models.ForeignKey(Device, models.SET_NULL, null=True, blank=True, related_name="dead_letters")
    # The region it belongs to, for scoping: the device's community, the topic's, or the sender's region.
    region = models.ForeignKey(Region, models.SET_NULL, null=True, blank=True, related_name="+")
    item_index = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=32, db_index=True)
    field = models.CharField(max_length=32, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    payload = models.TextField(blank=True)

    objects = DeadLetterQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} {self.reason} {self.device_code or self.topic}"


class DroppedReadings(models.Model):
    """How many readings of a device were dropped unstored on one day, and why: a count, never a value.

    Readings of a device serving a resident who withdrew consent are dropped at ingest (see
    :mod:`banyan.sensing.consent`); this row is all that is kept of them.
    """

    device = models.ForeignKey(Device, models.CASCADE, related_name="dropped_readings")
    reason = models.CharField(max_length=32, choices=DropReason.choices)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        ordering = ["-day", "device_id", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["device", "reason", "day"], name="dropped_readings_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.reason} {self.day}: {self.count}"
