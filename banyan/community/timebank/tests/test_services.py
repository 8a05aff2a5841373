from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from banyan.audit.models import AuditEntry
from banyan.community.timebank import services
from banyan.community.timebank.choices import AccountKind, TransactionKind
from banyan.community.timebank.models import Account, Entry, Transaction
from banyan.community.timebank.services import balance_of as balance
from banyan.community.timebank.services import donate, transfer
from banyan.community.timebank.tests.conftest import assert_ledger_whole, balances, ledger_snapshot
from banyan.core import clock
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.people.models import User

D = Decimal


def test_the_seed_gives_resident01_and_volunteer01_hours_through_the_ledger(bank, users):
    assert balance(bank.resident) == D("6.00")
    assert balance(bank.volunteer) == D("12.00")
    assert balance(bank.issuance) == D("-18.00")
    kinds = set(Transaction.objects.filter(community=bank.community).values_list("kind", flat=True))
    assert kinds == {TransactionKind.ISSUE}
    assert Account.objects.filter(community=bank.community, kind=AccountKind.POOL).count() == 1
    assert_ledger_whole(bank.community)


def test_a_director_issues_hours_for_confirmed_service_and_it_is_audited(bank, users):
    moved = services.issue(actor=users["director"], to_account=bank.volunteer, hours="2.5", memo="助老 #12")
    assert moved.kind == TransactionKind.ISSUE and moved.created_by == users["director"]
    legs = sorted((e.account_id, e.amount) for e in moved.entries.all())
    assert legs == sorted([(bank.issuance.pk, D("-2.50")), (bank.volunteer.pk, D("2.50"))])
    assert balance(bank.volunteer) == D("14.50")
    entry = AuditEntry.objects.filter(subject_type="timebank_transaction", subject_id=str(moved.pk)).get()
    assert entry.action == "timebank.issue" and entry.details["hours"] == "2.50"
    assert "助老" not in str(entry.details)  # the memo stays out of the audit log
    assert_ledger_whole(bank.community)


@pytest.mark.parametrize(
    "who, target, memo, error, field",
    [
        ("resident01", "volunteer", "x", PermissionDenied, "to"),
        ("grid01", "volunteer", "x", PermissionDenied, "to"),
        ("director", "volunteer", "  ", InvalidInput, "memo"),
        ("director", "pool", "x", InvalidInput, "to"),
    ],
)
def test_issuing_is_refused_with_the_field_and_changes_nothing(bank, users, who, target, memo, error, field):
    before = ledger_snapshot(bank.community)
    with pytest.raises(error) as caught:
        services.issue(actor=users[who], to_account=getattr(bank, target), hours=1, memo=memo)
    assert caught.value.field == field
    assert ledger_snapshot(bank.community) == before


@pytest.mark.parametrize("hours", [0, -1, "1.234", 8761, "abc", "NaN"])
def test_bad_hours_are_refused_naming_hours(bank, users, hours):
    before = ledger_snapshot(bank.community)
    with pytest.raises(InvalidInput) as caught:
        transfer(actor=users["resident01"], from_account=bank.resident, to_account=bank.pool, hours=hours)
    assert caught.value.field == "hours"
    assert ledger_snapshot(bank.community) == before


def test_an_owner_transfers_and_cannot_overdraw(bank, users):
    moved = transfer(
        actor=users["resident01"], from_account=bank.resident, to_account=bank.pool, hours="1.5", memo="谢谢"
    )
    assert moved.kind == TransactionKind.TRANSFER
    assert balance(bank.resident) == D("4.50") and balance(bank.pool) == D("1.50")
    before = ledger_snapshot(bank.community)
    with pytest.raises(Conflict) as caught:
        transfer(actor=users["resident01"], from_account=bank.resident, to_account=bank.pool, hours=5)
    assert caught.value.field == "hours" and caught.value.status == 409
    assert ledger_snapshot(bank.community) == before
    transfer(actor=users["resident01"], from_account=bank.resident, to_account=bank.pool, hours="4.5")
    assert balance(bank.resident) == 0
    assert_ledger_whole(bank.community)


def test_a_member_pays_another_member_whose_account_they_do_not_see(bank, users):
    assert not services.accounts_for(users["volunteer01"]).filter(pk=bank.resident.pk).exists()
    paid = transfer(
        actor=users["volunteer01"], from_account=bank.volunteer, to_account=bank.resident.pk, hours=2
    )
    assert paid.kind == TransactionKind.TRANSFER
    assert balance(bank.resident) == D("8.00") and balance(bank.volunteer) == D("10.00")


