"""The time bank's fixtures: the demo community's accounts (the seed opens them), and a second account
in resident01's household for gifts to family."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest

from banyan.community.timebank import services
from banyan.community.timebank.choices import AccountKind
from banyan.community.timebank.models import Account, Entry, Transaction
from banyan.conftest import make_resident
from banyan.people.models import User
from banyan.places.models import Region


@dataclass
class Bank:
    community: Region
    pool: Account
    issuance: Account
    resident: Account  # resident01's
    family: Account  # another member of resident01's household
    volunteer: Account  # volunteer01's
    family_user: User


@pytest.fixture
def bank(users) -> Bank:
    resident01 = users["resident01"]
    community = resident01.region.parent
    household = resident01.resident.household
    relative = household.members.exclude(pk=resident01.resident_id).filter(account__isnull=True).first()
    relative = relative or make_resident(household, relation="spouse")
    family_user = User.objects.create(
        username="tb_family", role="resident", region=resident01.region, resident=relative
    )
    pool, issuance = services.install_timebank(community, actor="sim")
    return Bank(
        community=community,
        pool=pool,
        issuance=issuance,
        resident=Account.objects.get(community=community, owner=resident01),
        family=services.open_account(actor=family_user, community=community, owner=family_user),
        volunteer=Account.objects.get(community=community, owner=users["volunteer01"]),
        family_user=family_user,
    )


def balances(community: Region) -> dict[int, Decimal]:
    return {a.pk: services.balance_of(a) for a in Account.objects.filter(community=community)}


def ledger_snapshot(community: Region) -> tuple:
    """Everything a refused operation must leave as it was."""
    moved = Transaction.objects.filter(community=community).count()
    return (moved, Entry.objects.count(), balances(community))


def assert_ledger_whole(community: Region) -> None:
    """Every transaction sums to zero, the community's balances sum to zero, no member or pool below zero."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for moved, amount in Entry.objects.values_list("transaction", "amount"):
        totals[moved] += amount  # in Python: SQLite sums decimals as floating point
    assert [moved for moved, total in totals.items() if total != 0] == []
    shown = balances(community)
    assert sum(shown.values(), Decimal(0)) == 0
    for account in Account.objects.filter(community=community).exclude(kind=AccountKind.ISSUANCE):
        assert shown[account.pk] >= 0, account
