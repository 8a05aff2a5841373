from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    MEMBER = "member", _("Member")
    POOL = "pool", _("Community pool")
    ISSUANCE = "issuance", _("Issuance")


class TransactionKind(models.TextChoices):
    ISSUE = "issue", _("Hours issued for confirmed service")
    PAY = "pay", _("Paid from the community pool")
    TRANSFER = "transfer", _("Transfer")
    DONATE = "donate", _("Donated to a family member")
    ADMIN_TRANSFER = "admin_transfer", _("Transfer by an administrator")
    REVERSAL = "reversal", _("Reversal")
