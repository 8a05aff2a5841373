"""The administrator's pages for accounts and roles (``/people/users/``), and the ledger import's errors in
the reader's words.

Accounts: platform administrators list, create and change every account; street officers and community
directors see the accounts of their area and may reset the second factor (and end a sign-in lockout) of
those below them, as ``banyan auth`` lets them; every other role gets 403. Every change is audited.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from banyan.conftest import make_id_number
from banyan.core.errors import InvalidInput
from banyan.people import ledgers

# --- the ledger import's errors name columns and values in the reader's words --------------------

ENGLISH_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # household_code, registered_here, party_member …


def _problems(users, rows: list[list[str]]) -> list[str]:
    header = ",".join(c.header_zh for c in ledgers.COLUMNS)
    data = "\n".join([header, *(",".join(row) for row in rows)]).encode()
    report = ledgers.import_residents(actor=users["grid01"], file=data, filename="台账.csv", dry_run=True)
    return [e.message for e in report.errors]


def test_ledger_errors_in_chinese_name_no_english_codes(users):
    building = users["grid01"].region.buildings.order_by("code").first()
    unit = building.units.order_by("id").first()
    row = ["T-H1", building.code, unit.number, "王芳", make_id_number(), "", "上司", "外星", "党员;富豪"]
    with translation.override("zh-hans"):
        messages = _problems(users, [row])
        with pytest.raises(InvalidInput) as repeated:
            ledgers.parse_ledger("姓名,户号,户编号\n王芳,1,2\n".encode(), "台账.csv")
        with pytest.raises(InvalidInput) as missing:
            ledgers.parse_ledger("姓名\n王芳\n".encode(), "台账.csv")
        with pytest.raises(InvalidInput) as unknown:
            ledgers.parse_ledger("姓名,职业\n王芳,1\n".encode(), "台账.csv")
    relation, residence, tags = (
        next(m for m in messages if word in m) for word in ("关系", "居住状态", "标签")
    )
    assert "户主、配偶" in relation and "head" not in relation
    assert "人在户不在" in residence and "registered_here" not in residence
    assert "党员、退役军人" in tags and "party_member" not in tags
    assert "户编号、楼栋编号" in missing.value.message
    assert repeated.value.message == "第 3 列（“户编号”）与户编号列重复。", "named as the file heads it"
    assert "“职业”" in unknown.value.message and "与户主关系" in unknown.value.message
    for message in [*messages, *(caught.value.message for caught in (repeated, missing, unknown))]:
        assert not ENGLISH_CODE.search(message), message


def test_ledger_errors_in_english_give_the_heading_and_the_word(users):
    building = users["grid01"].region.buildings.order_by("code").first()
    unit = building.units.order_by("id").first()
    row = ["T-H1", building.code, unit.number, "王芳", make_id_number(), "", "boss", "", ""]
    with translation.override("en"):
        messages = _problems(users, [row])
        with pytest.raises(InvalidInput) as missing:
            ledgers.parse_ledger("姓名\n王芳\n".encode(), "ledger.csv")
    relation = next(m for m in messages if "relation" in m.lower())
    assert "Head of household (户主)" in relation and "Tenant (租户)" in relation
    assert "household_code (户编号)" in missing.value.message
