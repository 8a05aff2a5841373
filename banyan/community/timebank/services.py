"""The time bank's services: open accounts, issue, transfer, donate, reverse, and monthly statements.

Every movement is one :class:`Transaction` with entries summing to zero, written by :func:`_post`: inside
one database transaction it locks the accounts that lose hours (``select_for_update`` in id order; on
SQLite the ``IMMEDIATE`` transaction serialises writers), computes their balances from the entries under
the lock and refuses to take a member or pool account below zero (409 naming ``hours``). Only the
issuance account goes negative: it is where hours come from, so a community's balances sum to zero.

Who may do what (:data:`banyan.core.access.Action`): everyone with ``timebank.view`` sees the accounts in
their scope and moves the hours of their own; ``timebank.manage`` (directors, street officers,
administrators) issues hours for confirmed service, moves hours for members who are offline, pays from
the pool and reverses. Accounts are looked up through the caller's scope: another community's is 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction as db
from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import record_one
from banyan.community.timebank.choices import AccountKind, TransactionKind
from banyan.community.timebank.models import Account, Entry, Transaction
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.people.models import Actor, User
from banyan.places.choices import RegionKind
from banyan.places.models import Region

HOURS_MAX = Decimal(24 * 365)  # one movement: at most a year of hours
MEMO_MAX = 200
ZERO = Decimal("0.00")
CENT = Decimal("0.01")

AUDIT_ACTIONS = {
    TransactionKind.ISSUE: AuditAction.TIMEBANK_ISSUE,
    TransactionKind.TRANSFER: AuditAction.TIMEBANK_TRANSFER,
    TransactionKind.ADMIN_TRANSFER: AuditAction.TIMEBANK_ADMIN_TRANSFER,
    TransactionKind.PAY: AuditAction.TIMEBANK_ADMIN_TRANSFER,
    TransactionKind.DONATE: AuditAction.TIMEBANK_DONATE,
    TransactionKind.REVERSAL: AuditAction.TIMEBANK_REVERSE,
}


# --- reading ----------------------------------------------------------------------------------------


def accounts_for(user: Actor, action: Action = Action.VIEW_TIMEBANK) -> QuerySet[Account]:
    """The accounts in ``user``'s scope with their ``balance`` (hours; exact through :func:`hours_total`),
    by community and id."""
    return (
        Account.objects.restrict(user, action)
        .select_related("owner", "community")
        .annotate(balance=Coalesce(Sum("entries__amount"), Value(ZERO), output_field=DecimalField()))
        .order_by("community__code", "id")
    )


def get_account_for(
    user: Actor, pk, action: Action = Action.VIEW_TIMEBANK, *, field: str = "account"
) -> Account:
    """The account ``pk`` if ``user`` may see it (``action``), else 404 naming ``field``."""
    account = (
        Account.objects.restrict(user, action).select_related("owner", "community").filter(pk=pk).first()
    )
    if account is None:
        raise NotFound(_("No such time-bank account."), field=field)
    return account


def get_transaction_for(user: Actor, pk, action: Action = Action.VIEW_TIMEBANK) -> Transaction:
    found = Transaction.objects.restrict(user, action).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No such time-bank transaction."), field="transaction")
    return found


def hours_total(value) -> Decimal:
    """A sum of entries as exact hours: SQLite adds decimals as floating point (0.890000000000001), and
    every entry is whole hundredths, so rounding to them gives the exact sum back."""
    return ZERO if value is None else Decimal(str(value)).quantize(CENT)


def balance_of(account: Account) -> Decimal:
    """The account's balance: the sum of its entries."""
    return hours_total(Entry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"])


def community_of(region: Region | None) -> Region | None:
    """The community ``region`` lies in (itself, or the community above a grid); None above communities."""
    while region is not None and region.kind != RegionKind.COMMUNITY:
        if region.kind != RegionKind.GRID:
            return None
        region = region.parent
    return region


# --- accounts ---------------------------------------------------------------------------------------


def install_timebank(community: Region, *, actor: Actor | str) -> tuple[Account, Account]:
    """The community's pool and issuance accounts, opened if missing (idempotent)."""
    if community.kind != RegionKind.COMMUNITY:
        raise InvalidInput(_("Time-bank accounts belong to a community."), field="community")
    made = []
    with db.atomic():
        for kind in (AccountKind.POOL, AccountKind.ISSUANCE):
            account, created = Account.objects.get_or_create(
                community=community, kind=kind, defaults={"created_at": clock.now()}
            )
            if created:
                _audit_open(actor, account)
            made.append(account)
    return made[0], made[1]


def open_account(*, actor: Actor | str, community: Region, owner: User) -> Account:
    """``owner``'s member account in ``community`` (opened if missing). A person opens their own in their
    community; a manager opens one for anyone in their scope."""
    if isinstance(actor, User) and not _may_open(actor, community, owner):
        raise NotFound(_("No such community in your scope."), field="community")
    with db.atomic():
        install_timebank(community, actor=actor)
        account, created = Account.objects.get_or_create(
            community=community, owner=owner, kind=AccountKind.MEMBER, defaults={"created_at": clock.now()}
        )
        if created:
            _audit_open(actor, account)
    return account


def _may_open(actor: User, community: Region, owner: User) -> bool:
    if owner.pk == actor.pk and community_of(actor.region) == community:
        return can(actor, Action.VIEW_TIMEBANK)
    return Region.objects.restrict(actor, Action.MANAGE_TIMEBANK).filter(pk=community.pk).exists()


def _audit_open(actor: Actor | str, account: Account) -> None:
    details = {"account_kind": account.kind, "community": account.community_id}
    record_one(
        actor=actor,
        action=AuditAction.TIMEBANK_ACCOUNT_OPEN,
        subject_type="timebank_account",
        subject_id=account.pk,
        details=details,
    )


# --- movements --------------------------------------------------------------------------------------


def clean_hours(value) -> Decimal:
    """Hours as a positive Decimal with at most 2 decimals and at most a year; else 400 naming ``hours``."""
    try:
        hours = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Hours must be a number, e.g. 1.5."), field="hours") from None
    if not hours.is_finite() or hours <= 0 or hours > HOURS_MAX:
        raise InvalidInput(
            _("Hours must be more than 0 and at most %(max)s.") % {"max": HOURS_MAX}, field="hours"
        )
    if hours != hours.quantize(CENT):
        raise InvalidInput(_("Hours have at most 2 decimals, e.g. 1.25."), field="hours")
    return hours.quantize(CENT)


def _clean_memo(memo: str, *, required: bool) -> str:
    memo = (memo or "").strip()
    if required and not memo:
        raise InvalidInput(_("Say what this is for (the service confirmed, or the reason)."), field="memo")
    if len(memo) > MEMO_MAX:
        raise InvalidInput(_("The memo has at most %(n)d characters.") % {"n": MEMO_MAX}, field="memo")
    return memo


def issue(*, actor: User, to_account, hours, memo: str) -> Transaction:
    """Hours for confirmed service, from the community's issuance account to a member's; by a manager, with
    a memo naming the service."""
    if not can(actor, Action.MANAGE_TIMEBANK):
        raise PermissionDenied(_("Only the community's managers issue hours."), field="to")
    hours = clean_hours(hours)
    memo = _clean_memo(memo, required=True)
    target = get_account_for(actor, getattr(to_account, "pk", to_account), Action.MANAGE_TIMEBANK, field="to")
    if target.kind != AccountKind.MEMBER:
        raise InvalidInput(_("Hours are issued to a member's account."), field="to")
    source = _issuance(target.community)
    return _post(actor, TransactionKind.ISSUE, [(source, -hours), (target, hours)], memo)


def transfer(*, actor: User, from_account, to_account, hours, memo: str = "") -> Transaction:
    """Move hours from ``from_account`` to ``to_account`` of the same community: by the owner of
    ``from_account`` (``transfer``), or by a manager (``admin_transfer`` for a member who is offline, ``pay``
    from the pool)."""
    hours = clean_hours(hours)
    source = get_account_for(actor, getattr(from_account, "pk", from_account), field="from")
    if source.owner_id is not None and source.owner_id == actor.pk:
        kind = TransactionKind.TRANSFER
        memo = _clean_memo(memo, required=False)
    elif _manages(actor, source):
        kind = TransactionKind.PAY if source.kind == AccountKind.POOL else TransactionKind.ADMIN_TRANSFER
        memo = _clean_memo(memo, required=True)
    else:
        raise PermissionDenied(_("Only the account's owner or a manager moves its hours."), field="from")
    target = _target(source, to_account)
    _check_pair(source, target)
    return _post(actor, kind, [(source, -hours), (target, hours)], memo)


def donate(*, actor: User, from_account, to_account, hours, memo: str = "") -> Transaction:
    """Give hours to a member of the owner's household (the owner, or a manager for an offline member)."""
    hours = clean_hours(hours)
    memo = _clean_memo(memo, required=False)
    source = get_account_for(actor, getattr(from_account, "pk", from_account), field="from")
    if source.owner_id != actor.pk and not _manages(actor, source):
        raise PermissionDenied(_("Only the account's owner or a manager gives its hours."), field="from")
    target = _target(source, to_account)
    _check_pair(source, target)
    if not _same_household(source, target):
        raise InvalidInput(_("Hours are given to a member of the same household."), field="to")
    return _post(actor, TransactionKind.DONATE, [(source, -hours), (target, hours)], memo)


def reverse(*, actor: User, transaction: Transaction | int, memo: str) -> Transaction:
    """A compensating transaction: every entry of ``transaction`` negated; by a manager, with the reason.
    A reversal is not reversed, and a transaction is reversed once."""
    if not can(actor, Action.MANAGE_TIMEBANK):
        raise PermissionDenied(_("Only the community's managers reverse transactions."), field="transaction")
    memo = _clean_memo(memo, required=True)
    original = get_transaction_for(actor, getattr(transaction, "pk", transaction), Action.MANAGE_TIMEBANK)
    if original.kind == TransactionKind.REVERSAL:
        raise InvalidInput(_("A reversal is not reversed: make a new transaction."), field="transaction")
    if Transaction.objects.filter(reverses=original).exists():
        raise Conflict(_("This transaction is already reversed."), field="transaction")
    legs = [(entry.account, -entry.amount) for entry in original.entries.select_related("account")]
    return _post(actor, TransactionKind.REVERSAL, legs, memo, reverses=original)


def seed_hours(*, community: Region, grants: dict[User, Decimal], memo: str) -> list[Transaction]:
    """The seed's opening balances: a member account for each person of ``grants``, issued their hours by
    the system (``sim``), as the issuance service would."""
    made = []
    source = install_timebank(community, actor="sim")[1]
    for owner, granted in grants.items():
        hours = clean_hours(granted)
        target = open_account(actor="sim", community=community, owner=owner)
        made.append(_post("sim", TransactionKind.ISSUE, [(source, -hours), (target, hours)], memo))
    return made


def _target(source: Account, to_account) -> Account:
    """The account hours go to: any account of ``source``'s community (a member pays another member whose
    account they do not see); another community's is 404 naming ``to``."""
    pk = getattr(to_account, "pk", to_account)
    found = Account.objects.filter(community_id=source.community_id, pk=pk).select_related("owner").first()
    if found is None:
        raise NotFound(_("No such time-bank account in this community."), field="to")
    return found


def _issuance(community: Region) -> Account:
    return install_timebank(community, actor="system")[1]


def _manages(actor: User, account: Account) -> bool:
    return Account.objects.restrict(actor, Action.MANAGE_TIMEBANK).filter(pk=account.pk).exists()


def _check_pair(source: Account, target: Account) -> None:
    if source.pk == target.pk:
        raise InvalidInput(_("Hours move between two different accounts."), field="to")
    if source.kind == AccountKind.ISSUANCE:
        raise InvalidInput(_("Hours leave the issuance account only when issued."), field="from")
    if target.kind == AccountKind.ISSUANCE:
        raise InvalidInput(_("Hours return to the issuance account only by a reversal."), field="to")


def _same_household(source: Account, target: Account) -> bool:
    if source.kind != AccountKind.MEMBER or target.kind != AccountKind.MEMBER:
        return False
    homes = User.objects.filter(pk__in=[source.owner_id, target.owner_id], resident__isnull=False)
    households = set(homes.values_list("resident__household_id", flat=True))
    return homes.count() == 2 and len(households) == 1


def _post(
    actor: User | str,
    kind: TransactionKind,
    legs: list[tuple[Account, Decimal]],
    memo: str,
    *,
    reverses: Transaction | None = None,
) -> Transaction:
    """Write one transaction of ``legs`` (account, signed hours) after locking the accounts that lose
    hours and checking their balances under the lock; the entries must sum to zero."""
    if not legs or sum((amount for _account, amount in legs), ZERO) != 0:
        raise InvalidInput(_("A transaction's entries must sum to zero."), field="hours")
    community_id = legs[0][0].community_id
    if any(account.community_id != community_id for account, _amount in legs):
        raise InvalidInput(_("Hours move within one community."), field="to")
    debited = sorted({account.pk for account, amount in legs if amount < 0})
    with db.atomic():
        locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=debited).order_by("pk")}
        balances = _balances(debited)
        for account, amount in legs:
            if amount < 0 and locked[account.pk].kind not in (AccountKind.ISSUANCE,):
                if balances.get(account.pk, ZERO) + amount < 0:
                    raise Conflict(
                        _("Not enough hours: account %(account)s holds %(balance)s hours, %(hours)s asked.")
                        % {
                            "account": account.pk,
                            "balance": balances.get(account.pk, ZERO),
                            "hours": -amount,
                        },
                        field="hours",
                        code="insufficient_hours",
                    )
        moved = Transaction.objects.create(
            community_id=community_id,
            kind=kind,
            memo=memo,
            created_by=actor if isinstance(actor, User) else None,
            created_at=clock.now(),
            reverses=reverses,
        )
        Entry.objects.bulk_create([Entry(transaction=moved, account=a, amount=amount) for a, amount in legs])
        if hours_total(Entry.objects.filter(transaction=moved).aggregate(total=Sum("amount"))["total"]) != 0:
            raise InvalidInput(_("A transaction's entries must sum to zero."), field="hours")
        record_one(
            actor=actor,
            action=AUDIT_ACTIONS[kind],
            subject_type="timebank_transaction",
            subject_id=moved.pk,
            details=_audit_details(kind, legs, reverses),
        )
    return moved


