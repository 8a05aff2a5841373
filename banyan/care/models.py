"""Everyday care: a plan of who checks on a resident, how often and by which channel, and the check-ins
("I'm fine" / "need help") that arrive from the resident, a carer or staff.

Care is health data: plans and check-ins are seen only by roles that may see care
(:func:`banyan.people.models.may_see_care`), and then only for residents in the caller's scope.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.care.choices import (
    Channel,
    CheckerKind,
    Escalation,
    FollowUpReason,
    FollowUpStatus,
    Outcome,
    VisitOutcome,
)
from banyan.core.access import Action
from banyan.people.choices import CareKind
from banyan.people.models import Carer, Resident, User, may_see_care
from banyan.response.models import Incident
from banyan.warning.models import Alert


def _default_channels() -> list[str]:
    return [Channel.APP, Channel.SMS, Channel.VOICE, Channel.CARER]


class CarePlanQuerySet(models.QuerySet):
    def restrict(self, user, action: Action = Action.VIEW_PEOPLE):
        if not may_see_care(user):
            return self.none()
        return self.filter(resident__in=Resident.objects.restrict(user, action))


class CarePlan(models.Model):
    """How a resident with a care profile is looked after: one plan per resident."""

    resident = models.OneToOneField(
        Resident, models.CASCADE, related_name="care_plan", verbose_name=_("resident")
    )
    care_kind = models.CharField(_("template"), max_length=32, choices=CareKind.choices)
    checker_kind = models.CharField(_("who checks"), max_length=16, choices=CheckerKind.choices)
    # The grid worker's or volunteer's account, or the family carer (people.Carer); either may be unset
    # until someone is named.
    checker_user = models.ForeignKey(
        User, models.SET_NULL, null=True, blank=True, related_name="care_plans", verbose_name=_("checker")
    )
    checker_carer = models.ForeignKey(
        Carer, models.SET_NULL, null=True, blank=True, related_name="care_plans", verbose_name=_("carer")
    )
    # Whether the resident is asked every day (a child, or a pregnant resident, is looked after by visits
    # and their family: no daily check-in, nothing to miss).
    daily_checkin = models.BooleanField(_("daily check-in"), default=True)
    checkin_time = models.TimeField(_("daily check-in at"), default=dt.time(9, 0))
    visit_interval_days = models.PositiveSmallIntegerField(_("visit every (days)"), default=7)
    channels = models.JSONField(_("channels in order"), default=_default_channels)
    grace_minutes = models.PositiveSmallIntegerField(_("grace period (minutes)"), default=60)
    escalation = models.CharField(
        _("a missed check-in leads to"),
        max_length=16,
        choices=Escalation.choices,
        default=Escalation.NEXT_CHANNEL,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("made"))
    updated_at = models.DateTimeField(_("changed"))
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")

    objects = CarePlanQuerySet.as_manager()

    class Meta:
        ordering = ["resident"]
        verbose_name = _("care plan")


class CheckInQuerySet(models.QuerySet):
    def restrict(self, user, action: Action = Action.VIEW_PEOPLE):
        if not may_see_care(user):
            return self.none()
        return self.filter(resident__in=Resident.objects.restrict(user, action))


class CheckIn(models.Model):
    """One "I'm fine" or "need help": whose, when, on which channel, and who acted."""

    resident = models.ForeignKey(Resident, models.CASCADE, related_name="checkins")
    at = models.DateTimeField(_("at"), db_index=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    # The account that acted (the resident, a carer or staff), None for a gateway's SMS or voice reply.
    by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    # The carer of the resident who acted for them, when the one acting is one of their carers.
    for_proxy = models.ForeignKey(Carer, models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)
    incident = models.ForeignKey(Incident, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = CheckInQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("check-in")
        indexes = [models.Index(fields=["resident", "-at"], name="checkin_resident_at_idx")]


class CheckInRequest(models.Model):
    """The daily check-in message sent to a resident (or their carer) on one channel: the window in
    which a reply ("1" fine / "2" need help, by SMS or a key press) counts, and the check-in it got.

    One per plan, day and channel: the daily job sends on the plan's first channel; a retry on the next
    channel is another row."""

    plan = models.ForeignKey(CarePlan, models.CASCADE, related_name="requests")
    resident = models.ForeignKey(Resident, models.CASCADE, related_name="checkin_requests")
    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    sent_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("replies accepted until"), db_index=True)
    # The notify message that carried it (none when the resident could not be reached on the channel).
    message_id = models.BigIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    checkin = models.ForeignKey(CheckIn, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("check-in request")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "day", "channel"],
                name="checkin_request_once_a_day",
                violation_error_message=_("This check-in was already asked for today on this channel."),
            )
        ]
        indexes = [models.Index(fields=["resident", "expires_at"], name="checkin_request_open_idx")]


class FollowUpQuerySet(models.QuerySet):
    def restrict(self, user, action: Action = Action.VIEW_PEOPLE):
        if not may_see_care(user):
            return self.none()
        return self.filter(resident__in=Resident.objects.restrict(user, action))


class FollowUp(models.Model):
    """A missed check-in (or an inactivity alert) followed until the resident is seen: the retries on
    the plan's next channels, then the wellness visit (an incident of response) and its visits."""

    resident = models.ForeignKey(Resident, models.CASCADE, related_name="follow_ups")
    plan = models.ForeignKey(CarePlan, models.CASCADE, related_name="follow_ups")
    reason = models.CharField(_("reason"), max_length=16, choices=FollowUpReason.choices)
    day = models.DateField(_("day"))
    alert = models.ForeignKey(Alert, models.SET_NULL, null=True, blank=True, related_name="+")
    started_at = models.DateTimeField(_("started"))
    status = models.CharField(_("status"), max_length=16, choices=FollowUpStatus.choices)
    # [{"channel": "sms", "at": ISO time, "sent": true|false}] in the order tried.
    retries = models.JSONField(_("retries"), default=list, blank=True)
    next_at = models.DateTimeField(_("next step at"), null=True, blank=True)
    incident = models.ForeignKey(Incident, models.SET_NULL, null=True, blank=True, related_name="+")
    not_home = models.PositiveSmallIntegerField(_("found not at home"), default=0)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("follow-up")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "day"],
                condition=models.Q(reason="missed"),
                name="followup_one_missed_a_day",
            ),
            models.UniqueConstraint(
                fields=["alert"], condition=models.Q(alert__isnull=False), name="followup_one_per_alert"
            ),
        ]


class VisitQuerySet(models.QuerySet):
    def restrict(self, user, action: Action = Action.VIEW_PEOPLE):
        if not may_see_care(user):
            return self.none()
        return self.filter(resident__in=Resident.objects.restrict(user, action)) | self.filter(by=user)


class Visit(models.Model):
    """A wellness visit (探视) recorded from the responder's phone: what they found, a note, a photo."""

    resident = models.ForeignKey(Resident, models.CASCADE, related_name="visits")
    follow_up = models.ForeignKey(FollowUp, models.CASCADE, null=True, blank=True, related_name="visits")
    incident = models.ForeignKey(Incident, models.SET_NULL, null=True, blank=True, related_name="+")
    by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(_("at"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=VisitOutcome.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # Checked and cleaned like an incident's photos (banyan.response.photos.clean_photo): EXIF removed.
    photo = models.BinaryField(null=True, blank=True)
    photo_type = models.CharField(max_length=32, blank=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("visit")