def test_a_resident_cannot_move_others_hours(bank, users):
    before = ledger_snapshot(bank.community)
    with pytest.raises(NotFound) as hidden:  # volunteer01's account is not in resident01's scope
        transfer(actor=users["resident01"], from_account=bank.volunteer, to_account=bank.resident, hours=1)
    assert hidden.value.field == "from"
    with pytest.raises(PermissionDenied) as refused:  # the family's account is seen, not theirs to move
        transfer(actor=users["resident01"], from_account=bank.family, to_account=bank.resident, hours=1)
    assert refused.value.field == "from"
    with pytest.raises(PermissionDenied):  # the pool is seen, only managers pay from it
        transfer(actor=users["resident01"], from_account=bank.pool, to_account=bank.resident, hours=1)
    with pytest.raises(InvalidInput) as issuance:
        transfer(actor=users["resident01"], from_account=bank.resident, to_account=bank.issuance, hours=1)
    assert issuance.value.field == "to"
    assert ledger_snapshot(bank.community) == before


def test_a_manager_transfers_for_an_offline_member_and_pays_from_the_pool(bank, users):
    director = users["director"]
    with pytest.raises(InvalidInput) as no_reason:
        transfer(actor=director, from_account=bank.volunteer, to_account=bank.pool, hours=3)
    assert no_reason.value.field == "memo"
    offline = transfer(
        actor=director, from_account=bank.volunteer, to_account=bank.pool, hours=3, memo="电话委托"
    )
    assert offline.kind == TransactionKind.ADMIN_TRANSFER
    paid = transfer(actor=director, from_account=bank.pool, to_account=bank.resident, hours=2, memo="陪诊")
    assert paid.kind == TransactionKind.PAY
    assert balance(bank.pool) == D("1.00") and balance(bank.resident) == D("8.00")
    with pytest.raises(PermissionDenied):  # a grid worker sees the accounts but does not run the bank
        transfer(actor=users["grid01"], from_account=bank.pool, to_account=bank.resident, hours=1, memo="x")
    assert_ledger_whole(bank.community)


def test_another_communitys_accounts_are_not_found(bank, users, outside):
    far = outside["other_street"]["community"]
    far_pool, _far_issuance = services.install_timebank(far, actor="sim")
    for who in ("director", "street01", "grid01", "resident01"):
        with pytest.raises(NotFound):
            transfer(actor=users[who], from_account=far_pool, to_account=bank.resident, hours=1, memo="x")
        with pytest.raises(NotFound):
            services.get_account_for(users[who], far_pool.pk)
    with pytest.raises(NotFound) as across:  # an administrator sees both, but hours stay in a community
        transfer(actor=users["admin"], from_account=bank.volunteer, to_account=far_pool, hours=1, memo="x")
    assert across.value.field == "to"
    with pytest.raises(NotFound):
        transfer(actor=users["volunteer01"], from_account=bank.volunteer, to_account=far_pool, hours=1)
    assert balance(far_pool) == 0


def test_hours_are_donated_to_a_household_member_only(bank, users):
    gift = donate(actor=users["resident01"], from_account=bank.resident, to_account=bank.family, hours=2)
    assert gift.kind == TransactionKind.DONATE
    assert balance(bank.family) == D("2.00") and balance(bank.resident) == D("4.00")
    with pytest.raises(InvalidInput) as stranger:
        donate(actor=users["volunteer01"], from_account=bank.volunteer, to_account=bank.resident, hours=1)
    assert stranger.value.field == "to"
    with pytest.raises(PermissionDenied):
        donate(actor=users["resident01"], from_account=bank.family, to_account=bank.resident, hours=1)
    assert_ledger_whole(bank.community)


def test_a_transaction_is_reversed_once_by_a_compensating_transaction(bank, users):
    director = users["director"]
    issued = services.issue(actor=director, to_account=bank.resident, hours=3, memo="错发")
    undone = services.reverse(actor=director, transaction=issued, memo="重复登记")
    assert undone.kind == TransactionKind.REVERSAL and undone.reverses == issued
    assert balance(bank.resident) == D("6.00") and balance(bank.issuance) == D("-18.00")
    with pytest.raises(Conflict):
        services.reverse(actor=director, transaction=issued, memo="again")
    with pytest.raises(InvalidInput) as twice:
        services.reverse(actor=director, transaction=undone, memo="again")
    assert twice.value.field == "transaction"
    with pytest.raises(PermissionDenied):
        services.reverse(actor=users["resident01"], transaction=issued, memo="x")
    # Hours already spent cannot be taken back below zero.
    spent = services.issue(actor=director, to_account=bank.volunteer, hours=1, memo="x")
    transfer(actor=users["volunteer01"], from_account=bank.volunteer, to_account=bank.pool, hours=13)
    with pytest.raises(Conflict) as short:
        services.reverse(actor=director, transaction=spent, memo="x")
    assert short.value.field == "hours"
    assert Entry.objects.filter(transaction=issued).count() == 2  # the original stays as it was
    assert_ledger_whole(bank.community)


