from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionKind(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    COMMUNITY = "community", _("Community")
    GRID = "grid", _("Grid")


# Which kind of region may sit under which.
CHILD_KIND: dict[str, str] = {
    RegionKind.CITY: RegionKind.DISTRICT,
    RegionKind.DISTRICT: RegionKind.STREET,
    RegionKind.STREET: RegionKind.COMMUNITY,
    RegionKind.COMMUNITY: RegionKind.GRID,
}


class BuildingKind(models.TextChoices):
    TOWER = "tower", _("High-rise tower")
    OLDER_BLOCK = "older_block", _("Older walk-up block")
    LOW_RISE = "low_rise", _("Low-rise building")
    PUBLIC = "public", _("Public building")


class UnitUse(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    COMMERCIAL = "commercial", _("Commercial")
    PUBLIC = "public", _("Public")


class FacilityKind(models.TextChoices):
    CLINIC = "clinic", _("Clinic")
    ELDERLY_DAY_CARE = "elderly_day_care", _("Elderly day care")
    SPORTS_FIELD = "sports_field", _("Sports field")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    SHELTER = "shelter", _("Emergency shelter")
    MICRO_FIRE_STATION = "micro_fire_station", _("Micro fire station")
    PLAZA = "plaza", _("Plaza")
    COMMUNITY_CENTRE = "community_centre", _("Community centre")
    CANTEEN = "canteen", _("Elderly canteen")
    HEALTH_HUT = "health_hut", _("Smart health hut")
    PARKING = "parking", _("Underground garage")
    SCHOOL = "school", _("School")
    ELDERLY_CARE = "elderly_care", _("Care home for the elderly")
    HOSPITAL = "hospital", _("Hospital")
    PHARMACY = "pharmacy", _("Pharmacy")
    CONVENIENCE_STORE = "convenience_store", _("Convenience store")
    FIRE_STATION = "fire_station", _("Fire station")
    POLICE = "police", _("Police station")
    TOILETS = "toilets", _("Public toilets")
    DEFIBRILLATOR = "defibrillator", _("Defibrillator (AED)")
