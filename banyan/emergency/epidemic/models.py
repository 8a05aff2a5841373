"""Epidemic mode of an emergency (issue 15, Must have 7): households' isolation status with dates,
deliveries to isolating households (groceries, medicine) carried by on-foot incidents, and the daily
check-ins of isolating residents in care.

Only for an emergency whose hazard is ``epidemic``. The rows are the community's, but nothing here is
shown beyond the roles that need it (:func:`banyan.emergency.epidemic.services.may_see`). A status
change is a new :class:`HouseholdStatus` row (the history is the rows; the one with ``is_current`` is
in force). Everything is deleted, or forgets the household, when the emergency is purged.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.emergency.epidemic.choices import (
    CheckInChannel,
    CheckInStatus,
    DeliveryKind,
    DeliveryStatus,
    HouseholdState,
)
from banyan.emergency.models import CommunityScopedQuerySet, Emergency, Task
from banyan.people.models import Household, Resident, User
from banyan.response.models import Incident

WHAT_MAX = 200


class EpidemicQuerySet(CommunityScopedQuerySet):
    community_path = "emergency__community__path"


class HouseholdStatus(models.Model):
    """A household's status in an epidemic emergency from ``since`` (until ``until``, the planned end,
    when known), set by whom and when. A change adds a row and retires the one in force."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="+")
    household = models.ForeignKey(Household, models.CASCADE, related_name="+", verbose_name=_("household"))
    status = models.CharField(_("status"), max_length=16, choices=HouseholdState.choices)
    since = models.DateField(_("since"))
    until = models.DateField(_("until (planned)"), null=True, blank=True)
    set_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    set_at = models.DateTimeField(_("set at"))
    is_current = models.BooleanField(default=True)

    objects = EpidemicQuerySet.as_manager()

    class Meta:
        ordering = ["emergency", "household", "-set_at", "-id"]
        verbose_name = _("household status")
        verbose_name_plural = _("household statuses")
        constraints = [
            models.UniqueConstraint(
                fields=["emergency", "household"],
                condition=models.Q(is_current=True),
                name="epidemic_one_current_status",
                violation_error_message=_("This household already has a status in force."),
            ),
            models.CheckConstraint(
                condition=models.Q(until__isnull=True) | models.Q(until__gte=models.F("since")),
                name="epidemic_status_until_after_since",
                violation_error_message=_("The planned end (until) is before the start (since)."),
            ),
        ]


class Delivery(models.Model):
    """Groceries or medicine for an isolating household: what is needed (short), when asked for, and
    the on-foot incident (and emergency task) that carries it; its status follows the incident."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="+")
    # Forgotten (null) when the emergency is purged, with ``what``.
    household = models.ForeignKey(
        Household, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("household")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=DeliveryKind.choices)
    what = models.CharField(_("what is needed"), max_length=WHAT_MAX, blank=True)
    requested_at = models.DateTimeField(_("requested"))
    requested_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.OPEN
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    incident = models.ForeignKey(Incident, models.SET_NULL, null=True, blank=True, related_name="+")
    task = models.ForeignKey(Task, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = EpidemicQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")


class CheckIn(models.Model):
    """One day's check-in of an isolating resident in care: whom it asked and how (the roll call's
    channels; a phone as its blind index only), and the answer — OK, need help (an incident was
    opened), or none by the evening (an incident too)."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="+")
    household = models.ForeignKey(Household, models.CASCADE, related_name="+")
    resident = models.ForeignKey(Resident, models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    channel = models.CharField(_("asked by"), max_length=8, choices=CheckInChannel.choices)
    asked_user = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    asked_at = models.DateTimeField(_("asked"))
    message_id = models.PositiveBigIntegerField(null=True, blank=True)  # notify's Message
    status = models.CharField(
        _("status"), max_length=16, choices=CheckInStatus.choices, default=CheckInStatus.WAITING
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_via = models.CharField(_("answered by"), max_length=8, blank=True)
    incident = models.ForeignKey(Incident, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = EpidemicQuerySet.as_manager()

    class Meta:
        ordering = ["day", "household", "id"]
        verbose_name = _("isolation check-in")
        constraints = [
            models.UniqueConstraint(
                fields=["emergency", "resident", "day"],
                name="epidemic_checkin_once_a_day",
                violation_error_message=_("This resident has been asked today already."),
            )
        ]
        indexes = [models.Index(fields=["status", "day"], name="epidemic_checkin_status_day")]
