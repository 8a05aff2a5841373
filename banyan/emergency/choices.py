from django.db import models
from django.utils.translation import gettext_lazy as _


class HazardKind(models.TextChoices):
    """The hazards a community plans for (风险预判), as the issue and Chinese emergency plans name them."""

    TYPHOON = "typhoon", _("Typhoon")
    FLOOD = "flood", _("Flood or waterlogging")
    FIRE = "fire", _("Fire")
    GAS_LEAK = "gas_leak", _("Gas leak")
    HEAT_WAVE = "heat_wave", _("Heat wave")
    COLD_WAVE = "cold_wave", _("Cold wave")
    EPIDEMIC = "epidemic", _("Epidemic")
    CROWD = "crowd", _("Crowd incident")
    OUTAGE = "outage", _("Power or water outage")
    EARTHQUAKE = "earthquake", _("Earthquake")
    COLLAPSE = "collapse", _("Building collapse")


class Level(models.IntegerChoices):
    """Emergency response levels: IV (blue, general) to I (red, most severe)."""

    I = 1, _("Level I (red)")  # noqa: E741 -- the level's own name
    II = 2, _("Level II (orange)")
    III = 3, _("Level III (yellow)")
    IV = 4, _("Level IV (blue)")


# The warning grade of each level, for colours and for matching a CAP warning's severity.
LEVEL_GRADE = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}


class Trigger(models.TextChoices):
    """What proposed or opened an emergency."""

    MANUAL = "manual", _("A director")
    CAP = "cap", _("A government warning")
    ALERT = "alert", _("A local alert")
    DRILL = "drill", _("A drill")


class EmergencyStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACTIVE = "active", _("Active")
    STOOD_DOWN = "stood_down", _("Stood down")
    DISMISSED = "dismissed", _("Dismissed")


class TaskKind(models.TextChoices):
    CHECKLIST = "checklist", _("Plan checklist")
    DOOR_KNOCK = "door_knock", _("Door-knocking")
    RECOVERY = "recovery", _("Recovery")
    DELIVERY = "delivery", _("Delivery")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("To do")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class TimelineKind(models.TextChoices):
    """What an emergency's timeline records (every decision, with who and when)."""

    PROPOSED = "proposed", _("Proposed")
    ACTIVATED = "activated", _("Activated")
    DISMISSED = "dismissed", _("Dismissed")
    LEVEL_CHANGED = "level_changed", _("Level changed")
    AREA_CHANGED = "area_changed", _("Area changed")
    TASK_ASSIGNED = "task_assigned", _("Task assigned")
    TASK_DONE = "task_done", _("Task done")
    NOTICE_SENT = "notice_sent", _("Notice sent")
    WARNING_RELAYED = "warning_relayed", _("Warning relayed")
    ROLL_CALL_STARTED = "roll_call_started", _("Roll call started")
    SHELTER_OPENED = "shelter_opened", _("Shelter opened")
    CALLED_UP = "called_up", _("Volunteers called up")
    STOOD_DOWN = "stood_down", _("Stood down")
    NOTE = "note", _("Note")
