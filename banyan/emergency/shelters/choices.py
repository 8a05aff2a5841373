from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.places.choices import FacilityKind


class SupplyKind(models.TextChoices):
    """What a community stocks for emergencies (应急物资)."""

    WATER = "water", _("Drinking water")
    FOOD = "food", _("Food")
    MEDICINE = "medicine", _("Medicine")
    FIRST_AID = "first_aid", _("First-aid kits")
    SANDBAGS = "sandbags", _("Sandbags")
    PUMPS = "pumps", _("Water pumps")
    GENERATORS = "generators", _("Generators")
    BLANKETS = "blankets", _("Blankets")
    CAMP_BEDS = "camp_beds", _("Camp beds")
    TORCHES = "torches", _("Torches")
    RAINCOATS = "raincoats", _("Raincoats")
    MASKS = "masks", _("Masks")


class SupplyUnit(models.TextChoices):
    """How a stock is counted."""

    PIECE = "piece", _("pieces")
    BOTTLE = "bottle", _("bottles")
    BOX = "box", _("boxes")
    BAG = "bag", _("bags")
    SET = "set", _("sets")


class MoveKind(models.TextChoices):
    """What happened to a stock: every change of its quantity is one of these, with who and when."""

    RECEIVED = "received", _("Received")
    RESERVED = "reserved", _("Reserved for an emergency")
    DISTRIBUTED = "distributed", _("Distributed")
    RETURNED = "returned", _("Returned")
    ADJUSTED = "adjusted", _("Counted again")


# The kinds of facility that may serve as a shelter (应急避难场所, a community centre, a school …).
SHELTER_FACILITY_KINDS = (
    FacilityKind.SHELTER,
    FacilityKind.COMMUNITY_CENTRE,
    FacilityKind.SCHOOL,
    FacilityKind.SPORTS_FIELD,
    FacilityKind.ELDERLY_DAY_CARE,
)
