"""Notifications: one :class:`Message` per recipient, one :class:`Delivery` per channel it takes.

A message goes to a user (who reads it in the app and may have an email address and a phone) or to
someone without an account — a resident who reported a problem over Open311, say — whose phone
and/or email are stored on the message itself, encrypted by the vault with a blind index (personal
data: never in logs, errors or URLs). Subject and body are rendered in the recipient's language when
the message is created. Deliveries record each channel's progress: queued → sent → delivered →
acknowledged, or failed after the last attempt (``last_error`` says why without any address).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.core.vault import EncryptedTextField
from banyan.notify.choices import Channel, DeliveryStatus, Urgency


class MessageQuerySet(models.QuerySet):
    def restrict(self, user, action=None):
        """A user's own messages, whatever their role: notifications are personal."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(recipient=user)


class Message(models.Model):
    """What one recipient is told: rendered text, what it is about, how urgent, when acknowledged."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="notify_messages",
        verbose_name=_("recipient"),
    )
    recipient_phone = EncryptedTextField(_("recipient's phone"), blank=True)
    recipient_phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    recipient_email = EncryptedTextField(_("recipient's email"), blank=True)
    recipient_email_index = models.CharField(max_length=64, blank=True, db_index=True)
    language = models.CharField(_("language"), max_length=16)
    kind = models.CharField(_("kind"), max_length=64, help_text=_("e.g. incident.assigned"))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    subject_type = models.CharField(_("about (type)"), max_length=32, blank=True)
    subject_id = models.CharField(_("about (id)"), max_length=64, blank=True)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    created_at = models.DateTimeField(_("created"), db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("notification")
        indexes = [models.Index(fields=["recipient", "id"], name="notify_msg_recipient_id")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False)
                | ~models.Q(recipient_phone_index="")
                | ~models.Q(recipient_email_index=""),
                name="notify_message_has_recipient",
                violation_error_message=_(
                    "A notification needs a recipient: an account, a phone or an email."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Delivery(models.Model):
    """One channel's attempt to bring a message to its recipient."""

    message = models.ForeignKey(Message, models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(
        _("last error"), max_length=200, blank=True, help_text=_("never holds an address")
    )
    provider_message_id = models.CharField(_("provider's message id"), max_length=100, blank=True)
    queued_at = models.DateTimeField(_("queued"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "channel"],
                name="notify_delivery_one_per_channel",
                violation_error_message=_("A notification takes each channel once."),
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notify_delivery_due"),
            models.Index(fields=["provider_message_id"], name="notify_delivery_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} of message #{self.message_id}: {self.status}"


class Preference(models.Model):
    """How a user wants to be told: language, channels per urgency, and a phone for SMS and calls
    (else the phone of the resident the account belongs to). Empty lists mean the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="notify_preference", verbose_name=_("account")
    )
    language = models.CharField(_("language"), max_length=16, blank=True, choices=settings.LANGUAGES)
    normal_channels = models.JSONField(_("channels for normal notifications"), default=list, blank=True)
    urgent_channels = models.JSONField(_("channels for urgent notifications"), default=list, blank=True)
    phone = EncryptedTextField(_("phone for SMS and calls"), blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("notification preference")

    def __str__(self) -> str:
        return f"notification preference of account #{self.user_id}"
