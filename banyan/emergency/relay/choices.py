from django.db import models
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    """Who a community notice goes to."""

    AREA = "area", _("Everyone in the affected area")
    VULNERABLE = "vulnerable", _("Residents in care in the affected area")
    ALL = "all", _("Everyone in the community")


class SubscriptionPlace(models.TextChoices):
    """The place of a resident's home a subscription follows: warnings covering it reach them."""

    BUILDING = "building", _("My building")
    GRID = "grid", _("My grid")
    COMMUNITY = "community", _("My whole community")


class RelayChannel(models.TextChoices):
    """How a resident was told: the notification channels, or through their carers."""

    IN_APP = "in_app", _("In the app")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice call")
    CARER = "carer", _("Through a carer")
