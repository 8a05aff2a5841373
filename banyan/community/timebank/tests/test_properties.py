"""Property-based tests (hypothesis): random sequences of issue, transfer, donate and reverse keep every
transaction summing to zero, the community's balances summing to zero and no member or pool account
below zero; a refused operation changes nothing."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banyan.community.timebank import services
from banyan.community.timebank.models import Transaction
from banyan.community.timebank.tests.conftest import assert_ledger_whole, ledger_snapshot
from banyan.core.errors import BanyanError

ACCOUNTS = ("resident", "family", "volunteer", "pool", "issuance")
# Mostly valid hours, sometimes not (zero, three decimals, beyond a year): those must be refused.
HOURS = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20"), places=2),
    st.sampled_from([Decimal(0), Decimal("0.005"), Decimal("-1"), Decimal(9000)]),
)
OPERATION = st.tuples(
    st.sampled_from(["issue", "transfer", "donate", "reverse"]),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(ACCOUNTS),
    HOURS,
    st.sampled_from(["owner", "director", "resident01"]),
    st.integers(min_value=0, max_value=50),
)


def _run(bank, users, done, operation) -> None:
    name, source_name, target_name, hours, who, pick = operation
    source, target = getattr(bank, source_name), getattr(bank, target_name)
    owners = {bank.resident.pk: users["resident01"], bank.volunteer.pk: users["volunteer01"]}
    owners[bank.family.pk] = bank.family_user
    actor = owners.get(source.pk, users["director"]) if who == "owner" else users[who]
    if name == "issue":
        return services.issue(actor=actor, to_account=target, hours=hours, memo="service")
    if name == "transfer":
        return services.transfer(actor=actor, from_account=source, to_account=target, hours=hours, memo="m")
    if name == "donate":
        return services.donate(actor=actor, from_account=source, to_account=target, hours=hours)
    if not done:
        return None
    return services.reverse(actor=actor, transaction=done[pick % len(done)], memo="mistake")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATION, min_size=1, max_size=12))
def test_random_sequences_keep_the_ledger_whole(bank, users, operations):
    with transaction.atomic():
        done: list[Transaction] = []
        for operation in operations:
            before = ledger_snapshot(bank.community)
            try:
                moved = _run(bank, users, done, operation)
            except BanyanError as refused:
                assert refused.field in {"hours", "to", "from", "memo", "transaction"}, refused
                assert ledger_snapshot(bank.community) == before, operation
            else:
                if moved is not None:
                    done.append(moved)
                    assert sum(e.amount for e in moved.entries.all()) == 0
            assert_ledger_whole(bank.community)
        transaction.set_rollback(True)
