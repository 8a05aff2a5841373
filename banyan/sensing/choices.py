from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DeviceStatus(models.TextChoices):
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline")
    MAINTENANCE = "maintenance", _("Maintenance")
    # The resident it serves withdrew care-monitoring consent: its readings are dropped, not offline.
    CONSENT_WITHDRAWN = "no_consent", pgettext_lazy("device state", "Consent withdrawn")


class DropReason(models.TextChoices):
    """Why readings were dropped unstored (counted, no value kept)."""

    CONSENT_WITHDRAWN = "consent_withdrawn", _("Care-monitoring consent withdrawn")
    HEALTH_CONSENT_WITHDRAWN = "health_consent_withdrawn", _("Health-data consent withdrawn")


class DeadLetterSource(models.TextChoices):
    MQTT = "mqtt", _("MQTT")
    HTTP = "http", _("HTTP batch")
    FRIGATE = "frigate", _("Frigate camera events")
