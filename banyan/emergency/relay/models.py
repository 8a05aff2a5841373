"""Warnings to residents by area: official CAP warnings relayed as received, community notices for an
emergency, who was told on which channel and whether it reached them, and residents' subscriptions.

* :class:`RelayedWarning` — one official warning relayed to one community (once: the sweep makes it).
* :class:`Notice` — a community notice sent for an emergency, in Chinese and English, to an audience.
* :class:`Recipient` — one resident told of a relayed warning or a notice: the channels chosen, the
  messages written (the resident's own and their carers'), the place in the order (vulnerable first)
  and the door-knocking task made when nothing reached them. A resident is told of a warning once.
* :class:`Subscription` — which warnings a resident wants below the red grade, and for which place
  (their building, their grid or their whole community). Without one, a resident is subscribed to every
  grade for their building; red warnings reach everyone in the area whatever they chose.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.emergency.models import CommunityScopedQuerySet, Emergency, Task
from banyan.emergency.relay.choices import Audience, SubscriptionPlace
from banyan.notify.models import Message
from banyan.people.models import Resident, User
from banyan.places.models import Region
from banyan.warning.models import OfficialWarning


class RelayedWarningQuerySet(CommunityScopedQuerySet):
    pass


class RelayedWarning(models.Model):
    """An official warning relayed to a community's residents in the area it covers, as received."""

    warning = models.ForeignKey(OfficialWarning, models.CASCADE, related_name="relays")
    community = models.ForeignKey(Region, models.CASCADE, related_name="+")
    relayed_at = models.DateTimeField(_("relayed"))
    # Buildings of the community the warning's area covers (all of them for a warning without a shape).
    buildings = models.PositiveIntegerField(_("buildings covered"), default=0)
    is_red = models.BooleanField(_("red grade: to everyone"), default=False)

    objects = RelayedWarningQuerySet.as_manager()

    class Meta:
        ordering = ["-relayed_at", "-id"]
        verbose_name = _("relayed warning")
        constraints = [
            models.UniqueConstraint(fields=["warning", "community"], name="relay_warning_once_per_community")
        ]


class NoticeQuerySet(CommunityScopedQuerySet):
    community_path = "emergency__community__path"


class Notice(models.Model):
    """A community notice for an emergency, written by its managers, sent to an audience of residents."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="notices")
    text_zh = models.TextField(_("Chinese text"), max_length=1000)
    text_en = models.TextField(_("English text"), max_length=1000, blank=True)
    audience = models.CharField(_("to"), max_length=16, choices=Audience.choices)
    sent_at = models.DateTimeField(_("sent"))
    sent_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("community notice")


class Recipient(models.Model):
    """One resident told of a relayed warning or a notice. ``channels`` are those chosen (``in_app``,
    ``sms``, ``voice``, ``carer``; empty: no way to reach them); ``messages`` the notifications written
    for them and their carers: a delivery confirmed on any of them means the resident was reached."""

    relay = models.ForeignKey(
        RelayedWarning, models.CASCADE, null=True, blank=True, related_name="recipients"
    )
    notice = models.ForeignKey(Notice, models.CASCADE, null=True, blank=True, related_name="recipients")
    # The warning again, so that the database holds a resident to one relay of each warning.
    warning = models.ForeignKey(OfficialWarning, models.CASCADE, null=True, blank=True, related_name="+")
    resident = models.ForeignKey(Resident, models.CASCADE, related_name="relay_recipients")
    is_vulnerable = models.BooleanField(_("in care"), default=False)
    position = models.PositiveIntegerField(_("told as number"), default=0)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    messages = models.ManyToManyField(Message, blank=True, related_name="relay_recipients")
    knock_task = models.ForeignKey(Task, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("told"))

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("resident told")
        constraints = [
            models.UniqueConstraint(
                fields=["warning", "resident"],
                condition=models.Q(warning__isnull=False),
                name="relay_recipient_once_per_warning",
            ),
            models.UniqueConstraint(
                fields=["notice", "resident"],
                condition=models.Q(notice__isnull=False),
                name="relay_recipient_once_per_notice",
            ),
            models.CheckConstraint(
                condition=models.Q(relay__isnull=False, notice__isnull=True)
                | models.Q(relay__isnull=True, notice__isnull=False),
                name="relay_recipient_of_relay_or_notice",
                violation_error_message=_("A resident is told of a relayed warning or of a notice."),
            ),
        ]


class Subscription(models.Model):
    """Which warnings a resident wants: the grades below red, and the place of theirs a warning must
    cover (their building, their grid, their whole community). Red-grade warnings reach everyone in the
    buildings they cover regardless; a resident without a subscription gets every grade for their
    building."""

    resident = models.OneToOneField(Resident, models.CASCADE, related_name="warning_subscription")
    place = models.CharField(
        _("for"), max_length=16, choices=SubscriptionPlace.choices, default=SubscriptionPlace.BUILDING
    )
    # Grades wanted besides red (blue, yellow, orange); empty: red warnings only.
    grades = models.JSONField(_("grades"), default=list, blank=True)
    set_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(_("changed"))

    class Meta:
        verbose_name = _("warning subscription")
