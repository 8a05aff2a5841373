from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")
    STREET_OFFICER = "street_officer", _("Street officer")
    COMMUNITY_DIRECTOR = "community_director", _("Community director")
    GRID_WORKER = "grid_worker", _("Grid worker")
    PROPERTY_STAFF = "property_staff", _("Property staff")
    VOLUNTEER = "volunteer", _("Social-organisation volunteer")
    RESIDENT = "resident", _("Resident")
    AUDITOR = "auditor", _("Auditor")
