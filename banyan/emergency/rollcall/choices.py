from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryStatus(models.TextChoices):
    """Where a household of a roll call stands. Safe, need help and accounted (by a visit) are
    "accounted for": the community knows how they are."""

    WAITING = "waiting", _("No answer yet")
    SAFE = "safe", _("Safe")
    NEED_HELP = "need_help", _("Needs help")
    VISITING = "visiting", _("Someone is on the way")
    ACCOUNTED = "accounted", _("Accounted for by a visit")


ACCOUNTED_STATUSES = (EntryStatus.SAFE, EntryStatus.NEED_HELP, EntryStatus.ACCOUNTED)
UNACCOUNTED_STATUSES = (EntryStatus.WAITING, EntryStatus.VISITING)


class AskChannel(models.TextChoices):
    """How a household was asked: the resident's app account, an SMS or a call to their phone, a carer,
    or nobody could be asked (someone goes at once)."""

    APP = "in_app", _("In the app")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice call")
    CARER = "carer", _("A carer")
    NONE = "none", _("Nobody to ask")


class AnswerChannel(models.TextChoices):
    """How an answer came: a tap in the app, an SMS reply, a key pressed, staff after a phone call, a
    visit."""

    APP = "in_app", _("In the app")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice call")
    STAFF = "staff", _("Staff")
    VISIT = "visit", _("A visit")
