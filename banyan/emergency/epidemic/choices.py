from django.db import models
from django.utils.translation import gettext_lazy as _


class HouseholdState(models.TextChoices):
    """Where a household stands in an epidemic: isolating (at home, managing), isolating and needing
    deliveries, or cleared (isolation over)."""

    ISOLATING = "isolating", _("Isolating")
    NEEDS_DELIVERIES = "needs_deliveries", _("Needs deliveries")
    CLEARED = "cleared", _("Cleared")


ISOLATING_STATES = (HouseholdState.ISOLATING, HouseholdState.NEEDS_DELIVERIES)


class DeliveryKind(models.TextChoices):
    GROCERIES = "groceries", _("Groceries")
    MEDICINE = "medicine", _("Medicine")
    OTHER = "other", _("Other")


class DeliveryStatus(models.TextChoices):
    """A delivery follows its incident: open while the incident is, done when it is resolved or
    closed, cancelled when it is cancelled."""

    OPEN = "open", _("On its way")
    DONE = "done", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class CheckInStatus(models.TextChoices):
    WAITING = "waiting", _("No answer yet")
    OK = "ok", _("OK")
    NEED_HELP = "need_help", _("Needs help")
    NO_ANSWER = "no_answer", _("No answer")


class CheckInChannel(models.TextChoices):
    """How a resident was asked (the roll call's channels) or answered."""

    APP = "in_app", _("In the app")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice call")
    CARER = "carer", _("A carer")
    NONE = "none", _("Nobody to ask")
