from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.warning.engine import RULE_KINDS


class Grade(models.TextChoices):
    """China's four warning colours (Emergency Response Law Art. 63): blue IV < yellow III < orange II
    < red I."""

    BLUE = "blue", _("Blue (level IV)")
    YELLOW = "yellow", _("Yellow (level III)")
    ORANGE = "orange", _("Orange (level II)")
    RED = "red", _("Red (level I)")


RuleKind = models.TextChoices("RuleKind", [(kind.upper(), kind) for kind in RULE_KINDS])


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")
    CLEARED = "cleared", _("Cleared automatically")


# An alert is active (the one per rule × subject) while open or acknowledged.
ACTIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
