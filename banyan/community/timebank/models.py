"""The time bank's ledger (时间银行): accounts, transactions and their entries, in hours of service.

Double entry: a :class:`Transaction` is a set of :class:`Entry` rows whose amounts sum to zero. Each
community has one *issuance* account (where hours come from: the only account that goes below zero),
one *pool* (the community's own hours, which pay for services) and one *member* account per person.
So the balances of one community always sum to zero. Entries and transactions are never changed or
deleted: a mistake is undone by a compensating transaction (``reversal``). Balances are the sums of the
entries; :mod:`banyan.community.timebank.services` writes every row.

Scope: an account or transaction belongs to a community; its staff and the staff above see it, a
grid worker of one of its grids too. A resident or volunteer sees their own accounts, those of their
household and the pool and issuance accounts of their community.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from banyan.community.timebank.choices import AccountKind, TransactionKind
from banyan.core.access import Action
from banyan.core.choices import Role
from banyan.core.errors import Conflict
from banyan.people.models import Household, User
from banyan.places.models import Region, ScopedQuerySet

COMMUNITY_ACCOUNTS = (AccountKind.POOL, AccountKind.ISSUANCE)


class CommunityQuerySet(ScopedQuerySet):
    """Rows of a community: seen by its staff, its street's and above, and by the staff of its grids."""

    default_action = Action.VIEW_TIMEBANK

    def region_q(self, region: Region) -> Q:
        return Q(community__path__startswith=region.path) | Q(community__path__in=region.ancestor_paths())


class AccountQuerySet(CommunityQuerySet):
    def personal_scope(self, user):
        if user.role not in (Role.RESIDENT, Role.VOLUNTEER):
            return None
        own_communities = Account.objects.filter(owner=user).values("community")
        visible = Q(owner=user) | Q(kind__in=COMMUNITY_ACCOUNTS, community__in=own_communities)
        if user.region_id is not None:
            home = user.region.ancestor_paths(include_self=True)
            visible |= Q(kind__in=COMMUNITY_ACCOUNTS, community__path__in=home)
        if user.resident_id is not None:
            family = Household.objects.filter(members__account=user).values("pk")
            visible |= Q(owner__resident__household__in=family)
        return self.filter(visible)


def _refuse_change(*args, **kwargs):
    raise Conflict(gettext("The time bank's ledger is never changed: reverse the transaction."))


class TransactionQuerySet(CommunityQuerySet):
    update = delete = _refuse_change

    def personal_scope(self, user):
        if user.role not in (Role.RESIDENT, Role.VOLUNTEER):
            return None
        return self.filter(pk__in=Entry.objects.filter(account__owner=user).values("transaction"))


class EntryQuerySet(models.QuerySet):
    update = delete = _refuse_change


class _Immutable(models.Model):
    """Written once by the services, never changed or deleted (the ledger is append-only)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            _refuse_change()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_change()


class Account(models.Model):
    """A community's account of hours: a member's (``owner``), the pool's or the issuance account's."""

    community = models.ForeignKey(Region, models.PROTECT, related_name="+", verbose_name=_("community"))
    kind = models.CharField(_("kind"), max_length=16, choices=AccountKind.choices)
    owner = models.ForeignKey(
        User, models.PROTECT, null=True, blank=True, related_name="timebank_accounts", verbose_name=_("owner")
    )
    created_at = models.DateTimeField(_("opened"))

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["community", "id"]
        verbose_name = _("time-bank account")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "owner"],
                condition=Q(kind=AccountKind.MEMBER),
                name="timebank_one_member_account",
                violation_error_message=_("This person already has an account in this community."),
            ),
            models.UniqueConstraint(
                fields=["community", "kind"],
                condition=Q(kind__in=COMMUNITY_ACCOUNTS),
                name="timebank_one_pool_and_issuance",
                violation_error_message=_("A community has one pool and one issuance account."),
            ),
            models.CheckConstraint(
                condition=(Q(kind=AccountKind.MEMBER) & Q(owner__isnull=False))
                | (Q(kind__in=COMMUNITY_ACCOUNTS) & Q(owner__isnull=True)),
                name="timebank_owner_only_on_member_accounts",
                violation_error_message=_(
                    "A member account has an owner; the pool and issuance accounts none."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Transaction(_Immutable):
    """One movement of hours: its entries sum to zero. ``reverses``: the transaction it compensates."""

    community = models.ForeignKey(Region, models.PROTECT, related_name="+", verbose_name=_("community"))
    kind = models.CharField(_("kind"), max_length=16, choices=TransactionKind.choices)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    created_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("at"))
    reverses = models.OneToOneField(
        "self", models.PROTECT, null=True, blank=True, related_name="reversal", verbose_name=_("reverses")
    )

    objects = TransactionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("time-bank transaction")


class Entry(_Immutable):
    """One leg of a transaction: hours into (positive) or out of (negative) an account."""

    transaction = models.ForeignKey(Transaction, models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, models.PROTECT, related_name="entries")
    amount = models.DecimalField(_("hours"), max_digits=12, decimal_places=2)

    objects = EntryQuerySet.as_manager()

    class Meta:
        ordering = ["transaction", "id"]
        verbose_name = _("time-bank entry")
        verbose_name_plural = _("time-bank entries")
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0),
                name="timebank_entry_not_zero",
                violation_error_message=_("An entry moves some hours."),
            ),
        ]