def test_the_ledger_is_never_changed_or_deleted(bank):
    moved = Transaction.objects.filter(community=bank.community).first()
    entry = moved.entries.first()
    entry.amount = D("100")
    for attempt in (
        entry.save,
        entry.delete,
        moved.save,
        moved.delete,
        lambda: Entry.objects.filter(pk=entry.pk).update(amount=1),
        lambda: Entry.objects.filter(pk=entry.pk).delete(),
        lambda: Transaction.objects.filter(pk=moved.pk).update(memo="x"),
        lambda: Transaction.objects.filter(pk=moved.pk).delete(),
    ):
        with pytest.raises(Conflict):
            attempt()
    entry.refresh_from_db()
    assert entry.amount in (D("6.00"), D("12.00"), D("-6.00"), D("-12.00"))


def test_the_monthly_statement_opens_lists_and_closes(bank, users):
    transfer(actor=users["resident01"], from_account=bank.resident, to_account=bank.pool, hours="1.25")
    today = timezone.localdate(clock.now())
    shown = services.statement(bank.resident, today)
    assert shown.month == today.replace(day=1)
    assert shown.opening + sum(line.amount for line in shown.lines) == shown.closing == D("4.75")
    assert [line.amount for line in shown.lines][-1] == D("-1.25")
    following = services.statement(bank.resident, (today.replace(day=1) + dt.timedelta(days=40)))
    assert (following.opening, following.lines, following.closing) == (D("4.75"), (), D("4.75"))
    earlier = services.statement(bank.resident, dt.date(2000, 1, 1))
    assert (earlier.opening, earlier.lines, earlier.closing) == (0, (), 0)
    with pytest.raises(InvalidInput) as bad:
        services.parse_month("2026-13")
    assert bad.value.field == "month"


def test_scope_of_accounts_by_role(bank, users):
    def seen(who):
        user = who if isinstance(who, User) else users[who]
        return set(services.accounts_for(user).values_list("pk", flat=True))

    community_accounts = set(Account.objects.filter(community=bank.community).values_list("pk", flat=True))
    assert seen("director") == community_accounts == seen("grid01") | community_accounts
    assert {bank.resident.pk, bank.family.pk, bank.pool.pk, bank.issuance.pk} == seen("resident01")
    assert {bank.volunteer.pk, bank.pool.pk, bank.issuance.pk} == seen("volunteer01")
    assert seen(bank.family_user) == {bank.resident.pk, bank.family.pk, bank.pool.pk, bank.issuance.pk}
    shown = {a.pk: services.hours_total(a.balance) for a in services.accounts_for(users["director"])}
    assert shown == balances(bank.community)


def test_an_account_is_opened_by_its_owner_in_their_community_or_by_a_manager(bank, users, outside):
    far = outside["other_street"]["community"]
    with pytest.raises(NotFound):
        services.open_account(actor=users["resident01"], community=far, owner=users["resident01"])
    with pytest.raises(NotFound):
        services.open_account(actor=users["resident01"], community=bank.community, owner=users["grid01"])
    opened = services.open_account(actor=users["director"], community=bank.community, owner=users["grid01"])
    assert opened.kind == AccountKind.MEMBER and balance(opened) == 0
    again = services.open_account(actor=users["grid01"], community=bank.community, owner=users["grid01"])
    assert again == opened
    assert User.objects.filter(timebank_accounts__community=bank.community).count() == 4


def test_balances_are_exact_hundredths_on_every_database(bank, users, api):
    """SQLite sums decimals as floating point (0.1 + 0.2 = 0.30000000000000004): balances are exact."""
    for hours in ("0.10", "0.20", "0.70", "0.11"):
        transfer(actor=users["volunteer01"], from_account=bank.volunteer, to_account=bank.pool, hours=hours)
    assert balance(bank.pool) == D("1.11") and balance(bank.volunteer) == D("10.89")
    listed = {item["id"]: item["balance"] for item in api("director").get("timebank/accounts").data["items"]}
    assert (listed[bank.pool.pk], listed[bank.volunteer.pk]) == (1.11, 10.89)
    transfer(actor=users["volunteer01"], from_account=bank.volunteer, to_account=bank.pool, hours="10.89")
    assert balance(bank.volunteer) == 0
    assert_ledger_whole(bank.community)