def _balances(account_ids: list[int]) -> dict[int, Decimal]:
    rows = Entry.objects.filter(account_id__in=account_ids).values("account_id").annotate(total=Sum("amount"))
    return {row["account_id"]: hours_total(row["total"]) for row in rows}


def _audit_details(kind: str, legs: list[tuple[Account, Decimal]], reverses: Transaction | None) -> dict:
    details: dict = {
        "transaction_kind": kind,
        "hours": str(sum((amount for _a, amount in legs if amount > 0), ZERO)),
        "debited": [account.pk for account, amount in legs if amount < 0],
        "credited": [account.pk for account, amount in legs if amount > 0],
    }
    if reverses is not None:
        details["reverses"] = reverses.pk
    return details


# --- statements -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    transaction: int
    kind: str
    at: dt.datetime
    amount: Decimal
    memo: str


@dataclass(frozen=True)
class Statement:
    account: Account
    month: dt.date  # its first day
    opening: Decimal
    lines: tuple[StatementLine, ...]
    closing: Decimal


def parse_month(value: str) -> dt.date:
    """``YYYY-MM`` → the month's first day; else 400 naming ``month``."""
    try:
        year, month = (int(part) for part in value.split("-"))
        return dt.date(year, month, 1)
    except (ValueError, TypeError):
        raise InvalidInput(_("A month is written YYYY-MM, e.g. 2026-03."), field="month") from None


def statement(account: Account, month: dt.date) -> Statement:
    """The account's monthly statement (local time): the opening balance, the month's entries, the
    closing balance (opening plus the entries)."""
    first = month.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(after, dt.time(), tzinfo=zone)
    entries = Entry.objects.filter(account=account).select_related("transaction")
    opening = hours_total(
        entries.filter(transaction__created_at__lt=start).aggregate(total=Sum("amount"))["total"]
    )
    month_entries = entries.filter(Q(transaction__created_at__gte=start) & Q(transaction__created_at__lt=end))
    lines = tuple(
        StatementLine(
            e.transaction_id, e.transaction.kind, e.transaction.created_at, e.amount, e.transaction.memo
        )
        for e in month_entries.order_by("transaction__created_at", "id")
    )
    closing = opening + sum((line.amount for line in lines), ZERO)
    return Statement(account, first, opening, lines, closing)
