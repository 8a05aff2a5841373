from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """How a check-in arrived: the resident's own tap, an SMS reply, a voice key press, a carer, staff."""

    APP = "app", _("App tap")
    SMS = "sms", _("SMS reply")
    VOICE = "voice", _("Voice call")
    CARER = "carer", _("A carer")
    STAFF = "staff", _("A staff member")


class Outcome(models.TextChoices):
    FINE = "fine", _("Fine")
    NEED_HELP = "need_help", _("Needs help")


class CheckerKind(models.TextChoices):
    """Who checks on a resident under a plan."""

    GRID_WORKER = "grid_worker", _("Grid worker")
    VOLUNTEER = "volunteer", _("Volunteer")
    FAMILY = "family", _("Family carer")


class Escalation(models.TextChoices):
    """What a missed check-in leads to once the grace period is over."""

    NEXT_CHANNEL = "next_channel", _("Try the next channel, then send someone")
    CARER = "carer", _("Tell the carer")
    WELLNESS_VISIT = "wellness_visit", _("Send someone to visit")


class VisitOutcome(models.TextChoices):
    """What the one who went found (探视)."""

    WELL = "well", _("Well")
    NEEDS_HELP = "needs_help", _("Needs help")
    NOT_HOME = "not_home", _("Not at home")
    HOSPITAL = "hospital", _("In hospital")


class FollowUpReason(models.TextChoices):
    """Why someone is being followed up: a check-in missed past its grace, an inactivity rule, or a staff
    member who sent someone from the care board."""

    MISSED = "missed", _("Missed check-in")
    INACTIVITY = "inactivity", _("Inactivity alert")
    REQUESTED = "requested", _("Sent by staff")


class FollowUpStatus(models.TextChoices):
    RETRYING = "retrying", _("Trying the next channel")
    VISITING = "visiting", _("Someone is on the way")
    ANSWERED = "answered", _("Answered")
    SEEN = "seen", _("Seen")
    ESCALATED = "escalated", _("Escalated")
