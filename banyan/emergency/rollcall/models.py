"""The "are you safe?" roll call of an emergency (issue 15, Must have 5).

A :class:`RollCall` asks every household of the emergency's area once (:mod:`.services`); each household
is an :class:`Entry`: whom it asked and how, and where it stands — waiting, safe, needs help (an incident
was opened), someone on the way (a door-knocking visit dispatched on foot), accounted for by that visit.
Rows are the community's (seen with :data:`~banyan.core.access.Action.VIEW_EMERGENCIES` in scope); an
entry names a household and a resident, never a phone: a phone asked is kept as its blind index only,
so that an SMS reply or a key press finds its entry.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.emergency.models import CommunityScopedQuerySet, Emergency, Task
from banyan.emergency.rollcall.choices import AnswerChannel, AskChannel, EntryStatus
from banyan.people.models import Household, Resident, User
from banyan.response.models import Incident

DEFAULT_WAIT_MINUTES = 15
DEFAULT_VULNERABLE_WAIT_MINUTES = 5


class RollCallQuerySet(CommunityScopedQuerySet):
    community_path = "emergency__community__path"

    def open(self):
        return self.filter(closed_at__isnull=True)


class RollCall(models.Model):
    """One roll call of an emergency: when it started, by whom, and how long an unanswered household waits
    before someone is sent to knock on its door. Closed when the emergency ends (or a new one starts)."""

    emergency = models.ForeignKey(Emergency, models.CASCADE, related_name="roll_calls")
    started_at = models.DateTimeField(_("started"))
    started_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    wait_minutes = models.PositiveSmallIntegerField(
        _("wait before a visit (minutes)"), default=DEFAULT_WAIT_MINUTES
    )
    # A household with someone in care is visited sooner (at most the others' wait).
    vulnerable_wait_minutes = models.PositiveSmallIntegerField(
        _("wait before a visit to a vulnerable household (minutes)"), default=DEFAULT_VULNERABLE_WAIT_MINUTES
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = RollCallQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("roll call")
        constraints = [
            models.UniqueConstraint(
                fields=["emergency"],
                condition=models.Q(closed_at__isnull=True),
                name="roll_call_one_open_per_emergency",
                violation_error_message=_("This emergency already has a roll call under way."),
            ),
            models.CheckConstraint(
                condition=models.Q(wait_minutes__gte=1, wait_minutes__lte=720),
                name="roll_call_wait_1_to_720",
                violation_error_message=_("The wait is 1 to 720 minutes."),
            ),
            models.CheckConstraint(
                condition=models.Q(
                    vulnerable_wait_minutes__gte=1, vulnerable_wait_minutes__lte=models.F("wait_minutes")
                ),
                name="roll_call_vulnerable_wait_within_wait",
                violation_error_message=_("A vulnerable household's wait is 1 minute to the others' wait."),
            ),
        ]


class EntryQuerySet(CommunityScopedQuerySet):
    community_path = "roll_call__emergency__community__path"


class Entry(models.Model):
    """A household of a roll call: who was asked (``resident``, or ``asked_user``: their account or a
    carer's), on which channel, and their answer or what was done for them."""

    roll_call = models.ForeignKey(RollCall, models.CASCADE, related_name="entries")
    household = models.ForeignKey(Household, models.CASCADE, related_name="+", verbose_name=_("household"))
    resident = models.ForeignKey(
        Resident, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("resident asked")
    )
    asked_user = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    # The blind index of the phone asked (an SMS or a call), for replies; never the phone itself.
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    vulnerable = models.BooleanField(_("vulnerable"), default=False)  # a member with an active care profile
    status = models.CharField(
        _("status"), max_length=16, choices=EntryStatus.choices, default=EntryStatus.WAITING, db_index=True
    )
    channel = models.CharField(_("asked by"), max_length=8, choices=AskChannel.choices)
    asked_at = models.DateTimeField(_("asked"))
    message_id = models.PositiveBigIntegerField(null=True, blank=True)  # notify's Message
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    answered_via = models.CharField(_("answered by"), max_length=8, choices=AnswerChannel.choices, blank=True)
    accounted_at = models.DateTimeField(_("accounted for"), null=True, blank=True)
    visit_sent_at = models.DateTimeField(_("visit sent"), null=True, blank=True)
    # "Need help" or the door-knocking visit: the incident (dispatched on foot) and the emergency's task.
    incident = models.ForeignKey(Incident, models.SET_NULL, null=True, blank=True, related_name="+")
    task = models.ForeignKey(Task, models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = EntryQuerySet.as_manager()

    class Meta:
        ordering = ["roll_call", "-vulnerable", "id"]
        verbose_name = _("roll-call entry")
        verbose_name_plural = _("roll-call entries")
        constraints = [
            models.UniqueConstraint(
                fields=["roll_call", "household"],
                name="roll_call_household_once",
                violation_error_message=_("This household is already in the roll call."),
            )
        ]
        indexes = [models.Index(fields=["roll_call", "status"], name="rollcall_entry_status")]
