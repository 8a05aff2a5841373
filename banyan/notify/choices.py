from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice call")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CANCELLED = "cancelled", _("Not needed: acknowledged elsewhere")


# The channels a message takes when neither the caller nor the recipient's preferences name them.
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    Urgency.NORMAL: (Channel.IN_APP, Channel.EMAIL),
    Urgency.URGENT: (Channel.IN_APP, Channel.SMS, Channel.VOICE),
}

# Statuses a delivery never leaves (a receipt or acknowledgement arriving later is still recorded
# on acknowledged; failed and cancelled are final).
FINAL_STATUSES = (DeliveryStatus.FAILED, DeliveryStatus.CANCELLED, DeliveryStatus.ACKNOWLEDGED)
