from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Relation(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Sibling")
    OTHER_RELATIVE = "relative", _("Other relative")
    TENANT = "tenant", _("Tenant")
    OTHER = "other", _("Other")


class ResidenceStatus(models.TextChoices):
    REGISTERED_LIVING_HERE = "registered_here", _("Registered and living here")
    LIVING_HERE_REGISTERED_ELSEWHERE = "inflow", _("Living here, registered elsewhere")
    REGISTERED_HERE_LIVING_ELSEWHERE = "outflow", _("Registered here, living elsewhere")


class CareKind(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("Elderly living alone")
    EMPTY_NEST = "empty_nest", _("Elderly empty-nest couple")
    DISABILITY = "disability", _("Disability")
    CHRONIC_ILLNESS = "chronic_illness", _("Chronic illness")
    DEMENTIA = "dementia", _("Dementia")
    PREGNANT = "pregnant", _("Pregnant")
    MINOR_UNDER_14 = "minor_under_14", _("Minor under 14")
    LOW_INCOME = "low_income", _("Low income")


class CareLevel(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")


class CarerKind(models.TextChoices):
    FAMILY = "family", _("Family")
    NEIGHBOUR = "neighbour", _("Neighbour")
    VOLUNTEER = "volunteer", _("Volunteer")
    GRID_WORKER = "grid_worker", _("Grid worker")


class ConsentScope(models.TextChoices):
    HEALTH_DATA = "health_data", _("Health data")
    CARE_MONITORING = "care_monitoring", _("Care monitoring with home sensors")
    SHARE_WITH_CARERS = "share_with_carers", _("Share contact with named carers")


class ConsentGivenBy(models.TextChoices):
    SELF = "self", _("The resident")
    GUARDIAN = "guardian", _("Parent or guardian")


class ProxyScope(models.TextChoices):
    """What a family carer may do for the resident they look after, as the consent names it."""

    REPORT = "report", _("Report a problem")
    CHECK_IN = "check_in", _("Check in")
    SIGN_UP = "sign_up", _("Sign up")
    VOTE = "vote", _("Vote")


class OrganisationKind(models.TextChoices):
    STREET_OFFICE = "street_office", _("Street office")
    COMMUNITY_COMMITTEE = "community_committee", _("Community committee")
    PROPERTY_COMPANY = "property_company", _("Property company")
    SOCIAL_ORGANISATION = "social_organisation", _("Social organisation")
    MICRO_FIRE_STATION = "micro_fire_station", _("Micro fire station")
    CLINIC = "clinic", _("Community clinic")
    POLICE = "police", _("Police station")


class VehicleKind(models.TextChoices):
    CAR = "car", _("Car")
    EBIKE = "ebike", _("Electric bicycle")
    MOTORCYCLE = "motorcycle", _("Motorcycle")


# Tags a resident may carry; free tags are refused so that filters stay meaningful.
class ResidentTag(models.TextChoices):
    PARTY_MEMBER = "party_member", _("Party member")
    VETERAN = "veteran", _("Veteran")
    VOLUNTEER = "volunteer", _("Volunteer")
    BUILDING_LEADER = "building_leader", _("Building leader")
    OWNER = "owner", _("Owner")
    TENANT = "tenant", _("Tenant")
    KEY_CARE = "key_care", _("Key care")


class CorrectionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for staff")
    ACCEPTED = "accepted", _("Accepted and corrected")
    REJECTED = "rejected", _("Rejected")


class CorrectableField(models.TextChoices):
    """What a resident may ask to correct (PIPL Art. 46); ``other`` is fixed by staff by hand."""

    NAME = "name", _("Name")
    ID_NUMBER = "id_number", _("ID number")
    PHONE = "phone", _("Phone")
    REGISTERED_ADDRESS = "registered_address", _("Registered address")
    OTHER = "other", _("Something else")
