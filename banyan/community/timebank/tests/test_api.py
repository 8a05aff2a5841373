from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from banyan.community.timebank import services
from banyan.community.timebank.models import Transaction
from banyan.community.timebank.tests.conftest import ledger_snapshot
from banyan.core import clock


def test_accounts_list_the_callers_scope_with_numeric_balances(bank, api):
    answer = api("resident01").get("timebank/accounts?limit=500")
    assert answer.status_code == 200, answer.data
    items = {item["id"]: item for item in answer.data["items"]}
    assert answer.data["count"] == len(items) == 4
    assert items[bank.resident.pk] == {
        "id": bank.resident.pk,
        "owner": "resident01",
        "kind": "member",
        "balance": 6.0,
        "community": bank.community.code,
    }
    assert items[bank.pool.pk]["owner"] is None and items[bank.pool.pk]["kind"] == "pool"
    assert items[bank.issuance.pk]["balance"] == -18.0
    assert items[bank.family.pk]["owner"] == "tb_family"
    everything = api("director").get("timebank/accounts?limit=500").data["items"]
    assert {item["owner"] for item in everything} >= {"resident01", "volunteer01", None}
    assert sum(Decimal(str(item["balance"])) for item in everything) == 0
    second = api("director").get("timebank/accounts?limit=1&offset=1").data
    assert second["count"] == len(everything) and second["items"] == everything[1:2]


def test_an_owner_transfers_and_gets_the_transaction(bank, api):
    body = {"from": bank.resident.pk, "to": bank.pool.pk, "hours": 1.5, "memo": "谢谢"}
    answer = api("resident01").post("timebank/transfers", body)
    assert answer.status_code == 201, answer.data
    assert answer.data["kind"] == "transfer" and answer.data["memo"] == "谢谢"
    assert answer.data["community"] == bank.community.code and answer.data["reverses"] is None
    assert answer.data["entries"] == [
        {"account": bank.resident.pk, "amount": -1.5},
        {"account": bank.pool.pk, "amount": 1.5},
    ]
    assert Transaction.objects.filter(pk=answer.data["id"]).exists()
    assert services.balance_of(bank.resident) == Decimal("4.50")


def test_a_short_balance_is_409_naming_hours(bank, api):
    before = ledger_snapshot(bank.community)
    answer = api("resident01").post(
        "timebank/transfers", {"from": bank.resident.pk, "to": bank.pool.pk, "hours": 7}
    )
    assert answer.status_code == 409, answer.data
    assert answer.data["field"] == "hours" and "hours" in answer.data["detail"]
    assert ledger_snapshot(bank.community) == before


@pytest.mark.parametrize("hours", [0, -1, 1.234, 8761, "many", None, True])
def test_bad_hours_are_422_naming_hours(bank, api, hours):
    before = ledger_snapshot(bank.community)
    body = {"from": bank.resident.pk, "to": bank.pool.pk, "hours": hours}
    answer = api("resident01").post("timebank/transfers", body)
    assert answer.status_code == 422, answer.data
    assert answer.data["field"] == "hours", answer.data
    assert ledger_snapshot(bank.community) == before


def test_refusals_name_the_field(bank, api, outside):
    far_pool, _issuance = services.install_timebank(outside["sibling"]["community"], actor="sim")
    client = api("resident01")
    cases = [
        ({"from": far_pool.pk, "to": bank.pool.pk, "hours": 1}, 404, "from"),
        ({"from": bank.resident.pk, "to": far_pool.pk, "hours": 1}, 404, "to"),
        ({"from": bank.family.pk, "to": bank.resident.pk, "hours": 1}, 403, "from"),
        ({"from": bank.resident.pk, "to": bank.resident.pk, "hours": 1}, 400, "to"),
        ({"from": bank.resident.pk, "to": bank.issuance.pk, "hours": 1}, 400, "to"),
        ({"to": bank.pool.pk, "hours": 1}, 422, "from"),
        ({"from": bank.resident.pk, "to": bank.pool.pk, "hours": 1, "memo": "a\u200bb"}, 422, "memo"),
    ]
    for body, status, field in cases:
        answer = client.post("timebank/transfers", body)
        assert (answer.status_code, answer.data.get("field")) == (status, field), (body, answer.data)


def test_a_manager_transfers_for_an_offline_member(bank, api):
    body = {"from": bank.volunteer.pk, "to": bank.resident.pk, "hours": 2, "memo": "电话委托"}
    answer = api("director").post("timebank/transfers", body)
    assert answer.status_code == 201 and answer.data["kind"] == "admin_transfer", answer.data
    assert api("grid01").post("timebank/transfers", body).status_code == 403


def test_the_monthly_statement(bank, api):
    api("resident01").post("timebank/transfers", {"from": bank.resident.pk, "to": bank.pool.pk, "hours": 1})
    month = timezone.localdate(clock.now()).strftime("%Y-%m")
    answer = api("resident01").get(f"timebank/accounts/{bank.resident.pk}/statement?month={month}")
    assert answer.status_code == 200, answer.data
    assert answer.data["month"] == month and answer.data["closing"] == 5.0
    assert answer.data["opening"] + sum(line["amount"] for line in answer.data["lines"]) == 5.0
    assert answer.data["lines"][-1]["amount"] == -1.0 and answer.data["lines"][-1]["kind"] == "transfer"
    bad = api("resident01").get(f"timebank/accounts/{bank.resident.pk}/statement?month=2026-13")
    assert (bad.status_code, bad.data["field"]) == (400, "month")
    hidden = api("resident01").get(f"timebank/accounts/{bank.volunteer.pk}/statement?month={month}")
    assert hidden.status_code == 404


def test_no_session_is_401(api):
    assert api(None).get("timebank/accounts").status_code == 401
    assert api(None).post("timebank/transfers", {"from": 1, "to": 2, "hours": 1}).status_code == 401


CONTRACT = (
    'Time bank: `GET /api/v1/timebank/accounts?limit=500` → `{"count", "items": [{"id", "owner", "kind", '
    "\"balance\"}]}` (every account in the caller's scope, the community's pool and issuance accounts "
    "included; the balances of one community always sum to zero); `POST /api/v1/timebank/transfers` "
    '`{"from": ACCOUNT_ID, "to": ACCOUNT_ID, "hours": 1.5, "memo": "..."}` by the owner of `from` (or an '
    "administrator) → 201, or 409/422 naming `hours` when the balance is short; `banyan seed` gives "
    "`resident01` and `volunteer01` accounts with a positive balance."
)


def test_the_readme_states_the_contract_exactly():
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text(encoding="utf-8")
    assert CONTRACT in readme
    assert "## Time bank (时间银行)" in readme
