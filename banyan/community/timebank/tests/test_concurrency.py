"""Two transfers at the same moment, each on its own database connection, from an account that holds
enough for one: exactly one goes through, the other is refused naming ``hours``; the balance never goes
below zero. On PostgreSQL the debited account's row lock serialises them; on SQLite the IMMEDIATE
transaction does."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from banyan.community.timebank import services
from banyan.community.timebank.models import Account
from banyan.community.timebank.tests.conftest import assert_ledger_whole
from banyan.core.errors import Conflict
from banyan.people.models import User
from banyan.tests_browser.support import ensure_seeded


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_transfers_never_overdraw():
    ensure_seeded()
    owner = User.objects.get(username="resident01")
    account = Account.objects.get(owner=owner)
    pool = Account.objects.get(community=account.community, kind="pool")
    assert services.balance_of(account) == Decimal("6.00")
    results: list[str] = []
    barrier = threading.Barrier(2, timeout=60)

    def spend():
        try:
            barrier.wait()
            services.transfer(actor=owner, from_account=account.pk, to_account=pool.pk, hours=4)
            results.append("moved")
        except Conflict as refused:
            results.append(refused.field or "")
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["hours", "moved"], results
    assert services.balance_of(account) == Decimal("2.00") and services.balance_of(pool) == Decimal("4.00")
    assert_ledger_whole(account.community)
